"""Numba kernel: Adam's lazy update of the embedding rows a batch touched (see ``kernels.adam``)."""

import numba
import numpy as np

from .._config import NUMBA_JIT


@numba.njit(**NUMBA_JIT)
def sparse_adam_update(param, m, v, index, order, values, step_size, root_bias, beta1, beta2,
                       eps, weight_decay):
    """Same contract as ``kernels.adam.run_sparse_adam_update`` (arrays already checked)."""
    n, dim = values.shape
    one = param.dtype.type(1)
    b1, b2 = param.dtype.type(beta1), param.dtype.type(beta2)
    acc = np.empty(dim, dtype=param.dtype)
    j = 0
    while j < n:
        row = index[order[j]]
        acc[:] = values[order[j]]
        k = j + 1
        while k < n and index[order[k]] == row:
            acc += values[order[k]]
            k += 1
        # row views: one contiguous run each, so the loop vectorises
        p, mr, vr = param[row], m[row], v[row]
        for f in range(dim):
            g = acc[f] + weight_decay * p[f]
            mr[f] = b1 * mr[f] + (one - b1) * g
            vr[f] = b2 * vr[f] + (one - b2) * g * g
            p[f] -= step_size * mr[f] / (np.sqrt(vr[f]) / root_bias + eps)
        j = k
