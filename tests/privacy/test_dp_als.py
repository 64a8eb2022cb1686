"""DPALS: its privacy (clipping bounds, calibrated noise, accounting) and its non-private limit."""

import math

import dp_accounting
import numpy as np
import pytest
import scipy.stats
from conftest import make_frame

import fastcf
from fastcf import Interactions
from fastcf.kernels.dp_als import add_noise, row_statistics
from fastcf.privacy import DPALS, calibrate_noise
from fastcf.privacy.als import _by_item


@pytest.fixture(scope="module")
def explicit():
    return Interactions.from_frame(make_frame(n_users=40, n_items=25, density=0.4, seed=1),
                                   rating="rating")


def _model(**kw):
    params = dict(factors=3, iterations=2, rating_range=(1, 5), epsilon=5.0, seed=0)
    params.update(kw)
    return DPALS(**params)


# ----------------------------------------------------------------- clipping
def _one_user_contribution(model, items, ratings, x, bias, n_items, seed, release="factors",
                           item_bias=None):
    """A release's statistics of a data set of one user: (G, b, shared); ``release``
    "bias" is the explicit model's first one (the item biases)."""
    d = 1 if release == "bias" else len(x)
    model.rating_range_ = np.array(model.rating_range, dtype=float)
    model.centre_ = np.float64(0.0 if model.implicit else np.mean(model.rating_range))
    model.user_factors_ = np.asarray(x, dtype=np.float64)[None, :]
    model.user_bias_ = np.array([bias])
    model.item_bias_ = np.zeros(n_items) if item_bias is None else item_bias
    indptr = np.array([0, len(items)], dtype=np.int64)
    values = model._values(np.asarray(ratings, dtype=np.float64), True)
    csr = _by_item(indptr, np.asarray(items, np.int64), values, n_items, model.max_ratings,
                   np.random.default_rng(seed))
    indptr, users, gram_w, rhs_w, F, shared = model.item_inputs(csr, True, release == "bias")
    G, b = row_statistics(indptr, users, gram_w, rhs_w, F, backend="reference")
    assert G.shape[1] == d
    return G, b, shared


def _upper_norm(G):
    rows, cols = np.triu_indices(G.shape[-1])
    return float(np.sqrt(np.sum(G[..., rows, cols] ** 2)))


@pytest.mark.parametrize("implicit", [False, True])
def test_no_users_contribution_exceeds_the_sensitivity(implicit):
    """200 seeded random users, extreme values included: the released statistics of a
    data set of one user stay within the sensitivities the noise is calibrated to."""
    rng = np.random.default_rng(7)
    n_items = 60
    for trial in range(200):
        max_ratings = int(rng.integers(1, 30))
        bound = float(rng.uniform(0.01, 4.0))
        alpha = float(rng.uniform(0.1, 20.0))
        model = _model(max_ratings=max_ratings, factor_bound=bound, implicit=implicit,
                       alpha=alpha, rating_range=(1, 5) if not implicit else (0, 3))
        n = int(rng.integers(1, n_items + 1))
        items = np.sort(rng.choice(n_items, n, replace=False))
        scale = [1.0, 1e6][trial % 2]
        ratings = rng.uniform(-10, 10, n) * scale
        if implicit:
            ratings = np.abs(ratings)
        x = rng.normal(size=4) * rng.choice([1e-3, 1.0, 1e4])
        bias = float(rng.normal() * scale)
        release = "bias" if not implicit and trial % 3 == 0 else "factors"
        G, b, shared = _one_user_contribution(model, items, ratings, x, bias, n_items, trial,
                                              release, rng.normal(size=n_items) * scale)
        cap = math.sqrt(max_ratings)
        assert np.count_nonzero(G.any(axis=(1, 2)) | b.any(axis=1)) <= max_ratings
        if implicit:
            high = 3.0
            assert np.linalg.norm(shared) <= bound ** 2 * (1 + 1e-12)
            assert np.linalg.norm(G) <= cap * alpha * high * bound ** 2 * (1 + 1e-12)
            assert np.linalg.norm(b) <= cap * (1 + alpha * high) * bound * (1 + 1e-12)
        else:
            assert shared is None
            norm = 1.0 if release == "bias" else bound  # of the constant 1, or of x_u
            assert np.linalg.norm(G) <= cap * norm ** 2 * (1 + 1e-12)
            assert np.linalg.norm(b) <= cap * norm * 2.0 * (1 + 1e-12)


def test_the_bounds_are_reached():
    """A user at every bound attains the sensitivities."""
    model = _model(max_ratings=4, factor_bound=2.0)
    G, b, _ = _one_user_contribution(model, np.arange(10), np.full(10, 99.0),
                                     np.array([100.0, 0, 0]), -50.0, 10, 0)
    assert _upper_norm(G) == pytest.approx(2.0 * 4.0, rel=1e-12)
    assert np.linalg.norm(b) == pytest.approx(2.0 * 2.0 * 2.0, rel=1e-12)
    G, b, _ = _one_user_contribution(model, np.arange(10), np.full(10, 99.0),
                                     np.array([100.0, 0, 0]), -50.0, 10, 0, "bias")
    assert _upper_norm(G) == pytest.approx(2.0, rel=1e-12)
    assert np.linalg.norm(b) == pytest.approx(2.0 * 2.0, rel=1e-12)
    model = _model(max_ratings=4, factor_bound=2.0, implicit=True, alpha=3.0,
                   rating_range=(0, 5))
    G, b, shared = _one_user_contribution(model, np.arange(10), np.full(10, 99.0),
                                          np.array([100.0, 0, 0]), 0.0, 10, 0)
    assert _upper_norm(shared) == pytest.approx(4.0, rel=1e-12)
    assert _upper_norm(G) == pytest.approx(2.0 * 3.0 * 5.0 * 4.0, rel=1e-12)
    assert np.linalg.norm(b) == pytest.approx(2.0 * 16.0 * 2.0, rel=1e-12)


# -------------------------------------------------------------------- noise
def test_noise_std_is_the_calibrated_sigma(explicit):
    """Empirical std of the noise added to the Gram matrices (upper triangle) and the
    right-hand sides over 40 seeded releases, against the calibrated sigma: two-sided
    chi-square tests of the sample variance, each at a false-alarm rate of 1e-6
    (deterministic seeds, so the outcome is fixed; the rate says how unlikely a
    correct implementation is to fail with other seeds)."""
    model = _model(max_ratings=7, factor_bound=1.5, epsilon=2.0).fit(explicit)
    report = model.privacy_report_
    z = calibrate_noise(2.0, explicit.n_users ** -1.1, steps=3)  # 2 iterations + the biases
    sigma_g = math.sqrt(5) * z * math.sqrt(7) * 1.5 ** 2
    sigma_b = math.sqrt(5) / 2 * z * math.sqrt(7) * 1.5 * 2.0
    assert report["noise_multiplier"] == z
    assert report["gram_noise_std"] == pytest.approx(sigma_g, rel=1e-12)
    assert report["rhs_noise_std"] == pytest.approx(sigma_b, rel=1e-12)
    assert report["bias_gram_noise_std"] == pytest.approx(math.sqrt(5) * z * math.sqrt(7))
    assert report["bias_rhs_noise_std"] == pytest.approx(math.sqrt(5) * z * math.sqrt(7))
    sigmas = {"gram": report["gram_noise_std"], "rhs": report["rhs_noise_std"]}
    rows, cols = np.triu_indices(4)
    gram, rhs = [], []
    for seed in range(40):
        G, b = np.zeros((25, 4, 4)), np.zeros((25, 4))
        add_noise(G, b, np.random.default_rng(seed), sigmas)
        assert np.array_equal(G, np.swapaxes(G, 1, 2))
        gram.append(G[:, rows, cols].ravel())
        rhs.append(b.ravel())
    for draws, sigma in ((np.concatenate(gram), sigma_g), (np.concatenate(rhs), sigma_b)):
        n = len(draws)
        statistic = np.sum(draws ** 2) / sigma ** 2  # mean 0 known: chi-square with n dof
        assert scipy.stats.chi2.ppf(0.5e-6, n) < statistic < scipy.stats.chi2.isf(0.5e-6, n)


def test_every_item_step_adds_the_reported_noise(explicit, monkeypatch):
    """The fit draws its noise through add_noise with the reported sigmas, once per chunk
    of items and release (the biases', then one per iteration), and the noise reaches the
    item factors."""
    import fastcf.privacy.als as module

    seen = []

    def spy(G, b, rng, sigmas):
        seen.append(dict(sigmas))
        add_noise(G, b, rng, sigmas)

    monkeypatch.setattr(module, "add_noise", spy)
    model = _model(iterations=3).fit(explicit)
    report = model.privacy_report_
    biases = {"gram": report["bias_gram_noise_std"], "rhs": report["bias_rhs_noise_std"]}
    factors = {"gram": report["gram_noise_std"], "rhs": report["rhs_noise_std"]}
    assert seen == [biases] + [factors] * 3
    other = _model(iterations=3, seed=1).fit(explicit)
    assert not np.array_equal(model.item_factors_, other.item_factors_)


# --------------------------------------------------------------- accounting
@pytest.mark.parametrize("accountant", ["rdp", "pld"])
def test_reported_epsilon_is_dp_accountings(explicit, accountant):
    model = _model(epsilon=3.0, iterations=4, accountant=accountant).fit(explicit)
    report = model.privacy_report_
    delta = explicit.n_users ** -1.1
    z = report["noise_multiplier"]
    event = dp_accounting.SelfComposedDpEvent(dp_accounting.GaussianDpEvent(z), 5)
    if accountant == "rdp":
        want = dp_accounting.rdp.RdpAccountant().compose(event).get_epsilon(delta)
    else:
        want = dp_accounting.pld.PLDAccountant().compose(event).get_epsilon(delta)
    assert report["epsilon"] == want and want <= 3.0 + 1e-9
    assert report["delta"] == delta and report["steps"] == 5 and report["unit"] == "user"
    assert report["max_ratings"] == 64 and report["rating_range"] == [1.0, 5.0]
    assert "Gram" in report["mechanism"] and "sqrt(M) B^2" in report["sensitivity"]


def test_save_load_keeps_the_report(explicit, tmp_path):
    model = _model(implicit=True, rating_range=(0, 5)).fit(explicit)
    model.save(tmp_path / "m.npz")
    loaded = fastcf.load(tmp_path / "m.npz")
    assert loaded.privacy_report_ == model.privacy_report_
    assert np.array_equal(loaded.item_factors_, model.item_factors_)


# ------------------------------------------------------------ epsilon = inf
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_implicit_at_infinity_is_als_bit_for_bit(explicit, dtype, n_threads):
    common = dict(factors=5, reg=0.3, alpha=2.0, iterations=4, seed=3, dtype=dtype,
                  n_threads=n_threads)
    als = fastcf.ALS(solver="cholesky", **common).fit(explicit)
    private = DPALS(epsilon=np.inf, implicit=True, rating_range=(0, 1), **common).fit(explicit)
    assert np.array_equal(private.user_factors_, als.user_factors_)
    assert np.array_equal(private.item_factors_, als.item_factors_)
    users = np.concatenate([explicit.user_ids[:9], ["ghost"]])
    items = np.concatenate([explicit.item_ids[:9], [-1]])
    assert np.array_equal(private.predict(users, items), als.predict(users, items))
    for got, want in zip(private.recommend(users, n=5), als.recommend(users, n=5)):
        assert np.array_equal(got, want)
    report = private.privacy_report_
    assert report["epsilon"] == math.inf and report["mechanism"] == "none"


def test_explicit_at_infinity_is_exact_ridge_alternation(explicit):
    """No noise, no clipping, no cap: the last step is the exact ridge solve of every
    item's y_i on the users' x_u and targets r - m - c_u - b_i; the biases are the ridge
    solve of the first step (users' biases alone, then the items')."""
    model = _model(epsilon=np.inf, iterations=3, reg=0.7, max_ratings=1,
                   factor_bound=0.01).fit(explicit)
    frame = explicit.to_frame()
    users = explicit.user_index(frame["user"].to_numpy())
    items = explicit.item_index(frame["item"].to_numpy())
    centred = frame["rating"].to_numpy() - 3.0
    user_bias = np.bincount(users, centred) / (np.bincount(users) + 0.7)
    item_bias = np.bincount(items, centred - user_bias[users]) / (np.bincount(items) + 0.7)
    np.testing.assert_allclose(model.item_bias_, item_bias, rtol=1e-9, atol=1e-12)
    by_item = explicit.by_item
    for i in range(explicit.n_items):
        rows = by_item.indices[by_item.indptr[i]:by_item.indptr[i + 1]]
        X = model.user_factors_[rows]
        t = by_item.data[by_item.indptr[i]:by_item.indptr[i + 1]] - 3.0 - \
            model.user_bias_[rows] - item_bias[i]
        want = np.linalg.solve(X.T @ X + 0.7 * np.eye(3), X.T @ t)
        np.testing.assert_allclose(model.item_factors_[i], want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("epsilon", [np.inf, 2.0])
@pytest.mark.parametrize("implicit", [False, True])
def test_backends_and_threads_fit_the_same_model(explicit, epsilon, implicit, backend):
    one, two, reference = (
        _model(epsilon=epsilon, implicit=implicit, backend=b, n_threads=t).fit(explicit)
        for b, t in ((backend, 1), (backend, 2), ("reference", 1)))
    assert np.array_equal(one.item_factors_, two.item_factors_)
    assert np.array_equal(one.user_factors_, two.user_factors_)
    np.testing.assert_allclose(one.item_factors_, reference.item_factors_,
                               rtol=1e-7, atol=1e-9)


def test_privacy_costs_accuracy_but_keeps_the_model_usable(explicit):
    exact = _model(epsilon=np.inf).fit(explicit)
    noisy = _model(epsilon=0.5).fit(explicit)
    users, items = explicit.to_frame()["user"], explicit.to_frame()["item"]
    for model in (exact, noisy):
        scores = model.predict(users, items)
        assert np.isfinite(scores).all() and scores.min() >= 1 and scores.max() <= 5
    assert noisy.privacy_report_["epsilon"] <= 0.5


# ------------------------------------------------------------------- errors
@pytest.mark.parametrize("params, error, match", [
    ({"rating_range": None}, ValueError, "rating_range is None"),
    ({"rating_range": None, "implicit": True}, ValueError, "rating_range is None"),
    ({"rating_range": (5, 1)}, ValueError, "must have low < high"),
    ({"rating_range": (-5, 0), "implicit": True}, ValueError, "high must be > 0"),
    ({"factor_bound": 0.0}, ValueError, "factor_bound == 0.0, must be > 0"),
    ({"factor_bound": -1.0, "implicit": True}, ValueError, "factor_bound == -1.0, must be > 0"),
    ({"factor_bound": math.inf}, ValueError, "factor_bound == inf, must be finite"),
    ({"max_ratings": 0}, ValueError, "max_ratings == 0, must be >= 1"),
    ({"max_ratings": None}, ValueError, "max_ratings is None"),
    ({"max_ratings": 2.5}, TypeError, "max_ratings must be an int"),
    ({"reg": 0.0}, ValueError, "reg == 0.0, must be > 0"),
    ({"noise_reg": -1.0}, ValueError, "noise_reg == -1.0, must be >= 0"),
    ({"alpha": 0.0}, ValueError, "alpha == 0.0, must be > 0"),
    ({"iterations": 0}, ValueError, "iterations == 0, must be >= 1"),
    ({"epsilon": 0.0}, ValueError, "epsilon == 0.0, must be > 0"),
    ({"epsilon": math.nan}, ValueError, "epsilon == nan, must be > 0"),
    ({"delta": 1.5}, ValueError, r"delta == 1.5, must be in \(0, 1\)"),
    ({"unit": "rating"}, ValueError, "unit == 'rating'"),
    ({"accountant": "moments"}, ValueError, "accountant == 'moments'"),
    ({"implicit": 1}, TypeError, "implicit must be a bool"),
    ({"clip_eigenvalues": "yes"}, TypeError, "clip_eigenvalues must be a bool"),
])
def test_bad_parameters(explicit, params, error, match):
    with pytest.raises(error, match=match):
        _model(**params).fit(explicit)


def test_bad_data(explicit):
    with pytest.raises(ValueError, match=r"delta == 0.03, must be in \(0, 1 / n_users\)"):
        _model(delta=0.03).fit(explicit)
    implicit = Interactions.from_frame(explicit.to_frame()[["user", "item"]])
    with pytest.raises(ValueError, match="DPALS needs explicit ratings"):
        _model().fit(implicit)
    frame = explicit.to_frame()
    frame["rating"] = frame["rating"] - 3.0
    with pytest.raises(ValueError, match="must be >= 0"):
        _model(implicit=True).fit(Interactions.from_frame(frame, rating="rating"))


def test_the_post_processing_choices(explicit):
    """clip_eigenvalues and noise_reg change the private fit only, never the one at inf."""
    base = _model(epsilon=2.0).fit(explicit)
    for params in ({"clip_eigenvalues": False}, {"noise_reg": 0.5}):
        other = _model(epsilon=2.0, **params).fit(explicit)
        assert np.isfinite(other.item_factors_).all()
        assert not np.array_equal(other.item_factors_, base.item_factors_)
        exact = _model(epsilon=np.inf, **params).fit(explicit)
        assert np.array_equal(exact.item_factors_, _model(epsilon=np.inf).fit(explicit)
                              .item_factors_)
