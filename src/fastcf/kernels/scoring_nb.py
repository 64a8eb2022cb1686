"""Numba kernel: sparse scoring fused with a top-n selection (see ``kernels.scoring``).

Rows are independent: they are split into fixed chunks, each ``prange``
iteration owns one chunk and one set of scratch arrays (a dense accumulator
over the columns, touched / excluded marks, the touched list and an n-heap),
and each row is computed in one fixed order, so the result does not depend on
the thread count.

Per row: every (source, weight) adds weight * value to the columns of its
source row; the touched, not excluded columns go through an n-heap whose top
is the worst kept entry; then, if a score of 0 could still enter (heap not
full, or its worst value <= 0), the untouched columns are offered with score
0 in ascending order, stopping at the first that loses (every later one loses
too). A heap sort leaves the row best first.
"""

import numba
import numpy as np

from .._config import NUMBA_JIT, NUMBA_PARALLEL_JIT
from .heap_nb import heap_sort, push, worse

#: Rows per prange iteration (the scratch is allocated once per chunk).
CHUNK = 64


@numba.njit(**NUMBA_JIT)
def _row(r, w_indptr, w_indices, w_data, m_indptr, m_indices, m_data, ex_indptr, ex_indices,
         n, acc, mark, excluded, touched, hv, he):
    """Top-n (value, column) of row r into hv/he[:size], best first; returns size."""
    n_cols = acc.shape[0]
    nt = 0
    for a in range(w_indptr[r], w_indptr[r + 1]):
        src = w_indices[a]
        weight = np.float64(w_data[a])
        for b in range(m_indptr[src], m_indptr[src + 1]):
            col = m_indices[b]
            if mark[col] == 0:
                mark[col] = 1
                touched[nt] = col
                nt += 1
            acc[col] += weight * np.float64(m_data[b])
    for a in range(ex_indptr[r], ex_indptr[r + 1]):
        excluded[ex_indices[a]] = 1
    size = 0
    for t in range(nt):
        col = touched[t]
        if excluded[col] == 0:
            size = push(hv, he, size, n, acc[col], col)
    if size < n or hv[0] <= 0.0:
        for col in range(n_cols):
            if mark[col] != 0 or excluded[col] != 0:
                continue
            if size == n and not worse(hv[0], he[0], 0.0, col):
                break
            size = push(hv, he, size, n, 0.0, col)
    for t in range(nt):
        col = touched[t]
        acc[col] = 0.0
        mark[col] = 0
    for a in range(ex_indptr[r], ex_indptr[r + 1]):
        excluded[ex_indices[a]] = 0
    heap_sort(hv, he, size)
    return size


@numba.njit(**NUMBA_PARALLEL_JIT)
def scored_topk(w_indptr, w_indices, w_data, m_indptr, m_indices, m_data, n_cols, ex_indptr,
                ex_indices, out_idx, out_val):
    """Same contract as ``kernels.scoring.scored_topk`` (arrays already checked)."""
    n_rows, n = out_idx.shape
    n_chunks = (n_rows + CHUNK - 1) // CHUNK
    for chunk in numba.prange(n_chunks):
        acc = np.zeros(n_cols, dtype=np.float64)
        mark = np.zeros(n_cols, dtype=np.uint8)
        excluded = np.zeros(n_cols, dtype=np.uint8)
        touched = np.empty(n_cols, dtype=np.int64)
        hv = np.empty(n, dtype=np.float64)
        he = np.empty(n, dtype=np.int64)
        for r in range(chunk * CHUNK, min(n_rows, (chunk + 1) * CHUNK)):
            size = _row(r, w_indptr, w_indices, w_data, m_indptr, m_indices, m_data, ex_indptr,
                        ex_indices, n, acc, mark, excluded, touched, hv, he)
            for s in range(n):
                if s < size:
                    out_idx[r, s] = he[s]
                    out_val[r, s] = hv[s]
                else:
                    out_idx[r, s] = -1
                    out_val[r, s] = np.nan
