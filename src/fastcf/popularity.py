r"""``Popularity``: the most-popular baseline of top-N recommendation."""

import numpy as np

from ._parallel import resolve_n_threads
from .base import Recommender
from .kernels._registry import check_backend
from .persist import Array, Schema


class Popularity(Recommender):
    r"""Recommends the items with the most training interactions (the floor of a ranking).

    The score of item :math:`i` for every user is its number of training
    interactions, :math:`s_i = |U(i)|`, whatever the rating values are (a
    rating of 1 and one of 5 count alike).

    Parameters
    ----------
    backend : {"auto", "numba", "cython", "reference"}
        Backend of the top-k kernel that ``recommend`` ranks with.
    n_threads : int or None
        Threads of that kernel (scikit-learn's meaning); the lists do not
        depend on it.

    Attributes
    ----------
    item_counts_ : ndarray of int64, shape (n_items,)
        Training interactions per item.

    Notes
    -----
    ``predict(u, i)`` returns :math:`s_i` (a ranking score, not a rating:
    ``predicts_ratings`` is False, so :func:`fastcf.evaluation.evaluate`
    computes no RMSE / MAE for it); an item unknown at fit time scores 0.
    ``recommend`` gives every user the same ranking, most popular first, ties
    broken by the lower internal item index, without the items the user
    interacted with at fit time; an unknown user gets the whole ranking.
    """

    _state_schema = Schema({"item_counts_": Array("i", ("n_items",))})
    predicts_ratings = False

    def __init__(self, backend="auto", n_threads=None):
        self.backend = backend
        self.n_threads = n_threads

    def _check_params(self):
        check_backend(self.backend)
        resolve_n_threads(self.n_threads)

    def _fit(self, data):
        self.item_counts_ = data.item_counts().astype(np.int64)

    def _predict_internal(self, users, items):
        return np.where(items >= 0, self.item_counts_[np.maximum(items, 0)], 0).astype(
            np.float64)

    def _score_block(self, users, out=None, setup=None):
        if out is None:
            out = np.empty((len(users), len(self.item_counts_)))
        out[...] = self.item_counts_[None, :]
        return out
