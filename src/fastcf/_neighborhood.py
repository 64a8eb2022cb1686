"""The prediction side of the neighbourhood models (see :mod:`fastcf.knn` for the formulas).

``_Neighborhood`` fits the per-target statistics, the similarity (a dense matrix,
top-k lists or none: computed on the fly) and predicts rating by rating through
the neighbourhood-sums kernel; ``knn`` adds the top-N side and the public classes.
"""

import numpy as np

from ._config import (
    BASELINE_LR,
    BASELINE_REG,
    BASELINE_REG_ITEM,
    BASELINE_REG_USER,
    DENSE_SIMILARITY_BUDGET,
    KNN_BLOCK_BYTES,
    KNN_RANK_SHRINK_KINDS,
    KNN_RANK_SHRINKAGE,
)
from ._parallel import resolve_n_threads
from ._surprise import surprise_order
from ._validation import check_bool, check_choice, check_float, check_int, check_value_dtype
from .base import Recommender, _as_id_array, take_rows
from .baseline import check_baseline_options, fit_biases
from .kernels import bias_sweep
from .kernels._registry import check_backend
from .kernels.neighbors import run_neighborhood_sums
from .kernels.similarity import NAMES, baselines_of, check_options, run_similarity
from .persist import CSR, Array, Schema
from .weighting import BM25_B, BM25_K1, SCHEMES, check_bm25, run_weighting, statistics

MODES = ("basic", "means", "zscore", "baseline")
#: The kinds a weighting may feed: they take the values of every entry.
WEIGHTED_KINDS = ("cosine_all", "dot")
STORAGE = ("dense", "neighbors", "on_the_fly")


def _row_stats(indptr, data, fill_mean, fill_sigma):
    """Mean and population standard deviation of every CSR row (empty rows: the fills)."""
    counts = np.diff(indptr)
    rows = np.repeat(np.arange(len(counts)), counts)
    sums = np.bincount(rows, weights=data, minlength=len(counts))
    nonempty = counts > 0
    means = np.full(len(counts), fill_mean)
    means[nonempty] = sums[nonempty] / counts[nonempty]
    squares = np.bincount(rows, weights=(data - means[rows]) ** 2, minlength=len(counts))
    sigmas = np.full(len(counts), fill_sigma)
    sigmas[nonempty] = np.sqrt(squares[nonempty] / counts[nonempty])
    sigmas[sigmas == 0.0] = fill_sigma  # Surprise: a constant row takes the overall sigma
    return means, sigmas


def _stored_dims(model, known, arrays):
    """A kNN model file's dimensions: ``targets`` (users of a UserKNN, items of an
    ItemKNN), ``columns`` (the other axis), and the rows of the similarity as stored,
    ``n_dense`` (a dense ``sim_``) and ``n_nbr`` (top-k lists): the targets under
    the model's ``storage_``, else 0."""
    targets, columns = known["n_users"], known["n_items"]
    if model._axis == "item":
        targets, columns = columns, targets
    storage = str(arrays["storage_"])
    return {"targets": targets, "columns": columns,
            "n_dense": targets if storage == "dense" else 0,
            "n_nbr": targets if storage == "neighbors" else 0}


class _Neighborhood(Recommender):
    """Shared implementation; ``_axis`` is the target's axis ("user" or "item")."""

    _axis = None
    #: x: targets x columns, y: its transpose; the similarity is stored as a dense
    #: ``sim_`` or as top-k lists ``nbr`` (see ``_stored_dims``).
    _state_schema = Schema({
        "global_mean_": Array("f"), "rating_range_": Array("f", (2,)),
        "overall_sigma_": Array("f"), "means_": Array("f", ("targets",)),
        "sigmas_": Array("f", ("targets",)),
        "user_bias_": Array("f", ("n_users",), may_be_empty=True),
        "item_bias_": Array("f", ("n_items",), may_be_empty=True),
        "x": CSR("targets", "columns", data="f"), "y": CSR("columns", "targets", data="f"),
        "neighbor_values_": Array("f", ("nnz",)), "storage_": Array("U", values=STORAGE),
        "sim_": Array("f", ("n_dense", "n_dense"), dtype_param="dtype"),
        "nbr": CSR("n_nbr", "targets", "nbr_nnz", data="f", dtype_param="dtype"),
    }, dims=_stored_dims)

    def __init__(self, k=40, min_k=1, similarity="msd", mode="basic", min_support=1,
                 shrinkage=None, min_sim=None, max_neighbors=None, weighting="none",
                 bm25_k1=BM25_K1, bm25_b=BM25_B, rank_shrinkage=None, baseline_method="als",
                 baseline_epochs=None, baseline_reg_user=BASELINE_REG_USER,
                 baseline_reg_item=BASELINE_REG_ITEM, baseline_lr=BASELINE_LR,
                 baseline_reg=BASELINE_REG, dtype=np.float64, clip=True,
                 surprise_compat=False, backend="auto", n_threads=None):
        self.k = k
        self.min_k = min_k
        self.similarity = similarity
        self.mode = mode
        self.min_support = min_support
        self.shrinkage = shrinkage
        self.min_sim = min_sim
        self.max_neighbors = max_neighbors
        self.weighting = weighting
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.rank_shrinkage = rank_shrinkage
        self.baseline_method = baseline_method
        self.baseline_epochs = baseline_epochs
        self.baseline_reg_user = baseline_reg_user
        self.baseline_reg_item = baseline_reg_item
        self.baseline_lr = baseline_lr
        self.baseline_reg = baseline_reg
        self.dtype = dtype
        self.clip = clip
        self.surprise_compat = surprise_compat
        self.backend = backend
        self.n_threads = n_threads

    # ---------------------------------------------------------------- params
    def _check_params(self):
        k = check_int("k", self.k, min_value=1)
        check_int("min_k", self.min_k, min_value=1, max_value=k)
        check_choice("similarity", self.similarity, NAMES)
        check_choice("mode", self.mode, MODES)
        self._sim_options()
        if self.max_neighbors is not None:
            check_int("max_neighbors", self.max_neighbors, min_value=1)
        check_choice("weighting", self.weighting, SCHEMES)
        check_bm25(self.bm25_k1, self.bm25_b)
        if self.weighting != "none" and self.similarity not in WEIGHTED_KINDS:
            raise ValueError(f"weighting == {self.weighting!r} needs similarity in "
                             f"{WEIGHTED_KINDS} (implicit's TFIDFRecommender: 'cosine_all', "
                             f"BM25Recommender: 'dot'), got {self.similarity!r}.")
        if self.rank_shrinkage is not None:
            check_float("rank_shrinkage", self.rank_shrinkage, min_value=0.0)
        check_baseline_options(self.baseline_method, self.baseline_epochs,
                               self.baseline_reg_user, self.baseline_reg_item, self.baseline_lr,
                               self.baseline_reg, prefix="baseline_")
        check_value_dtype(self.dtype)
        check_bool("clip", self.clip)
        if check_bool("surprise_compat", self.surprise_compat) and \
                np.dtype(self.dtype) != np.float64:
            raise ValueError("surprise_compat=True compares similarities in float64 as Surprise "
                             "does (its ties are exact); pass dtype=np.float64.")
        check_backend(self.backend)
        resolve_n_threads(self.n_threads)

    def _sim_options(self, k=None, shrinkage=None):
        """The similarity kernels' options, resolved (``k``: a top-k, None: dense rows;
        ``shrinkage``: another than the model's, for ranking)."""
        options = check_options(self.similarity, None, 2, self.min_support, self.shrinkage,
                                self.min_sim, self.dtype, self_similarity=True)
        options = options._replace(k=k)
        return options if shrinkage is None else options._replace(shrinkage=float(shrinkage))

    def _ranking_shrinkage(self):
        """The shrinkage of the similarities ``recommend`` ranks by, or None for the
        model's own (see the classes' Notes and ``_config.KNN_RANK_SHRINKAGE``)."""
        if self.rank_shrinkage is not None:
            shrinkage = float(self.rank_shrinkage)
        elif self.shrinkage is None and self.similarity in KNN_RANK_SHRINK_KINDS:
            shrinkage = KNN_RANK_SHRINKAGE
        else:
            return None
        return None if shrinkage == self._sim_options().shrinkage else shrinkage

    def _needs_biases(self):
        """Whether the baseline biases enter the model (else they are not fitted)."""
        return self.mode == "baseline" or self.similarity == "pearson_baseline"

    # ------------------------------------------------------------------- fit
    def _fit(self, data):
        if data.implicit and self.mode != "basic":
            raise ValueError(f"mode == {self.mode!r} needs explicit ratings; this data is "
                             "implicit (use mode='basic').")
        if self.weighting != "none" and len(data.ratings) and np.min(data.ratings) < 0:
            raise ValueError(f"weighting == {self.weighting!r} needs ratings >= 0; this data "
                             f"holds {int(np.sum(data.ratings < 0))} negative ones.")
        self._weighting_cache = None
        user_axis = self._axis == "user"
        x_csr = data.by_user if user_axis else data.by_item
        y_csr = data.by_item if user_axis else data.by_user
        self.global_mean_ = np.float64(data.global_mean)
        self.rating_range_ = np.array(data.rating_range, dtype=np.float64)
        # All ratings equal: every deviation is 0, and sigma 1 keeps each z-score
        # 0 where Surprise's 0 / 0 would give NaN predictions.
        overall_sigma = np.std(data.by_user.data)
        self.overall_sigma_ = np.float64(overall_sigma if overall_sigma > 0 else 1.0)
        self.means_, self.sigmas_ = _row_stats(x_csr.indptr, x_csr.data, self.global_mean_,
                                               self.overall_sigma_)
        self.user_bias_, self.item_bias_ = np.zeros(0), np.zeros(0)
        if self._needs_biases():
            _, self.user_bias_, self.item_bias_ = fit_biases(
                data, method=self.baseline_method, reg_user=self.baseline_reg_user,
                reg_item=self.baseline_reg_item, epochs=self.baseline_epochs,
                lr=self.baseline_lr, reg=self.baseline_reg, backend=self.backend,
                n_threads=self.n_threads)
        self.x_indptr_, self.x_indices_, self.x_data_ = x_csr.indptr, x_csr.indices, x_csr.data
        self.y_indptr_, self.y_indices_, self.y_data_ = y_csr.indptr, y_csr.indices, y_csr.data
        if self.surprise_compat:
            self._columns_in_load_order(data)
        self.neighbor_values_ = self._neighbor_values(
            self.y_indptr_, self.y_indices_, self.y_data_, self._col_bias())
        self._fit_similarity(data.orientation(self._axis).transposed)

    def _columns_in_load_order(self, data):
        """Each column's entries (a user's ratings for ItemKNN, an item's for UserKNN) in
        the order they were loaded, Surprise's ``ur`` / ``ir``: the neighbourhood kernel
        breaks similarity ties by entry position, Surprise's ``heapq.nlargest`` by that
        order, so the kept neighbours are Surprise's."""
        order = surprise_order(data)
        if self._axis == "item":  # columns are users: entries already by user
            entries = order.user_entries
            rows = data.by_user.indices
        else:
            entries = order.item_entries
            rows = data.entry_users()
        self.y_indices_ = np.ascontiguousarray(rows[entries], dtype=self.y_indptr_.dtype)
        self.y_data_ = data.by_user.data[entries]

    def _set_state(self, arrays, user_ids, item_ids):
        super()._set_state(arrays, user_ids, item_ids)
        self._weighting_cache = None

    def _weighted(self, rows=None):
        """The values the similarity sees of CSR ``rows`` of ratings (None: the targets).

        The ratings themselves, or their ``weighting`` with the statistics of
        the training targets (for those rows, the same values as a refit).
        """
        targets = (self.x_indptr_, self.x_indices_, self.x_data_)
        if self.weighting == "none":
            return targets if rows is None else rows
        if self._weighting_cache is None:
            stats = statistics(*targets, self._n_cols())
            weighted = run_weighting(self.weighting, *targets, stats, self.bm25_k1, self.bm25_b)
            self._weighting_cache = stats, (targets[0], targets[1], weighted)
        stats, weighted = self._weighting_cache
        if rows is None:
            return weighted
        return rows[0], rows[1], run_weighting(self.weighting, *rows, stats, self.bm25_k1,
                                               self.bm25_b)

    def _self_similarities(self):
        """Each target's similarity with itself where it may be below another's
        (``dot``: its squared norm), else None (every bounded kind: 1, the most)."""
        if self.similarity != "dot":
            return None
        indptr, _, values = self._weighted()
        rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        return np.bincount(rows, weights=values * values, minlength=len(indptr) - 1)

    def _row_bias(self):
        """Baseline bias of the targets (users for UserKNN)."""
        return self.user_bias_ if self._axis == "user" else self.item_bias_

    def _col_bias(self):
        return self.item_bias_ if self._axis == "user" else self.user_bias_

    def _neighbor_values(self, indptr, indices, ratings, col_bias):
        """What each candidate entry contributes, per mode (one column per CSR row)."""
        ratings = np.asarray(ratings, dtype=np.float64)
        if self.mode == "basic":
            return ratings.copy()
        if self.mode == "means":
            return ratings - self.means_[indices]
        if self.mode == "zscore":
            return (ratings - self.means_[indices]) / self.sigmas_[indices]
        column = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        baseline = (self.global_mean_ + self._row_bias()[indices]) + col_bias[column]
        return ratings - baseline

    def _fit_similarity(self, transposed):
        n = len(self.x_indptr_) - 1
        self.sim_ = np.zeros((0, 0), dtype=self.dtype)
        self.nbr_indptr_ = np.zeros(1, dtype=np.int64)
        self.nbr_indices_ = np.zeros(0, dtype=np.int64)
        self.nbr_data_ = np.zeros(0, dtype=self.dtype)
        if self.max_neighbors is not None and n > 1:
            m = min(self.max_neighbors, n - 1)
            top = self._similarity_of(k=m, transposed=transposed)
            self.nbr_indptr_, self.nbr_indices_, self.nbr_data_ = top.indptr, top.indices, \
                top.data
            self.storage_ = np.array("neighbors")
        elif n * n * np.dtype(self.dtype).itemsize <= DENSE_SIMILARITY_BUDGET:
            self.sim_ = self._similarity_of(transposed=transposed)
            self.storage_ = np.array("dense")
        else:
            self.storage_ = np.array("on_the_fly")

    # ----------------------------------------------------------- similarity
    def _similarity_of(self, queries=None, k=None, query_bias=None, transposed=None,
                       shrinkage=None):
        """Similarities of query CSR rows of ratings (None: the targets themselves,
        as a self-similarity) to every target: dense, or each row's top ``k``.

        The fitted rows go straight to the kernels: they were checked once, when
        the data was. ``shrinkage``: another than the model's (ranking).
        """
        targets = self._weighted()
        if queries is not None:
            queries = self._weighted(queries)
        baselines = None
        if self.similarity == "pearson_baseline":
            baselines = baselines_of(self._axis, self.global_mean_, self.user_bias_,
                                     self.item_bias_, query_bias)
        return run_similarity(self.similarity, targets if queries is None else queries, targets,
                              self._n_cols(), self._sim_options(k, shrinkage), baselines=baselines,
                              backend=self.backend, n_threads=self.n_threads,
                              max_dense_bytes=2**62, transposed=transposed)

    def _similarity_rows(self, targets, queries=None, query_bias=None):
        """Dense similarity rows (len(targets), n) of targets (or of query CSR rows).

        A target's similarity with itself is 1 (Surprise's diagonal); query
        rows (fold-in) are new rows, with no self.
        """
        n = len(self.x_indptr_) - 1
        storage = str(self.storage_)
        if queries is None and storage == "dense":
            return self.sim_[targets]
        if queries is None and storage == "neighbors":
            rows = np.zeros((len(targets), n), dtype=self.sim_.dtype)
            indptr, indices, values = _take_rows(
                (self.nbr_indptr_, self.nbr_indices_, self.nbr_data_), targets)
            rows[np.repeat(np.arange(len(targets)), np.diff(indptr)), indices] = values
            rows[np.arange(len(targets)), targets] = 1
            return rows
        if queries is None:
            queries = _take_rows((self.x_indptr_, self.x_indices_, self.x_data_), targets)
            query_bias = self._row_bias()[targets] \
                if self.similarity == "pearson_baseline" else None
        rows = self._similarity_of(queries, query_bias=query_bias)
        if targets is not None:
            rows[np.arange(len(targets)), targets] = 1
        return rows

    def _n_cols(self):
        return len(self.y_indptr_) - 1

    # --------------------------------------------------------------- predict
    def _sums(self, x, y, queries=None, col_csr=None, query_bias=None):
        """Neighbourhood sums of pairs (x, y), block by block of distinct targets.

        ``queries`` (fold-in): x indexes its rows instead of the training
        targets. ``col_csr``: (indptr, indices, values) to use as the columns.
        """
        n = len(self.x_indptr_) - 1
        col_indptr, col_indices, col_values = col_csr if col_csr is not None else (
            self.y_indptr_, self.y_indices_, self.neighbor_values_)
        options = {"backend": self.backend, "n_threads": self.n_threads}
        if queries is None and str(self.storage_) == "dense":
            # The stored matrix's rows, read in place.
            return run_neighborhood_sums(self.sim_, x.astype(np.int64), y.astype(np.int64),
                                         col_indptr, col_indices, col_values, self.k, **options)
        sum_sim, sum_num = np.zeros(len(x)), np.zeros(len(x))
        count = np.zeros(len(x), dtype=np.int64)
        order = np.argsort(x, kind="stable")
        targets, first = np.unique(x[order], return_index=True)
        per_block = max(1, KNN_BLOCK_BYTES // max(1, n * np.dtype(self.dtype).itemsize))
        bounds = np.r_[first, len(order)]
        for b in range(0, len(targets), per_block):
            block = targets[b:b + per_block]
            pairs = order[bounds[b]:bounds[min(b + per_block, len(targets))]]
            if queries is None:
                rows = self._similarity_rows(block)
            else:
                rows = self._similarity_rows(None, _take_rows(queries, block),
                                             None if query_bias is None else query_bias[block])
            row_of = np.searchsorted(block, x[pairs])
            s, t, c = run_neighborhood_sums(np.ascontiguousarray(rows), row_of.astype(np.int64),
                                            y[pairs].astype(np.int64), col_indptr, col_indices,
                                            col_values, self.k, **options)
            sum_sim[pairs], sum_num[pairs], count[pairs] = s, t, c
        return sum_sim, sum_num, count

    def _combine(self, sums, target_mean, target_sigma, base):
        """(est, impossible) of pairs from their sums and per-pair target terms."""
        sum_sim, sum_num, count = sums
        enough = count >= self.min_k
        term = np.divide(sum_num, sum_sim, out=np.zeros(len(count)), where=enough)
        impossible = np.zeros(len(count), dtype=bool)
        if self.mode == "basic":
            est = np.where(enough, term, float(self.global_mean_))
            impossible = ~enough
        elif self.mode == "means":
            est = target_mean + term
        elif self.mode == "zscore":
            est = target_mean + term * target_sigma
        else:
            est = base + term
        return est, impossible

    def _estimate(self, users, items):
        """(est unclipped, actual_k (-1 where not computed), impossible) of pairs."""
        x, y = (users, items) if self._axis == "user" else (items, users)
        n = len(users)
        est = np.full(n, float(self.global_mean_))
        actual_k = np.full(n, -1, dtype=np.int64)
        impossible = np.ones(n, dtype=bool)
        if self.mode == "baseline":  # Surprise: mu, then b_u, then b_i where known
            known_user, known_item = users >= 0, items >= 0
            est[known_user] += self.user_bias_[users[known_user]]
            est[known_item] += self.item_bias_[items[known_item]]
            impossible[:] = False
        known = np.flatnonzero((x >= 0) & (y >= 0))
        xs = x[known]
        sums = self._sums(xs, y[known])
        est[known], impossible[known] = self._combine(sums, self.means_[xs], self.sigmas_[xs],
                                                      est[known])
        actual_k[known] = sums[2]
        actual_k[impossible] = -1  # as Surprise, whose details then carry no actual_k
        return est, actual_k, impossible

    def _clipped(self, est):
        if self.clip:
            return np.clip(est, self.rating_range_[0], self.rating_range_[1])
        return est

    def _predict_internal(self, users, items):
        return self._clipped(self._estimate(users, items)[0])

    def predict_details(self, users, items):
        """Predictions with Surprise's ``details``: a DataFrame per pair.

        Columns: ``user``, ``item``, ``est`` (clipped as ``predict``),
        ``actual_k`` (neighbours used; -1 for unknown ids and impossible
        predictions, where Surprise's details have none), ``was_impossible``
        (the fallback was used, as Surprise flags it), ``unknown_user``,
        ``unknown_item``.
        """
        import pandas as pd

        self._check_is_fitted()
        users, items = _as_id_array(users, "users"), _as_id_array(items, "items")
        if len(users) != len(items):
            raise ValueError(f"users has {len(users)} entries but items has {len(items)}; "
                             "they must match.")
        u, i = self.user_index(users), self.item_index(items)
        est, actual_k, impossible = self._estimate(u, i)
        return pd.DataFrame({"user": users, "item": items, "est": self._clipped(est),
                             "actual_k": actual_k, "was_impossible": impossible,
                             "unknown_user": u < 0, "unknown_item": i < 0})

    # ------------------------------------------------------------- fold-in
    def _new_user_bias(self, indptr, indices, data):
        """Each new user's bias: one ALS step against the fitted item biases."""
        return bias_sweep(indptr, indices, data, float(self.global_mean_), self.item_bias_,
                          self.baseline_reg_user, backend=self.backend,
                          n_threads=self.n_threads)

    def predict_new(self, ratings, items):
        """Predict items for new users given only their ratings (fold-in, no refit).

        Parameters
        ----------
        ratings : dict or list of dict
            Each new user's ``{item id: rating}`` (items known to the model).
        items : array-like, or list of array-like
            Items to predict for the (single) user, or one array per user.

        Returns
        -------
        ndarray of float64, or a list of them (one per user)

        Notes
        -----
        A new user is a new row. ``UserKNN`` computes its similarity to every
        training user; the training users' similarities, means and biases do
        not change, so for ``basic`` / ``means`` / ``zscore`` this equals a
        refit with the user added, for the items the user did not rate.
        ``ItemKNN`` takes the user's ratings as the candidates of the fitted
        item similarities. A new user's bias (``baseline`` mode,
        ``pearson_baseline``) is one ALS step against the fitted item biases
        (regularised by ``baseline_reg_user``, whatever ``baseline_method``).
        """
        single, queries, user, item, sizes = self._fold_in_request(ratings, items)
        est = self._clipped(self._fold_in_estimate(user, item, queries))
        return self._fold_in_result(est, single, sizes)

    def _fold_in_estimate(self, user, item, queries):
        """Unclipped estimates of (new user, known item) pairs."""
        q_indptr, q_indices, q_data = queries
        new_bias = self._new_user_bias(*queries) if self._needs_biases() else None
        base = None
        if self.mode == "baseline":
            base = (self.global_mean_ + new_bias[user]) + self.item_bias_[item]
        if self._axis == "user":
            means, sigmas = _row_stats(q_indptr, q_data, self.global_mean_,
                                       self.overall_sigma_)
            sums = self._sums(user, item, queries=queries, query_bias=new_bias)
            return self._combine(sums, means[user], sigmas[user], base)[0]
        col_values = self._neighbor_values(q_indptr, q_indices, q_data, new_bias)
        sums = self._sums(item, user, col_csr=(q_indptr, q_indices, col_values))
        return self._combine(sums, self.means_[item], self.sigmas_[item], base)[0]


def _take_rows(csr, rows):
    """Rows of a CSR triple as a new CSR triple (int64 indptr and indices)."""
    indptr, indices, data = csr
    return take_rows(indptr, rows, indices, data)
