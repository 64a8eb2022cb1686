"""Numba kernel: one epoch of NMF's multiplicative updates (see ``kernels.nmf``)."""

import numba
import numpy as np

from .._config import NUMBA_JIT, NUMBA_PARALLEL_JIT


@numba.njit(**NUMBA_JIT)
def _dot(pu, qi, u, i):
    dot = 0.0
    for f in range(pu.shape[1]):
        dot += qi[i, f] * pu[u, f]
    return dot


# Rows and positions are taken as unsigned (np.uint64) in the loops below so that
# Numba drops its negative-index wraparound checks (the wrapper validated every
# index): 1M ratings, k=15, one thread, 23.1 vs 25.8 ms an epoch (best of 15,
# interleaved, on a loaded 2-core machine).


@numba.njit(**NUMBA_JIT)
def _bias_pass(indptr, indices, ratings, user_order, bu, bi, mu, reg_bu, reg_bi, lr_bu, lr_bi,
               est):
    """The biases by SGD, rating by rating in visiting order (``est`` holds the dots)."""
    for position in range(user_order.shape[0]):
        u = user_order[position]
        for e in range(indptr[u], indptr[u + 1]):
            i = indices[e]
            estimate = mu + bu[u] + bi[i] + est[e]
            err = ratings[e] - estimate
            bu[u] += lr_bu * (err - reg_bu * bu[u])
            bi[i] += lr_bi * (err - reg_bi * bi[i])
            est[e] = estimate


@numba.njit(**NUMBA_JIT)
def _loss(indptr, ratings, user_order, est):
    loss = 0.0
    for position in range(user_order.shape[0]):
        u = user_order[position]
        for e in range(indptr[u], indptr[u + 1]):
            err = ratings[e] - est[e]
            loss += err * err
    return loss


@numba.njit(**NUMBA_JIT)
def _update_row(factors, num, den, row, count, reg):
    """Surprise's update of one row's factors from its sums (rows without ratings kept)."""
    if count == 0:
        return
    for f in range(factors.shape[1]):
        if factors[row, f] != 0.0:
            den[row, f] += count * reg * factors[row, f]
            factors[row, f] *= num[row, f] / den[row, f]


@numba.njit(**NUMBA_PARALLEL_JIT)
def nmf_epoch(indptr, indices, ratings, item_indptr, item_users, item_entries, user_order, pu,
              qi, bu, bi, mu, reg_pu, reg_qi, reg_bu, reg_bi, lr_bu, lr_bi, biased, est,
              user_num, user_den, item_num, item_den):
    n_users, k = pu.shape
    n_items = qi.shape[0]
    if biased:
        for u in numba.prange(n_users):
            for e in range(np.uint64(indptr[u]), np.uint64(indptr[u + 1])):
                est[e] = _dot(pu, qi, np.uint64(u), np.uint64(indices[e]))
        _bias_pass(indptr, indices, ratings, user_order, bu, bi, mu, reg_bu, reg_bi, lr_bu,
                   lr_bi, est)
    # The user sums read qi and the item sums pu as they were when the epoch began:
    # the items are updated only after every user sum, the users after every item sum.
    for u in numba.prange(n_users):
        u = np.uint64(u)
        for f in range(k):
            user_num[u, f] = 0.0
            user_den[u, f] = 0.0
        for e in range(np.uint64(indptr[u]), np.uint64(indptr[u + 1])):
            i = np.uint64(indices[e])
            if not biased:
                est[e] = _dot(pu, qi, u, i)
            r, estimate = ratings[e], est[e]
            for f in range(k):
                user_num[u, f] += qi[i, f] * r
                user_den[u, f] += qi[i, f] * estimate
    for i in numba.prange(n_items):
        i = np.uint64(i)
        for f in range(k):
            item_num[i, f] = 0.0
            item_den[i, f] = 0.0
        for p in range(np.uint64(item_indptr[i]), np.uint64(item_indptr[i + 1])):
            u, e = np.uint64(item_users[p]), np.uint64(item_entries[p])
            r, estimate = ratings[e], est[e]
            for f in range(k):
                item_num[i, f] += pu[u, f] * r
                item_den[i, f] += pu[u, f] * estimate
        _update_row(qi, item_num, item_den, i, item_indptr[i + 1] - item_indptr[i], reg_qi)
    for u in numba.prange(n_users):
        _update_row(pu, user_num, user_den, u, indptr[u + 1] - indptr[u], reg_pu)
    return _loss(indptr, ratings, user_order, est)

