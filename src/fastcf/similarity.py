"""Public similarity API on :class:`~fastcf.Interactions`: ``similarity`` and ``similarity_to``.

Validates the input and runs the kernels of :mod:`fastcf.kernels.similarity`
(whose docstring gives the exact definition of every kind) on the data's
stored rows and their transpose.
"""

import numpy as np
import scipy.sparse as sp

from ._config import BASELINE_REG_ITEM, BASELINE_REG_USER
from ._validation import check_choice, check_rating_values
from .data import Interactions
from .kernels import bias_sweep
from .kernels.similarity import baselines_of, check_csr_input, check_options, run_similarity

AXES = ("user", "item")


def _as_interactions(x):
    """An ``Interactions`` for ``x`` (a CSR users x items matrix is checked, not fixed)."""
    if isinstance(x, Interactions):
        return x
    if not sp.issparse(x):
        raise TypeError(f"x must be an Interactions or a scipy CSR matrix, got "
                        f"{type(x).__name__}.")
    if x.format != "csr":
        raise TypeError(f"x is a scipy {x.format.upper()} matrix; pass a CSR one (x.tocsr()).")
    if x.ndim != 2:
        raise ValueError(f"x must be 2-d, got {x.ndim} dimensions.")
    indptr, indices, data = check_csr_input(x.indptr, x.indices, x.data, x.shape[1])
    return Interactions(indptr.copy(), indices.copy(), data.copy(), np.arange(x.shape[0]),
                        np.arange(x.shape[1]))


def fitted_baselines(data, axis, backend, n_threads):
    """``pearson_baseline``'s baselines: Surprise's ALS biases fitted on ``data``."""
    from .baseline import fit_biases

    return baselines_of(axis, *fit_biases(data, backend=backend, n_threads=n_threads))


def similarity(x, kind="pearson", axis="user", k=None, min_support=1, shrinkage=None,
               min_sim=None, dtype=np.float64, backend="auto", n_threads=None,
               max_dense_bytes=None):
    """Similarity between all users (``axis="user"``) or all items of ``x``.

    Parameters
    ----------
    x : Interactions or scipy.sparse CSR matrix (users x items)
        A CSR matrix must have sorted indices without repeats and float
        values; its rows and columns are the internal user and item indices.
    kind : {"pearson", "pearson_baseline", "cosine", "cosine_all", "adjusted_cosine", "msd",
            "jaccard", "dot"}
        See :mod:`fastcf.kernels.similarity` for the exact definitions
        (``pearson``, ``pearson_baseline``, ``cosine`` and ``msd`` are
        Surprise's; ``cosine_all`` is implicit's; ``adjusted_cosine`` LensKit's;
        ``dot`` the plain inner product, which implicit's ``BM25Recommender``
        takes of BM25-weighted rows: :mod:`fastcf.weighting`).
    axis : {"user", "item"}
    k : int, optional
        Return each row's top-k neighbours (1 <= k <= n - 1, self excluded),
        computed fused in O(n k) memory. None returns the dense n x n matrix,
        refused past ``max_dense_bytes`` (default 2 GiB, see ``_config``).
    min_support : int >= 1
        Pairs with fewer co-rated columns get 0 (at least 2 for ``pearson_baseline``).
    shrinkage : float >= 0, optional
        Multiply by (n - 1) / (n - 1 + shrinkage); default 100 for
        ``pearson_baseline`` (Surprise's), else 0.
    min_sim : float, optional
        Similarities below it become 0 (and are never neighbours).
    dtype : {numpy.float32, numpy.float64}
        Output dtype; sums are accumulated in float64 either way.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        scikit-learn's meaning; the result is identical for any value.
    max_dense_bytes : int, optional

    Returns
    -------
    ndarray of shape (n, n), or fastcf.data.CSR
        Dense similarities in internal order (``x.user_ids`` / ``x.item_ids``),
        or the neighbours as CSR (``indices``: neighbour rows, ``data``:
        similarities, each row best first, ties by lower index).

    Notes
    -----
    ``pearson_baseline`` uses Surprise's ALS baselines (reg_u=15, reg_i=10,
    10 epochs) fitted on ``x``. A row with zero variance (constant ratings)
    has Pearson similarity 0 with every other row.
    """
    data = _as_interactions(x)
    check_choice("axis", axis, AXES)
    rows, n_cols, transposed = data.orientation(axis)
    options = check_options(kind, k, rows.shape[0], min_support, shrinkage, min_sim, dtype,
                            self_similarity=True)
    baselines = None
    if kind == "pearson_baseline":
        baselines = fitted_baselines(data, axis, backend, n_threads)
    csr = (rows.indptr, rows.indices, rows.data)
    return run_similarity(kind, csr, csr, n_cols, options, baselines=baselines, backend=backend,
                          n_threads=n_threads, max_dense_bytes=max_dense_bytes,
                          transposed=transposed)


def _queries_csr(data, queries, axis):
    """Query rows as CSR over the axis' columns (internal column order)."""
    n_cols = data.n_items if axis == "user" else data.n_users
    if sp.issparse(queries):
        if queries.format != "csr":
            raise TypeError(f"queries is a scipy {queries.format.upper()} matrix; pass a CSR "
                            "one (queries.tocsr()).")
        if queries.ndim != 2 or queries.shape[1] != n_cols:
            raise ValueError(f"queries has shape {queries.shape}, must be (n_queries, {n_cols}).")
        return queries.indptr, queries.indices, queries.data
    if isinstance(queries, dict):
        queries = [queries]
    if not isinstance(queries, (list, tuple)) or not all(isinstance(q, dict) for q in queries):
        raise TypeError("queries must be a scipy CSR matrix or a list of dicts "
                        "{external column id: rating}.")
    if not queries:
        raise ValueError("queries is empty, must hold at least one query row.")
    lookup = data.item_index if axis == "user" else data.user_index
    indptr = np.zeros(len(queries) + 1, dtype=np.int64)
    cols, vals = [], []
    for r, query in enumerate(queries):
        ids = np.asarray(list(query.keys()), dtype=object)
        position = lookup(ids, strict=True) if len(ids) else np.empty(0, dtype=np.int64)
        values = check_rating_values(f"queries[{r}]", list(query.values()))
        order = np.argsort(position)
        cols.append(position[order])
        vals.append(values[order])
        indptr[r + 1] = indptr[r] + len(ids)
    return indptr, np.concatenate(cols).astype(np.int64), np.concatenate(vals)


def similarity_to(x, queries, kind="pearson", axis="user", k=None, min_support=1,
                  shrinkage=None, min_sim=None, dtype=np.float64, backend="auto",
                  n_threads=None, max_dense_bytes=None):
    """Similarity of query rows (e.g. a new user's ratings) to every row of ``x``.

    Serves cold-start users and on-the-fly user-user kNN: nothing of size
    n x n is built, and ``x`` is not refitted.

    Parameters
    ----------
    x : Interactions or scipy.sparse CSR matrix (users x items)
    queries : list of dict, dict, or scipy.sparse CSR matrix
        For ``axis="user"``: each query is a user's ratings, ``{external item
        id: rating}`` (ids unknown to ``x`` raise ValueError), or a CSR row
        over ``x``'s items in internal order. For ``axis="item"``, an item's
        ratings by ``x``'s users.
    kind, axis, k, min_support, shrinkage, min_sim, dtype, backend, n_threads, max_dense_bytes
        As in :func:`similarity`; ``k`` may be up to n (no row is "self").

    Returns
    -------
    ndarray of shape (n_queries, n), or fastcf.data.CSR

    Notes
    -----
    For ``pearson_baseline`` a query's own bias is one ALS step with the
    column biases of ``x`` fixed: :math:`b_q = \\sum (r - \\mu - b_c) / (\\lambda + n_q)`.
    """
    data = _as_interactions(x)
    check_choice("axis", axis, AXES)
    rows, n_cols, _ = data.orientation(axis)
    queries = check_csr_input(*_queries_csr(data, queries, axis), n_cols, prefix="queries ")
    options = check_options(kind, k, rows.shape[0], min_support, shrinkage, min_sim, dtype,
                            self_similarity=False)
    baselines = None
    if kind == "pearson_baseline":
        baselines = fitted_baselines(data, axis, backend, n_threads)
        row_reg = BASELINE_REG_USER if axis == "user" else BASELINE_REG_ITEM
        baselines["query_bias"] = bias_sweep(*queries, baselines["mu"], baselines["col_bias"],
                                             row_reg, backend=backend, n_threads=n_threads)
    return run_similarity(kind, queries, (rows.indptr, rows.indices, rows.data), n_cols,
                          options, baselines=baselines, backend=backend, n_threads=n_threads,
                          max_dense_bytes=max_dense_bytes)
