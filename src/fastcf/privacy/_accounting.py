r"""Privacy accounting: the noise a guarantee needs, and the guarantee a noise gives.

Every private model in :mod:`fastcf.privacy` releases its shared parameters
through the Gaussian mechanism, ``steps`` times: either on all the data
(DP-ALS: one release of the item statistics per iteration) or on a Poisson
sample of users or ratings (DP-SGD: one release per batch). The noise
multiplier :math:`z` (noise standard deviation = :math:`z` times the L2
sensitivity of one release) and the spent :math:`(\varepsilon, \delta)` come
from Google's ``dp-accounting`` library, never from formulas of our own: its
Rényi-DP accountant (``"rdp"``, Mironov 2017; Mironov, Talwar & Zhang 2019 for
the sampled Gaussian) or its privacy-loss-distribution accountant (``"pld"``,
tighter, slower).
"""

import contextlib
import functools
import logging
import math
from numbers import Integral, Real

import numpy as np

__all__ = ["ACCOUNTANTS", "UNITS", "DELTA_EXPONENT", "check_epsilon", "check_privacy",
           "calibrate_noise", "spent_epsilon", "dp_event", "privacy_report"]

ACCOUNTANTS = ("rdp", "pld")
#: What one neighbouring dataset differs by: all of one user's ratings, or one rating.
UNITS = ("user", "rating")
#: ``delta=None`` means ``n ** -DELTA_EXPONENT``: below ``1 / n``, the level at which a
#: mechanism may publish one person's data outright (the literature's choice).
DELTA_EXPONENT = 1.1
#: Absolute tolerance of the noise multiplier's search (dp-accounting's default, 1e-6,
#: takes about twice the evaluations; noise multipliers are 0.3-30). The search returns
#: the noisier end of its last bracket, so the target is always met.
CALIBRATION_TOLERANCE = 1e-4


def check_epsilon(epsilon):
    """``epsilon`` as a float: > 0, or ``inf`` (no privacy); else raise."""
    if isinstance(epsilon, bool) or not isinstance(epsilon, Real):
        raise TypeError(f"epsilon must be a real number, got {type(epsilon).__name__}.")
    epsilon = float(epsilon)
    if math.isnan(epsilon) or epsilon <= 0:
        raise ValueError(f"epsilon == {epsilon}, must be > 0 (or inf for no privacy).")
    return epsilon


def check_privacy(epsilon, delta, n_units, unit="user"):
    """The ``(epsilon, delta)`` a fit on ``n_units`` users (or ratings) guarantees.

    Parameters
    ----------
    epsilon : float
        > 0, or ``inf`` (no privacy: ``delta`` is then 0).
    delta : float or None
        In ``(0, 1 / n_units)``; None: ``n_units ** -1.1``.
    n_units : int
        Users (``unit="user"``) or ratings (``unit="rating"``) in the training data.
    unit : {"user", "rating"}
        Only names the count in the messages.

    Returns
    -------
    (float, float)
    """
    epsilon = check_epsilon(epsilon)
    if isinstance(n_units, bool) or not isinstance(n_units, Integral):
        raise TypeError(f"n_{unit}s must be an int, got {type(n_units).__name__}.")
    n_units = int(n_units)
    if n_units < 2:
        raise ValueError(f"n_{unit}s == {n_units}: differential privacy needs at least 2 "
                         f"{unit}s (a guarantee about one {unit} among one is none).")
    if math.isinf(epsilon):
        return epsilon, 0.0
    if delta is None:
        return epsilon, float(n_units) ** -DELTA_EXPONENT
    if isinstance(delta, bool) or not isinstance(delta, Real):
        raise TypeError(f"delta must be a real number or None, got {type(delta).__name__}.")
    delta = float(delta)
    bound = 1.0 / n_units
    if not 0.0 < delta < bound:
        raise ValueError(f"delta == {delta}, must be in (0, 1 / n_{unit}s) = (0, {bound:.3g}): "
                         f"a delta of 1 / n_{unit}s or more allows publishing one {unit}'s "
                         "data outright.")
    return epsilon, delta


def _check_steps(steps, sampling_rate):
    if isinstance(steps, bool) or not isinstance(steps, Integral) or steps < 1:
        raise ValueError(f"steps == {steps!r}, must be an int >= 1.")
    if sampling_rate is not None:
        if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, Real):
            raise TypeError("sampling_rate must be a real number or None, got "
                            f"{type(sampling_rate).__name__}.")
        if not 0.0 < float(sampling_rate) <= 1.0:
            raise ValueError(f"sampling_rate == {sampling_rate}, must be in (0, 1].")


def _check_accountant(accountant):
    if accountant not in ACCOUNTANTS:
        raise ValueError(f"accountant == {accountant!r}, must be one of {ACCOUNTANTS}.")


def dp_event(noise_multiplier, steps, sampling_rate=None):
    """The ``dp_accounting`` event of ``steps`` Gaussian releases, Poisson-sampled or not.

    ``sampling_rate`` None or 1: every release sees all the data.
    """
    import dp_accounting

    event = dp_accounting.GaussianDpEvent(float(noise_multiplier))
    if sampling_rate is not None and float(sampling_rate) < 1.0:
        event = dp_accounting.PoissonSampledDpEvent(float(sampling_rate), event)
    return dp_accounting.SelfComposedDpEvent(event, int(steps))


@contextlib.contextmanager
def _quiet_absl():
    """Silence dp-accounting's log lines while it runs.

    Its RDP accountant logs a warning for every order near 1 whose series
    does not converge for a small sampling rate (and leaves that order out, as
    it should): dozens of lines per calibration that a user can do nothing about.
    """
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _new_accountant(accountant):
    if accountant == "rdp":
        from dp_accounting.rdp import RdpAccountant
        return RdpAccountant()
    from dp_accounting.pld import PLDAccountant
    return PLDAccountant()


def spent_epsilon(noise_multiplier, delta, *, steps, sampling_rate=None, accountant="rdp"):
    """The epsilon at ``delta`` of ``steps`` Gaussian releases with ``noise_multiplier``.

    Returns ``inf`` for ``noise_multiplier == 0`` (no noise).
    """
    _check_steps(steps, sampling_rate)
    _check_accountant(accountant)
    if not noise_multiplier > 0:
        return math.inf
    return _spent(float(noise_multiplier), float(delta), int(steps),
                  None if sampling_rate is None else float(sampling_rate), accountant)


@functools.lru_cache(maxsize=256)
def _spent(noise_multiplier, delta, steps, sampling_rate, accountant):
    """:func:`spent_epsilon` once per mechanism (0.05-0.15 s for a sampled Gaussian:
    more than a small private fit's training)."""
    with _quiet_absl():
        return float(_new_accountant(accountant).compose(
            dp_event(noise_multiplier, steps, sampling_rate)).get_epsilon(delta))


def calibrate_noise(epsilon, delta, *, steps, sampling_rate=None, accountant="rdp"):
    r"""The smallest noise multiplier :math:`z` whose releases are (epsilon, delta)-DP.

    Parameters
    ----------
    epsilon, delta : float
        The target; ``epsilon = inf`` gives 0 (no noise).
    steps : int
        Gaussian releases composed.
    sampling_rate : float in (0, 1], optional
        Poisson sampling probability of each user (or rating) per release.
    accountant : {"rdp", "pld"}

    Returns
    -------
    float
        :math:`z`: each release adds :math:`\mathcal N(0, (z \Delta_2)^2)` to every
        coordinate, :math:`\Delta_2` its L2 sensitivity. Found by
        ``dp_accounting.calibrate_dp_mechanism`` (bisection; the result's epsilon
        is at most the target).
    """
    epsilon = check_epsilon(epsilon)
    _check_steps(steps, sampling_rate)
    _check_accountant(accountant)
    if math.isinf(epsilon):
        return 0.0
    if not 0.0 < float(delta) < 1.0:
        raise ValueError(f"delta == {delta}, must be in (0, 1).")
    return _calibrate(epsilon, float(delta), int(steps),
                      None if sampling_rate is None else float(sampling_rate), accountant)


@functools.lru_cache(maxsize=256)
def _calibrate(epsilon, delta, steps, sampling_rate, accountant):
    """:func:`calibrate_noise` once per mechanism: a search costs 0.5-1.5 s (each of its
    evaluations composes the accountant anew), and a benchmark or a grid search fits the
    same mechanism many times."""
    import dp_accounting

    with _quiet_absl():
        return float(dp_accounting.calibrate_dp_mechanism(
            lambda: _new_accountant(accountant),
            lambda z: dp_event(z, steps, sampling_rate),
            epsilon, delta, tol=CALIBRATION_TOLERANCE))


def _json_value(name, value):
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_json_value(name, v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"privacy report field {name}={value!r} is not a JSON value.")


#: What every private model takes as public, as the literature does (stated in each report).
ASSUMED_PUBLIC = ("the item catalogue (the item ids the model keeps) and the number of users "
                  "(the default delta, the expected batch size)")


def privacy_report(*, epsilon_target, delta, unit, mechanism, noise_multiplier, steps,
                   n_users, sampling_rate=None, accountant="rdp", seeded=False, **bounds):
    """The ``privacy_report_`` of a fitted private model: a JSON-safe dict.

    ``epsilon`` is recomputed by the accountant from what was run
    (``noise_multiplier``, ``steps``, ``sampling_rate``), never copied from the
    target. ``bounds`` are the model's own parameters the guarantee depends on
    (clipping bounds, the rating range, the per-user rating cap, the
    sensitivity formula), stored as given. ``seeded``: the noise and the
    sampling came from a seed the caller gave; the guarantee then holds only
    while that seed is secret (anyone who knows it can redraw the noise).
    """
    if unit not in UNITS:
        raise ValueError(f"unit == {unit!r}, must be one of {UNITS}.")
    private = noise_multiplier > 0
    report = {
        "epsilon": spent_epsilon(noise_multiplier, delta, steps=steps,
                                 sampling_rate=sampling_rate, accountant=accountant),
        "delta": float(delta) if private else 0.0,
        "epsilon_target": float(epsilon_target),
        "unit": unit,
        "mechanism": mechanism if private else "none",
        "accountant": accountant,
        "noise_multiplier": float(noise_multiplier),
        "steps": int(steps),
        "sampling_rate": None if sampling_rate is None else float(sampling_rate),
        "n_users": int(n_users),
        "seeded": bool(seeded) and private,
        "assumed_public": ASSUMED_PUBLIC,
    }
    for name, value in bounds.items():
        report[name] = _json_value(name, value)
    return report
