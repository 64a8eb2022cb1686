# The body of _dp_sgd and _dp_sgd_avx2 (see _dp_sgd.pyx): one source, two builds.

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport fabs, sqrt
from libc.stdint cimport int32_t, int64_t

import numpy as np

from ._prefetch cimport prefetch_read, prefetch_row

# Ratings ahead whose item row a step prefetches (_config.MF_PREFETCH_DISTANCE).
cdef enum:
    _AHEAD = 8

ctypedef fused index_t:
    int32_t
    int64_t


cdef inline floating _dot(const floating* p, const floating* q, Py_ssize_t n) noexcept nogil:
    cdef floating a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0, total
    cdef Py_ssize_t f, main = n - n % 8
    for f in range(0, main, 8):
        a0 = a0 + p[f] * q[f]
        a1 = a1 + p[f + 1] * q[f + 1]
        a2 = a2 + p[f + 2] * q[f + 2]
        a3 = a3 + p[f + 3] * q[f + 3]
        a4 = a4 + p[f + 4] * q[f + 4]
        a5 = a5 + p[f + 5] * q[f + 5]
        a6 = a6 + p[f + 6] * q[f + 6]
        a7 = a7 + p[f + 7] * q[f + 7]
    total = ((a0 + a4) + (a1 + a5)) + ((a2 + a6) + (a3 + a7))
    for f in range(main, n):
        total = total + p[f] * q[f]
    return total


cdef double _user_pass(Py_ssize_t u, Py_ssize_t start, Py_ssize_t stop,
                       const int64_t* positions, const index_t* items,
                       const floating* ratings, floating centre, floating* user_bias,
                       const floating* item_bias, floating* user_factors,
                       const floating* item_factors, Py_ssize_t k, floating lr_bu,
                       floating lr_pu, floating reg_bu, floating reg_pu) noexcept nogil:
    cdef floating* p = user_factors + u * k
    cdef const floating* q
    cdef floating keep_p = 1 - lr_pu * reg_pu, err, step
    cdef Py_ssize_t j, t, i, f
    cdef double loss = 0.0
    for j in range(start, stop):
        if j + _AHEAD < stop:
            prefetch_read(item_factors + items[positions[j + _AHEAD]] * k, k * sizeof(floating))
        t = positions[j]
        i = items[t]
        q = item_factors + i * k
        err = ratings[t] - (centre + user_bias[u] + item_bias[i] + _dot(p, q, k))
        user_bias[u] = user_bias[u] + lr_bu * (err - reg_bu * user_bias[u])
        step = lr_pu * err
        for f in range(k):
            p[f] = keep_p * p[f] + step * q[f]
        loss = loss + <double>err * <double>err
    return loss


def dp_sgd_step(const index_t[::1] batch_users, const int64_t[::1] batch_ptr,
                const int64_t[::1] batch_pos, const index_t[::1] items,
                const floating[::1] ratings, floating centre, floating[::1] user_bias,
                floating[::1] item_bias, floating[:, ::1] user_factors,
                floating[:, ::1] item_factors, floating lr_bu, floating lr_pu,
                floating reg_bu, floating reg_pu, floating lr_bi, floating lr_qi,
                floating reg_bi, floating reg_qi, double clip_norm, bint per_rating,
                floating[:, ::1] noise, floating noise_scale, double batch_size,
                floating[::1] coef, int n_threads):
    """Same contract as ``kernels.dp_sgd.run_dp_sgd_step`` (arrays already checked)."""
    cdef Py_ssize_t n_batch = batch_users.shape[0], n_items = item_factors.shape[0]
    cdef Py_ssize_t k = item_factors.shape[1], b, j, t, i, f, r, u, lo, hi, start, stop
    cdef Py_ssize_t n_ranges = max(1, min(n_threads, n_items))
    cdef double row_sq, sum_sq, norm, loss = 0.0
    cdef floating err, c
    cdef floating keep_q = 1 - lr_qi * reg_qi, keep_b = 1 - lr_bi * reg_bi
    cdef floating step_q = lr_qi / batch_size, step_b = lr_bi / batch_size
    cdef floating* p
    cdef floating* q
    cdef floating* g
    cdef double[::1] losses = np.zeros(n_batch)
    cdef const int64_t* pos = &batch_pos[0] if batch_pos.shape[0] else NULL
    if (noise.shape[0] != n_items or noise.shape[1] != k + 1
            or coef.shape[0] != batch_pos.shape[0] or batch_ptr.shape[0] != n_batch + 1
            or user_factors.shape[1] != k):
        raise ValueError("batch, noise, coef or factor shapes disagree.")
    if n_items == 0:
        return 0.0
    with nogil:
        if n_batch > 0 and batch_pos.shape[0] > 0:
            for b in prange(n_batch, num_threads=n_threads, schedule="dynamic"):
                u = batch_users[b]
                start = batch_ptr[b]
                stop = batch_ptr[b + 1]
                losses[b] = _user_pass(u, start, stop, pos, &items[0], &ratings[0],
                                       centre, &user_bias[0], &item_bias[0],
                                       &user_factors[0, 0], &item_factors[0, 0], k, lr_bu,
                                       lr_pu, reg_bu, reg_pu)
                p = &user_factors[0, 0] + u * k
                row_sq = 1.0 + <double>_dot(p, p, k)
                sum_sq = 0.0
                for j in range(start, stop):
                    if j + _AHEAD < stop:
                        prefetch_read(&item_factors[0, 0] + items[pos[j + _AHEAD]] * k,
                                      k * sizeof(floating))
                    t = pos[j]
                    i = items[t]
                    err = ratings[t] - (centre + user_bias[u] + item_bias[i]
                                        + _dot(p, &item_factors[0, 0] + i * k, k))
                    coef[j] = err
                    sum_sq = sum_sq + <double>err * <double>err
                if per_rating:
                    for j in range(start, stop):
                        norm = fabs(<double>coef[j]) * sqrt(row_sq)
                        if norm > clip_norm:
                            coef[j] = <floating>(coef[j] * (clip_norm / norm))
                else:
                    norm = sqrt(row_sq * sum_sq)
                    if norm > clip_norm:
                        for j in range(start, stop):
                            coef[j] = <floating>(coef[j] * (clip_norm / norm))
        for r in prange(n_ranges, num_threads=n_threads, schedule="static", chunksize=1):
            lo = r * n_items // n_ranges
            hi = (r + 1) * n_items // n_ranges
            for i in range(lo, hi):
                g = &noise[i, 0]
                for f in range(k + 1):
                    g[f] = g[f] * noise_scale
            for b in range(n_batch):
                p = &user_factors[0, 0] + batch_users[b] * k
                for j in range(batch_ptr[b], batch_ptr[b + 1]):
                    if j + _AHEAD < batch_ptr[b + 1]:
                        t = items[pos[j + _AHEAD]]
                        if lo <= t < hi:
                            prefetch_row(&noise[t, 0], (k + 1) * sizeof(floating))
                    i = items[pos[j]]
                    if i < lo or i >= hi:
                        continue
                    c = coef[j]
                    g = &noise[i, 0]
                    for f in range(k):
                        g[f] = g[f] + c * p[f]
                    g[k] = g[k] + c
            for i in range(lo, hi):
                q = &item_factors[i, 0]
                g = &noise[i, 0]
                for f in range(k):
                    q[f] = keep_q * q[f] + step_q * g[f]
                item_bias[i] = keep_b * item_bias[i] + step_b * g[k]
    for b in range(n_batch):
        loss += losses[b]
    return loss
