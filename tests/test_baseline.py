"""BaselineOnly and the estimator protocol it proves."""

from collections import defaultdict

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import BACKENDS

from fastcf import BaselineOnly, Interactions, NotFittedError


def reference_biases(frame, reg_u=15.0, reg_i=10.0, epochs=10):
    """Surprise's ALS straight from the formula, on dicts of the raw frame."""
    ur, ir = defaultdict(list), defaultdict(list)
    for u, i, r in zip(frame["user"], frame["item"], frame["rating"]):
        ur[u].append((i, r))
        ir[i].append((u, r))
    mu = float(np.mean(frame["rating"]))
    bu, bi = defaultdict(float), defaultdict(float)
    for _ in range(epochs):
        for i, rated in ir.items():
            bi[i] = sum(r - mu - bu[u] for u, r in rated) / (reg_i + len(rated))
        for u, rated in ur.items():
            bu[u] = sum(r - mu - bi[i] for i, r in rated) / (reg_u + len(rated))
    return mu, bu, bi


def reference_sgd_biases(frame, lr=0.005, reg=0.02, epochs=20):
    """Surprise's SGD straight from its loop: users by first appearance, each user's
    ratings in the frame's order (``trainset.all_ratings()``)."""
    ur = defaultdict(list)
    for u, i, r in zip(frame["user"], frame["item"], frame["rating"]):
        ur[u].append((i, r))
    mu = float(np.mean(frame["rating"]))
    bu, bi = defaultdict(float), defaultdict(float)
    for _ in range(epochs):
        for u, rated in ur.items():
            for i, r in rated:
                err = r - (mu + bu[u] + bi[i])
                bu[u] += lr * (err - reg * bu[u])
                bi[i] += lr * (err - reg * bi[i])
    return mu, bu, bi


@pytest.fixture(scope="module")
def model(interactions):
    return BaselineOnly().fit(interactions)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_reference_formula(frame, backend, dtype):
    data = Interactions.from_frame(frame, rating="rating", dtype=dtype)
    m = BaselineOnly(reg_user=5.0, reg_item=3.0, epochs=4, clip=False, backend=backend).fit(data)
    mu, bu, bi = reference_biases(frame, 5.0, 3.0, 4)
    tol = 1e-12 if dtype == np.float64 else 1e-6
    assert m.global_mean_ == pytest.approx(mu, rel=tol)
    np.testing.assert_allclose(m.user_bias_, [bu[u] for u in m.user_ids_], rtol=tol, atol=tol)
    np.testing.assert_allclose(m.item_bias_, [bi[i] for i in m.item_ids_], rtol=tol, atol=tol)
    users, items = frame["user"].to_numpy(), frame["item"].to_numpy()
    want = [mu + bu[u] + bi[i] for u, i in zip(users, items)]
    np.testing.assert_allclose(m.predict(users, items), want, rtol=tol)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_matches_surprises_loop_in_load_order(frame, backend, dtype):
    # rows shuffled and ids renamed so that neither users nor items arrive sorted
    shuffled = frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    shuffled["user"] = "u" + shuffled["user"].astype(str).str[::-1]
    data = Interactions.from_frame(shuffled, rating="rating", dtype=dtype)
    m = BaselineOnly(method="sgd", lr=0.01, reg=0.1, epochs=3, clip=False,
                     backend=backend).fit(data)
    mu, bu, bi = reference_sgd_biases(shuffled, 0.01, 0.1, 3)
    tol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(m.user_bias_, [bu[u] for u in m.user_ids_], rtol=tol, atol=tol)
    np.testing.assert_allclose(m.item_bias_, [bi[i] for i in m.item_ids_], rtol=tol, atol=tol)


def test_sgd_visits_ratings_in_load_order_by_hand():
    # mu = 3, lr 0.5, reg 0, one epoch. Load order (b, x, 4) then (a, x, 2):
    # e = 1 -> b_b = b_x = 0.5; e = 2 - 3.5 = -1.5 -> b_a = -0.75, b_x = -0.25.
    data = Interactions.from_arrays(["b", "a"], ["x", "x"], [4.0, 2.0])
    m = BaselineOnly(method="sgd", lr=0.5, reg=0.0, epochs=1, clip=False).fit(data)
    assert dict(zip(m.user_ids_, m.user_bias_)) == {"a": -0.75, "b": 0.5}
    assert m.item_bias_.tolist() == [-0.25]


@pytest.mark.parametrize("method, epochs", [("als", 10), ("sgd", 20)])
def test_epochs_none_is_the_methods_default(interactions, method, epochs):
    default = BaselineOnly(method=method).fit(interactions)
    explicit = BaselineOnly(method=method, epochs=epochs).fit(interactions)
    assert np.array_equal(default.user_bias_, explicit.user_bias_)
    assert not np.array_equal(
        default.user_bias_, BaselineOnly(method=method, epochs=epochs - 1).fit(
            interactions).user_bias_)


def test_threads_do_not_change_the_fit(interactions):
    one = BaselineOnly(n_threads=1).fit(interactions)
    two = BaselineOnly(n_threads=2).fit(interactions)
    assert np.array_equal(one.user_bias_, two.user_bias_)
    assert np.array_equal(one.item_bias_, two.item_bias_)


def test_predictions_are_clipped_to_the_rating_range():
    data = Interactions.from_arrays([1, 1, 2, 2], [1, 2, 1, 2], [5.0, 5.0, 5.0, 1.0])
    pred = BaselineOnly(reg_user=0.01, reg_item=0.01).fit(data).predict([1, 2], [1, 2])
    assert np.all((pred >= 1.0) & (pred <= 5.0))


def test_unknown_ids_fall_back_and_are_reported(model):
    u0, i0 = model.user_ids_[0], model.item_ids_[0]
    scores, unknown = model.predict([u0, "ghost", u0, "ghost"], [i0, i0, -7, -7],
                                    return_unknown=True)
    assert list(unknown.users) == [False, True, False, True]
    assert list(unknown.items) == [False, False, True, True]
    mu, bu, bi = model.global_mean_, model.user_bias_[0], model.item_bias_[0]
    np.testing.assert_allclose(scores, np.clip([mu + bu + bi, mu + bi, mu + bu, mu], 1, 5))
    with pytest.raises(ValueError, match=r"1 unknown user ids \(first: 'ghost'\)"):
        model.predict(["ghost"], [i0], unknown="raise")
    with pytest.raises(ValueError, match=r"1 unknown item ids \(first: -7\)"):
        model.predict([u0], [-7], unknown="raise")


def test_recommend_excludes_seen_sorted_and_deterministic(model, interactions):
    users = model.user_ids_[:6]
    items, scores = model.recommend(users, n=5)
    assert items.shape == scores.shape == (6, 5)
    seen = interactions.to_frame().groupby("user")["item"].apply(set)
    for u, row_items, row_scores in zip(users, items, scores):
        valid = ~np.isnan(row_scores)
        assert not set(row_items[valid]) & seen[u]
        assert np.all(np.diff(row_scores[valid]) <= 0)
    again = model.recommend(users, n=5)
    assert np.array_equal(items, again[0]) and np.array_equal(scores, again[1])
    # brute force: the best unseen items by mu + b_u + b_i, ties by lower index
    u = 2
    full = model.global_mean_ + model.user_bias_[u] + model.item_bias_
    ranked = [i for i in np.argsort(-full, kind="stable")
              if model.item_ids_[i] not in seen[model.user_ids_[u]]][:5]
    assert list(items[u]) == list(model.item_ids_[ranked])


def test_recommend_pads_with_nan_when_too_few_items(model, interactions):
    counts = interactions.user_counts()
    heavy = int(np.argmax(counts))
    n = model.n_items_
    items, scores = model.recommend([model.user_ids_[heavy]], n=n + 5)
    assert items.shape == (1, n)
    assert np.isnan(scores[0, n - counts[heavy]:]).all()
    assert not np.isnan(scores[0, :n - counts[heavy]]).any()
    frame = model.recommend_frame([model.user_ids_[heavy]], n=n)
    assert len(frame) == n - counts[heavy]
    assert list(frame.columns) == ["user", "rank", "item", "score"]


@pytest.mark.parametrize("seed", range(5))
def test_top_n_matches_a_stable_sort_with_many_ties(seed):
    from fastcf import topk  # what recommend selects with

    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 4, size=(7, 30)).astype(float)
    scores[rng.random(scores.shape) < 0.3] = -np.inf
    scores[0] = -np.inf  # a row with nothing left
    for n in (1, 5, 30):
        idx, val = topk(scores.copy(), n)
        want = np.argsort(-scores, axis=1, kind="stable")[:, :n]
        want_val = np.take_along_axis(scores, want, axis=1)
        valid = np.isfinite(want_val)
        assert np.array_equal(idx[valid], want[valid])
        assert np.array_equal(val[valid], want_val[valid])
        assert np.isnan(val[~valid]).all()


def test_recommend_in_blocks_equals_one_block(model, monkeypatch):
    import fastcf.base

    users = model.user_ids_
    whole = model.recommend(users, n=4)
    monkeypatch.setattr(fastcf.base, "RECOMMEND_BLOCK_CELLS", model.n_items_ * 3)
    blocked = model.recommend(users, n=4)
    assert np.array_equal(whole[0], blocked[0])
    assert np.array_equal(whole[1], blocked[1], equal_nan=True)


def test_recommend_candidates_and_unknown_users(model):
    cands = model.item_ids_[[3, 1, 7]]
    items, scores = model.recommend(["ghost", model.user_ids_[0]], n=2, candidates=cands,
                                    exclude_seen=False, return_unknown=(True))[:2]
    assert set(items.ravel()) <= set(cands)
    _, _, unknown = model.recommend(["ghost"], n=2, return_unknown=True)
    assert unknown.tolist() == [True]
    # an unknown user ranks by item bias alone
    best = model.item_ids_[np.argsort(-model.item_bias_, kind="stable")[:3]]
    assert list(model.recommend(["ghost"], n=3)[0][0]) == list(best)


def test_recommend_bad_input(model):
    with pytest.raises(ValueError, match="n == 0, must be >= 1"):
        model.recommend(model.user_ids_[:1], n=0)
    with pytest.raises(TypeError, match="n must be an int"):
        model.recommend(model.user_ids_[:1], n=2.5)
    with pytest.raises(ValueError, match="1 unknown candidate item ids.*catalogue|training"):
        model.recommend(model.user_ids_[:1], candidates=[99999])
    with pytest.raises(ValueError, match="candidates contain repeated items"):
        model.recommend(model.user_ids_[:1], candidates=model.item_ids_[[1, 1]])


def test_get_set_params_scikit_learn_style():
    m = BaselineOnly()
    assert m.get_params() == {"method": "als", "reg_user": 15.0, "reg_item": 10.0,
                              "epochs": None, "lr": 0.005, "reg": 0.02, "clip": True,
                              "backend": "auto", "n_threads": None}
    assert m.set_params(epochs=3) is m and m.epochs == 3
    assert "epochs=3" in repr(m)
    with pytest.raises(ValueError, match="'alpha' is not a parameter of BaselineOnly"):
        m.set_params(alpha=1)
    with pytest.raises(ValueError, match="epochs == 0, must be >= 1"):
        m.set_params(epochs=0, clip=False)
    assert m.epochs == 3 and m.clip is True  # the refused change left no trace


@pytest.mark.parametrize("params, exc, match", [
    ({"reg_user": -0.5}, ValueError, "reg_user == -0.5, must be >= 0.0"),
    ({"reg_item": -1}, ValueError, "reg_item == -1.0, must be >= 0.0"),
    ({"epochs": 1.5}, TypeError, "epochs must be an int"),
    ({"method": "lbfgs"}, ValueError, "method == 'lbfgs', must be one of"),
    ({"method": 1}, TypeError, "method must be a str"),
    ({"method": "sgd", "lr": 0}, ValueError, "lr == 0.0, must be > 0.0"),
    ({"method": "sgd", "reg": -0.1}, ValueError, "reg == -0.1, must be >= 0.0"),
    ({"clip": "yes"}, TypeError, "clip must be a bool"),
    ({"backend": "gpu"}, ValueError, "backend == 'gpu'"),
    ({"n_threads": 0}, ValueError, "n_threads == 0"),
])
def test_bad_params_fail_at_fit(interactions, params, exc, match):
    with pytest.raises(exc, match=match):
        BaselineOnly(**params).fit(interactions)


def test_protocol_errors(interactions):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        BaselineOnly().predict([1], [1])
    with pytest.raises(TypeError, match="fit expects an Interactions"):
        BaselineOnly().fit(interactions.to_frame())
    with pytest.raises(ValueError, match="needs explicit ratings"):
        BaselineOnly().fit(Interactions.from_arrays([1, 2], [1, 1]))
    m = BaselineOnly().fit(interactions)
    with pytest.raises(ValueError, match="users has 2 entries but items has 1"):
        m.predict(m.user_ids_[:2], m.item_ids_[:1])
    with pytest.raises(ValueError, match="unknown == 'skip', must be one of"):
        m.predict(m.user_ids_[:1], m.item_ids_[:1], unknown="skip")


def test_zero_regularisation_is_the_plain_mean_deviation():
    # reg 0, one ALS sweep from b_u = 0: b_i is the mean of r - mu over the item's ratings
    data = Interactions.from_arrays([0, 0, 1], [0, 1, 0], [4.0, 2.0, 3.0])
    model = BaselineOnly(reg_user=0, reg_item=0, epochs=1).fit(data)
    mu = 3.0
    np.testing.assert_allclose(model.item_bias_, [(4 + 3) / 2 - mu, 2 - mu])


def test_zero_regularisation_refuses_a_user_without_ratings():
    matrix = sp.csr_matrix(np.array([[4.0, 2.0], [0.0, 0.0], [3.0, 0.0]]))
    data = Interactions.from_csr(matrix)
    with pytest.raises(ValueError, match="reg_user == 0 leaves the bias of 1 users without "
                                         "ratings undefined"):
        BaselineOnly(reg_user=0).fit(data)
    BaselineOnly(reg_item=0).fit(data)  # every item has a rating
