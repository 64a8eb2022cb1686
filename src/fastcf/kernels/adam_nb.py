"""Numba kernel: Adam's lazy update of the embedding rows a batch touched (see ``kernels.adam``)."""

import numba
import numpy as np

from .._config import NUMBA_JIT


@numba.njit(**NUMBA_JIT)
def sparse_adam_update(param, m, v, index, values, step_size, root_bias, beta1, beta2, eps,
                       weight_decay):
    """Same contract as ``kernels.adam.run_sparse_adam_update`` (arrays already checked)."""
    order = np.argsort(index, kind="mergesort")  # stable: a row's terms summed in batch order
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
        for f in range(dim):
            g = acc[f] + weight_decay * param[row, f]
            m[row, f] = b1 * m[row, f] + (one - b1) * g
            v[row, f] = b2 * v[row, f] + (one - b2) * g * g
            param[row, f] -= step_size * m[row, f] / (np.sqrt(v[row, f]) / root_bias + eps)
        j = k
