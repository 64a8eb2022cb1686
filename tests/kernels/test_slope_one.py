"""The Slope One kernels (deviations, predictions, scores) against their reference."""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import DTYPES, THREADS

from fastcf import _config
from fastcf.kernels import slope_one_deviations, slope_one_predict, slope_one_scores

COMPILED = ["numba", "cython"]
N_USERS, N_ITEMS = 40, 25


@pytest.fixture(scope="module")
def ratings():
    """Half-star ratings by user; user 0 and item 3 empty, user 1 constant."""
    rng = np.random.default_rng(7)
    m = sp.random(N_USERS, N_ITEMS, density=0.3, format="lil", random_state=8)
    m[1, :6] = 1
    m[0, :] = 0
    m[:, 3] = 0
    m = m.tocsr()
    m.eliminate_zeros()
    m.sort_indices()
    m.data = np.round(rng.uniform(0.5, 5.0, m.nnz) * 2) / 2
    m.data[m.indptr[1]:m.indptr[2]] = 2.5
    return m


@pytest.fixture(scope="module")
def model(ratings):
    indptr, indices, freq, dev = slope_one_deviations(ratings.indptr, ratings.indices,
                                                      ratings.data, N_ITEMS, backend="reference")
    mean = np.array([ratings.data[a:b].mean() if b > a else 3.0
                     for a, b in zip(ratings.indptr[:-1], ratings.indptr[1:])])
    return (indptr, indices, dev, ratings.indptr, ratings.indices, mean), freq


def test_reference_deviations_are_the_definition(ratings, model):
    (indptr, indices, dev, *_), freq = model
    dense = ratings.toarray()
    rated = dense != 0
    for i in range(N_ITEMS):
        both = rated[:, [i]] & rated
        expected_cols = np.flatnonzero(both.sum(axis=0))
        row = slice(indptr[i], indptr[i + 1])
        np.testing.assert_array_equal(indices[row], expected_cols)
        np.testing.assert_array_equal(freq[row], both.sum(axis=0)[expected_cols])
        diffs = np.where(both, dense[:, [i]] - dense, 0.0).sum(axis=0)[expected_cols]
        np.testing.assert_allclose(dev[row], diffs / freq[row], rtol=1e-12)


@pytest.fixture(scope="module")
def sparse_ratings():
    """Few ratings over many items: rows short enough for the touched-list path."""
    m = sp.random(60, 400, density=0.004, format="csr", random_state=9)
    m.data = np.ceil(m.data * 5)
    return m


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("case", ["ratings", "sparse_ratings"])
def test_deviations_match_reference(request, case, backend, dtype, n_threads):
    ratings = request.getfixturevalue(case)
    data = ratings.data.astype(dtype)
    n_items = ratings.shape[1]
    want = slope_one_deviations(ratings.indptr, ratings.indices, data, n_items,
                                backend="reference")
    got = slope_one_deviations(ratings.indptr, ratings.indices, data, n_items,
                               backend=backend, n_threads=n_threads)
    for w, g in zip(want, got):
        assert w.dtype == g.dtype
        np.testing.assert_array_equal(g, w)  # exact: the same sums in the same order


@pytest.mark.parametrize("backend", ["reference", *COMPILED])
def test_deviations_antisymmetric_with_zero_diagonal(ratings, backend):
    indptr, indices, freq, dev = slope_one_deviations(ratings.indptr, ratings.indices,
                                                   ratings.data, N_ITEMS, backend=backend)
    mat = sp.csr_matrix((dev, indices, indptr), shape=(N_ITEMS, N_ITEMS)).toarray()
    np.testing.assert_array_equal(mat, -mat.T)
    assert (np.diag(mat) == 0).all()
    freq = sp.csr_matrix((freq, indices, indptr), shape=(N_ITEMS, N_ITEMS)).toarray()
    np.testing.assert_array_equal(np.diag(freq), np.bincount(ratings.indices,
                                                             minlength=N_ITEMS))
    assert np.diff(indptr)[3] == 0  # an unrated item has no pairs


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("n_threads", THREADS)
def test_predict_and_scores_match_reference(model, backend, n_threads):
    args = model[0]
    rng = np.random.default_rng(3)
    users, items = rng.integers(0, N_USERS, 300), rng.integers(0, N_ITEMS, 300)
    want = slope_one_predict(*args, users, items, backend="reference")
    got = slope_one_predict(*args, users, items, backend=backend, n_threads=n_threads)
    np.testing.assert_allclose(got, want, rtol=1e-13)
    rows = np.arange(N_USERS)
    want_scores = slope_one_scores(*args, rows, backend="reference")
    scores = slope_one_scores(*args, rows, backend=backend, n_threads=n_threads)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-13)
    np.testing.assert_allclose(scores[users, items], got, rtol=1e-14)


@pytest.mark.parametrize("backend", COMPILED)
def test_kernels_take_int64_deviation_indices_and_one_thread_equals_two(model, backend):
    (indptr, indices, dev, *users), _ = model
    wide = (indptr.astype(np.int64), indices.astype(np.int64), dev, *users)
    rows = np.arange(N_USERS)
    one = slope_one_scores(*model[0], rows, backend=backend, n_threads=1)
    np.testing.assert_array_equal(slope_one_scores(*wide, rows, backend=backend, n_threads=2),
                                  one)
    out = np.empty_like(one)
    assert slope_one_scores(*model[0], rows, out, backend=backend) is out
    np.testing.assert_array_equal(out, one)


def test_empty_user_gets_mean_and_an_item_with_no_co_raters_too(model):
    args = model[0]
    mean = args[5]
    est = slope_one_predict(*args, np.array([0, 5]), np.array([4, 3]))
    np.testing.assert_array_equal(est, [mean[0], mean[5]])  # no ratings; an unrated item


def test_bad_input(ratings, model, monkeypatch):
    r = ratings
    with pytest.raises(ValueError, match="n_items == -1, must be an int >= 0"):
        slope_one_deviations(r.indptr, r.indices, r.data, -1)
    top = int(r.indices.max())
    with pytest.raises(ValueError, match=f"indices contain {top}, must lie in"):
        slope_one_deviations(r.indptr, r.indices, r.data, top)
    with pytest.raises(ValueError, match="NaN or inf"):
        slope_one_deviations(r.indptr, r.indices, np.full_like(r.data, np.nan), N_ITEMS)
    with pytest.raises(TypeError, match="data.dtype == int64"):
        slope_one_deviations(r.indptr, r.indices, r.data.astype(np.int64), N_ITEMS)
    unsorted = r.indices.copy()
    start = r.indptr[2]
    unsorted[start], unsorted[start + 1] = unsorted[start + 1], unsorted[start]
    with pytest.raises(ValueError, match="strictly ascending"):
        slope_one_deviations(r.indptr, unsorted, r.data, N_ITEMS)
    monkeypatch.setattr(_config, "MEMORY_LIMIT", 1000)
    with pytest.raises(ValueError, match=r"co-rated item pairs would need .* \(sparse\)"):
        slope_one_deviations(r.indptr, r.indices, r.data, N_ITEMS)
    monkeypatch.undo()
    args = model[0]
    users, items = np.array([1, 2]), np.array([0, 1])
    with pytest.raises(TypeError, match="dev.dtype == float32, must be float64"):
        slope_one_predict(*args[:2], args[2].astype(np.float32), *args[3:], users, items)
    with pytest.raises(ValueError, match="user_mean must be float64 of shape"):
        slope_one_predict(*args[:5], args[5][:-1], users, items)
    with pytest.raises(ValueError, match=r"users must lie in \[0, 40\)"):
        slope_one_predict(*args, np.array([40]), np.array([0]))
    with pytest.raises(ValueError, match=r"items must lie in \[0, 25\)"):
        slope_one_predict(*args, np.array([0]), np.array([-1]))
    with pytest.raises(TypeError, match="users must be a 1-d integer array"):
        slope_one_predict(*args, np.array([0.0]), np.array([0]))
    with pytest.raises(ValueError, match="users has 2 entries but items has 1"):
        slope_one_predict(*args, users, items[:1])
    with pytest.raises(ValueError, match="out must be a C-contiguous float64 array"):
        slope_one_scores(*args, users, np.empty((2, N_ITEMS), dtype=np.float32))
