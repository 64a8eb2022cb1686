"""The factorization algorithms ``SVD``, ``SVDpp`` and ``NMF`` (Surprise's parameters).

``SVD`` is fastcf's ``MatrixFactorization``, ``SVDpp`` and ``NMF`` fastcf's
models of those names, all in float64 with Surprise's initial draws and
visiting order (``surprise_compat=True``), so an int ``random_state`` gives
Surprise's model. ``random_state=None`` (or a ``RandomState``) seeds the
model with an int drawn from NumPy's global generator (or that one).
"""

import numpy as np

from ....mf import MatrixFactorization
from .algo_base import EngineAlgo, engine_model, engine_seed

__all__ = ["NMF", "SVD", "SVDpp"]

_FACTORS = {"bu": "user_bias_", "bi": "item_bias_", "pu": "user_factors_",
            "qi": "item_factors_"}


def _set_rates(algo, lr_all, reg_all, **rates):
    """Surprise's per-parameter rates: each ``lr_*`` / ``reg_*`` given, else ``lr_all`` /
    ``reg_all``."""
    for name, value in rates.items():
        setattr(algo, name, value if value is not None else
                (lr_all if name.startswith("lr_") else reg_all))


def _unknown(users, items):
    return (users < 0) | (items < 0)


class SVD(EngineAlgo):
    r"""Biased matrix factorization by SGD (Funk's SVD with ``biased=False``):
    :math:`\hat r_{ui} = \mu + b_u + b_i + q_i^T p_u`.

    Parameters are Surprise's: ``n_factors`` (100), ``n_epochs`` (20), ``biased``
    (True), ``init_mean`` (0), ``init_std_dev`` (0.1), ``lr_all`` (0.005),
    ``reg_all`` (0.02), the per-parameter ``lr_bu, lr_bi, lr_pu, lr_qi,
    reg_bu, reg_bi, reg_pu, reg_qi`` (None: the ``_all`` value),
    ``random_state`` and ``verbose``.

    Attributes
    ----------
    pu, qi, bu, bi : ndarray
        User and item factors and biases, by inner id.
    """

    _ATTRIBUTES = _FACTORS
    _REASON = "User and item are unknown."

    def __init__(self, n_factors=100, n_epochs=20, biased=True, init_mean=0, init_std_dev=0.1,
                 lr_all=0.005, reg_all=0.02, lr_bu=None, lr_bi=None, lr_pu=None, lr_qi=None,
                 reg_bu=None, reg_bi=None, reg_pu=None, reg_qi=None, random_state=None,
                 verbose=False):
        self.n_factors = n_factors
        self.n_epochs = n_epochs
        self.biased = biased
        self.init_mean = init_mean
        self.init_std_dev = init_std_dev
        _set_rates(self, lr_all, reg_all, lr_bu=lr_bu, lr_bi=lr_bi, lr_pu=lr_pu, lr_qi=lr_qi,
                   reg_bu=reg_bu, reg_bi=reg_bi, reg_pu=reg_pu, reg_qi=reg_qi)
        self.random_state = random_state
        self.verbose = verbose
        EngineAlgo.__init__(self)

    def _build_model(self):
        return MatrixFactorization(
            factors=self.n_factors, epochs=self.n_epochs, biased=self.biased,
            init_mean=self.init_mean, init_std=self.init_std_dev, lr_bu=self.lr_bu,
            lr_bi=self.lr_bi, lr_pu=self.lr_pu, lr_qi=self.lr_qi, reg_bu=self.reg_bu,
            reg_bi=self.reg_bi, reg_pu=self.reg_pu, reg_qi=self.reg_qi, dtype=np.float64,
            clip=False, verbose=self.verbose, seed=engine_seed(self.random_state),
            surprise_compat=True)

    def _impossible(self, users, items):
        if self.biased:
            return np.zeros(len(users), dtype=bool)
        return _unknown(users, items)


class SVDpp(EngineAlgo):
    r"""SVD++ (Koren 2008): :math:`\hat r_{ui} = \mu + b_u + b_i + q_i^T (p_u + |I_u|^{-1/2}
    \sum_{j \in I_u} y_j)`.

    Parameters are Surprise's: ``n_factors`` (20), ``n_epochs`` (20),
    ``init_mean`` (0), ``init_std_dev`` (0.1), ``lr_all`` (0.007), ``reg_all``
    (0.02), per-parameter ``lr_*`` / ``reg_*`` for bu, bi, pu, qi, yj,
    ``random_state``, ``verbose``; ``cache_ratings`` is accepted and has no
    effect (fastcf keeps each user's implicit sum, not a cache).

    Attributes
    ----------
    pu, qi, yj, bu, bi : ndarray
        By inner id.
    """

    _ATTRIBUTES = {**_FACTORS, "yj": "implicit_factors_"}

    def __init__(self, n_factors=20, n_epochs=20, init_mean=0, init_std_dev=0.1, lr_all=0.007,
                 reg_all=0.02, lr_bu=None, lr_bi=None, lr_pu=None, lr_qi=None, lr_yj=None,
                 reg_bu=None, reg_bi=None, reg_pu=None, reg_qi=None, reg_yj=None,
                 random_state=None, verbose=False, cache_ratings=False):
        self.n_factors = n_factors
        self.n_epochs = n_epochs
        self.init_mean = init_mean
        self.init_std_dev = init_std_dev
        _set_rates(self, lr_all, reg_all, lr_bu=lr_bu, lr_bi=lr_bi, lr_pu=lr_pu, lr_qi=lr_qi,
                   lr_yj=lr_yj, reg_bu=reg_bu, reg_bi=reg_bi, reg_pu=reg_pu, reg_qi=reg_qi,
                   reg_yj=reg_yj)
        self.random_state = random_state
        self.verbose = verbose
        self.cache_ratings = cache_ratings
        EngineAlgo.__init__(self)

    def _build_model(self):
        return engine_model(
            "SVDpp", factors=self.n_factors, epochs=self.n_epochs, init_mean=self.init_mean,
            init_std=self.init_std_dev, lr_bu=self.lr_bu, lr_bi=self.lr_bi, lr_pu=self.lr_pu,
            lr_qi=self.lr_qi, lr_yj=self.lr_yj, reg_bu=self.reg_bu, reg_bi=self.reg_bi,
            reg_pu=self.reg_pu, reg_qi=self.reg_qi, reg_yj=self.reg_yj, dtype=np.float64,
            clip=False, verbose=self.verbose, seed=engine_seed(self.random_state),
            surprise_compat=True)


class NMF(EngineAlgo):
    r"""Non-negative matrix factorization (Luo et al. 2014): :math:`\hat r_{ui} = q_i^T p_u`
    (plus :math:`\mu + b_u + b_i` when ``biased``), factors kept non-negative.

    Parameters are Surprise's: ``n_factors`` (15), ``n_epochs`` (50), ``biased``
    (False), ``reg_pu`` / ``reg_qi`` (0.06), ``reg_bu`` / ``reg_bi`` (0.02),
    ``lr_bu`` / ``lr_bi`` (0.005), ``init_low`` (0), ``init_high`` (1),
    ``random_state``, ``verbose``.

    Raises
    ------
    ValueError
        ``init_low < 0``.
    """

    _ATTRIBUTES = _FACTORS
    _REASON = "User and item are unknown."

    def __init__(self, n_factors=15, n_epochs=50, biased=False, reg_pu=0.06, reg_qi=0.06,
                 reg_bu=0.02, reg_bi=0.02, lr_bu=0.005, lr_bi=0.005, init_low=0, init_high=1,
                 random_state=None, verbose=False):
        self.n_factors = n_factors
        self.n_epochs = n_epochs
        self.biased = biased
        self.reg_pu = reg_pu
        self.reg_qi = reg_qi
        self.lr_bu = lr_bu
        self.lr_bi = lr_bi
        self.reg_bu = reg_bu
        self.reg_bi = reg_bi
        self.init_low = init_low
        self.init_high = init_high
        self.random_state = random_state
        self.verbose = verbose
        if self.init_low < 0:
            raise ValueError(f"init_low == {init_low}, must be >= 0 (the factors stay "
                             "non-negative).")
        EngineAlgo.__init__(self)

    def _build_model(self):
        return engine_model(
            "NMF", factors=self.n_factors, epochs=self.n_epochs, biased=self.biased,
            reg_pu=self.reg_pu, reg_qi=self.reg_qi, reg_bu=self.reg_bu, reg_bi=self.reg_bi,
            lr_bu=self.lr_bu, lr_bi=self.lr_bi, init_low=self.init_low,
            init_high=self.init_high, clip=False, verbose=self.verbose,
            seed=engine_seed(self.random_state), surprise_compat=True)

    def _impossible(self, users, items):
        if self.biased:
            return np.zeros(len(users), dtype=bool)
        return _unknown(users, items)
