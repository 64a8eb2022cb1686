"""Numba kernel: one ALS half-sweep of the bias model (see ``kernels.baseline``)."""

import numba

from .._config import NUMBA_PARALLEL_JIT


@numba.njit(**NUMBA_PARALLEL_JIT)
def bias_sweep(indptr, indices, data, mu, other_bias, reg, out):
    n_rows = indptr.shape[0] - 1
    for row in numba.prange(n_rows):
        total = 0.0
        for j in range(indptr[row], indptr[row + 1]):
            total += data[j] - mu - other_bias[indices[j]]
        out[row] = total / (reg + (indptr[row + 1] - indptr[row]))
