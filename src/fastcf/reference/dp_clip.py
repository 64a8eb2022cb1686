"""Reference twin of the ``dp_clip`` kernel: materialise each group's gradient, then its norm.

Where the compiled kernels use the Gram ("ghost") identity or a per-thread
buffer, this builds every group's weight-and-bias gradient
:math:`[A_u, 1]^T G_u` with NumPy in float64 and squares it: the definition,
with nothing clever.
"""

import numpy as np


def dp_clip_sq_norms(indptr, a, g, rows, out):
    """Same contract as ``kernels.dp_clip`` 's kernel: ``out[u] +=`` the squared
    Frobenius norm of :math:`\\sum_{j \\in u} [a_j; 1] g_j^T` plus
    :math:`\\sum_{j \\in u} \\lVert rows_j \\rVert^2`."""
    for u in range(len(indptr) - 1):
        lo, hi = int(indptr[u]), int(indptr[u + 1])
        if hi == lo:
            continue
        inputs = np.hstack([np.asarray(a[lo:hi], np.float64), np.ones((hi - lo, 1))])
        grad = inputs.T @ np.asarray(g[lo:hi], np.float64)
        out[u] += float(np.sum(grad * grad)) + float(np.sum(np.asarray(rows[lo:hi],
                                                                       np.float64) ** 2))
