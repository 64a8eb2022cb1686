"""The co-clustering kernels: every backend x dtype x thread count against the reference."""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import BACKENDS, DTYPES, THREADS

from fastcf.kernels import cluster_assign, cocluster_sums


def _matrix(n_rows, n_cols, density, seed, integer=True):
    rng = np.random.default_rng(seed)
    dense = np.where(rng.random((n_rows, n_cols)) < density,
                     rng.integers(1, 6, (n_rows, n_cols)) + (0 if integer else
                                                             rng.random((n_rows, n_cols))), 0.0)
    dense[2, :] = 0.0  # an empty row
    return sp.csr_matrix(dense)


def _assign_inputs(csr, k_rows, k_cols, seed):
    """Inputs of ``cluster_assign`` with averages made from random labels."""
    rng = np.random.default_rng(seed)
    n_rows, n_cols = csr.shape
    row_labels = rng.integers(0, k_rows, n_rows)
    col_labels = rng.integers(0, k_cols, n_cols)
    sums, counts = cocluster_sums(csr.indptr, csr.indices, csr.data, row_labels, col_labels,
                                  k_rows, k_cols, backend="reference")
    mean = csr.data.mean()
    avg_co = np.where(counts > 0, sums / np.maximum(counts, 1), mean)
    avg_rows = sums.sum(1) / np.maximum(counts.sum(1), 1)
    avg_cols = sums.sum(0) / np.maximum(counts.sum(0), 1)
    row_mean = np.asarray(csr.sum(1)).ravel() / np.maximum(np.diff(csr.indptr), 1)
    col_mean = rng.normal(3.0, 0.5, n_cols)
    return (csr.indptr, csr.indices, csr.data, row_mean, col_mean, col_labels, avg_co,
            avg_rows, avg_cols)


@pytest.fixture(scope="module")
def small():
    return _matrix(40, 25, 0.3, 0)


@pytest.fixture(scope="module")
def chunked():
    """More rows than one chunk (``COCLUSTERING_CHUNK_ROWS``), fractional values."""
    return _matrix(1300, 30, 0.08, 1, integer=False)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
def test_sums_match_reference(small, backend, dtype, n_threads):
    rng = np.random.default_rng(2)
    rows, cols = rng.integers(0, 3, small.shape[0]), rng.integers(0, 4, small.shape[1])
    args = (small.indptr, small.indices, small.data.astype(dtype), rows, cols, 3, 4)
    want = cocluster_sums(*args, backend="reference")
    got = cocluster_sums(*args, backend=backend, n_threads=n_threads)
    # integer ratings sum exactly in any order, as Surprise's integer counters do
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert got[1].sum() == small.nnz and got[1].dtype == np.int64


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("rows_are_users", [True, False])
def test_assign_matches_reference(small, backend, dtype, n_threads, rows_are_users):
    args = list(_assign_inputs(small, 4, 3, 3))
    args[2] = args[2].astype(dtype)
    want = cluster_assign(*args, rows_are_users=rows_are_users, backend="reference")
    got = cluster_assign(*args, rows_are_users=rows_are_users, backend=backend,
                         n_threads=n_threads)
    # the same IEEE operations in the same order: the same bits
    assert np.array_equal(got[0], want[0])
    assert np.array_equal(got[1], want[1])
    assert got[0][2] == 0 and got[1][2] == 0.0  # the empty row


@pytest.mark.parametrize("backend", ["numba", "cython"])
def test_thread_count_does_not_change_result(chunked, backend):
    args = _assign_inputs(chunked, 3, 5, 4)
    rows = np.random.default_rng(5).integers(0, 3, chunked.shape[0])
    sums = [cocluster_sums(chunked.indptr, chunked.indices, chunked.data, rows, args[5], 3, 5,
                           backend=backend, n_threads=n) for n in (1, 2)]
    assert np.array_equal(sums[0][0], sums[1][0]) and np.array_equal(sums[0][1], sums[1][1])
    want = cocluster_sums(chunked.indptr, chunked.indices, chunked.data, rows, args[5], 3, 5,
                          backend="reference")
    np.testing.assert_allclose(sums[0][0], want[0], rtol=1e-12)
    one, two = (cluster_assign(*args, backend=backend, n_threads=n) for n in (1, 2))
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])
    ref = cluster_assign(*args, backend="reference")
    assert np.array_equal(one[0], ref[0]) and np.array_equal(one[1], ref[1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_int64_indices(small, backend):
    args = list(_assign_inputs(small, 2, 2, 6))
    want = cluster_assign(*args, backend="reference")
    args[0], args[1] = args[0].astype(np.int64), args[1].astype(np.int64)
    got = cluster_assign(*args, backend=backend)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_assign_minimises_the_error_first_cluster_on_ties(backend):
    # one row rated 4 and 2 at two columns of column cluster 0; row clusters 1 and 2
    # predict the ratings equally well (their averages are equal), cluster 0 worse
    indptr, indices = np.array([0, 2]), np.array([0, 1])
    data = np.array([4.0, 2.0])
    avg_co = np.array([[1.0], [3.0], [3.0]])
    labels, errors = cluster_assign(indptr, indices, data, np.array([3.0]), np.array([3.0, 3.0]),
                                    np.array([0, 0]), avg_co, np.array([3.0, 3.0, 3.0]),
                                    np.array([3.0]), backend=backend)
    assert labels.tolist() == [1]
    assert errors.tolist() == [2.0]  # (4 - 3)^2 + (2 - 3)^2


def test_bad_input(small):
    args = _assign_inputs(small, 2, 3, 7)
    indptr, indices, data, row_mean, col_mean, col_labels, avg_co, avg_rows, avg_cols = args
    rows = np.zeros(small.shape[0], dtype=np.int64)

    def sums(**kw):
        given = {"indptr": indptr, "indices": indices, "data": data, "row_clusters": rows,
                 "col_clusters": col_labels, "n_row_clusters": 2, "n_col_clusters": 3, **kw}
        return cocluster_sums(**given)

    def assign(**kw):
        given = dict(zip(("indptr", "indices", "data", "row_mean", "col_mean", "col_clusters",
                          "avg_co", "avg_rows", "avg_cols"), args), **kw)
        return cluster_assign(**given)

    with pytest.raises(ValueError, match="n_row_clusters == 0, must be >= 1"):
        sums(n_row_clusters=0)
    with pytest.raises(TypeError, match="col_clusters must be a numpy array"):
        sums(col_clusters=[0] * small.shape[1])
    with pytest.raises(TypeError, match="row_clusters must be a 1-d int64 array"):
        sums(row_clusters=rows.astype(np.int32))
    with pytest.raises(ValueError, match=r"len\(row_clusters\) == 3, must be 40"):
        sums(row_clusters=rows[:3])
    with pytest.raises(ValueError, match=r"col_clusters contain 3, must lie in \[0, 3\)"):
        sums(col_clusters=np.full(small.shape[1], 3))
    with pytest.raises(ValueError, match=r"row_clusters contain -1, must lie in \[0, 2\)"):
        sums(row_clusters=np.full(small.shape[0], -1))
    with pytest.raises(ValueError, match="data contain NaN or inf"):
        sums(data=np.full_like(data, np.nan))
    with pytest.raises(ValueError, match="indices contain"):
        sums(col_clusters=col_labels[:3])
    with pytest.raises(ValueError, match="n_threads == 0"):
        cocluster_sums(indptr, indices, data, rows, col_labels, 2, 3, n_threads=0)
    with pytest.raises(TypeError, match="avg_co must be a 2-d float64 numpy array"):
        assign(avg_co=avg_co.ravel())
    with pytest.raises(ValueError, match="must have at least one cluster on each side"):
        assign(avg_co=np.zeros((0, 3)))
    with pytest.raises(TypeError, match="col_mean must be a numpy array"):
        assign(col_mean=list(col_mean))
    with pytest.raises(TypeError, match="avg_co.dtype == int64, must be float64"):
        assign(avg_co=avg_co.astype(np.int64))
    with pytest.raises(ValueError, match=r"row_mean.shape == \(3,\), must be \(40,\)"):
        assign(row_mean=row_mean[:3])
    with pytest.raises(ValueError, match="avg_rows contain NaN or inf"):
        assign(avg_rows=np.array([np.inf, 1.0]))
    with pytest.raises(TypeError, match="avg_cols must be a numpy array"):
        assign(avg_cols=1.0)
    with pytest.raises(ValueError, match=r"col_clusters contain 5, must lie in \[0, 3\)"):
        assign(col_clusters=np.full(small.shape[1], 5))
    with pytest.raises(ValueError, match="data contain NaN or inf"):
        assign(data=np.full_like(data, np.inf))
    with pytest.raises(TypeError, match="rows_are_users must be a bool"):
        assign(rows_are_users=1)
