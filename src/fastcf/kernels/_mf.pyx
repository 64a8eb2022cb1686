"""Cython twin of ``mf_nb``: one serial SGD epoch of biased matrix factorization.

One thread (the GIL released) walks the ratings in the given order; the dot
product and the updates are computed in the factors' dtype, the loss in
float64, exactly as the Numba kernel does.
"""

from cython cimport floating
from libc.stdint cimport int32_t, int64_t

ctypedef fused index_t:
    int32_t
    int64_t


def sgd_epoch(const index_t[::1] users, const index_t[::1] items,
              const floating[::1] ratings, const int64_t[::1] order, floating mu,
              floating[::1] user_bias, floating[::1] item_bias,
              floating[:, ::1] user_factors, floating[:, ::1] item_factors,
              floating lr_bu, floating lr_bi, floating lr_pu, floating lr_qi,
              floating reg_bu, floating reg_bi, floating reg_pu, floating reg_qi,
              bint biased):
    """Same contract as ``kernels.mf.sgd_epoch`` (arrays already checked)."""
    cdef Py_ssize_t t, e, u, i, f, n_factors = user_factors.shape[1]
    cdef floating dot, err, pf, qf
    cdef floating* p
    cdef floating* q
    cdef double loss = 0.0
    if item_factors.shape[1] != n_factors:
        raise ValueError("user_factors and item_factors must have the same number of columns.")
    if order.shape[0] == 0:
        return 0.0
    with nogil:
        for t in range(order.shape[0]):
            e = order[t]
            u = users[e]
            i = items[e]
            p = &user_factors[u, 0]
            q = &item_factors[i, 0]
            dot = 0
            for f in range(n_factors):
                dot = dot + q[f] * p[f]
            if biased:
                err = ratings[e] - (mu + user_bias[u] + item_bias[i] + dot)
                user_bias[u] = user_bias[u] + lr_bu * (err - reg_bu * user_bias[u])
                item_bias[i] = item_bias[i] + lr_bi * (err - reg_bi * item_bias[i])
            else:
                err = ratings[e] - dot
            for f in range(n_factors):
                pf = p[f]
                qf = q[f]
                p[f] = pf + lr_pu * (err * qf - reg_pu * pf)
                q[f] = qf + lr_qi * (err * pf - reg_qi * qf)
            loss = loss + <double>err * <double>err
    return loss
