"""DPMLPRecommender: the clipping bound whatever a user's data, the clipped sum against
materialised per-user gradients, the calibrated noise, the accountant, epsilon=inf equal
to MLPRecommender bit for bit, threads and backends, persistence and every error."""

import dp_accounting
import numpy as np
import pytest
from scipy import stats

import fastcf
from fastcf import DPMLPRecommender, MLPRecommender
from fastcf.privacy._accounting import calibrate_noise
from fastcf.reference.mlp import loss_and_grads
from fastcf.split import random_split

SMALL = {"embedding_dim": 4, "hidden": (8, 4), "epochs": 2, "rating_range": (1, 5)}


@pytest.fixture(scope="module")
def planted():
    """Ratings from make_ratings' planted model (300 users), split 80/20."""
    return random_split(fastcf.make_ratings(300, 200, 12_000, seed=3), 0.2, seed=0)


@pytest.fixture(scope="module")
def private(planted):
    return DPMLPRecommender(sampling_rate=0.1, lr=1e-2, epsilon=2.0, **SMALL).fit(planted.train)


def _rmse(model, data):
    frame = data.to_frame()
    return float(np.sqrt(np.mean((model.predict(frame["user"], frame["item"])
                                  - frame["rating"]) ** 2)))


def _extreme_users(seed, n_users=25, n_items=30):
    """Users with 1 to n_items ratings at the ends of (and outside) the range, as
    (users, items, ratings) sorted by user, items distinct per user."""
    rng = np.random.default_rng(seed)
    users, items, ratings = [], [], []
    for u in range(n_users):
        count = int(rng.integers(1, n_items + 1))
        users += [u] * count
        items += list(rng.choice(n_items, count, replace=False))
        ratings += list(rng.choice([-50.0, 1.0, 5.0, 80.0], count))
    return (np.array(users, np.int64), np.array(items, np.int64),
            np.clip(np.array(ratings), 1.0, 5.0))


def _model_on(examples, n_users, n_items, clip_norm, seed, unit="user"):
    """An unfitted private model built with large parameters on raw examples."""
    model = DPMLPRecommender(embedding_dim=3, hidden=(5, 3), dtype=np.float64,
                             embedding_std=3.0, clip_norm=clip_norm, unit=unit,
                             rating_range=(1, 5), seed=seed)
    model._build(n_users, n_items, np.random.default_rng(seed))
    model._examples = examples
    return model


def _shared_flat(model, item_grad):
    return np.concatenate([item_grad.ravel(), model._dense_flat_grad.ravel()])


def _materialised_user_gradient(model, users, items, ratings):
    """The user's gradient of sum (r_hat - r)^2 over the shared parameters, from the
    per-sample reference, flattened as (item table, dense layers in order)."""
    layers = [(layer.weight, layer.bias) for layer in model._dense_layers()]
    _, grads = loss_and_grads(model._user_emb.weight, model._item_emb.weight, layers, users,
                              items, ratings)
    parts = [np.array(grads["item_embedding"]).ravel()]
    for j in range(len(layers)):
        parts += [np.array(grads[f"dense{j}.weight"]).ravel(),
                  np.array(grads[f"dense{j}.bias"]).ravel()]
    return len(users) * np.concatenate(parts)  # the reference's loss is the batch mean


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("clip_norm", [1e-3, 0.5, 20.0])
def test_no_user_contributes_more_than_clip_norm(seed, clip_norm):
    """Whatever a user's data (1 to 30 ratings, out-of-range values, large parameters),
    the clipped gradient they contribute has norm <= clip_norm, and the batch's sum is
    the sum of the materialised per-user gradients, each clipped."""
    users, items, ratings = _extreme_users(seed)
    model = _model_on((users, items, ratings), 25, 30, clip_norm, seed)
    ptr = np.searchsorted(users, np.arange(26))
    total = 0.0
    for u in range(25):
        batch = np.arange(ptr[u], ptr[u + 1])
        _, item_grad, _ = model._clipped_gradient(batch, np.array([0, len(batch)]))
        contribution = _shared_flat(model, item_grad)
        assert np.linalg.norm(contribution) <= clip_norm * (1 + 1e-9)
        full = _materialised_user_gradient(model, users[batch], items[batch], ratings[batch])
        factor = min(1.0, clip_norm / np.linalg.norm(full))
        np.testing.assert_allclose(contribution, factor * full, rtol=1e-9,
                                   atol=1e-12 * clip_norm)
        total = total + factor * full
    _, item_grad, _ = model._clipped_gradient(np.arange(len(users)), ptr)
    np.testing.assert_allclose(_shared_flat(model, item_grad), total, rtol=1e-9,
                               atol=1e-12 * clip_norm)


class _Recorder:
    """Stands in for the optimizers: keeps the gradients a step hands them."""

    def step(self, grads):
        self.grads = {name: np.array(g if isinstance(g, np.ndarray) else g.values)
                      for name, g in grads.items()}


def test_the_added_noise_has_the_calibrated_std(planted, private):
    """The noise a step adds (noisy gradient x expected batch size - clipped sum) over
    40 steps x 1,320 shared coordinates is N(0, (z clip_norm)^2): its sum of squares
    lies within the central 1 - 1e-6 of the chi-square law and its mean within the
    two-sided 1e-6 normal bound (false-alarm rate 2e-6 with these fixed seeds)."""
    train = planted.train
    model = private
    z = model.privacy_report_["noise_multiplier"]
    assert z == pytest.approx(calibrate_noise(2.0, train.n_users ** -1.1,
                                              steps=2 * 10, sampling_rate=0.1))
    by_user = train.by_user
    users = np.repeat(np.arange(train.n_users), np.diff(by_user.indptr))
    model._examples = (users, np.asarray(by_user.indices, np.int64),
                       by_user.data.astype(np.float32))
    ptr = np.searchsorted(users, np.arange(train.n_users + 1))
    batch = np.arange(ptr[0], ptr[6])
    sigma, scale = z * model.clip_norm, 0.1 * train.n_users
    noise = []
    for seed in range(40):
        _, item_grad, _ = model._clipped_gradient(batch, ptr[:7])
        clipped = _shared_flat(model, item_grad).astype(np.float64)
        shared = _Recorder()
        model._private_step(batch, ptr[:7], sigma, scale, (shared, _Recorder()),
                            np.random.default_rng(seed))
        noisy = np.concatenate([shared.grads["item"].ravel(), shared.grads["dense"].ravel()])
        noise.append(noisy.astype(np.float64) * scale - clipped)
    noise = np.concatenate(noise)
    n = len(noise)
    ratio = np.sum(noise ** 2) / sigma ** 2
    assert stats.chi2.ppf(5e-7, n) < ratio < stats.chi2.isf(5e-7, n)
    assert abs(noise.mean()) < stats.norm.isf(5e-7) * sigma / np.sqrt(n)


def test_privacy_report_matches_dp_accounting(planted, private):
    train = planted.train
    report = private.privacy_report_
    delta = train.n_users ** -1.1
    accountant = dp_accounting.rdp.RdpAccountant()
    accountant.compose(dp_accounting.SelfComposedDpEvent(dp_accounting.PoissonSampledDpEvent(
        0.1, dp_accounting.GaussianDpEvent(report["noise_multiplier"])), 20))
    assert report["epsilon"] == pytest.approx(accountant.get_epsilon(delta), rel=1e-9)
    assert report["epsilon"] <= 2.0 * (1 + 1e-3)
    assert report["delta"] == pytest.approx(delta)
    assert (report["steps"], report["sampling_rate"], report["unit"]) == (20, 0.1, "user")
    assert report["clip_norm"] == 1.0 and report["rating_range"] == [1.0, 5.0]
    assert report["n_users"] == train.n_users and report["accountant"] == "rdp"
    assert "Gaussian" in report["mechanism"] and "clip_norm" in report["sensitivity"]


def test_private_model_learns_and_predicts_in_range(planted, private):
    train, test = planted
    frame = test.to_frame()
    midpoint = float(np.sqrt(np.mean((3.0 - frame["rating"]) ** 2)))
    assert _rmse(private, test) < midpoint
    assert private.global_mean_ == 3.0  # the range's midpoint, not the data's mean
    predictions = private.predict(frame["user"], frame["item"])
    assert predictions.min() >= 1.0 and predictions.max() <= 5.0


@pytest.mark.parametrize("options", [
    {"dtype": np.float64, "weight_decay": 1e-3, "sparse_adam": False},
    {"dtype": np.float32, "lr": 5e-3, "batch_size": 64, "embedding_std": 0.3},
])
def test_epsilon_inf_is_mlp_recommender_bit_for_bit(planted, options):
    train, test = planted
    shared = {"embedding_dim": 4, "hidden": (8, 4), "epochs": 2, "seed": 4, **options}
    dp = DPMLPRecommender(epsilon=np.inf, rating_range=(1, 5), clip_norm=0.01,
                          sampling_rate=0.01, max_ratings=2, **shared).fit(train)
    plain = MLPRecommender(**shared).fit(train)
    for name in ("user_embedding_", "item_embedding_", "dense_params_", "global_mean_",
                 "rating_range_"):
        got, want = getattr(dp, name), getattr(plain, name)
        assert got.dtype == want.dtype and np.array_equal(got, want), name
    frame = test.to_frame()
    assert np.array_equal(dp.predict(frame["user"], frame["item"]),
                          plain.predict(frame["user"], frame["item"]))
    for got, want in zip(dp.recommend(train.user_ids[:5], 5),
                         plain.recommend(train.user_ids[:5], 5)):
        assert np.array_equal(got, want)
    report = dp.privacy_report_
    assert report["epsilon"] == np.inf and report["mechanism"] == "none"
    assert report["noise_multiplier"] == 0.0 and report["delta"] == 0.0


@pytest.mark.parametrize("backend", ["numba", "cython"])
def test_threads_and_backends_give_the_same_model(planted, backend, monkeypatch):
    train = planted.train
    # these batches are small enough for one thread; make the steps use n_threads
    monkeypatch.setattr("fastcf.privacy.mlp.DP_STEP_PARALLEL_MIN_EXAMPLES", 0)
    options = {**SMALL, "dtype": np.float64, "sampling_rate": 0.2, "max_ratings": 30,
               "seed": 5}
    one = DPMLPRecommender(backend=backend, n_threads=1, **options).fit(train)
    two = DPMLPRecommender(backend=backend, n_threads=2, **options).fit(train)
    ref = DPMLPRecommender(backend="reference", **options).fit(train)
    for name in ("user_embedding_", "item_embedding_", "dense_params_"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))
        np.testing.assert_allclose(getattr(one, name), getattr(ref, name), rtol=1e-7,
                                   atol=1e-9)


def test_max_ratings_and_no_unit_rating(planted):
    train = planted.train
    capped = DPMLPRecommender(max_ratings=5, sampling_rate=0.5, **SMALL).fit(train)
    assert capped.history_[-1]["samples"] < 2 * 0.5 * 5 * train.n_users * 1.3
    assert capped.privacy_report_["max_ratings"] == 5
    with pytest.raises(ValueError, match=r"unit == 'rating' is not offered by "
                                         r"DPMLPRecommender"):
        DPMLPRecommender(unit="rating", sampling_rate=0.05, **SMALL).fit(train)


def test_save_load_keeps_the_report(planted, private, tmp_path):
    path = tmp_path / "dp.npz"
    private.save(path)
    loaded = fastcf.load(path)
    assert isinstance(loaded, DPMLPRecommender)
    assert loaded.privacy_report_ == private.privacy_report_
    frame = planted.test.to_frame()
    assert np.array_equal(loaded.predict(frame["user"], frame["item"]),
                          private.predict(frame["user"], frame["item"]))


@pytest.mark.parametrize("change, error, match", [
    ({"rating_range": None}, ValueError, "rating_range is None"),
    ({"rating_range": (5, 1)}, ValueError, "must have low < high"),
    ({"rating_range": 5}, TypeError, "rating_range must be a"),
    ({"clip_norm": 0}, ValueError, "clip_norm == 0.0, must be > 0"),
    ({"clip_norm": np.inf}, ValueError, "clip_norm == inf, must be finite"),
    ({"clip_norm": "1"}, TypeError, "clip_norm must be a real number"),
    ({"sampling_rate": 0.0}, ValueError, "sampling_rate == 0.0, must be > 0"),
    ({"sampling_rate": 1.5}, ValueError, "sampling_rate == 1.5, must be <= 1"),
    ({"epsilon": 0.0}, ValueError, "epsilon == 0.0, must be > 0"),
    ({"epsilon": np.nan}, ValueError, "must be > 0"),
    ({"epsilon": "1"}, TypeError, "epsilon must be a real number"),
    ({"delta": 0.5}, ValueError, "delta == 0.5, must be in"),
    ({"delta": 2.0}, ValueError, r"delta == 2.0, must be in \(0, 1\)"),
    ({"unit": "item"}, ValueError, "unit == 'item'"),
    ({"accountant": "moments"}, ValueError, "accountant == 'moments'"),
    ({"max_ratings": 0}, ValueError, "max_ratings == 0"),
    ({"max_ratings": 2.5}, TypeError, "max_ratings must be an int"),
    ({"epochs": 0}, ValueError, "epochs == 0"),
    ({"hidden": ()}, ValueError, "hidden =="),
])
def test_bad_parameters_are_refused(planted, change, error, match):
    with pytest.raises(error, match=match):
        DPMLPRecommender(**{**SMALL, **change}).fit(planted.train)


def test_bad_data_is_refused(planted):
    implicit = fastcf.Interactions.from_arrays([0, 1, 2], [0, 1, 0])
    with pytest.raises(ValueError, match="needs explicit ratings"):
        DPMLPRecommender(**SMALL).fit(implicit)
    one_user = fastcf.Interactions.from_arrays([0, 0], [0, 1], [3.0, 4.0])
    with pytest.raises(ValueError, match="n_users == 1"):
        DPMLPRecommender(**SMALL).fit(one_user)


def test_patience_is_not_a_parameter(private):
    assert private.patience is None and "patience" not in private.get_params()
