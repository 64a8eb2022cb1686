"""Row-wise top-k: every backend x dtype x thread count against the reference."""

import importlib

import numpy as np
import pytest
from conftest import BACKENDS, DTYPES, THREADS, assert_topk_equal

import fastcf
from fastcf.kernels import factor_topk, topk


def tie_heavy(dtype, n_rows=23, n_cols=17, seed=0):
    """Integer scores in 0..3 (many ties), 25% -inf, some +inf, a row of only
    -inf, and an exclusion CSR (unsorted rows, a duplicate, a fully excluded
    row, empty rows)."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 4, size=(n_rows, n_cols)).astype(dtype)
    scores[rng.random(scores.shape) < 0.25] = -np.inf
    scores[rng.random(scores.shape) < 0.03] = np.inf
    scores[0] = -np.inf
    lists = [list(rng.choice(n_cols, rng.integers(0, 6), replace=False)) for _ in range(n_rows)]
    lists[1] = list(range(n_cols))[::-1]  # nothing left
    lists[2] = [4, 4, 9, 1]  # duplicate, unsorted
    lists[3] = []
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum([len(x) for x in lists], out=indptr[1:])
    indices = np.array([c for x in lists for c in x], dtype=np.int64)
    return scores, (indptr, indices)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("k", [1, 5, 17])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_reference(backend, dtype, n_threads, k, seed):
    scores, exclude = tie_heavy(dtype, seed=seed)
    indptr, indices = exclude
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    ascending = (indptr.astype(np.int32), indices[np.lexsort((indices, rows))].astype(np.int32))
    for ex in (None, exclude, ascending):
        want = topk(scores, k, ex, backend="reference")
        got = topk(scores, k, ex, backend=backend, n_threads=n_threads)
        assert_topk_equal(got, want)


def wide(dtype, n_cols, seed=0, n_rows=40):
    """Rows wider than the kernels' 64-column window: ties (integers 0..20),
    -inf, excluded runs and scattered exclusions (also at the row's end), a
    row that only climbs (every entry beats the heap) and one that only falls."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 21, size=(n_rows, n_cols)).astype(dtype)
    scores[rng.random(scores.shape) < 0.1] = -np.inf
    scores[1] = np.arange(n_cols)
    scores[2] = -np.arange(n_cols)
    lists = []
    for row in range(n_rows):
        cols = set(rng.choice(n_cols, rng.integers(0, n_cols // 3 + 1)).tolist())
        if row % 3 == 0:
            start = int(rng.integers(0, n_cols))
            cols |= set(range(start, min(n_cols, start + 70)))  # a run longer than a window
        if row % 4 == 0:
            cols |= {n_cols - 1, n_cols - 2}
        lists.append(sorted(cols) if row % 2 else list(rng.permutation(sorted(cols))))
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum([len(x) for x in lists], out=indptr[1:])
    indices = np.array([c for x in lists for c in x], dtype=np.int64)
    return scores, (indptr, indices)


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_cols", [63, 64, 65, 130, 1000])
def test_wide_rows_match_reference(backend, dtype, n_cols):
    scores, exclude = wide(dtype, n_cols, seed=n_cols)
    for k in (1, 10, 64 if n_cols >= 64 else n_cols, n_cols):
        for ex in (None, exclude):
            want = topk(scores, k, ex, backend="reference")
            assert_topk_equal(topk(scores, k, ex, backend=backend, n_threads=2), want)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("where", [0, 63, 64, 100, 998, 999])
def test_nan_is_found_anywhere_in_wide_rows(backend, where):
    scores = np.zeros((3, 1000))
    scores[:, :20] = 5.0  # a full heap early: the windows after it pass
    scores[1, where] = np.nan
    with pytest.raises(ValueError, match=rf"1 NaN values \(first at row 1, col {where}\)"):
        topk(scores, 5, backend=backend)
    excluded = (np.array([0, 0, 1, 1]), np.array([where]))
    with pytest.raises(ValueError, match=rf"1 NaN values \(first at row 1, col {where}\)"):
        topk(scores, 5, excluded, backend=backend)


@pytest.mark.parametrize("seed", range(3))
def test_reference_is_a_stable_sort(seed):
    """The reference against an independent formulation (stable argsort)."""
    scores, (indptr, indices) = tie_heavy(np.float64, seed=seed)
    masked = scores.copy()
    for row in range(len(indptr) - 1):
        masked[row, indices[indptr[row]:indptr[row + 1]]] = -np.inf
    for k in (1, 5, 17):
        idx, val = topk(scores, k, (indptr, indices), backend="reference")
        order = np.argsort(-masked, axis=1, kind="stable")[:, :k]
        want_val = np.take_along_axis(masked, order, axis=1)
        valid = np.isfinite(want_val) | (want_val == np.inf)
        assert np.array_equal(idx[valid], order[valid])
        assert np.array_equal(val[valid], want_val[valid])
        assert np.isnan(val[~valid]).all() and (idx[~valid] == -1).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_edge_rows(backend):
    scores = np.array([[-np.inf, -np.inf, -np.inf],
                       [1.0, 1.0, 1.0],
                       [2.0, np.inf, -np.inf],
                       [5.0, 6.0, 7.0]])
    exclude = (np.array([0, 0, 1, 1, 4]), np.array([0, 1, 0, 1]))  # row 3: all, unsorted
    idx, val = topk(scores, 2, exclude, backend=backend)
    assert idx.tolist() == [[-1, -1], [1, 2], [1, 0], [2, -1]]
    np.testing.assert_array_equal(val, [[np.nan, np.nan], [1.0, 1.0], [np.inf, 2.0],
                                        [7.0, np.nan]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_block_and_read_only_input(backend):
    idx, val = topk(np.zeros((0, 4), dtype=np.float32), 2, backend=backend)
    assert idx.shape == val.shape == (0, 2) and val.dtype == np.float32
    scores = np.arange(12.0).reshape(3, 4)
    scores.flags.writeable = False
    idx, val = topk(scores, 2, backend=backend)
    assert idx.tolist() == [[3, 2], [3, 2], [3, 2]]


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_thread_count_does_not_change_result(backend, dtype):
    rng = np.random.default_rng(5)
    scores = rng.standard_normal((301, 500)).astype(dtype)
    scores[:, ::7] = np.round(scores[:, ::7])  # ties
    counts = rng.integers(0, 40, size=301)
    indptr = np.zeros(302, dtype=np.int32)
    np.cumsum(counts, out=indptr[1:])
    indices = rng.integers(0, 500, size=indptr[-1]).astype(np.int32)
    one = topk(scores, 10, (indptr, indices), backend=backend, n_threads=1)
    two = topk(scores, 10, (indptr, indices), backend=backend, n_threads=2)
    assert np.array_equal(one[0], two[0])
    assert np.array_equal(one[1], two[1], equal_nan=True)
    assert_topk_equal(one, topk(scores, 10, (indptr, indices), backend="reference"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_inputs_are_not_mutated(backend):
    scores, (indptr, indices) = tie_heavy(np.float32)
    copies = scores.copy(), indptr.copy(), indices.copy()
    topk(scores, 4, (indptr, indices), backend=backend)
    for before, after in zip(copies, (scores, indptr, indices)):
        assert np.array_equal(before, after)


def test_non_contiguous_scores_are_copied_with_a_warning():
    scores, _ = tie_heavy(np.float64)
    with pytest.warns(UserWarning, match="scores is not C-contiguous"):
        got = topk(scores.T, 3)
    assert_topk_equal(got, topk(np.ascontiguousarray(scores.T), 3, backend="reference"))


def test_exported_at_top_level():
    assert fastcf.topk is topk
    assert "topk" in fastcf.__all__


@pytest.mark.parametrize("backend", BACKENDS)
def test_nan_is_an_error(backend):
    scores = np.zeros((4, 5), dtype=np.float32)
    scores[1, 3] = scores[2, 0] = np.nan
    with pytest.raises(ValueError, match=r"scores contain 2 NaN values \(first at row 1, col 3\)"):
        topk(scores, 2, backend=backend)
    # an excluded NaN still counts, once even when excluded twice
    exclude = (np.array([0, 0, 3, 4, 4]), np.array([3, 3, 0, 0]))
    with pytest.raises(ValueError, match=r"scores contain 2 NaN values \(first at row 1, col 3\)"):
        topk(scores, 2, exclude, backend=backend)


def test_bad_input():
    scores = np.zeros((4, 5))
    ok_ptr, ok_idx = np.array([0, 1, 1, 2, 2]), np.array([0, 4])
    with pytest.raises(TypeError, match="scores must be a numpy array, got list"):
        topk(scores.tolist(), 1)
    with pytest.raises(TypeError, match="scores.dtype == int64, must be float32 or float64"):
        topk(scores.astype(np.int64), 1)
    with pytest.raises(ValueError, match="scores.ndim == 1, must be 2."):
        topk(scores[0], 1)
    with pytest.raises(ValueError, match="k == 0, must be >= 1."):
        topk(scores, 0)
    with pytest.raises(ValueError, match="k == 9, must be <= n_cols == 5."):
        topk(scores, 9)
    with pytest.raises(TypeError, match="k must be an int, got float"):
        topk(scores, 2.0)
    with pytest.raises(TypeError, match="exclude must be None or a tuple"):
        topk(scores, 1, [ok_ptr, ok_idx])
    with pytest.raises(TypeError, match="exclude must be None or a tuple"):
        topk(scores, 1, (ok_ptr, ok_idx, ok_idx))
    with pytest.raises(TypeError, match="indptr.dtype == float64, must be int32 or int64"):
        topk(scores, 1, (ok_ptr.astype(float), ok_idx))
    with pytest.raises(TypeError, match="they must match"):
        topk(scores, 1, (ok_ptr.astype(np.int32), ok_idx))
    with pytest.raises(ValueError, match="exclude has 3 rows, must have n_rows == 4."):
        topk(scores, 1, (ok_ptr[:4], ok_idx[:2]))
    with pytest.raises(ValueError, match=r"indices contain 5, must lie in \[0, 5\)"):
        topk(scores, 1, (ok_ptr, np.array([0, 5])))
    with pytest.raises(ValueError, match=r"indices contain -1, must lie in \[0, 5\)"):
        topk(scores, 1, (ok_ptr, np.array([-1, 2])))
    with pytest.raises(ValueError, match="indptr must start with 0"):
        topk(scores, 1, (ok_ptr + 1, ok_idx))
    with pytest.raises(ValueError, match="backend == 'fortran'"):
        topk(scores, 1, backend="fortran")
    with pytest.raises(ValueError, match="n_threads == 0"):
        topk(scores, 1, n_threads=0)


# ----------------------------------------------------- the comparison helper
def _pair(idx, val):
    return np.array(idx, dtype=np.int64), np.array(val, dtype=np.float64)


def test_helper_exact_mode():
    want = _pair([[2, 0, 1]], [[3.0, 1.0, 1.0]])
    assert_topk_equal(want, want)
    with pytest.raises(AssertionError):  # a swap of equal values is a difference here
        assert_topk_equal(_pair([[2, 1, 0]], [[3.0, 1.0, 1.0]]), want)
    with pytest.raises(AssertionError):  # values differ
        assert_topk_equal(_pair([[2, 0, 1]], [[3.0, 1.0, 0.5]]), want)
    with pytest.raises(AssertionError):  # dtype differs
        assert_topk_equal((want[0], want[1].astype(np.float32)), want)
    padded = _pair([[2, -1]], [[3.0, np.nan]])
    assert_topk_equal(padded, padded)
    with pytest.raises(AssertionError, match="padding slots must have index -1"):
        assert_topk_equal(_pair([[2, 0]], [[3.0, np.nan]]), padded)


def test_helper_tie_tolerant_mode():
    scores = np.array([[1.0, 1.0, 3.0, 1.0, 0.0]])
    want = _pair([[2, 0, 1]], [[3.0, 1.0, 1.0]])
    swapped = _pair([[2, 1, 0]], [[3.0, 1.0, 1.0]])
    assert_topk_equal(swapped, want, tie_tolerant=True)
    other_tie = _pair([[2, 3, 0]], [[3.0, 1.0, 1.0]])  # the cut group kept column 3
    assert_topk_equal(other_tie, want, tie_tolerant=True, scores=scores)
    with pytest.raises(AssertionError):  # ... but only with scores to prove it
        assert_topk_equal(other_tie, want, tie_tolerant=True)
    with pytest.raises(AssertionError, match="do not all score"):
        assert_topk_equal(_pair([[2, 4, 0]], [[3.0, 1.0, 1.0]]), want, tie_tolerant=True,
                          scores=scores)
    with pytest.raises(AssertionError):  # swapping unequal values is never allowed
        assert_topk_equal(_pair([[0, 2, 1]], [[1.0, 3.0, 1.0]]), want, tie_tolerant=True)
    with pytest.raises(AssertionError, match="repeats"):
        assert_topk_equal(_pair([[2, 0, 0]], [[3.0, 1.0, 1.0]]), want, tie_tolerant=True)
    # a group that is not the last one of a full row must hold the same columns
    want2 = _pair([[0, 1, 2]], [[1.0, 1.0, 0.0]])
    with pytest.raises(AssertionError, match="at value 1.0"):
        assert_topk_equal(_pair([[0, 3, 2]], [[1.0, 1.0, 0.0]]), want2, tie_tolerant=True,
                          scores=scores)
    # nor may a padded row (it took every valid entry): no cut to excuse a difference
    padded = _pair([[0, 1, -1]], [[1.0, 1.0, np.nan]])
    assert_topk_equal(_pair([[1, 0, -1]], [[1.0, 1.0, np.nan]]), padded, tie_tolerant=True)
    with pytest.raises(AssertionError, match="at value 1.0"):
        assert_topk_equal(_pair([[0, 3, -1]], [[1.0, 1.0, np.nan]]), padded, tie_tolerant=True,
                          scores=scores)


# ------------------------------------------------- recommend selects with topk
def _brute_force_recommend(model, interactions, users, n, candidates=None):
    """Mask seen items to -inf, keep the candidates (in internal order), stable sort."""
    seen = interactions.to_frame().groupby("user")["item"].apply(set)
    columns = (np.arange(model.n_items_) if candidates is None
               else np.sort(model.item_index(candidates)))
    items, scores = [], []
    for user in users:
        u = model.user_index([user])[0]
        full = model.global_mean_ + (model.user_bias_[u] if u >= 0 else 0.0) + model.item_bias_
        if u >= 0:
            full[[i for i in range(model.n_items_) if model.item_ids_[i] in seen[user]]] = -np.inf
        order = columns[np.argsort(-full[columns], kind="stable")][:n]
        items.append([model.item_ids_[i] for i in order if np.isfinite(full[i])])
        scores.append([full[i] for i in order if np.isfinite(full[i])])
    return items, scores


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("with_candidates", [False, True])
@pytest.mark.parametrize("tied", [False, True])
def test_recommend_equals_brute_force(interactions, backend, with_candidates, tied):
    model = fastcf.BaselineOnly(backend=backend, n_threads=2).fit(interactions)
    if tied:  # coarse item biases: many exact ties, which must go to the lower item index
        model.item_bias_ = np.round(model.item_bias_ * 2) / 2
    users = [*model.user_ids_, "ghost"]
    candidates = model.item_ids_[[7, 2, 11, 0, 5, 3, 9, 4]] if with_candidates else None
    n = 5
    items, scores = model.recommend(users, n=n, candidates=candidates)
    want_items, want_scores = _brute_force_recommend(model, interactions, users, n, candidates)
    for row in range(len(users)):
        m = len(want_items[row])
        assert list(items[row, :m]) == want_items[row]
        np.testing.assert_allclose(scores[row, :m], want_scores[row], rtol=1e-12)
        assert np.isnan(scores[row, m:]).all()


def test_recommend_uses_the_model_backend(interactions, monkeypatch):
    import fastcf.base

    calls = []

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return topk(*args, **kwargs)

    monkeypatch.setattr(fastcf.base, "topk", spy)
    model = fastcf.BaselineOnly(backend="reference", n_threads=1).fit(interactions)
    model.recommend(model.user_ids_[:3], n=2)
    assert calls == [{"backend": "reference", "n_threads": 1}]


# ----------------------------------------------------------------- factor_topk
def factor_case(dtype, n_rows=37, n_cols=150, n_factors=5, seed=0):
    """Small-integer factors and offsets (every score exact in float32, many
    ties) and an exclusion CSR with runs, repeats, unsorted and empty rows, a
    row that excludes every item and one that excludes all but three."""
    rng = np.random.default_rng(seed)
    query = rng.integers(-2, 3, size=(n_rows, n_factors)).astype(dtype)
    items = rng.integers(-2, 3, size=(n_cols, n_factors)).astype(dtype)
    user_offset = rng.integers(-3, 4, size=n_rows).astype(dtype)
    item_offset = rng.integers(-3, 4, size=n_cols).astype(dtype)
    lists = [list(rng.choice(n_cols, rng.integers(0, 40))) for _ in range(n_rows)]
    lists[0] = list(range(n_cols))[::-1]
    lists[1] = list(range(3, n_cols))
    lists[2] = []
    lists[3] = list(range(60, 140)) + [61, 61, 0]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum([len(x) for x in lists], out=indptr[1:])
    indices = np.array([c for x in lists for c in x], dtype=np.int64)
    return query, items, user_offset, item_offset, (indptr, indices)


@pytest.fixture
def small_tiles(monkeypatch):
    """Tiles of 4 rows x 16 columns: every row and column count of the cases
    crosses several tile boundaries, none a multiple of them."""
    module = importlib.import_module("fastcf.kernels.topk")  # the package's topk is the function
    monkeypatch.setattr(module, "RECOMMEND_TILE_ROWS", 4)
    monkeypatch.setattr(module, "RECOMMEND_TILE_COLUMNS", 16)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("tiles", ["small", "default"])
def test_factor_topk_matches_the_dense_reference(request, backend, dtype, n_threads, tiles):
    if tiles == "small":
        request.getfixturevalue("small_tiles")
    query, items, user_offset, item_offset, exclude = factor_case(dtype)
    for k in (1, 10, 150):
        for offsets in ((user_offset, item_offset), (None, item_offset), (None, None)):
            for ex in (None, exclude):
                want = factor_topk(query, items, k, *offsets, ex, backend="reference")
                got = factor_topk(query, items, k, *offsets, ex, backend=backend,
                                  n_threads=n_threads)
                assert_topk_equal(got, want)
    scores = query @ items.T + (user_offset[:, None] + item_offset)
    assert_topk_equal(factor_topk(query, items, 10, user_offset, item_offset, exclude,
                                  backend="reference"), topk(scores, 10, exclude))


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_factor_topk_of_real_valued_factors_is_the_dense_ranking(backend, dtype):
    """Real-valued factors: the scores equal the dense product's to rounding,
    every item ranked where the dense ranking puts it, and the result is the
    same bit for bit on 1 and 2 threads."""
    rng = np.random.default_rng(3)
    query = rng.standard_normal((300, 16)).astype(dtype)
    items = rng.standard_normal((2100, 16)).astype(dtype)
    user_offset, item_offset = rng.standard_normal(300).astype(dtype), \
        rng.standard_normal(2100).astype(dtype)
    got = factor_topk(query, items, 10, user_offset, item_offset, backend=backend, n_threads=1)
    again = factor_topk(query, items, 10, user_offset, item_offset, backend=backend,
                        n_threads=2)
    assert_topk_equal(again, got)
    dense = query @ items.T + (user_offset[:, None] + item_offset)
    want = topk(dense, 10)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got[1], want[1], rtol=rtol)
    np.testing.assert_array_equal(got[0], want[0])  # no near-ties in this draw


def test_factor_topk_bad_input():
    query, items, user_offset, item_offset, exclude = factor_case(np.float32)
    with pytest.raises(TypeError, match=r"items.dtype == float64, must be query.dtype"):
        factor_topk(query, items.astype(np.float64), 3)
    with pytest.raises(ValueError, match=r"items has 4 factors, must have query's 5"):
        factor_topk(query, np.ascontiguousarray(items[:, :4]), 3)
    with pytest.raises(ValueError, match=r"k == 151, must be <= n_items == 150"):
        factor_topk(query, items, 151)
    with pytest.raises(ValueError, match=r"k == 0, must be >= 1"):
        factor_topk(query, items, 0)
    with pytest.raises(TypeError, match=r"user_offset must be a numpy array or None"):
        factor_topk(query, items, 3, list(user_offset))
    with pytest.raises(TypeError, match=r"item_offset.dtype == float64, must be query.dtype"):
        factor_topk(query, items, 3, None, item_offset.astype(np.float64))
    with pytest.raises(ValueError, match=r"user_offset.shape == \(36,\), must be \(37,\)"):
        factor_topk(query, items, 3, user_offset[:-1])
    with pytest.raises(ValueError, match=r"exclude has 36 rows"):
        factor_topk(query, items, 3, None, None, (exclude[0][:-1], exclude[1][:exclude[0][-2]]))
    with pytest.raises(TypeError, match=r"query.dtype == int64, must be float32 or float64"):
        factor_topk(query.astype(np.int64), items, 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_factor_topk_refuses_nan_scores(backend):
    query, items, user_offset, item_offset, _ = factor_case(np.float64)
    items[7, 2] = np.nan
    with pytest.raises(ValueError, match=r"the scores contain 37 NaN values \(first in row 0\)"):
        factor_topk(query, items, 3, backend=backend)
