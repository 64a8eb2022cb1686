"""Reference twin of the DP-ALS statistics kernel: one dense product per row."""

import numpy as np


def row_statistics(indptr, indices, gram_w, rhs_w, F, lo, hi, G, b):
    """Same contract as ``kernels.dp_als.run_row_statistics``: for each row ``r`` in
    ``[lo, hi)``, ``G[r - lo] = F_r^T diag(gram_w_r) F_r`` and ``b[r - lo] = F_r^T
    rhs_w_r``, ``F_r`` the rows of ``F`` the row's entries name, in float64 (the upper triangle
    mirrored)."""
    for r in range(lo, hi):
        start, stop = int(indptr[r]), int(indptr[r + 1])
        rows = F[indices[start:stop]].astype(np.float64)
        product = (rows * gram_w[start:stop, None]).T @ rows
        G[r - lo] = np.triu(product) + np.triu(product, 1).T  # exactly symmetric
        b[r - lo] = rows.T @ rhs_w[start:stop]
