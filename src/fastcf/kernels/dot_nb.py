"""A dot product in a fixed order for the Numba kernels (the Cython kernels' order).

A kernel compiled with fastmath "reassoc" may sum in an order that differs
between the kernel compiled in one process and the same kernel loaded from
Numba's cache in another; kernels whose bits must not depend on that compile
without "reassoc" and take their dot products from here: eight interleaved
partial sums (independent, so LLVM vectorises them without reassociating),
added pairwise, then the tail.
"""

import numba

from .._config import NUMBA_ORDERED_JIT


@numba.njit(**NUMBA_ORDERED_JIT)
def ordered_dot(p, q):
    """p . q as eight interleaved partial sums added pairwise, then the tail (the
    Cython kernel's order)."""
    n = p.shape[0]
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = p.dtype.type(0)
    main = n - n % 8
    for f in range(0, main, 8):
        a0 += p[f] * q[f]
        a1 += p[f + 1] * q[f + 1]
        a2 += p[f + 2] * q[f + 2]
        a3 += p[f + 3] * q[f + 3]
        a4 += p[f + 4] * q[f + 4]
        a5 += p[f + 5] * q[f + 5]
        a6 += p[f + 6] * q[f + 6]
        a7 += p[f + 7] * q[f + 7]
    total = ((a0 + a4) + (a1 + a5)) + ((a2 + a6) + (a3 + a7))
    for f in range(main, n):
        total += p[f] * q[f]
    return total
