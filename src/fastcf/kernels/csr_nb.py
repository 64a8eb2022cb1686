"""Numba CSR utilities shared by the kernel families."""

import numba
import numpy as np

from .._config import NUMBA_JIT


@numba.njit(**NUMBA_JIT)
def transpose(indptr, indices, n_cols):
    """Counting-sort transpose of a CSR's structure.

    Returns ``(t_indptr, t_indices, order, where)``: the transpose's CSR
    arrays (rows sorted within each column), ``order[p]`` = the input entry
    at transpose position ``p``, and ``where[e]`` = the transpose position of
    input entry ``e``. O(nnz + n_cols), stable.
    """
    n_rows = indptr.shape[0] - 1
    nnz = indices.shape[0]
    t_indptr = np.zeros(n_cols + 1, dtype=indptr.dtype)
    for e in range(nnz):
        t_indptr[indices[e] + 1] += 1
    for c in range(n_cols):
        t_indptr[c + 1] += t_indptr[c]
    fill = t_indptr[:-1].copy()
    t_indices = np.empty(nnz, dtype=indices.dtype)
    order = np.empty(nnz, dtype=np.int64)
    where = np.empty(nnz, dtype=np.int64)
    for row in range(n_rows):
        for e in range(indptr[row], indptr[row + 1]):
            c = indices[e]
            p = fill[c]
            fill[c] = p + 1
            t_indices[p] = row
            order[p] = e
            where[e] = p
    return t_indptr, t_indices, order, where
