"""Numba kernels of co-clustering (see ``kernels.coclustering``).

Both run over chunks of ``chunk_rows`` rows (the data fixes the chunks, not
the thread count) and with IEEE arithmetic in the order written, so the bits
are those of the reference and of Surprise whatever the number of threads.
"""

import numba
import numpy as np

from .._config import NUMBA_IEEE_PARALLEL_JIT


@numba.njit(**NUMBA_IEEE_PARALLEL_JIT)
def cocluster_sums(indptr, indices, data, row_clusters, col_clusters, chunk_rows, sums,
                   counts):
    n_rows = indptr.shape[0] - 1
    k_rows, k_cols = sums.shape
    n_chunks = (n_rows + chunk_rows - 1) // chunk_rows
    part_sums = np.zeros((n_chunks, k_rows, k_cols))
    part_counts = np.zeros((n_chunks, k_rows, k_cols), dtype=np.int64)
    for chunk in numba.prange(n_chunks):
        for row in range(chunk * chunk_rows, min(n_rows, (chunk + 1) * chunk_rows)):
            c = row_clusters[row]
            for j in range(indptr[row], indptr[row + 1]):
                cc = col_clusters[indices[j]]
                part_sums[chunk, c, cc] += data[j]
                part_counts[chunk, c, cc] += 1
    sums[...] = 0.0
    counts[...] = 0
    for chunk in range(n_chunks):  # in chunk order: the same sums for any thread count
        for c in range(k_rows):
            for cc in range(k_cols):
                sums[c, cc] += part_sums[chunk, c, cc]
                counts[c, cc] += part_counts[chunk, c, cc]


@numba.njit(**NUMBA_IEEE_PARALLEL_JIT)
def cluster_assign(indptr, indices, data, row_mean, col_mean, col_clusters, avg_co,
                   avg_rows, avg_cols, rows_are_users, chunk_rows, out, out_error):
    n_rows = indptr.shape[0] - 1
    k = avg_co.shape[0]
    n_chunks = (n_rows + chunk_rows - 1) // chunk_rows
    for chunk in numba.prange(n_chunks):
        errors = np.empty(k)
        for row in range(chunk * chunk_rows, min(n_rows, (chunk + 1) * chunk_rows)):
            errors[:] = 0.0
            mu_row = row_mean[row]
            # entries outer, clusters inner: each cluster's error is still summed
            # in entry order (Surprise's), with the entry's loads done once
            for j in range(indptr[row], indptr[row + 1]):
                col = indices[j]
                cc = col_clusters[col]
                mu_col = col_mean[col]
                avg_col = avg_cols[cc]
                r = np.float64(data[j])
                if rows_are_users:
                    for c in range(k):
                        diff = r - (avg_co[c, cc] + mu_row - avg_rows[c] + mu_col - avg_col)
                        errors[c] += diff * diff
                else:
                    for c in range(k):
                        diff = r - (avg_co[c, cc] + mu_col - avg_col + mu_row - avg_rows[c])
                        errors[c] += diff * diff
            best = 0
            for c in range(1, k):  # np.argmin's rule: the first of equal errors
                if errors[c] < errors[best]:
                    best = c
            out[row] = best
            out_error[row] = errors[best]
