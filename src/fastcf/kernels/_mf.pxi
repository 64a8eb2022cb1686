# The body of _mf and _mf_avx2 (see _mf.pyx): one source, two builds.


from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int32_t, int64_t, uint64_t

from ._prefetch cimport prefetch_row
from ._random cimport cell_seed as _cell_seed
from ._random cimport splitmix64 as _splitmix64

ctypedef fused index_t:
    int32_t
    int64_t

# Ratings ahead whose factor rows a step prefetches: _config.MF_PREFETCH_DISTANCE
# (a test holds the two equal; the reasons are written there).
cdef enum:
    _PREFETCH_DISTANCE = 8
PREFETCH_DISTANCE = _PREFETCH_DISTANCE


cdef void _shuffle_ratings(index_t* users, index_t* items, floating* ratings,
                           Py_ssize_t start, Py_ssize_t stop, uint64_t seed) noexcept nogil:
    cdef uint64_t state = seed
    cdef Py_ssize_t j, a, b
    cdef index_t tmp_index
    cdef floating tmp_rating
    for j in range(stop - start - 1, 0, -1):
        a = start + j
        b = start + <Py_ssize_t>(_splitmix64(&state) % <uint64_t>(j + 1))
        tmp_index = users[a]
        users[a] = users[b]
        users[b] = tmp_index
        tmp_index = items[a]
        items[a] = items[b]
        items[b] = tmp_index
        tmp_rating = ratings[a]
        ratings[a] = ratings[b]
        ratings[b] = tmp_rating


cdef double _run_steps(Py_ssize_t start, Py_ssize_t stop, const index_t* users,
                       const index_t* items, const floating* ratings, floating mu,
                       floating* user_bias, floating* item_bias, floating* user_factors,
                       floating* item_factors, Py_ssize_t n_factors, floating lr_bu,
                       floating lr_bi, floating lr_pu, floating lr_qi, floating reg_bu,
                       floating reg_bi, floating reg_pu, floating reg_qi,
                       bint biased) noexcept nogil:
    cdef Py_ssize_t t, u, i, f
    cdef Py_ssize_t row_bytes = n_factors * sizeof(floating)
    cdef floating dot, err, pf, qf, step_p, step_q
    cdef floating keep_p = 1 - lr_pu * reg_pu
    cdef floating keep_q = 1 - lr_qi * reg_qi
    cdef floating* p
    cdef floating* q
    cdef double loss = 0.0
    for t in range(start, stop):
        if t + _PREFETCH_DISTANCE < stop:
            prefetch_row(user_factors + users[t + _PREFETCH_DISTANCE] * n_factors, row_bytes)
            prefetch_row(item_factors + items[t + _PREFETCH_DISTANCE] * n_factors, row_bytes)
        u = users[t]
        i = items[t]
        p = user_factors + u * n_factors
        q = item_factors + i * n_factors
        dot = 0
        for f in range(n_factors):
            dot = dot + q[f] * p[f]
        if biased:
            err = ratings[t] - (mu + user_bias[u] + item_bias[i] + dot)
            user_bias[u] = user_bias[u] + lr_bu * (err - reg_bu * user_bias[u])
            item_bias[i] = item_bias[i] + lr_bi * (err - reg_bi * item_bias[i])
        else:
            err = ratings[t] - dot
        step_p = lr_pu * err
        step_q = lr_qi * err
        for f in range(n_factors):
            pf = p[f]
            qf = q[f]
            p[f] = keep_p * pf + step_p * qf
            q[f] = keep_q * qf + step_q * pf
        loss = loss + <double>err * <double>err
    return loss


def shuffle_ratings(index_t[::1] users, index_t[::1] items, floating[::1] ratings,
                    uint64_t seed):
    """Same contract as ``kernels.mf.run_shuffle_ratings`` (arrays already checked)."""
    if items.shape[0] != users.shape[0] or ratings.shape[0] != users.shape[0]:
        raise ValueError("users, items and ratings must have the same length.")
    if users.shape[0] == 0:
        return
    with nogil:
        _shuffle_ratings(&users[0], &items[0], &ratings[0], 0, users.shape[0], seed)


def sgd_epoch(const index_t[::1] users, const index_t[::1] items,
              const floating[::1] ratings, floating mu,
              floating[::1] user_bias, floating[::1] item_bias,
              floating[:, ::1] user_factors, floating[:, ::1] item_factors,
              floating lr_bu, floating lr_bi, floating lr_pu, floating lr_qi,
              floating reg_bu, floating reg_bi, floating reg_pu, floating reg_qi,
              bint biased):
    """Same contract as ``kernels.mf.run_sgd_epoch`` (arrays already checked)."""
    cdef double loss
    if item_factors.shape[1] != user_factors.shape[1]:
        raise ValueError("user_factors and item_factors must have the same number of columns.")
    if ratings.shape[0] == 0:
        return 0.0
    with nogil:
        loss = _run_steps(0, ratings.shape[0], &users[0], &items[0], &ratings[0], mu,
                          &user_bias[0], &item_bias[0], &user_factors[0, 0],
                          &item_factors[0, 0], user_factors.shape[1], lr_bu, lr_bi, lr_pu,
                          lr_qi, reg_bu, reg_bi, reg_pu, reg_qi, biased)
    return loss


def sgd_epoch_blocked(index_t[::1] users, index_t[::1] items, floating[::1] ratings,
                      const int64_t[::1] block_ptr, const int64_t[::1] row_perm,
                      const int64_t[::1] col_perm, uint64_t seed, bint shuffle, floating mu,
                      floating[::1] user_bias, floating[::1] item_bias,
                      floating[:, ::1] user_factors, floating[:, ::1] item_factors,
                      floating lr_bu, floating lr_bi, floating lr_pu, floating lr_qi,
                      floating reg_bu, floating reg_bi, floating reg_pu, floating reg_qi,
                      bint biased, double[::1] block_loss, int n_threads):
    """Same contract as ``kernels.mf.run_sgd_epoch_blocked`` (arrays already checked)."""
    cdef Py_ssize_t g = row_perm.shape[0], rnd, b, cell, start, stop
    cdef Py_ssize_t k = user_factors.shape[1]
    if col_perm.shape[0] != g or block_ptr.shape[0] != g * g + 1 or block_loss.shape[0] != g * g:
        raise ValueError("row_perm, col_perm, block_ptr and block_loss disagree on the grid.")
    if ratings.shape[0] == 0:
        return
    with nogil:
        for rnd in range(g):
            for b in prange(g, num_threads=n_threads, schedule="dynamic"):
                cell = row_perm[b] * g + col_perm[(b + rnd) % g]
                start = block_ptr[cell]
                stop = block_ptr[cell + 1]
                if shuffle:
                    _shuffle_ratings(&users[0], &items[0], &ratings[0], start, stop,
                                     _cell_seed(seed, cell))
                block_loss[cell] = _run_steps(
                    start, stop, &users[0], &items[0], &ratings[0], mu, &user_bias[0],
                    &item_bias[0], &user_factors[0, 0], &item_factors[0, 0], k, lr_bu, lr_bi,
                    lr_pu, lr_qi, reg_bu, reg_bi, reg_pu, reg_qi, biased)


def sgd_epoch_hogwild(index_t[::1] users, index_t[::1] items, floating[::1] ratings,
                      const int64_t[::1] block_ptr, const int64_t[::1] cell_order,
                      uint64_t seed, bint shuffle, floating mu,
                      floating[::1] user_bias, floating[::1] item_bias,
                      floating[:, ::1] user_factors, floating[:, ::1] item_factors,
                      floating lr_bu, floating lr_bi, floating lr_pu, floating lr_qi,
                      floating reg_bu, floating reg_bi, floating reg_pu, floating reg_qi,
                      bint biased, double[::1] cell_loss, int n_threads):
    """Same contract as ``kernels.mf.run_sgd_epoch_hogwild`` (arrays already checked)."""
    cdef Py_ssize_t n_cells = cell_order.shape[0], j, cell, start, stop
    cdef Py_ssize_t k = user_factors.shape[1]
    if block_ptr.shape[0] != n_cells + 1 or cell_loss.shape[0] != n_cells:
        raise ValueError("block_ptr and cell_loss must have one entry per cell (plus one).")
    if ratings.shape[0] == 0:
        return
    with nogil:
        for j in prange(n_cells, num_threads=n_threads, schedule="dynamic"):
            cell = cell_order[j]
            start = block_ptr[cell]
            stop = block_ptr[cell + 1]
            if shuffle:
                _shuffle_ratings(&users[0], &items[0], &ratings[0], start, stop,
                                 _cell_seed(seed, cell))
            cell_loss[cell] = _run_steps(
                start, stop, &users[0], &items[0], &ratings[0], mu, &user_bias[0],
                &item_bias[0], &user_factors[0, 0], &item_factors[0, 0], k, lr_bu, lr_bi,
                lr_pu, lr_qi, reg_bu, reg_bi, reg_pu, reg_qi, biased)
