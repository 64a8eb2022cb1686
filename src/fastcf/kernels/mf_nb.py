"""Numba kernels: SGD epochs of biased matrix factorization (see ``kernels.mf``).

Every schedule runs the same update (``_run_steps``) over a contiguous run of
ratings, in array order: the schedules shuffle the ratings themselves
(``_shuffle_ratings``, SplitMix64 Fisher-Yates) rather than an index, so the
steps read them as a stream and only the factor rows are random accesses --
those are prefetched a few ratings ahead. The factor rows are read and
written in place, the dot product and the updates computed in the factors'
dtype (float32 or float64), the loss in float64.

- ``sgd_epoch`` (serial): one thread, the ratings in the given order:
  bit-for-bit reproducible.
- ``sgd_epoch_blocked`` (FPSGD): the ratings are grouped into a g x g grid of
  (user block, item block) cells; an epoch is g rounds, and round t runs the g
  cells (row_perm[b], col_perm[(b + t) % g]) in parallel -- no two share a user
  or an item, so no update races. Each cell visits its ratings in the order
  they are laid out (by user: LIBMF's choice, the user factors then stream)
  or, with ``shuffle``, shuffles them first with SplitMix64 seeded by (epoch
  seed, cell); either way the result depends on the seed, not on the thread
  count or on which thread ran a cell.
- ``sgd_epoch_hogwild``: the same grid cells in a random order, handed out
  to the threads one at a time, each cell in its order (or shuffled), run in
  parallel with no locks and no rounds (Recht et al.): two threads may update a shared row at
  once and one update be lost, so the result is not reproducible. (Cells, not
  one shuffle of all ratings, because a step then finds its factor rows among
  the cell's few thousand users and items: 10M ratings, 2 threads, 16.9 vs
  21.8 M updates/s for blocked before this layout.)
"""

import numba
import numpy as np

from .._config import MF_PREFETCH_DISTANCE, NUMBA_JIT, NUMBA_PARALLEL_JIT
from .prefetch_nb import prefetch_row
from .random_nb import cell_seed as _cell_seed
from .random_nb import splitmix64 as _splitmix64


@numba.njit(**NUMBA_JIT)
def _shuffle_ratings(users, items, ratings, start, stop, seed):
    """Fisher-Yates shuffle of the ratings [start, stop) in place, driven by SplitMix64."""
    state = seed
    for j in range(stop - start - 1, 0, -1):
        state, draw = _splitmix64(state)
        r = np.int64(draw % np.uint64(j + 1))
        a, b = start + j, start + r
        users[a], users[b] = users[b], users[a]
        items[a], items[b] = items[b], items[a]
        ratings[a], ratings[b] = ratings[b], ratings[a]


@numba.njit(**NUMBA_JIT)
def shuffle_ratings(users, items, ratings, seed):
    """Same contract as ``kernels.mf.run_shuffle_ratings`` (arrays already checked)."""
    _shuffle_ratings(users, items, ratings, 0, ratings.shape[0], seed)


@numba.njit(**NUMBA_JIT)
def _run_steps(start, stop, users, items, ratings, mu, user_bias, item_bias, user_factors,
               item_factors, lr_bu, lr_bi, lr_pu, lr_qi, reg_bu, reg_bi, reg_pu, reg_qi,
               biased):
    """The serial update of ``sgd_epoch`` over the ratings [start, stop); returns the loss."""
    n_factors = user_factors.shape[1]
    # p + lr (err q - reg p) = keep_p p + (lr err) q: two multiply-adds a factor
    # (measured 8.5 -> 10.2 M updates/s serial, k=100 float32). ``one`` is 1 in the
    # factors' dtype: an int 1 would promote the loop to float64. (Not lr_pu / lr_pu:
    # a learning rate of 0 then raised ZeroDivisionError.)
    one = user_factors.dtype.type(1)
    keep_p, keep_q = one - lr_pu * reg_pu, one - lr_qi * reg_qi
    loss = 0.0
    for t in range(start, stop):
        if t + MF_PREFETCH_DISTANCE < stop:
            prefetch_row(user_factors, users[t + MF_PREFETCH_DISTANCE])
            prefetch_row(item_factors, items[t + MF_PREFETCH_DISTANCE])
        u, i = users[t], items[t]
        p, q = user_factors[u], item_factors[i]
        dot = mu - mu
        for f in range(n_factors):
            dot += q[f] * p[f]
        if biased:
            err = ratings[t] - (mu + user_bias[u] + item_bias[i] + dot)
            user_bias[u] += lr_bu * (err - reg_bu * user_bias[u])
            item_bias[i] += lr_bi * (err - reg_bi * item_bias[i])
        else:
            err = ratings[t] - dot
        step_p, step_q = lr_pu * err, lr_qi * err
        for f in range(n_factors):
            pf, qf = p[f], q[f]
            p[f] = keep_p * pf + step_p * qf
            q[f] = keep_q * qf + step_q * pf
        loss += np.float64(err) * np.float64(err)
    return loss


@numba.njit(**NUMBA_PARALLEL_JIT)
def sgd_epoch_blocked(users, items, ratings, block_ptr, row_perm, col_perm, seed, shuffle, mu,
                      user_bias, item_bias, user_factors, item_factors, lr_bu, lr_bi, lr_pu,
                      lr_qi, reg_bu, reg_bi, reg_pu, reg_qi, biased, block_loss):
    """Same contract as ``kernels.mf.run_sgd_epoch_blocked`` (arrays already checked)."""
    g = row_perm.shape[0]
    for rnd in range(g):
        for b in numba.prange(g):
            block = row_perm[b] * g + col_perm[(b + rnd) % g]
            start, stop = block_ptr[block], block_ptr[block + 1]
            if shuffle:
                _shuffle_ratings(users, items, ratings, start, stop, _cell_seed(seed, block))
            block_loss[block] = _run_steps(
                start, stop, users, items, ratings, mu, user_bias, item_bias, user_factors,
                item_factors, lr_bu, lr_bi, lr_pu, lr_qi, reg_bu, reg_bi, reg_pu, reg_qi, biased)


@numba.njit(**NUMBA_PARALLEL_JIT)
def sgd_epoch_hogwild(users, items, ratings, block_ptr, cell_order, seed, shuffle, mu,
                      user_bias, item_bias, user_factors, item_factors, lr_bu, lr_bi, lr_pu,
                      lr_qi, reg_bu, reg_bi, reg_pu, reg_qi, biased, cell_loss):
    """Same contract as ``kernels.mf.run_sgd_epoch_hogwild`` (arrays already checked)."""
    for j in numba.prange(cell_order.shape[0]):
        cell = cell_order[j]
        start, stop = block_ptr[cell], block_ptr[cell + 1]
        if shuffle:
            _shuffle_ratings(users, items, ratings, start, stop, _cell_seed(seed, cell))
        cell_loss[cell] = _run_steps(start, stop, users, items, ratings, mu, user_bias,
                                     item_bias, user_factors, item_factors, lr_bu, lr_bi, lr_pu,
                                     lr_qi, reg_bu, reg_bi, reg_pu, reg_qi, biased)


@numba.njit(**NUMBA_JIT)
def sgd_epoch(users, items, ratings, mu, user_bias, item_bias, user_factors, item_factors,
              lr_bu, lr_bi, lr_pu, lr_qi, reg_bu, reg_bi, reg_pu, reg_qi, biased):
    """Same contract as ``kernels.mf.run_sgd_epoch`` (arrays already checked)."""
    return _run_steps(0, ratings.shape[0], users, items, ratings, mu, user_bias, item_bias,
                      user_factors, item_factors, lr_bu, lr_bi, lr_pu, lr_qi, reg_bu, reg_bi,
                      reg_pu, reg_qi, biased)
