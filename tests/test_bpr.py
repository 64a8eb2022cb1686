"""``fastcf.BPR`` beyond the estimator contract: what it learns, its scores and
fallbacks, its schedules, partial_fit and bad input."""

import numpy as np
import pandas as pd
import pytest

from fastcf import BPR, Interactions, TrainingDiverged


@pytest.fixture(scope="module")
def planted():
    """Implicit pairs with a planted structure (4 clusters of users, each mostly
    interacting with its own 15 items): train, and held-out pairs."""
    rng = np.random.default_rng(2)
    cluster = rng.integers(0, 4, 300)
    likes = np.where(cluster[:, None] == np.arange(60)[None, :] // 15, 0.4, 0.03)
    users, items = np.nonzero(rng.random((300, 60)) < likes)
    frame = pd.DataFrame({"user": users, "item": items * 10})
    test = frame.sample(frac=0.2, random_state=0)
    return Interactions.from_frame(frame.drop(test.index)), test


@pytest.fixture(scope="module")
def fitted(planted):
    train, _ = planted
    return BPR(factors=8, iterations=30, lr=0.05, seed=0, schedule="blocked", blocks=4,
               n_threads=2).fit(train)


def _auc(model, train, test):
    """Held-out AUC: each test pair's score against an item its user has in neither set."""
    rng = np.random.default_rng(0)
    test = test[test["user"].isin(train.user_ids) & test["item"].isin(train.item_ids)]
    have = set(zip(train.to_frame()["user"], train.to_frame()["item"])) | \
        set(zip(test["user"], test["item"]))
    others = []
    for user in test["user"]:
        item = rng.choice(train.item_ids)
        while (user, item) in have:
            item = rng.choice(train.item_ids)
        others.append(item)
    pos = model.predict(test["user"].to_numpy(), test["item"].to_numpy())
    neg = model.predict(test["user"].to_numpy(), np.array(others))
    return np.mean(pos > neg)


def test_it_learns_a_ranking(fitted, planted):
    train, test = planted
    history = fitted.history_
    assert len(history) == 30 and [h["epoch"] for h in history] == list(range(30))
    assert set(history[0]) == {"epoch", "train_accuracy", "seconds", "skipped"}
    assert history[-1]["train_accuracy"] > history[0]["train_accuracy"] + 0.05
    assert _auc(fitted, train, test) > 0.75


@pytest.mark.parametrize("schedule", ["serial", "hogwild"])
def test_every_schedule_learns(planted, schedule):
    train, test = planted
    model = BPR(factors=8, iterations=30, lr=0.05, seed=0, schedule=schedule, blocks=4,
                n_threads=2).fit(train)
    assert _auc(model, train, test) > 0.75


def test_serial_is_reproducible_and_a_seed_none_is_not(planted):
    train, _ = planted
    a = BPR(factors=4, iterations=2, schedule="serial", seed=3).fit(train)
    b = BPR(factors=4, iterations=2, schedule="serial", seed=3).fit(train)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    c = BPR(factors=4, iterations=2, schedule="serial").fit(train)
    d = BPR(factors=4, iterations=2, schedule="serial").fit(train)
    assert not np.array_equal(c.user_factors_, d.user_factors_)


def test_ratings_are_ignored_every_entry_is_a_positive(planted):
    train, _ = planted
    frame = train.to_frame()
    rated = Interactions.from_frame(frame.assign(rating=np.arange(len(frame)) % 5 + 1.0),
                                    rating="rating")
    a = BPR(factors=4, iterations=2, schedule="serial", seed=1).fit(train)
    b = BPR(factors=4, iterations=2, schedule="serial", seed=1).fit(rated)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    assert not BPR.predicts_ratings


def test_scores_fallbacks_and_ranking_factors(fitted, planted):
    train, _ = planted
    U, V, user_offset, item_offset, fallback = fitted._ranking_factors()
    assert U.dtype == V.dtype == item_offset.dtype == fallback.dtype == np.float32
    assert user_offset is None and item_offset is fitted.item_bias_
    np.testing.assert_array_equal(fallback, fitted.item_bias_)
    users, items = train.user_ids[:5], train.item_ids[:5]
    want = np.einsum("ij,ij->i", U[:5].astype(float), V[:5].astype(float)) + item_offset[:5]
    np.testing.assert_allclose(fitted.predict(users, items), want, rtol=1e-12)
    got = fitted.predict(["ghost", users[0], "ghost"], [items[1], -12345, -12345])
    assert got.tolist() == [float(fitted.item_bias_[1]), 0.0, 0.0]
    rec, scores = fitted.recommend(["ghost"], n=3)
    assert rec[0].tolist() == train.item_ids[np.argsort(-fitted.item_bias_,
                                                        kind="stable")[:3]].tolist()


def test_without_item_bias_the_unknown_user_gets_popularity(planted):
    train, _ = planted
    model = BPR(factors=4, iterations=2, item_bias=False, seed=0).fit(train)
    assert not model.item_bias_.any()
    _, _, _, item_offset, fallback = model._ranking_factors()
    assert item_offset is None
    np.testing.assert_array_equal(fallback, train.item_counts().astype(np.float32))
    assert model.predict(["ghost"], [train.item_ids[0]])[0] == train.item_counts()[0]


def test_float64_models_stay_float64(planted):
    train, _ = planted
    model = BPR(factors=4, iterations=2, dtype=np.float64, seed=0).fit(train)
    assert all(a.dtype == np.float64 for a in model._ranking_factors() if a is not None)


def test_similar_items_are_cosine_neighbours(fitted):
    ids, sims = fitted.similar_items(fitted.item_ids_[:3], n=4)
    assert ids.shape == sims.shape == (3, 4)
    for row, item in zip(ids, fitted.item_ids_[:3]):
        assert item not in row
    q = fitted.item_factors_.astype(float)
    unit = q / np.linalg.norm(q, axis=1, keepdims=True)
    j = fitted.item_index(ids[0][:1])[0]
    assert sims[0, 0] == pytest.approx(unit[0] @ unit[j])
    assert np.all(np.diff(sims, axis=1) <= 0)


def test_partial_fit_grows_the_ids(fitted, planted):
    train, _ = planted
    model = BPR(**fitted.get_params()).fit(train)
    new = Interactions.from_frame(pd.DataFrame({
        "user": ["newbie", "newbie", train.user_ids[0]],
        "item": [train.item_ids[0], "new-item", "new-item"]}))
    n_history = len(model.history_)
    assert model.partial_fit(new, iterations=2) is model
    assert model.n_users_ == train.n_users + 1 and model.n_items_ == train.n_items + 1
    assert model.user_factors_.shape == (model.n_users_, 8)
    assert model.item_bias_.shape == (model.n_items_,)
    assert [h["epoch"] for h in model.history_[n_history:]] == [n_history, n_history + 1]
    rec, _ = model.recommend(["newbie"], n=model.n_items_)
    valid = rec[0][:model.n_items_ - 2]
    assert "new-item" not in valid and train.item_ids[0] not in valid  # now seen
    with pytest.raises(TypeError, match="partial_fit expects an Interactions"):
        model.partial_fit(new.to_frame())
    with pytest.raises(ValueError, match="iterations == 0, must be >= 1"):
        model.partial_fit(new, iterations=0)


def test_a_user_with_every_item_is_left_out_with_a_warning():
    frame = pd.DataFrame({"user": [0, 0, 0, 1, 2, 2], "item": [0, 1, 2, 0, 1, 2]})
    with pytest.warns(UserWarning, match="1 users interacted with every item"):
        model = BPR(factors=2, iterations=2, seed=0).fit(Interactions.from_frame(frame))
    assert sum(h["skipped"] for h in model.history_) == 0
    full = pd.DataFrame({"user": [0, 0, 1, 1], "item": [0, 1, 0, 1]})
    with pytest.raises(ValueError, match="every user interacted with every item"), \
            pytest.warns(UserWarning):
        BPR(factors=2, iterations=2).fit(Interactions.from_frame(full))


def test_divergence_is_reported(planted):
    train, _ = planted
    with pytest.raises(TrainingDiverged, match="lower the learning rate"):
        BPR(factors=4, iterations=3, lr=1e30, seed=0).fit(train)


@pytest.mark.parametrize("params, error, match", [
    ({"factors": 0}, ValueError, "factors == 0, must be >= 1"),
    ({"lr": 0.0}, ValueError, "lr == 0"),
    ({"lr": -0.1}, ValueError, "lr == -0.1"),
    ({"reg": -1.0}, ValueError, "reg == -1"),
    ({"iterations": 0}, ValueError, "iterations == 0, must be >= 1"),
    ({"schedule": "async"}, ValueError, "schedule == 'async'"),
    ({"item_bias": 1}, TypeError, "item_bias"),
    ({"blocks": 0}, ValueError, "blocks == 0"),
    ({"dtype": np.int32}, TypeError, "dtype == int32"),
    ({"seed": -1}, ValueError, "seed == -1"),
    ({"n_threads": 0}, ValueError, "n_threads"),
])
def test_bad_parameters(planted, params, error, match):
    train, _ = planted
    with pytest.raises(error, match=match):
        BPR(**params).fit(train)


def test_empty_data_is_refused(planted):
    train, _ = planted
    empty = Interactions(np.zeros(2, np.int64), np.zeros(0, np.int64), np.zeros(0),
                         np.array(["u"]), np.array([1]), implicit=True)
    with pytest.raises(ValueError, match="no interactions"):
        BPR().fit(empty)
