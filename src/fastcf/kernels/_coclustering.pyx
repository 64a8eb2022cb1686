"""Cython twin of ``coclustering_nb``: the co-clustering sums and reassignment.

OpenMP threads take chunks of ``chunk_rows`` rows (fixed by the data); the
sums add the per-chunk partials in chunk order and every row's errors are
summed in entry order, so the result does not depend on the thread count.
"""

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.stdint cimport int32_t, int64_t

import numpy as np

ctypedef fused index_t:
    int32_t
    int64_t


def cocluster_sums(const index_t[::1] indptr, const index_t[::1] indices,
                   const floating[::1] data, const int64_t[::1] row_clusters,
                   const int64_t[::1] col_clusters, Py_ssize_t chunk_rows,
                   double[:, ::1] sums, int64_t[:, ::1] counts, int n_threads):
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1
    cdef Py_ssize_t k_rows = sums.shape[0], k_cols = sums.shape[1]
    cdef Py_ssize_t n_chunks = (n_rows + chunk_rows - 1) // chunk_rows
    cdef double[:, :, ::1] part_sums = np.zeros((n_chunks, k_rows, k_cols))
    cdef int64_t[:, :, ::1] part_counts = np.zeros((n_chunks, k_rows, k_cols), dtype=np.int64)
    cdef Py_ssize_t chunk, row, j, c, cc
    with nogil:
        for chunk in prange(n_chunks, num_threads=n_threads, schedule="dynamic"):
            for row in range(chunk * chunk_rows, min(n_rows, (chunk + 1) * chunk_rows)):
                c = row_clusters[row]
                for j in range(indptr[row], indptr[row + 1]):
                    cc = col_clusters[indices[j]]
                    part_sums[chunk, c, cc] = part_sums[chunk, c, cc] + data[j]
                    part_counts[chunk, c, cc] = part_counts[chunk, c, cc] + 1
        sums[...] = 0.0
        counts[...] = 0
        for chunk in range(n_chunks):
            for c in range(k_rows):
                for cc in range(k_cols):
                    sums[c, cc] += part_sums[chunk, c, cc]
                    counts[c, cc] += part_counts[chunk, c, cc]


def cluster_assign(const index_t[::1] indptr, const index_t[::1] indices,
                   const floating[::1] data, const double[::1] row_mean,
                   const double[::1] col_mean, const int64_t[::1] col_clusters,
                   const double[:, ::1] avg_co, const double[::1] avg_rows,
                   const double[::1] avg_cols, bint rows_are_users, Py_ssize_t chunk_rows,
                   int64_t[::1] out, double[::1] out_error, int n_threads):
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, k = avg_co.shape[0]
    cdef Py_ssize_t n_chunks = (n_rows + chunk_rows - 1) // chunk_rows
    cdef Py_ssize_t chunk, row, j, c, cc, col, best
    cdef double mu_row, mu_col, avg_col, r, diff
    # one row of errors per thread (a thread's rows are summed one after another)
    cdef double[:, ::1] scratch = np.zeros((max(n_threads, 1), k))
    cdef double *errors
    with nogil:
        for chunk in prange(n_chunks, num_threads=n_threads, schedule="dynamic"):
            errors = &scratch[threadid(), 0]
            for row in range(chunk * chunk_rows, min(n_rows, (chunk + 1) * chunk_rows)):
                for c in range(k):
                    errors[c] = 0.0
                mu_row = row_mean[row]
                for j in range(indptr[row], indptr[row + 1]):
                    col = indices[j]
                    cc = col_clusters[col]
                    mu_col = col_mean[col]
                    avg_col = avg_cols[cc]
                    r = data[j]
                    # the order of Surprise's sum: user terms first, then item terms
                    if rows_are_users:
                        for c in range(k):
                            diff = r - (avg_co[c, cc] + mu_row - avg_rows[c] + mu_col - avg_col)
                            errors[c] = errors[c] + diff * diff
                    else:
                        for c in range(k):
                            diff = r - (avg_co[c, cc] + mu_col - avg_col + mu_row - avg_rows[c])
                            errors[c] = errors[c] + diff * diff
                best = 0
                for c in range(1, k):
                    if errors[c] < errors[best]:
                        best = c
                out[row] = best
                out_error[row] = errors[best]
