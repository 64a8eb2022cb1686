"""Reference twin of the BPR epoch: Rendle et al.'s SGD step in plain Python, the
cells one after another, drawing the same SplitMix64 numbers as the kernels."""

import math

from .mf import _cell_seed, _splitmix64


def _below(draw, n):
    """A draw in [0, n) from the high 32 bits of ``draw`` (multiply-shift)."""
    return ((draw >> 32) * n) >> 32


def bpr_epoch(users, items, negatives, cell_ptr, rounds, pool, cell_pool, indptr, indices, seed,
              user_factors, item_factors, item_bias, lr, reg, use_bias, max_draws, cell_stats):
    """Same contract as ``kernels.bpr.run_bpr_epoch``; Python floats (float64) throughout.

    Cells in ``rounds`` order. A cell shuffles its pairs [cell_ptr[c],
    cell_ptr[c + 1]) by Fisher-Yates (j from the last down to 1 swaps with
    below(next draw, j + 1)) with SplitMix64 seeded by seed ^ (c * 0x9E3779B1 +
    1); then, continuing the stream, for each pair (u, i): draw negatives
    j = pool[lo + below(draw, hi - lo)] ((lo, hi) = cell_pool[c]) until u has
    not seen j (at most ``max_draws``, else the pair is skipped), recorded in
    negatives[t] (-1: skipped); the pair's negative is drawn before any step
    of the cell (the steps draw nothing, so the order is immaterial); with
    x = p_u . (q_i - q_j) + b_i - b_j and z = 1 / (1 + exp(x)), every factor
    f with the old values: p_uf += lr (z (q_if - q_jf) - reg p_uf),
    q_if += lr (z p_uf - reg q_if), q_jf += lr (-z p_uf - reg q_jf), and
    b_i += lr (z - reg b_i), b_j += lr (-z - reg b_j) when ``use_bias``.
    cell_stats[c] = (pairs with x > 0, pairs skipped, sum of z).
    """
    n_factors = user_factors.shape[1]
    for round_cells in rounds:
        for cell in round_cells:
            cell = int(cell)
            start, stop = int(cell_ptr[cell]), int(cell_ptr[cell + 1])
            state = _cell_seed(seed, cell)
            for j in range(stop - start - 1, 0, -1):
                state, draw = _splitmix64(state)
                a, b = start + j, start + _below(draw, j + 1)
                for arr in (users, items):
                    arr[a], arr[b] = arr[b], arr[a]
            lo, hi = int(cell_pool[cell, 0]), int(cell_pool[cell, 1])
            correct = skipped = 0
            z_sum = 0.0
            for t in range(start, stop):
                u, i = int(users[t]), int(items[t])
                seen = set(int(v) for v in indices[indptr[u]:indptr[u + 1]])
                neg = None
                for _ in range(max_draws):
                    state, draw = _splitmix64(state)
                    candidate = int(pool[lo + _below(draw, hi - lo)])
                    if candidate not in seen:
                        neg = candidate
                        break
                negatives[t] = -1 if neg is None else neg
                if neg is None:
                    skipped += 1
                    continue
                x = float(item_bias[i]) - float(item_bias[neg]) if use_bias else 0.0
                for f in range(n_factors):
                    x += float(user_factors[u, f]) * (float(item_factors[i, f]) -
                                                      float(item_factors[neg, f]))
                z = 1.0 / (1.0 + math.exp(x)) if x < 700 else 0.0
                correct += x > 0
                z_sum += z
                for f in range(n_factors):
                    pf = float(user_factors[u, f])
                    qif, qjf = float(item_factors[i, f]), float(item_factors[neg, f])
                    user_factors[u, f] = pf + lr * (z * (qif - qjf) - reg * pf)
                    item_factors[i, f] = qif + lr * (z * pf - reg * qif)
                    item_factors[neg, f] = qjf + lr * (-z * pf - reg * qjf)
                if use_bias:
                    item_bias[i] = float(item_bias[i]) + lr * (z - reg * float(item_bias[i]))
                    item_bias[neg] = float(item_bias[neg]) + lr * (-z - reg * float(item_bias[neg]))
            cell_stats[cell] = (correct, skipped, z_sum)
