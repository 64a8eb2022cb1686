"""Numba kernel: neighbourhood sums of (row, column) pairs (see ``kernels.neighbors``).

Pairs are independent: they are split into fixed chunks, each ``prange``
iteration owns one chunk and one k-heap scratch, and every pair is computed in
one fixed order, so the result does not depend on the thread count.

For a pair, the candidates are the entries of its column in stored order.
When more than ``k`` have a positive similarity, a binary min-heap of ``k``
whose top is the *worst* kept one (lower similarity, or equal similarity and
later entry) finds that worst kept candidate; a last pass then sums the kept
candidates in entry order. With at most ``k`` positive candidates (the common
case) there is no heap at all: two cheap passes.
"""

import numba
import numpy as np

from .._config import NUMBA_JIT, NUMBA_PARALLEL_JIT
from .heap_nb import push, worse

#: Pairs per prange iteration (scratch is allocated once per chunk).
CHUNK = 256


@numba.njit(**NUMBA_JIT)
def _pair_sums(sim_row, start, stop, col_indices, col_values, k, hv, he):
    """(sum of sims, sum of sim * value, count) over the best k positive candidates."""
    n_positive = 0
    for e in range(start, stop):
        n_positive += sim_row[col_indices[e]] > 0
    # With more than k positive candidates, a k-heap finds the worst one kept,
    # (worst_v, worst_e); otherwise every positive candidate is kept.
    worst_v, worst_e = 0.0, stop
    if n_positive > k:
        size = 0
        for e in range(start, stop):
            s = np.float64(sim_row[col_indices[e]])
            if s > 0.0:
                size = push(hv, he, size, k, s, e)
        worst_v, worst_e = hv[0], he[0]
    sum_sim = 0.0
    sum_num = 0.0
    count = 0
    for e in range(start, stop):  # the kept candidates, in entry order
        s = np.float64(sim_row[col_indices[e]])
        if s > 0.0 and not worse(s, e, worst_v, worst_e):
            sum_sim += s
            sum_num += s * col_values[e]
            count += 1
    return sum_sim, sum_num, count


@numba.njit(**NUMBA_PARALLEL_JIT)
def neighborhood_sums(sim_rows, pair_row, pair_col, col_indptr, col_indices, col_values, k,
                      out_sum_sim, out_sum_num, out_count):
    """Same contract as ``kernels.neighbors.neighborhood_sums`` (arrays already checked)."""
    n_pairs = pair_row.shape[0]
    n_chunks = (n_pairs + CHUNK - 1) // CHUNK
    for chunk in numba.prange(n_chunks):
        hv = np.empty(k, dtype=np.float64)
        he = np.empty(k, dtype=np.int64)
        for p in range(chunk * CHUNK, min(n_pairs, (chunk + 1) * CHUNK)):
            c = pair_col[p]
            sum_sim, sum_num, count = _pair_sums(sim_rows[pair_row[p]], col_indptr[c],
                                                 col_indptr[c + 1], col_indices, col_values, k,
                                                 hv, he)
            out_sum_sim[p] = sum_sim
            out_sum_num[p] = sum_num
            out_count[p] = count
