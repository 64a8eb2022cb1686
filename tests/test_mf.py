"""MatrixFactorization and the serial SGD epoch kernel: backends against the
reference, reproducibility, learning on planted data, fallbacks, recommend,
persistence and bad input."""

import numpy as np
import pytest
from conftest import DTYPES

import fastcf
from fastcf import Interactions, MatrixFactorization
from fastcf._config import MF_PREFETCH_DISTANCE
from fastcf.kernels import sgd_epoch
from fastcf.kernels.mf import run_sgd_epoch_hogwild, run_shuffle_ratings
from fastcf.mf import TrainingDiverged
from fastcf.split import random_split

COMPILED = ["numba", "cython"]


@pytest.fixture(scope="module")
def planted():
    """Ratings from make_ratings' planted low-rank model, split 80/20."""
    data = fastcf.make_ratings(400, 300, 24_000, seed=3)
    return random_split(data, 0.2, seed=0)


def _epoch_inputs(data, dtype, k=8, seed=0):
    by_user = data.by_user
    users = np.repeat(np.arange(data.n_users, dtype=by_user.indices.dtype),
                      np.diff(by_user.indptr))
    rng = np.random.default_rng(seed)
    state = (np.zeros(data.n_users, dtype), np.zeros(data.n_items, dtype),
             rng.normal(0, 0.1, (data.n_users, k)).astype(dtype),
             rng.normal(0, 0.1, (data.n_items, k)).astype(dtype))
    return users, by_user.indices, by_user.data.astype(dtype), state


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("biased", [True, False])
def test_epochs_match_the_reference(planted, backend, dtype, biased):
    train, _ = planted
    users, items, ratings, state = _epoch_inputs(train, dtype)
    ref_state = tuple(a.astype(np.float64) for a in state)
    order = np.random.default_rng(1).permutation(len(ratings))
    rates = ((0.01, 0.012, 0.02, 0.015), (0.02, 0.03, 0.05, 0.04))
    for _ in range(2):
        loss = sgd_epoch(users, items, ratings, order, 3.5, *state, *rates, biased=biased,
                         backend=backend)
        want = sgd_epoch(users, items, ratings.astype(np.float64), order, 3.5, *ref_state,
                         *rates, biased=biased, backend="reference")
        tol = 1e-9 if dtype == np.float64 else 1e-4
        assert loss == pytest.approx(want, rel=tol)
    for got, ref in zip(state, ref_state):
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)


def test_order_none_is_the_array_order_and_inputs_stay_unchanged(planted):
    train, _ = planted
    users, items, ratings, state = _epoch_inputs(train, np.float64)
    copies = [a.copy() for a in (users, items, ratings)]
    rates = ((0.01,) * 4, (0.02,) * 4)
    states = [tuple(a.copy() for a in state) for _ in range(2)]
    for order, st in zip((None, np.arange(len(ratings))), states):
        sgd_epoch(users, items, ratings, order, 3.5, *st, *rates, backend="numba")
    for a, b in zip(*states):
        assert np.array_equal(a, b)
    for a, b in zip((users, items, ratings), copies):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_shuffle_draws_the_reference_permutation(backend, index_dtype):
    n = 1000
    users = np.arange(n, dtype=index_dtype)
    items = (users * 7 % n).astype(index_dtype)
    ratings = users.astype(np.float32) / 2
    ref = [users.copy(), items.copy(), ratings.astype(np.float64)]
    run_shuffle_ratings(users, items, ratings, 12345, backend=backend)
    run_shuffle_ratings(*ref, 12345, backend="reference")
    assert np.array_equal(users, ref[0]) and np.array_equal(items, ref[1])
    assert np.array_equal(ratings, ref[2])
    # a permutation that moves whole ratings, and another one for another seed
    assert np.array_equal(np.sort(users), np.arange(n))
    assert np.array_equal(items, users * 7 % n) and np.array_equal(ratings, users / 2)
    again = np.arange(n, dtype=index_dtype)
    run_shuffle_ratings(again, again.copy(), again.astype(np.float32), 12346, backend=backend)
    assert not np.array_equal(again, users)


def test_shuffle_is_uniform_over_the_permutations():
    # 4 ratings have 24 orders: 24,000 seeded shuffles put ~1000 on each
    counts = {}
    for seed in range(24_000):
        users = np.arange(4, dtype=np.int64)
        run_shuffle_ratings(users, users.copy(), np.zeros(4), seed, backend="numba")
        counts[tuple(users)] = counts.get(tuple(users), 0) + 1
    assert len(counts) == 24
    # chi-square with 23 degrees of freedom; 49.7 is its 0.999 quantile
    chi2 = sum((c - 1000) ** 2 / 1000 for c in counts.values())
    assert chi2 < 49.7


@pytest.mark.parametrize("build", ["_mf", "_mf_avx2"])
def test_each_cython_build_matches_the_reference(planted, build):
    """The "cython" backend runs one build of _mf.pxi; the other is tested here."""
    import importlib

    from fastcf.kernels.mf import _cpu_has

    if build == "_mf_avx2" and not _cpu_has("avx2", "fma"):
        pytest.skip("this CPU lacks AVX2 or FMA")
    try:
        module = importlib.import_module(f"fastcf.kernels.{build}")
    except ImportError:
        pytest.skip(f"{build} was not built here")
    train, _ = planted
    users, items, ratings, state = _epoch_inputs(train, np.float32)
    ref_state = [a.astype(np.float64) for a in state]
    f32 = np.float32
    rates = [f32(0.01), f32(0.012), f32(0.02), f32(0.015), f32(0.02), f32(0.03), f32(0.05),
             f32(0.04)]
    loss = module.sgd_epoch(users, items, ratings, f32(3.5), *state, *rates, True)
    want = sgd_epoch(users, items, ratings.astype(np.float64), None, 3.5, *ref_state,
                     tuple(float(r) for r in rates[:4]), tuple(float(r) for r in rates[4:]),
                     backend="reference")
    assert loss == pytest.approx(want, rel=1e-4)
    for got, ref in zip(state, ref_state):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


def test_cython_prefetches_as_far_ahead_as_numba():
    _mf = pytest.importorskip("fastcf.kernels._mf")
    assert _mf.PREFETCH_DISTANCE == MF_PREFETCH_DISTANCE


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("shuffle", [False, True])
def test_hogwild_on_one_thread_is_the_reference(planted, backend, shuffle):
    from fastcf.kernels.mf import block_grid

    train, _ = planted
    users, items, ratings, state = _epoch_inputs(train, np.float64)
    positions, block_ptr = block_grid(users, items, train.n_users, train.n_items, 4, 0)
    ref_state = tuple(a.copy() for a in state)
    arrays = [users[positions], items[positions], ratings[positions]]
    ref_arrays = [a.copy() for a in arrays]
    rates = ((0.01, 0.012, 0.02, 0.015), (0.02, 0.03, 0.05, 0.04))
    for seed in (7, 8):
        cells = np.random.default_rng(seed).permutation(16)
        loss = run_sgd_epoch_hogwild(*arrays, block_ptr, cells, seed, 3.5, *state, *rates,
                                     True, shuffle=shuffle, backend=backend, n_threads=1)
        want = run_sgd_epoch_hogwild(*ref_arrays, block_ptr, cells, seed, 3.5, *ref_state,
                                     *rates, True, shuffle=shuffle, backend="reference",
                                     n_threads=1)
        assert loss == pytest.approx(want, rel=1e-9)
    for got, ref in zip(arrays + list(state), ref_arrays + list(ref_state)):
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)


def test_epoch_kernel_checks_its_arrays(planted):
    train, _ = planted
    users, items, ratings, state = _epoch_inputs(train, np.float64)
    order = np.arange(len(ratings))
    rates = ((0.01,) * 4, (0.02,) * 4)
    with pytest.raises(TypeError, match="item_factors must be a 2-d float64"):
        sgd_epoch(users, items, ratings, order, 3.5, *state[:3], state[3].astype(np.float32),
                  *rates)
    with pytest.raises(ValueError, match="order must lie in"):
        sgd_epoch(users, items, ratings, order + 1, 3.5, *state, *rates)
    with pytest.raises(TypeError, match="order must be a 1-d array of integer"):
        sgd_epoch(users, items, ratings, order * 1.0, 3.5, *state, *rates)
    with pytest.raises(ValueError, match="users must lie in"):
        sgd_epoch(users + 1, items, ratings, order, 3.5, *state, *rates)
    with pytest.raises(ValueError, match="4-tuples"):
        sgd_epoch(users, items, ratings, order, 3.5, *state, (0.01,), (0.02,) * 4)
    frozen = state[2].copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        sgd_epoch(users, items, ratings, order, 3.5, *state[:2], frozen, state[3], *rates)


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
    with pytest.raises(TrainingDiverged, match="diverged at epoch"):
        MatrixFactorization(factors=8, epochs=5, lr=5.0, reg=0.0, dtype=np.float32).fit(train)


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


def test_save_load_round_trip(planted, tmp_path):
    train, test = planted
    model = MatrixFactorization(factors=5, epochs=3, dtype=np.float64).fit(train)
    model.save(tmp_path / "mf.npz")
    loaded = fastcf.load(tmp_path / "mf.npz")
    frame = test.to_frame()
    np.testing.assert_array_equal(loaded.predict(frame["user"], frame["item"]),
                                  model.predict(frame["user"], frame["item"]))


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
@pytest.mark.parametrize("cell_order", ["sorted", "shuffled"])
def test_blocked_is_identical_for_any_thread_count_and_matches_the_reference(planted, backend,
                                                                              cell_order):
    train, _ = planted
    options = {"factors": 6, "epochs": 3, "schedule": "blocked", "blocks": 5,
               "cell_order": cell_order, "dtype": np.float64, "seed": 4}
    one = MatrixFactorization(backend=backend, n_threads=1, **options).fit(train)
    two = MatrixFactorization(backend=backend, n_threads=2, **options).fit(train)
    assert np.array_equal(one.user_factors_, two.user_factors_)
    assert np.array_equal(one.item_bias_, two.item_bias_)
    ref = MatrixFactorization(backend="reference", **options).fit(train)
    np.testing.assert_allclose(one.user_factors_, ref.user_factors_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(one.item_factors_, ref.item_factors_, rtol=1e-9, atol=1e-12)


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


@pytest.mark.parametrize("n_threads, want", [(1, 1), (None, None)])
def test_recommend_bounds_blas_by_n_threads(monkeypatch, n_threads, want):
    """n_threads=1 scores on one BLAS thread; None leaves BLAS as it is."""
    from threadpoolctl import threadpool_info

    data = fastcf.make_ratings(60, 40, 600, seed=2)
    model = MatrixFactorization(factors=4, epochs=1, n_threads=n_threads).fit(data)
    seen, score_block = [], MatrixFactorization._score_block

    def spy(self, users, out=None, setup=None):
        seen.append({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"})
        return score_block(self, users, out, setup)

    outside = {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}
    monkeypatch.setattr(MatrixFactorization, "_score_block", spy)
    model.recommend(data.user_ids[:5], 3)
    assert seen and all(s == ({want} if want else outside) for s in seen)
