"""Numba kernels: SVD++ SGD epochs, the implicit factors updated lazily (see ``kernels.svdpp``).

Within one user's run of ratings every :math:`y_j` (:math:`j \\in N(u)`) gets the same
affine update, so the kernel keeps :math:`y_j = c\\, y^{stored}_j + d` (a scalar
``c``, a vector ``d``) and the implicit sum :math:`\\sum_j y_j = c\\, S + |N(u)|\\, d`
with :math:`S = \\sum_j y^{stored}_j` summed once when the user starts; the
:math:`y_j` are written back once when the user ends. A rating costs
:math:`O(k)`, a user :math:`O(|N(u)| k)` more. Arithmetic in the factors'
dtype, the loss in float64.

``svdpp_epoch`` runs chunks of ``user_order`` (``chunk_ptr``) in a ``prange``:
one chunk is the serial epoch (deterministic); several chunks run in parallel
with the item biases, item factors and implicit factors shared, unlocked
(Hogwild): not reproducible on more than one thread.
"""

import numba
import numpy as np

from .._config import NUMBA_ORDERED_JIT, NUMBA_ORDERED_PARALLEL_JIT


@numba.njit(**NUMBA_ORDERED_JIT)
def _run_user(u, indptr, indices, ratings, entry_order, mu, user_bias, item_bias, user_factors,
              item_factors, implicit_factors, lr_bu, lr_bi, lr_pu, lr_qi, lr_yj, reg_bu, reg_bi,
              reg_pu, reg_qi, reg_yj, stored_sum, offset, imp):
    """Every rating of user ``u`` in ``entry_order``; returns the loss."""
    start, stop = indptr[u], indptr[u + 1]
    if stop == start:
        return 0.0
    k = user_factors.shape[1]
    one = user_factors.dtype.type(1)
    zero = one - one
    n = user_factors.dtype.type(stop - start)
    inv_sqrt = one / np.sqrt(n)
    keep_p, keep_q, keep_y = one - lr_pu * reg_pu, one - lr_qi * reg_qi, one - lr_yj * reg_yj
    for f in range(k):
        stored_sum[f] = zero
        offset[f] = zero
    for e in range(start, stop):
        y = implicit_factors[indices[e]]
        for f in range(k):
            stored_sum[f] += y[f]
    scale = one
    p = user_factors[u]
    loss = 0.0
    for t in range(start, stop):
        e = entry_order[t]
        i = indices[e]
        q = item_factors[i]
        dot = zero
        for f in range(k):
            imp[f] = (scale * stored_sum[f] + n * offset[f]) * inv_sqrt
            dot += q[f] * (p[f] + imp[f])
        err = ratings[e] - (mu + user_bias[u] + item_bias[i] + dot)
        user_bias[u] += lr_bu * (err - reg_bu * user_bias[u])
        item_bias[i] += lr_bi * (err - reg_bi * item_bias[i])
        step_p, step_q, step_y = lr_pu * err, lr_qi * err, lr_yj * err * inv_sqrt
        scale *= keep_y
        for f in range(k):
            pf, qf = p[f], q[f]
            p[f] = keep_p * pf + step_p * qf
            q[f] = keep_q * qf + step_q * (pf + imp[f])
            offset[f] = keep_y * offset[f] + step_y * qf
        loss += np.float64(err) * np.float64(err)
    for e in range(start, stop):
        y = implicit_factors[indices[e]]
        for f in range(k):
            y[f] = scale * y[f] + offset[f]
    return loss


@numba.njit(**NUMBA_ORDERED_PARALLEL_JIT)
def svdpp_epoch(indptr, indices, ratings, entry_order, user_order, chunk_ptr, mu, user_bias,
                item_bias, user_factors, item_factors, implicit_factors, lr_bu, lr_bi, lr_pu,
                lr_qi, lr_yj, reg_bu, reg_bi, reg_pu, reg_qi, reg_yj, chunk_loss):
    """Same contract as ``kernels.svdpp.run_svdpp_epoch`` (arrays already checked)."""
    k = user_factors.shape[1]
    for chunk in numba.prange(chunk_ptr.shape[0] - 1):
        stored_sum = np.empty(k, dtype=user_factors.dtype)
        offset = np.empty(k, dtype=user_factors.dtype)
        imp = np.empty(k, dtype=user_factors.dtype)
        loss = 0.0
        for t in range(chunk_ptr[chunk], chunk_ptr[chunk + 1]):
            loss += _run_user(user_order[t], indptr, indices, ratings, entry_order, mu,
                              user_bias, item_bias, user_factors, item_factors,
                              implicit_factors, lr_bu, lr_bi, lr_pu, lr_qi, lr_yj, reg_bu,
                              reg_bi, reg_pu, reg_qi, reg_yj, stored_sum, offset, imp)
        chunk_loss[chunk] = loss
