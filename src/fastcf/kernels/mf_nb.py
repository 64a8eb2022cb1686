"""Numba kernel: one serial SGD epoch of biased matrix factorization (see ``kernels.mf``).

One thread walks the ratings in the given order, so the result is a pure
function of the inputs (bit-for-bit reproducible). The factor rows of a
rating are read and written in place; the dot product and the updates are
computed in the factors' dtype (float32 or float64), the loss in float64.
"""

import numba
import numpy as np

from .._config import NUMBA_JIT


@numba.njit(**NUMBA_JIT)
def sgd_epoch(users, items, ratings, order, mu, user_bias, item_bias, user_factors,
              item_factors, lr_bu, lr_bi, lr_pu, lr_qi, reg_bu, reg_bi, reg_pu, reg_qi, biased):
    """Same contract as ``kernels.mf.sgd_epoch`` (arrays already checked)."""
    n_factors = user_factors.shape[1]
    loss = 0.0
    for t in range(order.shape[0]):
        e = order[t]
        u, i = users[e], items[e]
        p, q = user_factors[u], item_factors[i]
        dot = mu - mu  # a zero of the factors' dtype (mu is passed in it)
        for f in range(n_factors):
            dot += q[f] * p[f]
        if biased:
            err = ratings[e] - (mu + user_bias[u] + item_bias[i] + dot)
            user_bias[u] += lr_bu * (err - reg_bu * user_bias[u])
            item_bias[i] += lr_bi * (err - reg_bi * item_bias[i])
        else:
            err = ratings[e] - dot
        for f in range(n_factors):
            pf, qf = p[f], q[f]
            p[f] = pf + lr_pu * (err * qf - reg_pu * pf)
            q[f] = qf + lr_qi * (err * pf - reg_qi * qf)
        loss += np.float64(err) * np.float64(err)
    return loss
