"""Reference twin of the hybrid (LightFM-style) epoch: every step in plain Python, the
chunks one after another, drawing the same SplitMix64 numbers as the kernels."""

import math

from .bpr import _below
from .mf import _cell_seed, _splitmix64

_MASK = (1 << 64) - 1
#: LightFM's clip of the WARP weight.
_WARP_MAX_WEIGHT = 10.0


def _representation(indptr, indices, data, embeddings, biases, row):
    """(vector, bias) of one row: the value-weighted sum of its features' embeddings."""
    k = embeddings.shape[1]
    vector, bias = [0.0] * k, 0.0
    for t in range(int(indptr[row]), int(indptr[row + 1])):
        f, a = int(indices[t]), float(data[t])
        for d in range(k):
            vector[d] += a * float(embeddings[f, d])
        bias += a * float(biases[f])
    return vector, bias


def _step(indptr, indices, data, row, embeddings, biases, emb_acc, bias_acc, direction,
          coefficient, move_bias, lr, reg, adagrad):
    """Move each feature of ``row`` up its gradient: for a feature of value a, every
    embedding entry w by rate * (coefficient * a * direction_d - reg * w), the bias (with
    ``move_bias``) by rate * (coefficient * a - reg * b); rate = lr (sgd) or
    lr / sqrt(G) with G += (coefficient * a * direction_d) ** 2 after the step (adagrad)."""
    for t in range(int(indptr[row]), int(indptr[row + 1])):
        f, a = int(indices[t]), float(data[t])
        scale = coefficient * a
        for d in range(embeddings.shape[1]):
            g, w = scale * direction[d], float(embeddings[f, d])
            rate = lr / math.sqrt(float(emb_acc[f, d])) if adagrad else lr
            embeddings[f, d] = w + rate * (g - reg * w)
            if adagrad:
                emb_acc[f, d] = float(emb_acc[f, d]) + g * g
        if move_bias:
            b = float(biases[f])
            rate = lr / math.sqrt(float(bias_acc[f])) if adagrad else lr
            biases[f] = b + rate * (scale - reg * b)
            if adagrad:
                bias_acc[f] = float(bias_acc[f]) + scale * scale


def _seen(seen_indptr, seen_indices, user, item):
    return item in {int(v) for v in seen_indices[seen_indptr[user]:seen_indptr[user + 1]]}


def hybrid_epoch(users, items, values, chunk_ptr, chunk_order, seed, shuffle, uf_indptr,
                 uf_indices, uf_data, if_indptr, if_indices, if_data, seen_indptr, seen_indices,
                 pool, negatives, user_emb, user_bias, item_emb, item_bias, user_emb_acc,
                 user_bias_acc, item_emb_acc, item_bias_acc, loss, adagrad, lr, reg_user,
                 reg_item, mu, max_sampled, chunk_stats):
    """Same contract as ``kernels.hybrid.run_hybrid_epoch``; Python floats throughout.

    Chunks in ``chunk_order``. A chunk c seeds SplitMix64 with
    seed ^ (c * 0x9E3779B1 + 1); with ``shuffle`` it shuffles its entries
    [chunk_ptr[c], chunk_ptr[c + 1]) by Fisher-Yates (j from the last down to 1
    swaps with below(next draw, j + 1)); then, continuing the stream, each entry
    (u, i, r) in order: the representations p_u, q_i (and their biases) from the
    parameters as they are, then the loss's step (``kernels.hybrid``'s docstring),
    each negative pool[below(next draw, len(pool))]; negatives[t] = BPR's negative of
    entry t (-1: none), scratch the compiled kernels draw ahead of the steps.
    chunk_stats[c] = (entries ranked right, entries without a step, sum of the loss
    terms: e^2, z or the WARP weights).
    """
    n_items = len(if_indptr) - 1
    for chunk in chunk_order:
        chunk = int(chunk)
        start, stop = int(chunk_ptr[chunk]), int(chunk_ptr[chunk + 1])
        state = _cell_seed(seed, chunk)
        if shuffle:
            for j in range(stop - start - 1, 0, -1):
                state, draw = _splitmix64(state)
                a, b = start + j, start + _below(draw, j + 1)
                for arr in (users, items, values):
                    arr[a], arr[b] = arr[b], arr[a]
        right = no_step = 0
        total = 0.0
        for t in range(start, stop):
            u, i = int(users[t]), int(items[t])
            p, pb = _representation(uf_indptr, uf_indices, uf_data, user_emb, user_bias, u)
            qi, qib = _representation(if_indptr, if_indices, if_data, item_emb, item_bias, i)
            user_args = (uf_indptr, uf_indices, uf_data, u, user_emb, user_bias, user_emb_acc,
                         user_bias_acc)
            item_args = (if_indptr, if_indices, if_data)
            item_arrays = (item_emb, item_bias, item_emb_acc, item_bias_acc)
            if loss == 0:  # squared
                err = float(values[t]) - (float(mu) + pb + qib +
                                           sum(x * y for x, y in zip(p, qi)))
                total += err * err
                _step(*user_args, qi, err, True, lr, reg_user, adagrad)
                _step(*item_args, i, *item_arrays, p, err, True, lr, reg_item, adagrad)
                continue
            negative, coefficient = -1, 0.0
            if loss == 1:  # bpr
                for _ in range(max_sampled):
                    state, draw = _splitmix64(state)
                    candidate = int(pool[_below(draw, len(pool))])
                    if not _seen(seen_indptr, seen_indices, u, candidate):
                        negative = candidate
                        break
                negatives[t] = negative
                if negative >= 0:
                    qj, qjb = _representation(if_indptr, if_indices, if_data, item_emb,
                                              item_bias, negative)
                    x = qib - qjb + sum(a * (b - c) for a, b, c in zip(p, qi, qj))
                    coefficient = 1.0 / (1.0 + math.exp(x)) if x < 700 else 0.0
                    right += x > 0
            else:  # warp
                positive = qib + sum(x * y for x, y in zip(p, qi))
                for sampled in range(1, max_sampled + 1):
                    state, draw = _splitmix64(state)
                    candidate = int(pool[_below(draw, len(pool))])
                    score = sum(float(if_data[t]) * (float(item_bias[int(if_indices[t])]) +
                                                     sum(x * float(y) for x, y in zip(
                                                         p, item_emb[int(if_indices[t])])))
                                for t in range(int(if_indptr[candidate]),
                                               int(if_indptr[candidate + 1])))
                    if score > positive - 1.0:
                        if _seen(seen_indptr, seen_indices, u, candidate):
                            continue
                        negative = candidate
                        qj, _ = _representation(if_indptr, if_indices, if_data, item_emb,
                                                item_bias, candidate)
                        coefficient = min(math.log(max(1.0, float((n_items - 1) // sampled))),
                                          _WARP_MAX_WEIGHT)
                        break
                right += negative < 0
            if negative < 0:
                no_step += 1
                continue
            total += coefficient
            _step(*user_args, [b - c for b, c in zip(qi, qj)], coefficient, False, lr, reg_user,
                  adagrad)
            _step(*item_args, i, *item_arrays, p, coefficient, True, lr, reg_item, adagrad)
            _step(*item_args, negative, *item_arrays, p, -coefficient, True, lr, reg_item,
                  adagrad)
        chunk_stats[chunk] = (right, no_step, total)
