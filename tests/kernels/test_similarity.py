"""The similarity engine: every kind x axis x backend x dtype x thread count
against the dict-based reference, plus properties and bad input."""

import importlib

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import DTYPES, THREADS, assert_neighbours_equal, make_frame

import fastcf
from fastcf import Interactions
from fastcf.kernels.similarity import KINDS as _KINDS
from fastcf.kernels.similarity import NAMES, narrowed

KINDS = list(NAMES)
COMPILED = ["numba", "cython"]
RTOL = {np.float64: 1e-9, np.float32: 1e-4}


def test_assert_neighbours_equal_accepts_only_tied_swaps():
    def csr(idx, val):
        return fastcf.data.CSR(np.array([0, len(idx)]), np.array(idx), np.array(val), (1, 9))

    want = csr([1, 2, 3, 4], [0.9, 0.5, 0.5, 0.1])
    assert_neighbours_equal(csr([1, 3, 2, 4], [0.9, 0.5, 0.5 + 1e-12, 0.1]), want, 1e-9)
    with pytest.raises(AssertionError):
        assert_neighbours_equal(csr([2, 1, 3, 4], [0.9, 0.5, 0.5, 0.1]), want, 1e-9)
    with pytest.raises(AssertionError):
        assert_neighbours_equal(csr([1, 2, 3, 4], [0.9, 0.5, 0.4, 0.1]), want, 1e-9)
    # a tie at the cut: either member may be the one kept
    tail = csr([1, 2], [0.9, 0.5])
    assert_neighbours_equal(csr([1, 3], [0.9, 0.5]), tail, 1e-9)


@pytest.fixture(scope="module")
def data():
    """Ratings with a constant user, a single-rating user, an empty user and item."""
    frame = make_frame(n_users=24, n_items=18, density=0.35, seed=5)
    x = Interactions.from_frame(frame, rating="rating")
    dense = x.by_user.to_scipy().toarray()
    dense = np.vstack([dense, np.zeros(dense.shape[1])])  # a user with no ratings
    dense = np.hstack([dense, np.zeros((dense.shape[0], 1))])  # an item nobody rated
    return Interactions.from_csr(sp.csr_matrix(dense))


@pytest.fixture(scope="module")
def reference(data):
    """The reference backend's result for given arguments, computed once per module."""
    cache = {}

    def get(kind, axis, k, **options):
        key = (kind, axis, k, tuple(sorted(options.items())))
        if key not in cache:
            cache[key] = fastcf.similarity(data, kind, axis, k=k, backend="reference", **options)
        return cache[key]

    return get


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("axis", ["user", "item"])
@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
def test_dense_matches_reference(data, reference, kind, axis, backend, dtype, n_threads):
    got = fastcf.similarity(data, kind, axis, dtype=dtype, backend=backend, n_threads=n_threads)
    want = reference(kind, axis, None)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=RTOL[dtype])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("axis", ["user", "item"])
@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
def test_topk_matches_reference(data, reference, kind, axis, backend, dtype, n_threads):
    got = fastcf.similarity(data, kind, axis, k=5, dtype=dtype, backend=backend,
                            n_threads=n_threads)
    assert got.data.dtype == dtype
    assert_neighbours_equal(got, reference(kind, axis, 5), RTOL[dtype])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("options", [
    {"min_support": 3}, {"shrinkage": 10.0}, {"min_sim": 0.2},
    {"min_support": 2, "shrinkage": 5.0, "min_sim": -0.1},
])
def test_options_match_reference(data, reference, kind, backend, options):
    got = fastcf.similarity(data, kind, "item", backend=backend, **options)
    np.testing.assert_allclose(got, reference(kind, "item", None, **options), rtol=1e-9,
                               atol=1e-12)
    top = fastcf.similarity(data, kind, "item", k=4, backend=backend, **options)
    assert_neighbours_equal(top, reference(kind, "item", 4, **options), 1e-9)


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("kind", KINDS)
def test_thread_count_is_bit_identical(data, kind, backend):
    one = fastcf.similarity(data, kind, "user", k=6, backend=backend, n_threads=1)
    two = fastcf.similarity(data, kind, "user", k=6, backend=backend, n_threads=2)
    for a, b in zip(one[:3], two[:3]):
        assert np.array_equal(a, b)
    dense_one = fastcf.similarity(data, kind, "item", backend=backend, n_threads=1)
    assert np.array_equal(dense_one, fastcf.similarity(data, kind, "item", backend=backend,
                                                       n_threads=2))


@pytest.mark.parametrize("kind", KINDS)
def test_symmetry_diagonal_and_bounds(data, kind):
    sim = fastcf.similarity(data, kind, "user")
    assert np.array_equal(sim, sim.T)
    assert np.all(np.diag(sim) == 1.0)
    if kind == "dot":  # unbounded: the off-diagonal entries are the inner products
        x = data.by_user.to_scipy()
        off = ~np.eye(len(sim), dtype=bool)
        np.testing.assert_allclose(sim[off], (x @ x.T).toarray()[off], rtol=1e-12)
        return
    low = 0.0 if kind in ("msd", "jaccard") else -1.0
    assert np.all(sim >= low - 1e-12) and np.all(sim <= 1.0 + 1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_topk_agrees_with_dense(data, kind):
    dense = fastcf.similarity(data, kind, "item")
    top = fastcf.similarity(data, kind, "item", k=3)
    for r in range(dense.shape[0]):
        neighbours = top.indices[top.indptr[r]:top.indptr[r + 1]]
        assert r not in neighbours
        np.testing.assert_allclose(top.data[top.indptr[r]:top.indptr[r + 1]],
                                   dense[r, neighbours])
        scores = top.data[top.indptr[r]:top.indptr[r + 1]]
        assert np.all(np.diff(scores) <= 0)


def test_row_order_invariance(data):
    csr = data.by_user.to_scipy()
    perm = np.random.default_rng(0).permutation(csr.shape[0])
    for kind in KINDS:
        sim = fastcf.similarity(csr, kind, "user")
        shuffled = fastcf.similarity(csr[perm], kind, "user")
        np.testing.assert_allclose(shuffled, sim[np.ix_(perm, perm)], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("backend", COMPILED)
def test_pearson_ignores_a_huge_shift(data, backend):
    csr = data.by_user.to_scipy()
    shifted = csr.copy()
    shifted.data = shifted.data + 1e6
    a = fastcf.similarity(csr, "pearson", "item", backend=backend)
    b = fastcf.similarity(shifted, "pearson", "item", backend=backend)
    assert np.array_equal(a, b)


def test_edge_rows(data):
    sim = fastcf.similarity(data, "pearson", "user")
    empty, constant, single = data.n_users - 1, 0, 1  # see make_frame
    for row in (empty, constant, single):
        others = np.delete(sim[row], row)
        assert np.all(others == 0.0), f"row {row}"
    top = fastcf.similarity(data, "cosine", "user", k=4)
    assert top.indptr[empty + 1] == top.indptr[empty]  # no neighbours at all
    item_sim = fastcf.similarity(data, "jaccard", "item")
    assert np.all(np.delete(item_sim[-1], -1) == 0.0)


def test_min_support_and_shrinkage_edges(data):
    everything = fastcf.similarity(data, "cosine", "user", min_support=10_000)
    assert np.array_equal(everything, np.eye(data.n_users))
    plain = fastcf.similarity(data, "msd", "user")
    shrunk = fastcf.similarity(data, "msd", "user", shrinkage=1e-300)
    binary = (data.by_user.to_scipy() != 0).astype(float)
    co_rated = (binary @ binary.T).toarray()
    np.fill_diagonal(co_rated, 2)
    # a vanishing shrinkage changes nothing, except that n = 1 pairs get (1-1)/(1-1+s) = 0
    np.testing.assert_allclose(shrunk, np.where(co_rated == 1, 0.0, plain))
    one = fastcf.similarity(data, "msd", "user", shrinkage=5.0)
    assert np.all(np.abs(one) <= np.abs(plain) + 1e-15)
    baseline_default = fastcf.similarity(data, "pearson_baseline", "user")
    baseline_100 = fastcf.similarity(data, "pearson_baseline", "user", shrinkage=100)
    assert np.array_equal(baseline_default, baseline_100)


def test_similarity_to_matches_reference_and_rows(data):
    rows = data.by_user.to_scipy()[:3]
    for kind in KINDS:
        got = fastcf.similarity_to(data, rows, kind)
        want = fastcf.similarity_to(data, rows, kind, backend="reference")
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
        top = fastcf.similarity_to(data, rows, kind, k=data.n_users)
        assert_neighbours_equal(top, fastcf.similarity_to(data, rows, kind, k=data.n_users,
                                                          backend="reference"), 1e-9)
    # an existing user's ratings as a query give that user's row (self included)
    full = fastcf.similarity(data, "pearson", "user")
    as_query = fastcf.similarity_to(data, rows, "pearson")
    off_diagonal = ~np.eye(3, data.n_users, dtype=bool)
    np.testing.assert_allclose(as_query[off_diagonal], full[:3][off_diagonal], rtol=1e-12)


def test_similarity_to_accepts_dicts_of_external_ids(data):
    items = data.item_ids
    query = {items[2]: 5.0, items[0]: 1.0, items[5]: 3.0}
    got = fastcf.similarity_to(data, query, "cosine", k=3)
    csr = sp.csr_matrix((np.array([1.0, 5.0, 3.0]), np.array([0, 2, 5]), np.array([0, 3])),
                        shape=(1, data.n_items))
    want = fastcf.similarity_to(data, csr, "cosine", k=3)
    assert np.array_equal(got.indices, want.indices)
    np.testing.assert_allclose(got.data, want.data)
    baseline = fastcf.similarity_to(data, [query], "pearson_baseline", k=3)
    assert baseline.shape == (1, data.n_users)


# ------------------------------------------------------------------ bad input
def test_dense_memory_budget_refuses_with_an_estimate(data):
    with pytest.raises(ValueError, match=r"needs 0\.00 GiB, over the 0\.00 GiB budget; pass k="):
        fastcf.similarity(data, "cosine", max_dense_bytes=10)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"kind": "euclid"}, ValueError, "kind == 'euclid', must be one of"),
    ({"axis": "both"}, ValueError, "axis == 'both', must be one of"),
    ({"k": 0}, ValueError, "k == 0, must be >= 1"),
    ({"k": 25}, ValueError, r"k == 25, must be <= 24 \(n - 1"),
    ({"k": 2.5}, TypeError, "k must be an int"),
    ({"min_support": 0}, ValueError, "min_support == 0, must be >= 1"),
    ({"shrinkage": -1}, ValueError, "shrinkage == -1.0, must be >= 0.0"),
    ({"min_sim": float("nan")}, ValueError, "min_sim == nan, must be finite"),
    ({"dtype": np.int64}, TypeError, "dtype == int64, must be float32 or float64"),
    ({"backend": "gpu"}, ValueError, "backend == 'gpu'"),
    ({"n_threads": 0}, ValueError, "n_threads == 0"),
])
def test_bad_arguments(data, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fastcf.similarity(data, **kwargs)


def test_bad_matrices():
    good = sp.csr_matrix(np.array([[1.0, 0, 2.0], [0, 3.0, 4.0]]))
    with pytest.raises(TypeError, match="x is a scipy COO matrix; pass a CSR one"):
        fastcf.similarity(good.tocoo())
    with pytest.raises(TypeError, match="must be an Interactions or a scipy CSR matrix"):
        fastcf.similarity(good.toarray())
    unsorted = sp.csr_matrix((np.array([2.0, 1.0, 3.0, 4.0]), np.array([2, 0, 1, 2]),
                              np.array([0, 2, 4])), shape=(2, 3))
    with pytest.raises(ValueError, match="indices are unsorted within a row"):
        fastcf.similarity(unsorted)
    repeated = sp.csr_matrix((np.array([1.0, 1.0, 3.0, 4.0]), np.array([0, 0, 1, 2]),
                              np.array([0, 2, 4])), shape=(2, 3))
    with pytest.raises(ValueError, match="indices are repeated within a row"):
        fastcf.similarity(repeated)
    integers = sp.csr_matrix(np.array([[1, 0], [0, 3]]))
    with pytest.raises(TypeError, match="data.dtype == int64, must be float32 or float64"):
        fastcf.similarity(integers)
    nan = good.copy()
    nan.data[1] = np.nan
    with pytest.raises(ValueError, match=r"data contain 1 NaN/inf values \(first at entry 1\)"):
        fastcf.similarity(nan)


def test_bad_queries(data):
    with pytest.raises(ValueError, match="1 unknown item ids"):
        fastcf.similarity_to(data, {"no such item": 3.0})
    with pytest.raises(ValueError, match=r"queries has shape \(1, 2\), must be"):
        fastcf.similarity_to(data, sp.csr_matrix(np.ones((1, 2))))
    with pytest.raises(TypeError, match="queries must be a scipy CSR matrix or a list of dicts"):
        fastcf.similarity_to(data, np.ones(3))
    with pytest.raises(ValueError, match="queries is empty"):
        fastcf.similarity_to(data, [])
    with pytest.raises(ValueError, match=r"k == 26, must be <= 25 \(n_targets\)"):
        fastcf.similarity_to(data, {data.item_ids[0]: 1.0}, k=26)


def test_kernel_level_api_checks_its_arrays(data):
    csr = data.by_item
    with pytest.raises(ValueError, match="pearson_baseline' needs baselines"):
        fastcf.kernels.similarity(csr.indptr, csr.indices, csr.data, csr.shape[1],
                                  "pearson_baseline")
    with pytest.raises(ValueError, match=r"baselines\['row_bias'\] must be"):
        fastcf.kernels.similarity(csr.indptr, csr.indices, csr.data, csr.shape[1],
                                  "pearson_baseline",
                                  baselines={"mu": 3.0, "row_bias": [1.0], "col_bias": [1.0]})
    with pytest.raises(ValueError, match="q_indices contain"):
        fastcf.kernels.similarity_to(csr.indptr, csr.indices + 100, csr.data, csr.indptr,
                                     csr.indices, csr.data, csr.shape[1])
    with pytest.raises(ValueError, match="n_cols == 0, must be >= 1"):
        fastcf.kernels.similarity(csr.indptr, csr.indices, csr.data, 0)


@pytest.mark.parametrize("backend", COMPILED + ["reference"])
def test_pearson_is_zero_for_decimal_rows_constant_over_the_co_rated_columns(backend):
    # 0.3 - 0.7 is not exact in binary: the sums of such a row leave rounding
    # noise where the variance is 0; it must still count as 0 (and match the reference).
    rng = np.random.default_rng(0)
    for first, constant in [(0.7, 0.3), (0.35, 0.7), (0.3, 2.3), (3.7, 0.1)]:
        n = 7
        x = np.r_[first, np.full(n, constant)]
        y = np.r_[0.0, rng.random(n) * 4 + 1]
        m = sp.csr_matrix(np.vstack([x, y]))
        m.eliminate_zeros()
        assert fastcf.similarity(m, "pearson", backend=backend)[0, 1] == 0.0
        top = fastcf.similarity(m, "pearson", k=1, backend=backend)
        assert top.data.tolist() == [0.0, 0.0]


def test_narrowed_values_are_float32_only_when_exact():
    exact = np.array([1.0, -4.0, 2.5, 0.0, 1e6])
    assert narrowed(exact).dtype == np.float32
    inexact = np.array([1.0, 0.1])
    kept = narrowed(inexact)
    assert kept.dtype == np.float64 and kept is inexact


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("kind", KINDS)
def test_float32_transposed_values_give_bit_identical_results(data, kind, backend, monkeypatch):
    # The ratings are integers, so every kind but the residual/centred ones
    # streams float32 values; forcing float64 must not change a single bit.
    for k in (None, 3):
        narrow = fastcf.similarity(data, kind, "item", k=k, backend=backend, n_threads=2)
        with monkeypatch.context() as patch:
            patch.setattr(importlib.import_module("fastcf.kernels.similarity"), "narrowed",
                          lambda values: values)
            wide = fastcf.similarity(data, kind, "item", k=k, backend=backend, n_threads=2)
        if k is None:
            assert np.array_equal(narrow, wide)
        else:
            assert np.array_equal(narrow.indptr, wide.indptr)
            assert np.array_equal(narrow.indices, wide.indices)
            assert np.array_equal(narrow.data, wide.data)


# ------------------------------------------------- one source for both backends
@pytest.mark.cython
def test_cython_build_compiled_the_config_constants():
    """The Cython twin spells the kind codes and the variance floor in its own source
    (it cannot read _config when it compiles); what it compiled must be _config's."""
    from fastcf import _config
    from fastcf.kernels import _similarity

    compiled = _similarity.SHARED_CONSTANTS
    assert compiled["kinds"] == _config.SIMILARITY_KINDS
    assert compiled["variance_floor"] == _config.SIMILARITY_VARIANCE_FLOOR
    nb = importlib.import_module("fastcf.kernels.similarity_nb")
    assert {kind: getattr(nb, kind.upper()) for kind in _config.SIMILARITY_KINDS} == \
        _config.SIMILARITY_KINDS
    assert nb.VARIANCE_FLOOR == _config.SIMILARITY_VARIANCE_FLOOR
    assert _KINDS == _config.SIMILARITY_KINDS


# ------------------------------------- partial top-k of row ranges, and their merge
def _prepared(data, kind, axis, backend):
    from fastcf.kernels.similarity import baselines_of, check_options, prepare
    from fastcf.similarity import fitted_baselines

    rows, n_cols, transposed = data.orientation(axis)
    options = check_options(kind, 4, rows.shape[0], 1, None, None, np.float64, True)
    baselines = fitted_baselines(data, axis, backend, 1) if kind == "pearson_baseline" \
        else None
    assert baselines is None or set(baselines) == set(baselines_of(axis, 0.0, [], []))
    csr = (rows.indptr, rows.indices, rows.data)
    return prepare(kind, csr, csr, n_cols, np.arange(rows.shape[0]), options.min_support,
                   options.shrinkage, options.min_sim, baselines, transposed)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("axis", ["user", "item"])
@pytest.mark.parametrize("backend", COMPILED)
def test_partial_topk_of_row_ranges_merges_into_the_whole(data, kind, axis, backend):
    """Row ranges that cover every row give partial lists (each pair of a range offered to
    both its rows) whose merge is the whole job's top-k, bit for bit, however cut."""
    from fastcf.kernels.similarity import merge_topk, topk_partial, topk_to_csr

    prepared = _prepared(data, kind, axis, backend)
    n, k = prepared.n_q, 4
    whole = topk_partial(prepared, k, backend=backend, n_threads=2)
    assert whole[0].shape == (n, k) and whole[1].dtype == np.float64
    want = fastcf.similarity(data, kind, axis, k=k, backend=backend)
    got = topk_to_csr(*whole, n, np.float64)
    assert np.array_equal(got.indptr, want.indptr) and np.array_equal(got.indices, want.indices)
    assert np.array_equal(got.data, want.data)
    for cuts in ([0, n], [0, 1, n], [0, n // 3, n // 2, n - 1, n], list(range(n + 1))):
        parts = [topk_partial(prepared, k, (a, b), backend, n_threads=1)
                 for a, b in zip(cuts[:-1], cuts[1:])]
        merged = merge_topk(parts, k)
        for a, b in zip(merged, whole):
            valid = np.arange(k)[None, :] < whole[2][:, None] if a.ndim == 2 else slice(None)
            assert np.array_equal(a[valid], b[valid])


def test_merge_topk_orders_by_similarity_then_index():
    from fastcf.kernels.similarity import merge_topk

    nan = np.nan
    first = (np.array([[3, 1, -1]]), np.array([[0.5, 0.2, nan]]), np.array([2]))
    second = (np.array([[0, 2, 4]]), np.array([[0.5, 0.2, 0.1]]), np.array([3]))
    idx, val, cnt = merge_topk([first, second], 4)
    assert idx.tolist() == [[0, 3, 1, 2]] and val.tolist() == [[0.5, 0.5, 0.2, 0.2]]
    assert cnt.tolist() == [4]
    idx, val, cnt = merge_topk([first], 3)  # padding stays last and is not counted
    assert idx[0, :2].tolist() == [3, 1] and cnt.tolist() == [2]


def test_partial_topk_refuses_rows_of_a_query_job_and_the_reference(data):
    from fastcf.kernels.similarity import prepare, topk_partial

    rows = data.by_user
    csr = (rows.indptr, rows.indices, rows.data)
    queries = (rows.indptr[:3].copy(), rows.indices[:rows.indptr[2]], rows.data[:rows.indptr[2]])
    prepared = prepare("cosine", queries, csr, data.n_items, np.full(2, -1), 1, 0.0, -np.inf,
                       None)
    with pytest.raises(ValueError, match="rows= needs a self-similarity job"):
        topk_partial(prepared, 2, (0, 1), "numba")
    with pytest.raises(ValueError, match="backend 'reference' has no partial top-k"):
        topk_partial(prepared, 2, None, "reference")
