"""Reference twin of the DP-SGD kernels of matrix factorization (``kernels.dp_sgd``):
plain Python loops, float64 throughout."""

import math

import numpy as np


def _predict(centre, user_bias, item_bias, user_factors, item_factors, u, i):
    dot = 0.0
    for f in range(user_factors.shape[1]):
        dot += float(user_factors[u, f]) * float(item_factors[i, f])
    return float(centre) + float(user_bias[u]) + float(item_bias[i]) + dot


def _user_pass(u, positions, items, ratings, centre, user_bias, item_bias, user_factors,
               item_factors, lr_bu, lr_pu, reg_bu, reg_pu):
    """One SGD pass of user ``u`` over ``positions``, the item side frozen; the loss."""
    loss = 0.0
    for t in positions:
        i = int(items[t])
        err = float(ratings[t]) - _predict(centre, user_bias, item_bias, user_factors,
                                           item_factors, u, i)
        user_bias[u] = float(user_bias[u]) + lr_bu * (err - reg_bu * float(user_bias[u]))
        for f in range(user_factors.shape[1]):
            pf = float(user_factors[u, f])
            user_factors[u, f] = pf + lr_pu * (err * float(item_factors[i, f]) - reg_pu * pf)
        loss += err * err
    return loss


def dp_sgd_step(batch_users, batch_ptr, batch_pos, items, ratings, centre, user_bias,
                item_bias, user_factors, item_factors, lr_bu, lr_pu, reg_bu, reg_pu, lr_bi,
                lr_qi, reg_bi, reg_qi, clip_norm, per_rating, noise, noise_scale, batch_size,
                coef):
    """Same contract as ``kernels.dp_sgd.run_dp_sgd_step``.

    1. Each batch user ``u = batch_users[b]`` (ratings ``batch_pos[batch_ptr[b]:
       batch_ptr[b + 1]]``) runs one SGD pass over them updating ``b_u, p_u``
       only; then, with the new ``b_u, p_u``, ``e_j = r_j - r_hat_j`` and the
       gradient of the user's loss towards the item side is ``e_j (p_u, 1)`` in
       item ``i_j``'s row; its L2 norm over all the user's rows is
       ``sqrt((|p_u|^2 + 1) sum_j e_j^2)`` (the items of a user are distinct).
       ``coef_j = s e_j`` with ``s = min(1, clip_norm / norm)`` (``per_rating``:
       the norm of the rating's own row, ``|e_j| sqrt(|p_u|^2 + 1)``).
    2. ``G = noise_scale * noise``, then in batch order
       ``G[i_j] += coef_j (p_u, 1)`` (the result is written into ``noise``).
    3. Every item: ``q_i = (1 - lr_qi reg_qi) q_i + lr_qi G[i, :k] / batch_size``,
       ``b_i = (1 - lr_bi reg_bi) b_i + lr_bi G[i, k] / batch_size``.

    Returns the sum of the squared errors of the users' SGD passes.
    """
    k = user_factors.shape[1]
    loss = 0.0
    for b in range(len(batch_users)):
        u = int(batch_users[b])
        positions = [int(t) for t in batch_pos[int(batch_ptr[b]):int(batch_ptr[b + 1])]]
        loss += _user_pass(u, positions, items, ratings, centre, user_bias, item_bias,
                           user_factors, item_factors, lr_bu, lr_pu, reg_bu, reg_pu)
        row_sq = 1.0 + sum(float(user_factors[u, f]) ** 2 for f in range(k))
        errors = [float(ratings[t]) - _predict(centre, user_bias, item_bias, user_factors,
                                               item_factors, u, int(items[t]))
                  for t in positions]
        if per_rating:
            for j, err in enumerate(errors):
                norm = abs(err) * math.sqrt(row_sq)
                scale = clip_norm / norm if norm > clip_norm else 1.0
                coef[int(batch_ptr[b]) + j] = scale * err
        else:
            norm = math.sqrt(row_sq * sum(err * err for err in errors))
            scale = clip_norm / norm if norm > clip_norm else 1.0
            for j, err in enumerate(errors):
                coef[int(batch_ptr[b]) + j] = scale * err
    total = np.asarray(noise, dtype=np.float64) * float(noise_scale)
    for b in range(len(batch_users)):
        u = int(batch_users[b])
        for j in range(int(batch_ptr[b]), int(batch_ptr[b + 1])):
            i = int(items[int(batch_pos[j])])
            for f in range(k):
                total[i, f] += float(coef[j]) * float(user_factors[u, f])
            total[i, k] += float(coef[j])
    noise[:] = total
    for i in range(item_factors.shape[0]):
        for f in range(k):
            item_factors[i, f] = (1.0 - lr_qi * reg_qi) * float(item_factors[i, f]) + \
                lr_qi * total[i, f] / batch_size
        item_bias[i] = (1.0 - lr_bi * reg_bi) * float(item_bias[i]) + \
            lr_bi * total[i, k] / batch_size
    return loss
