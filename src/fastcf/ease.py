r"""``EASE``: Steck's (2019) embarrassingly shallow autoencoder, a closed-form item-item model.

With :math:`X` the users x items interactions, binary (every stored entry is 1,
its rating value ignored), and :math:`\lambda` = ``reg``,

.. math::

    P = (X^T X + \lambda I)^{-1}, \qquad
    B = I - P \,\mathrm{diag}(1 / \mathrm{diag}\, P), \qquad
    s_{u} = X_u B,

i.e. :math:`B_{ji} = -P_{ji} / P_{ii}` off the diagonal and :math:`B_{ii} = 0`:
the ridge regression of each item's column on all the other items, solved
exactly. :math:`s_{ui}` is user :math:`u`'s score of item :math:`i` (a ranking
score, not a rating).
"""

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from ._config import PREDICT_CHUNK
from ._parallel import blas_threads, resolve_n_threads
from ._validation import check_float, check_int, check_memory, check_value_dtype
from .base import Recommender, _as_id_array, _raise_unknown, take_rows
from .kernels import topk
from .kernels._registry import check_backend
from .kernels.gram import run_gram
from .knn import _Ranking
from .persist import CSR, Array, Schema

#: Rows of the weight matrix per block when the lower triangle is mirrored and
#: the columns scaled (a block and its transpose stay in the cache).
_MIRROR_BLOCK = 256


def _weight_dims(model, known, arrays):
    """``n_dense``: the rows of a dense ``weights_`` (n_items, or 0 with ``top_k``)."""
    return {"n_dense": known["n_items"] if model.top_k is None else 0}


class EASE(Recommender):
    r"""Embarrassingly shallow autoencoder (Steck 2019) for implicit feedback.

    Parameters
    ----------
    reg : float > 0
        :math:`\lambda`, the L2 penalty added to the diagonal of the Gram
        matrix :math:`X^T X` (it must be positive: :math:`X^T X` alone is
        singular as soon as two items have the same users). Steck used
        100-1000; 500 suits MovieLens 100K.
    dtype : {numpy.float32, numpy.float64}
        Of the Gram matrix, its factorisation and the weights. float32 halves
        the memory (n_items² x 4 bytes) and the fit time.
    top_k : int >= 1, optional
        Keep only each item's ``top_k`` largest weights (the row :math:`B_j`,
        the other items its interaction raises most), a sparse :math:`B` for
        large catalogues: ``recommend`` then scores users with the fused sparse
        kernel (:func:`fastcf.kernels.scored_topk`) and the model file holds
        n_items x top_k weights. The fit still needs the dense n_items²
        matrix. None keeps the dense :math:`B`.
    n_threads : int or None
        Threads of the Gram kernel, of LAPACK / BLAS and of the top-k
        selection (scikit-learn's meaning). The Gram matrix and the top-k
        selection do not depend on it; LAPACK's blocked factorisation splits
        its work by thread count, so the last bits of :math:`B` may (relative
        differences ~1e-7 in float32, ~1e-16 in float64).
    backend : {"auto", "numba", "cython", "reference"}
        Of the Gram, top-k and scoring kernels.

    Attributes
    ----------
    weights_ : ndarray of dtype, shape (n_items, n_items), or (0, 0) with ``top_k``
        :math:`B`, row :math:`j` the weights item :math:`j` gives every item.
    sparse_indptr_, sparse_indices_, sparse_data_ : ndarray
        With ``top_k``: :math:`B`'s kept weights as a CSR (rows ascending by
        column); else an empty CSR.

    Notes
    -----
    The fit: the upper triangle of :math:`X^T X` by the sparse Gram kernel
    (:func:`fastcf.kernels.gram`, :math:`\sum_u |I_u|^2` operations, float64
    sums), :math:`\lambda` added to its diagonal, LAPACK's Cholesky
    factorisation (``potrf``) and inverse (``potri``) in place, then the
    triangle mirrored and the columns scaled in place: one n_items² matrix
    in all, refused beforehand (ValueError) when it does not fit in memory.

    ``predict`` returns :math:`s_{ui}` (``predicts_ratings`` is False); a user
    unknown at fit time gets the item's popularity (its number of users), the
    score by which ``recommend`` ranks items for unknown users; an unknown
    item gets 0. ``recommend_new`` / ``predict_new`` fold a new user in
    exactly (:math:`s = x_{new} B`, the rating values ignored as in the fit).
    ``similar_items(j)``: the items with the largest :math:`B_{ji}`.
    """

    predicts_ratings = False
    _state_schema = Schema({
        "weights_": Array("f", ("n_dense", "n_dense"), "dtype"),
        "sparse": CSR("n_items", "n_items", "n_kept", data="f", dtype_param="dtype"),
    }, dims=_weight_dims)

    def __init__(self, reg=500.0, dtype=np.float32, top_k=None, n_threads=None, backend="auto"):
        self.reg = reg
        self.dtype = dtype
        self.top_k = top_k
        self.n_threads = n_threads
        self.backend = backend

    def _check_params(self):
        check_float("reg", self.reg, min_value=0.0, min_inclusive=False)
        check_value_dtype(self.dtype)
        if self.top_k is not None:
            check_int("top_k", self.top_k, min_value=1)
        resolve_n_threads(self.n_threads)
        check_backend(self.backend)

    # ------------------------------------------------------------------- fit
    def _fit(self, data):
        dtype = np.dtype(self.dtype)
        n = data.n_items
        k = None if self.top_k is None else min(self.top_k, n)
        # the one n x n matrix (Gram -> factor -> inverse -> weights, in place) and,
        # with top_k, the top-k selection's (n, k) indices and values
        sparse_bytes = 0 if k is None else n * k * (16 + dtype.itemsize)
        check_memory(n * n * dtype.itemsize + sparse_bytes,
                     f"the {n:,} x {n:,} item-item matrix of EASE", n_items=n)
        weights = self._closed_form(data, dtype)
        if k is None:
            self.weights_ = weights
            self.sparse_indptr_ = np.zeros(n + 1, dtype=np.int64)
            self.sparse_indices_ = np.zeros(0, dtype=np.int64)
            self.sparse_data_ = np.zeros(0, dtype=dtype)
        else:
            self.weights_ = np.zeros((0, 0), dtype=dtype)
            self.sparse_indptr_, self.sparse_indices_, self.sparse_data_ = \
                self._keep_top(weights, k)
        self._sparse_cache = None

    def _closed_form(self, data, dtype):
        """:math:`B` (dense, C-contiguous, ``dtype``) of ``data``, in one n x n buffer."""
        n = data.n_items
        rows, cols = data.by_user, data.by_item
        ones_r, ones_c = np.ones(len(rows.indices)), np.ones(len(cols.indices))
        a = np.empty((n, n), dtype=dtype)
        # Only the upper triangle (row i, columns >= i): LAPACK reads one triangle. In
        # Fortran order a.T is the same memory and that triangle is its lower one.
        run_gram(rows.indptr, rows.indices, ones_r, cols.indptr, cols.indices, ones_c, a, True,
                 backend=self.backend, n_threads=self.n_threads)
        a.flat[::n + 1] += dtype.type(self.reg)
        potrf, potri = lapack.get_lapack_funcs(("potrf", "potri"), (a,))
        with blas_threads(self.n_threads):
            factor, info = potrf(a.T, lower=1, overwrite_a=1, clean=0)
            if info == 0:
                inverse, info = potri(factor, lower=1, overwrite_c=1)
        if info != 0:
            raise ValueError(f"reg == {self.reg!r}: X^T X + reg I is not positive definite in "
                             f"{dtype} (LAPACK info {info}); raise reg.")
        p = inverse.T  # C-contiguous again, the upper triangle valid
        if not p.flags.c_contiguous:  # not reached: potrf / potri work in place on a.T
            p = np.ascontiguousarray(p)
        scale = -1.0 / np.diag(p).astype(np.float64)
        _mirror_and_scale(p, scale.astype(dtype))
        return p

    def _keep_top(self, weights, k):
        """Each row's ``k`` largest weights (self excluded) as a CSR, columns ascending."""
        n = weights.shape[0]
        self_excluded = (np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int64))
        width = min(k, max(n - 1, 1))
        idx, val = topk(weights, width, self_excluded if n > 1 else None,
                        backend=self.backend, n_threads=self.n_threads)
        order = np.argsort(idx, axis=1, kind="stable")
        idx, val = np.take_along_axis(idx, order, 1), np.take_along_axis(val, order, 1)
        keep = idx >= 0
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(keep.sum(axis=1), out=indptr[1:])
        return indptr, idx[keep], val[keep].astype(weights.dtype)

    # ------------------------------------------------------------- helpers
    @property
    def _is_sparse(self):
        return self.weights_.size == 0 and self.n_items_ > 0

    def _sparse_weights(self):
        """:math:`B` as a scipy CSR (sparse models; built once, not saved)."""
        if getattr(self, "_sparse_cache", None) is None:
            self._sparse_cache = sp.csr_matrix(
                (self.sparse_data_, self.sparse_indices_, self.sparse_indptr_),
                shape=(self.n_items_, self.n_items_))
        return self._sparse_cache

    def _set_state(self, arrays, user_ids, item_ids):
        super()._set_state(arrays, user_ids, item_ids)
        self._sparse_cache = None

    def _popularity(self):
        """Users per item (float64): the fallback ranking of unknown users."""
        return np.bincount(self.seen_indices_, minlength=self.n_items_).astype(np.float64)

    def _rows(self, indptr, indices, rows):
        """Binary CSR (len(rows), n_items) of the ``rows`` of a CSR, in the model's dtype."""
        ptr, cols = take_rows(indptr, rows, indices)
        return sp.csr_matrix((np.ones(len(cols), dtype=self.weights_.dtype), cols, ptr),
                             shape=(len(rows), self.n_items_))

    def _pair_scores(self, indptr, indices, rows, items):
        r""":math:`\sum_{j \in I_r} B_{j i}` for each pair (``rows[p]``, ``items[p]``) of a
        CSR of item sets (float64, summed in the row's order)."""
        out = np.zeros(len(rows))
        for start in range(0, len(rows), PREDICT_CHUNK):
            chunk = slice(start, start + PREDICT_CHUNK)
            ptr, sources = take_rows(indptr, rows[chunk], indices)
            pair = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))
            targets = items[chunk][pair]
            if self._is_sparse:
                values = np.asarray(self._sparse_weights()[sources, targets]).ravel()
            else:
                values = self.weights_[sources, targets]
            out[chunk] = np.bincount(pair, weights=values.astype(np.float64),
                                     minlength=len(ptr) - 1)
        return out

    # --------------------------------------------------------------- predict
    def _predict_internal(self, users, items):
        scores = np.zeros(len(users))
        known = (users >= 0) & (items >= 0)
        scores[known] = self._pair_scores(self.seen_indptr_, self.seen_indices_, users[known],
                                          items[known])
        cold = (users < 0) & (items >= 0)
        scores[cold] = self._popularity()[items[cold]]
        return scores

    def _score_setup(self):
        return self._popularity()

    def _score_block(self, users, out=None, setup=None):
        """Dense scores :math:`X_u B` of a block of users (unknown users: popularity)."""
        known = users >= 0
        scores = np.empty((len(users), self.n_items_)) if out is None else out
        scores[~known] = self._popularity() if setup is None else setup
        if known.any():
            x = self._rows(self.seen_indptr_, self.seen_indices_, users[known])
            b = self._sparse_weights() if self._is_sparse else self.weights_
            product = x @ b
            scores[known] = product.toarray() if sp.issparse(product) else product
        return scores

    # ------------------------------------------------------------- recommend
    _fused_top = _Ranking._fused_top

    def _weights_and_sources(self, weights=None, users=None):
        """(user rows, :math:`B`'s rows) as CSR triples for the fused scoring kernel."""
        if weights is None:
            ptr, cols = take_rows(self.seen_indptr_, users, self.seen_indices_)
            weights = (ptr, cols, np.ones(len(cols)))
        return weights, (self.sparse_indptr_, self.sparse_indices_, self.sparse_data_)

    def recommend(self, users, n=10, *, exclude_seen=True, candidates=None,
                  return_unknown=False, rerank=None):
        """Top-``n`` items for each user, best first (see :meth:`Recommender.recommend`).

        A dense :math:`B` scores blocks of users (:math:`X_{block} B`) and
        ranks them with :func:`fastcf.topk`; a sparse one (``top_k``) never
        builds the scores: the fused :func:`fastcf.kernels.scored_topk` kernel
        sums the users' rows of :math:`B` and selects as it goes.
        """
        self._check_is_fitted()
        rank = _Ranking.recommend if self._is_sparse else Recommender.recommend
        return rank(self, users, n, exclude_seen=exclude_seen, candidates=candidates,
                    return_unknown=return_unknown, rerank=rerank)

    # --------------------------------------------------------------- fold-in
    def predict_new(self, ratings, items):
        """Scores of ``items`` for new users given only the items they have (fold-in).

        ``ratings``: one ``{item id: value}`` dict or a list of them (the values
        are ignored: an item present counts 1, as in the fit); ``items``: the
        items to score (one array per user for a list). Exact:
        :math:`s = x_{new} B`.
        """
        single, queries, user, item, sizes = self._fold_in_request(ratings, items)
        scores = self._pair_scores(queries[0], queries[1], user, item)
        return self._fold_in_result(scores, single, sizes)

    def recommend_new(self, ratings, n=10, *, exclude_seen=True, candidates=None):
        """Top-``n`` items for new users given only the items they have (fold-in, exact)."""
        self._check_is_fitted()
        n = check_int("n", n, min_value=1)
        queries = self._fold_in_csr(ratings)
        q_indptr, q_indices, _ = queries
        if self._is_sparse:
            weights, sources = self._weights_and_sources(
                weights=(q_indptr, q_indices, np.ones(len(q_indices))))
            columns = None if candidates is None else self._candidate_columns(candidates)
            width = min(n, self.n_items_ if columns is None else len(columns))
            seen = (q_indptr, q_indices) if exclude_seen else None
            idx, val = self._fused_top(weights, sources, width, seen, columns)
            return self.item_ids_[idx], val
        x = self._rows(q_indptr, q_indices, np.arange(len(q_indptr) - 1))
        with blas_threads(self.n_threads):
            scores = x @ self.weights_
        return self._rank_new(scores, queries, n, exclude_seen, candidates)

    def similar_items(self, items, n=10):
        """The ``n`` items with the largest weights :math:`B_{ji}` in each item
        :math:`j`'s row (what having :math:`j` adds to their scores), self
        excluded: (ids, weights)."""
        self._check_is_fitted()
        n = check_int("n", n, min_value=1, max_value=max(self.n_items_ - 1, 1))
        ids = _as_id_array(items, "items")
        idx = self.item_index(ids)
        _raise_unknown(ids, idx < 0, "item")
        if self._is_sparse:
            rows = self._sparse_weights()[idx].toarray()
        else:
            rows = self.weights_[idx]
        self_excluded = (np.arange(len(idx) + 1, dtype=np.int64), idx.astype(np.int64))
        top, val = topk(np.ascontiguousarray(rows), n, self_excluded, backend=self.backend,
                        n_threads=self.n_threads)
        return self.item_ids_[np.maximum(top, 0)], val.astype(np.float64)


def _mirror_and_scale(p, scale):
    """In place: the lower triangle of ``p`` from its upper one, then every column
    ``j`` times ``scale[j]`` and the diagonal 0 -- :math:`B` from :math:`P`'s upper
    triangle, block by block (no n x n temporary)."""
    n = p.shape[0]
    for lo in range(0, n, _MIRROR_BLOCK):
        hi = min(lo + _MIRROR_BLOCK, n)
        block = p[lo:hi, lo:hi]
        lower = np.tril_indices(hi - lo, -1)
        block[lower] = block.T[lower]
        for right in range(hi, n, _MIRROR_BLOCK):
            p[right:right + _MIRROR_BLOCK, lo:hi] = p[lo:hi, right:right + _MIRROR_BLOCK].T
    for lo in range(0, n, _MIRROR_BLOCK):
        np.multiply(p[lo:lo + _MIRROR_BLOCK], scale, out=p[lo:lo + _MIRROR_BLOCK])
    p.flat[::n + 1] = 0
