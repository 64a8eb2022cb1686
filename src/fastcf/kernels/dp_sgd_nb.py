"""Numba kernels of DP-SGD for matrix factorization (see ``kernels.dp_sgd``).

One step is three loops, each of whose iterations writes only its own rows:

1. over the batch's users (``prange``, one user a task): the user's SGD pass
   (``b_u, p_u``), then the errors with the new ``b_u, p_u`` and the clipped
   coefficients ``coef_j`` of the user's ratings (their own slots);
2. over ``n_threads`` contiguous item ranges: each scans the whole batch in
   order and adds ``coef_j (p_u, 1)`` into the noise rows of its own items --
   every item's sum is taken in batch order whatever the number of ranges, so
   1 and N threads give the same bits;
3. (same task) the item step of the range's rows.

The dot products use eight partial sums in a fixed order (not LLVM's
reassociation, which may split a reduction by the row's alignment: the SVD++
lesson in ``_config``), so a result does not depend on where arrays sit.
"""

import numba
import numpy as np

from .._config import MF_PREFETCH_DISTANCE as _AHEAD
from .._config import NUMBA_ORDERED_JIT, NUMBA_ORDERED_PARALLEL_JIT
from .dot_nb import ordered_dot as _dot
from .prefetch_nb import prefetch_row, prefetch_span


@numba.njit(**NUMBA_ORDERED_JIT)
def _sum(values):
    """A sequential sum (a ``.sum()`` in a parallel function may become a parallel
    reduction, whose order follows the thread count)."""
    total = 0.0
    for v in values:
        total += v
    return total


@numba.njit(**NUMBA_ORDERED_JIT)
def _user_pass(u, start, stop, positions, items, ratings, centre, user_bias, item_bias,
               user_factors, item_factors, lr_bu, lr_pu, reg_bu, reg_pu):
    """One SGD pass of user ``u`` over its ratings ``positions[start:stop]``, the items
    frozen; the loss."""
    p = user_factors[u]
    keep_p = 1 - lr_pu * reg_pu
    loss = 0.0
    for j in range(start, stop):
        if j + _AHEAD < stop:  # the item row a few ratings ahead: read soon
            prefetch_span(item_factors[items[positions[j + _AHEAD]]], 0, item_factors.shape[1])
        t = positions[j]
        i = items[t]
        q = item_factors[i]
        err = ratings[t] - (centre + user_bias[u] + item_bias[i] + _dot(p, q))
        user_bias[u] = user_bias[u] + lr_bu * (err - reg_bu * user_bias[u])
        step = lr_pu * err
        for f in range(p.shape[0]):
            p[f] = keep_p * p[f] + step * q[f]
        loss += np.float64(err) * np.float64(err)
    return loss


@numba.njit(**NUMBA_ORDERED_PARALLEL_JIT)
def dp_sgd_step(batch_users, batch_ptr, batch_pos, items, ratings, centre, user_bias,
                item_bias, user_factors, item_factors, lr_bu, lr_pu, reg_bu, reg_pu, lr_bi,
                lr_qi, reg_bi, reg_qi, clip_norm, per_rating, noise, noise_scale, batch_size,
                coef, n_threads):
    """Same contract as ``kernels.dp_sgd.run_dp_sgd_step`` (arrays already checked)."""
    n_batch = batch_users.shape[0]
    n_items, k = item_factors.shape
    losses = np.zeros(n_batch)
    for b in numba.prange(n_batch):
        u = batch_users[b]
        start, stop = batch_ptr[b], batch_ptr[b + 1]
        losses[b] = _user_pass(u, start, stop, batch_pos, items, ratings, centre, user_bias,
                               item_bias, user_factors, item_factors, lr_bu, lr_pu, reg_bu,
                               reg_pu)
        p = user_factors[u]
        row_sq = np.float64(1.0) + np.float64(_dot(p, p))
        sum_sq = 0.0
        for j in range(start, stop):
            if j + _AHEAD < stop:
                prefetch_span(item_factors[items[batch_pos[j + _AHEAD]]], 0, k)
            t = batch_pos[j]
            i = items[t]
            err = ratings[t] - (centre + user_bias[u] + item_bias[i] +
                                _dot(p, item_factors[i]))
            coef[j] = err
            sum_sq += np.float64(err) * np.float64(err)
        if per_rating:
            for j in range(start, stop):
                norm = abs(np.float64(coef[j])) * np.sqrt(row_sq)
                if norm > clip_norm:
                    coef[j] = coef[j] * (clip_norm / norm)
        else:
            norm = np.sqrt(row_sq * sum_sq)
            if norm > clip_norm:
                scale = clip_norm / norm
                for j in range(start, stop):
                    coef[j] = coef[j] * scale
    n_ranges = max(1, min(n_threads, n_items))
    keep_q = 1 - lr_qi * reg_qi
    keep_b = 1 - lr_bi * reg_bi
    step_q = lr_qi / batch_size
    step_b = lr_bi / batch_size
    for r in numba.prange(n_ranges):
        lo = r * n_items // n_ranges
        hi = (r + 1) * n_items // n_ranges
        for i in range(lo, hi):
            for f in range(k + 1):
                noise[i, f] = noise[i, f] * noise_scale
        for b in range(n_batch):
            p = user_factors[batch_users[b]]
            for j in range(batch_ptr[b], batch_ptr[b + 1]):
                if j + _AHEAD < batch_ptr[b + 1]:
                    ahead = items[batch_pos[j + _AHEAD]]
                    if lo <= ahead < hi:
                        prefetch_row(noise, ahead)
                i = items[batch_pos[j]]
                if i < lo or i >= hi:
                    continue
                c = coef[j]
                g = noise[i]
                for f in range(k):
                    g[f] += c * p[f]
                g[k] += c
        for i in range(lo, hi):
            q = item_factors[i]
            g = noise[i]
            for f in range(k):
                q[f] = keep_q * q[f] + step_q * g[f]
            item_bias[i] = keep_b * item_bias[i] + step_b * g[k]
    return _sum(losses)
