"""Cython twin of ``topk_nb``: row-wise top-k of a dense score block.

Same algorithm, same result bit for bit: a per-row min-heap (worst on top)
held in the row's own output slots, filled with (-inf, -1) sentinels, fed by
an ascending column scan over the gaps between the row's sorted excluded
columns — in windows of ``WINDOW`` columns checked by one branch-free count
that the compiler vectorises, walking entry by entry only the windows where
something beats the heap's top — then heap-sorted best first. NaN is counted
(excluded cells included), never kept.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport INFINITY, NAN
from libc.stdint cimport int32_t, int64_t

from ._heap cimport _sift_down

ctypedef fused index_t:
    int32_t
    int64_t

cdef enum:
    WINDOW = 64  # columns per vectorised check, as in topk_nb


cdef inline bint _window_at_most(const floating* values, floating top) noexcept nogil:
    """Whether ``values[:WINDOW]`` are all <= ``top`` (False on NaN)."""
    cdef int passed = 0
    cdef Py_ssize_t j
    for j in range(WINDOW):
        passed += values[j] <= top
    return passed == WINDOW


cdef inline void _scan(const floating* values, Py_ssize_t n_cols, Py_ssize_t lo, Py_ssize_t hi,
                       Py_ssize_t k, int64_t* heap_idx, floating* heap_val,
                       int64_t* n_nan) noexcept nogil:
    """Offer ``values[lo:hi]`` (ascending columns) to the heap, counting NaN."""
    cdef Py_ssize_t col = lo, end, c
    cdef floating value, top = heap_val[0]
    while col < hi:
        end = col + WINDOW if col + WINDOW < hi else hi
        if n_cols >= WINDOW and _window_at_most(
                values + (col if col < n_cols - WINDOW else n_cols - WINDOW), top):
            col = end
            continue
        for c in range(col, end):
            value = values[c]
            if value <= top:
                continue
            if value > top:
                heap_val[0] = value
                heap_idx[0] = c
                _sift_down(heap_val, heap_idx, 0, k)
                top = heap_val[0]
            else:  # NaN
                n_nan[0] += 1
        col = end


cdef int64_t _topk_row(const floating* values, Py_ssize_t n_cols, Py_ssize_t k,
                       const index_t* excluded, Py_ssize_t n_excluded,
                       int64_t* heap_idx, floating* heap_val) noexcept nogil:
    """Top-k of one row into ``heap_idx`` / ``heap_val``; returns the row's NaN count."""
    cdef Py_ssize_t lo = 0, hi, p = 0, end, slot
    cdef floating value
    cdef int64_t index, n_nan = 0
    for slot in range(k):
        heap_val[slot] = -INFINITY
        heap_idx[slot] = -1
    while True:
        hi = <Py_ssize_t>excluded[p] if p < n_excluded else n_cols
        _scan(values, n_cols, lo, hi, k, heap_idx, heap_val, &n_nan)
        if p >= n_excluded:
            break
        if hi >= lo:  # first time this excluded column is met (rows may repeat one)
            if values[hi] != values[hi]:
                n_nan += 1
            lo = hi + 1
        p += 1
    for end in range(k - 1, 0, -1):  # heap sort: worst to the back
        value, index = heap_val[end], heap_idx[end]
        heap_val[end], heap_idx[end] = heap_val[0], heap_idx[0]
        heap_val[0], heap_idx[0] = value, index
        _sift_down(heap_val, heap_idx, 0, end)
    for slot in range(k):
        if heap_idx[slot] < 0:
            heap_val[slot] = NAN
    return n_nan


def topk(const floating[:, ::1] scores, Py_ssize_t k, const index_t[::1] ex_indptr,
         const index_t[::1] ex_indices, int64_t[:, ::1] out_idx, floating[:, ::1] out_val,
         int64_t[::1] nan_count, int n_threads):
    cdef Py_ssize_t row, n_rows = scores.shape[0], n_cols = scores.shape[1]
    # An empty exclusion CSR has a zero-length indices view: point at a dummy.
    cdef index_t dummy = 0
    cdef const index_t* ex = &ex_indices[0] if ex_indices.shape[0] > 0 else &dummy
    with nogil:
        for row in prange(n_rows, num_threads=n_threads, schedule="static"):
            nan_count[row] = _topk_row(&scores[row, 0], n_cols, k, ex + ex_indptr[row],
                                       ex_indptr[row + 1] - ex_indptr[row],
                                       &out_idx[row, 0], &out_val[row, 0])
