"""Numba kernels: epochs of Bayesian Personalised Ranking (see ``kernels.bpr``).

One driver runs every schedule: the positive (user, item) pairs are laid out
cell by cell, and an epoch is a sequence of rounds, each a list of cells run
in parallel (``prange``, one cell at a time a thread). A cell first shuffles
its pairs in place (SplitMix64 Fisher-Yates seeded by (epoch seed, cell)),
draws the negative of each pair in that order, uniformly from the cell's pool
of items (the same SplitMix64 stream, continued), re-drawn while the user has
it (binary search of the user's sorted row), and then gives every triple one
SGD step. Two passes, because each is then a stream whose random accesses
are known ahead: the draw pass prefetches the seen rows of the pairs ahead,
the step pass the three factor rows.

Which cells share a round decides the schedule: one cell (serial), the g x g
grid in one round (Hogwild: threads may race on a shared row) or g rounds of
g cells with no user block and no item block in common, each cell's
negatives drawn from its own item block (blocked: no two threads ever touch
the same row, so the result does not depend on the thread count).
"""

import numba
import numpy as np

from .._config import BPR_PREFETCH_DISTANCE, NUMBA_JIT, NUMBA_PARALLEL_JIT
from .prefetch_nb import prefetch_row, prefetch_span
from .random_nb import below, cell_seed, splitmix64

# Seen items of a row prefetched whole up to this many (half the pairs of
# make_ratings' data are of longer rows: those get the lines at their eighths,
# the first three levels of the binary search).
_ROW_PREFETCH = 48


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
    """Whether the sorted ``indices[lo:hi]`` hold ``item``: a binary search without
    branches on the probes (whose outcomes are random: a mispredicted branch each
    cost more than the probe; 1.74M draws, k=64)."""
    n = hi - lo
    if n <= 0:
        return False
    while n > 1:
        half = n >> 1
        lo += half * (indices[lo + half] <= item)
        n -= half
    return indices[lo] == item


@numba.njit(**NUMBA_JIT)
def _draw_negatives(start, stop, users, pool, pool_lo, pool_n, indptr, indices, state,
                    max_draws, negatives):
    """negatives[t] for the pairs [start, stop): a pool item the user has not seen,
    or -1 after ``max_draws`` draws. Returns the number of -1."""
    skipped = 0
    far, near = 2 * BPR_PREFETCH_DISTANCE, BPR_PREFETCH_DISTANCE
    for t in range(start, stop):
        # the seen rows are two dependent loads (indptr, then indices): ask for each ahead
        if t + far < stop:
            prefetch_span(indptr, users[t + far], users[t + far] + 2)
        if t + near < stop:
            ahead = users[t + near]
            lo, hi = indptr[ahead], indptr[ahead + 1]
            if hi - lo <= _ROW_PREFETCH:
                prefetch_span(indices, lo, hi)
            else:  # the search's first three levels: eighths of the row
                for eighth in range(1, 8):
                    at = lo + ((hi - lo) * eighth >> 3)
                    prefetch_span(indices, at, at + 1)
        u = users[t]
        lo, hi = indptr[u], indptr[u + 1]
        negatives[t] = -1
        for _ in range(max_draws):
            state, draw = splitmix64(state)
            candidate = pool[pool_lo + below(draw, pool_n)]
            if not _has(indices, lo, hi, candidate):
                negatives[t] = candidate
                break
        if negatives[t] < 0:
            skipped += 1
    return skipped


@numba.njit(**NUMBA_JIT)
def _run_cell(start, stop, users, items, negatives, user_factors, item_factors, item_bias, lr,
              reg, use_bias):
    """SGD steps over the triples [start, stop) (a negative -1: no step); returns
    (pairs with x > 0, sum of z)."""
    n_factors = user_factors.shape[1]
    one = user_factors.dtype.type(1)
    zero = one - one
    keep = one - lr * reg  # x + lr (g - reg x) = keep x + lr g
    correct, z_sum = 0, 0.0
    for t in range(start, stop):
        if t + BPR_PREFETCH_DISTANCE < stop:
            prefetch_row(user_factors, users[t + BPR_PREFETCH_DISTANCE])
            prefetch_row(item_factors, items[t + BPR_PREFETCH_DISTANCE])
            if negatives[t + BPR_PREFETCH_DISTANCE] >= 0:
                prefetch_row(item_factors, negatives[t + BPR_PREFETCH_DISTANCE])
        u, i, j = users[t], items[t], negatives[t]
        if j < 0:
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
    return correct, z_sum


@numba.njit(**NUMBA_PARALLEL_JIT)
def bpr_epoch(users, items, negatives, cell_ptr, rounds, pool, cell_pool, indptr, indices, seed,
              user_factors, item_factors, item_bias, lr, reg, use_bias, max_draws, cell_stats):
    """Same contract as ``kernels.bpr.run_bpr_epoch`` (arrays already checked)."""
    for r in range(rounds.shape[0]):
        for c in numba.prange(rounds.shape[1]):
            cell = rounds[r, c]
            start, stop = cell_ptr[cell], cell_ptr[cell + 1]
            state = _shuffle_pairs(users, items, start, stop, cell_seed(seed, cell))
            lo = cell_pool[cell, 0]
            skipped = _draw_negatives(start, stop, users, pool, lo, cell_pool[cell, 1] - lo,
                                      indptr, indices, state, max_draws, negatives)
            correct, z_sum = _run_cell(start, stop, users, items, negatives, user_factors,
                                       item_factors, item_bias, lr, reg, use_bias)
            cell_stats[cell, 0] = correct
            cell_stats[cell, 1] = skipped
            cell_stats[cell, 2] = z_sum
