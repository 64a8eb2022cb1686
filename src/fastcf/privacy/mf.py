r"""``DPMatrixFactorization``: biased matrix factorization trained by DP-SGD.

.. math:: \hat r_{ui} = c + b_u + b_i + p_u \cdot q_i

with :math:`c` the midpoint of the given ``rating_range`` (never the data's
mean, which would leak). The item side (:math:`q_i, b_i`) is learned with
user-level differential privacy by DP-SGD (Abadi et al. 2016, with
Poisson-sampled batches); each user's own :math:`p_u, b_u` are computed from
that user's ratings and the item side only -- the billboard / joint-DP setting
(Jain, Thakkar & Thakurta 2018; Chien et al. 2021). The kernels are
:mod:`fastcf.kernels.dp_sgd`.
"""

import math

import numpy as np

from .._training import Epoch, train_epochs
from .._validation import check_float
from ..mf import MatrixFactorization
from ..persist import Schema
from ._accounting import calibrate_noise, privacy_report
from ._base import PRIVACY_REPORT_FIELD, PrivateModel, cap_per_user, clip_ratings

__all__ = ["DPMatrixFactorization"]

_MECHANISM = ("Gaussian noise N(0, (z clip_norm)^2) on every coordinate of the sum of the "
              "Poisson-sampled users' gradients of the item factors and biases, each user's "
              "clipped to L2 norm clip_norm, every step")
_SENSITIVITY = "clip_norm (one user's clipped gradient of all item rows and biases together)"


class DPMatrixFactorization(PrivateModel, MatrixFactorization):
    r"""Biased MF whose item side is trained with (epsilon, delta) differential privacy.

    The algorithm (``unit="user"``). Ratings are clipped into ``rating_range``
    and centred on its midpoint :math:`c`; each user keeps at most
    ``max_ratings`` of them (a seeded uniform sample). Factors start as
    :math:`N(0, \mathrm{init\_std}^2)` draws, biases at 0. Then ``steps =
    round(epochs / sampling_rate)`` steps, each:

    1. Poisson sampling: every user joins the batch with probability
       ``sampling_rate`` (a seeded ``numpy.random.Generator``, independent of
       the data).
    2. Each batch user (in parallel) runs one SGD pass over its ratings with
       the current item side frozen, updating only its own :math:`b_u, p_u`
       (rates ``lr``, ``reg``), then computes with its new :math:`b_u, p_u`
       the errors :math:`e_j` and the gradient of its squared loss towards the
       shared parameters, :math:`g_u = (e_j (p_u, 1))_j` (one row of
       :math:`(q_i, b_i)` per rated item), and clips it:
       :math:`\bar g_u = g_u \min(1, C / \|g_u\|_2)`, :math:`C` = ``clip_norm``,
       the norm over all the user's rows together.
    3. :math:`G = \sum_u \bar g_u + z C\, N` with :math:`N` one standard normal
       draw of shape (n_items, factors + 1) from the seeded generator, in the
       model's dtype (the sum in a fixed order: 1 and N threads give the same
       bits); then every item steps
       :math:`(q_i, b_i) \leftarrow (1 - \eta \lambda)(q_i, b_i) + \eta\, G_i / B`,
       :math:`\eta` = ``item_lr``, :math:`\lambda` = ``item_reg``,
       :math:`B` = ``sampling_rate * n_users`` the expected batch size.

    :math:`z` is the smallest noise multiplier for which ``steps`` Poisson-
    subsampled Gaussian mechanisms (sampling rate ``sampling_rate``,
    sensitivity :math:`C`: adding or removing one user changes the sum by at
    most :math:`C`) are (epsilon, delta)-DP under ``accountant``
    (:func:`fastcf.privacy.calibrate_noise`, ``dp-accounting``). (A final
    refit of every user's row on the released item side -- a few SGD passes
    over all its ratings -- was measured and left out: RMSE within +-0.001 on
    ML-100K and on 60k users.)

    The guarantee: the item factors and biases (and everything computed from
    them alone) are (epsilon, delta)-DP with respect to adding or removing one
    user and all their ratings; the whole model is joint-DP -- user ``u``'s
    row :math:`(p_u, b_u)` depends on ``u``'s own ratings and on the private
    item side only, so the rows of all other users are (epsilon, delta)-DP
    with respect to ``u``'s data. A user's own row is meant for that user
    alone (it is computed from their ratings). Only user-level privacy is
    offered: a user's row is trained on all their ratings, so removing one
    rating moves every other term of that user, and a per-rating bound would
    not hold. Assumed public, as in the literature: the item catalogue (the
    item ids the model keeps) and the number of users (the default delta, the
    expected batch size). The noise and the batches come from ``seed``: a
    seeded fit is private only while the seed is secret (the report says
    ``seeded``). ``history_`` and what ``callbacks`` and ``validation`` see
    are un-noised training figures, not covered by the guarantee; a callback
    that stops the fit early decides on the data (the report counts the
    planned steps, an upper bound on those run).

    With ``epsilon=np.inf`` there is no privacy: the model is exactly
    ``fastcf.MatrixFactorization(schedule="serial", factors, epochs, lr, reg,
    init_std, dtype, backend, seed)`` (the data's mean and rating range; bit
    for bit), and ``item_lr``, ``item_reg``, ``clip_norm``,
    ``sampling_rate``, ``max_ratings``, ``rating_range``
    (checked, not used), ``delta``, ``unit``, ``accountant`` and ``n_threads``
    are unused.

    Parameters
    ----------
    factors : int
    epochs : int
        Expected passes over the users: ``steps = round(epochs / sampling_rate)``.
    lr, reg : float
        Learning rate and regularisation of the users' :math:`p_u, b_u`.
    item_lr : float > 0
        :math:`\eta`, the learning rate of the private item step. Item
        :math:`i` moves by about :math:`\eta` times its share of the users
        times their clipped errors per step, so the stable, useful value grows
        with the data: 16 for 60k users (the defaults: measured best there),
        about 2 for ML-100K's 943 users (16 diverges there).
    item_reg : float >= 0
        :math:`\lambda`, the item side's weight decay per step.
    init_std : float
    epsilon : float > 0 or np.inf
    delta : float in (0, 1 / n_users) or None
        None: ``n_users ** -1.1``.
    unit : {"user"}
    rating_range : (float, float)
        Required: the rating scale, e.g. ``(1, 5)``.
    clip_norm : float > 0
        :math:`C`.
    sampling_rate : float in (0, 1]
        Poisson probability of each user per step. Each step draws an
        (n_items, factors + 1) normal matrix whatever the batch, so small
        rates cost time (60k users, 1 thread: 0.34-0.43x the non-private
        serial MF's updates/s at 0.1, 0.59-0.67x at 1.0; README). At 60k users
        and epsilon 5, 0.05 was a little more accurate (RMSE 0.896 vs 0.902),
        0.2 less (0.915).
    max_ratings : int >= 1 or None
        Ratings per user used by the private training (None: all; the
        clipping bounds a user's influence either way).
    accountant : {"rdp", "pld"}
    dtype : {numpy.float32, numpy.float64}
        Of the parameters, the arithmetic and the noise draws.
    verbose : bool
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        Threads of the DP steps (the result does not depend on it) and of
        ``recommend``.
    seed : int or None
        Of the initial factors, the rating cap, the batches and the noise.
        None (the default): fresh entropy. A private fit with a seed is private
        only while the seed is secret (``privacy_report_["seeded"]``).

    Attributes
    ----------
    privacy_report_ : dict
        What was guaranteed and every bound it rests on
        (:func:`fastcf.privacy._accounting.privacy_report`); saved with the model.
    history_ : list of dict
        Per epoch of steps: ``train_rmse`` (errors of the users' passes),
        ``seconds`` (sampling, noise draws and steps), ``updates`` (ratings
        the users' passes visited).

    Notes
    -----
    ``predict_new`` / ``recommend_new`` fold new users in on the released item
    side (their rows from their own ratings: the billboard model).
    """

    _state_schema = Schema({**MatrixFactorization._state_schema.fields,
                            "privacy_report_": PRIVACY_REPORT_FIELD})
    _privacy_units = ("user",)

    # MatrixFactorization's parameters that this model fixes (they are its
    # non-private twin's defaults, so epsilon=inf is that model exactly).
    lr_bu = lr_bi = lr_pu = lr_qi = reg_bu = reg_bi = reg_pu = reg_qi = None
    lr_decay, biased, init_mean, clip = 1.0, True, 0.0, True
    schedule, blocks, cell_order, patience, surprise_compat = "serial", 32, "sorted", None, False

    def __init__(self, factors=16, epochs=60, lr=0.05, reg=0.02, item_lr=16.0, item_reg=0.001,
                 init_std=0.1, epsilon=1.0, delta=None, unit="user", rating_range=None,
                 clip_norm=1.0, sampling_rate=0.1, max_ratings=None,
                 accountant="rdp", dtype=np.float32, verbose=False, backend="auto",
                 n_threads=None, seed=None):
        self.factors = factors
        self.epochs = epochs
        self.lr = lr
        self.reg = reg
        self.item_lr = item_lr
        self.item_reg = item_reg
        self.init_std = init_std
        self.epsilon = epsilon
        self.delta = delta
        self.unit = unit
        self.rating_range = rating_range
        self.clip_norm = clip_norm
        self.sampling_rate = sampling_rate
        self.max_ratings = max_ratings
        self.accountant = accountant
        self.dtype = dtype
        self.verbose = verbose
        self.backend = backend
        self.n_threads = n_threads
        self.seed = seed

    def _check_params(self):
        with self._seed_none_accepted():
            super()._check_params()
        self._check_privacy_params()
        check_float("item_lr", self.item_lr, min_value=0.0, min_inclusive=False)
        check_float("item_reg", self.item_reg, min_value=0.0)
        check_float("clip_norm", self.clip_norm, min_value=0.0, min_inclusive=False)
        check_float("sampling_rate", self.sampling_rate, min_value=0.0, min_inclusive=False,
                    max_value=1.0)

    def fit(self, data, *, validation=None, callbacks=()):
        """Train on ``data``; returns ``self``. ``validation`` and ``callbacks`` as in
        :meth:`fastcf.MatrixFactorization.fit` (a validation RMSE is only reported:
        choosing a model by it is a use of the validation data, not covered by the
        guarantee)."""
        return super().fit(data, validation=validation, callbacks=callbacks)

    def partial_fit(self, data, epochs=None):
        """Not offered: further training would spend privacy that ``privacy_report_``
        does not account for. Fit again on all the data instead."""
        raise NotImplementedError("DPMatrixFactorization has no partial_fit: more steps "
                                  "would spend privacy not in privacy_report_; fit again.")

    # ------------------------------------------------------------------- fit
    def _fit(self, data):
        if data.implicit:
            raise ValueError("DPMatrixFactorization needs explicit ratings; this data is "
                             "implicit.")
        epsilon, delta = self._privacy_budget(data.n_users)
        if not self.is_private:
            super()._fit(data)
            self.privacy_report_ = self._report(epsilon, delta, 0.0, self.epochs, None,
                                                data.n_users)
            return
        self._fit_private(data, epsilon, delta)

    def _report(self, epsilon, delta, z, steps, sampling_rate, n_users):
        low, high = self.rating_range
        return privacy_report(
            epsilon_target=epsilon, delta=delta, unit=self.unit,
            mechanism=_MECHANISM, noise_multiplier=z, steps=steps,
            sampling_rate=sampling_rate, accountant=self.accountant, n_users=n_users,
            seeded=self.seed is not None,
            clip_norm=float(self.clip_norm), max_ratings=self.max_ratings,
            rating_range=[float(low), float(high)], sensitivity=_SENSITIVITY,
            scope="item factors and biases (user rows: joint DP, each from its own "
                  "ratings and the private item side)")

    def _fit_private(self, data, epsilon, delta):
        from ..kernels.dp_sgd import run_dp_sgd_step

        dtype = np.dtype(self.dtype)
        self._check_memory(data.n_users, data.n_items, dtype)
        n_users, n_items, k = data.n_users, data.n_items, self.factors
        rng = np.random.default_rng(self.seed)
        by_user = data.by_user
        ratings, centre, _ = clip_ratings(by_user.data, self.rating_range, dtype)
        self.global_mean_ = np.float64(centre)
        self.rating_range_ = np.array(self.rating_range, dtype=np.float64)
        self.user_factors_ = rng.normal(0.0, self.init_std, (n_users, k)).astype(dtype)
        self.item_factors_ = rng.normal(0.0, self.init_std, (n_items, k)).astype(dtype)
        self.user_bias_ = np.zeros(n_users, dtype=dtype)
        self.item_bias_ = np.zeros(n_items, dtype=dtype)
        self.partial_fits_ = np.int64(0)
        self.history_ = []
        indptr = np.asarray(by_user.indptr, dtype=np.int64)
        index = by_user.indices.dtype
        keep, kept_users = cap_per_user(indptr, self.max_ratings, rng)
        counts = np.bincount(kept_users, minlength=n_users)
        kept_ptr = np.zeros(n_users + 1, dtype=np.int64)
        np.cumsum(counts, out=kept_ptr[1:])
        kept_items = np.ascontiguousarray(by_user.indices[keep])
        kept_ratings = np.ascontiguousarray(ratings[keep])
        q = float(self.sampling_rate)
        steps = max(1, round(self.epochs / q))
        z = calibrate_noise(epsilon, delta, steps=steps, sampling_rate=q,
                            accountant=self.accountant)
        sample = self._sampler(kept_ptr, index, rng)
        batch_size = q * n_users
        noise = np.empty((n_items, k + 1), dtype=dtype)
        user_rates = (self.lr, self.lr, self.reg, self.reg)
        item_rates = (self.item_lr, self.item_lr, self.item_reg, self.item_reg)
        n_threads = self._threads()

        def run_epoch(epoch):
            loss, seen = 0.0, 0
            for _ in range(steps * (epoch + 1) // self.epochs - steps * epoch // self.epochs):
                batch_users, batch_ptr, batch_pos = sample()
                rng.standard_normal(out=noise, dtype=dtype)
                coef = np.empty(len(batch_pos), dtype=dtype)
                loss += run_dp_sgd_step(
                    batch_users, batch_ptr, batch_pos, kept_items, kept_ratings, 0.0,
                    self.user_bias_, self.item_bias_, self.user_factors_, self.item_factors_,
                    user_rates, item_rates, self.clip_norm, False, noise,
                    z * self.clip_norm, batch_size, coef, backend=self.backend,
                    n_threads=n_threads)
                seen += len(batch_pos)
            return Epoch(loss, {"train_rmse": math.sqrt(loss / max(seen, 1))}, {"updates": seen})

        train_epochs(self, self.epochs, run_epoch, params=self._trained_arrays,
                     diverged=self._diverged, validation=self._validation_pairs(),
                     callbacks=self._callbacks or ())
        self.privacy_report_ = self._report(epsilon, delta, z, steps, q, n_users)

    def _threads(self):
        from .._parallel import resolve_n_threads

        return resolve_n_threads(self.n_threads)

    def _sampler(self, kept_ptr, index, rng):
        """A function drawing one Poisson batch: ``(batch_users, batch_ptr, batch_pos)``."""
        q = float(self.sampling_rate)
        n_users = len(kept_ptr) - 1
        counts = np.diff(kept_ptr)
        def sample():
            users = np.flatnonzero(rng.random(n_users) < q).astype(index)
            lens = counts[users]
            ptr = np.zeros(len(users) + 1, dtype=np.int64)
            np.cumsum(lens, out=ptr[1:])
            pos = np.arange(ptr[-1], dtype=np.int64) - np.repeat(ptr[:-1] - kept_ptr[users],
                                                                 lens)
            return users, ptr, pos
        return sample
