"""``BaselineOnly``: global mean plus user and item biases (Surprise's model)."""

import numpy as np

from ._config import (
    BASELINE_EPOCHS,
    BASELINE_LR,
    BASELINE_REG,
    BASELINE_REG_ITEM,
    BASELINE_REG_USER,
    BASELINE_SGD_EPOCHS,
)
from ._parallel import resolve_n_threads
from ._surprise import surprise_order
from ._validation import check_bool, check_choice, check_float, check_int
from .base import Recommender
from .kernels import bias_sweep
from .kernels._registry import check_backend
from .kernels.baseline import run_bias_sgd, run_bias_sweep
from .persist import Array, Schema

#: The ways to fit the biases (Surprise's ``bsl_options["method"]``).
METHODS = ("als", "sgd")
#: Each method's epochs when ``epochs=None`` (Surprise's ``n_epochs`` defaults).
DEFAULT_EPOCHS = {"als": BASELINE_EPOCHS, "sgd": BASELINE_SGD_EPOCHS}


def check_baseline_options(method, epochs, reg_user, reg_item, lr, reg, prefix=""):
    """Validate the bias-fitting options (``prefix``: how the caller names them)."""
    check_choice(f"{prefix}method", method, METHODS)
    if epochs is not None:
        check_int(f"{prefix}epochs", epochs, min_value=1)
    check_float(f"{prefix}reg_user", reg_user, min_value=0.0)
    check_float(f"{prefix}reg_item", reg_item, min_value=0.0)
    check_float(f"{prefix}lr", lr, min_value=0.0, min_inclusive=False)
    check_float(f"{prefix}reg", reg, min_value=0.0)


def fit_biases(data, *, method="als", reg_user=BASELINE_REG_USER, reg_item=BASELINE_REG_ITEM,
               epochs=None, lr=BASELINE_LR, reg=BASELINE_REG, backend="auto", n_threads=None):
    r"""Fit :math:`\hat r_{ui} = \mu + b_u + b_i`, as Surprise's ``compute_baselines``.

    ``method="als"`` (Surprise's ``baseline_als``): each epoch updates every
    item bias, then every user bias,

    .. math::

        b_i = \frac{\sum_{u \in U(i)} (r_{ui} - \mu - b_u)}{\lambda_i + |U(i)|}, \qquad
        b_u = \frac{\sum_{i \in I(u)} (r_{ui} - \mu - b_i)}{\lambda_u + |I(u)|}

    ``method="sgd"`` (Surprise's ``baseline_sgd``): from zero biases, each
    epoch takes one step per rating, with :math:`e = r_{ui} - \mu - b_u - b_i`,

    .. math::

        b_u \mathrel{+}= \eta (e - \lambda b_u), \qquad b_i \mathrel{+}= \eta (e - \lambda b_i)

    visiting the ratings in the order Surprise's ``trainset.all_ratings()``
    does (users by first appearance in the data, each user's ratings in the
    order given; :mod:`fastcf._surprise`), so the biases are Surprise's.

    Parameters
    ----------
    data : Interactions
    method : {"als", "sgd"}
    reg_user, reg_item : float
        ``"als"``: :math:`\lambda_u` and :math:`\lambda_i` (Surprise: 15 and 10);
        0 is allowed when every user (item) has a rating: a bias over no ratings
        would be 0 / 0.
    epochs : int, optional
        Sweeps or passes; None: the method's default, as Surprise's (als 10,
        sgd 20).
    lr, reg : float
        ``"sgd"``: :math:`\eta` and :math:`\lambda` (Surprise: 0.005 and 0.02).
    backend, n_threads
        Passed to the kernels (:func:`fastcf.kernels.bias_sweep`,
        :func:`fastcf.kernels.bias_sgd`; the SGD runs on one thread).

    Returns
    -------
    mu : float
    user_bias : ndarray of float64, shape (n_users,)
    item_bias : ndarray of float64, shape (n_items,)
    """
    epochs = DEFAULT_EPOCHS[method] if epochs is None else epochs
    mu = data.global_mean
    user_bias = np.zeros(data.n_users)
    item_bias = np.zeros(data.n_items)
    by_user, by_item = data.by_user, data.by_item
    if method == "sgd":
        order = surprise_order(data).all_ratings
        users = data.entry_users()[order]
        items = np.ascontiguousarray(by_user.indices[order], dtype=users.dtype)
        ratings = by_user.data[order]
        for _ in range(epochs):
            run_bias_sgd(users, items, ratings, float(mu), user_bias, item_bias, float(lr),
                         float(reg), backend=backend)
        return mu, user_bias, item_bias
    for name, reg_value, counts, kind in (("reg_user", reg_user, data.user_counts(), "users"),
                                          ("reg_item", reg_item, data.item_counts(), "items")):
        empty = int(np.count_nonzero(counts == 0))
        if reg_value == 0 and empty:
            raise ValueError(f"{name} == 0 leaves the bias of {empty} {kind} without ratings "
                             f"undefined (0 / 0); pass {name} > 0.")
    for epoch in range(epochs):
        # The first epoch checks every argument (O(nnz)); the later ones pass the same.
        sweep = bias_sweep if epoch == 0 else run_bias_sweep
        sweep(by_item.indptr, by_item.indices, by_item.data, mu, user_bias, reg_item,
              out=item_bias, backend=backend, n_threads=n_threads)
        sweep(by_user.indptr, by_user.indices, by_user.data, mu, item_bias, reg_user,
              out=user_bias, backend=backend, n_threads=n_threads)
    return mu, user_bias, item_bias


class BaselineOnly(Recommender):
    r"""Global mean plus user and item biases (Surprise's ``BaselineOnly``).

    .. math:: \hat r_{ui} = \mu + b_u + b_i

    fitted by ALS or SGD exactly as Surprise's ``bsl_options`` fit them (see
    :func:`fit_biases`). Both are deterministic: the biases are Surprise's for
    the same options (no ``surprise_compat`` switch is needed; SGD always
    visits the ratings in Surprise's order).

    Parameters
    ----------
    method : {"als", "sgd"}
        Surprise's ``bsl_options["method"]``.
    reg_user, reg_item : float
        ``"als"``: regularisation of the user and item biases (Surprise's
        ``reg_u``, ``reg_i``: 15 and 10).
    epochs : int, optional
        ALS sweeps or SGD passes (Surprise's ``n_epochs``); None: the method's
        default, as Surprise's (``"als"`` 10, ``"sgd"`` 20).
    lr, reg : float
        ``"sgd"``: learning rate and regularisation (Surprise's
        ``learning_rate``, ``reg``: 0.005 and 0.02).
    clip : bool
        Clip predictions to the training ratings' range, as Surprise does.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        scikit-learn's meaning; the fitted biases do not depend on it.

    Notes
    -----
    Unknown ids fall back as in Surprise: an unknown user has :math:`b_u = 0`,
    an unknown item :math:`b_i = 0` (both unknown: the global mean).
    ``predict(..., return_unknown=True)`` tells which pairs fell back.
    ``recommend`` ranks by :math:`\mu + b_u + b_i` unclipped (clipping would
    only create ties); for an unknown user that is item popularity by bias.
    """

    _state_schema = Schema({
        "global_mean_": Array("f"), "user_bias_": Array("f", ("n_users",)),
        "item_bias_": Array("f", ("n_items",)), "rating_range_": Array("f", (2,)),
    })

    def __init__(self, method="als", reg_user=BASELINE_REG_USER, reg_item=BASELINE_REG_ITEM,
                 epochs=None, lr=BASELINE_LR, reg=BASELINE_REG, clip=True, backend="auto",
                 n_threads=None):
        self.method = method
        self.reg_user = reg_user
        self.reg_item = reg_item
        self.epochs = epochs
        self.lr = lr
        self.reg = reg
        self.clip = clip
        self.backend = backend
        self.n_threads = n_threads

    def _check_params(self):
        check_baseline_options(self.method, self.epochs, self.reg_user, self.reg_item, self.lr,
                               self.reg)
        check_bool("clip", self.clip)
        check_backend(self.backend)
        resolve_n_threads(self.n_threads)

    def _fit(self, data):
        if data.implicit:
            raise ValueError("BaselineOnly needs explicit ratings; this data is implicit.")
        mu, self.user_bias_, self.item_bias_ = fit_biases(
            data, method=self.method, reg_user=self.reg_user, reg_item=self.reg_item,
            epochs=self.epochs, lr=self.lr, reg=self.reg, backend=self.backend,
            n_threads=self.n_threads)
        self.global_mean_ = np.float64(mu)
        self.rating_range_ = np.array(data.rating_range, dtype=np.float64)

    def _predict_internal(self, users, items):
        known_user, known_item = users >= 0, items >= 0
        est = np.full(len(users), float(self.global_mean_))
        est[known_user] += self.user_bias_[users[known_user]]
        est[known_item] += self.item_bias_[items[known_item]]
        if self.clip:
            np.clip(est, self.rating_range_[0], self.rating_range_[1], out=est)
        return est

    def _score_block(self, users, out=None, setup=None):
        user_bias = np.where(users >= 0, self.user_bias_[np.maximum(users, 0)], 0.0)
        return np.add((self.global_mean_ + user_bias)[:, None], self.item_bias_[None, :],
                      out=out)
