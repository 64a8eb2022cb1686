"""``BaselineOnly``: global mean plus user and item biases (Surprise's model)."""

import numpy as np

from ._config import BASELINE_EPOCHS, BASELINE_REG_ITEM, BASELINE_REG_USER
from ._parallel import resolve_n_threads
from ._validation import check_bool, check_float, check_int
from .base import Recommender
from .kernels import bias_sweep
from .kernels._registry import check_backend
from .kernels.baseline import run_bias_sweep
from .persist import Array, Schema


def fit_biases(data, *, reg_user=BASELINE_REG_USER, reg_item=BASELINE_REG_ITEM,
               epochs=BASELINE_EPOCHS, backend="auto", n_threads=None):
    r"""Fit :math:`\hat r_{ui} = \mu + b_u + b_i` by alternating least squares.

    Each epoch updates every item bias, then every user bias, exactly as
    Surprise's ``baseline_als`` does:

    .. math::

        b_i = \frac{\sum_{u \in U(i)} (r_{ui} - \mu - b_u)}{\lambda_i + |U(i)|}, \qquad
        b_u = \frac{\sum_{i \in I(u)} (r_{ui} - \mu - b_i)}{\lambda_u + |I(u)|}

    Parameters
    ----------
    data : Interactions
    reg_user, reg_item : float
        :math:`\lambda_u` and :math:`\lambda_i` (Surprise: 15 and 10).
    epochs : int
        Number of ALS sweeps (Surprise: 10).
    backend, n_threads
        Passed to :func:`fastcf.kernels.bias_sweep`.

    Returns
    -------
    mu : float
    user_bias : ndarray of float64, shape (n_users,)
    item_bias : ndarray of float64, shape (n_items,)
    """
    mu = data.global_mean
    user_bias = np.zeros(data.n_users)
    item_bias = np.zeros(data.n_items)
    by_user, by_item = data.by_user, data.by_item
    for epoch in range(epochs):
        # The first epoch checks every argument (O(nnz)); the later ones pass the same.
        sweep = bias_sweep if epoch == 0 else run_bias_sweep
        sweep(by_item.indptr, by_item.indices, by_item.data, mu, user_bias, reg_item,
              out=item_bias, backend=backend, n_threads=n_threads)
        sweep(by_user.indptr, by_user.indices, by_user.data, mu, item_bias, reg_user,
              out=user_bias, backend=backend, n_threads=n_threads)
    return mu, user_bias, item_bias


class BaselineOnly(Recommender):
    r"""Global mean plus user and item biases, fitted by ALS (Surprise's ``BaselineOnly``).

    .. math:: \hat r_{ui} = \mu + b_u + b_i

    Parameters
    ----------
    reg_user, reg_item : float
        Regularisation of the user and item biases (Surprise: 15 and 10).
    epochs : int
        ALS sweeps (Surprise: 10).
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

    def __init__(self, reg_user=BASELINE_REG_USER, reg_item=BASELINE_REG_ITEM,
                 epochs=BASELINE_EPOCHS, clip=True, backend="auto", n_threads=None):
        self.reg_user = reg_user
        self.reg_item = reg_item
        self.epochs = epochs
        self.clip = clip
        self.backend = backend
        self.n_threads = n_threads

    def _check_params(self):
        check_float("reg_user", self.reg_user, min_value=0.0, min_inclusive=False)
        check_float("reg_item", self.reg_item, min_value=0.0, min_inclusive=False)
        check_int("epochs", self.epochs, min_value=1)
        check_bool("clip", self.clip)
        check_backend(self.backend)
        resolve_n_threads(self.n_threads)

    def _fit(self, data):
        if data.implicit:
            raise ValueError("BaselineOnly needs explicit ratings; this data is implicit.")
        mu, self.user_bias_, self.item_bias_ = fit_biases(
            data, reg_user=self.reg_user, reg_item=self.reg_item, epochs=self.epochs,
            backend=self.backend, n_threads=self.n_threads)
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
