"""Cython twin of ``scoring_nb``: sparse scoring fused with a top-n selection.

One OpenMP thread per row (handed out dynamically), each thread with its own
scratch (a dense accumulator over the columns, touched / excluded marks, the
touched list, an n-heap from ``_heap.pxd``); every row is computed in one
fixed order, so the result does not depend on the thread count. The steps are
those of the Numba kernel, described in its module docstring.
"""

from cython.parallel cimport parallel, prange
from libc.math cimport NAN
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport calloc, free, malloc

from ._heap cimport _heap_push, _heap_sort, _worse


def scored_topk(const int64_t[::1] w_indptr, const int64_t[::1] w_indices,
                const double[::1] w_data, const int64_t[::1] m_indptr,
                const int64_t[::1] m_indices, const double[::1] m_data, Py_ssize_t n_cols,
                const int64_t[::1] ex_indptr, const int64_t[::1] ex_indices,
                int64_t[:, ::1] out_idx, double[:, ::1] out_val, int n_threads):
    """Same contract as ``kernels.scoring.scored_topk`` (arrays already checked)."""
    cdef Py_ssize_t n_rows = out_idx.shape[0], n = out_idx.shape[1]
    cdef Py_ssize_t r, a, b, t, nt, col, src, size, s
    cdef double weight
    cdef double* acc = NULL
    cdef uint8_t* mark = NULL
    cdef uint8_t* excluded = NULL
    cdef int64_t* touched = NULL
    cdef double* hv = NULL
    cdef int64_t* he = NULL
    cdef int failed = 0
    cdef int* failed_flag = &failed   # written through: a plain assignment would be thread-private
    cdef bint bad = False
    # O(1) guards against writing out of bounds; the wrapper validates the rest.
    if (w_indptr.shape[0] != n_rows + 1 or ex_indptr.shape[0] != n_rows + 1
            or out_val.shape[0] != n_rows or out_val.shape[1] != n):
        raise ValueError("w_indptr / ex_indptr must have n_rows + 1 entries and the outputs "
                         "shape (n_rows, n).")
    if w_indices.shape[0] != w_data.shape[0] or m_indices.shape[0] != m_data.shape[0]:
        raise ValueError("indices and data lengths differ.")
    if n < 1 or n > n_cols:
        raise ValueError(f"n == {n}, must be in [1, n_cols == {n_cols}].")
    if n_rows == 0:
        return
    if n_threads < 1:
        n_threads = 1
    with nogil, parallel(num_threads=n_threads):
        acc = <double*>calloc(n_cols, sizeof(double))
        mark = <uint8_t*>calloc(n_cols, sizeof(uint8_t))
        excluded = <uint8_t*>calloc(n_cols, sizeof(uint8_t))
        touched = <int64_t*>malloc(n_cols * sizeof(int64_t))
        hv = <double*>malloc((n + 1) * sizeof(double))
        he = <int64_t*>malloc((n + 1) * sizeof(int64_t))
        bad = (acc == NULL or mark == NULL or excluded == NULL or touched == NULL or hv == NULL
               or he == NULL)
        if bad:
            failed_flag[0] = 1
        for r in prange(n_rows, schedule="dynamic", chunksize=16):
            if bad:
                continue
            nt = 0
            for a in range(w_indptr[r], w_indptr[r + 1]):
                src = w_indices[a]
                weight = w_data[a]
                for b in range(m_indptr[src], m_indptr[src + 1]):
                    col = m_indices[b]
                    if mark[col] == 0:
                        mark[col] = 1
                        touched[nt] = col
                        nt = nt + 1
                    acc[col] = acc[col] + weight * m_data[b]
            for a in range(ex_indptr[r], ex_indptr[r + 1]):
                excluded[ex_indices[a]] = 1
            size = 0
            for t in range(nt):
                col = touched[t]
                if excluded[col] == 0:
                    size = _heap_push(hv, he, size, n, acc[col], col)
            if size < n or hv[0] <= 0.0:
                for col in range(n_cols):
                    if mark[col] != 0 or excluded[col] != 0:
                        continue
                    if size == n and not _worse(hv[0], he[0], 0.0, col):
                        break
                    size = _heap_push(hv, he, size, n, 0.0, col)
            for t in range(nt):
                col = touched[t]
                acc[col] = 0.0
                mark[col] = 0
            for a in range(ex_indptr[r], ex_indptr[r + 1]):
                excluded[ex_indices[a]] = 0
            _heap_sort(hv, he, size)
            for s in range(n):
                if s < size:
                    out_idx[r, s] = he[s]
                    out_val[r, s] = hv[s]
                else:
                    out_idx[r, s] = -1
                    out_val[r, s] = NAN
        free(acc)
        free(mark)
        free(excluded)
        free(touched)
        free(hv)
        free(he)
    if failed:
        raise MemoryError(f"could not allocate the per-thread scratch for n_cols == {n_cols}.")
