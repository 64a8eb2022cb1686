"""NormalPredictor's own behaviour (the contract suite and the parity test cover the rest)."""

import numpy as np
import pytest

import fastcf
from fastcf import Interactions
from fastcf._surprise import surprise_rng
from fastcf.normal_predictor import pair_normals


@pytest.fixture(scope="module")
def model(interactions):
    return fastcf.NormalPredictor(seed=3).fit(interactions)


def test_fits_the_mean_and_the_population_deviation(model, interactions):
    ratings = interactions.ratings
    assert model.global_mean_ == pytest.approx(ratings.mean(), rel=1e-15)
    assert model.sigma_ == pytest.approx(ratings.std(ddof=0), rel=1e-14)


def test_a_pair_always_gets_the_same_draw(model, interactions):
    users = np.repeat(interactions.user_ids[:6], 5)
    items = np.tile(interactions.item_ids[:5], 6)
    once = model.predict(users, items, unknown="fallback")
    assert np.array_equal(model.predict(users[::-1], items[::-1])[::-1], once)
    assert len(np.unique(once)) > 20  # different pairs, different draws
    other_seed = fastcf.NormalPredictor(seed=4).fit(interactions).predict(users, items)
    assert not np.array_equal(other_seed, once)


def test_draws_are_standard_normal():
    rng = np.random.default_rng(0)
    z = pair_normals(5, rng.integers(-1, 1000, 200_000), rng.integers(-1, 1000, 200_000))
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    assert np.mean(np.abs(z) < 1.959964) == pytest.approx(0.95, abs=0.003)


def test_clip_and_unknown_ids(interactions):
    clipped = fastcf.NormalPredictor().fit(interactions)
    raw = fastcf.NormalPredictor(clip=False).fit(interactions)
    users, items = ["ghost"] * 400, list(interactions.item_ids) * 20
    np.testing.assert_array_equal(clipped.predict(users, items),
                                  np.clip(raw.predict(users, items), 1, 5))
    assert raw.predict(users, items).min() < 1 or raw.predict(users, items).max() > 5


def test_surprise_mode_draws_from_numpys_global_generator(interactions):
    model = fastcf.NormalPredictor(clip=False, surprise_compat=True).fit(interactions)
    users, items = interactions.user_ids[:7], interactions.item_ids[:7]
    global_rng = surprise_rng(None)
    state = global_rng.get_state()
    try:
        global_rng.seed(11)
        first = model.predict(users, items)
        second = model.predict(users, items)  # the generator moved on
        global_rng.seed(11)
        again = model.predict(users, items)
    finally:
        global_rng.set_state(state)
    want = np.random.RandomState(11).normal(model.global_mean_, model.sigma_, 7)
    np.testing.assert_array_equal(first, want)
    np.testing.assert_array_equal(again, first)
    assert not np.array_equal(second, first)


def test_recommend_is_a_seeded_random_ranking(model, interactions):
    users = interactions.user_ids[:4]
    items, scores = model.recommend(users, n=interactions.n_items, exclude_seen=False)
    orders = {tuple(row) for row in items}
    assert len(orders) == 4  # one ranking per user
    mean, sigma = float(model.global_mean_), float(model.sigma_)
    u = model.user_index(users)[:, None]
    want = mean + sigma * pair_normals(3, u, model.item_index(items.ravel()).reshape(
        items.shape))
    np.testing.assert_allclose(scores, want, rtol=1e-15)


def test_implicit_data_is_refused(interactions):
    implicit = Interactions.from_frame(interactions.to_frame()[["user", "item"]])
    with pytest.raises(ValueError, match="NormalPredictor needs explicit ratings"):
        fastcf.NormalPredictor().fit(implicit)
    with pytest.raises(TypeError, match="surprise_compat must be a bool"):
        fastcf.NormalPredictor(surprise_compat="yes").fit(interactions)
