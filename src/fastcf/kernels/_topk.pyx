"""Cython twin of ``topk_nb``: row-wise top-k of a dense score block.

Same algorithm, same result bit for bit: a per-row min-heap (worst on top)
held in the row's own output slots, filled with (-inf, -1) sentinels, fed by
an ascending column scan over the gaps between the row's sorted excluded
columns — in windows of ``WINDOW`` columns checked by one branch-free count
that the compiler vectorises, walking entry by entry only the windows where
something beats the heap's top — then heap-sorted best first. NaN is counted
(excluded cells included), never kept.
"""

from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer
from cython cimport floating
from cython.parallel cimport prange, threadid
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
                       Py_ssize_t k, int64_t* heap_idx, floating* heap_val, int64_t* n_nan,
                       Py_ssize_t first) noexcept nogil:
    """Offer ``values[lo:hi]`` (ascending columns; ``values[c]`` is column ``first + c``)
    to the heap, counting NaN. Windows read only ``values[:n_cols]``."""
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
                heap_idx[0] = first + c
                _sift_down(heap_val, heap_idx, 0, k)
                top = heap_val[0]
            else:  # NaN
                n_nan[0] += 1
        col = end


cdef inline void _heap_start(Py_ssize_t k, int64_t* heap_idx, floating* heap_val) noexcept nogil:
    cdef Py_ssize_t slot
    for slot in range(k):
        heap_val[slot] = -INFINITY
        heap_idx[slot] = -1


cdef inline void _heap_finish(Py_ssize_t k, int64_t* heap_idx, floating* heap_val) noexcept nogil:
    """Heap-sort best first; slots still holding a sentinel get the value NaN."""
    cdef Py_ssize_t end, slot
    cdef floating value
    cdef int64_t index
    for end in range(k - 1, 0, -1):  # worst to the back
        value, index = heap_val[end], heap_idx[end]
        heap_val[end], heap_idx[end] = heap_val[0], heap_idx[0]
        heap_val[0], heap_idx[0] = value, index
        _sift_down(heap_val, heap_idx, 0, end)
    for slot in range(k):
        if heap_idx[slot] < 0:
            heap_val[slot] = NAN


cdef int64_t _offer_columns(const floating* values, Py_ssize_t width, Py_ssize_t first,
                            Py_ssize_t k, const index_t* excluded, Py_ssize_t n_excluded,
                            int64_t* heap_idx, floating* heap_val) noexcept nogil:
    """Offer columns ``first .. first + width - 1`` of a row (``values`` points at
    column ``first``) to its heap, skipping its excluded columns (ascending,
    repeats allowed); returns the NaN count of those columns."""
    cdef Py_ssize_t lo = 0, hi, p = 0, right = n_excluded
    cdef Py_ssize_t mid
    cdef int64_t n_nan = 0
    while p < right:  # first excluded column >= first
        mid = (p + right) >> 1
        if excluded[mid] < first:
            p = mid + 1
        else:
            right = mid
    while True:
        if p < n_excluded and excluded[p] < first + width:
            hi = <Py_ssize_t>excluded[p] - first
        else:
            hi = width
        _scan(values, width, lo, hi, k, heap_idx, heap_val, &n_nan, first)
        if hi == width:
            break
        if hi >= lo:  # first time this excluded column is met (rows may repeat one)
            if values[hi] != values[hi]:
                n_nan += 1
            lo = hi + 1
        p += 1
    return n_nan


cdef int64_t _topk_row(const floating* values, Py_ssize_t n_cols, Py_ssize_t k,
                       const index_t* excluded, Py_ssize_t n_excluded,
                       int64_t* heap_idx, floating* heap_val) noexcept nogil:
    """Top-k of one row into ``heap_idx`` / ``heap_val``; returns the row's NaN count."""
    cdef int64_t n_nan
    _heap_start(k, heap_idx, heap_val)
    n_nan = _offer_columns(values, n_cols, 0, k, excluded, n_excluded, heap_idx, heap_val)
    _heap_finish(k, heap_idx, heap_val)
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


# BLAS through the function pointers scipy exports (scipy.linalg.cython_blas),
# fetched when first needed: building needs no scipy headers, and the library
# is the one scipy (and Numba's np.dot) call, under the same threadpoolctl limits.
ctypedef void (*sgemm_t)(char*, char*, int*, int*, int*, float*, float*, int*, float*, int*,
                         float*, float*, int*) noexcept nogil
ctypedef void (*dgemm_t)(char*, char*, int*, int*, int*, double*, double*, int*, double*,
                         int*, double*, double*, int*) noexcept nogil

cdef sgemm_t _sgemm = NULL
cdef dgemm_t _dgemm = NULL


cdef void* _blas_function(str name) except NULL:
    from scipy.linalg import cython_blas
    capsule = cython_blas.__pyx_capi__[name]
    return PyCapsule_GetPointer(capsule, PyCapsule_GetName(capsule))


cdef void _score_tile(const floating* query, const floating* items, const floating* user_offset,
                      const floating* item_offset, int n_users, int width, int n_factors,
                      floating* out) noexcept nogil:
    """``out`` (n_users, width), row-major: ``query @ items.T`` plus both offsets.

    The offsets are written first and the product added by GEMM (beta = 1):
    each cell is ``dot + (user_offset + item_offset)``, as topk_nb computes it.
    """
    cdef Py_ssize_t r, c
    cdef floating base
    cdef floating one = 1.0
    cdef char trans = b"T"
    cdef char no_trans = b"N"
    for r in range(n_users):
        base = user_offset[r]
        for c in range(width):
            out[r * width + c] = base + item_offset[c]
    # Row-major out is column-major out.T (width x n_users) = items (width x f,
    # column-major: items.T with lda f, transposed) times query.T (f x n_users).
    if floating is float:
        _sgemm(&trans, &no_trans, &width, &n_users, &n_factors, &one, <float*>items,
               &n_factors, <float*>query, &n_factors, &one, out, &width)
    else:
        _dgemm(&trans, &no_trans, &width, &n_users, &n_factors, &one, <double*>items,
               &n_factors, <double*>query, &n_factors, &one, out, &width)


def factor_topk(const floating[:, ::1] query, const floating[:, ::1] items,
                const floating[::1] user_offset, const floating[::1] item_offset,
                Py_ssize_t k, const index_t[::1] ex_indptr, const index_t[::1] ex_indices,
                int64_t[:, ::1] out_idx, floating[:, ::1] out_val, int64_t[::1] nan_count,
                floating[:, :, ::1] scratch, int n_threads):
    """Top-k of ``query @ items.T + user_offset[:, None] + item_offset`` (see topk_nb).

    Rows go in tiles of ``scratch.shape[1]`` handed out to the threads; a tile's
    scores are made ``scratch.shape[2]`` columns at a time in the thread's own
    ``scratch`` slab (one GEMM each, sized to stay in cache) and offered to the
    rows' heaps before the next columns overwrite them.
    """
    global _sgemm, _dgemm
    if _sgemm == NULL:
        _sgemm = <sgemm_t>_blas_function("sgemm")
        _dgemm = <dgemm_t>_blas_function("dgemm")
    cdef Py_ssize_t n_rows = query.shape[0], n_factors = query.shape[1]
    cdef Py_ssize_t n_cols = items.shape[0]
    cdef Py_ssize_t tile_rows = scratch.shape[1], tile_cols = scratch.shape[2]
    cdef Py_ssize_t n_tiles = (n_rows + tile_rows - 1) // tile_rows
    cdef Py_ssize_t tile, first_row, rows, chunk, first_col, width, r, row
    cdef floating* slab
    cdef index_t dummy = 0
    cdef const index_t* ex = &ex_indices[0] if ex_indices.shape[0] > 0 else &dummy
    if n_rows == 0:
        return
    n_threads = min(n_threads, scratch.shape[0])  # a slab per thread
    with nogil:
        for tile in prange(n_tiles, num_threads=n_threads, schedule="dynamic"):
            slab = &scratch[threadid(), 0, 0]
            first_row = tile * tile_rows
            rows = min(tile_rows, n_rows - first_row)
            for r in range(rows):
                _heap_start(k, &out_idx[first_row + r, 0], &out_val[first_row + r, 0])
                nan_count[first_row + r] = 0
            for chunk in range((n_cols + tile_cols - 1) // tile_cols):
                first_col = chunk * tile_cols
                width = min(tile_cols, n_cols - first_col)
                _score_tile(&query[first_row, 0], &items[first_col, 0],
                            &user_offset[first_row], &item_offset[first_col],
                            <int>rows, <int>width, <int>n_factors, slab)
                for r in range(rows):
                    row = first_row + r
                    nan_count[row] += _offer_columns(
                        slab + r * width, width, first_col, k, ex + ex_indptr[row],
                        ex_indptr[row + 1] - ex_indptr[row], &out_idx[row, 0], &out_val[row, 0])
            for r in range(rows):
                _heap_finish(k, &out_idx[first_row + r, 0], &out_val[first_row + r, 0])
