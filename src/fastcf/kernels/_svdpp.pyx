# distutils: extra_compile_args = -fno-math-errno -fno-trapping-math -fassociative-math -fno-signed-zeros
"""Cython twin of ``svdpp_nb``: SVD++ SGD epochs, the implicit factors updated lazily.

The same per-user update (``_run_user``: the implicit factors of the user kept
as a scale and an offset of their stored values, written back when the user
ends; see ``svdpp_nb``), the chunks of ``user_order`` run by OpenMP threads
(one chunk: the serial, deterministic epoch; several: Hogwild). Compiled with
reassociation allowed, as ``_mf`` is (the dot products vectorise): equal to the
reference within rounding.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport sqrt
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport free, malloc

ctypedef fused index_t:
    int32_t
    int64_t


cdef double _run_user(Py_ssize_t u, const index_t* indptr, const index_t* indices,
                      const floating* ratings, const int64_t* entry_order, floating mu,
                      floating* user_bias, floating* item_bias, floating* user_factors,
                      floating* item_factors, floating* implicit_factors, Py_ssize_t k,
                      floating lr_bu, floating lr_bi, floating lr_pu, floating lr_qi,
                      floating lr_yj, floating reg_bu, floating reg_bi, floating reg_pu,
                      floating reg_qi, floating reg_yj, floating* stored_sum,
                      floating* offset, floating* imp) noexcept nogil:
    cdef Py_ssize_t start = indptr[u], stop = indptr[u + 1], t, e, i, f
    cdef floating n, inv_sqrt, scale, dot, err, pf, qf, step_p, step_q, step_y
    cdef floating keep_p = 1 - lr_pu * reg_pu
    cdef floating keep_q = 1 - lr_qi * reg_qi
    cdef floating keep_y = 1 - lr_yj * reg_yj
    cdef floating* p = user_factors + u * k
    cdef floating* q
    cdef floating* y
    cdef double loss = 0.0
    if stop == start:
        return 0.0
    n = <floating>(stop - start)
    inv_sqrt = 1 / <floating>sqrt(n)
    for f in range(k):
        stored_sum[f] = 0
        offset[f] = 0
    for e in range(start, stop):
        y = implicit_factors + indices[e] * k
        for f in range(k):
            stored_sum[f] = stored_sum[f] + y[f]
    scale = 1
    for t in range(start, stop):
        e = entry_order[t]
        i = indices[e]
        q = item_factors + i * k
        dot = 0
        for f in range(k):
            imp[f] = (scale * stored_sum[f] + n * offset[f]) * inv_sqrt
            dot = dot + q[f] * (p[f] + imp[f])
        err = ratings[e] - (mu + user_bias[u] + item_bias[i] + dot)
        user_bias[u] = user_bias[u] + lr_bu * (err - reg_bu * user_bias[u])
        item_bias[i] = item_bias[i] + lr_bi * (err - reg_bi * item_bias[i])
        step_p = lr_pu * err
        step_q = lr_qi * err
        step_y = lr_yj * err * inv_sqrt
        scale = scale * keep_y
        for f in range(k):
            pf = p[f]
            qf = q[f]
            p[f] = keep_p * pf + step_p * qf
            q[f] = keep_q * qf + step_q * (pf + imp[f])
            offset[f] = keep_y * offset[f] + step_y * qf
        loss = loss + <double>err * <double>err
    for e in range(start, stop):
        y = implicit_factors + indices[e] * k
        for f in range(k):
            y[f] = scale * y[f] + offset[f]
    return loss


def svdpp_epoch(const index_t[::1] indptr, const index_t[::1] indices,
                const floating[::1] ratings, const int64_t[::1] entry_order,
                const int64_t[::1] user_order, const int64_t[::1] chunk_ptr, floating mu,
                floating[::1] user_bias, floating[::1] item_bias,
                floating[:, ::1] user_factors, floating[:, ::1] item_factors,
                floating[:, ::1] implicit_factors, floating lr_bu, floating lr_bi,
                floating lr_pu, floating lr_qi, floating lr_yj, floating reg_bu,
                floating reg_bi, floating reg_pu, floating reg_qi, floating reg_yj,
                double[::1] chunk_loss, int n_threads):
    """Same contract as ``kernels.svdpp.run_svdpp_epoch`` (arrays already checked)."""
    cdef Py_ssize_t k = user_factors.shape[1], n_chunks = chunk_ptr.shape[0] - 1, chunk, t
    cdef floating* scratch
    cdef double loss
    if item_factors.shape[1] != k or implicit_factors.shape[1] != k:
        raise ValueError("the factor matrices must have the same number of columns.")
    if chunk_loss.shape[0] != n_chunks:
        raise ValueError("chunk_loss must have one entry per chunk.")
    if ratings.shape[0] == 0 or n_chunks <= 0:
        for chunk in range(n_chunks):
            chunk_loss[chunk] = 0.0
        return
    with nogil:
        for chunk in prange(n_chunks, num_threads=n_threads, schedule="dynamic"):
            scratch = <floating*>malloc(3 * k * sizeof(floating))
            loss = 0.0
            for t in range(chunk_ptr[chunk], chunk_ptr[chunk + 1]):
                loss = loss + _run_user(
                    user_order[t], &indptr[0], &indices[0], &ratings[0], &entry_order[0], mu,
                    &user_bias[0], &item_bias[0], &user_factors[0, 0], &item_factors[0, 0],
                    &implicit_factors[0, 0], k, lr_bu, lr_bi, lr_pu, lr_qi, lr_yj, reg_bu,
                    reg_bi, reg_pu, reg_qi, reg_yj, scratch, scratch + k, scratch + 2 * k)
            chunk_loss[chunk] = loss
            free(scratch)
