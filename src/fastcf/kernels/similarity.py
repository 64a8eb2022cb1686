r"""Checked similarity kernels on raw CSR arrays.

For two rows :math:`x, y` of a rating matrix, :math:`C` is the set of
co-rated columns and :math:`n = |C|`. Per pair, in this order:

1. :math:`n <` ``min_support`` (at least 2 for ``pearson_baseline``, as in
   Surprise): similarity 0 and not a neighbour candidate.
2. The kind's similarity (sums over :math:`C` accumulated in float64):

   - ``pearson`` (Surprise's): :math:`\frac{n S_{xy} - S_x S_y}
     {\sqrt{(n S_{xx} - S_x^2)(n S_{yy} - S_y^2)}}`, i.e. Pearson with the
     means taken over :math:`C`; 0 when a variance is 0 (constant rows, n = 1).
   - ``pearson_baseline`` (Surprise's): the co-rated cosine of the residuals
     :math:`r - (\mu + b_{col} + b_{row})`.
   - ``cosine`` (Surprise's): :math:`S_{xy} / \sqrt{S_{xx} S_{yy}}` over C.
   - ``cosine_all`` (implicit's): :math:`\sum_C x y / (\|x\| \|y\|)` with
     norms over *all* entries of each row.
   - ``dot``: :math:`\sum_C x y`, the plain inner product (implicit's
     ``BM25Recommender`` on BM25-weighted rows; not bounded by 1).
   - ``adjusted_cosine`` (LensKit's item-item): ``cosine_all`` after
     subtracting each row's mean from its entries.
   - ``msd``: :math:`1 / (\frac1n \sum_C (x - y)^2 + 1)`.
   - ``jaccard``: :math:`n / (n_x + n_y - n)`.

   A zero denominator gives 0.
3. ``shrinkage`` :math:`s > 0`: multiply by :math:`(n - 1) / (n - 1 + s)`.
4. ``min_sim``: a similarity below it becomes 0 and not a candidate.

Pairs with no co-rated column are 0 (dense) or absent (top-k); a row's
similarity with itself is 1 in dense output (for ``dot`` too, by that
convention) and never one of its neighbours.
Top-k rows are sorted by similarity descending, ties by lower index first.

Numerical stability: ``pearson`` shifts each row by its own first value
before accumulating. The shift is exact in floating point when a row's values
are close (Sterbenz), so a constant row has exactly zero variance and adding
1e6 to every rating leaves the result bit-for-bit unchanged.
"""

from typing import NamedTuple

import numpy as np

from .._config import DENSE_SIMILARITY_BUDGET, PEARSON_BASELINE_SHRINKAGE, SIMILARITY_KINDS
from .._parallel import resolve_n_threads
from .._validation import (
    check_choice,
    check_csr_arrays,
    check_float,
    check_int,
    check_value_dtype,
)
from ..data import CSR
from ..reference import similarity as _reference
from . import _registry, csr_nb, similarity_nb

#: The kinds and their codes in the compiled kernels.
KINDS = dict(SIMILARITY_KINDS)
#: Kinds run by another kind's compiled kernel on rows prepared for it: ``dot`` is
#: ``cosine_all`` with every row's norm taken as 1, and a / (1 * 1) is a, exactly.
ALIASES = {"dot": "cosine_all"}
#: Every kind a caller may name.
NAMES = (*KINDS, *ALIASES)
DENSE, TOPK = "similarity_dense", "similarity_topk"
# The reference works on raw rows (dict loops): _run calls it with its own convention.
# "auto" runs Cython first: item-item top-40 on 1.74M ratings, Cython 0.38 s vs Numba
# 0.74 s (pearson), 0.25 vs 0.47 s (cosine_all): its finalisation screens pairs against
# the heap floor without sqrt or division, and prefetches.
for _family in (DENSE, TOPK):
    _registry.register(_family, numba=getattr(similarity_nb, _family),
                       cython=_registry.cython_kernel("_similarity", _family),
                       reference=_reference.similarity,
                       auto=("cython", "numba", "reference"))


def _row_of_entry(indptr):
    return np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))


def prepare_rows(indptr, indices, data, kind, row_bias=None, col_bias=None, mu=0.0):
    """The kernel's input for one CSR: prepared float64 values and row stats.

    See the module docstring: ``pearson`` shifts by each row's first value,
    ``pearson_baseline`` takes residuals, ``adjusted_cosine`` centres by the
    row mean; ``cosine_all`` / ``adjusted_cosine`` have the row L2 norm as
    stat, ``dot`` 1 (it runs ``cosine_all``'s kernel), ``jaccard`` the row's
    entry count.
    """
    values = np.asarray(data, dtype=np.float64)
    counts = np.diff(indptr)
    n_rows = len(counts)
    stat = np.zeros(n_rows)
    if kind == "pearson":
        first = values[np.minimum(indptr[:-1], max(len(values) - 1, 0))] if len(values) else stat
        values = values - np.repeat(first, counts)
    elif kind == "pearson_baseline":
        values = values - ((mu + col_bias[indices]) + np.repeat(row_bias, counts))
    elif kind == "adjusted_cosine":
        rows = _row_of_entry(indptr)
        sums = np.bincount(rows, weights=values, minlength=n_rows)
        means = np.divide(sums, counts, out=np.zeros(n_rows), where=counts > 0)
        # A constant row centres to exactly 0 (similarity 0), as in the reference:
        # its computed mean may be an ulp off (3 x 0.1 sums to 0.30000000000000004).
        first = np.zeros(n_rows)
        first[counts > 0] = values[indptr[:-1][counts > 0]]
        varied = np.bincount(rows, weights=values != first[rows], minlength=n_rows) > 0
        values = values - np.where(varied, means, first)[rows]
    if kind in ("cosine_all", "adjusted_cosine"):
        stat = np.sqrt(np.bincount(_row_of_entry(indptr), weights=values * values,
                                   minlength=n_rows))
    elif kind == "dot":
        stat = np.ones(n_rows)
    elif kind == "jaccard":
        stat = counts.astype(np.float64)
    return values, stat


def _common_index_dtype(*arrays):
    dtype = np.int64 if any(a.dtype == np.int64 for a in arrays) else np.int32
    return [np.ascontiguousarray(a, dtype=dtype) for a in arrays]


class Options(NamedTuple):
    """The per-pair options of a similarity job, resolved by :func:`check_options`."""

    k: int  # None: dense output
    min_support: int
    shrinkage: float
    min_sim: float
    dtype: np.dtype


def check_options(kind, k, n_targets, min_support, shrinkage, min_sim, dtype, self_similarity):
    """Validate the options shared by every entry point; return them resolved (:class:`Options`)."""
    check_choice("kind", kind, NAMES)
    if k is not None:
        limit = n_targets - 1 if self_similarity else n_targets
        k = check_int("k", k, min_value=1)
        if k > limit:
            what = "n - 1, a row is never its own neighbour" if self_similarity else "n_targets"
            raise ValueError(f"k == {k}, must be <= {limit} ({what}).")
    min_support = check_int("min_support", min_support, min_value=1)
    if shrinkage is None:
        shrinkage = PEARSON_BASELINE_SHRINKAGE if kind == "pearson_baseline" else 0.0
    shrinkage = check_float("shrinkage", shrinkage, min_value=0.0)
    min_sim = -np.inf if min_sim is None else check_float("min_sim", min_sim)
    if kind == "pearson_baseline":
        min_support = max(2, min_support)
    return Options(k, min_support, shrinkage, min_sim, check_value_dtype(dtype))


def _check_baselines(kind, baselines, n_rows, n_cols, n_queries=None):
    if kind != "pearson_baseline":
        return None
    if not isinstance(baselines, dict):
        raise ValueError("kind == 'pearson_baseline' needs baselines={'mu': float, 'row_bias': "
                         "(n_rows,), 'col_bias': (n_cols,)} (and 'query_bias' for queries).")
    out = {"mu": check_float("baselines['mu']", baselines.get("mu", np.nan))}
    shapes = {"row_bias": n_rows, "col_bias": n_cols}
    if n_queries is not None:
        shapes["query_bias"] = n_queries
    for name, size in shapes.items():
        arr = np.asarray(baselines.get(name, np.empty(0)), dtype=np.float64)
        if arr.shape != (size,) or not np.all(np.isfinite(arr)):
            raise ValueError(f"baselines[{name!r}] must be {size} finite floats.")
        out[name] = arr
    return out


def baselines_of(axis, mu, user_bias, item_bias, query_bias=None):
    r"""``pearson_baseline``'s ``baselines`` for rows of ``axis`` ("user" or "item").

    From the fitted :math:`\mu, b_u, b_i`; ``query_bias`` is the query rows'
    own biases (default: the rows', a self-similarity job).
    """
    row_bias, col_bias = (user_bias, item_bias) if axis == "user" else (item_bias, user_bias)
    return {"mu": float(mu), "row_bias": row_bias, "col_bias": col_bias,
            "query_bias": row_bias if query_bias is None else query_bias}


def _check_dense_budget(n_q, n_t, dtype, max_dense_bytes):
    budget = DENSE_SIMILARITY_BUDGET if max_dense_bytes is None else check_int(
        "max_dense_bytes", max_dense_bytes, min_value=0)
    need = n_q * n_t * np.dtype(dtype).itemsize
    if need > budget:
        raise ValueError(
            f"a dense {n_q:,} x {n_t:,} {np.dtype(dtype).name} similarity matrix needs "
            f"{need / 1024**3:.2f} GiB, over the {budget / 1024**3:.2f} GiB budget; pass k= to "
            "keep only each row's top-k neighbours (memory O(n k)), or raise max_dense_bytes.")


def narrowed(values):
    """``values`` as float32 when that is exact, else unchanged (float64).

    The kernels stream the transposed values once per pair update and widen
    each to float64 before any arithmetic, so the result is bit-identical and
    the accumulation ~25% faster (ratings on a 0.5 grid, their pearson shifts
    and centred integer ratings all qualify; residuals do not).
    """
    narrow = values.astype(np.float32)
    return narrow if np.array_equal(narrow, values) else values


def _run_reference(kind, q, t, q_self, k, min_support, shrinkage, min_sim, dtype, baselines):
    """Run the dict-based reference on raw rows; convert to the compiled output form."""
    def dict_rows(indptr, indices, data):
        return [{int(c): float(v) for c, v in zip(indices[indptr[r]:indptr[r + 1]],
                                                    data[indptr[r]:indptr[r + 1]])}
                for r in range(len(indptr) - 1)]

    ref_baselines = None
    if baselines is not None:
        ref_baselines = {"mu": baselines["mu"], "query_bias": list(baselines["query_bias"]),
                         "target_bias": list(baselines["row_bias"]),
                         "column_bias": list(baselines["col_bias"])}
    # min_support is already max(2, .) for pearson_baseline; the reference applies it too.
    result = _reference.similarity(
        dict_rows(*q), dict_rows(*t), kind, min_support=min_support, shrinkage=shrinkage,
        min_sim=None if min_sim == -np.inf else min_sim, k=k, self_index=list(q_self),
        baselines=ref_baselines)
    n_t = len(t[0]) - 1
    if k is None:
        return np.array(result, dtype=dtype).reshape(len(q[0]) - 1, n_t)
    counts = [len(row) for row in result]
    indptr = np.zeros(len(result) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.array([j for row in result for j, _ in row], dtype=np.int64)
    scores = np.array([s for row in result for _, s in row], dtype=dtype)
    return CSR(indptr, indices, scores, (len(result), n_t))


class Prepared(NamedTuple):
    """A validated similarity job, ready for a compiled kernel (see :func:`prepare`).

    The first fourteen fields are the kernels' leading arguments, in their order
    (:meth:`kernel_args`): the query rows (values prepared per kind, row stats,
    each row's own index among the targets or -1), the targets transposed
    (column-major, values narrowed where exact), the per-pair rule's options.
    """

    kind: int  # the code of KINDS
    q_indptr: np.ndarray
    q_indices: np.ndarray
    q_data: np.ndarray  # float64
    q_stat: np.ndarray
    q_self: np.ndarray  # int64
    t_indptr: np.ndarray  # of the transposed targets: one row per column
    t_indices: np.ndarray
    t_data: np.ndarray  # float32 where exact, else float64
    t_stat: np.ndarray
    t_after: np.ndarray  # self-similarity: each query entry's transposed position; else empty
    min_support: int
    shrinkage: float
    min_sim: float
    n_q: int
    n_t: int
    symmetric: bool  # self-similarity: each unordered pair computed once, by its lower row

    def kernel_args(self):
        """The compiled kernels' leading arguments (kind code to min_sim)."""
        return tuple(self)[:14]


def prepare(kind, q, t, n_cols, q_self, min_support, shrinkage, min_sim, baselines,
            transposed=None):
    """The compiled kernels' input for validated rows ``q`` against ``t`` (``q is t``: self).

    ``transposed`` is ``csr_nb.transpose``'s output for ``t`` when the caller
    already holds it (an ``Interactions`` keeps both orientations).
    """
    # No pair has more than n_cols co-rated columns, so a larger min_support means
    # the same (every pair 0); clipped, it fits the kernels' int64.
    min_support = min(min_support, n_cols + 1)
    bias = baselines or {}
    t_vals, t_stat = prepare_rows(*t, kind, bias.get("row_bias"), bias.get("col_bias"),
                                  bias.get("mu", 0.0))
    q_vals, q_stat = (t_vals, t_stat) if q is t else prepare_rows(
        *q, kind, bias.get("query_bias"), bias.get("col_bias"), bias.get("mu", 0.0))
    if transposed is None:
        transposed = csr_nb.transpose(t[0], t[1], n_cols)
    t_indptr, t_indices, order, where = transposed
    t_data = narrowed(t_vals[order])
    # Self-similarity visits each unordered pair once, from its lower row.
    t_after = where if q is t else np.empty(0, dtype=np.int64)
    q_indptr, q_indices, t_indptr, t_indices = _common_index_dtype(q[0], q[1], t_indptr,
                                                                   t_indices)
    return Prepared(KINDS[ALIASES.get(kind, kind)], q_indptr, q_indices, q_vals, q_stat,
                    np.asarray(q_self, np.int64), t_indptr, t_indices, t_data, t_stat, t_after,
                    min_support, shrinkage, min_sim, len(q[0]) - 1, len(t[0]) - 1, q is t)


def topk_partial(prepared, k, rows=None, backend="auto", n_threads=None):
    """Top-k of every row over the pairs computed by the query rows ``rows = (start, stop)``.

    For a self-similarity job the pairs of rows [start, stop) are those
    (q, j > q) with q in the range, each offered to both rows, so every row
    gets a partial list; the partial lists of ranges that cover all rows
    merge (:func:`merge_topk`) into exactly the whole job's top-k. Returns
    ``(top_idx int64 (n, k), top_val float64 (n, k), top_cnt int64 (n,))``,
    each row best first (similarity desc, index asc); ranked in float64.
    """
    kernel, name = _registry.get_kernel(TOPK, backend)
    if name == "reference":
        raise ValueError("backend 'reference' has no partial top-k; use 'numba' or 'cython'.")
    n_out = prepared.n_t if prepared.symmetric else prepared.n_q
    if rows is not None:
        if not prepared.symmetric:
            raise ValueError("rows= needs a self-similarity job.")
        start, stop = rows
        q_indptr = prepared.q_indptr  # the other rows keep their place, empty
        prepared = prepared._replace(q_indptr=np.clip(q_indptr, q_indptr[start],
                                                      q_indptr[stop]))
    top_idx = np.full((n_out, k), -1, dtype=np.int64)
    top_val = np.full((n_out, k), np.nan, dtype=np.float64)
    top_cnt = np.zeros(n_out, dtype=np.int64)
    _registry.run(kernel, name, (*prepared.kernel_args(), top_idx, top_val, top_cnt),
                  resolve_n_threads(n_threads), numba_takes_threads=True)
    return top_idx, top_val, top_cnt


def merge_topk(parts, k):
    """The top-k of each row over several :func:`topk_partial` results of one job.

    Every pair appears in exactly one part, so the merge is the top-k of the
    union under the strict order (similarity desc, index asc).
    """
    idx = np.concatenate([p[0] for p in parts], axis=1)
    val = np.concatenate([p[1] for p in parts], axis=1)
    valid = np.concatenate([np.arange(p[0].shape[1])[None, :] < p[2][:, None] for p in parts],
                           axis=1)
    key_val = np.where(valid, -val, np.inf)  # invalid slots last
    key_idx = np.where(valid, idx, np.iinfo(np.int64).max)
    order = np.lexsort((key_idx, key_val), axis=1)[:, :k]
    rows = np.arange(idx.shape[0])[:, None]
    count = np.minimum(valid.sum(axis=1), k)
    return idx[rows, order], val[rows, order], count


def topk_to_csr(top_idx, top_val, top_cnt, n_t, dtype):
    """A top-k result as the public CSR (row r's first top_cnt[r] entries)."""
    k = top_idx.shape[1]
    keep = np.arange(k)[None, :] < top_cnt[:, None]
    indptr = np.zeros(len(top_cnt) + 1, dtype=np.int64)
    np.cumsum(top_cnt, out=indptr[1:])
    return CSR(indptr, top_idx[keep], top_val[keep].astype(dtype, copy=False),
               (len(top_cnt), n_t))


def run_similarity(kind, q, t, n_cols, options, *, baselines=None, backend="auto",
                   n_threads=None, max_dense_bytes=None, transposed=None):
    """:func:`similarity` (``q is t``) or :func:`similarity_to` without the input checks.

    For rows valid by construction (an ``Interactions``' CSR, a fitted model's
    arrays): ``q`` and ``t`` are CSR triples ``(indptr, indices, data)`` over
    ``n_cols`` columns, ``options`` as :func:`check_options` returns them,
    ``baselines`` (``pearson_baseline`` only) ``{"mu", "row_bias", "col_bias",
    "query_bias"}`` in float64, ``transposed`` as in :func:`prepare`.
    """
    k, min_support, shrinkage, min_sim, dtype = options
    n_q, n_t = len(q[0]) - 1, len(t[0]) - 1
    q_self = np.arange(n_q) if q is t else np.full(n_q, -1)
    if k is None:
        _check_dense_budget(n_q, n_t, dtype, max_dense_bytes)
    kernel, name = _registry.get_kernel(DENSE if k is None else TOPK, backend)
    n_threads = resolve_n_threads(n_threads)
    if name == "reference":
        return _run_reference(kind, q, t, q_self, k, min(min_support, n_cols + 1), shrinkage,
                          min_sim, dtype, baselines)
    prepared = prepare(kind, q, t, n_cols, q_self, min_support, shrinkage, min_sim, baselines,
                       transposed)
    if k is None:
        out = np.zeros((n_q, n_t), dtype=dtype)
        _registry.run(kernel, name, (*prepared.kernel_args(), out), n_threads,
                      numba_takes_threads=True)
        return out
    # ranked in float64 either way: the float32 cast afterwards gives the same values
    return topk_to_csr(*topk_partial(prepared, k, None, name, n_threads), n_t, dtype)


def similarity(indptr, indices, data, n_cols, kind="pearson", *, k=None, min_support=1,
               shrinkage=None, min_sim=None, dtype=np.float64, baselines=None, backend="auto",
               n_threads=None, max_dense_bytes=None):
    """Similarities between all rows of a CSR matrix (see the module docstring).

    Parameters
    ----------
    indptr : ndarray of int32 or int64, shape (n_rows + 1,)
    indices : ndarray, same dtype as ``indptr``, shape (nnz,)
        Column of each entry; sorted and without repeats within each row.
    data : ndarray of float32 or float64, shape (nnz,)
        Finite values (ratings).
    n_cols : int
        Number of columns.
    kind : {"pearson", "pearson_baseline", "cosine", "cosine_all", "adjusted_cosine", "msd",
            "jaccard", "dot"}
    k : int, optional
        Keep each row's ``k`` best neighbours (1 <= k <= n_rows - 1), computed
        fused: O(n_rows k) memory, never a dense matrix. None: dense output.
    min_support : int >= 1
    shrinkage : float >= 0, optional
        Default 100 for ``pearson_baseline``, else 0.
    min_sim : float, optional
    dtype : {float32, float64}
        Output dtype (the sums are always float64).
    baselines : dict, optional
        ``pearson_baseline`` only: ``{"mu": float, "row_bias": (n_rows,),
        "col_bias": (n_cols,)}``.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        The result does not depend on it.
    max_dense_bytes : int, optional
        Budget of the dense output (default ``_config.DENSE_SIMILARITY_BUDGET``).

    Returns
    -------
    ndarray of shape (n_rows, n_rows), or CSR
        Dense similarities, or the top-k neighbours as a :class:`~fastcf.data.CSR`
        (``indices`` the neighbours, ``data`` their similarities, best first).
    """
    indptr, indices, data = check_csr_input(indptr, indices, data, n_cols)
    n_rows = len(indptr) - 1
    options = check_options(kind, k, n_rows, min_support, shrinkage, min_sim, dtype,
                            self_similarity=True)
    bias = _check_baselines(kind, baselines, n_rows, n_cols)
    if bias is not None:
        bias["query_bias"] = bias["row_bias"]
    rows = (indptr, indices, data)
    return run_similarity(kind, rows, rows, n_cols, options, baselines=bias, backend=backend,
                          n_threads=n_threads, max_dense_bytes=max_dense_bytes)


def similarity_to(q_indptr, q_indices, q_data, indptr, indices, data, n_cols, kind="pearson", *,
                  k=None, min_support=1, shrinkage=None, min_sim=None, dtype=np.float64,
                  baselines=None, backend="auto", n_threads=None, max_dense_bytes=None):
    """Similarities of query rows (e.g. new users) against every row of a CSR matrix.

    Same parameters as :func:`similarity`, plus the query CSR (``q_*``, over
    the same ``n_cols`` columns); ``baselines`` also needs ``"query_bias"``
    (n_queries,). Returns shape (n_queries, n_rows); no row is "self" here.
    """
    q_indptr, q_indices, q_data = check_csr_input(q_indptr, q_indices, q_data, n_cols,
                                                  prefix="q_")
    indptr, indices, data = check_csr_input(indptr, indices, data, n_cols)
    n_rows, n_q = len(indptr) - 1, len(q_indptr) - 1
    options = check_options(kind, k, n_rows, min_support, shrinkage, min_sim, dtype,
                            self_similarity=False)
    bias = _check_baselines(kind, baselines, n_rows, n_cols, n_queries=n_q)
    return run_similarity(kind, (q_indptr, q_indices, q_data), (indptr, indices, data), n_cols,
                          options, baselines=bias, backend=backend, n_threads=n_threads,
                          max_dense_bytes=max_dense_bytes)


def check_csr_input(indptr, indices, data, n_cols, prefix=""):
    """A CSR the kernels may trust: typed, shaped, sorted, no repeats, finite values.

    Nothing reaches a compiled kernel (bounds checks off) without this.
    """
    n_cols = check_int("n_cols", n_cols, min_value=1)
    indptr, indices, data = check_csr_arrays(
        indptr, indices, data, n_cols=n_cols,
        names=(f"{prefix}indptr", f"{prefix}indices", f"{prefix}data"))
    steps = np.diff(indices)
    row_starts = indptr[1:-1]
    interior = np.ones(len(steps), dtype=bool)
    interior[row_starts[(row_starts > 0) & (row_starts < len(indices))] - 1] = False
    bad = interior & (steps <= 0)
    if bad.any():
        what = "repeated" if np.any(interior & (steps == 0)) else "unsorted"
        raise ValueError(f"{prefix}indices are {what} within a row (first at entry "
                         f"{int(np.argmax(bad)) + 1}); sort them and sum or drop repeats "
                         "(scipy: m.sum_duplicates(); m.sort_indices()).")
    finite = np.isfinite(data)
    if not finite.all():
        raise ValueError(f"{prefix}data contain {int((~finite).sum())} NaN/inf values "
                         f"(first at entry {int(np.argmin(finite))}).")
    return indptr, indices, data
