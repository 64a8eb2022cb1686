"""The neighbourhood-sums kernel (kNN prediction) against its reference: backends, dtypes,
thread counts, the neighbour selection rule and bad input."""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import DTYPES, THREADS

from fastcf.kernels import neighborhood_sums

COMPILED = ["numba", "cython"]


@pytest.fixture(scope="module")
def kernel_case():
    """Similarity rows with ties, zeros and negatives, and a column CSR."""
    rng = np.random.default_rng(4)
    n = 25
    sims = np.round(rng.uniform(-0.5, 1.0, size=(6, n)), 1)  # many exact ties
    cols = sp.random(30, n, density=0.4, format="csr", random_state=5)
    cols.data = rng.integers(1, 6, cols.nnz).astype(float)
    pair_row = rng.integers(0, 6, 300)
    pair_col = rng.integers(0, 30, 300)
    return sims, pair_row, pair_col, cols


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("k", [1, 3, 40])
def test_kernel_matches_reference(kernel_case, backend, dtype, n_threads, k):
    sims, pair_row, pair_col, cols = kernel_case
    sims = sims.astype(dtype)
    args = (sims, pair_row, pair_col, cols.indptr, cols.indices, cols.data, k)
    want = neighborhood_sums(*args, backend="reference")
    got = neighborhood_sums(*args, backend=backend, n_threads=n_threads)
    np.testing.assert_array_equal(got[2], want[2])
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)


@pytest.mark.parametrize("backend", COMPILED)
def test_kernel_thread_count_is_bit_identical(kernel_case, backend):
    sims, pair_row, pair_col, cols = kernel_case
    args = (sims, pair_row, pair_col, cols.indptr, cols.indices, cols.data, 3)
    one = neighborhood_sums(*args, backend=backend, n_threads=1)
    two = neighborhood_sums(*args, backend=backend, n_threads=2)
    for a, b in zip(one, two):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("backend", ["numba", "cython", "reference"])
def test_kernel_selection_rule(backend):
    # column 0 holds candidates 0..4; equal similarities: the earlier entry wins
    sims = np.array([[0.5, 0.9, 0.5, -0.2, 0.0]])
    indptr, indices = np.array([0, 5]), np.array([0, 1, 2, 3, 4])
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    pair = np.array([0])
    s, t, c = neighborhood_sums(sims, pair, pair, indptr, indices, values, 2, backend=backend)
    assert (c[0], s[0], t[0]) == (2, 0.9 + 0.5, 0.9 * 2.0 + 0.5 * 1.0)
    s, t, c = neighborhood_sums(sims, pair, pair, indptr, indices, values, 10, backend=backend)
    assert c[0] == 3  # only the positive similarities count
    s, t, c = neighborhood_sums(-np.abs(sims), pair, pair, indptr, indices, values, 10,
                                backend=backend)
    assert (c[0], s[0], t[0]) == (0, 0.0, 0.0)


def test_kernel_bad_input(kernel_case):
    sims, pair_row, pair_col, cols = kernel_case
    good = (sims, pair_row, pair_col, cols.indptr, cols.indices, cols.data, 3)

    def call(**changes):
        names = ["sim_rows", "pair_row", "pair_col", "col_indptr", "col_indices",
                 "col_values", "k"]
        args = dict(zip(names, good))
        args.update(changes)
        return neighborhood_sums(*args.values())

    with pytest.raises(TypeError, match="sim_rows.dtype"):
        call(sim_rows=sims.astype(np.int64))
    with pytest.raises(ValueError, match="NaN or inf"):
        bad = sims.copy()
        bad[0, 0] = np.nan
        call(sim_rows=bad)
    with pytest.raises(ValueError, match="pair_row contains 6"):
        call(pair_row=np.r_[pair_row[:-1], 6])
    with pytest.raises(ValueError, match="pair_col contains -1"):
        call(pair_col=np.r_[-1, pair_col[1:]])
    with pytest.raises(ValueError, match="they must match"):
        call(pair_col=pair_col[:-1])
    with pytest.raises(ValueError, match="k == 0"):
        call(k=0)
    with pytest.raises(TypeError, match="col_values.dtype"):
        call(col_values=cols.data.astype(np.float32))
    with pytest.raises(ValueError, match="indices contain 25"):
        call(col_indices=np.where(cols.indices == cols.indices.max(), 25, cols.indices))
