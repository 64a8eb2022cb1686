"""Accounting (dp-accounting behind fastcf.privacy) and the shared preparation of ratings."""

import json
import math

import dp_accounting
import numpy as np
import pytest
from dp_accounting.pld import PLDAccountant
from dp_accounting.rdp import RdpAccountant

from fastcf.privacy import calibrate_noise, spent_epsilon
from fastcf.privacy._accounting import DELTA_EXPONENT, check_privacy, privacy_report
from fastcf.privacy._base import (
    PrivateModel,
    cap_per_user,
    check_rating_range,
    clip_ratings,
)

ACCOUNTANT_CLASSES = {"rdp": RdpAccountant, "pld": PLDAccountant}


def _direct(accountant, z, steps, q, delta):
    """dp-accounting's epsilon, composed here without fastcf."""
    event = dp_accounting.GaussianDpEvent(z)
    if q is not None:
        event = dp_accounting.PoissonSampledDpEvent(q, event)
    acc = ACCOUNTANT_CLASSES[accountant]()
    return acc.compose(dp_accounting.SelfComposedDpEvent(event, steps)).get_epsilon(delta)


@pytest.mark.parametrize("accountant", ["rdp", "pld"])
@pytest.mark.parametrize("steps, q", [(10, None), (200, 0.05)])
def test_spent_epsilon_is_dp_accountings(accountant, steps, q):
    assert spent_epsilon(1.3, 1e-5, steps=steps, sampling_rate=q, accountant=accountant) == \
        _direct(accountant, 1.3, steps, q, 1e-5)


@pytest.mark.parametrize("accountant", ["rdp", "pld"])
@pytest.mark.parametrize("epsilon", [0.5, 5.0])
@pytest.mark.parametrize("steps, q", [(10, None), (100, 0.1)])
def test_calibrated_noise_meets_the_target_tightly(accountant, epsilon, steps, q):
    z = calibrate_noise(epsilon, 1e-5, steps=steps, sampling_rate=q, accountant=accountant)
    spent = _direct(accountant, z, steps, q, 1e-5)
    assert spent <= epsilon
    assert spent > 0.99 * epsilon
    # 2 % less noise would overspend: the multiplier is the smallest that meets it
    assert _direct(accountant, 0.98 * z, steps, q, 1e-5) > epsilon


def test_more_steps_or_a_smaller_epsilon_need_more_noise():
    z = calibrate_noise(2.0, 1e-5, steps=10)
    assert calibrate_noise(2.0, 1e-5, steps=40) > z
    assert calibrate_noise(1.0, 1e-5, steps=10) > z
    assert calibrate_noise(2.0, 1e-5, steps=10, sampling_rate=0.01) < z


def test_infinite_epsilon_is_no_noise_and_no_noise_is_infinite_epsilon():
    assert calibrate_noise(math.inf, 1e-5, steps=10) == 0.0
    assert spent_epsilon(0.0, 1e-5, steps=10) == math.inf


def test_sampling_rate_one_is_the_unsampled_mechanism():
    assert spent_epsilon(2.0, 1e-5, steps=5, sampling_rate=1.0) == \
        spent_epsilon(2.0, 1e-5, steps=5)


def test_default_delta_is_below_one_over_n():
    epsilon, delta = check_privacy(1.0, None, 943)
    assert (epsilon, delta) == (1.0, 943 ** -DELTA_EXPONENT)
    assert delta < 1 / 943
    assert check_privacy(math.inf, None, 943) == (math.inf, 0.0)
    assert check_privacy(2, 1e-4, 943) == (2.0, 1e-4)


@pytest.mark.parametrize("epsilon, delta, n, error, match", [
    (0.0, None, 10, ValueError, r"epsilon == 0.0, must be > 0"),
    (-1.0, None, 10, ValueError, r"epsilon == -1.0, must be > 0"),
    (math.nan, None, 10, ValueError, r"epsilon == nan"),
    (True, None, 10, TypeError, r"epsilon must be a real number"),
    ("1", None, 10, TypeError, r"epsilon must be a real number"),
    (1.0, 0.1, 10, ValueError, r"delta == 0.1, must be in \(0, 1 / n_users\)"),
    (1.0, 0.0, 10, ValueError, r"delta == 0.0, must be in \(0, 1 / n_users\)"),
    (1.0, -1e-9, 10, ValueError, r"delta == -1e-09"),
    (1.0, "x", 10, TypeError, r"delta must be a real number or None"),
    (1.0, None, 1, ValueError, r"n_users == 1: differential privacy needs at least 2"),
    (1.0, None, 2.0, TypeError, r"n_users must be an int"),
])
def test_check_privacy_refuses(epsilon, delta, n, error, match):
    with pytest.raises(error, match=match):
        check_privacy(epsilon, delta, n)


def test_check_privacy_names_the_unit():
    with pytest.raises(ValueError, match=r"1 / n_ratings"):
        check_privacy(1.0, 0.5, 10, unit="rating")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"steps": 0}, ValueError, r"steps == 0, must be an int >= 1"),
    ({"steps": 2.0}, ValueError, r"steps == 2.0"),
    ({"steps": 5, "sampling_rate": 0.0}, ValueError, r"sampling_rate == 0.0, must be in"),
    ({"steps": 5, "sampling_rate": 1.5}, ValueError, r"sampling_rate == 1.5"),
    ({"steps": 5, "sampling_rate": "a"}, TypeError, r"sampling_rate must be a real"),
    ({"steps": 5, "accountant": "moments"}, ValueError, r"accountant == 'moments'"),
])
def test_accounting_refuses_bad_mechanisms(kwargs, error, match):
    with pytest.raises(error, match=match):
        spent_epsilon(1.0, 1e-5, **kwargs)
    with pytest.raises(error, match=match):
        calibrate_noise(1.0, 1e-5, **kwargs)


def test_calibrate_refuses_a_delta_outside_0_1():
    with pytest.raises(ValueError, match=r"delta == 1.0, must be in \(0, 1\)"):
        calibrate_noise(1.0, 1.0, steps=3)


def test_report_recomputes_epsilon_and_is_json():
    z = calibrate_noise(3.0, 1e-4, steps=50, sampling_rate=0.2)
    report = privacy_report(epsilon_target=3.0, delta=1e-4, unit="user", mechanism="test",
                            noise_multiplier=z, steps=50, sampling_rate=0.2, n_users=100,
                            clip_norm=np.float32(0.5), rating_range=(1, 5), max_ratings=None)
    assert report["epsilon"] == _direct("rdp", z, 50, 0.2, 1e-4)
    assert report["noise_multiplier"] == z and report["mechanism"] == "test"
    assert report["clip_norm"] == 0.5 and report["rating_range"] == [1, 5]
    assert report["seeded"] is False and "item catalogue" in report["assumed_public"]
    assert json.loads(json.dumps(report)) == report


def test_report_without_noise_is_no_privacy():
    report = privacy_report(epsilon_target=math.inf, delta=0.0, unit="rating",
                            mechanism="ignored", noise_multiplier=0.0, steps=3, n_users=10)
    assert report["epsilon"] == math.inf and report["delta"] == 0.0
    assert report["mechanism"] == "none"


def test_report_refuses_an_unknown_unit_and_unsaveable_bounds():
    kwargs = dict(epsilon_target=1.0, delta=1e-4, mechanism="m", noise_multiplier=1.0,
                  steps=3, n_users=10)
    with pytest.raises(ValueError, match=r"unit == 'item', must be one of"):
        privacy_report(unit="item", **kwargs)
    with pytest.raises(TypeError, match=r"privacy report field bound=.* is not a JSON value"):
        privacy_report(unit="user", bound=object(), **kwargs)


# ------------------------------------------------------------ preparation
def test_cap_per_user_keeps_a_seeded_uniform_sample_of_each_row():
    rng = np.random.default_rng(0)
    lengths = rng.integers(0, 30, size=200)
    lengths[:3] = (0, 5, 29)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    kept, kept_rows = cap_per_user(indptr, 5, np.random.default_rng(1))
    assert np.all(np.diff(kept) > 0)
    rows = np.searchsorted(indptr, kept, side="right") - 1
    assert np.array_equal(kept_rows, rows)
    assert np.array_equal(np.bincount(rows, minlength=200), np.minimum(lengths, 5))
    assert np.array_equal(kept, cap_per_user(indptr, 5, np.random.default_rng(1))[0])
    assert not np.array_equal(kept, cap_per_user(indptr, 5, np.random.default_rng(2))[0])
    # every position of a long row is kept about equally often
    counts = np.zeros(29)
    for seed in range(400):
        k = cap_per_user(np.array([0, 29]), 5, np.random.default_rng(seed))[0]
        counts[k] += 1
    assert counts.min() > 0.5 * counts.mean()


def test_cap_per_user_without_a_cap_keeps_everything():
    indptr = np.array([0, 3, 3, 9])
    everything = np.arange(9)
    for cap in (None, 6):
        kept, rows = cap_per_user(indptr, cap, np.random.default_rng(0))
        assert np.array_equal(kept, everything)
        assert np.array_equal(rows, [0, 0, 0, 2, 2, 2, 2, 2, 2])


def test_clip_ratings_is_centred_and_bounded():
    values = np.array([-3.0, 1.0, 3.5, 5.0, 9.0])
    centred, centre, bound = clip_ratings(values, (1.0, 5.0), np.float32)
    assert centre == 3.0 and bound == 2.0 and centred.dtype == np.float32
    assert np.array_equal(centred, [-2.0, -2.0, 0.5, 2.0, 2.0])
    assert values[0] == -3.0  # the input is untouched


@pytest.mark.parametrize("rating_range, error, match", [
    (None, ValueError, r"rating_range is None; give the rating scale"),
    ((1, 5, 7), TypeError, r"rating_range must be a \(low, high\) pair"),
    ("15", TypeError, r"rating_range must be a \(low, high\) pair"),
    ((5, 1), ValueError, r"must have low < high"),
    ((1, np.inf), ValueError, r"rating_range high == inf, must be a finite number"),
    (("a", 5), ValueError, r"rating_range low == 'a'"),
])
def test_rating_range_refused(rating_range, error, match):
    with pytest.raises(error, match=match):
        check_rating_range(rating_range)


class _Params(PrivateModel):
    def __init__(self, **kw):
        self.epsilon, self.delta, self.unit, self.accountant = 1.0, None, "user", "rdp"
        self.rating_range, self.max_ratings = (1, 5), None
        self.__dict__.update(kw)


@pytest.mark.parametrize("kw, error, match", [
    ({"epsilon": 0}, ValueError, r"epsilon == 0.0, must be > 0"),
    ({"delta": 1.0}, ValueError, r"delta == 1.0, must be in \(0, 1\)"),
    ({"delta": "0.1"}, TypeError, r"delta must be a real number or None"),
    ({"unit": "rating"}, ValueError, r"unit"),
    ({"accountant": "gdp"}, ValueError, r"accountant"),
    ({"rating_range": None}, ValueError, r"rating_range is None"),
    ({"max_ratings": 0}, ValueError, r"max_ratings == 0, must be >= 1"),
    ({"max_ratings": 2.5}, TypeError, r"max_ratings must be an int or None"),
])
def test_common_private_parameters_are_checked(kw, error, match):
    with pytest.raises(error, match=match):
        _Params(**kw)._check_privacy_params()


def test_common_private_parameters_accepted():
    model = _Params(max_ratings=10, epsilon=math.inf)
    model._check_privacy_params()
    assert not model.is_private
    assert _Params().is_private
    assert model._privacy_budget(100) == (math.inf, 0.0)


TINY = {
    "DPALS": dict(factors=2, iterations=1),
    "DPMatrixFactorization": dict(factors=2, epochs=1, sampling_rate=0.5),
    "DPMLPRecommender": dict(embedding_dim=2, hidden=(3,), epochs=1, sampling_rate=0.5),
}


@pytest.mark.parametrize("name", sorted(TINY))
def test_private_models_draw_fresh_noise_unless_seeded(name):
    """A default seed anyone knows would let anyone redraw the noise: None is the default,
    and a seeded fit says so in its report."""
    import fastcf

    data = fastcf.make_ratings(60, 20, 600, seed=0)
    make = getattr(fastcf, name)
    first, second = (make(epsilon=2.0, rating_range=(1, 5), **TINY[name]).fit(data)
                     for _ in range(2))
    assert make().seed is None and first.privacy_report_["seeded"] is False
    items = data.item_ids[:5]
    assert not np.array_equal(first.predict([data.user_ids[0]] * 5, items),
                              second.predict([data.user_ids[0]] * 5, items))
    seeded = make(epsilon=2.0, rating_range=(1, 5), seed=1, **TINY[name]).fit(data)
    assert seeded.privacy_report_["seeded"] is True
