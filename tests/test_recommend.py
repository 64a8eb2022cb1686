"""recommend of factor models (the ``_ranking_factors`` path) against ranking the dense
score matrix: float32 and float64, candidates, unknown users, ties, padding, tile
boundaries and thread counts."""

import importlib

import numpy as np
import pytest
from conftest import assert_topk_equal

import fastcf
from fastcf import MatrixFactorization
from fastcf.kernels import topk

DTYPES = [np.float32, np.float64]


@pytest.fixture(scope="module")
def data():
    """70 users x 90 items; user 0 has seen half the catalogue."""
    return fastcf.make_ratings(70, 90, 1500, seed=4)


@pytest.fixture(scope="module", params=DTYPES, ids=["float32", "float64"])
def model(request, data):
    return MatrixFactorization(factors=6, epochs=3, dtype=request.param, seed=1).fit(data)


@pytest.fixture
def integer_model(data):
    """Small-integer factors and biases, every score exact, most of them tied; item
    30 and 31 (and 70, 71) have the same factors and bias."""
    rng = np.random.default_rng(0)
    m = MatrixFactorization(factors=3, epochs=1, dtype=np.float32).fit(data)
    m.user_factors_ = rng.integers(-1, 2, (data.n_users, 3)).astype(np.float32)
    m.item_factors_ = rng.integers(-1, 2, (data.n_items, 3)).astype(np.float32)
    m.user_bias_ = rng.integers(-1, 2, data.n_users).astype(np.float32)
    m.item_bias_ = rng.integers(-1, 2, data.n_items).astype(np.float32)
    for a, b in ((30, 31), (70, 71)):
        m.item_factors_[b], m.item_bias_[b] = m.item_factors_[a], m.item_bias_[a]
    m.global_mean_ = np.float64(3.0)
    return m


@pytest.fixture
def small_tiles(monkeypatch):
    """Tiles of 8 users x 32 items: 70 users and 90 items (or fewer candidates)
    fill neither a whole number of them."""
    module = importlib.import_module("fastcf.kernels.topk")
    monkeypatch.setattr(module, "RECOMMEND_TILE_ROWS", 8)
    monkeypatch.setattr(module, "RECOMMEND_TILE_COLUMNS", 32)


def dense_recommend(model, users, n, exclude_seen=True, candidates=None):
    """recommend's (items, scores) from the dense score matrix, computed in the
    model's dtype from ``_ranking_factors``, ranked by the reference top-k."""
    p, q, user_offset, item_offset, fallback = model._ranking_factors()
    u = model.user_index(users)
    scores = np.empty((len(u), model.n_items_), dtype=q.dtype)
    for row, user in enumerate(u):
        if user < 0:
            scores[row] = fallback
            continue
        scores[row] = p[user] @ q.T + ((0 if user_offset is None else user_offset[user])
                                       + (0 if item_offset is None else item_offset))
    columns = np.arange(model.n_items_) if candidates is None else \
        np.sort(model.item_index(candidates))
    scores = np.ascontiguousarray(scores[:, columns])
    exclude = None
    if exclude_seen:
        lists = [np.flatnonzero(np.isin(columns, model.seen_indices_[
            model.seen_indptr_[user]:model.seen_indptr_[user + 1]])) if user >= 0 else []
            for user in u]
        indptr = np.zeros(len(u) + 1, dtype=np.int64)
        np.cumsum([len(x) for x in lists], out=indptr[1:])
        exclude = (indptr, np.concatenate([np.asarray(x, dtype=np.int64) for x in lists]))
    idx, val = topk(scores, min(n, len(columns)), exclude, backend="reference")
    return idx, val, columns, scores


def assert_recommend_matches(model, users, n, **kwargs):
    """Items and float64 scores of recommend equal the dense ranking's, items allowed
    to swap only where their dense scores tie within rounding (each returned item
    scored as the dense matrix scores it, none excluded, none repeated)."""
    items, scores = model.recommend(users, n, **kwargs)
    idx, val, columns, dense = dense_recommend(model, users, n, **kwargs)
    assert scores.dtype == np.float64
    rtol = 1e-5 if dense.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(scores, val, rtol=rtol, atol=rtol)
    pad = np.isnan(val)
    got = np.searchsorted(columns, model.item_index(items.ravel())).reshape(items.shape)
    for row in range(len(users)):
        kept = got[row][~pad[row]]
        assert len(set(kept.tolist())) == len(kept)
        np.testing.assert_allclose(dense[row, kept], scores[row][~pad[row]], rtol=rtol, atol=rtol)
        assert set(kept.tolist()) <= set(np.flatnonzero(dense[row] >= val[row][~pad[row]].min()
                                                        - rtol * 10).tolist())
    return items, scores


def test_recommend_is_the_dense_ranking(model, data):
    users = np.r_[data.user_ids, data.user_ids[::-7]]
    assert_recommend_matches(model, users, 10)
    assert_recommend_matches(model, users, 10, exclude_seen=False)


def test_recommend_with_candidates_unknown_users_and_padding(model, data):
    users = np.r_[np.array(["ghost"], dtype=object), data.user_ids[:20].astype(object), -5]
    candidates = data.item_ids[np.r_[0:45:2, 60, 89]]
    items, scores = assert_recommend_matches(model, users, 40, candidates=candidates)
    assert items.shape == (len(users), len(candidates))  # n larger than the candidates
    assert set(items[1][~np.isnan(scores[1])]) <= set(candidates)
    assert np.isnan(scores[1:]).any()  # users that have seen candidates: padding
    fallback = model.recommend(["ghost", "ghost2"], 5)
    assert np.array_equal(fallback[0][0], fallback[0][1])


def test_recommend_across_tile_boundaries(small_tiles, model, data):
    assert_recommend_matches(model, data.user_ids, 7)
    assert_recommend_matches(model, data.user_ids[5:50], 12,
                             candidates=data.item_ids[10:80])


def test_recommend_is_the_same_on_1_and_2_threads(model, data):
    one = model.set_params(n_threads=1).recommend(data.user_ids, 10)
    two = model.set_params(n_threads=2).recommend(data.user_ids, 10)
    model.set_params(n_threads=None)
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1], equal_nan=True)


@pytest.mark.parametrize("tiles", ["small", "default"])
@pytest.mark.parametrize("backend", ["numba", "cython", "reference"])
def test_ties_go_to_the_lower_item_exactly(request, integer_model, data, tiles, backend):
    """Exact scores: recommend equals the dense ranking item for item, ties by the
    lower internal item first, on every backend."""
    if tiles == "small":
        request.getfixturevalue("small_tiles")
    integer_model.set_params(backend=backend)
    users = np.r_[data.user_ids, -1]
    for kwargs in ({}, {"candidates": data.item_ids[20:85]}, {"exclude_seen": False}):
        items, scores = integer_model.recommend(users, 30, **kwargs)
        idx, val, columns, _ = dense_recommend(integer_model, users, 30, **kwargs)
        internal = np.searchsorted(columns, integer_model.item_index(items.ravel()))
        assert_topk_equal((np.where(np.isnan(scores), -1, internal.reshape(items.shape)),
                           scores.astype(np.float32)), (idx, val))


def test_funk_svd_unknown_users_rank_every_item_equal(data):
    m = MatrixFactorization(factors=4, epochs=1, biased=False).fit(data)
    items, scores = m.recommend(["ghost"], 5)
    assert np.array_equal(items[0], data.item_ids[:5])
    assert np.all(scores == np.float32(m.global_mean_))
    assert_recommend_matches(m, data.user_ids[:30], 8)
