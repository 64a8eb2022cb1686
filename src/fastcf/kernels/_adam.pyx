# distutils: extra_compile_args = -fno-math-errno
"""Cython twin of ``adam_nb``: Adam's lazy update of the embedding rows a batch touched.

Compiled without errno for math functions (the distutils line above), so gcc
may vectorise the square roots of a row's update.
"""

from cython cimport floating
from libc.math cimport sqrt
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc



def sparse_adam_update(floating[:, ::1] param, floating[:, ::1] m, floating[:, ::1] v,
                       const int64_t[::1] index, const int64_t[::1] order,
                       const floating[:, ::1] values,
                       floating step_size, floating root_bias, floating beta1, floating beta2,
                       floating eps, floating weight_decay):
    """Same contract as ``kernels.adam.run_sparse_adam_update`` (arrays already checked)."""
    cdef Py_ssize_t n = values.shape[0], dim = values.shape[1], j, k, f, row
    cdef floating g
    if index.shape[0] != n or order.shape[0] != n or param.shape[1] != dim:
        raise ValueError("index, order, values and param disagree in shape.")
    if n == 0:
        return
    cdef floating* acc = <floating*>malloc(dim * sizeof(floating))
    if acc == NULL:
        raise MemoryError()
    try:
        with nogil:
            j = 0
            while j < n:
                row = index[order[j]]
                for f in range(dim):
                    acc[f] = values[order[j], f]
                k = j + 1
                while k < n and index[order[k]] == row:
                    for f in range(dim):
                        acc[f] = acc[f] + values[order[k], f]
                    k = k + 1
                for f in range(dim):
                    g = acc[f] + weight_decay * param[row, f]
                    m[row, f] = beta1 * m[row, f] + (1 - beta1) * g
                    v[row, f] = beta2 * v[row, f] + (1 - beta2) * g * g
                    param[row, f] = param[row, f] - step_size * m[row, f] / (
                        sqrt(v[row, f]) / root_bias + eps)
                j = k
    finally:
        free(acc)
