"""Cython twin of ``neighbors_nb``: neighbourhood sums of (row, column) pairs.

Pairs are independent: one OpenMP thread per pair (handed out dynamically),
each with its own k-heap scratch, and every pair is computed in one fixed
order, so the result does not depend on the thread count. As in the Numba
kernel: with more than k positive candidates the shared k-heap (``_heap.pxd``)
finds the worst kept one; the kept candidates are summed in entry order.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport free, malloc

from ._heap cimport _heap_push, _worse

ctypedef fused index_t:
    int32_t
    int64_t


def neighborhood_sums(const floating[:, ::1] sim_rows, const int64_t[::1] pair_row,
                      const int64_t[::1] pair_col, const index_t[::1] col_indptr,
                      const index_t[::1] col_indices, const double[::1] col_values,
                      Py_ssize_t k, double[::1] out_sum_sim, double[::1] out_sum_num,
                      int64_t[::1] out_count, int n_threads):
    """Same contract as ``kernels.neighbors.neighborhood_sums`` (arrays already checked)."""
    cdef Py_ssize_t n_pairs = pair_row.shape[0], p, e, size, c, start, stop, n_positive
    cdef double s, sum_sim, sum_num, worst_v
    cdef int64_t worst_e
    cdef double* hv = NULL
    cdef int64_t* he = NULL
    cdef int failed = 0
    cdef int* failed_flag = &failed   # written through: a plain assignment would be thread-private
    cdef bint bad = False
    cdef const floating* row
    # O(1) guards against writing out of bounds; the wrapper validates the rest.
    if (pair_col.shape[0] != n_pairs or out_sum_sim.shape[0] != n_pairs
            or out_sum_num.shape[0] != n_pairs or out_count.shape[0] != n_pairs):
        raise ValueError("pair_row, pair_col and the outputs must have n_pairs entries.")
    if col_indices.shape[0] != col_values.shape[0]:
        raise ValueError("col_indices and col_values must have the same length.")
    if k < 1:
        raise ValueError(f"k == {k}, must be >= 1.")
    if n_pairs == 0:
        return
    if n_threads < 1:
        n_threads = 1
    with nogil, parallel(num_threads=n_threads):
        hv = <double*>malloc((k + 1) * sizeof(double))
        he = <int64_t*>malloc((k + 1) * sizeof(int64_t))
        bad = hv == NULL or he == NULL
        if bad:
            failed_flag[0] = 1
        for p in prange(n_pairs, schedule="dynamic", chunksize=64):
            if bad:
                continue
            row = &sim_rows[pair_row[p], 0]
            c = pair_col[p]
            start = col_indptr[c]
            stop = col_indptr[c + 1]
            n_positive = 0
            for e in range(start, stop):
                n_positive = n_positive + (row[col_indices[e]] > 0)
            worst_v = 0.0
            worst_e = stop
            if n_positive > k:
                size = 0
                for e in range(start, stop):
                    s = <double>row[col_indices[e]]
                    if s > 0.0:
                        size = _heap_push(hv, he, size, k, s, e)
                worst_v = hv[0]
                worst_e = he[0]
            sum_sim = 0.0
            sum_num = 0.0
            size = 0
            for e in range(start, stop):
                s = <double>row[col_indices[e]]
                if s > 0.0 and not _worse(s, e, worst_v, worst_e):
                    sum_sim = sum_sim + s
                    sum_num = sum_num + s * col_values[e]
                    size = size + 1
            out_sum_sim[p] = sum_sim
            out_sum_num[p] = sum_num
            out_count[p] = size
        free(hv)
        free(he)
    if failed:
        raise MemoryError(f"could not allocate the per-thread heap for k == {k}.")
