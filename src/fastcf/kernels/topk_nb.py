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
def _scan(values, lo, hi, heap_val, heap_idx, top, n_nan):
    """Offer ``values[lo:hi]`` (ascending columns) to the heap; new ``(top, n_nan)``."""
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
                heap_idx[0] = c
                sift_down(heap_val, heap_idx, 0, k)
                top = heap_val[0]
            else:  # NaN
                n_nan += 1
        col = end
    return top, n_nan


@numba.njit(**NUMBA_PARALLEL_JIT)
def topk(scores, k, ex_indptr, ex_indices, out_idx, out_val, nan_count):
    n_rows, n_cols = scores.shape
    for row in numba.prange(n_rows):
        values = scores[row]
        heap_val = out_val[row]
        heap_idx = out_idx[row]
        heap_val[:] = -np.inf
        heap_idx[:] = -1
        top = heap_val[0]
        n_nan = 0
        # Unsigned positions let Numba drop its wraparound checks (the wrapper
        # validated every index), as in baseline_nb.
        p, stop = np.uint64(ex_indptr[row]), np.uint64(ex_indptr[row + 1])
        lo = np.uint64(0)
        while True:
            hi = np.uint64(ex_indices[p]) if p < stop else np.uint64(n_cols)
            top, n_nan = _scan(values, lo, hi, heap_val, heap_idx, top, n_nan)
            if p >= stop:
                break
            if hi >= lo:  # first time this excluded column is met (rows may repeat one)
                if values[hi] != values[hi]:
                    n_nan += 1
                lo = hi + _ONE
            p += _ONE
        for end in range(k - 1, 0, -1):  # heap sort: worst to the back
            value, index = heap_val[end], heap_idx[end]
            heap_val[end], heap_idx[end] = heap_val[0], heap_idx[0]
            heap_val[0], heap_idx[0] = value, index
            sift_down(heap_val, heap_idx, 0, end)
        for slot in range(k):
            if heap_idx[slot] < 0:
                heap_val[slot] = np.nan
        nan_count[row] = n_nan
