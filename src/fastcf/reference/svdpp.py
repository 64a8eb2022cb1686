"""Reference twin of the SVD++ epoch: Surprise ``SVDpp``'s loop, literally, in plain Python.

Per rating it recomputes the implicit sum over all the user's items and updates
every :math:`y_j` of the user, as Surprise does: :math:`O(|N(u)| k)` a rating.
The compiled kernels compute the same values in :math:`O(k)` a rating (see
``kernels.svdpp``).
"""

import math


def svdpp_epoch(indptr, indices, ratings, entry_order, user_order, chunk_ptr, mu, user_bias,
                item_bias, user_factors, item_factors, implicit_factors, lr_bu, lr_bi, lr_pu,
                lr_qi, lr_yj, reg_bu, reg_bi, reg_pu, reg_qi, reg_yj, chunk_loss):
    """Same contract as ``kernels.svdpp.run_svdpp_epoch``; Python floats (float64) throughout.

    The chunks run one after the other (the reference has one thread). For each
    user ``u = user_order[t]`` of a chunk and each of its entries ``e`` in
    ``entry_order[indptr[u]:indptr[u + 1]]`` (item ``i``, rating ``r``), with
    ``N = indices[indptr[u]:indptr[u + 1]]`` and ``s = sqrt(len(N))``:
    ``imp_f = sum_{j in N} y_jf / s``; ``err = r - (mu + b_u + b_i + q_i . (p_u + imp))``;
    ``b_u += lr_bu (err - reg_bu b_u)``; ``b_i += lr_bi (err - reg_bi b_i)``; then for
    every factor f, with the old ``p_uf``, ``q_if``: ``p_uf += lr_pu (err q_if - reg_pu p_uf)``,
    ``q_if += lr_qi (err (p_uf + imp_f) - reg_qi q_if)`` and for every ``j`` in ``N``
    ``y_jf += lr_yj (err q_if / s - reg_yj y_jf)``.
    """
    n_factors = user_factors.shape[1]
    for chunk in range(len(chunk_ptr) - 1):
        loss = 0.0
        for t in range(int(chunk_ptr[chunk]), int(chunk_ptr[chunk + 1])):
            u = int(user_order[t])
            start, stop = int(indptr[u]), int(indptr[u + 1])
            if stop == start:
                continue
            rated = [int(j) for j in indices[start:stop]]
            sqrt_n = math.sqrt(len(rated))
            for e in entry_order[start:stop]:
                i, r = int(indices[e]), float(ratings[e])
                imp = [0.0] * n_factors
                for j in rated:
                    for f in range(n_factors):
                        imp[f] += float(implicit_factors[j, f]) / sqrt_n
                dot = 0.0
                for f in range(n_factors):
                    dot += float(item_factors[i, f]) * (float(user_factors[u, f]) + imp[f])
                err = r - (float(mu) + float(user_bias[u]) + float(item_bias[i]) + dot)
                user_bias[u] = float(user_bias[u]) + lr_bu * (err - reg_bu * float(user_bias[u]))
                item_bias[i] = float(item_bias[i]) + lr_bi * (err - reg_bi * float(item_bias[i]))
                for f in range(n_factors):
                    pf, qf = float(user_factors[u, f]), float(item_factors[i, f])
                    user_factors[u, f] = pf + lr_pu * (err * qf - reg_pu * pf)
                    item_factors[i, f] = qf + lr_qi * (err * (pf + imp[f]) - reg_qi * qf)
                    step = err * qf / sqrt_n
                    for j in rated:
                        y = float(implicit_factors[j, f])
                        implicit_factors[j, f] = y + lr_yj * (step - reg_yj * y)
                loss += err * err
        chunk_loss[chunk] = loss
