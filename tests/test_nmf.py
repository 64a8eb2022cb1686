"""NMF's own behaviour (the contract suite and the Surprise parity test cover the rest)."""

import numpy as np
import pytest

import fastcf
from fastcf import Interactions


@pytest.fixture(scope="module")
def models(interactions):
    return {biased: fastcf.NMF(factors=4, epochs=30, biased=biased).fit(interactions)
            for biased in (False, True)}


@pytest.mark.parametrize(("params", "error", "match"), [
    ({"factors": 0}, ValueError, "factors == 0, must be >= 1"),
    ({"epochs": 0}, ValueError, "epochs == 0, must be >= 1"),
    ({"reg_pu": -0.1}, ValueError, "reg_pu == -0.1, must be >= 0.0"),
    ({"lr_bi": -1}, ValueError, "lr_bi == -1.0, must be >= 0.0"),
    ({"init_low": -0.1}, ValueError, "init_low == -0.1, must be >= 0.0"),
    ({"init_low": 0.5, "init_high": 0.2}, ValueError, "init_high == 0.2 is below init_low"),
    ({"biased": "yes"}, TypeError, "biased must be a bool"),
    ({"surprise_compat": 1}, TypeError, "surprise_compat must be a bool"),
    ({"seed": -1}, ValueError, "seed == -1, must be >= 0"),
])
def test_parameters_are_checked(interactions, params, error, match):
    with pytest.raises(error, match=match):
        fastcf.NMF(**params).fit(interactions)


def test_factors_are_non_negative_and_training_lowers_the_error(models):
    for model in models.values():
        assert (model.user_factors_ >= 0).all() and (model.item_factors_ >= 0).all()
        rmse = [entry["train_rmse"] for entry in model.history_]
        assert len(rmse) == 30 and rmse[-1] < rmse[0]
    assert (models[False].user_bias_ == 0).all()
    assert np.abs(models[True].user_bias_).max() > 0


def test_unknown_ids_fall_back_as_in_surprise(models, interactions):
    user, item = interactions.user_ids[2], interactions.item_ids[3]
    unbiased, biased = models[False], models[True]
    u, i = biased.user_index([user])[0], biased.item_index([item])[0]
    mean = float(biased.global_mean_)
    np.testing.assert_allclose(unbiased.predict(["ghost", user], [item, -999]), [mean, mean])
    np.testing.assert_allclose(
        biased.predict(["ghost", user, "ghost"], [item, -999, -999]),
        np.clip([mean + biased.item_bias_[i], mean + biased.user_bias_[u], mean], 1, 5))
    known = biased.predict([user], [item])[0]
    want = mean + biased.user_bias_[u] + biased.item_bias_[i] + \
        biased.user_factors_[u] @ biased.item_factors_[i]
    assert known == pytest.approx(np.clip(want, 1, 5), abs=1e-12)


def test_surprise_mode_depends_on_the_file_order_not_on_the_ids(frame):
    """Surprise numbers users and items by first appearance: renaming the ids (which
    reorders fastcf's sorted indices) changes nothing in its mode, but fastcf's."""
    names = {u: f"x{99 - n:03d}" for n, u in enumerate(sorted(frame["user"].unique()))}
    renamed = frame.assign(user=frame["user"].map(names), item=-frame["item"])
    data = Interactions.from_frame(frame, rating="rating")
    other = Interactions.from_frame(renamed, rating="rating")
    users, items = frame["user"].to_numpy()[:50], frame["item"].to_numpy()[:50]
    renamed_users, renamed_items = renamed["user"].to_numpy()[:50], -items

    def fit_both(**params):
        return (fastcf.NMF(factors=3, epochs=5, seed=1, biased=True, **params).fit(data),
                fastcf.NMF(factors=3, epochs=5, seed=1, biased=True, **params).fit(other))

    a, b = fit_both(surprise_compat=True)
    assert np.array_equal(a.predict(users, items), b.predict(renamed_users, renamed_items))
    a, b = fit_both()
    assert not np.allclose(a.predict(users, items), b.predict(renamed_users, renamed_items))


def test_rows_without_ratings_keep_their_draws(with_empty_rows):
    model = fastcf.NMF(factors=3, epochs=4, seed=2).fit(with_empty_rows)
    rng = np.random.default_rng(2)
    draws = rng.uniform(0.0, 1.0, (with_empty_rows.n_users, 3))
    np.testing.assert_array_equal(model.user_factors_[4], draws[4])


def test_implicit_data_is_refused(interactions):
    implicit = Interactions.from_frame(interactions.to_frame()[["user", "item"]])
    with pytest.raises(ValueError, match="NMF needs explicit ratings"):
        fastcf.NMF().fit(implicit)


def test_fold_in_reaches_the_fixed_point_of_the_user_update(models, interactions):
    model = models[False]
    items = interactions.item_ids[[0, 2, 5, 7, 11]]
    y = np.array([5.0, 3.0, 4.0, 1.0, 2.0])
    ratings = dict(zip(items, y))
    _, factors = model._fold_in_factors(model._fold_in_csr(ratings), 3000)
    q = model.item_factors_[model.item_index(items)]
    p = factors[0]
    num, den = y @ q, (q @ p) @ q + len(y) * model.reg_pu * p
    active = p > 1e-8
    assert active.any()
    np.testing.assert_allclose(num[active], den[active], rtol=1e-6)  # p * (num - den) = 0
    np.testing.assert_allclose(model.predict_new(ratings, items, epochs=3000),
                               np.clip(q @ p, 1, 5), rtol=1e-12)


def test_biased_fold_in_predicts_with_its_bias(models, interactions):
    model = models[True]
    items = interactions.item_ids[[1, 4, 6]]
    ratings = dict(zip(items, [4.0, 4.5, 5.0]))
    bias, factors = model._fold_in_factors(model._fold_in_csr(ratings), 10)
    columns = model.item_index(items)
    want = float(model.global_mean_) + bias[0] + model.item_bias_[columns] + \
        model.item_factors_[columns] @ factors[0]
    assert bias[0] > 0  # ratings above the mean pull the new user's bias up
    np.testing.assert_allclose(model.predict_new(ratings, items, epochs=10),
                               np.clip(want, 1, 5), rtol=1e-12)


def test_recommend_new_ranks_by_the_fold_in_scores(models, interactions):
    model = models[True]
    ratings = {interactions.item_ids[0]: 5.0, interactions.item_ids[1]: 2.0}
    items, scores = model.recommend_new(ratings, n=3)
    assert items.shape == (1, 3) and not set(items[0]) & set(ratings)
    predicted = model.predict_new(ratings, items[0])
    np.testing.assert_allclose(np.clip(scores[0], 1, 5), predicted, rtol=1e-12)
    with pytest.raises(ValueError, match="epochs == 0, must be >= 1"):
        model.predict_new(ratings, items[0], epochs=0)
