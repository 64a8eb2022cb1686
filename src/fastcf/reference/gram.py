"""Reference twin of the Gram kernel: densify, multiply, copy."""

import numpy as np


def gram(c_indptr, c_indices, c_data, r_indptr, r_indices, r_data, out, upper):
    """Same contract as ``kernels.gram.run_gram``: :math:`X^T X` of the row CSR in
    float64 by a dense product, written to ``out`` (only ``j >= i`` when ``upper``)."""
    n_rows, n_cols = len(r_indptr) - 1, out.shape[0]
    dense = np.zeros((n_rows, n_cols))
    for u in range(n_rows):
        for b in range(int(r_indptr[u]), int(r_indptr[u + 1])):
            dense[u, int(r_indices[b])] += float(r_data[b])
    product = dense.T @ dense
    for i in range(n_cols):
        first = i if upper else 0
        out[i, first:] = product[i, first:]
