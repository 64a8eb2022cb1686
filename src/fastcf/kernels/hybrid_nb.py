"""Numba kernels: epochs of the hybrid (LightFM-style) factor model (see ``kernels.hybrid``).

One driver runs both schedules: the entries are laid out chunk by chunk and
the chunks of ``chunk_order`` are handed to the threads one at a time
(``prange``): a single chunk is the serial epoch, a chunk per block of users
the Hogwild one (threads update shared feature rows without locks). A chunk
seeds SplitMix64 from (epoch seed, chunk), optionally shuffles its entries
with it, and then takes each entry in order: the user's and the item's
representations (value-weighted sums of their feature rows) into per-chunk
scratch vectors, the loss's negatives drawn from the same stream, and one step
on every feature row involved. Arithmetic in the embeddings' dtype.
"""

import numba
import numpy as np

from .._config import NUMBA_NUMPY_ERRORS_JIT as NUMBA_JIT
from .._config import NUMBA_NUMPY_ERRORS_PARALLEL_JIT as NUMBA_PARALLEL_JIT
from .bpr_nb import _draw_negatives, _has
from .prefetch_nb import prefetch_row
from .random_nb import below, cell_seed, splitmix64

#: LightFM's clip of the WARP weight (``MAX_LOSS``).
WARP_MAX_WEIGHT = 10.0
#: Entries ahead whose feature rows a step prefetches.
_PREFETCH_DISTANCE = 4


@numba.njit(**NUMBA_JIT)
def _shuffle_entries(users, items, values, start, stop, state):
    """Fisher-Yates shuffle of the entries [start, stop) in place (``bpr_nb``'s draws);
    returns the stream's state."""
    for j in range(stop - start - 1, 0, -1):
        state, draw = splitmix64(state)
        a, b = start + j, start + below(draw, j + 1)
        users[a], users[b] = users[b], users[a]
        items[a], items[b] = items[b], items[a]
        values[a], values[b] = values[b], values[a]
    return state


@numba.njit(**NUMBA_JIT)
def _represent(indptr, indices, data, embeddings, biases, row, out):
    """out = sum of row's features' embeddings weighted by their values; returns the
    bias of the same sum. (The first feature is assigned, not added to zeros: one
    pass less over ``out`` for the rows of one feature.)"""
    k = embeddings.shape[1]
    lo, hi = indptr[row], indptr[row + 1]
    bias = out[0] - out[0]
    if lo == hi:
        for d in range(k):
            out[d] = bias
        return bias
    a, w = data[lo], embeddings[indices[lo]]
    for d in range(k):
        out[d] = a * w[d]
    bias = a * biases[indices[lo]]
    for t in range(lo + 1, hi):
        f, a = indices[t], data[t]
        w = embeddings[f]
        for d in range(k):
            out[d] += a * w[d]
        bias += a * biases[f]
    return bias


@numba.njit(**NUMBA_JIT)
def _prefetch_features(indptr, indices, row, embeddings, accumulators):
    """Ask for the embedding (and adagrad accumulator) rows of ``row``'s features."""
    for t in range(indptr[row], indptr[row + 1]):
        prefetch_row(embeddings, indices[t])
        if accumulators.shape[0]:
            prefetch_row(accumulators, indices[t])


@numba.njit(**NUMBA_JIT)
def _score(indptr, indices, data, embeddings, biases, row, p):
    """p . q + bias of ``row``'s representation, without forming it: the sum over its
    features of value * (p . embedding + bias) (WARP scores many negatives, steps on one)."""
    total = p[0] - p[0]
    for t in range(indptr[row], indptr[row + 1]):
        f = indices[t]
        w = embeddings[f]
        s = biases[f]
        for d in range(p.shape[0]):
            s += p[d] * w[d]
        total += data[t] * s
    return total


@numba.njit(**NUMBA_JIT)
def _step(indptr, indices, data, row, embeddings, biases, emb_acc, bias_acc, direction,
          coefficient, move_bias, lr, reg, adagrad):
    """Each feature f (value a) of ``row`` one step up its gradient: w += rate (coefficient
    a direction - reg w) on the embedding, the same with direction 1 on the bias (when
    ``move_bias``); rate = lr (sgd) or lr / sqrt(G), G += the data term squared (adagrad)."""
    k = embeddings.shape[1]
    keep = embeddings.dtype.type(1) - lr * reg  # x + lr (g - reg x) = keep x + lr g
    for t in range(indptr[row], indptr[row + 1]):
        f = indices[t]
        scale = coefficient * data[t]
        w = embeddings[f]
        if adagrad:
            acc = emb_acc[f]
            for d in range(k):
                g = scale * direction[d]
                w[d] += lr / np.sqrt(acc[d]) * (g - reg * w[d])
                acc[d] += g * g
            if move_bias:
                biases[f] += lr / np.sqrt(bias_acc[f]) * (scale - reg * biases[f])
                bias_acc[f] += scale * scale
        else:
            step = lr * scale
            for d in range(k):
                w[d] = keep * w[d] + step * direction[d]
            if move_bias:
                biases[f] = keep * biases[f] + step


@numba.njit(**NUMBA_JIT)
def _dot(x, y):
    total = x[0] - x[0]
    for d in range(x.shape[0]):
        total += x[d] * y[d]
    return total


@numba.njit(**NUMBA_JIT)
def _run_chunk(start, stop, state, users, items, values, uf_indptr, uf_indices, uf_data,
               if_indptr, if_indices, if_data, seen_indptr, seen_indices, pool, negatives,
               user_emb, user_bias, item_emb, item_bias, user_emb_acc, user_bias_acc,
               item_emb_acc, item_bias_acc, loss, adagrad, lr, reg_user, reg_item, mu,
               max_sampled):
    """The steps of one chunk; returns (entries ranked right, entries without a step,
    sum of the loss terms). BPR's negatives do not depend on the parameters: they are
    drawn first (``bpr_nb``'s batched draws, the same stream as one by one), so that
    each step can ask for the rows of the ones ahead."""
    k = user_emb.shape[1]
    dtype = user_emb.dtype
    p, qi, qj = np.empty(k, dtype), np.empty(k, dtype), np.empty(k, dtype)
    n_items, n_pool = if_indptr.shape[0] - 1, pool.shape[0]
    one = user_emb.dtype.type(1)
    right, no_step, total = 0, 0, 0.0
    if loss == 1:
        _draw_negatives(start, stop, users, pool, 0, n_pool, seen_indptr, seen_indices, state,
                        max_sampled, negatives)
    for t in range(start, stop):
        ahead = t + _PREFETCH_DISTANCE
        if ahead < stop:
            _prefetch_features(uf_indptr, uf_indices, users[ahead], user_emb, user_emb_acc)
            _prefetch_features(if_indptr, if_indices, items[ahead], item_emb, item_emb_acc)
            if loss == 1 and negatives[ahead] >= 0:
                _prefetch_features(if_indptr, if_indices, negatives[ahead], item_emb,
                                   item_emb_acc)
        u, i = users[t], items[t]
        pb = _represent(uf_indptr, uf_indices, uf_data, user_emb, user_bias, u, p)
        qib = _represent(if_indptr, if_indices, if_data, item_emb, item_bias, i, qi)
        if loss == 0:  # squared
            err = values[t] - (mu + pb + qib + _dot(qi, p))
            total += np.float64(err) * np.float64(err)
            _step(uf_indptr, uf_indices, uf_data, u, user_emb, user_bias, user_emb_acc,
                  user_bias_acc, qi, err, True, lr, reg_user, adagrad)
            _step(if_indptr, if_indices, if_data, i, item_emb, item_bias, item_emb_acc,
                  item_bias_acc, p, err, True, lr, reg_item, adagrad)
            continue
        lo, hi = seen_indptr[u], seen_indptr[u + 1]
        negative = -1
        coefficient = one - one
        if loss == 1:  # bpr
            negative = negatives[t]
            if negative >= 0:
                qjb = _represent(if_indptr, if_indices, if_data, item_emb, item_bias,
                                 negative, qj)
                x = qib - qjb
                for d in range(k):
                    x += p[d] * (qi[d] - qj[d])
                coefficient = one / (one + np.exp(x))
                if x > 0:
                    right += 1
        else:  # warp
            positive = qib + _dot(p, qi) - one
            for sampled in range(1, max_sampled + 1):
                state, draw = splitmix64(state)
                candidate = pool[below(draw, n_pool)]
                if _score(if_indptr, if_indices, if_data, item_emb, item_bias, candidate,
                          p) > positive:
                    if _has(seen_indices, lo, hi, candidate):
                        continue
                    negative = candidate
                    _represent(if_indptr, if_indices, if_data, item_emb, item_bias, negative,
                               qj)
                    weight = min(np.log(max(1.0, np.float64((n_items - 1) // sampled))),
                                 WARP_MAX_WEIGHT)
                    coefficient = user_emb.dtype.type(weight)
                    break
            if negative < 0:
                right += 1
        if negative < 0:
            no_step += 1
            continue
        total += coefficient
        for d in range(k):  # qi becomes the user's direction, qi - qj
            qi[d] -= qj[d]
        _step(uf_indptr, uf_indices, uf_data, u, user_emb, user_bias, user_emb_acc,
              user_bias_acc, qi, coefficient, False, lr, reg_user, adagrad)
        _step(if_indptr, if_indices, if_data, i, item_emb, item_bias, item_emb_acc,
              item_bias_acc, p, coefficient, True, lr, reg_item, adagrad)
        _step(if_indptr, if_indices, if_data, negative, item_emb, item_bias, item_emb_acc,
              item_bias_acc, p, -coefficient, True, lr, reg_item, adagrad)
    return right, no_step, total


@numba.njit(**NUMBA_PARALLEL_JIT)
def hybrid_epoch(users, items, values, chunk_ptr, chunk_order, seed, shuffle, uf_indptr,
                 uf_indices, uf_data, if_indptr, if_indices, if_data, seen_indptr, seen_indices,
                 pool, negatives, user_emb, user_bias, item_emb, item_bias, user_emb_acc,
                 user_bias_acc, item_emb_acc, item_bias_acc, loss, adagrad, lr, reg_user,
                 reg_item, mu, max_sampled, chunk_stats):
    """Same contract as ``kernels.hybrid.run_hybrid_epoch`` (arrays already checked)."""
    for c in numba.prange(chunk_order.shape[0]):
        chunk = chunk_order[c]
        start, stop = chunk_ptr[chunk], chunk_ptr[chunk + 1]
        state = cell_seed(seed, chunk)
        if shuffle:
            state = _shuffle_entries(users, items, values, start, stop, state)
        right, no_step, total = _run_chunk(
            start, stop, state, users, items, values, uf_indptr, uf_indices, uf_data,
            if_indptr, if_indices, if_data, seen_indptr, seen_indices, pool, negatives,
            user_emb, user_bias, item_emb, item_bias, user_emb_acc, user_bias_acc,
            item_emb_acc, item_bias_acc, loss, adagrad, lr, reg_user, reg_item, mu,
            max_sampled)
        chunk_stats[chunk, 0] = right
        chunk_stats[chunk, 1] = no_step
        chunk_stats[chunk, 2] = total
