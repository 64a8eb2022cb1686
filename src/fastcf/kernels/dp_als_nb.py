"""Numba kernel of DP-ALS: per-row Gram matrices and right-hand sides (see ``kernels.dp_als``).

Each ``prange`` iteration owns one row of the output: it sums the row's
entries in their stored order into the upper triangle of ``G[r]`` and into
``b[r]`` (float64), then mirrors the triangle. No sum crosses rows, so the
result does not depend on the thread count.
"""

import numba
import numpy as np

from .._config import NUMBA_PARALLEL_JIT


@numba.njit(**NUMBA_PARALLEL_JIT)
def row_statistics(indptr, indices, gram_w, rhs_w, F, lo, hi, G, b):
    """Same contract as ``kernels.dp_als.run_row_statistics`` (arrays already checked)."""
    d = F.shape[1]
    for r in numba.prange(hi - lo):
        g = G[r]
        rhs = b[r]
        g[:, :] = 0.0
        rhs[:] = 0.0
        for e in range(indptr[lo + r], indptr[lo + r + 1]):
            c = indices[e]
            w = gram_w[e]
            t = rhs_w[e]
            for p in range(d):
                fp = np.float64(F[c, p])
                rhs[p] += t * fp
                wp = w * fp
                for q in range(p, d):
                    g[p, q] += wp * np.float64(F[c, q])
        for p in range(d):
            for q in range(p + 1, d):
                g[q, p] = g[p, q]
