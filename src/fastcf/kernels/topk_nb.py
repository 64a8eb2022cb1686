"""Numba kernel: row-wise top-k of a dense score block (see ``kernels.topk``).

Each row keeps a binary min-heap of ``k`` entries whose top is the *worst*
kept one (worse = lower value, or equal value and higher column). The heap
lives in the row's own output slots, so there is no scratch memory and each
``prange`` iteration writes only its own row. It starts full of sentinels
(value -inf, index -1), which every valid entry beats; columns are scanned in
ascending order, so a new entry beats the top exactly when its value is
strictly greater (on equal values the kept, lower column wins). A final
in-place heap sort leaves the row best first; slots still holding a sentinel
become index -1, value NaN.

Excluded columns come as a CSR whose rows are sorted (duplicates allowed):
the scan runs over the gaps between them, so a row costs
O(n_cols + n_excluded) comparisons plus O(log k) per heap replacement.

The scan is two-speed. Once the heap holds good entries almost nothing beats
its top, so the columns go in windows of ``WINDOW``: one branch-free count of
``value <= top`` over the window (LLVM vectorises it; 4.5x faster than the
plain loop on a cache-resident block) and only a window that fails is walked
entry by entry. A window always has ``WINDOW`` columns: near a gap's end it
reaches past it (near the row's end it starts earlier), so gaps between
excluded columns cost no scalar tail; a failure caused by a column outside
the gap only costs a walk of the gap's part of the window.

NaN never passes ``value <= top`` nor ``value > top``: it fails its window and
falls to a branch that only counts it, so the hot path pays nothing for
detecting it. Excluded cells are checked as they are skipped:
``nan_count[row]`` is the number of NaN in the whole row, and the wrapper
raises.
"""

import numba
import numpy as np

from .._config import NUMBA_JIT, NUMBA_PARALLEL_JIT
from .heap_nb import sift_down

#: Columns per vectorised check. 64 is the smallest trip count that LLVM
#: vectorises instead of fully unrolling into scalar compares (measured).
WINDOW = 64
_WINDOW = np.uint64(WINDOW)
_ONE = np.uint64(1)


@numba.njit(**NUMBA_JIT)
def _window_at_most(values, start, top):
    """Whether ``values[start:start + WINDOW]`` are all <= ``top`` (False on NaN)."""
    passed = 0
    for j in range(_WINDOW):
        passed += values[start + j] <= top
    return passed == WINDOW


@numba.njit(**NUMBA_JIT)
def _scan(values, lo, hi, heap_val, heap_idx, top, n_nan, first):
    """Offer ``values[lo:hi]`` (ascending columns; ``values[c]`` is column
    ``first + c``) to the heap; new ``(top, n_nan)``."""
    n_cols = np.uint64(values.shape[0])
    k = heap_val.shape[0]
    col = lo
    while col < hi:
        end = min(col + _WINDOW, hi)
        if n_cols >= _WINDOW and _window_at_most(values, min(col, n_cols - _WINDOW), top):
            col = end
            continue
        for c in range(col, end):
            value = values[c]
            if value <= top:
                continue
            if value > top:
                heap_val[0] = value
                heap_idx[0] = first + c
                sift_down(heap_val, heap_idx, 0, k)
                top = heap_val[0]
            else:  # NaN
                n_nan += 1
        col = end
    return top, n_nan


@numba.njit(**NUMBA_JIT)
def _offer_columns(values, first, excluded, heap_val, heap_idx):
    """Offer columns ``first .. first + len(values) - 1`` of a row (``values``
    holds them) to its heap, skipping the row's ``excluded`` columns
    (ascending, repeats allowed); returns the NaN count of those columns."""
    width = np.uint64(values.shape[0])
    first = np.uint64(first)
    # Unsigned positions let Numba drop its wraparound checks (the wrapper
    # validated every index), as in baseline_nb.
    p = np.uint64(np.searchsorted(excluded, first))
    stop = np.uint64(excluded.shape[0])
    top = heap_val[0]
    n_nan = 0
    lo = np.uint64(0)
    while True:
        hi = width
        if p < stop and np.uint64(excluded[p]) < first + width:
            hi = np.uint64(excluded[p]) - first
        top, n_nan = _scan(values, lo, hi, heap_val, heap_idx, top, n_nan, first)
        if hi == width:
            break
        if hi >= lo:  # first time this excluded column is met (rows may repeat one)
            if values[hi] != values[hi]:
                n_nan += 1
            lo = hi + _ONE
        p += _ONE
    return n_nan


@numba.njit(**NUMBA_JIT)
def _heap_start(heap_val, heap_idx):
    heap_val[:] = -np.inf
    heap_idx[:] = -1


@numba.njit(**NUMBA_JIT)
def _heap_finish(heap_val, heap_idx):
    """Heap-sort best first; slots still holding a sentinel get the value NaN."""
    k = heap_val.shape[0]
    for end in range(k - 1, 0, -1):  # worst to the back
        value, index = heap_val[end], heap_idx[end]
        heap_val[end], heap_idx[end] = heap_val[0], heap_idx[0]
        heap_val[0], heap_idx[0] = value, index
        sift_down(heap_val, heap_idx, 0, end)
    for slot in range(k):
        if heap_idx[slot] < 0:
            heap_val[slot] = np.nan


@numba.njit(**NUMBA_PARALLEL_JIT)
def topk(scores, k, ex_indptr, ex_indices, out_idx, out_val, nan_count):
    for row in numba.prange(scores.shape[0]):
        _heap_start(out_val[row], out_idx[row])
        excluded = ex_indices[ex_indptr[row]:ex_indptr[row + 1]]
        nan_count[row] = _offer_columns(scores[row], 0, excluded, out_val[row], out_idx[row])
        _heap_finish(out_val[row], out_idx[row])


@numba.njit(**NUMBA_PARALLEL_JIT)
def factor_topk(query, items, user_offset, item_offset, k, ex_indptr, ex_indices, out_idx,
                out_val, nan_count, scratch):
    """Top-k of ``query @ items.T + user_offset[:, None] + item_offset``.

    Rows go in tiles of ``scratch.shape[1]``, tile ``t`` to worker ``t % W``
    (``W = scratch.shape[0]``, each with its own slab, so the result does not
    depend on how many threads run the workers); a tile's scores are made
    ``scratch.shape[2]`` columns at a time (one BLAS product, sized to stay in
    cache), offsets added, and offered to the rows' heaps before the next
    columns overwrite them.
    """
    n_rows, n_cols = query.shape[0], items.shape[0]
    n_workers, tile_rows, tile_cols = scratch.shape
    n_tiles = (n_rows + tile_rows - 1) // tile_rows
    for worker in numba.prange(n_workers):
        slab = scratch[worker].ravel()
        for tile in range(worker, n_tiles, n_workers):
            first_row = tile * tile_rows
            rows = min(tile_rows, n_rows - first_row)
            for r in range(first_row, first_row + rows):
                _heap_start(out_val[r], out_idx[r])
                nan_count[r] = 0
            for first_col in range(0, n_cols, tile_cols):
                width = min(tile_cols, n_cols - first_col)
                block = slab[:rows * width].reshape((rows, width))
                np.dot(query[first_row:first_row + rows], items[first_col:first_col + width].T,
                       block)
                for r in range(rows):
                    row = first_row + r
                    base = user_offset[row]
                    values = block[r]
                    for c in range(width):
                        values[c] = values[c] + (base + item_offset[first_col + c])
                    nan_count[row] += _offer_columns(
                        values, first_col, ex_indices[ex_indptr[row]:ex_indptr[row + 1]],
                        out_val[row], out_idx[row])
            for r in range(first_row, first_row + rows):
                _heap_finish(out_val[r], out_idx[r])
