"""Reference twin of the serial SGD epoch: Surprise SVD's loop, in plain Python."""


def sgd_epoch(users, items, ratings, mu, user_bias, item_bias, user_factors, item_factors,
              lr_bu, lr_bi, lr_pu, lr_qi, reg_bu, reg_bi, reg_pu, reg_qi, biased):
    """Same contract as ``kernels.mf.run_sgd_epoch``; Python floats (float64) throughout.

    For each rating (u, i, r), in array order: err = r - (mu + b_u + b_i + p_u . q_i)
    (without the biases when not ``biased``); b_u += lr_bu (err - reg_bu b_u);
    b_i += lr_bi (err - reg_bi b_i); then for every factor f, with the old values,
    p_uf += lr_pu (err q_if - reg_pu p_uf) and q_if += lr_qi (err p_uf - reg_qi q_if).
    """
    n_factors = user_factors.shape[1]
    loss = 0.0
    for e in range(len(ratings)):
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


_MASK = (1 << 64) - 1


def _splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & _MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return state, z ^ (z >> 31)


def _shuffle_ratings(users, items, ratings, start, stop, seed):
    """Fisher-Yates over the ratings [start, stop): j from the last down to 1 swaps
    with r = (the next SplitMix64 draw) mod (j + 1)."""
    state = int(seed) & _MASK
    for j in range(stop - start - 1, 0, -1):
        state, draw = _splitmix64(state)
        a, b = start + j, start + draw % (j + 1)
        for arr in (users, items, ratings):
            arr[a], arr[b] = arr[b], arr[a]


def _cell_seed(seed, cell):
    return (int(seed) ^ ((cell * 0x9E3779B1 + 1) & _MASK)) & _MASK


def shuffle_ratings(users, items, ratings, seed):
    """Same contract as ``kernels.mf.run_shuffle_ratings``."""
    _shuffle_ratings(users, items, ratings, 0, len(ratings), seed)


def sgd_epoch_blocked(users, items, ratings, block_ptr, row_perm, col_perm, seed, shuffle, mu,
                      user_bias, item_bias, user_factors, item_factors, lr_bu, lr_bi, lr_pu,
                      lr_qi, reg_bu, reg_bi, reg_pu, reg_qi, biased, block_loss):
    """Same contract as ``kernels.mf.run_sgd_epoch_blocked``, one cell after another.

    Round t of g visits cells (row_perm[b], col_perm[(b + t) % g]); a cell (with
    ``shuffle``) first shuffles its ratings with SplitMix64 seeded by
    ``seed ^ (cell * 0x9E3779B1 + 1)``, then runs the serial update over them.
    """
    g = len(row_perm)
    for rnd in range(g):
        for b in range(g):
            cell = int(row_perm[b]) * g + int(col_perm[(b + rnd) % g])
            start, stop = int(block_ptr[cell]), int(block_ptr[cell + 1])
            if shuffle:
                _shuffle_ratings(users, items, ratings, start, stop, _cell_seed(seed, cell))
            block_loss[cell] = sgd_epoch(users[start:stop], items[start:stop],
                                         ratings[start:stop], mu, user_bias, item_bias,
                                         user_factors, item_factors, lr_bu, lr_bi, lr_pu, lr_qi,
                                         reg_bu, reg_bi, reg_pu, reg_qi, biased)


def sgd_epoch_hogwild(users, items, ratings, block_ptr, cell_order, seed, shuffle, mu,
                      user_bias, item_bias, user_factors, item_factors, lr_bu, lr_bi, lr_pu,
                      lr_qi, reg_bu, reg_bi, reg_pu, reg_qi, biased, cell_loss):
    """``kernels.mf.run_sgd_epoch_hogwild`` without the races: the cells of
    ``cell_order`` one after another, each (with ``shuffle``) shuffled as in
    ``sgd_epoch_blocked`` and then updated serially."""
    for cell in cell_order:
        cell = int(cell)
        start, stop = int(block_ptr[cell]), int(block_ptr[cell + 1])
        if shuffle:
            _shuffle_ratings(users, items, ratings, start, stop, _cell_seed(seed, cell))
        cell_loss[cell] = sgd_epoch(users[start:stop], items[start:stop], ratings[start:stop],
                                    mu, user_bias, item_bias, user_factors, item_factors, lr_bu,
                                    lr_bi, lr_pu, lr_qi, reg_bu, reg_bi, reg_pu, reg_qi, biased)
