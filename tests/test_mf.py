"""MatrixFactorization: reproducibility, learning on planted data, early stopping,
fallbacks, recommend, fold-in, partial_fit, schedules, persistence and bad input
(its SGD kernels: tests/kernels/test_mf.py)."""

import numpy as np
import pytest

import fastcf
from fastcf import Interactions, MatrixFactorization
from fastcf.mf import TrainingDiverged
from fastcf.split import random_split

COMPILED = ["numba", "cython"]


@pytest.fixture(scope="module")
def planted():
    """Ratings from make_ratings' planted low-rank model, split 80/20."""
    data = fastcf.make_ratings(400, 300, 24_000, seed=3)
    return random_split(data, 0.2, seed=0)


@pytest.mark.parametrize("backend", COMPILED)
def test_serial_training_is_reproducible(planted, backend):
    train, _ = planted
    one = MatrixFactorization(factors=8, epochs=3, backend=backend, seed=5).fit(train)
    two = MatrixFactorization(factors=8, epochs=3, backend=backend, seed=5).fit(train)
    assert np.array_equal(one.user_factors_, two.user_factors_)
    assert np.array_equal(one.item_bias_, two.item_bias_)
    other = MatrixFactorization(factors=8, epochs=3, backend=backend, seed=6).fit(train)
    assert not np.array_equal(one.user_factors_, other.user_factors_)


def test_learns_the_planted_model(planted):
    train, test = planted
    frame = test.to_frame()
    truth = frame["rating"].to_numpy()
    model = MatrixFactorization(factors=10, epochs=40, lr=0.01, reg=0.05).fit(train)
    baseline = fastcf.BaselineOnly().fit(train)
    mf_rmse = np.sqrt(np.mean((model.predict(frame["user"], frame["item"]) - truth) ** 2))
    bl_rmse = np.sqrt(np.mean((baseline.predict(frame["user"], frame["item"]) - truth) ** 2))
    # noise 0.5 plus rounding to stars bounds what any model can reach (~0.6)
    assert mf_rmse < 0.85 * bl_rmse
    assert mf_rmse < 0.8


def test_loss_decreases_for_a_small_learning_rate(planted):
    train, _ = planted
    model = MatrixFactorization(factors=8, epochs=12, lr=0.002).fit(train)
    losses = [h["train_rmse"] for h in model.history_]
    assert all(b < a for a, b in zip(losses, losses[1:]))


def test_divergence_stops_with_the_epoch_named(planted):
    train, _ = planted
    with pytest.raises(TrainingDiverged, match=r"diverged at epoch .*\(lr == 5.0\)"):
        MatrixFactorization(factors=8, epochs=5, lr=5.0, reg=0.0, dtype=np.float32).fit(train)
    # the rates in force are named, not the shared lr they override
    with pytest.raises(TrainingDiverged, match=r"lr_bu == 0.005, lr_bi == 0.005, "
                                               r"lr_pu == 5.0, lr_qi == 5.0"):
        MatrixFactorization(factors=8, epochs=5, lr_pu=5.0, lr_qi=5.0, reg=0.0,
                            dtype=np.float32).fit(train)


def test_validation_early_stopping_and_callbacks(planted):
    train, test = planted
    seen = []
    model = MatrixFactorization(factors=8, epochs=30, lr=0.05, reg=0.0, patience=2).fit(
        train, validation=test, callbacks=[seen.append])
    assert len(seen) == len(model.history_) <= 30
    assert all("validation_rmse" in h for h in model.history_)
    best = min(h["validation_rmse"] for h in model.history_)
    assert model.history_[model.best_epoch_]["validation_rmse"] == best
    stopped = MatrixFactorization(factors=8, epochs=10).fit(
        train, callbacks=[lambda h: h["epoch"] == 2])
    assert len(stopped.history_) == 3
    with pytest.raises(ValueError, match="patience needs a validation set"):
        MatrixFactorization(patience=2).fit(train)


def test_unknown_ids_fall_back_to_the_biases(planted):
    train, _ = planted
    model = MatrixFactorization(factors=4, epochs=2, clip=False).fit(train)
    user, item = train.user_ids[0], train.item_ids[0]
    ghost = 10**9
    scores, unknown = model.predict([user, ghost, user, ghost], [item, item, -1, -1],
                                    return_unknown=True)
    mu = model.global_mean_
    assert scores[1] == pytest.approx(mu + model.item_bias_[0], rel=1e-6)
    assert scores[2] == pytest.approx(mu + model.user_bias_[0], rel=1e-6)
    assert scores[3] == pytest.approx(mu)
    assert unknown.users.tolist() == [False, True, False, True]
    funk = MatrixFactorization(factors=4, epochs=2, biased=False, clip=False).fit(train)
    p, q = funk.user_factors_[0].astype(float), funk.item_factors_[0].astype(float)
    assert funk.predict([user], [item])[0] == pytest.approx(p @ q, rel=1e-6)
    assert funk.predict([ghost], [item])[0] == pytest.approx(mu)


def test_recommend_and_similar_items(planted):
    train, _ = planted
    model = MatrixFactorization(factors=6, epochs=5).fit(train)
    users = train.user_ids[:20]
    items, scores = model.recommend(users, 7)
    for r, u in enumerate(model.user_index(users)):
        seen = set(train.by_user.indices[train.by_user.indptr[u]:train.by_user.indptr[u + 1]])
        assert not seen & set(model.item_index(items[r]))
        assert np.all(np.diff(scores[r]) <= 0)
        full = model._estimate(np.full(train.n_items, u), np.arange(train.n_items))
        np.testing.assert_allclose(scores[r], full[model.item_index(items[r])], rtol=1e-6)
    similar, sims = model.similar_items(train.item_ids[:3], 4)
    assert similar.shape == (3, 4) and np.all(sims <= 1 + 1e-9)
    assert not any(train.item_ids[r] in similar[r] for r in range(3))


def test_similar_items_are_the_closest_factors_in_cosine(planted):
    train, _ = planted
    model = MatrixFactorization(factors=6, epochs=5, dtype=np.float64).fit(train)
    q = model.item_factors_
    cosine = (q @ q.T) / np.outer(np.linalg.norm(q, axis=1), np.linalg.norm(q, axis=1))
    asked = train.item_ids[[0, 5, 11]]
    similar, sims = model.similar_items(asked, 5)
    for row, item in enumerate(model.item_index(asked)):
        brute = np.argsort(-cosine[item], kind="stable")
        brute = brute[brute != item][:5]  # self excluded, ties by lower index
        np.testing.assert_array_equal(similar[row], model.item_ids_[brute])
        np.testing.assert_allclose(sims[row], cosine[item, brute], rtol=1e-12)
    with pytest.raises(ValueError, match="1 unknown item ids"):
        model.similar_items([-999], 3)


@pytest.mark.parametrize("params, exc, match", [
    ({"factors": 0}, ValueError, "factors == 0"),
    ({"cell_order": "random"}, ValueError, "cell_order"),
    ({"epochs": 0}, ValueError, "epochs == 0"),
    ({"lr": 0.0}, ValueError, "lr == 0.0, must be > 0"),
    ({"lr_pu": -1.0}, ValueError, "lr_pu"),
    ({"reg": -0.1}, ValueError, "reg == -0.1"),
    ({"lr_decay": 1.5}, ValueError, "lr_decay"),
    ({"dtype": np.int8}, TypeError, "dtype"),
    ({"biased": 1}, TypeError, "biased must be a bool"),
    ({"seed": -1}, ValueError, "seed == -1"),
    ({"schedule": "async"}, ValueError, "schedule == 'async'"),
    ({"blocks": 0}, ValueError, "blocks == 0"),
])
def test_bad_params(planted, params, exc, match):
    with pytest.raises(exc, match=match):
        MatrixFactorization(**params).fit(planted.train)


def test_implicit_data_is_refused():
    data = Interactions.from_arrays([0, 1], [1, 0])
    with pytest.raises(ValueError, match="needs explicit ratings"):
        MatrixFactorization().fit(data)


@pytest.mark.parametrize("backend", COMPILED)
def test_hogwild_lands_in_the_serial_accuracy_band(planted, backend):
    train, test = planted
    frame = test.to_frame()
    truth = frame["rating"].to_numpy()

    def rmse(schedule):
        model = MatrixFactorization(factors=8, epochs=15, lr=0.01, schedule=schedule,
                                    backend=backend, n_threads=2).fit(train)
        return np.sqrt(np.mean((model.predict(frame["user"], frame["item"]) - truth) ** 2))

    assert abs(rmse("hogwild") - rmse("serial")) < 0.02


def test_fold_in_solves_the_ridge_problem_and_tracks_the_trained_user(planted):
    train, _ = planted
    model = MatrixFactorization(factors=6, epochs=30, lr=0.01, reg=0.05,
                                dtype=np.float64).fit(train)
    u = 7
    row = slice(train.by_user.indptr[u], train.by_user.indptr[u + 1])
    cols, values = train.by_user.indices[row], train.by_user.data[row]
    ratings = dict(zip(train.item_ids[cols], values))
    (bias,), (p,) = model._fold_in_factors(model._fold_in_csr(ratings), steps=0)
    # the gradient of the ridge objective vanishes at the solution
    q, n = model.item_factors_[cols], len(cols)
    err = values - (model.global_mean_ + model.item_bias_[cols] + bias + q @ p)
    np.testing.assert_allclose(-2 * err.sum() + 2 * n * 0.05 * bias, 0, atol=1e-8)
    np.testing.assert_allclose(-2 * q.T @ err + 2 * n * 0.05 * p, 0, atol=1e-8)
    items = train.item_ids
    folded = model.predict_new(ratings, items, steps=2)
    trained = model.predict([train.user_ids[u]] * len(items), items)
    assert np.corrcoef(folded, trained)[0, 1] > 0.8  # SGD stops short of the optimum
    top, scores = model.recommend_new(ratings, 5)
    assert not set(top[0]) & set(ratings)
    assert np.all(np.diff(scores[0]) <= 0)
    two = model.predict_new([ratings, {items[0]: 5.0}], [items[:3], items[:2]])
    assert [len(x) for x in two] == [3, 2]
    with pytest.raises(ValueError, match="at least one rating"):
        model.predict_new({}, items[:2])


def test_partial_fit_grows_the_id_maps_and_keeps_learning(planted):
    train, test = planted
    frame = train.to_frame()
    first_users = frame["user"].unique()[: train.n_users // 2]
    old = Interactions.from_frame(frame[frame["user"].isin(first_users)], rating="rating")
    new = Interactions.from_frame(frame[~frame["user"].isin(first_users)], rating="rating")
    model = MatrixFactorization(factors=6, epochs=5, lr=0.01).fit(old)
    n_users = model.n_users_
    model.partial_fit(new, epochs=5)
    assert model.n_users_ > n_users and model.user_factors_.shape[0] == model.n_users_
    assert len(model.seen_indptr_) == model.n_users_ + 1
    user = new.user_ids[0]
    items, _ = model.recommend([user], 5)
    row = new.by_user.indices[new.by_user.indptr[0]:new.by_user.indptr[1]]
    assert not set(items[0]) & set(new.item_ids[row])
    test_frame = test.to_frame()
    pred = model.predict(test_frame["user"], test_frame["item"])
    assert np.sqrt(np.mean((pred - test_frame["rating"].to_numpy()) ** 2)) < 1.0
    again = MatrixFactorization(factors=6, epochs=5, lr=0.01).fit(old).partial_fit(new, 5)
    assert np.array_equal(again.user_factors_, model.user_factors_)


@pytest.mark.parametrize("n_threads", [1, 2, None])
def test_recommend_runs_its_threads_each_on_one_blas_thread(monkeypatch, n_threads):
    """recommend ranks on n_threads threads, each running its own products on one
    BLAS thread (no BLAS threads competing with them), and restores BLAS after."""
    from threadpoolctl import threadpool_info

    from fastcf._parallel import resolve_n_threads
    from fastcf.kernels import _registry

    data = fastcf.make_ratings(60, 40, 600, seed=2)
    model = MatrixFactorization(factors=4, epochs=1, n_threads=n_threads).fit(data)
    seen, run = [], _registry.run

    def spy(kernel, name, args, n, **kwargs):
        seen.append(({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"},
                     n))
        return run(kernel, name, args, n, **kwargs)

    outside = {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}
    monkeypatch.setattr(_registry, "run", spy)
    model.recommend(data.user_ids[:5], 3)
    assert seen[0] == ({1}, resolve_n_threads(n_threads))
    assert {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"} == outside


def test_partial_fit_grows_the_fitted_width_whatever_factors_says_now(planted):
    train, test = planted
    model = MatrixFactorization(factors=5, epochs=1).fit(train)
    model.set_params(factors=9)  # takes effect at the next fit, not in partial_fit
    fresh = Interactions.from_frame(test.to_frame().assign(user=lambda f: f["user"] + 10**6),
                                    rating="rating")
    model.partial_fit(fresh, epochs=1)
    assert model.user_factors_.shape == (train.n_users + fresh.n_users, 5)


def test_fit_takes_a_schedule_object(planted):
    from fastcf.schedules import Blocked, Serial

    train, _ = planted
    options = {"factors": 4, "epochs": 2, "seed": 2}
    serial = MatrixFactorization(**options).fit(train)
    # the object runs the epochs, whatever the schedule parameter says
    model = MatrixFactorization(schedule="hogwild", **options).fit(train, schedule=Serial())
    assert np.array_equal(model.user_factors_, serial.user_factors_)
    blocked = MatrixFactorization(schedule="blocked", blocks=3, n_threads=1, **options)
    blocked.fit(train)
    model.fit(train, schedule=Blocked(3, n_threads=1))
    assert np.array_equal(model.user_factors_, blocked.user_factors_)
    model.fit(train)  # the next fit runs the parameters' schedule again
    assert not np.array_equal(model.user_factors_, serial.user_factors_)
    with pytest.raises(TypeError, match="schedule must be a fastcf.schedules.Schedule .* got "
                                        "str"):
        model.fit(train, schedule="blocked")


@pytest.mark.parametrize("make, exc, match", [
    (lambda s: s.Blocked(0), ValueError, "blocks == 0"),
    (lambda s: s.Hogwild(4, cell_order="random"), ValueError, "cell_order == 'random'"),
    (lambda s: s.Blocked(4, n_threads=0), ValueError, "n_threads == 0"),
    (lambda s: s.Serial(backend="gpu"), ValueError, "backend == 'gpu'"),
    (lambda s: s.Schedule(), TypeError, "abstract"),
])
def test_schedules_check_their_parameters(make, exc, match):
    from fastcf import schedules

    with pytest.raises(exc, match=match):
        make(schedules)


# ------------------------------------------------------ surprise_compat
def surprise_svd(frame, factors, epochs, seed, biased=True, lr=0.005, reg=0.02):
    """Surprise SVD's fit, straight from its loop: inner ids by first appearance,
    RandomState draws (users then items), all_ratings() order, no shuffle."""
    uid, iid = {}, {}
    ur = {}
    for u, i, r in zip(frame["user"], frame["item"], frame["rating"]):
        uid.setdefault(u, len(uid))
        iid.setdefault(i, len(iid))
        ur.setdefault(uid[u], []).append((iid[i], float(r)))
    rng = np.random.RandomState(seed)
    pu = rng.normal(0.0, 0.1, (len(uid), factors))
    qi = rng.normal(0.0, 0.1, (len(iid), factors))
    bu, bi = np.zeros(len(uid)), np.zeros(len(iid))
    mu = float(np.mean(frame["rating"])) if biased else 0.0
    for _ in range(epochs):
        for u in range(len(uid)):
            for i, r in ur[u]:
                err = r - (mu + bu[u] + bi[i] + qi[i] @ pu[u])
                if biased:
                    bu[u] += lr * (err - reg * bu[u])
                    bi[i] += lr * (err - reg * bi[i])
                pu[u], qi[i] = pu[u] + lr * (err * qi[i] - reg * pu[u]), \
                    qi[i] + lr * (err * pu[u] - reg * qi[i])
    return uid, iid, pu, qi, bu, bi


@pytest.mark.parametrize("biased", [True, False])
@pytest.mark.parametrize("backend", COMPILED + ["reference"])
def test_surprise_compat_is_surprises_svd(biased, backend):
    frame = fastcf.make_ratings(30, 20, 200, seed=4).to_frame()
    frame = frame.sample(frac=1.0, random_state=1).reset_index(drop=True)  # ids unsorted
    uid, iid, pu, qi, bu, bi = surprise_svd(frame, 4, 3, 7, biased)
    model = MatrixFactorization(factors=4, epochs=3, biased=biased, dtype=np.float64,
                                surprise_compat=True, backend=backend, seed=7)
    model.fit(Interactions.from_frame(frame, rating="rating", dtype=np.float64))
    users = [uid[u] for u in model.user_ids_]
    items = [iid[i] for i in model.item_ids_]
    np.testing.assert_allclose(model.user_factors_, pu[users], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.item_factors_, qi[items], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.user_bias_, bu[users], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.item_bias_, bi[items], rtol=1e-10, atol=1e-12)


def test_surprise_compat_partial_fit_and_save(planted, tmp_path):
    train, test = planted
    model = MatrixFactorization(factors=4, epochs=2, dtype=np.float64, surprise_compat=True)
    model.fit(train).partial_fit(test, epochs=1)
    model.save(tmp_path / "m.npz")
    frame = test.to_frame()
    np.testing.assert_array_equal(fastcf.load(tmp_path / "m.npz").predict(
        frame["user"], frame["item"]), model.predict(frame["user"], frame["item"]))


@pytest.mark.parametrize("params, match", [
    ({}, r"surprise_compat=True computes in float64.*pass dtype=np.float64"),
    ({"dtype": np.float64, "schedule": "blocked"},
     "surprise_compat=True visits the ratings in Surprise's order.*schedule == 'blocked'"),
])
def test_surprise_compat_conflicts(planted, params, match):
    with pytest.raises(ValueError, match=match):
        MatrixFactorization(surprise_compat=True, **params).fit(planted.train)


def test_surprise_compat_refuses_a_schedule_object(planted):
    from fastcf.schedules import Serial

    model = MatrixFactorization(factors=2, epochs=1, dtype=np.float64, surprise_compat=True)
    with pytest.raises(ValueError, match=r"fit\(schedule=...\) cannot replace it"):
        model.fit(planted.train, schedule=Serial())
