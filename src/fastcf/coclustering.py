"""``CoClustering``: users and items in clusters, rated by co-cluster averages.

George & Merugu (2005) as Surprise 1.1.5 implements it (``CoClustering``).
"""

from numbers import Integral

import numpy as np

from ._config import COCLUSTERING_WORK_PER_THREAD
from ._parallel import resolve_n_threads, threads_for_work
from ._surprise import surprise_order, surprise_rng
from ._training import Epoch, train_epochs
from ._validation import check_bool, check_int
from .base import Recommender
from .kernels._registry import check_backend
from .kernels.coclustering import run_cluster_assign, run_cocluster_sums
from .persist import Array, Schema


def _row_means(indptr, values, fallback):
    """Mean of each CSR row's values (float64), ``fallback`` for empty rows."""
    counts = np.diff(indptr)
    rows = np.repeat(np.arange(len(counts)), counts)
    sums = np.bincount(rows, weights=values, minlength=len(counts))
    means = np.full(len(counts), float(fallback))
    np.divide(sums, counts, out=means, where=counts > 0)
    return means


class CoClustering(Recommender):
    r"""Co-clustering collaborative filtering (Surprise's ``CoClustering``).

    Users get clusters :math:`C_u`, items clusters :math:`C_i`; a pair is
    rated by its co-cluster's average corrected by the user's and the item's
    offsets from their clusters' averages:

    .. math::

        \hat r_{ui} = \bar A_{C_u C_i} + (\mu_u - \bar U_{C_u}) + (\mu_i - \bar I_{C_i})

    where :math:`\mu_u`, :math:`\mu_i` are the user's and the item's mean
    ratings, :math:`\bar U`, :math:`\bar I` the average rating of each user
    cluster and item cluster and :math:`\bar A` of each co-cluster (the global
    mean where a cluster has no rating). Clusters start at random; each epoch
    computes the averages, then moves every user to the cluster that
    minimises the squared error of its ratings (the items' clusters fixed),
    then every item likewise given the users' new clusters (the averages of
    the epoch's start), the first cluster winning a tie. The averages are
    computed once more after the last epoch.

    Parameters
    ----------
    user_clusters, item_clusters : int
        Number of user and item clusters (Surprise's ``n_cltr_u``, ``n_cltr_i``).
    epochs : int
        Number of epochs (Surprise's ``n_epochs``).
    clip : bool
        Clip predictions to the training ratings' range, as Surprise does.
    verbose : bool
        Show a progress bar over the epochs.
    surprise_compat : bool
        Give Surprise's predictions for ``seed`` == its ``random_state`` (see Notes).
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        scikit-learn's meaning. Every user's (item's) new cluster depends only
        on the previous assignment, and the cluster sums are added in an order
        the data fixes, so the model does not depend on it. Fits of fewer than
        ``COCLUSTERING_WORK_PER_THREAD`` (ratings x clusters) run on one
        thread: their parallel regions would cost more than they share.
    seed : int or None
        The initial clusters: ``numpy.random.default_rng(seed).integers`` in
        fastcf's user then item order; with ``surprise_compat=True``,
        ``numpy.random.RandomState(seed).randint`` in Surprise's inner-id order
        (None: NumPy's global ``RandomState``, as Surprise does).

    Attributes
    ----------
    user_labels_, item_labels_ : ndarray of int64
        The cluster of every user and item.
    user_mean_, item_mean_ : ndarray of float64
        :math:`\mu_u` and :math:`\mu_i` (the global mean for a user or item
        without ratings).
    user_cluster_mean_, item_cluster_mean_, cocluster_mean_ : ndarray of float64
        :math:`\bar U`, :math:`\bar I` and :math:`\bar A`,
        shapes (user_clusters,), (item_clusters,), (user_clusters, item_clusters).
    history_ : list of dict
        Per epoch: ``train_rmse``, the root mean squared error of the epoch's
        item reassignment (each item in its new cluster, the epoch's averages).

    Notes
    -----
    Surprise's result depends only on its initial draws: within an epoch a
    user's new cluster depends on the items' clusters and the averages of the
    epoch's start, an item's on the users' new clusters, never on the rows
    visited before, so fastcf visits them in parallel in both modes.
    ``surprise_compat=True`` reproduces the rest of Surprise 1.1.5 exactly:

    - its draws (``RandomState(seed).randint(user_clusters, size=n_users)``,
      then the items', in inner-id order, i.e. first appearance in the data);
    - its integer ratings: Surprise reads each rating into a C ``int``, so its
      means, cluster averages and errors see ratings truncated toward zero
      (3.5 counts as 3), while its global mean (the empty-cluster average and
      the fallback) keeps the ratings as given;
    - each error summed over the user's (item's) ratings in load order, with
      Surprise's operation order, so equal and near-equal errors resolve as
      they do in Surprise;
    - its fallback: the global mean for any pair with an unknown user or item
      (Surprise's ``estimate`` returns it before the documented
      :math:`\mu_i` / :math:`\mu_u` fallbacks can apply).

    The default mode uses the ratings as given and falls back as Surprise's
    documentation says: an unknown user gets :math:`\mu_i`, an unknown item
    :math:`\mu_u`, both unknown the global mean. ``recommend`` ranks by the
    unclipped estimate (for an unknown user: :math:`\mu_i`, or the global mean
    in the Surprise mode). ``predict_new`` / ``recommend_new`` put a new user
    in the cluster of least squared error over their ratings, with their mean
    as :math:`\mu_u`.
    """

    _state_schema = Schema({
        "user_labels_": Array("i", ("n_users",)), "item_labels_": Array("i", ("n_items",)),
        "user_mean_": Array("f", ("n_users",)), "item_mean_": Array("f", ("n_items",)),
        "user_cluster_mean_": Array("f", ("user_clusters",)),
        "item_cluster_mean_": Array("f", ("item_clusters",)),
        "cocluster_mean_": Array("f", ("user_clusters", "item_clusters")),
        "global_mean_": Array("f"), "rating_range_": Array("f", (2,)),
    })

    def __init__(self, user_clusters=3, item_clusters=3, epochs=20, clip=True, verbose=False,
                 surprise_compat=False, backend="auto", n_threads=None, seed=0):
        self.user_clusters = user_clusters
        self.item_clusters = item_clusters
        self.epochs = epochs
        self.clip = clip
        self.verbose = verbose
        self.surprise_compat = surprise_compat
        self.backend = backend
        self.n_threads = n_threads
        self.seed = seed

    def _check_params(self):
        check_int("user_clusters", self.user_clusters, min_value=1)
        check_int("item_clusters", self.item_clusters, min_value=1)
        check_int("epochs", self.epochs, min_value=1)
        for name in ("clip", "verbose", "surprise_compat"):
            check_bool(name, getattr(self, name))
        check_backend(self.backend)
        resolve_n_threads(self.n_threads)
        if self.seed is not None:
            if not isinstance(self.seed, Integral) or isinstance(self.seed, bool):
                raise TypeError(f"seed must be an int or None, got {type(self.seed).__name__}.")
            check_int("seed", self.seed, min_value=0)

    # ------------------------------------------------------------------- fit
    def _ratings(self, values):
        """The ratings the clustering sees: Surprise's C ints in its mode (see Notes)."""
        values = np.asarray(values, dtype=np.float64)
        return np.trunc(values) if self.surprise_compat else values

    def _initial_labels(self, data, order):
        """Each user's and item's first cluster (``order``: Surprise's, in its mode)."""
        if order is None:
            rng = np.random.default_rng(self.seed)
            return (rng.integers(self.user_clusters, size=data.n_users, dtype=np.int64),
                    rng.integers(self.item_clusters, size=data.n_items, dtype=np.int64))
        rng = surprise_rng(self.seed)
        labels = []
        for inner, counts, k in ((order.user_inner, data.user_counts(), self.user_clusters),
                                 (order.item_inner, data.item_counts(), self.item_clusters)):
            # Surprise draws a label for each user (item) with ratings, by inner id;
            # rows without ratings (inner ids last) weigh in nowhere: label 0
            draws = rng.randint(k, size=int(np.count_nonzero(counts))).astype(np.int64)
            label = np.zeros(len(inner), dtype=np.int64)
            label[counts > 0] = draws[inner[counts > 0]]
            labels.append(label)
        return tuple(labels)

    def _fit(self, data):
        if data.implicit:
            raise ValueError("CoClustering needs explicit ratings; this data is implicit.")
        by_user, by_item = data.by_user, data.by_item
        self.global_mean_ = np.float64(data.global_mean)
        self.rating_range_ = np.array(data.rating_range, dtype=np.float64)
        ratings = self._ratings(by_user.data)
        users = data.entry_users()
        order = surprise_order(data) if self.surprise_compat else None
        user_labels, item_labels = self._initial_labels(data, order)
        if order is not None:
            # each row's entries in load order (Surprise's ur / ir): its error sums' order
            rows = (by_user.indptr, by_user.indices[order.user_entries],
                    ratings[order.user_entries])
            cols = (by_item.indptr, users[order.item_entries].astype(by_item.indptr.dtype),
                    ratings[order.item_entries])
        else:
            rows = (by_user.indptr, by_user.indices, ratings)
            cols = (by_item.indptr, by_item.indices, self._ratings(by_item.data))
        self.user_mean_ = _row_means(rows[0], rows[2], self.global_mean_)
        self.item_mean_ = _row_means(cols[0], cols[2], self.global_mean_)
        self.user_labels_, self.item_labels_ = user_labels, item_labels
        # small fits run on one thread (see COCLUSTERING_WORK_PER_THREAD): same result
        work = data.nnz * max(self.user_clusters, self.item_clusters)
        options = {"backend": self.backend,
                   "n_threads": threads_for_work(self.n_threads, work,
                                                 COCLUSTERING_WORK_PER_THREAD)}
        nnz = max(data.nnz, 1)

        def run_epoch(epoch):
            self._update_means(rows, options)
            self.user_labels_, _ = run_cluster_assign(
                *rows, self.user_mean_, self.item_mean_, self.item_labels_,
                self.cocluster_mean_, self.user_cluster_mean_, self.item_cluster_mean_,
                rows_are_users=True, **options)
            self.item_labels_, errors = run_cluster_assign(
                *cols, self.item_mean_, self.user_mean_, self.user_labels_,
                np.ascontiguousarray(self.cocluster_mean_.T), self.item_cluster_mean_,
                self.user_cluster_mean_, rows_are_users=False, **options)
            loss = float(errors.sum())
            return Epoch(loss, {"train_rmse": float(np.sqrt(loss / nnz))})

        self.history_ = []
        train_epochs(self, self.epochs, run_epoch, params=self._cluster_means,
                     diverged=lambda epoch: f"co-clustering produced NaN/inf at epoch {epoch}.")
        self._update_means(rows, options)

    def _update_means(self, rows, options):
        """The cluster and co-cluster averages of the current labels (Surprise's
        ``compute_averages``)."""
        sums, counts = run_cocluster_sums(*rows, self.user_labels_, self.item_labels_,
                                          self.user_clusters, self.item_clusters, **options)
        mean = float(self.global_mean_)

        def averages(s, n):
            out = np.full(s.shape, mean)
            np.divide(s, n, out=out, where=n > 0)
            return out

        self.cocluster_mean_ = averages(sums, counts)
        self.user_cluster_mean_ = averages(sums.sum(axis=1), counts.sum(axis=1))
        self.item_cluster_mean_ = averages(sums.sum(axis=0), counts.sum(axis=0))

    def _cluster_means(self):
        return {"user_cluster_mean_": self.user_cluster_mean_,
                "item_cluster_mean_": self.item_cluster_mean_,
                "cocluster_mean_": self.cocluster_mean_}

    # --------------------------------------------------------------- predict
    def _estimate(self, user_label, user_mean, items):
        """Unclipped estimates, in Surprise's order of operations (broadcasting)."""
        item_label = self.item_labels_[items]
        return (self.cocluster_mean_[user_label, item_label] + user_mean
                - self.user_cluster_mean_[user_label] + self.item_mean_[items]
                - self.item_cluster_mean_[item_label])

    def _predict_internal(self, users, items):
        known_user, known_item = users >= 0, items >= 0
        est = np.full(len(users), float(self.global_mean_))
        both = known_user & known_item
        u, i = users[both], items[both]
        est[both] = self._estimate(self.user_labels_[u], self.user_mean_[u], i)
        if not self.surprise_compat:
            only_item = known_item & ~known_user
            only_user = known_user & ~known_item
            est[only_item] = self.item_mean_[items[only_item]]
            est[only_user] = self.user_mean_[users[only_user]]
        return self._clip(est)

    def _clip(self, est):
        if self.clip:
            np.clip(est, self.rating_range_[0], self.rating_range_[1], out=est)
        return est

    def _score_setup(self):
        # each user cluster's co-cluster average at every item, and the items' own terms
        return (np.ascontiguousarray(self.cocluster_mean_[:, self.item_labels_]),
                self.item_mean_, self.item_cluster_mean_[self.item_labels_])

    def _score_block(self, users, out=None, setup=None):
        table, item_mean, item_cluster = self._score_setup() if setup is None else setup
        if out is None:
            out = np.empty((len(users), len(item_mean)))
        known = users >= 0
        labels = self.user_labels_[np.maximum(users, 0)]
        self._fill_scores(out, table, item_mean, item_cluster, labels,
                          self.user_mean_[np.maximum(users, 0)])
        if not known.all():
            out[~known] = float(self.global_mean_) if self.surprise_compat else item_mean
        return out

    def _fill_scores(self, out, table, item_mean, item_cluster, labels, user_mean):
        """``out[r]`` = the estimates of a user in cluster ``labels[r]`` with mean
        ``user_mean[r]`` at every item, in :meth:`_estimate`'s order."""
        np.take(table, labels, axis=0, out=out)
        out += user_mean[:, None]
        out -= self.user_cluster_mean_[labels][:, None]
        out += item_mean[None, :]
        out -= item_cluster[None, :]
        return out

    # ---------------------------------------------------------------- fold-in
    def _fold_in_clusters(self, queries):
        """(cluster, mean rating) of each new user from their ratings, the model frozen."""
        indptr, indices, values = queries
        values = self._ratings(values)
        user_mean = _row_means(indptr, values, self.global_mean_)
        labels, _ = run_cluster_assign(
            indptr, indices, values, user_mean, self.item_mean_, self.item_labels_,
            self.cocluster_mean_, self.user_cluster_mean_, self.item_cluster_mean_,
            rows_are_users=True, backend=self.backend, n_threads=self.n_threads)
        return labels, user_mean

    def predict_new(self, ratings, items):
        """Predict items for new users given only their ratings (no refit).

        ``ratings``: one ``{item id: rating}`` dict or a list of them; ``items``:
        the items to predict (one array per user for a list). Each new user
        joins the user cluster of least squared error over their ratings (the
        fitted clusters and averages frozen), with their mean rating as
        :math:`\\mu_u`.
        """
        single, queries, user, item, sizes = self._fold_in_request(ratings, items)
        labels, user_mean = self._fold_in_clusters(queries)
        est = self._clip(self._estimate(labels[user], user_mean[user], item))
        return self._fold_in_result(est, single, sizes)

    def recommend_new(self, ratings, n=10, *, exclude_seen=True, candidates=None):
        """Top-``n`` items for new users given only their ratings (see :meth:`predict_new`)."""
        self._check_is_fitted()
        n = check_int("n", n, min_value=1)
        queries = self._fold_in_csr(ratings)
        labels, user_mean = self._fold_in_clusters(queries)
        table, item_mean, item_cluster = self._score_setup()
        scores = self._fill_scores(np.empty((len(labels), len(item_mean))), table, item_mean,
                                   item_cluster, labels, user_mean)
        return self._rank_new(scores, queries, n, exclude_seen, candidates)
