"""Reference twins of the co-clustering kernels, straight from Surprise's loops."""

import numpy as np


def cocluster_sums(indptr, indices, data, row_clusters, col_clusters, chunk_rows, sums,
                   counts):
    sums[...] = 0.0
    counts[...] = 0
    for row in range(len(indptr) - 1):
        c = row_clusters[row]
        for j in range(indptr[row], indptr[row + 1]):
            cc = col_clusters[indices[j]]
            sums[c, cc] += float(data[j])
            counts[c, cc] += 1


def cluster_assign(indptr, indices, data, row_mean, col_mean, col_clusters, avg_co,
                   avg_rows, avg_cols, rows_are_users, chunk_rows, out, out_error):
    k = avg_co.shape[0]
    for row in range(len(indptr) - 1):
        errors = np.zeros(k)
        for c in range(k):
            for j in range(indptr[row], indptr[row + 1]):
                col, r = indices[j], float(data[j])
                cc = col_clusters[col]
                # Surprise adds the user terms first, then the item terms
                if rows_are_users:
                    est = (avg_co[c, cc] + row_mean[row] - avg_rows[c]
                           + col_mean[col] - avg_cols[cc])
                else:
                    est = (avg_co[c, cc] + col_mean[col] - avg_cols[cc]
                           + row_mean[row] - avg_rows[c])
                # diff * diff, not ** 2: NumPy's scalar power calls pow(), which may
                # differ in the last bit from the product Surprise's C code computes
                diff = r - float(est)
                errors[c] += diff * diff
        best = int(np.argmin(errors))
        out[row] = best
        out_error[row] = errors[best]
