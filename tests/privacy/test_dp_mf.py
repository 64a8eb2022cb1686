"""DPMatrixFactorization: epsilon=inf is MatrixFactorization bit for bit, the report is
dp-accounting's, the noise has the calibrated standard deviation, every user's added
gradient is clipped, the model file keeps the report, and every parameter error."""

import json

import dp_accounting
import numpy as np
import pytest
from conftest import DTYPES
from dp_accounting.rdp import RdpAccountant
from scipy import stats

import fastcf
from fastcf import DPMatrixFactorization, Interactions, MatrixFactorization
from fastcf.kernels import dp_sgd as dp_kernels
from fastcf.privacy import calibrate_noise

RANGE = (1, 5)


@pytest.fixture(scope="module")
def data():
    return fastcf.make_ratings(150, 60, 3000, seed=4)


def _direct_epsilon(z, q, steps, delta):
    """dp-accounting's RDP epsilon of ``steps`` Poisson-sampled Gaussian releases."""
    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(z)), steps)
    return RdpAccountant().compose(event).get_epsilon(delta)


# --------------------------------------------------------------------- no privacy
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", ["numba", "cython"])
def test_epsilon_inf_is_matrix_factorization_bit_for_bit(data, dtype, backend):
    common = dict(factors=5, epochs=4, lr=0.01, reg=0.05, init_std=0.2, seed=3, dtype=dtype,
                  backend=backend)
    private = DPMatrixFactorization(epsilon=np.inf, rating_range=RANGE, clip_norm=0.1,
                                    sampling_rate=0.01, max_ratings=2, **common).fit(data)
    plain = MatrixFactorization(schedule="serial", **common).fit(data)
    for name in ("user_factors_", "item_factors_", "user_bias_", "item_bias_",
                 "global_mean_", "rating_range_"):
        assert np.array_equal(getattr(private, name), getattr(plain, name)), name
    users, items = data.user_ids[::3], data.item_ids[np.arange(len(data.user_ids[::3])) % 60]
    assert np.array_equal(private.predict(users, items), plain.predict(users, items))
    for a, b in zip(private.recommend(data.user_ids, n=5), plain.recommend(data.user_ids, n=5)):
        assert np.array_equal(a, b)
    report = private.privacy_report_
    assert report["epsilon"] == np.inf and report["mechanism"] == "none"
    assert report["noise_multiplier"] == 0.0 and not private.is_private


# ------------------------------------------------------------------- accounting
def test_the_report_is_dp_accountings(data):
    model = DPMatrixFactorization(factors=3, epochs=2, epsilon=2.0, rating_range=RANGE,
                                  sampling_rate=0.25, max_ratings=30).fit(data)
    report = model.privacy_report_
    delta = data.n_users ** -1.1
    assert report["steps"] == 8 and report["sampling_rate"] == 0.25
    assert report["delta"] == delta and report["unit"] == "user"
    z = calibrate_noise(2.0, delta, steps=8, sampling_rate=0.25)
    assert report["noise_multiplier"] == z
    assert report["epsilon"] == _direct_epsilon(z, 0.25, 8, delta)
    assert report["epsilon"] <= 2.0 + 1e-9 and report["epsilon_target"] == 2.0
    assert report["clip_norm"] == 1.0 and report["max_ratings"] == 30
    assert report["rating_range"] == [1.0, 5.0] and report["n_users"] == data.n_users
    assert "user" in report["mechanism"] and json.loads(json.dumps(report)) == report


def test_save_and_load_keep_the_report(data, tmp_path):
    model = DPMatrixFactorization(factors=3, epochs=2, epsilon=1.0, rating_range=RANGE,
                                  delta=1e-3).fit(data)
    model.save(tmp_path / "dp.npz")
    loaded = fastcf.load(tmp_path / "dp.npz")
    assert loaded.privacy_report_ == model.privacy_report_
    assert np.array_equal(loaded.predict(data.user_ids, data.user_ids % 60),
                          model.predict(data.user_ids, data.user_ids % 60))


# --------------------------------------------------------- noise and clipping
@pytest.fixture(scope="module")
def recorded_steps():
    """Every step of one private fit, recorded by a spy on the kernel wrapper: the
    noisy sums, the batch items, the coefficients and the users' rows after their pass."""
    steps = []
    real = dp_kernels.run_dp_sgd_step

    def spy(batch_users, batch_ptr, batch_pos, items, ratings, centre, user_bias, item_bias,
            user_factors, item_factors, user_rates, item_rates, clip_norm, per_rating, noise,
            noise_scale, batch_size, coef, **kw):
        loss = real(batch_users, batch_ptr, batch_pos, items, ratings, centre, user_bias,
                    item_bias, user_factors, item_factors, user_rates, item_rates, clip_norm,
                    per_rating, noise, noise_scale, batch_size, coef, **kw)
        steps.append(dict(noise=noise.copy(), batch_items=np.unique(items[batch_pos]),
                          coef=coef.copy(), ptr=batch_ptr.copy(),
                          rows=user_factors[batch_users].copy(), scale=noise_scale))
        return loss

    mp = pytest.MonkeyPatch()
    mp.setattr(dp_kernels, "run_dp_sgd_step", spy)
    try:
        # many items, so that most rows of every step are noise alone
        data = fastcf.make_ratings(150, 1000, 3000, seed=4)
        model = DPMatrixFactorization(factors=4, epochs=10, epsilon=3.0, rating_range=RANGE,
                                      clip_norm=0.5, sampling_rate=0.1, lr=0.05, init_std=1.0,
                                      dtype=np.float64).fit(data)
    finally:
        mp.undo()
    return model, steps


def test_the_noise_has_the_calibrated_standard_deviation(recorded_steps):
    """The rows of items no batch user rated are the noise alone: divided by z * C they
    must be standard normal. Chi-square test of their sum of squares (n ~ 4e5 values),
    two-sided, false-alarm rate 1e-6 (the seeds are fixed, so the outcome is too)."""
    model, steps = recorded_steps
    report = model.privacy_report_
    sigma = report["noise_multiplier"] * report["clip_norm"]
    assert len(steps) == report["steps"] == 100
    values = []
    for step in steps:
        assert step["scale"] == sigma
        free = np.setdiff1d(np.arange(step["noise"].shape[0]), step["batch_items"])
        values.append(step["noise"][free].ravel() / sigma)
    values = np.concatenate(values)
    n = len(values)
    assert n > 300_000
    low, high = stats.chi2.ppf([0.5e-6, 1 - 0.5e-6], n)
    assert low <= values @ values <= high
    assert abs(values.mean()) < 5.3 / np.sqrt(n)  # normal approximation, 1e-7 two-sided


def test_no_user_adds_more_than_the_clip_norm(recorded_steps):
    """Each batch user's added gradient, coef_j (p_u, 1) over its ratings (p_u after its
    pass), has L2 norm <= clip_norm in every one of the 100 steps (extreme start: factors
    of std 1, large user learning rate)."""
    model, steps = recorded_steps
    bound = model.clip_norm * (1 + 1e-9)
    clipped = 0
    for step in steps:
        ptr, coef, rows = step["ptr"], step["coef"], step["rows"]
        for b in range(len(rows)):
            norm = np.sqrt((1 + rows[b] @ rows[b]) * (coef[ptr[b]:ptr[b + 1]] ** 2).sum())
            assert norm <= bound
            clipped += norm > 0.999 * model.clip_norm
    assert clipped > 100  # the bound was active, not vacuous


# ------------------------------------------------------------------- behaviour
PRIVATE_KW = dict(factors=4, epochs=3, epsilon=1.0, rating_range=RANGE, sampling_rate=0.3,
                  seed=2)


@pytest.mark.parametrize("backend", ["numba", "cython"])
def test_threads_give_the_same_private_model(data, backend):
    one, two = (DPMatrixFactorization(backend=backend, n_threads=t, **PRIVATE_KW).fit(data)
                for t in (1, 2))
    for name in ("user_factors_", "item_factors_", "user_bias_", "item_bias_"):
        assert np.array_equal(getattr(one, name), getattr(two, name))


@pytest.mark.cython
def test_backends_give_the_same_private_model(data):
    numba, cython = (DPMatrixFactorization(backend=b, n_threads=1, **PRIVATE_KW).fit(data)
                     for b in ("numba", "cython"))
    np.testing.assert_allclose(numba.item_factors_, cython.item_factors_, rtol=1e-4, atol=1e-4)


def test_ratings_are_clipped_into_the_range_and_centred(data):
    frame = data.to_frame()
    frame["rating"] = frame["rating"] * 10.0  # far outside (1, 5)
    wild = Interactions.from_frame(frame, rating="rating")
    kw = dict(factors=3, epochs=2, epsilon=1.0, rating_range=RANGE, seed=1)
    model = DPMatrixFactorization(**kw).fit(wild)
    capped = frame.assign(rating=frame["rating"].clip(1, 5))
    same = DPMatrixFactorization(**kw).fit(Interactions.from_frame(capped, rating="rating"))
    assert np.array_equal(model.item_factors_, same.item_factors_)
    assert model.global_mean_ == 3.0 and list(model.rating_range_) == [1.0, 5.0]


def test_max_ratings_caps_each_users_visits(data):
    model = DPMatrixFactorization(factors=3, epochs=2, epsilon=1.0, rating_range=RANGE,
                                  sampling_rate=1.0, max_ratings=3).fit(data)
    counts = np.minimum(np.diff(data.by_user.indptr), 3).sum()
    assert [entry["updates"] for entry in model.history_] == [counts, counts]


def test_a_validation_set_is_scored_every_epoch(data):
    model = DPMatrixFactorization(factors=3, epochs=2, rating_range=RANGE).fit(
        data, validation=data)
    assert len(model.history_) == 2
    assert all(np.isfinite(entry["validation_rmse"]) for entry in model.history_)


def test_partial_fit_is_refused(data):
    model = DPMatrixFactorization(factors=3, epochs=1, rating_range=RANGE).fit(data)
    with pytest.raises(NotImplementedError, match="no partial_fit"):
        model.partial_fit(data)


@pytest.mark.parametrize("params, error, match", [
    (dict(rating_range=None), ValueError, "rating_range is None"),
    (dict(rating_range=(5, 1)), ValueError, "must have low < high"),
    (dict(epsilon=0.0), ValueError, "epsilon == 0.0, must be > 0"),
    (dict(epsilon=np.nan), ValueError, "epsilon == nan"),
    (dict(delta=1.5), ValueError, r"delta == 1.5, must be in \(0, 1\)"),
    (dict(unit="item"), ValueError, "unit == 'item'"),
    (dict(accountant="moments"), ValueError, "accountant == 'moments'"),
    (dict(max_ratings=0), ValueError, "max_ratings == 0"),
    (dict(max_ratings=2.5), TypeError, "max_ratings must be an int"),
    (dict(clip_norm=0.0), ValueError, "clip_norm == 0.0"),
    (dict(clip_norm=np.inf), ValueError, "clip_norm"),
    (dict(sampling_rate=0.0), ValueError, "sampling_rate == 0.0"),
    (dict(sampling_rate=1.5), ValueError, "sampling_rate == 1.5"),
    (dict(item_lr=0.0), ValueError, "item_lr == 0.0"),
    (dict(item_reg=-1.0), ValueError, "item_reg == -1.0"),
    (dict(factors=0), ValueError, "factors == 0"),
    (dict(lr=0.0), ValueError, "lr == 0.0"),
    (dict(backend="gpu"), ValueError, "backend == 'gpu'"),
])
def test_bad_parameters(data, params, error, match):
    kw = dict(rating_range=RANGE, factors=3, epochs=1)
    kw.update(params)
    with pytest.raises(error, match=match):
        DPMatrixFactorization(**kw).fit(data)


def test_a_delta_of_one_over_n_users_or_more_is_refused(data):
    with pytest.raises(ValueError, match=r"delta == 0.01, must be in \(0, 1 / n_users\)"):
        DPMatrixFactorization(rating_range=RANGE, delta=0.01).fit(data)
    with pytest.raises(ValueError, match=r"unit == 'rating' is not offered by "
                                         r"DPMatrixFactorization: each user's own"):
        DPMatrixFactorization(rating_range=RANGE, unit="rating").fit(data)


def test_implicit_data_is_refused(data):
    implicit = Interactions.from_frame(data.to_frame()[["user", "item"]])
    with pytest.raises(ValueError, match="needs explicit ratings"):
        DPMatrixFactorization(rating_range=RANGE).fit(implicit)
