"""EASE against the dense closed form, its sparse top-k weights, fold-in and bad input."""

import numpy as np
import pytest

import fastcf
from fastcf import EASE, Interactions

REG = 7.0


@pytest.fixture(scope="module")
def data():
    return fastcf.make_ratings(200, 60, 2_500, seed=4)


@pytest.fixture(scope="module")
def dense_x(data):
    """The binary users x items matrix (every stored rating counts 1)."""
    x = np.zeros((data.n_users, data.n_items))
    rows = data.by_user
    for u in range(data.n_users):
        x[u, rows.indices[rows.indptr[u]:rows.indptr[u + 1]]] = 1.0
    return x


@pytest.fixture(scope="module")
def closed_form(dense_x):
    """Steck's B straight from the formula: I - P diag(1 / diag P), P the inverse."""
    p = np.linalg.inv(dense_x.T @ dense_x + REG * np.eye(dense_x.shape[1]))
    return np.eye(len(p)) - p / np.diag(p)[None, :]


@pytest.fixture(scope="module")
def fitted(data):
    return {dtype: EASE(reg=REG, dtype=dtype).fit(data) for dtype in (np.float32, np.float64)}


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 1e-4)])
def test_weights_and_scores_are_the_closed_form(fitted, data, dense_x, closed_form, dtype,
                                                rtol):
    model = fitted[dtype]
    assert model.weights_.dtype == dtype and model.weights_.flags.c_contiguous
    atol = rtol * np.abs(closed_form).max()
    np.testing.assert_allclose(model.weights_, closed_form, rtol=rtol, atol=atol)
    assert np.all(np.diag(model.weights_) == 0)
    users = np.repeat(data.user_ids, data.n_items)
    items = np.tile(data.item_ids, data.n_users)
    want = dense_x @ closed_form
    scores = model.predict(users, items).reshape(want.shape)
    np.testing.assert_allclose(scores, want, rtol=rtol, atol=atol * 10)
    block = model._score_block(np.arange(data.n_users))
    np.testing.assert_allclose(block, want, rtol=rtol, atol=atol * 10)


def test_recommend_ranks_the_closed_form_scores(fitted, data, dense_x, closed_form):
    items, scores = fitted[np.float64].recommend(data.user_ids, n=5)
    want = dense_x @ closed_form
    want[dense_x > 0] = -np.inf
    for u in range(data.n_users):
        order = np.lexsort((np.arange(data.n_items), -want[u]))[:5]
        np.testing.assert_array_equal(items[u], data.item_ids[order])
        np.testing.assert_allclose(scores[u], want[u, order], rtol=1e-9)


def test_explicit_ratings_are_interactions(data):
    implicit = Interactions.from_frame(data.to_frame()[["user", "item"]])
    a = EASE(reg=REG, dtype=np.float64).fit(data)
    b = EASE(reg=REG, dtype=np.float64).fit(implicit)
    np.testing.assert_array_equal(a.weights_, b.weights_)


@pytest.mark.parametrize("top_k", [1, 5, 59, 500])
def test_top_k_keeps_each_items_largest_dense_weights(fitted, data, top_k):
    dense = fitted[np.float64].weights_
    model = EASE(reg=REG, dtype=np.float64, top_k=top_k).fit(data)
    assert model.weights_.shape == (0, 0)
    kept = model._sparse_weights().toarray()
    k = min(top_k, data.n_items - 1)
    for j in range(data.n_items):
        others = np.delete(np.arange(data.n_items), j)
        order = others[np.lexsort((others, -dense[j, others]))][:k]
        cols = model.sparse_indices_[model.sparse_indptr_[j]:model.sparse_indptr_[j + 1]]
        np.testing.assert_array_equal(cols, np.sort(order))
        np.testing.assert_allclose(kept[j, order], dense[j, order], rtol=1e-12)
    # scores of the sparse model: the user's rows of the kept weights
    users = data.user_ids[:30]
    items, scores = model.recommend(users, n=4)
    x = model._rows(model.seen_indptr_, model.seen_indices_, np.arange(30)).toarray()
    want = x @ kept
    want[x > 0] = -np.inf
    for u in range(30):
        order = np.lexsort((np.arange(data.n_items), -want[u]))[:4]
        np.testing.assert_array_equal(items[u], data.item_ids[order])
        np.testing.assert_allclose(scores[u], want[u, order], rtol=1e-9)
    if top_k >= data.n_items - 1:  # all weights kept: the dense model's ranking
        np.testing.assert_array_equal(items, fitted[np.float64].recommend(users, n=4)[0])


@pytest.mark.parametrize("top_k", [None, 6])
def test_fold_in_equals_the_fitted_users_scores(data, top_k):
    model = EASE(reg=REG, dtype=np.float64, top_k=top_k).fit(data)
    frame = data.to_frame()
    users = data.user_ids[[0, 3, 17]]
    histories = [dict.fromkeys(frame.loc[frame["user"] == u, "item"], 1.0) for u in users]
    for history in histories:  # the values are ignored
        history[next(iter(history))] = 5.0
    items, scores = model.recommend(users, n=7)
    new_items, new_scores = model.recommend_new(histories, n=7)
    np.testing.assert_array_equal(new_items, items)
    np.testing.assert_allclose(new_scores, scores, rtol=1e-9)
    asked = data.item_ids[:10]
    got = model.predict_new(histories, [asked] * 3)
    for user, row in zip(users, got):
        np.testing.assert_allclose(row, model.predict([user] * 10, asked), rtol=1e-12)
    single = model.predict_new(histories[0], asked)
    np.testing.assert_allclose(single, got[0], rtol=1e-12)
    candidates = data.item_ids[::2]
    restricted = model.recommend_new(histories, n=3, candidates=candidates)
    np.testing.assert_array_equal(restricted[0],
                                  model.recommend(users, n=3, candidates=candidates)[0])


def test_unknown_users_get_popularity_and_unknown_items_zero(fitted, data):
    model = fitted[np.float64]
    counts = np.bincount(data.by_user.indices, minlength=data.n_items)
    items, scores = model.recommend(["nobody"], n=3)
    order = np.lexsort((np.arange(data.n_items), -counts))[:3]
    np.testing.assert_array_equal(items[0], data.item_ids[order])
    np.testing.assert_array_equal(scores[0], counts[order])
    got = model.predict(["nobody", data.user_ids[0]], [data.item_ids[0], -1])
    np.testing.assert_array_equal(got, [counts[0], 0.0])


@pytest.mark.parametrize("top_k", [None, 8])
def test_similar_items_are_the_largest_weights_of_the_row(data, top_k):
    model = EASE(reg=REG, dtype=np.float64, top_k=top_k).fit(data)
    weights = model.weights_ if top_k is None else model._sparse_weights().toarray()
    ids, sims = model.similar_items(data.item_ids[[2, 9]], n=4)
    for row, j in enumerate([2, 9]):
        others = np.delete(np.arange(data.n_items), j)
        order = others[np.lexsort((others, -weights[j, others]))][:4]
        np.testing.assert_array_equal(ids[row], data.item_ids[order])
        np.testing.assert_allclose(sims[row], weights[j, order])
    with pytest.raises(ValueError, match="1 unknown item ids"):
        model.similar_items([-5])


@pytest.mark.parametrize("top_k", [None, 3])
def test_save_load_keeps_the_weights(data, top_k, tmp_path):
    model = EASE(reg=REG, top_k=top_k).fit(data)
    model.save(tmp_path / "ease.npz")
    loaded = fastcf.load(tmp_path / "ease.npz")
    assert np.array_equal(loaded.weights_, model.weights_)
    assert np.array_equal(loaded.sparse_data_, model.sparse_data_)
    users = data.user_ids[:20]
    assert np.array_equal(loaded.recommend_new({data.item_ids[1]: 1}, n=5)[0],
                          model.recommend_new({data.item_ids[1]: 1}, n=5)[0])
    assert np.array_equal(loaded.recommend(users)[0], model.recommend(users)[0])


def test_a_file_whose_weights_do_not_fit_top_k_is_refused(data, tmp_path):
    import json

    model = EASE(reg=REG).fit(data)
    model.save(tmp_path / "ease.npz")
    with np.load(tmp_path / "ease.npz") as npz:
        arrays = dict(npz)
    header = json.loads(arrays["__header__"].tobytes())
    header["params"]["top_k"] = 5  # claims sparse weights, holds dense ones
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=r"weights_.shape == \(60, 60\), must be"):
        fastcf.load(tmp_path / "bad.npz")


def test_gram_and_ranking_do_not_depend_on_the_thread_count(data):
    one = EASE(reg=REG, dtype=np.float64, n_threads=1).fit(data)
    two = EASE(reg=REG, dtype=np.float64, n_threads=2).fit(data)
    # LAPACK splits its blocked work by thread count: the last bits may differ
    np.testing.assert_allclose(one.weights_, two.weights_, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(one.recommend(data.user_ids, n=5)[0],
                                  two.recommend(data.user_ids, n=5)[0])


@pytest.mark.parametrize("params, error, match", [
    ({"reg": 0.0}, ValueError, r"reg == 0.0, must be > 0.0"),
    ({"reg": -1.0}, ValueError, r"reg == -1.0, must be > 0.0"),
    ({"reg": "big"}, TypeError, "reg must be a real number"),
    ({"dtype": np.int32}, TypeError, "dtype == int32, must be float32 or float64"),
    ({"top_k": 0}, ValueError, "top_k == 0, must be >= 1"),
    ({"top_k": 2.5}, TypeError, "top_k must be an int"),
    ({"n_threads": 0}, ValueError, "n_threads == 0, must be >= 1"),
    ({"backend": "gpu"}, ValueError, "backend == 'gpu'"),
])
def test_bad_parameters(data, params, error, match):
    with pytest.raises(error, match=match):
        EASE(**params).fit(data)


def test_a_gram_matrix_too_large_for_memory_is_refused(data, monkeypatch):
    from fastcf import _config

    need = data.n_items ** 2 * 4
    monkeypatch.setattr(_config, "MEMORY_LIMIT", need - 1)
    model = EASE()
    with pytest.raises(ValueError, match=r"n_items == 60: the 60 x 60 item-item matrix of "
                                         r"EASE would need 14.1 KiB, more than"):
        model.fit(data)
    assert not hasattr(model, "weights_")
    monkeypatch.setattr(_config, "MEMORY_LIMIT", need)
    EASE().fit(data)


def test_a_singular_system_is_refused():
    # two items with the same single user: X^T X = [[1, 1], [1, 1]], and a reg below
    # float32's resolution of 1 leaves it singular
    twins = Interactions.from_arrays([0, 0], [0, 1])
    with pytest.raises(ValueError, match=r"reg == 1e-30: X\^T X \+ reg I is not positive "
                                         r"definite in float32 \(LAPACK info 2\); raise reg"):
        EASE(reg=1e-30).fit(twins)


def test_empty_data_cannot_reach_the_model():
    with pytest.raises(ValueError, match="no interactions: the input is empty"):
        Interactions.from_arrays(np.array([], dtype=np.int64), np.array([], dtype=np.int64))
