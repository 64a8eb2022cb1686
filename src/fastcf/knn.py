r"""Neighbourhood models: ``UserKNN`` and ``ItemKNN`` (Surprise's ``KNN*`` family).

A prediction for the pair (user :math:`u`, item :math:`i`) looks at a *target*
:math:`x` and a *column* :math:`y` -- :math:`(u, i)` for ``UserKNN``,
:math:`(i, u)` for ``ItemKNN`` -- and at the raters :math:`x'` of :math:`y`.
Among those with a positive similarity :math:`s(x, x')`, the ``k`` most
similar form :math:`N_k` (ties: lower index first; with ``surprise_compat=True``
Surprise's rule, the rating loaded first). With the sums of
:func:`fastcf.kernels.neighborhood_sums`, the four modes are Surprise's:

- ``"basic"`` (``KNNBasic``): :math:`\sum s\, r / \sum s`;
- ``"means"`` (``KNNWithMeans``): :math:`\mu_x + \sum s (r - \mu_{x'}) / \sum s`;
- ``"zscore"`` (``KNNWithZScore``): :math:`\mu_x + \sigma_x \sum s (r - \mu_{x'})
  / \sigma_{x'} / \sum s` (:math:`\sigma` the population standard deviation,
  replaced by that of all ratings where it is 0);
- ``"baseline"`` (``KNNBaseline``): :math:`b_{ui} + \sum s (r - b_{x'y}) / \sum s`
  with Surprise's ALS baselines :math:`b_{ui} = \mu + b_u + b_i`.

When :math:`|N_k| <` ``min_k`` the sum term is dropped: ``"basic"`` cannot
predict (the global mean is returned and the pair flagged impossible), the
others return :math:`\mu_x` or :math:`b_{ui}`. Unknown users or items: the
global mean, flagged impossible (``"baseline"``: :math:`\mu` plus whichever
bias is known, not flagged), exactly as Surprise. A pair seen at fit time has
its target among the candidates with similarity 1, as in Surprise.
"""

import numpy as np
import scipy.sparse as sp

from ._neighborhood import _Neighborhood, _take_rows
from ._validation import check_int
from .base import _as_id_array, _raise_unknown, kept_indptr, within_columns
from .kernels import topk
from .kernels.scoring import run_scored_topk


class _Ranking:
    """Top-N scoring shared by both models: sums over each target's top-k lists."""

    def _fit(self, data):
        self._rank_cache = None
        super()._fit(data)

    def _set_state(self, arrays, user_ids, item_ids):
        super()._set_state(arrays, user_ids, item_ids)
        self._rank_cache = None

    def _rank_lists(self):
        """scipy CSR (n, n): each target's neighbours that ``recommend`` sums over.

        A target's list is its ``k`` most similar others with a positive
        similarity -- implicit's ``all_pairs_knn`` with ``K = k + 1``, which
        counts the target itself: where the target's similarity to itself
        (``dot``: its squared norm) is below its ``k + 1``-th neighbour's, the
        list holds ``k + 1``. The similarities are the model's, or shrunk by
        ``_ranking_shrinkage()``. Built on first use and kept (not saved: a
        loaded model rebuilds it).
        """
        if self._rank_cache is not None:
            return self._rank_cache
        n = len(self.x_indptr_) - 1
        storage = str(self.storage_)
        shrinkage = self._ranking_shrinkage()
        self_sim = self._self_similarities()
        k = min(self.k, max(n - 1, 1))
        width = k + 1 if self_sim is not None and k < n - 1 else k
        if n < 2:
            indptr, indices, values = np.zeros(n + 1, np.int64), np.zeros(0, np.int64), \
                np.zeros(0)
        elif storage == "dense" and shrinkage is None:
            diag = (np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int64))
            idx, val = topk(np.ascontiguousarray(self.sim_), width, diag, backend=self.backend,
                            n_threads=self.n_threads)
            found = ~np.isnan(val)
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(found.sum(axis=1), out=indptr[1:])
            indices, values = idx[found], val[found]
        elif storage == "neighbors" and shrinkage is None:
            indptr, indices, values = self.nbr_indptr_, self.nbr_indices_, self.nbr_data_
        else:
            top = self._similarity_of(k=width, shrinkage=shrinkage)
            indptr, indices, values = top.indptr, top.indices, top.data
        counts = np.diff(indptr)
        rank = np.arange(len(indices)) - np.repeat(indptr[:-1], counts)
        limit = np.full(n, k)
        if self_sim is not None:  # k + 1 where the (k + 1)-th neighbour outranks the target
            longer = np.flatnonzero(counts > k)
            outranked = values[indptr[longer] + k] > self_sim[longer]
            limit[longer[outranked]] = k + 1
        keep = (rank < np.repeat(limit, counts)) & (values > 0)
        indptr, indices, values = kept_indptr(indptr, keep), indices[keep], values[keep]
        self._rank_cache = sp.csr_matrix((np.asarray(values, dtype=np.float64), indices, indptr),
                                         shape=(n, n))
        return self._rank_cache

    def _popularity(self):
        indptr = self.y_indptr_ if self._axis == "user" else self.x_indptr_
        return np.diff(indptr).astype(np.float64)

    def _score_block(self, users, out=None, setup=None):
        """Dense scores of a block of users over every item (read by evaluation's full-ranking
        AUC; ``recommend`` never builds them: it runs the fused kernel)."""
        known = users >= 0
        scores = np.empty((len(users), self.n_items_))
        scores[~known] = self._popularity()
        if known.any():
            weights, sources = self._weights_and_sources(users=users[known])
            w = sp.csr_matrix((np.asarray(weights[2], dtype=np.float64), weights[1],
                               weights[0]), shape=(int(known.sum()), len(sources[0]) - 1))
            m = sp.csr_matrix((np.asarray(sources[2], dtype=np.float64), sources[1],
                               sources[0]), shape=(len(sources[0]) - 1, self.n_items_))
            scores[known] = np.asarray((w @ m).todense())
        return scores

    def _weights_and_sources(self, weights=None, users=None):
        """(weight CSR triple of the rows, source CSR triple) of the scoring kernel.

        ItemKNN: a user's ratings weigh the items' top-k lists. UserKNN: a
        user's top-k similarities weigh the neighbours' ratings. ``weights``
        gives the rows directly (fold-in); else the rows of internal ``users``.
        """
        lists = self._rank_lists()
        if self._axis == "user":
            sources = (self.x_indptr_, self.x_indices_, self.x_data_)
            rows = (lists.indptr, lists.indices, lists.data)
        else:
            sources = (lists.indptr, lists.indices, lists.data)
            rows = (self.y_indptr_, self.y_indices_, self.y_data_)
        if weights is None:
            weights = _take_rows(rows, users)
        return weights, sources

    def _fused_top(self, weights, sources, width, seen, columns):
        """Top-``width`` internal items and scores of weighted rows.

        ``seen``: an exclusion CSR ``(indptr, indices)`` or None. ``columns``
        (sorted candidate items) or None: the sources keep only those columns,
        renumbered by position, which leaves every candidate's sum as it was (the
        same products in the same order) -- the full ranking restricted to them.
        """
        n_rows = len(weights[0]) - 1
        n_cols = self.n_items_
        if columns is not None:
            n_cols = len(columns)
            sources = within_columns(*sources[:2], columns, sources[2])
            if seen is not None:
                seen = within_columns(*seen, columns)
        if seen is None:
            seen = (np.zeros(n_rows + 1, dtype=np.int64), np.zeros(0, dtype=np.int64))
        idx, val = run_scored_topk(*weights, *sources, n_cols, width, *seen,
                                   backend=self.backend, n_threads=self.n_threads)
        # padding (-1) lands on some candidate: meaningless, its score is NaN
        return (idx, val) if columns is None else (columns[idx], val)

    def recommend(self, users, n=10, *, exclude_seen=True, candidates=None,
                  return_unknown=False, rerank=None):
        """Top-``n`` items for each user, best first (see :meth:`Recommender.recommend`).

        The scores are never materialised: the fused
        :func:`fastcf.kernels.scored_topk` kernel scores each user sparsely
        and selects as it goes (O(n_items) memory per thread). ``candidates``
        exclude every other item, so the lists are the full ranking restricted
        to them, exactly.
        """
        self._check_is_fitted()
        if rerank is not None:
            return self._reranked(rerank, users, n, exclude_seen, candidates, return_unknown)
        n = check_int("n", n, min_value=1)
        u = self.user_index(_as_id_array(users, "users"))
        columns = None if candidates is None else self._candidate_columns(candidates)
        width = min(n, self.n_items_ if columns is None else len(columns))
        top_items = np.empty((len(u), width), dtype=np.int64)
        top_scores = np.empty((len(u), width), dtype=np.float64)
        known, unknown = u >= 0, u < 0
        if known.any():
            weights, sources = self._weights_and_sources(users=u[known])
            seen = self._seen_block(u[known]) if exclude_seen else None
            top_items[known], top_scores[known] = self._fused_top(weights, sources, width, seen,
                                                                  columns)
        if unknown.any():  # unknown users: the items by popularity
            popularity = self._popularity() if columns is None else self._popularity()[columns]
            idx, val = topk(popularity[None, :], width, backend=self.backend)
            top_items[unknown] = idx[0] if columns is None else columns[idx[0]]
            top_scores[unknown] = val[0]
        items = self.item_ids_[top_items]
        return (items, top_scores, unknown) if return_unknown else (items, top_scores)

    def recommend_new(self, ratings, n=10, *, exclude_seen=True, candidates=None):
        """Top-``n`` items for new users given only their ratings (fold-in, no refit).

        ``ratings`` is one ``{item id: rating}`` dict or a list of them; the
        result is that of :meth:`recommend` (items, scores), one row per user,
        with each user's rated items excluded when ``exclude_seen``.
        """
        self._check_is_fitted()
        n = check_int("n", n, min_value=1)
        q_indptr, q_indices, q_data = self._fold_in_csr(ratings)
        if self._axis == "user":
            bias = self._new_user_bias(q_indptr, q_indices, q_data) \
                if self.similarity == "pearson_baseline" else None
            top = self._similarity_of((q_indptr, q_indices, q_data),
                                      k=min(self.k, len(self.x_indptr_) - 1), query_bias=bias,
                                      shrinkage=self._ranking_shrinkage())
            positive = top.data > 0
            weights = (kept_indptr(top.indptr, positive), top.indices[positive],
                       top.data[positive].astype(np.float64))
        else:
            weights = (q_indptr, q_indices, q_data)
        weights, sources = self._weights_and_sources(weights=weights)
        columns = None if candidates is None else self._candidate_columns(candidates)
        width = min(n, self.n_items_ if columns is None else len(columns))
        seen = (q_indptr, q_indices) if exclude_seen else None
        idx, val = self._fused_top(weights, sources, width, seen, columns)
        return self.item_ids_[idx], val

    def _similar(self, ids, n, lookup, id_array):
        """Top-``n`` most similar targets of each id (self excluded), best first."""
        self._check_is_fitted()
        n_targets = len(self.x_indptr_) - 1
        n = check_int("n", n, min_value=1, max_value=max(n_targets - 1, 1))
        ids = _as_id_array(ids, "ids")
        targets = lookup(ids)
        _raise_unknown(ids, targets < 0, self._axis)
        rows = np.ascontiguousarray(self._similarity_rows(targets))
        diag = (np.arange(len(targets) + 1, dtype=np.int64), targets.astype(np.int64))
        idx, val = topk(rows, n, diag, backend=self.backend, n_threads=self.n_threads)
        return id_array[np.maximum(idx, 0)], val.astype(np.float64)


class UserKNN(_Ranking, _Neighborhood):
    r"""User-based k-nearest neighbours (Surprise's ``KNNBasic`` & co. with ``user_based=True``).

    Parameters
    ----------
    k : int
        Neighbours per prediction at most (Surprise: 40).
    min_k : int
        Fewer neighbours than this: the mode's fallback (Surprise: 1).
    similarity : str
        Any kind of :func:`fastcf.similarity` (Surprise's default: ``"msd"``).
    mode : {"basic", "means", "zscore", "baseline"}
        ``KNNBasic``, ``KNNWithMeans``, ``KNNWithZScore``, ``KNNBaseline``.
    min_support, shrinkage, min_sim : similarity options (see :func:`fastcf.similarity`)
        They define the similarities of ``predict``; ``similarity="dot"`` is the
        plain inner product (implicit's ``BM25Recommender``).
    max_neighbors : int, optional
        Keep only each user's ``max_neighbors`` most similar users at fit time
        (LensKit's ``save_nbrs``): memory O(n max_neighbors), predictions then
        choose among those. None keeps every similarity: a dense matrix when
        it fits ``_config.DENSE_SIMILARITY_BUDGET``, else computed on the fly
        per block of users at predict time (same predictions, no n x n matrix).
    weighting : {"none", "tfidf", "bm25"}
        Weigh the targets' rows (:mod:`fastcf.weighting`, implicit's
        ``tfidf_weight`` / ``bm25_weight``) before the similarity, which must
        then be ``"cosine_all"`` or ``"dot"``. The ratings themselves stay what
        ``predict`` averages and ``recommend`` sums.
    bm25_k1, bm25_b : float
        BM25's :math:`K_1 \ge 0` and :math:`0 \le B \le 1` (implicit's
        ``BM25Recommender``: 1.2, 0.75).
    rank_shrinkage : float >= 0, optional
        The shrinkage :math:`(n - 1) / (n - 1 + s)` of the similarities
        ``recommend`` ranks by. None: the model's own, except that with
        ``shrinkage=None`` the kinds computed over the co-rated columns alone
        (``pearson``, ``cosine``, ``msd``, ``adjusted_cosine``) rank shrunk by
        100 (see Notes).
    baseline_method : {"als", "sgd"}
        How the baseline biases of ``mode="baseline"`` and ``"pearson_baseline"``
        are fitted (:func:`fastcf.baseline.fit_biases`; Surprise's ``bsl_options``).
    baseline_epochs : int, optional
        None: the method's default (als 10, sgd 20).
    baseline_reg_user, baseline_reg_item : float
        ``"als"``'s regularisations (Surprise's ``reg_u``, ``reg_i``: 15, 10).
    baseline_lr, baseline_reg : float
        ``"sgd"``'s learning rate and regularisation (Surprise: 0.005, 0.02).
    dtype : {numpy.float32, numpy.float64}
        Similarity storage.
    clip : bool
        Clip predictions to the training ratings' range (Surprise clips to
        its ``Reader``'s ``rating_scale``).
    surprise_compat : bool
        Among equally similar neighbours, keep those whose rating was loaded
        first, as Surprise's ``heapq.nlargest`` does (each column's ratings are
        stored in the order of the data), instead of the lower index; needs
        ``dtype=np.float64``. Predictions and ``predict_details`` are then
        Surprise's wherever ties compete for the last of the ``k`` places.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        Results do not depend on it.

    Attributes
    ----------
    user_bias_, item_bias_ : ndarray of float64
        Surprise's baseline biases (:func:`fastcf.baseline.fit_biases`) where
        the model uses them (``mode="baseline"`` or ``similarity=
        "pearson_baseline"``), else empty: they are fitted only then.

    Notes
    -----
    ``predict`` returns Surprise's estimate (:mod:`fastcf.knn` has the exact
    formulas and fallbacks; :meth:`predict_details` Surprise's ``actual_k`` /
    ``was_impossible``), with the similarities as the parameters define them.

    ``recommend`` ranks items by the classic user-based top-N score
    :math:`\sum_{v \in N_k(u)} s'(u, v)\, r_{vi}` over each user's ``k`` most
    similar users by :math:`s'` (positive similarities), with :math:`s'` the
    similarity shrunk by ``rank_shrinkage``. By default that is the model's
    own similarity, except for ``pearson``, ``cosine``, ``msd`` and
    ``adjusted_cosine`` without a ``shrinkage``: over the co-rated columns
    alone, two users who share one or two items are +-1 similar, and such
    neighbours rank the catalogue worse than popularity (ML-100K, NDCG@10
    0.12-0.14 against 0.25); shrunk by 100 they reach 0.33-0.39
    (benchmarks/knn_ranking.py). Pass ``rank_shrinkage=0`` for the
    unshrunk ranking. An unknown user gets the items by popularity.
    ``predict_new`` / ``recommend_new`` fold in new users.
    """

    _axis = "user"

    def similar_users(self, users, n=10):
        """The ``n`` users most similar to each of ``users``, self excluded: (ids, sims)."""
        return self._similar(users, n, self.user_index, self.user_ids_)


class ItemKNN(_Ranking, _Neighborhood):
    r"""Item-based k-nearest neighbours (Surprise's ``KNNBasic`` & co. with ``user_based=False``).

    Parameters are those of :class:`UserKNN`, with items as the targets
    (``max_neighbors``: each item's most similar items).

    Notes
    -----
    ``predict`` returns Surprise's estimate, as for :class:`UserKNN`.

    ``recommend`` ranks items the way implicit's ``ItemItemRecommender``
    does: :math:`\sum_{j \in I(u)} r_{uj}\, s'(j, i)` over the ``k`` most
    similar items of each item the user rated (positive similarities), with
    :math:`s'` the similarity shrunk by ``rank_shrinkage`` (default: the
    model's own, shrunk by 100 for ``pearson``, ``cosine``, ``msd`` and
    ``adjusted_cosine`` without a ``shrinkage``; unshrunk, they fill the
    lists with items rated two to eight times and rank ML-100K's catalogue
    far below popularity, NDCG@10 0.002-0.08 against 0.25; shrunk, 0.31-0.35:
    benchmarks/knn_ranking.py). An unknown user gets the items by popularity.

    implicit's item-item recommenders, exactly (similarities and recommend
    scores, float64; implicit's ``K`` counts the item itself):

    - ``CosineRecommender(K)``: ``ItemKNN(k=K - 1, similarity="cosine_all")``;
    - ``TFIDFRecommender(K)``: ``ItemKNN(k=K - 1, similarity="cosine_all",
      weighting="tfidf")``;
    - ``BM25Recommender(K, K1, B)``: ``ItemKNN(k=K - 1, similarity="dot",
      weighting="bm25", bm25_k1=K1, bm25_b=B)``. A BM25 item may be less
      similar to itself than to a popular item; its list then holds ``k + 1``
      items, as implicit's.
    """

    _axis = "item"

    def similar_items(self, items, n=10):
        """The ``n`` items most similar to each of ``items``, self excluded: (ids, sims)."""
        return self._similar(items, n, self.item_index, self.item_ids_)
