r"""``SlopeOne``: Lemire & Maclachlan's Slope One, as Surprise implements it."""

import numpy as np

from ._parallel import resolve_n_threads
from ._validation import check_bool, check_int
from .base import Recommender
from .kernels._registry import check_backend
from .kernels.slope_one import (
    run_slope_one_deviations,
    run_slope_one_predict,
    run_slope_one_scores,
)
from .persist import CSR, Array, Schema


def _row_means(indptr, data, fill):
    """Mean of each CSR row's values in float64 (``fill`` for an empty row)."""
    counts = np.diff(indptr)
    rows = np.repeat(np.arange(len(counts)), counts)
    sums = np.bincount(rows, weights=np.asarray(data, dtype=np.float64), minlength=len(counts))
    means = np.full(len(counts), float(fill))
    np.divide(sums, counts, out=means, where=counts > 0)
    return means


class SlopeOne(Recommender):
    r"""Slope One (Lemire & Maclachlan 2005), Surprise's ``SlopeOne``.

    For items :math:`i, j` rated by the users :math:`U_{ij}`, the deviation is
    :math:`\mathrm{dev}(i, j) = \frac{1}{|U_{ij}|} \sum_{u \in U_{ij}} (r_{ui} - r_{uj})`,
    and a prediction averages it over the user's *relevant* items
    :math:`R_i(u)`, those rated by :math:`u` that share a rater with :math:`i`:

    .. math:: \hat r_{ui} = \mu_u + \frac{1}{|R_i(u)|} \sum_{j \in R_i(u)} \mathrm{dev}(i, j)

    (:math:`\mu_u` alone when :math:`R_i(u)` is empty), the plain mean over
    :math:`R_i(u)`, as in Surprise (the weighted variant of the paper would
    weigh each term by :math:`|U_{ij}|`; ``freq_`` holds those counts).

    Parameters
    ----------
    clip : bool
        Clip predictions to the training ratings' range, as Surprise does.
    surprise_compat : bool
        Surprise computes the deviations from the ratings truncated to integers
        (``int`` variables in its Cython): 3.5 counts as 3 there, so on
        half-star data its deviations differ from the definition. True does the
        same, for Surprise's predictions; False (default) uses the ratings as
        they are. Identical on integer ratings (MovieLens 100K). The user means
        :math:`\mu_u` use the ratings as they are in both.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        scikit-learn's meaning; no result depends on it.

    Attributes
    ----------
    dev_indptr_, dev_indices_, dev_data_ : ndarray
        The deviations as a CSR over item pairs: row :math:`i` holds the items
        co-rated with it (itself included, deviation 0), ascending. Never
        dense: its size is the number of co-rated pairs, and a fit whose pairs
        would not fit in memory is refused before allocating them.
    freq_ : ndarray of int32
        :math:`|U_{ij}|` of each stored pair.
    user_mean_ : ndarray of float64, shape (n_users,)

    Notes
    -----
    Unknown users or items: the global mean, as Surprise's
    ``PredictionImpossible`` fallback (``predict(..., return_unknown=True)``
    tells which pairs fell back). ``recommend`` ranks by the unclipped
    prediction, computed per user as a sparse pass over the rows of the
    user's items (blocks of users, never all users x items at once); unknown
    users get the items by popularity. New users are folded in without a
    refit (:meth:`predict_new`, :meth:`recommend_new`).
    """

    _state_schema = Schema({
        "global_mean_": Array("f"), "rating_range_": Array("f", (2,)),
        "user_mean_": Array("f", ("n_users",)),
        "dev": CSR("n_items", "n_items", "n_pairs", data="f"),
        "freq_": Array("i", ("n_pairs",)),
    })

    def __init__(self, clip=True, surprise_compat=False, backend="auto", n_threads=None):
        self.clip = clip
        self.surprise_compat = surprise_compat
        self.backend = backend
        self.n_threads = n_threads

    def _check_params(self):
        check_bool("clip", self.clip)
        check_bool("surprise_compat", self.surprise_compat)
        check_backend(self.backend)
        resolve_n_threads(self.n_threads)

    def _fit(self, data):
        if data.implicit:
            raise ValueError("SlopeOne needs explicit ratings; this data is implicit.")
        by_user, by_item = data.by_user, data.by_item
        user_values, item_values = by_user.data, by_item.data
        if self.surprise_compat:
            user_values = np.trunc(user_values.astype(np.float64))
            item_values = np.trunc(item_values.astype(np.float64))
        self.dev_indptr_, self.dev_indices_, self.freq_, self.dev_data_ = \
            run_slope_one_deviations((by_item.indptr, by_item.indices, item_values),
                                     (by_user.indptr, by_user.indices, user_values),
                                     data.item_order, backend=self.backend,
                                     n_threads=self.n_threads)
        self.global_mean_ = np.float64(data.global_mean)
        self.rating_range_ = np.array(data.rating_range, dtype=np.float64)
        self.user_mean_ = _row_means(by_user.indptr, by_user.data, self.global_mean_)
        self._seen64 = None

    def _set_state(self, arrays, user_ids, item_ids):
        super()._set_state(arrays, user_ids, item_ids)
        self._seen64 = None

    def _model(self, user_indptr=None, user_items=None, user_mean=None):
        """The kernels' model arguments: the deviations, then the users' items and means
        (the fitted users', or those given)."""
        if user_indptr is None:
            if self._seen64 is None:  # the kernels read int64: converted once, not per call
                self._seen64 = (self.seen_indptr_.astype(np.int64, copy=False),
                                self.seen_indices_.astype(np.int64, copy=False))
            (user_indptr, user_items), user_mean = self._seen64, self.user_mean_
        return (self.dev_indptr_, self.dev_indices_, self.dev_data_, user_indptr, user_items,
                user_mean)

    def _clipped(self, est):
        if self.clip:
            np.clip(est, self.rating_range_[0], self.rating_range_[1], out=est)
        return est

    def _predict_internal(self, users, items):
        est = np.full(len(users), float(self.global_mean_))
        known = (users >= 0) & (items >= 0)
        if known.any():
            est[known] = run_slope_one_predict(*self._model(), users[known], items[known],
                                               backend=self.backend, n_threads=self.n_threads)
        return self._clipped(est)

    def _score_block(self, users, out=None, setup=None):
        scores = np.empty((len(users), self.n_items_)) if out is None else out
        known = users >= 0
        if known.all():
            return run_slope_one_scores(*self._model(), users, scores, backend=self.backend,
                                        n_threads=self.n_threads)
        scores[~known] = np.bincount(self.seen_indices_, minlength=self.n_items_)
        if known.any():
            scores[known] = run_slope_one_scores(*self._model(), users[known],
                                                 backend=self.backend, n_threads=self.n_threads)
        return scores

    # ---------------------------------------------------------------- fold-in
    def _fold_in_model(self, queries):
        q_indptr, q_indices, q_data = queries
        return self._model(q_indptr, q_indices, _row_means(q_indptr, q_data, self.global_mean_))

    def predict_new(self, ratings, items):
        """Predict items for new users given only their ratings (fold-in, no refit).

        ``ratings``: one ``{item id: rating}`` dict or a list of them; ``items``:
        the items to predict (one array per user for a list). A new user needs
        only their mean and their rated items: the formula above with the
        fitted deviations (a refit with the user added would also let their
        ratings enter the deviations).
        """
        single, queries, user, item, sizes = self._fold_in_request(ratings, items)
        est = run_slope_one_predict(*self._fold_in_model(queries), user, item,
                                    backend=self.backend, n_threads=self.n_threads)
        return self._fold_in_result(self._clipped(est), single, sizes)

    def recommend_new(self, ratings, n=10, *, exclude_seen=True, candidates=None):
        """Top-``n`` items for new users given only their ratings (fold-in, no refit).

        ``ratings`` is one ``{item id: rating}`` dict or a list of them; the
        result is that of :meth:`recommend` (items, scores), one row per user,
        with each user's rated items excluded when ``exclude_seen``.
        """
        self._check_is_fitted()
        n = check_int("n", n, min_value=1)
        queries = self._fold_in_csr(ratings)
        scores = run_slope_one_scores(*self._fold_in_model(queries),
                                      np.arange(len(queries[0]) - 1), backend=self.backend,
                                      n_threads=self.n_threads)
        return self._rank_new(scores, queries, n, exclude_seen, candidates)
