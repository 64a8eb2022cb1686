"""What is SlopeOne's own: Surprise's formula and truncation, fallbacks, fold-in, recommend."""

import numpy as np
import pandas as pd
import pytest

import fastcf
from fastcf import _config


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(5)
    n = 400
    return pd.DataFrame({"user": rng.integers(0, 30, n), "item": rng.integers(0, 20, n),
                         "rating": np.round(rng.uniform(1, 5, n) * 2) / 2}
                        ).drop_duplicates(["user", "item"])


@pytest.fixture(scope="module")
def data(frame):
    return fastcf.Interactions.from_frame(frame, rating="rating", dtype=np.float64)


def _by_hand(frame, user, item, truncate=False):
    """Surprise's estimate straight from its definition (dicts of ratings)."""
    ratings = {(u, i): r for u, i, r in frame.itertuples(index=False)}
    value = np.trunc if truncate else (lambda r: r)
    mine = {i: r for (u, i), r in ratings.items() if u == user}
    devs = []
    for j in mine:
        diffs = [value(ratings[v, item]) - value(ratings[v, j])
                 for (v, k) in ratings if k == item and (v, j) in ratings]
        if diffs:
            devs.append(np.mean(diffs))
    return np.mean(list(mine.values())) + (np.mean(devs) if devs else 0.0)


@pytest.mark.parametrize("surprise_compat", [False, True])
def test_predictions_follow_the_definition(frame, data, surprise_compat):
    model = fastcf.SlopeOne(clip=False, surprise_compat=surprise_compat).fit(data)
    pairs = frame.sample(25, random_state=1)
    est = model.predict(pairs["user"].to_numpy(), (pairs["item"].to_numpy() + 3) % 20)
    want = [_by_hand(frame, u, (i + 3) % 20, surprise_compat)
            for u, i in zip(pairs["user"], pairs["item"])]
    np.testing.assert_allclose(est, want, rtol=1e-12)


def test_truncation_matters_on_half_stars_only(frame, data):
    plain = fastcf.SlopeOne().fit(data)
    compat = fastcf.SlopeOne(surprise_compat=True).fit(data)
    assert not np.array_equal(plain.dev_data_, compat.dev_data_)
    whole = frame.assign(rating=np.ceil(frame["rating"]))
    whole_data = fastcf.Interactions.from_frame(whole, rating="rating", dtype=np.float64)
    np.testing.assert_array_equal(fastcf.SlopeOne().fit(whole_data).dev_data_,
                                  fastcf.SlopeOne(surprise_compat=True).fit(whole_data).dev_data_)


def test_unknown_ids_fall_back_to_the_global_mean_and_predictions_are_clipped(frame, data):
    model = fastcf.SlopeOne().fit(data)
    est, unknown = model.predict([frame["user"].iloc[0], 999], [999, frame["item"].iloc[0]],
                                 return_unknown=True)
    np.testing.assert_allclose(est, data.global_mean)
    assert unknown.items[0] and unknown.users[1]
    all_pairs = model.predict(np.repeat(model.user_ids_, 20), np.tile(model.item_ids_, 30))
    assert all_pairs.min() >= 1.0 and all_pairs.max() <= 5.0


def test_fold_in_of_a_known_user_equals_predict(frame, data):
    model = fastcf.SlopeOne(clip=False).fit(data)
    user = frame["user"].iloc[0]
    mine = frame[frame["user"] == user]
    ratings = dict(zip(mine["item"], mine["rating"]))
    items = model.item_ids_
    np.testing.assert_array_equal(model.predict_new(ratings, items),
                                  model.predict(np.full(len(items), user), items))
    got_items, got_scores = model.recommend_new([ratings], n=5)
    want_items, want_scores = model.recommend([user], n=5)
    np.testing.assert_array_equal(got_items, want_items)
    np.testing.assert_array_equal(got_scores, want_scores)


def test_recommend_ranks_by_the_unclipped_prediction(data):
    model = fastcf.SlopeOne(clip=False).fit(data)
    users = model.user_ids_[:6]
    items, scores = model.recommend(users, n=4, exclude_seen=False)
    for u, row_items, row_scores in zip(users, items, scores):
        est = model.predict(np.full(model.n_items_, u), model.item_ids_)
        order = np.lexsort((np.arange(model.n_items_), -est))[:4]
        np.testing.assert_array_equal(row_items, model.item_ids_[order])
        # the scoring and prediction kernels sum in different orders: equal to rounding
        np.testing.assert_allclose(row_scores, est[order], rtol=1e-13)


def test_refusals(data, monkeypatch):
    with pytest.raises(TypeError, match="surprise_compat must be a bool"):
        fastcf.SlopeOne(surprise_compat="yes").fit(data)
    implicit = fastcf.Interactions.from_frame(data.to_frame()[["user", "item"]])
    with pytest.raises(ValueError, match="SlopeOne needs explicit ratings"):
        fastcf.SlopeOne().fit(implicit)
    monkeypatch.setattr(_config, "MEMORY_LIMIT", 1_000)
    with pytest.raises(ValueError, match="co-rated item pairs would need"):
        fastcf.SlopeOne().fit(data)
