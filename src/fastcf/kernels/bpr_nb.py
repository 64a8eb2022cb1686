"""Numba kernels: epochs of Bayesian Personalised Ranking (see ``kernels.bpr``).

One driver runs every schedule: the positive (user, item) pairs are laid out
cell by cell, and an epoch is a sequence of rounds, each a list of cells run
in parallel (``prange``, one cell at a time a thread). A cell first shuffles
its pairs in place (SplitMix64 Fisher-Yates seeded by (epoch seed, cell)),
then visits them in that order: the negative of each is drawn uniformly from
the cell's pool of items (the same SplitMix64 stream, continued), re-drawn
while the user has it (binary search of the user's sorted row), and the
triple gets one SGD step. The next pairs' factor rows are prefetched.

Which cells share a round decides the schedule: one cell (serial), the g x g
grid in one round (Hogwild: threads may race on a shared row) or g rounds of
g cells with no user block and no item block in common, each cell's
negatives drawn from its own item block (blocked: no two threads ever touch
the same row, so the result does not depend on the thread count).
"""

import numba
import numpy as np

from .._config import BPR_PREFETCH_DISTANCE, NUMBA_JIT, NUMBA_PARALLEL_JIT
from .prefetch_nb import prefetch_row
from .random_nb import below, cell_seed, splitmix64


@numba.njit(**NUMBA_JIT)
def _shuffle_pairs(users, items, start, stop, state):
    """Fisher-Yates shuffle of the pairs [start, stop) in place; returns the stream's state."""
    for j in range(stop - start - 1, 0, -1):
        state, draw = splitmix64(state)
        a, b = start + j, start + below(draw, j + 1)
        users[a], users[b] = users[b], users[a]
        items[a], items[b] = items[b], items[a]
    return state


@numba.njit(**NUMBA_JIT)
def _has(indices, lo, hi, item):
    """Whether the sorted ``indices[lo:hi]`` hold ``item`` (binary search)."""
    end = hi
    while lo < hi:
        mid = (lo + hi) >> 1
        if indices[mid] < item:
            lo = mid + 1
        else:
            hi = mid
    return lo < end and indices[lo] == item


@numba.njit(**NUMBA_JIT)
def _run_cell(start, stop, users, items, pool, pool_lo, pool_n, indptr, indices, state,
              user_factors, item_factors, item_bias, lr, reg, use_bias, max_draws):
    """SGD steps over the pairs [start, stop): (correct, skipped, sum of z)."""
    n_factors = user_factors.shape[1]
    one = user_factors.dtype.type(1)
    zero = one - one
    keep = one - lr * reg  # x + lr (g - reg x) = keep x + lr g
    correct, skipped, z_sum = 0, 0, 0.0
    for t in range(start, stop):
        if t + BPR_PREFETCH_DISTANCE < stop:
            prefetch_row(user_factors, users[t + BPR_PREFETCH_DISTANCE])
            prefetch_row(item_factors, items[t + BPR_PREFETCH_DISTANCE])
        u, i = users[t], items[t]
        lo, hi = indptr[u], indptr[u + 1]
        j = -1
        for _ in range(max_draws):
            state, draw = splitmix64(state)
            candidate = pool[pool_lo + below(draw, pool_n)]
            if not _has(indices, lo, hi, candidate):
                j = candidate
                break
        if j < 0:
            skipped += 1
            continue
        p, qi, qj = user_factors[u], item_factors[i], item_factors[j]
        x = item_bias[i] - item_bias[j] if use_bias else zero
        for f in range(n_factors):
            x += p[f] * (qi[f] - qj[f])
        z = one / (one + np.exp(x))
        if x > zero:
            correct += 1
        z_sum += z
        step = lr * z
        for f in range(n_factors):
            pf, qif, qjf = p[f], qi[f], qj[f]
            p[f] = keep * pf + step * (qif - qjf)
            qi[f] = keep * qif + step * pf
            qj[f] = keep * qjf - step * pf
        if use_bias:
            item_bias[i] = keep * item_bias[i] + step
            item_bias[j] = keep * item_bias[j] - step
    return correct, skipped, z_sum


@numba.njit(**NUMBA_PARALLEL_JIT)
def bpr_epoch(users, items, cell_ptr, rounds, pool, cell_pool, indptr, indices, seed,
              user_factors, item_factors, item_bias, lr, reg, use_bias, max_draws, cell_stats):
    """Same contract as ``kernels.bpr.run_bpr_epoch`` (arrays already checked)."""
    for r in range(rounds.shape[0]):
        for c in numba.prange(rounds.shape[1]):
            cell = rounds[r, c]
            start, stop = cell_ptr[cell], cell_ptr[cell + 1]
            state = _shuffle_pairs(users, items, start, stop, cell_seed(seed, cell))
            lo = cell_pool[cell, 0]
            correct, skipped, z_sum = _run_cell(
                start, stop, users, items, pool, lo, cell_pool[cell, 1] - lo, indptr, indices,
                state, user_factors, item_factors, item_bias, lr, reg, use_bias, max_draws)
            cell_stats[cell, 0] = correct
            cell_stats[cell, 1] = skipped
            cell_stats[cell, 2] = z_sum
