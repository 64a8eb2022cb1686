"""Checked public kernel: row-wise top-k of a dense score block, with exclusions."""

import numpy as np

from .._config import RECOMMEND_TILE_COLUMNS, RECOMMEND_TILE_ROWS
from .._parallel import blas_threads, resolve_n_threads
from .._validation import check_csr_arrays, check_int, check_value_matrix
from ..reference import topk as _reference
from . import _registry, topk_nb

FAMILY = "topk"
_registry.register(
    FAMILY, numba=topk_nb.topk, cython=_registry.cython_kernel("_topk", "topk"),
    reference=_reference.topk,
    # (1024 x 20k) float32 block, k=10: Cython 4.3 ms vs Numba 4.8 ms (2 threads),
    # 7.5 vs 8.5 ms (1 thread), and no JIT cost on a first recommend.
    auto=("cython", "numba", "reference"))

FACTOR_FAMILY = "factor_topk"
_registry.register(
    FACTOR_FAMILY, numba=topk_nb.factor_topk,
    cython=_registry.cython_kernel("_topk", "factor_topk"), reference=_reference.factor_topk,
    # top-10 of 60k users x 8k items from 64 float32 factors, 2 threads, 256 x 1024
    # tiles: Cython 2.29 s vs Numba 3.27 s at load average 11; at load 4, best of 3,
    # 0.40-0.81 s vs 0.47-0.97 s (both GEMM-bound; Cython also has no JIT cost).
    auto=("cython", "numba", "reference"))


def topk(scores, k, exclude=None, *, backend="auto", n_threads=None):
    r"""The ``k`` best columns of every row of a dense score block, best first.

    Row :math:`r` ranks its valid columns

    .. math::

        V_r = \{c : c \notin E_r,\ s_{rc} > -\infty\}

    by value descending, ties by the lower column first (a total order, so the
    result is fully determined and the same for every backend and thread
    count), and keeps the first ``k``. Cost is O(n_cols + |E_r|) per row plus
    O(log k) per heap replacement.

    Parameters
    ----------
    scores : ndarray of float32 or float64, shape (n_rows, n_cols)
        C-contiguous (copied with a warning otherwise); never modified.
        -inf means "never recommend"; NaN is an error.
    k : int
        Entries per row, ``1 <= k <= n_cols``.
    exclude : tuple (indptr, indices), optional
        CSR with ``n_rows`` rows: ``indices[indptr[r]:indptr[r + 1]]`` are the
        columns row ``r`` must skip. int32 or int64 (the same for both), every
        index in ``[0, n_cols)``, duplicates allowed. Rows whose columns are
        not ascending are sorted on a copy (O(nnz log nnz)); pass them sorted
        (as scipy's canonical CSR is) to skip that.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        scikit-learn's meaning; the result does not depend on it.

    Returns
    -------
    indices : ndarray of int64, shape (n_rows, k)
        Columns, best first; -1 in the trailing slots of a row with fewer than
        ``k`` valid entries.
    values : ndarray of scores.dtype, shape (n_rows, k)
        The scores of those columns; NaN in the trailing padding slots.

    Raises
    ------
    TypeError
        ``scores`` not a float32/float64 ndarray; ``exclude`` not a pair of
        int32/int64 arrays of one dtype.
    ValueError
        ``scores`` not 2-d or containing NaN; ``k`` out of range; ``exclude``
        with the wrong number of rows or an index outside ``[0, n_cols)``.
    """
    scores = check_value_matrix("scores", scores)
    n_rows, n_cols = scores.shape
    k = check_int("k", k, min_value=1)
    if k > n_cols:
        raise ValueError(f"k == {k}, must be <= n_cols == {n_cols}.")
    ex_indptr, ex_indices = _check_exclude(exclude, n_rows, n_cols)
    kernel, name = _registry.get_kernel(FAMILY, backend)
    n = resolve_n_threads(n_threads)

    out_idx = np.empty((n_rows, k), dtype=np.int64)
    out_val = np.empty((n_rows, k), dtype=scores.dtype)
    nan_count = np.zeros(n_rows, dtype=np.int64)
    args = (scores, k, ex_indptr, ex_indices, out_idx, out_val, nan_count)
    _registry.run(kernel, name, args, n)
    # The kernels count every NaN of each row at no cost on their hot path,
    # which spares a full isnan pass over the block here.
    if nan_count.any():
        row = int(np.argmax(nan_count > 0))
        col = int(np.argmax(np.isnan(scores[row])))
        raise ValueError(f"scores contain {int(nan_count.sum())} NaN values (first at row {row}, "
                         f"col {col}), must contain none; use -inf for entries never to return.")
    return out_idx, out_val


def factor_topk(query, items, k, user_offset=None, item_offset=None, exclude=None, *,
                backend="auto", n_threads=None):
    r"""The ``k`` best items of every query row under a factor model, best first.

    Row :math:`r` scores item :math:`i` by

    .. math::

        s_{ri} = q_r \cdot v_i + (a_r + b_i)

    (:math:`a` = ``user_offset``, :math:`b` = ``item_offset``, 0 when None),
    computed in the factors' dtype, and ranks them as :func:`topk` ranks a
    dense row (excluded columns skipped, ties by the lower item first). The
    score matrix is never formed: each thread computes a tile of rows a few
    columns at a time into its own cache-sized slab (one GEMM each) and feeds
    the rows' heaps from it, so memory is bounded by the tile size whatever
    ``n_rows x n_items``.

    Parameters
    ----------
    query : ndarray of float32 or float64, shape (n_rows, n_factors)
        C-contiguous (copied with a warning otherwise).
    items : ndarray of query.dtype, shape (n_items, n_factors)
    k : int
        ``1 <= k <= n_items``.
    user_offset : ndarray of query.dtype, shape (n_rows,), optional
    item_offset : ndarray of query.dtype, shape (n_items,), optional
    exclude : tuple (indptr, indices), optional
        Items each row must skip, as in :func:`topk`.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        scikit-learn's meaning; the result does not depend on it (BLAS runs
        one thread inside each of them).

    Returns
    -------
    indices : ndarray of int64, shape (n_rows, k)
        Items, best first; -1 in the trailing slots of a row with fewer than
        ``k`` items left.
    values : ndarray of query.dtype, shape (n_rows, k)
        Their scores; NaN in the padding slots.

    Raises
    ------
    TypeError
        A non-float array, or arrays of different dtypes.
    ValueError
        Shapes that do not match, ``k`` out of range, a bad ``exclude``, or
        factors / offsets that make a score NaN.
    """
    query = check_value_matrix("query", query)
    items = check_value_matrix("items", items)
    if items.dtype != query.dtype:
        raise TypeError(f"items.dtype == {items.dtype}, must be query.dtype == {query.dtype}.")
    if items.shape[1] != query.shape[1]:
        raise ValueError(f"items has {items.shape[1]} factors, must have query's "
                         f"{query.shape[1]}.")
    k = check_int("k", k, min_value=1)
    if k > len(items):
        raise ValueError(f"k == {k}, must be <= n_items == {len(items)}.")
    user_offset = _check_offset("user_offset", user_offset, len(query), query.dtype)
    item_offset = _check_offset("item_offset", item_offset, len(items), query.dtype)
    exclude = _check_exclude(exclude, len(query), len(items))
    return run_factor_topk(query, items, k, user_offset, item_offset, exclude,
                           backend=backend, n_threads=n_threads)


def run_factor_topk(query, items, k, user_offset, item_offset, exclude, *, backend="auto",
                    n_threads=None):
    """:func:`factor_topk` on arrays valid by construction (no checks; offsets may be None,
    ``exclude`` a CSR with ascending rows)."""
    kernel, name = _registry.get_kernel(FACTOR_FAMILY, backend)
    n = resolve_n_threads(n_threads)
    n_rows, n_cols = len(query), len(items)
    dtype = query.dtype
    user_offset = np.zeros(n_rows, dtype) if user_offset is None else user_offset
    item_offset = np.zeros(n_cols, dtype) if item_offset is None else item_offset
    tile_rows = max(1, min(RECOMMEND_TILE_ROWS, n_rows))
    tile_cols = max(1, min(RECOMMEND_TILE_COLUMNS, n_cols))
    # One slab per thread (per worker for Numba, whose prange gets a worker each)
    scratch = np.empty((min(n, max(1, -(-n_rows // tile_rows))), tile_rows, tile_cols), dtype)
    out_idx = np.empty((n_rows, k), dtype=np.int64)
    out_val = np.empty((n_rows, k), dtype=dtype)
    nan_count = np.zeros(n_rows, dtype=np.int64)
    args = (query, items, user_offset, item_offset, k, *exclude, out_idx, out_val, nan_count,
            scratch)
    with blas_threads(1):  # each thread runs its own products
        _registry.run(kernel, name, args, n)
    if nan_count.any():
        row = int(np.argmax(nan_count > 0))
        raise ValueError(f"the scores contain {int(nan_count.sum())} NaN values (first in row "
                         f"{row}), must contain none: the factors or offsets hold NaN or inf.")
    return out_idx, out_val


def _check_offset(name, offset, length, dtype):
    if offset is None:
        return None
    if not isinstance(offset, np.ndarray):
        raise TypeError(f"{name} must be a numpy array or None, got {type(offset).__name__}.")
    if offset.dtype != dtype:
        raise TypeError(f"{name}.dtype == {offset.dtype}, must be query.dtype == {dtype}.")
    if offset.shape != (length,):
        raise ValueError(f"{name}.shape == {offset.shape}, must be ({length},).")
    return np.ascontiguousarray(offset)


def _check_exclude(exclude, n_rows, n_cols):
    """Validated ``(indptr, indices)`` with every row ascending (an empty CSR for None)."""
    if exclude is None:
        return np.zeros(n_rows + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if not isinstance(exclude, tuple) or len(exclude) != 2:
        raise TypeError("exclude must be None or a tuple (indptr, indices), got "
                        f"{type(exclude).__name__}.")
    indptr, indices, _ = check_csr_arrays(*exclude, None, n_cols=n_cols, require_data=False,
                                          names=("exclude indptr", "exclude indices", ""))
    if len(indptr) - 1 != n_rows:
        raise ValueError(f"exclude has {len(indptr) - 1} rows, must have n_rows == {n_rows}.")
    descents = np.flatnonzero(indices[1:] < indices[:-1]) + 1
    if len(descents) and not np.isin(descents, indptr).all():  # some row is not ascending
        rows = np.repeat(np.arange(n_rows), np.diff(indptr))
        indices = indices[np.lexsort((indices, rows))]
    return indptr, indices

