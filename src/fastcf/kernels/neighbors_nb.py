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

#: Pairs per prange iteration (scratch is allocated once per chunk).
CHUNK = 256


@numba.njit(**NUMBA_JIT)
def _worse(v1, e1, v2, e2):
    return v1 < v2 or (v1 == v2 and e1 > e2)


@numba.njit(**NUMBA_JIT)
def _sift_down(hv, he, pos, size):
    v, e = hv[pos], he[pos]
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        if child + 1 < size and _worse(hv[child + 1], he[child + 1], hv[child], he[child]):
            child += 1
        if not _worse(hv[child], he[child], v, e):
            break
        hv[pos] = hv[child]
        he[pos] = he[child]
        pos = child
    hv[pos] = v
    he[pos] = e


@numba.njit(**NUMBA_JIT)
def _push(hv, he, size, k, v, e):
    """Offer (v, e) to the heap of capacity k holding ``size``; returns the new size."""
    if size < k:
        pos = size
        while pos > 0:
            parent = (pos - 1) >> 1
            if not _worse(v, e, hv[parent], he[parent]):
                break
            hv[pos] = hv[parent]
            he[pos] = he[parent]
            pos = parent
        hv[pos] = v
        he[pos] = e
        return size + 1
    if _worse(hv[0], he[0], v, e):
        hv[0] = v
        he[0] = e
        _sift_down(hv, he, 0, size)
    return size


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
                size = _push(hv, he, size, k, s, e)
        worst_v, worst_e = hv[0], he[0]
    sum_sim = 0.0
    sum_num = 0.0
    count = 0
    for e in range(start, stop):  # the kept candidates, in entry order
        s = np.float64(sim_row[col_indices[e]])
        if s > 0.0 and not _worse(s, e, worst_v, worst_e):
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
