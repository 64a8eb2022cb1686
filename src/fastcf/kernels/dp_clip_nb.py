"""Numba kernel: per-group squared gradient norms of a Dense layer (see ``kernels.dp_clip``).

One ``prange`` iteration a group (a user); each group's sum runs in one fixed
order on one thread, so the result does not depend on the thread count. A
group of ``n`` examples costs ``n (n - 1) / 2 (n_in + n_out + 1)`` multiply-adds
by the Gram identity and ``n (n_in + 1) n_out`` by materialising its gradient in
a buffer: the kernel takes the cheaper (small groups: Gram; a heavy user of a
narrow layer: the buffer).
"""

import numba
import numpy as np

from .._config import NUMBA_PARALLEL_JIT


@numba.njit(**NUMBA_PARALLEL_JIT)
def dp_clip_sq_norms(indptr, a, g, rows, out):
    """Same contract as ``kernels.dp_clip.run_dp_clip_sq_norms``'s kernel (arrays checked)."""
    n_groups = indptr.shape[0] - 1
    n_in, n_out, width = a.shape[1], g.shape[1], rows.shape[1]
    for u in numba.prange(n_groups):
        lo, hi = indptr[u], indptr[u + 1]
        n = hi - lo
        if n == 0:
            continue
        total = 0.0
        if (n - 1) * (n_in + n_out + 1) < 2 * (n_in + 1) * n_out:
            for j in range(lo, hi):
                for m in range(j, hi):
                    aa = 1.0
                    for k in range(n_in):
                        aa += np.float64(a[j, k]) * np.float64(a[m, k])
                    gg = 0.0
                    for o in range(n_out):
                        gg += np.float64(g[j, o]) * np.float64(g[m, o])
                    total += aa * gg if m == j else 2.0 * aa * gg
        else:
            buf = np.zeros((n_in + 1, n_out))
            for j in range(lo, hi):
                for k in range(n_in):
                    ak = np.float64(a[j, k])
                    for o in range(n_out):
                        buf[k, o] += ak * np.float64(g[j, o])
                for o in range(n_out):
                    buf[n_in, o] += np.float64(g[j, o])
            for k in range(n_in + 1):
                for o in range(n_out):
                    total += buf[k, o] * buf[k, o]
        for j in range(lo, hi):
            for f in range(width):
                total += np.float64(rows[j, f]) * np.float64(rows[j, f])
        out[u] += total
