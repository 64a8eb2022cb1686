# The body of _bpr and _bpr_avx2 (see _bpr.pyx): one source, two builds.


from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport exp, expf
from libc.stdint cimport int32_t, int64_t, uint64_t

from ._prefetch cimport prefetch_read, prefetch_row
from ._random cimport below, cell_seed, splitmix64

ctypedef fused index_t:
    int32_t
    int64_t

# Pairs ahead whose rows a step prefetches: _config.BPR_PREFETCH_DISTANCE (a test
# holds the two equal).
cdef enum:
    _PREFETCH_DISTANCE = 8
    # seen items of a row prefetched whole up to this many, else at its eighths
    # (bpr_nb._ROW_PREFETCH)
    _ROW_PREFETCH = 48
    # pairs whose negative draws are searched side by side
    _DRAW_BATCH = 8
PREFETCH_DISTANCE = _PREFETCH_DISTANCE


cdef uint64_t _shuffle_pairs(index_t* users, index_t* items, Py_ssize_t start,
                             Py_ssize_t stop, uint64_t state) noexcept nogil:
    cdef Py_ssize_t j, a, b
    cdef index_t tmp
    for j in range(stop - start - 1, 0, -1):
        a = start + j
        b = start + below(splitmix64(&state), j + 1)
        tmp = users[a]
        users[a] = users[b]
        users[b] = tmp
        tmp = items[a]
        items[a] = items[b]
        items[b] = tmp
    return state


cdef inline bint _has(const index_t* indices, Py_ssize_t lo, Py_ssize_t hi,
                      index_t item) noexcept nogil:
    # branch-free binary search (as bpr_nb._has): the probes' outcomes are random
    cdef Py_ssize_t n = hi - lo, half
    if n <= 0:
        return False
    while n > 1:
        half = n >> 1
        lo = lo + half * (indices[lo + half] <= item)
        n = n - half
    return indices[lo] == item


cdef Py_ssize_t _draw_one(Py_ssize_t t, const index_t* users, const index_t* pool,
                         Py_ssize_t pool_lo, Py_ssize_t pool_n, const index_t* indptr,
                         const index_t* indices, uint64_t* state, Py_ssize_t draws,
                         index_t* negatives) noexcept nogil:
    # pair t's negative from the next ``draws`` draws of the stream; 1 if none was unseen
    cdef Py_ssize_t attempt, candidate
    cdef Py_ssize_t u = users[t], lo = indptr[users[t]], hi = indptr[users[t] + 1]
    for attempt in range(draws):
        candidate = pool[pool_lo + below(splitmix64(state), pool_n)]
        if not _has(indices, lo, hi, <index_t>candidate):
            negatives[t] = <index_t>candidate
            return 0
    negatives[t] = -1
    return 1


cdef Py_ssize_t _draw_negatives(Py_ssize_t start, Py_ssize_t stop, const index_t* users,
                               const index_t* pool, Py_ssize_t pool_lo, Py_ssize_t pool_n,
                               const index_t* indptr, const index_t* indices, uint64_t state,
                               Py_ssize_t max_draws, index_t* negatives) noexcept nogil:
    # _DRAW_BATCH pairs at a time, each assumed to keep its first draw (a user has seen
    # a small share of the items): their binary searches run side by side, level by
    # level, so that their cache misses overlap and no search ends in a mispredicted
    # loop exit. The pairs up to the first whose draw was seen keep theirs; that pair
    # goes on drawing from the stream alone, and the next batch starts after it: the
    # stream is consumed exactly as one pair after another would.
    cdef Py_ssize_t t = start, s, b, m, u, lo, hi, widest, levels, level, half, skipped = 0
    cdef const index_t* row[_DRAW_BATCH]
    cdef Py_ssize_t width[_DRAW_BATCH]
    cdef index_t candidate[_DRAW_BATCH]
    cdef index_t empty_row[1]
    cdef uint64_t probe
    empty_row[0] = -1  # never a candidate: the search of an empty row finds nothing
    while t < stop:
        # the seen rows are two dependent loads (indptr, then indices): ask for each ahead
        for s in range(t + 2 * _DRAW_BATCH, min(t + 3 * _DRAW_BATCH, stop)):
            prefetch_read(indptr + users[s], 2 * sizeof(index_t))
        for s in range(t + _DRAW_BATCH, min(t + 2 * _DRAW_BATCH, stop)):
            u = users[s]
            lo = indptr[u]
            hi = indptr[u + 1]
            if hi - lo <= _ROW_PREFETCH:
                prefetch_read(indices + lo, (hi - lo) * sizeof(index_t))
            else:  # the search's first three levels: eighths of the row
                for b in range(1, 8):
                    prefetch_read(indices + lo + ((hi - lo) * b >> 3), sizeof(index_t))
        if t + _DRAW_BATCH > stop:
            skipped = skipped + _draw_one(t, users, pool, pool_lo, pool_n, indptr, indices,
                                          &state, max_draws, negatives)
            t = t + 1
            continue
        probe = state
        widest = 1
        for b in range(_DRAW_BATCH):
            u = users[t + b]
            lo = indptr[u]
            hi = indptr[u + 1]
            row[b] = indices + lo if hi > lo else empty_row
            width[b] = hi - lo if hi > lo else 1
            widest = max(widest, width[b])
            candidate[b] = pool[pool_lo + below(splitmix64(&probe), pool_n)]
        levels = 0
        while (<Py_ssize_t>1 << levels) < widest:
            levels = levels + 1
        for level in range(levels):
            for b in range(_DRAW_BATCH):
                half = width[b] >> 1
                row[b] = row[b] + half * (row[b][half] <= candidate[b])
                width[b] = width[b] - half
        m = 0
        while m < _DRAW_BATCH and row[m][0] != candidate[m]:
            negatives[t + m] = candidate[m]
            m = m + 1
        state = state + <uint64_t>m * <uint64_t>0x9E3779B97F4A7C15
        t = t + m
        if m < _DRAW_BATCH:  # pair t's first draw was seen: it consumed that draw
            state = state + <uint64_t>0x9E3779B97F4A7C15
            skipped = skipped + _draw_one(t, users, pool, pool_lo, pool_n, indptr, indices,
                                          &state, max_draws - 1, negatives)
            t = t + 1
    return skipped


cdef Py_ssize_t _run_cell(Py_ssize_t start, Py_ssize_t stop, const index_t* users,
                          const index_t* items, const index_t* negatives,
                          floating* user_factors, floating* item_factors, floating* item_bias,
                          Py_ssize_t n_factors, floating lr, floating reg, bint use_bias,
                          double* z_sum) noexcept nogil:
    cdef Py_ssize_t t, f, u, i, j, ahead
    cdef Py_ssize_t row_bytes = n_factors * sizeof(floating)
    cdef floating x, xa, xb, z, step, pf, qif, qjf
    cdef Py_ssize_t half = n_factors >> 1
    cdef floating keep = 1 - lr * reg
    cdef floating* p
    cdef floating* qi
    cdef floating* qj
    cdef Py_ssize_t correct = 0
    cdef double total = 0.0
    for t in range(start, stop):
        if t + _PREFETCH_DISTANCE < stop:
            prefetch_row(user_factors + users[t + _PREFETCH_DISTANCE] * n_factors, row_bytes)
            prefetch_row(item_factors + items[t + _PREFETCH_DISTANCE] * n_factors, row_bytes)
            ahead = negatives[t + _PREFETCH_DISTANCE]
            if ahead >= 0:
                prefetch_row(item_factors + ahead * n_factors, row_bytes)
        j = negatives[t]
        if j < 0:
            continue
        u = users[t]
        i = items[t]
        p = user_factors + u * n_factors
        qi = item_factors + i * n_factors
        qj = item_factors + j * n_factors
        # two halves, two accumulators: the dot product's chain of dependent adds halved
        xa = 0
        xb = 0
        for f in range(half):
            xa = xa + p[f] * (qi[f] - qj[f])
        for f in range(half, n_factors):
            xb = xb + p[f] * (qi[f] - qj[f])
        x = (item_bias[i] - item_bias[j] if use_bias else 0) + (xa + xb)
        if floating is float:
            z = 1 / (1 + expf(x))
        else:
            z = 1 / (1 + exp(x))
        if x > 0:
            correct = correct + 1
        total = total + z
        step = lr * z
        for f in range(n_factors):
            pf = p[f]
            qif = qi[f]
            qjf = qj[f]
            p[f] = keep * pf + step * (qif - qjf)
            qi[f] = keep * qif + step * pf
            qj[f] = keep * qjf - step * pf
        if use_bias:
            item_bias[i] = keep * item_bias[i] + step
            item_bias[j] = keep * item_bias[j] - step
    z_sum[0] = total
    return correct


def bpr_epoch(index_t[::1] users, index_t[::1] items, index_t[::1] negatives,
              const int64_t[::1] cell_ptr, const int64_t[:, ::1] rounds,
              const index_t[::1] pool, const int64_t[:, ::1] cell_pool,
              const index_t[::1] indptr, const index_t[::1] indices, uint64_t seed,
              floating[:, ::1] user_factors, floating[:, ::1] item_factors,
              floating[::1] item_bias, floating lr, floating reg, bint use_bias,
              Py_ssize_t max_draws, double[:, ::1] cell_stats, int n_threads):
    """Same contract as ``kernels.bpr.run_bpr_epoch`` (arrays already checked)."""
    cdef Py_ssize_t r, c, cell, start, stop, lo, skipped, correct
    cdef Py_ssize_t k = user_factors.shape[1]
    cdef uint64_t state
    cdef double z_sum
    if item_factors.shape[1] != k or item_bias.shape[0] != item_factors.shape[0]:
        raise ValueError("user_factors, item_factors and item_bias disagree on their shapes.")
    if cell_pool.shape[0] != cell_ptr.shape[0] - 1 or cell_stats.shape[0] != cell_pool.shape[0]:
        raise ValueError("cell_ptr, cell_pool and cell_stats disagree on the number of cells.")
    if negatives.shape[0] != users.shape[0] or items.shape[0] != users.shape[0]:
        raise ValueError("users, items and negatives must have the same length.")
    if users.shape[0] == 0 or pool.shape[0] == 0:
        return
    with nogil:
        for r in range(rounds.shape[0]):
            for c in prange(rounds.shape[1], num_threads=n_threads, schedule="dynamic"):
                cell = rounds[r, c]
                start = cell_ptr[cell]
                stop = cell_ptr[cell + 1]
                state = _shuffle_pairs(&users[0], &items[0], start, stop,
                                       cell_seed(seed, cell))
                lo = cell_pool[cell, 0]
                skipped = _draw_negatives(start, stop, &users[0], &pool[0], lo,
                                          cell_pool[cell, 1] - lo, &indptr[0], &indices[0],
                                          state, max_draws, &negatives[0])
                correct = _run_cell(start, stop, &users[0], &items[0], &negatives[0],
                                    &user_factors[0, 0], &item_factors[0, 0], &item_bias[0],
                                    k, lr, reg, use_bias, &z_sum)
                cell_stats[cell, 0] = correct
                cell_stats[cell, 1] = skipped
                cell_stats[cell, 2] = z_sum
