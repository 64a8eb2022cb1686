r"""Re-rankers for models: ``model.recommend(users, n, rerank=MMR(...))``.

A re-ranker takes a model's top-``M`` items of each user (the candidates,
``M = candidates``, default ``10 n``; ``exclude_seen`` and ``candidates=`` of
``recommend`` honoured), re-ranks them to ``n`` with :func:`fastcf.rerank.mmr`
or :func:`fastcf.rerank.dpp`, and returns what ``recommend`` returns: the
items in pick order and the model's own scores of them (so no longer sorted).
``reranker.similarity_used_`` says what stood for item similarity in the last
call.

What "auto" picks, by model kind:

- a factor model (``_ranking_factors``: MF, SVD++, ALS, BPR; or ``item_factors_``:
  NMF): the cosine of the item factors (MMR and DPP);
- ``ItemKNN``: MMR uses the model's item-item similarity (dense, or its top-k
  lists made symmetric by :math:`\max(s_{ij}, s_{ji})`, absent pairs 0); DPP,
  which needs vectors, the truncated SVD below;
- any other model: MMR the cosine of the items' columns in the training
  interactions (binary, as the model kept them: its seen items), exact over
  the distinct candidates of the call while that matrix stays under
  ``RERANK_EXACT_COSINE_CELLS``; DPP (and MMR past that size) the cosine of
  the items' rows of a truncated SVD (``RERANK_SVD_FACTORS`` dimensions) of
  that matrix.
"""

from numbers import Real

import numpy as np
import scipy.sparse as sp

from .._config import RERANK_CANDIDATES_PER_ITEM, RERANK_EXACT_COSINE_CELLS, RERANK_SVD_FACTORS
from .._validation import check_bool, check_float, check_int, check_memory

#: The named item similarities (MMR) / item vectors (DPP) a re-ranker can use.
SOURCES = ("auto", "factors", "interactions")


def _vector_similarity():
    from . import VectorSimilarity

    return VectorSimilarity


def _vectors_of(similarity):
    """The item vectors a ``VectorSimilarity`` was built from."""
    for name in ("vectors", "item_vectors", "vectors_"):
        if hasattr(similarity, name):
            return np.asarray(getattr(similarity, name))
    raise TypeError("this VectorSimilarity does not expose its vectors.")


def _check_source(name, value, *, matrices):
    """``value`` if it is a named source, an ndarray, a sparse matrix or a VectorSimilarity."""
    if isinstance(value, str):
        if value not in SOURCES:
            raise ValueError(f"{name} == {value!r}, must be one of {SOURCES}, an ndarray, a "
                             "scipy sparse matrix or a fastcf.rerank.VectorSimilarity.")
        return value
    if isinstance(value, _vector_similarity()):
        return value
    if isinstance(value, np.ndarray) or sp.issparse(value):
        if value.ndim != 2:
            raise ValueError(f"{name} is {value.ndim}-d, must be 2-d {matrices}.")
        if value.dtype not in (np.float32, np.float64):
            raise TypeError(f"{name} has dtype {value.dtype}, must be float32 or float64.")
        return value
    raise TypeError(f"{name} must be one of {SOURCES}, an ndarray, a scipy sparse matrix or a "
                    f"fastcf.rerank.VectorSimilarity, got {type(value).__name__}.")


# ----------------------------------------------------------- what a model offers
def factor_vectors(model):
    """A model's item factors (n_items, k), or None for a model without them."""
    if hasattr(model, "_ranking_factors"):
        return np.asarray(model._ranking_factors()[1])
    vectors = getattr(model, "item_factors_", None)
    if isinstance(vectors, np.ndarray) and vectors.ndim == 2 and len(vectors) == model.n_items_:
        return vectors
    return None


def knn_similarity(model):
    """An ``ItemKNN``'s item-item similarity (dense, or its symmetric top-k CSR), or None."""
    if getattr(model, "_axis", None) != "item" or not hasattr(model, "storage_"):
        return None
    storage = str(model.storage_)
    if storage == "dense":
        return model.sim_
    n = model.n_items_
    if storage == "neighbors":
        lists = sp.csr_matrix((model.nbr_data_, model.nbr_indices_, model.nbr_indptr_),
                              shape=(n, n))
    else:  # on the fly: the top-k lists recommend sums over
        lists = model._rank_lists()
    return lists.maximum(lists.T).tocsr()


def interaction_columns(model):
    """The items' binary columns of the training interactions, CSR (n_items, n_users)."""
    indptr, indices = np.asarray(model.seen_indptr_), np.asarray(model.seen_indices_)
    if len(indices) == 0:
        raise ValueError(f"this {type(model).__name__} keeps no training interactions to "
                         "compare items by; give the item similarity as similarity= (MMR) "
                         "or the item vectors as vectors= (DPP).")
    rows = sp.csr_matrix((np.ones(len(indices)), indices, indptr),
                         shape=(len(indptr) - 1, model.n_items_))
    return rows.T.tocsr()


def column_cosine(columns, items):
    """Dense cosine (len(items), len(items)) of the rows ``items`` of ``columns``."""
    from ..kernels import similarity

    block = columns[items]
    block.sort_indices()
    return similarity(block.indptr, block.indices, block.data, block.shape[1], "cosine_all")


def svd_vectors(columns, factors=RERANK_SVD_FACTORS):
    """Item vectors of a truncated SVD of ``columns``: rows of :math:`V \\Sigma` (seeded)."""
    k = min(factors, min(columns.shape) - 1)
    if k < 1:  # one item or one user: the columns themselves
        return np.asarray(columns.todense(), dtype=np.float64)
    from scipy.sparse.linalg import svds

    start = np.random.default_rng(0).uniform(-1, 1, min(columns.shape))
    u, s, _ = svds(columns.astype(np.float64), k=k, v0=start, solver="arpack")
    return u * s


# ------------------------------------------------------------------ re-rankers
class Reranker:
    """What MMR and DPP share: the candidate pool, the (items, scores) plumbing."""

    def __init__(self, candidates=None):
        self.candidates = candidates
        self._check_params()

    def _check_params(self):
        if self.candidates is not None:
            check_int("candidates", self.candidates, min_value=1)

    def get_params(self):
        """The constructor parameters as a dict."""
        return {name: getattr(self, name) for name in self._param_names}

    def set_params(self, **params):
        """A copy with these parameters changed (checked)."""
        return type(self)(**{**self.get_params(), **params})

    def __repr__(self):
        shown = {k: (f"<{type(v).__name__}>" if not isinstance(v, (str, Real, type(None)))
                     else v) for k, v in self.get_params().items()}
        args = ", ".join(f"{k}={v!r}" if isinstance(v, (Real, type(None))) or v in SOURCES
                         else f"{k}={v}" for k, v in shown.items())
        return f"{type(self).__name__}({args})"

    def pool_size(self, n):
        """The number of candidates re-ranked to ``n`` items."""
        if self.candidates is None:
            return RERANK_CANDIDATES_PER_ITEM * n
        if self.candidates < n:
            raise ValueError(f"candidates == {self.candidates} is below n == {n}: the "
                             f"re-ranker picks n items among its candidates.")
        return self.candidates

    def recommend(self, model, users, n=10, *, exclude_seen=True, candidates=None,
                  return_unknown=False):
        """``model.recommend(users, n, rerank=self, ...)`` (see :func:`rerank_recommend`)."""
        return rerank_recommend(model, self, users, n, exclude_seen=exclude_seen,
                                candidates=candidates, return_unknown=return_unknown)

    def _interactions_vectors(self, model):
        vectors = svd_vectors(interaction_columns(model))
        self.similarity_used_ = (f"cosine of a truncated SVD ({vectors.shape[1]} dimensions) "
                                 "of the items' columns in the training interactions")
        return vectors

    def _factors(self, model, option):
        vectors = factor_vectors(model)
        if vectors is None:
            raise ValueError(f"{option} == 'factors' but {type(model).__name__} has no item "
                             f"factors; use {option}='interactions' or give them.")
        self.similarity_used_ = "cosine of the item factors"
        return vectors


def _check_rows(name, matrix, model):
    if matrix.shape[0] != model.n_items_:
        raise ValueError(f"{name} has {matrix.shape[0]} rows but the model has "
                         f"{model.n_items_} items; they must match.")


def _normalized(candidates, scores):
    """Each row's valid scores min-max scaled to [0, 1] (a constant row: all 1)."""
    valid = candidates >= 0
    low = np.where(valid, scores, np.inf).min(axis=1, keepdims=True)
    high = np.where(valid, scores, -np.inf).max(axis=1, keepdims=True)
    span = np.where(high > low, high - low, 1.0)
    out = np.where(valid, (scores - low) / span, 0.0)
    out[np.broadcast_to(high <= low, out.shape) & valid] = 1.0
    return out


class MMR(Reranker):
    r"""Maximal marginal relevance (Carbonell & Goldstein 1998) on a model's candidates.

    Each next item maximises :math:`\lambda s_i - (1 - \lambda) \max_{j \in S}
    \mathrm{sim}(i, j)` over the items :math:`S` already picked
    (:func:`fastcf.rerank.mmr`).

    Parameters
    ----------
    lambda_ : float in [0, 1]
        1: the model's order; 0: the least similar item each time (after the best).
    candidates : int >= 1, optional
        Items per user re-ranked (``M``, at least ``n``); default ``10 n``.
    similarity : "auto", "factors", "interactions", ndarray, sparse matrix or VectorSimilarity
        The item similarity. "auto": see :mod:`fastcf.rerank._rerankers`;
        "factors": cosine of the model's item factors; "interactions": cosine
        of the items' training columns; a (n_items, n_items) matrix over the
        model's internal items (sparse: absent pairs 0); or a
        :class:`fastcf.rerank.VectorSimilarity` of (n_items, d) vectors.
    normalize : bool
        Min-max scale each user's candidate scores to [0, 1] first, so that
        ``lambda_`` weighs relevance against similarity on the same scale for
        every model.

    Attributes
    ----------
    similarity_used_ : str
        What stood for the item similarity in the last call.
    """

    _param_names = ("lambda_", "candidates", "similarity", "normalize")

    def __init__(self, lambda_=0.5, candidates=None, similarity="auto", normalize=True):
        self.lambda_, self.similarity, self.normalize = lambda_, similarity, normalize
        super().__init__(candidates)

    def _check_params(self):
        super()._check_params()
        check_float("lambda_", self.lambda_, min_value=0.0, max_value=1.0)
        _check_source("similarity", self.similarity, matrices="(n_items, n_items)")
        check_bool("normalize", self.normalize)

    def _resolve(self, model, candidates):
        """(item similarity for the kernel, local items or None) for these candidates."""
        option = self.similarity
        if isinstance(option, _vector_similarity()):
            _check_rows("similarity's vectors", _vectors_of(option), model)
            self.similarity_used_ = "given vectors (VectorSimilarity)"
            return option, None
        if not isinstance(option, str):
            if option.shape[0] != option.shape[1]:
                raise ValueError(f"similarity.shape == {option.shape}, must be square "
                                 "(n_items, n_items).")
            _check_rows("similarity", option, model)
            self.similarity_used_ = "given matrix"
            return option, None
        if option == "factors" or (option == "auto" and factor_vectors(model) is not None):
            return _vector_similarity()(self._factors(model, "similarity"), normalize=True), None
        if option == "auto":
            knn = knn_similarity(model)
            if knn is not None:
                self.similarity_used_ = "the model's item-item similarity"
                return knn, None
        items = np.unique(candidates[candidates >= 0])
        columns = interaction_columns(model)
        if len(items) ** 2 > RERANK_EXACT_COSINE_CELLS:
            return _vector_similarity()(self._interactions_vectors(model), normalize=True), None
        self.similarity_used_ = ("cosine of the items' columns in the training interactions "
                                 "(binary)")
        return column_cosine(columns, items), items

    def select(self, model, candidates, scores, n):
        """Internal items (n_users, n) picked among ``candidates`` (internal, -1 padding)."""
        from . import mmr

        similarity, local = self._resolve(model, candidates)
        if self.normalize:
            scores = _normalized(candidates, scores)
        if local is not None:
            candidates = np.where(candidates >= 0, np.searchsorted(local, candidates), -1)
        selected = mmr(candidates, np.where(candidates >= 0, scores, 0.0), similarity, n,
                       self.lambda_, **_options(model))
        return selected if local is None else np.where(selected >= 0, local[selected], -1)


class DPP(Reranker):
    r"""Determinantal point process re-ranking (Chen, Zhang & Zhou 2018, fast greedy MAP).

    The kernel :math:`L_{ij} = r_i r_j S_{ij}`, :math:`S` the cosine of the
    item vectors, :math:`r_i = e^{\alpha s_i}`, :math:`\alpha = \theta / (2 (1 -
    \theta))` (:func:`fastcf.rerank.dpp`).

    Parameters
    ----------
    theta : float in [0, 1]
        Relevance against diversity: 0 ignores the scores; 1 the model's order.
    window : int >= 1, optional
        Sliding window: diversity only among the last ``window`` items picked.
    candidates : int >= 1, optional
        Items per user re-ranked (``M``, at least ``n``); default ``10 n``.
    vectors : "auto", "factors", "interactions", ndarray, sparse matrix or VectorSimilarity
        The item vectors (n_items, d): "auto" the model's item factors, else a
        truncated SVD of the items' training columns ("interactions").
    normalize : bool
        Min-max scale each user's candidate scores to [0, 1] first (``theta``
        then means the same for every model).

    Attributes
    ----------
    similarity_used_ : str
    """

    _param_names = ("theta", "window", "candidates", "vectors", "normalize")

    def __init__(self, theta=0.5, window=None, candidates=None, vectors="auto", normalize=True):
        self.theta, self.window, self.vectors, self.normalize = theta, window, vectors, normalize
        super().__init__(candidates)

    def _check_params(self):
        super()._check_params()
        check_float("theta", self.theta, min_value=0.0, max_value=1.0)
        if self.window is not None:
            check_int("window", self.window, min_value=1)
        _check_source("vectors", self.vectors, matrices="(n_items, d)")
        check_bool("normalize", self.normalize)

    def _resolve(self, model):
        option = self.vectors
        if isinstance(option, _vector_similarity()):
            vectors = _vectors_of(option)
            self.similarity_used_ = "cosine of the given vectors (VectorSimilarity)"
        elif isinstance(option, np.ndarray) or sp.issparse(option):
            if sp.issparse(option):
                check_memory(option.shape[0] * option.shape[1] * 8, "the dense item vectors")
                option = option.toarray()
            vectors = option
            self.similarity_used_ = "cosine of the given vectors"
        elif option == "factors" or (option == "auto" and factor_vectors(model) is not None):
            vectors = self._factors(model, "vectors")
        else:
            vectors = self._interactions_vectors(model)
        _check_rows("vectors", vectors, model)
        return np.ascontiguousarray(vectors)

    def select(self, model, candidates, scores, n):
        """Internal items (n_users, n) picked among ``candidates`` (internal, -1 padding)."""
        from . import dpp

        vectors = self._resolve(model)
        if self.normalize:
            scores = _normalized(candidates, scores)
        return dpp(candidates, np.where(candidates >= 0, scores, 0.0), vectors, n, self.theta,
                   self.window, **_options(model))


def _options(model):
    return {"backend": getattr(model, "backend", "auto"),
            "n_threads": getattr(model, "n_threads", None)}


def _positions(candidates, selected, n_items):
    """Column of each selected item in its row of ``candidates`` (-1 for padding)."""
    rows = np.arange(len(candidates), dtype=np.int64)[:, None] * (n_items + 1)
    keys = np.where(candidates >= 0, candidates, n_items) + rows
    order = np.argsort(keys, axis=1, kind="stable")
    flat = np.take_along_axis(keys, order, axis=1).ravel()
    found = np.searchsorted(flat, (np.where(selected >= 0, selected, n_items) + rows).ravel())
    columns = order.ravel()[np.minimum(found, len(flat) - 1)].reshape(selected.shape)
    return np.where(selected >= 0, columns, -1)


def rerank_recommend(model, reranker, users, n=10, *, exclude_seen=True, candidates=None,
                     return_unknown=False):
    """``model.recommend(users, n, rerank=reranker)``: top-``M``, re-ranked to ``n``.

    Returns
    -------
    items : ndarray, shape (n_users, m)
        External item ids in pick order, ``m = min(n, number of candidates)``.
    scores : ndarray of float64, shape (n_users, m)
        The model's scores of those items (as ``recommend`` gives them; not
        sorted); NaN marks padding, as in ``recommend``.
    unknown_users : ndarray of bool, only if ``return_unknown``
    """
    if not isinstance(reranker, Reranker):
        raise TypeError(f"rerank must be a fastcf.rerank.MMR or DPP, got "
                        f"{type(reranker).__name__}.")
    n = check_int("n", n, min_value=1)
    items, scores, unknown = model.recommend(users, reranker.pool_size(n),
                                             exclude_seen=exclude_seen, candidates=candidates,
                                             return_unknown=True)
    width = min(n, items.shape[1])
    valid = ~np.isnan(scores)
    pool = np.where(valid, model.item_index(items.ravel()).reshape(items.shape), -1)
    selected = reranker.select(model, pool, np.where(valid, scores, 0.0), width)
    picked = selected >= 0
    columns = _positions(pool, selected, model.n_items_)
    rows = np.arange(len(pool))[:, None]
    out_scores = np.where(picked, scores[rows, np.maximum(columns, 0)], np.nan)
    # padding keeps recommend's own meaningless ids, so MMR(lambda_=1) equals it bit for bit
    out_items = np.where(picked, items[rows, np.maximum(columns, 0)], items[:, :width])
    return (out_items, out_scores, unknown) if return_unknown else (out_items, out_scores)
