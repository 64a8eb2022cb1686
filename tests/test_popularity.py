"""Popularity: the most-popular baseline, on a hand-worked example (the shared contract in
test_contract.py covers fit / predict / recommend / save / load / parameters)."""

import numpy as np
import pandas as pd
import pytest

import fastcf
from fastcf import Interactions, Popularity

# item counts: 10 -> 3, 20 -> 2, 30 -> 2, 40 -> 1, 50 -> 0 (only in nobody's row: absent)
FRAME = pd.DataFrame({
    "user": ["a", "a", "b", "b", "c", "c", "d", "d"],
    "item": [10, 20, 10, 30, 10, 40, 20, 30],
    "rating": [1.0, 5.0, 5.0, 1.0, 2.0, 5.0, 3.0, 4.0],
})


@pytest.fixture(scope="module")
def explicit():
    return Interactions.from_frame(FRAME, rating="rating")


@pytest.fixture(scope="module")
def implicit():
    return Interactions.from_frame(FRAME[["user", "item"]])


def test_scores_are_training_interaction_counts(explicit):
    model = Popularity().fit(explicit)
    assert model.predicts_ratings is False
    np.testing.assert_array_equal(model.item_counts_, [3, 2, 2, 1])
    # an unknown item scores 0, an unknown user scores like any other
    np.testing.assert_array_equal(model.predict(["a", "zz", "b", "a"], [10, 30, 99, 40]),
                                  [3.0, 2.0, 0.0, 1.0])


def test_every_user_gets_the_same_ranking_without_its_own_items(explicit):
    model = Popularity().fit(explicit)
    items, scores = model.recommend(["a", "b", "c", "d", "new"], n=4)
    # ties (20 and 30, both 2) keep the lower internal index first
    assert items[4].tolist() == [10, 20, 30, 40]
    assert scores[4].tolist() == [3.0, 2.0, 2.0, 1.0]
    assert items[0, :2].tolist() == [30, 40] and np.isnan(scores[0, 2:]).all()  # a: 10, 20
    assert items[1, :2].tolist() == [20, 40]  # b saw 10 and 30
    assert items[2, :2].tolist() == [20, 30]  # c saw 10 and 40
    assert items[3, :2].tolist() == [10, 40]  # d saw 20 and 30


def test_rating_values_do_not_matter(explicit, implicit):
    rated, plain = Popularity().fit(explicit), Popularity().fit(implicit)
    np.testing.assert_array_equal(rated.item_counts_, plain.item_counts_)
    users = explicit.user_ids
    for got, want in zip(plain.recommend(users, 3), rated.recommend(users, 3)):
        np.testing.assert_array_equal(got, want)


def test_save_load_keeps_the_counts(implicit, tmp_path):
    model = Popularity(n_threads=1).fit(implicit)
    model.save(tmp_path / "pop.npz")
    loaded = fastcf.load(tmp_path / "pop.npz")
    np.testing.assert_array_equal(loaded.item_counts_, model.item_counts_)
    assert loaded.get_params() == {"backend": "auto", "n_threads": 1}


def test_evaluate_ranks_it_and_gives_no_rating_metrics(implicit):
    big = fastcf.make_ratings(80, 60, 1500, seed=4)
    train, test = fastcf.split.user_split(big, 0.25, seed=0)
    result = fastcf.evaluation.evaluate(Popularity(), train, test, k=5)
    assert "rmse" not in result and 0.0 < result["ndcg"] <= 1.0
    with pytest.raises(ValueError, match="rmse needs predicted ratings, but Popularity"):
        fastcf.evaluation.evaluate(Popularity(), train, test, ["rmse"], k=5)


@pytest.mark.parametrize("params, error, match", [
    ({"backend": "gpu"}, ValueError, "backend == 'gpu'"),
    ({"backend": 1}, TypeError, "backend must be a str"),
    ({"n_threads": 0}, ValueError, "n_threads"),
])
def test_bad_parameters(implicit, params, error, match):
    with pytest.raises(error, match=match):
        Popularity(**params).fit(implicit)
