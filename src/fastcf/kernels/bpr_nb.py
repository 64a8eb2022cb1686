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
# Pairs whose negative draws are searched side by side (_bpr.pxi's _DRAW_BATCH).
_DRAW_BATCH = 8


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
def _draw_one(t, users, pool, pool_lo, pool_n, indptr, indices, state, draws, negatives):
    """negatives[t] from the next ``draws`` draws of the stream (-1 if all were seen);
    returns (the stream's state, 1 if -1 else 0)."""
    lo, hi = indptr[users[t]], indptr[users[t] + 1]
    for _ in range(draws):
        state, draw = splitmix64(state)
        candidate = pool[pool_lo + below(draw, pool_n)]
        if not _has(indices, lo, hi, candidate):
            negatives[t] = candidate
            return state, 0
    negatives[t] = -1
    return state, 1


@numba.njit(**NUMBA_JIT)
def _draw_negatives(start, stop, users, pool, pool_lo, pool_n, indptr, indices, state,
                    max_draws, negatives):
    """negatives[t] for the pairs [start, stop): a pool item the user has not seen,
    or -1 after ``max_draws`` draws. Returns the number of -1.

    _DRAW_BATCH pairs at a time, each assumed to keep its first draw (a user has
    seen a small share of the items): their binary searches run side by side,
    level by level, so that their cache misses overlap and no search ends in a
    mispredicted loop exit. The pairs up to the first whose draw was seen keep
    theirs; that pair goes on drawing alone and the next batch starts after it:
    the stream is consumed exactly as one pair after another would."""
    skipped = 0
    position = np.empty(_DRAW_BATCH, np.int64)
    width = np.empty(_DRAW_BATCH, np.int64)
    candidate = np.empty(_DRAW_BATCH, pool.dtype)
    after = np.empty(_DRAW_BATCH, np.uint64)  # the stream's state after each draw
    t = start
    while t < stop:
        # the seen rows are two dependent loads (indptr, then indices): ask for each ahead
        for s in range(t + 2 * _DRAW_BATCH, min(t + 3 * _DRAW_BATCH, stop)):
            prefetch_span(indptr, users[s], users[s] + 2)
        for s in range(t + _DRAW_BATCH, min(t + 2 * _DRAW_BATCH, stop)):
            lo, hi = indptr[users[s]], indptr[users[s] + 1]
            if hi - lo <= _ROW_PREFETCH:
                prefetch_span(indices, lo, hi)
            else:  # the search's first three levels: eighths of the row
                for eighth in range(1, 8):
                    at = lo + ((hi - lo) * eighth >> 3)
                    prefetch_span(indices, at, at + 1)
        if t + _DRAW_BATCH > stop or len(indices) == 0:
            state, missed = _draw_one(t, users, pool, pool_lo, pool_n, indptr, indices, state,
                                      max_draws, negatives)
            skipped += missed
            t += 1
            continue
        probe, widest = state, 1
        for b in range(_DRAW_BATCH):
            lo, hi = indptr[users[t + b]], indptr[users[t + b] + 1]
            # an empty row: a one-item search that is then not believed
            position[b] = lo if hi > lo else 0
            width[b] = hi - lo if hi > lo else 1
            widest = max(widest, width[b])
            probe, draw = splitmix64(probe)
            after[b] = probe
            candidate[b] = pool[pool_lo + below(draw, pool_n)]
        levels = 0
        while (1 << levels) < widest:
            levels += 1
        for _ in range(levels):
            for b in range(_DRAW_BATCH):
                half = width[b] >> 1
                position[b] += half * (indices[position[b] + half] <= candidate[b])
                width[b] -= half
        m = 0
        while m < _DRAW_BATCH and (indices[position[m]] != candidate[m] or
                                   indptr[users[t + m]] == indptr[users[t + m] + 1]):
            negatives[t + m] = candidate[m]
            m += 1
        if m == _DRAW_BATCH:
            state = after[_DRAW_BATCH - 1]
            t += m
        else:  # pair t + m's first draw was seen: it consumed that draw
            state, missed = _draw_one(t + m, users, pool, pool_lo, pool_n, indptr, indices,
                                      after[m], max_draws - 1, negatives)
            skipped += missed
            t += m + 1
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
