"""CoClustering: Surprise's formulas and quirks, fallbacks, fold-in (the contract is shared)."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import fastcf
from fastcf import Interactions
from fastcf._surprise import surprise_order


@pytest.fixture(scope="module")
def half_stars():
    """Half-star ratings: Surprise's co-clustering truncates them to ints."""
    frame = pd.DataFrame({"user": ["a", "a", "b", "b", "c", "c"],
                          "item": ["x", "y", "x", "z", "y", "z"],
                          "rating": [3.5, 4.5, 1.5, 2.5, 5.0, 0.5]})
    return Interactions.from_frame(frame, rating="rating")


@pytest.fixture(scope="module")
def fitted(interactions):
    return fastcf.CoClustering(epochs=5, seed=3).fit(interactions)


def test_one_cluster_is_the_mean_offsets_model(half_stars):
    # with one cluster a side every average is the overall mean m, so
    # r_ui = mu_u + mu_i - m; Surprise's mode sees the ratings as C ints
    for compat, ratings in ((False, [3.5, 4.5, 1.5, 2.5, 5.0, 0.5]), (True, [3, 4, 1, 2, 5, 0])):
        model = fastcf.CoClustering(1, 1, epochs=2, clip=False, surprise_compat=compat)
        model.fit(half_stars)
        r = dict(zip(["ax", "ay", "bx", "bz", "cy", "cz"], ratings))
        mean = np.mean(ratings)
        want = (r["ax"] + r["ay"]) / 2 + (r["ay"] + r["cy"]) / 2 - mean  # user a, item y
        assert model.predict(["a"], ["y"])[0] == pytest.approx(want, abs=1e-12)
        assert model.user_mean_.tolist() == pytest.approx(
            [(r["ax"] + r["ay"]) / 2, (r["bx"] + r["bz"]) / 2, (r["cy"] + r["cz"]) / 2])
        assert float(model.global_mean_) == pytest.approx(17.5 / 6)  # always the real ratings


def test_unknown_ids_fall_back(half_stars):
    default = fastcf.CoClustering(2, 2, epochs=3).fit(half_stars)
    compat = fastcf.CoClustering(2, 2, epochs=3, surprise_compat=True, seed=1).fit(half_stars)
    users, items = ["a", "ghost", "ghost"], ["nothing", "x", "nothing"]
    mean = 17.5 / 6
    # documented fallbacks: the user's mean, the item's mean, the global mean
    np.testing.assert_allclose(default.predict(users, items), [4.0, 2.5, mean])
    # Surprise's estimate returns the global mean for any unknown id
    np.testing.assert_allclose(compat.predict(users, items), [mean] * 3)
    np.testing.assert_allclose(default.recommend(["ghost"], n=3)[1], [[4.75, 2.5, 1.5]])


def test_recommend_scores_are_the_unclipped_predictions(interactions):
    model = fastcf.CoClustering(epochs=3, clip=False, seed=2).fit(interactions)
    users = interactions.user_ids[:6]
    items, scores = model.recommend(users, n=5, exclude_seen=False)
    for user, row_items, row_scores in zip(users, items, scores):
        assert np.array_equal(model.predict([user] * 5, row_items), row_scores)


def _averages(users, items, ratings, lu, li, k, mean):
    """Co-cluster, user-cluster and item-cluster averages, plainly (the global mean if empty)."""
    def avg(mask):
        return ratings[mask].mean() if mask.any() else mean
    co = np.array([[avg((lu[users] == a) & (li[items] == b)) for b in range(k)]
                   for a in range(k)])
    return (co, np.array([avg(lu[users] == a) for a in range(k)]),
            np.array([avg(li[items] == b) for b in range(k)]))


def test_one_epoch_by_hand(interactions):
    # Surprise's loop written plainly: averages, users to their least-error cluster,
    # items likewise given the users' new clusters, averages once more
    model = fastcf.CoClustering(epochs=1, seed=3).fit(interactions)
    users, items = interactions.entry_users(), interactions.by_user.indices
    ratings = interactions.by_user.data.astype(np.float64)
    mean = ratings.mean()
    rng = np.random.default_rng(3)
    lu, li = rng.integers(3, size=interactions.n_users), rng.integers(3, size=interactions.n_items)
    mu_u = np.bincount(users, ratings) / np.bincount(users)
    mu_i = np.bincount(items, ratings) / np.bincount(items)
    co, cu, ci = _averages(users, items, ratings, lu, li, 3, mean)

    def errors(c_u, c_i):
        est = co[c_u, c_i] + mu_u[users] - cu[c_u] + mu_i[items] - ci[c_i]
        return (ratings - est) ** 2

    user_err = np.stack([np.bincount(users, errors(np.full(len(users), c), li[items]),
                                     minlength=interactions.n_users) for c in range(3)])
    lu = user_err.argmin(axis=0)
    item_err = np.stack([np.bincount(items, errors(lu[users], np.full(len(items), c)),
                                     minlength=interactions.n_items) for c in range(3)])
    li = item_err.argmin(axis=0)
    assert np.array_equal(model.user_labels_, lu) and np.array_equal(model.item_labels_, li)
    for got, want in zip((model.cocluster_mean_, model.user_cluster_mean_,
                          model.item_cluster_mean_), _averages(users, items, ratings, lu, li, 3,
                                                               mean)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    rmse = np.sqrt(item_err.min(axis=0).sum() / len(ratings))
    assert model.history_[0]["train_rmse"] == pytest.approx(rmse, rel=1e-12)


def test_fold_in_puts_a_new_user_in_the_cluster_of_least_error(fitted, interactions):
    ratings = {interactions.item_ids[0]: 5.0, interactions.item_ids[3]: 1.0,
               interactions.item_ids[7]: 4.0}
    items = interactions.item_ids
    got = fitted.predict_new(ratings, items)
    idx = fitted.item_index(list(ratings))
    values = np.array(list(ratings.values()))
    mean = values.mean()
    errors = [np.sum((values - fitted._estimate(c, mean, idx)) ** 2) for c in range(3)]
    best = int(np.argmin(errors))
    want = np.clip(fitted._estimate(best, mean, np.arange(len(items))), *fitted.rating_range_)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    top, scores = fitted.recommend_new([ratings], n=len(items), exclude_seen=False)
    unclipped = fitted._estimate(best, mean, fitted.item_index(top[0]))
    np.testing.assert_allclose(scores[0], unclipped, rtol=0, atol=1e-12)
    seen, _ = fitted.recommend_new(ratings, n=len(items))
    assert not set(ratings) & set(seen[0])


def test_empty_rows_and_columns(with_empty_rows):
    for compat in (False, True):
        model = fastcf.CoClustering(2, 2, epochs=3, surprise_compat=compat, seed=4)
        model.fit(with_empty_rows)
        assert model.user_labels_[4] == 0 and model.item_labels_[7] == 0
        assert model.user_mean_[4] == model.global_mean_
        users = np.repeat(with_empty_rows.user_ids, with_empty_rows.n_items)
        items = np.tile(with_empty_rows.item_ids, with_empty_rows.n_users)
        assert np.isfinite(model.predict(users, items)).all()


def test_surprise_mode_draws_like_surprise():
    # Surprise's labels start as RandomState(seed).randint(k, size=n) by inner id
    # (first appearance): users first, then items
    frame = pd.DataFrame({"user": [5, 1, 5, 3], "item": [9, 9, 2, 7], "rating": [1.0, 2, 3, 4]})
    data = Interactions.from_frame(frame)
    model = fastcf.CoClustering(4, 3, epochs=1, surprise_compat=True, seed=8)
    model._check_params()
    user_labels, item_labels = model._initial_labels(data, surprise_order(data))
    rng = np.random.RandomState(8)
    users, items = rng.randint(4, size=3), rng.randint(3, size=3)
    labels = dict(zip([5, 1, 3], users)), dict(zip([9, 2, 7], items))
    assert user_labels.tolist() == [labels[0][u] for u in data.user_ids]
    assert item_labels.tolist() == [labels[1][i] for i in data.item_ids]


def test_surprise_mode_seed_none_uses_numpys_global_state(interactions):
    np.random.seed(11)  # noqa: NPY002 (Surprise's seed=None: NumPy's global state)
    a = fastcf.CoClustering(epochs=2, surprise_compat=True, seed=None).fit(interactions)
    b = fastcf.CoClustering(epochs=2, surprise_compat=True, seed=11).fit(interactions)
    assert np.array_equal(a.user_labels_, b.user_labels_)


def test_save_load_round_trip_in_surprise_mode(interactions, tmp_path):
    model = fastcf.CoClustering(4, 2, epochs=2, surprise_compat=True, seed=5).fit(interactions)
    model.save(tmp_path / "cc.npz")
    again = fastcf.load(tmp_path / "cc.npz")
    users, items = interactions.user_ids[:5], interactions.item_ids[:5]
    assert np.array_equal(again.predict(users, items), model.predict(users, items))
    assert np.array_equal(again.cocluster_mean_, model.cocluster_mean_)


@pytest.mark.parametrize("backend", ["cython", "reference"])
def test_backends_give_the_same_model(interactions, backend):
    want = fastcf.CoClustering(epochs=3, seed=6, backend="numba").fit(interactions)
    got = fastcf.CoClustering(epochs=3, seed=6, backend=backend).fit(interactions)
    assert np.array_equal(got.user_labels_, want.user_labels_)
    assert np.array_equal(got.cocluster_mean_, want.cocluster_mean_)


def test_bad_parameters(interactions):
    for kwargs, error, match in (
            ({"user_clusters": 0}, ValueError, "user_clusters == 0, must be >= 1"),
            ({"item_clusters": 1.5}, TypeError, "item_clusters"),
            ({"epochs": 0}, ValueError, "epochs == 0, must be >= 1"),
            ({"surprise_compat": "yes"}, TypeError, "surprise_compat"),
            ({"seed": -1}, ValueError, "seed == -1, must be >= 0"),
            ({"seed": np.random.default_rng(0)}, TypeError, "seed must be an int or None"),
            ({"seed": True}, TypeError, "seed must be an int or None")):
        with pytest.raises(error, match=match):
            fastcf.CoClustering(**kwargs).fit(interactions)
    implicit = Interactions.from_csr(sp.csr_matrix(np.eye(3)))
    implicit = Interactions.from_frame(implicit.to_frame()[["user", "item"]])
    with pytest.raises(ValueError, match="CoClustering needs explicit ratings"):
        fastcf.CoClustering().fit(implicit)


@pytest.mark.parametrize("backend", ["numba", "cython"])
def test_thread_count_does_not_change_a_parallel_fit(monkeypatch, backend):
    # past one chunk of rows, with the small-fit single-thread rule switched off
    monkeypatch.setattr("fastcf.coclustering.COCLUSTERING_WORK_PER_THREAD", 1)
    data = fastcf.make_ratings(1200, 300, 20_000, seed=1)
    one, two = (fastcf.CoClustering(4, 3, epochs=3, backend=backend, n_threads=n).fit(data)
                for n in (1, 2))
    assert np.array_equal(one.user_labels_, two.user_labels_)
    assert np.array_equal(one.item_labels_, two.item_labels_)
    assert np.array_equal(one.cocluster_mean_, two.cocluster_mean_)


def test_empty_clusters_average_the_global_mean(half_stars):
    # 3 users and 3 items in 6 clusters a side: most clusters are empty (Surprise
    # guards the 0 / 0 with the global mean of the real ratings)
    model = fastcf.CoClustering(6, 6, epochs=2, surprise_compat=True, seed=0).fit(half_stars)
    empty_users = np.setdiff1d(np.arange(6), model.user_labels_)
    empty_items = np.setdiff1d(np.arange(6), model.item_labels_)
    assert len(empty_users) >= 3 and len(empty_items) >= 3
    mean = float(model.global_mean_)
    assert (model.user_cluster_mean_[empty_users] == mean).all()
    assert (model.item_cluster_mean_[empty_items] == mean).all()
    assert (model.cocluster_mean_[empty_users] == mean).all()
    assert (model.cocluster_mean_[:, empty_items] == mean).all()
    assert np.isfinite(model.predict(["a", "b", "c"], ["x", "y", "z"])).all()
