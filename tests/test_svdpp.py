"""What ``SVDpp`` does beyond the contract: Surprise's loop in its Surprise mode, the
fast mode and its schedules, Surprise's fallbacks, recommend, fold-in, bad parameters."""

import numpy as np
import pytest

import fastcf
from fastcf import SVDpp
from fastcf.split import random_split


@pytest.fixture(scope="module")
def planted():
    """Ratings from make_ratings' planted low-rank model, split 80/20."""
    return random_split(fastcf.make_ratings(150, 80, 4000, seed=5), 0.2, seed=0)


def _rmse(model, data):
    frame = data.to_frame()
    est = model.predict(frame["user"], frame["item"])
    return float(np.sqrt(np.mean((est - frame["rating"].to_numpy()) ** 2)))


@pytest.mark.parametrize("backend", ["numba", "cython"])
def test_surprise_mode_is_surprises_loop(planted, backend):
    train, test = planted
    options = dict(factors=3, epochs=2, dtype=np.float64, surprise_compat=True, seed=4)
    fast = SVDpp(backend=backend, **options).fit(train)
    literal = SVDpp(backend="reference", **options).fit(train)
    frame = test.to_frame()
    np.testing.assert_allclose(fast.predict(frame["user"], frame["item"]),
                               literal.predict(frame["user"], frame["item"]), atol=1e-10)
    np.testing.assert_allclose(fast.implicit_factors_, literal.implicit_factors_, atol=1e-12)


def test_the_fast_mode_learns_and_its_schedules_agree(planted):
    train, test = planted
    serial = SVDpp(factors=8, epochs=15, lr=0.01, seed=1).fit(train)
    history = [entry["train_rmse"] for entry in serial.history_]
    assert history[-1] < history[0]
    baseline = fastcf.BaselineOnly().fit(train)
    assert _rmse(serial, test) < _rmse(baseline, test) + 0.02
    assert serial.user_factors_.dtype == np.float32
    hogwild = SVDpp(factors=8, epochs=15, lr=0.01, seed=1, schedule="hogwild",
                    n_threads=2).fit(train)
    assert abs(_rmse(hogwild, test) - _rmse(serial, test)) < 0.03
    one = [SVDpp(factors=8, epochs=3, seed=1, schedule="hogwild", n_threads=1).fit(train)
           for _ in range(2)]
    assert np.array_equal(one[0].implicit_factors_, one[1].implicit_factors_)
    other = SVDpp(factors=8, epochs=15, lr=0.01, seed=2).fit(train)
    assert not np.array_equal(other.user_factors_, serial.user_factors_)


@pytest.mark.cython
def test_the_fast_mode_is_the_same_model_on_cython(planted):
    train, _ = planted
    serial = SVDpp(factors=8, epochs=15, lr=0.01, seed=1, backend="numba").fit(train)
    again = SVDpp(factors=8, epochs=15, lr=0.01, seed=1, backend="cython").fit(train)
    np.testing.assert_allclose(again.user_factors_, serial.user_factors_, atol=1e-4)


def test_per_parameter_rates_override_the_shared_ones(planted):
    train, _ = planted
    base = SVDpp(factors=4, epochs=2, lr=0.01, reg=0.02, dtype=np.float64).fit(train)
    same = SVDpp(factors=4, epochs=2, lr=0.5, reg=0.02, lr_bu=0.01, lr_bi=0.01, lr_pu=0.01,
                 lr_qi=0.01, lr_yj=0.01, dtype=np.float64).fit(train)
    np.testing.assert_array_equal(base.implicit_factors_, same.implicit_factors_)
    frozen = SVDpp(factors=4, epochs=2, lr=0.01, lr_yj=1e-12, reg_yj=0.0,
                   dtype=np.float64).fit(train)
    start = np.random.default_rng(0)
    start.normal(0, 0.1, (train.n_users, 4))
    start.normal(0, 0.1, (train.n_items, 4))
    np.testing.assert_allclose(frozen.implicit_factors_, start.normal(0, 0.1, (train.n_items, 4)),
                               atol=1e-9)


def test_predictions_are_the_formula_with_surprises_fallbacks(planted):
    train, _ = planted
    model = SVDpp(factors=4, epochs=3, dtype=np.float64, clip=False).fit(train)
    u, i = 3, 5
    rated = train.by_user.indices[train.by_user.indptr[u]:train.by_user.indptr[u + 1]]
    z = model.implicit_factors_[rated].sum(axis=0) / np.sqrt(len(rated))
    want = (model.global_mean_ + model.user_bias_[u] + model.item_bias_[i]
            + model.item_factors_[i] @ (model.user_factors_[u] + z))
    user, item = train.user_ids[u], train.item_ids[i]
    est = model.predict(np.array([user, "ghost", user, "ghost"], dtype=object),
                        np.array([item, item, "nothing", "nothing"], dtype=object))
    mu = model.global_mean_
    np.testing.assert_allclose(est, [want, mu + model.item_bias_[i], mu + model.user_bias_[u],
                                     mu], rtol=1e-12)
    items, scores = model.recommend([user], n=3, exclude_seen=False)
    np.testing.assert_allclose(scores[0], model.predict([user] * 3, items[0]), rtol=1e-12)
    block = model._score_block(np.array([u, -1]))
    all_items = train.item_ids.astype(object)
    np.testing.assert_allclose(block[0], model.predict([user] * len(all_items), all_items),
                               rtol=1e-12)
    np.testing.assert_allclose(block[1], mu + model.item_bias_, rtol=1e-12)
    clipped = SVDpp(factors=4, epochs=3, dtype=np.float64).fit(train)
    assert clipped.predict([user], [item])[0] == np.clip(want, *train.rating_range)


def test_fold_in_of_a_trained_user_tracks_the_model(planted):
    train, _ = planted
    model = SVDpp(factors=4, epochs=20, lr=0.01, dtype=np.float64, clip=False).fit(train)
    u = 7
    row = slice(train.by_user.indptr[u], train.by_user.indptr[u + 1])
    ratings = dict(zip(train.item_ids[train.by_user.indices[row]], train.by_user.data[row]))
    items = train.item_ids
    folded = model.predict_new(ratings, items, steps=2)
    trained = model.predict([train.user_ids[u]] * len(items), items)
    assert np.corrcoef(folded, trained)[0, 1] > 0.8
    top, scores = model.recommend_new(ratings, 5)
    assert not set(top[0]) & set(ratings)
    np.testing.assert_allclose(scores[0], model.predict_new(ratings, top[0]), rtol=1e-12)
    two = model.predict_new([ratings, {items[0]: 5.0}], [items[:3], items[:2]])
    assert [len(x) for x in two] == [3, 2]
    with pytest.raises(ValueError, match="steps == -1, must be >= 0"):
        model.predict_new(ratings, items[:2], steps=-1)


def test_validation_and_callbacks(planted):
    train, test = planted
    seen = []
    model = SVDpp(factors=4, epochs=5).fit(train, validation=test,
                                           callbacks=[lambda e: seen.append(e) or len(seen) == 3])
    assert len(model.history_) == 3 == len(seen)
    assert all("validation_rmse" in entry for entry in model.history_)
    assert model.history_[-1]["validation_rmse"] == pytest.approx(_rmse(model, test), abs=1e-9)
    with pytest.raises(TypeError, match="validation must be an Interactions"):
        SVDpp().fit(train, validation=test.to_frame())


@pytest.mark.parametrize("params, error, match", [
    ({"surprise_compat": True}, ValueError, "computes in float64 as Surprise does; pass "
                                            "dtype=np.float64"),
    ({"surprise_compat": True, "dtype": np.float64, "schedule": "hogwild"}, ValueError,
     "schedule == 'hogwild', pass schedule='serial'"),
    ({"schedule": "blocked"}, ValueError, "schedule == 'blocked'"),
    ({"factors": 0}, ValueError, "factors == 0, must be >= 1"),
    ({"lr_yj": 0.0}, ValueError, "lr_yj == 0.0, must be > 0.0"),
    ({"reg_yj": -1.0}, ValueError, "reg_yj == -1.0, must be >= 0.0"),
    ({"dtype": np.int32}, TypeError, "dtype"),
    ({"surprise_compat": 1}, TypeError, "surprise_compat must be a bool"),
])
def test_bad_parameters_are_refused(planted, params, error, match):
    with pytest.raises(error, match=match):
        SVDpp(**params).fit(planted.train)


def test_implicit_data_is_refused(planted):
    implicit = fastcf.Interactions.from_frame(planted.train.to_frame()[["user", "item"]])
    with pytest.raises(ValueError, match="SVDpp needs explicit ratings"):
        SVDpp().fit(implicit)
