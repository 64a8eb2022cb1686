# The body of _hybrid and _hybrid_avx2 (see _hybrid.pyx): one source, two builds.


from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport exp, expf, floor, log, sqrt, sqrtf
from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport free, malloc

from ._prefetch cimport prefetch_row
from ._random cimport below, cell_seed, splitmix64

ctypedef fused index_t:
    int32_t
    int64_t

# LightFM's clip of the WARP weight (hybrid_nb.WARP_MAX_WEIGHT).
cdef double _WARP_MAX_WEIGHT = 10.0
# Entries ahead whose feature rows a step prefetches (hybrid_nb._PREFETCH_DISTANCE).
cdef enum:
    _PREFETCH_DISTANCE = 4
PREFETCH_DISTANCE = _PREFETCH_DISTANCE


cdef void _prefetch_features(const index_t* indptr, const index_t* indices, Py_ssize_t row,
                             const floating* embeddings, const floating* accumulators,
                             Py_ssize_t k) noexcept nogil:
    # the embedding (and adagrad accumulator) rows of row's features
    cdef Py_ssize_t t
    for t in range(indptr[row], indptr[row + 1]):
        prefetch_row(embeddings + indices[t] * k, k * sizeof(floating))
        if accumulators != NULL:
            prefetch_row(accumulators + indices[t] * k, k * sizeof(floating))


cdef uint64_t _shuffle(index_t* users, index_t* items, floating* values, Py_ssize_t start,
                       Py_ssize_t stop, uint64_t state) noexcept nogil:
    cdef Py_ssize_t j, a, b
    cdef index_t tmp
    cdef floating value
    for j in range(stop - start - 1, 0, -1):
        a = start + j
        b = start + below(splitmix64(&state), j + 1)
        tmp = users[a]
        users[a] = users[b]
        users[b] = tmp
        tmp = items[a]
        items[a] = items[b]
        items[b] = tmp
        value = values[a]
        values[a] = values[b]
        values[b] = value
    return state


cdef inline bint _has(const index_t* indices, Py_ssize_t lo, Py_ssize_t hi,
                      Py_ssize_t item) noexcept nogil:
    # branch-free binary search (bpr_nb._has)
    cdef Py_ssize_t n = hi - lo, half
    if n <= 0:
        return False
    while n > 1:
        half = n >> 1
        lo = lo + half * (indices[lo + half] <= item)
        n = n - half
    return indices[lo] == item


cdef floating _represent(const index_t* indptr, const index_t* indices, const floating* data,
                         const floating* embeddings, const floating* biases, Py_ssize_t k,
                         Py_ssize_t row, floating* out) noexcept nogil:
    # the first feature assigned, not added to zeros (hybrid_nb._represent)
    cdef Py_ssize_t t, d, lo = indptr[row], hi = indptr[row + 1]
    cdef floating a, bias = 0
    cdef const floating* w
    if lo == hi:
        for d in range(k):
            out[d] = 0
        return bias
    a = data[lo]
    w = embeddings + indices[lo] * k
    for d in range(k):
        out[d] = a * w[d]
    bias = a * biases[indices[lo]]
    for t in range(lo + 1, hi):
        a = data[t]
        w = embeddings + indices[t] * k
        for d in range(k):
            out[d] = out[d] + a * w[d]
        bias = bias + a * biases[indices[t]]
    return bias


cdef floating _score(const index_t* indptr, const index_t* indices, const floating* data,
                     const floating* embeddings, const floating* biases, Py_ssize_t k,
                     Py_ssize_t row, const floating* p) noexcept nogil:
    # p . q + bias of row's representation without forming it (hybrid_nb._score)
    cdef Py_ssize_t t, d
    cdef floating s, total = 0
    cdef const floating* w
    for t in range(indptr[row], indptr[row + 1]):
        w = embeddings + indices[t] * k
        s = biases[indices[t]]
        for d in range(k):
            s = s + p[d] * w[d]
        total = total + data[t] * s
    return total


cdef inline floating _dot(const floating* x, const floating* y, Py_ssize_t k) noexcept nogil:
    cdef Py_ssize_t d
    cdef floating total = 0
    for d in range(k):
        total = total + x[d] * y[d]
    return total


cdef void _step(const index_t* indptr, const index_t* indices, const floating* data,
                Py_ssize_t row, floating* embeddings, floating* biases, floating* emb_acc,
                floating* bias_acc, Py_ssize_t k, const floating* direction,
                floating coefficient, bint move_bias, floating lr, floating reg,
                bint adagrad) noexcept nogil:
    cdef Py_ssize_t t, d, f
    cdef floating scale, g, step, rate
    cdef floating keep = 1 - lr * reg
    cdef floating* w
    cdef floating* acc
    for t in range(indptr[row], indptr[row + 1]):
        f = indices[t]
        scale = coefficient * data[t]
        w = embeddings + f * k
        if adagrad:
            acc = emb_acc + f * k
            for d in range(k):
                g = scale * direction[d]
                if floating is float:
                    rate = lr / sqrtf(acc[d])
                else:
                    rate = lr / sqrt(acc[d])
                w[d] = w[d] + rate * (g - reg * w[d])
                acc[d] = acc[d] + g * g
            if move_bias:
                if floating is float:
                    rate = lr / sqrtf(bias_acc[f])
                else:
                    rate = lr / sqrt(bias_acc[f])
                biases[f] = biases[f] + rate * (scale - reg * biases[f])
                bias_acc[f] = bias_acc[f] + scale * scale
        else:
            step = lr * scale
            for d in range(k):
                w[d] = keep * w[d] + step * direction[d]
            if move_bias:
                biases[f] = keep * biases[f] + step


cdef void _run_chunk(Py_ssize_t start, Py_ssize_t stop, uint64_t state, const index_t* users,
                     const index_t* items, const floating* values, const index_t* uf_indptr,
                     const index_t* uf_indices, const floating* uf_data,
                     const index_t* if_indptr, const index_t* if_indices,
                     const floating* if_data, Py_ssize_t n_items, const index_t* seen_indptr,
                     const index_t* seen_indices, const index_t* pool, Py_ssize_t n_pool,
                     index_t* negatives, floating* user_emb, floating* user_bias,
                     floating* item_emb, floating* item_bias, floating* user_emb_acc,
                     floating* user_bias_acc, floating* item_emb_acc, floating* item_bias_acc,
                     Py_ssize_t k, int loss, bint adagrad, floating lr, floating reg_user,
                     floating reg_item, floating mu, Py_ssize_t max_sampled, floating* p,
                     floating* qi, floating* qj, double* stats) noexcept nogil:
    cdef Py_ssize_t t, d, u, i, lo, hi, negative, candidate, sampled
    cdef floating pb, qib, qjb, err, x, coefficient, positive
    cdef double weight, total = 0.0
    cdef Py_ssize_t right = 0, no_step = 0, ahead
    if loss == 1:  # BPR's negatives do not depend on the parameters: drawn first
        for t in range(start, stop):
            lo = seen_indptr[users[t]]
            hi = seen_indptr[users[t] + 1]
            negatives[t] = -1
            for sampled in range(max_sampled):
                candidate = pool[below(splitmix64(&state), n_pool)]
                if not _has(seen_indices, lo, hi, candidate):
                    negatives[t] = <index_t>candidate
                    break
    for t in range(start, stop):
        ahead = t + _PREFETCH_DISTANCE
        if ahead < stop:
            _prefetch_features(uf_indptr, uf_indices, users[ahead], user_emb, user_emb_acc, k)
            _prefetch_features(if_indptr, if_indices, items[ahead], item_emb, item_emb_acc, k)
            if loss == 1 and negatives[ahead] >= 0:
                _prefetch_features(if_indptr, if_indices, negatives[ahead], item_emb,
                                   item_emb_acc, k)
        u = users[t]
        i = items[t]
        pb = _represent(uf_indptr, uf_indices, uf_data, user_emb, user_bias, k, u, p)
        qib = _represent(if_indptr, if_indices, if_data, item_emb, item_bias, k, i, qi)
        if loss == 0:  # squared
            err = values[t] - (mu + pb + qib + _dot(qi, p, k))
            total = total + <double>err * <double>err
            _step(uf_indptr, uf_indices, uf_data, u, user_emb, user_bias, user_emb_acc,
                  user_bias_acc, k, qi, err, True, lr, reg_user, adagrad)
            _step(if_indptr, if_indices, if_data, i, item_emb, item_bias, item_emb_acc,
                  item_bias_acc, k, p, err, True, lr, reg_item, adagrad)
            continue
        lo = seen_indptr[u]
        hi = seen_indptr[u + 1]
        negative = -1
        coefficient = 0
        if loss == 1:  # bpr
            negative = negatives[t]
            if negative >= 0:
                qjb = _represent(if_indptr, if_indices, if_data, item_emb, item_bias, k,
                                 negative, qj)
                x = qib - qjb
                for d in range(k):
                    x = x + p[d] * (qi[d] - qj[d])
                if floating is float:
                    coefficient = 1 / (1 + expf(x))
                else:
                    coefficient = 1 / (1 + exp(x))
                if x > 0:
                    right = right + 1
        else:  # warp
            positive = qib + _dot(p, qi, k) - 1
            for sampled in range(1, max_sampled + 1):
                candidate = pool[below(splitmix64(&state), n_pool)]
                if _score(if_indptr, if_indices, if_data, item_emb, item_bias, k, candidate,
                          p) > positive:
                    if _has(seen_indices, lo, hi, candidate):
                        continue
                    negative = candidate
                    _represent(if_indptr, if_indices, if_data, item_emb, item_bias, k,
                               negative, qj)
                    weight = log(max(1.0, <double>((n_items - 1) // sampled)))
                    coefficient = <floating>min(weight, _WARP_MAX_WEIGHT)
                    break
            if negative < 0:
                right = right + 1
        if negative < 0:
            no_step = no_step + 1
            continue
        total = total + coefficient
        for d in range(k):  # qi becomes the user's direction, qi - qj
            qi[d] = qi[d] - qj[d]
        _step(uf_indptr, uf_indices, uf_data, u, user_emb, user_bias, user_emb_acc,
              user_bias_acc, k, qi, coefficient, False, lr, reg_user, adagrad)
        _step(if_indptr, if_indices, if_data, i, item_emb, item_bias, item_emb_acc,
              item_bias_acc, k, p, coefficient, True, lr, reg_item, adagrad)
        _step(if_indptr, if_indices, if_data, negative, item_emb, item_bias, item_emb_acc,
              item_bias_acc, k, p, -coefficient, True, lr, reg_item, adagrad)
    stats[0] = right
    stats[1] = no_step
    stats[2] = total


def hybrid_epoch(index_t[::1] users, index_t[::1] items, floating[::1] values,
                 const int64_t[::1] chunk_ptr, const int64_t[::1] chunk_order, uint64_t seed,
                 bint shuffle, const index_t[::1] uf_indptr, const index_t[::1] uf_indices,
                 const floating[::1] uf_data, const index_t[::1] if_indptr,
                 const index_t[::1] if_indices, const floating[::1] if_data,
                 const index_t[::1] seen_indptr, const index_t[::1] seen_indices,
                 const index_t[::1] pool, index_t[::1] negatives,
                 floating[:, ::1] user_emb, floating[::1] user_bias,
                 floating[:, ::1] item_emb, floating[::1] item_bias,
                 floating[:, ::1] user_emb_acc, floating[::1] user_bias_acc,
                 floating[:, ::1] item_emb_acc, floating[::1] item_bias_acc, int loss,
                 bint adagrad, floating lr, floating reg_user, floating reg_item, floating mu,
                 Py_ssize_t max_sampled, double[:, ::1] chunk_stats, int n_threads):
    """Same contract as ``kernels.hybrid.run_hybrid_epoch`` (arrays already checked)."""
    cdef Py_ssize_t c, chunk, start, stop
    cdef Py_ssize_t k = user_emb.shape[1], n_items = if_indptr.shape[0] - 1
    cdef uint64_t state
    cdef floating* scratch
    cdef floating* uacc = NULL
    cdef floating* iacc = NULL
    cdef floating* ubacc = NULL
    cdef floating* ibacc = NULL
    if item_emb.shape[1] != k or user_bias.shape[0] != user_emb.shape[0] or \
            item_bias.shape[0] != item_emb.shape[0]:
        raise ValueError("the embeddings and biases disagree on their shapes.")
    if adagrad and (user_emb_acc.shape[0] != user_emb.shape[0] or
                    item_emb_acc.shape[0] != item_emb.shape[0] or
                    user_bias_acc.shape[0] != user_bias.shape[0] or
                    item_bias_acc.shape[0] != item_bias.shape[0]):
        raise ValueError("the accumulators must be shaped as the parameters.")
    if items.shape[0] != users.shape[0] or values.shape[0] != users.shape[0] or \
            negatives.shape[0] != users.shape[0]:
        raise ValueError("users, items, values and negatives must have the same length.")
    if chunk_stats.shape[0] != chunk_ptr.shape[0] - 1:
        raise ValueError("chunk_stats must have a row per chunk.")
    if users.shape[0] == 0 or n_items == 0 or pool.shape[0] == 0:
        return
    if adagrad:
        uacc = &user_emb_acc[0, 0]
        iacc = &item_emb_acc[0, 0]
        ubacc = &user_bias_acc[0]
        ibacc = &item_bias_acc[0]
    with nogil:
        for c in prange(chunk_order.shape[0], num_threads=n_threads, schedule="dynamic"):
            chunk = chunk_order[c]
            start = chunk_ptr[chunk]
            stop = chunk_ptr[chunk + 1]
            state = cell_seed(seed, chunk)
            if shuffle:
                state = _shuffle(&users[0], &items[0], &values[0], start, stop, state)
            scratch = <floating*>malloc(3 * k * sizeof(floating))
            _run_chunk(start, stop, state, &users[0], &items[0], &values[0], &uf_indptr[0],
                       &uf_indices[0], &uf_data[0], &if_indptr[0], &if_indices[0],
                       &if_data[0], n_items, &seen_indptr[0], &seen_indices[0], &pool[0],
                       pool.shape[0], &negatives[0],
                       &user_emb[0, 0], &user_bias[0], &item_emb[0, 0], &item_bias[0], uacc,
                       ubacc, iacc, ibacc, k, loss, adagrad, lr, reg_user, reg_item, mu,
                       max_sampled, scratch, scratch + k, scratch + 2 * k,
                       &chunk_stats[chunk, 0])
            free(scratch)
