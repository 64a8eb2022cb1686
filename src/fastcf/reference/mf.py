"""Reference twin of the serial SGD epoch: Surprise SVD's loop, in plain Python."""


def sgd_epoch(users, items, ratings, order, mu, user_bias, item_bias, user_factors,
              item_factors, lr_bu, lr_bi, lr_pu, lr_qi, reg_bu, reg_bi, reg_pu, reg_qi, biased):
    """Same contract as ``kernels.mf.sgd_epoch``; Python floats (float64) throughout.

    For each rating (u, i, r) in ``order``: err = r - (mu + b_u + b_i + p_u . q_i)
    (without the biases when not ``biased``); b_u += lr_bu (err - reg_bu b_u);
    b_i += lr_bi (err - reg_bi b_i); then for every factor f, with the old values,
    p_uf += lr_pu (err q_if - reg_pu p_uf) and q_if += lr_qi (err p_uf - reg_qi q_if).
    """
    n_factors = user_factors.shape[1]
    loss = 0.0
    for e in order:
        u, i, r = int(users[e]), int(items[e]), float(ratings[e])
        dot = 0.0
        for f in range(n_factors):
            dot += float(item_factors[i, f]) * float(user_factors[u, f])
        if biased:
            err = r - (float(mu) + float(user_bias[u]) + float(item_bias[i]) + dot)
            user_bias[u] = float(user_bias[u]) + lr_bu * (err - reg_bu * float(user_bias[u]))
            item_bias[i] = float(item_bias[i]) + lr_bi * (err - reg_bi * float(item_bias[i]))
        else:
            err = r - dot
        for f in range(n_factors):
            pf, qf = float(user_factors[u, f]), float(item_factors[i, f])
            user_factors[u, f] = pf + lr_pu * (err * qf - reg_pu * pf)
            item_factors[i, f] = qf + lr_qi * (err * pf - reg_qi * qf)
        loss += err * err
    return loss
