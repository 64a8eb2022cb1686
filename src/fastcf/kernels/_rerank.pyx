# distutils: extra_compile_args = -fno-math-errno -fno-trapping-math -fassociative-math -fno-signed-zeros
"""Cython twin of ``rerank_nb``: greedy MMR and DPP re-ranking of candidate lists.

Same algorithms and tie rules: one user per ``prange`` iteration (dynamic
chunks of ``CHUNK`` users), each thread with its own scratch (allocated once in
the parallel block), each user writing only its own output row. MMR folds a
pick's similarities into the running maxima and finds the next pick in the
same pass; the vector forms gather a row's candidates transposed (d x M,
float64) so that a pick's M dot products are d multiply-adds over the row.
DPP is Chen, Zhang & Zhou's Algorithm 1 (incremental Cholesky on the cosine
matrix), with their Algorithm 2 (Givens rotations) for the window.
Compiled with reassociation allowed (the distutils line above) so that gcc
vectorises the norms' sums.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY, log, sqrt
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport calloc, free, malloc

ctypedef fused index_t:
    int32_t
    int64_t

ctypedef fused score_t:
    float
    double

cdef enum:
    CHUNK = 64  # users per scheduling chunk, as rerank_nb.CHUNK


cdef inline Py_ssize_t _start_row(const index_t* cand, Py_ssize_t m, char* picked, int64_t* dest,
                                  Py_ssize_t n) noexcept nogil:
    """Mark the padding as picked, clear the output row; the number of valid candidates."""
    cdef Py_ssize_t col, n_valid = 0
    for col in range(m):
        picked[col] = cand[col] < 0
        n_valid += cand[col] >= 0
    for col in range(n):
        dest[col] = -1
    return n_valid


cdef inline Py_ssize_t _best_score(const score_t* scores, Py_ssize_t m,
                                   const char* picked) noexcept nogil:
    """The unpicked column of the highest score (the earliest on ties)."""
    cdef Py_ssize_t col, best_col = -1
    cdef double value, best = 0.0
    for col in range(m):
        if picked[col]:
            continue
        value = scores[col]
        if best_col < 0 or value > best:
            best = value
            best_col = col
    return best_col


cdef void _fill_by_score(const index_t* cand, const score_t* scores, Py_ssize_t m, char* picked,
                         int64_t* dest, Py_ssize_t start, Py_ssize_t count) noexcept nogil:
    """Slots ``start .. count - 1`` of ``dest``: the unpicked candidates by score."""
    cdef Py_ssize_t step, col
    for step in range(start, count):
        col = _best_score(scores, m, picked)
        picked[col] = 1
        dest[step] = cand[col]


cdef Py_ssize_t _mmr_start(const index_t* cand, const score_t* scores, Py_ssize_t m,
                           double lambda_, int64_t* dest, Py_ssize_t n, char* picked,
                           double* base, Py_ssize_t* first) noexcept nogil:
    """Clear the row, pick its best score (``first``); ``base``: ``lambda_ * score`` of
    the candidates left, -inf for the pick and the padding. Returns the pick count."""
    cdef Py_ssize_t i, col, count = _start_row(cand, m, picked, dest, n)
    if count > n:
        count = n
    if count == 0:
        return 0
    col = _best_score(scores, m, picked)
    dest[0] = cand[col]
    for i in range(m):
        base[i] = -INFINITY if picked[i] else lambda_ * <double>scores[i]
    base[col] = -INFINITY
    first[0] = col
    return count


cdef Py_ssize_t _mmr_step(double* base, const double* sim_row, double* max_sim, Py_ssize_t m,
                          double weight, bint first) noexcept nogil:
    """Fold ``sim_row`` into ``max_sim``; the column of the largest ``base - weight *
    max_sim`` (the earliest on ties), marked picked (base -inf)."""
    cdef Py_ssize_t i, best_col = -1
    cdef double value, objective, best = -INFINITY
    for i in range(m):
        value = sim_row[i]
        if not first and max_sim[i] > value:
            value = max_sim[i]
        max_sim[i] = value
        objective = base[i] - weight * value
        if objective > best:
            best = objective
            best_col = i
    base[best_col] = -INFINITY
    return best_col


def mmr_dense(const index_t[:, ::1] candidates, const score_t[:, ::1] scores,
              const floating[:, ::1] similarity, Py_ssize_t n, double lambda_,
              int64_t[:, ::1] out, int n_threads):
    """MMR with ``sim(i, j) = similarity[j, i]`` (see rerank_nb.mmr_dense)."""
    cdef Py_ssize_t n_users = candidates.shape[0], m = candidates.shape[1]
    cdef Py_ssize_t n_items = similarity.shape[0]
    cdef Py_ssize_t row, step, i, col, count, item
    cdef double weight = 1.0 - lambda_
    cdef char* picked
    cdef double* base
    cdef double* max_sim
    cdef double* sim_row
    cdef const index_t* cand
    cdef const floating* sim_j
    if n_users == 0:
        return
    if m == 0:
        out[:, :] = -1
        return
    with nogil, parallel(num_threads=n_threads):
        picked = <char*>malloc(m)
        base = <double*>malloc(m * sizeof(double))
        max_sim = <double*>malloc(m * sizeof(double))
        sim_row = <double*>malloc(m * sizeof(double))
        for row in prange(n_users, schedule="dynamic", chunksize=CHUNK):
            cand = &candidates[row, 0]
            count = _mmr_start(cand, &scores[row, 0], m, lambda_, &out[row, 0], n, picked, base,
                               &col)
            for step in range(1, count):
                sim_j = &similarity[0, 0] + cand[col] * n_items
                for i in range(m):
                    item = cand[i] if cand[i] > 0 else 0
                    sim_row[i] = sim_j[item]
                col = _mmr_step(base, sim_row, max_sim, m, weight, step == 1)
                out[row, step] = cand[col]
        free(picked)
        free(base)
        free(max_sim)
        free(sim_row)


def mmr_csr(const index_t[:, ::1] candidates, const score_t[:, ::1] scores,
            const int64_t[::1] indptr, const int64_t[::1] indices, const floating[::1] data,
            Py_ssize_t n, double lambda_, int64_t[:, ::1] out, int n_threads):
    """MMR with ``sim(i, j)`` = CSR entry ``(j, i)``: the pick's row scattered into the
    thread's dense n_items buffer, read, and zeroed again (see rerank_nb.mmr_csr)."""
    cdef Py_ssize_t n_users = candidates.shape[0], m = candidates.shape[1]
    cdef Py_ssize_t n_items = indptr.shape[0] - 1
    cdef Py_ssize_t row, step, i, col, count, item
    cdef int64_t p, lo, hi
    cdef double weight = 1.0 - lambda_
    cdef char* picked
    cdef double* base
    cdef double* max_sim
    cdef double* sim_row
    cdef double* dense
    cdef const index_t* cand
    if n_users == 0:
        return
    if m == 0:
        out[:, :] = -1
        return
    with nogil, parallel(num_threads=n_threads):
        picked = <char*>malloc(m)
        base = <double*>malloc(m * sizeof(double))
        max_sim = <double*>malloc(m * sizeof(double))
        sim_row = <double*>malloc(m * sizeof(double))
        dense = <double*>calloc(n_items + 1, sizeof(double))
        for row in prange(n_users, schedule="dynamic", chunksize=CHUNK):
            cand = &candidates[row, 0]
            count = _mmr_start(cand, &scores[row, 0], m, lambda_, &out[row, 0], n, picked, base,
                               &col)
            for step in range(1, count):
                lo = indptr[cand[col]]
                hi = indptr[cand[col] + 1]
                for p in range(lo, hi):
                    dense[indices[p]] = data[p]
                for i in range(m):
                    item = cand[i] if cand[i] > 0 else 0
                    sim_row[i] = dense[item]
                for p in range(lo, hi):
                    dense[indices[p]] = 0.0
                col = _mmr_step(base, sim_row, max_sim, m, weight, step == 1)
                out[row, step] = cand[col]
        free(picked)
        free(base)
        free(max_sim)
        free(sim_row)
        free(dense)


cdef void _gather_transposed(const floating* vectors, Py_ssize_t d, const index_t* cand,
                             Py_ssize_t m, double* columns) noexcept nogil:
    """``columns[t * m + i] = vectors[cand[i], t]`` (padding: row 0, never read)."""
    cdef Py_ssize_t t, i, item
    for t in range(d):
        for i in range(m):
            item = cand[i] if cand[i] > 0 else 0
            columns[t * m + i] = vectors[item * d + t]


cdef void _similarity_row(const double* columns, Py_ssize_t d, Py_ssize_t m, Py_ssize_t j,
                          double* sim_row) noexcept nogil:
    """``sim_row[i]`` = column i . column j, summed over the dimensions in order."""
    cdef Py_ssize_t t, i
    cdef double weight
    for i in range(m):
        sim_row[i] = 0.0
    for t in range(d):
        weight = columns[t * m + j]
        for i in range(m):
            sim_row[i] += columns[t * m + i] * weight


def mmr_vectors(const index_t[:, ::1] candidates, const score_t[:, ::1] scores,
                const floating[:, ::1] vectors, Py_ssize_t n, double lambda_,
                int64_t[:, ::1] out, int n_threads):
    """MMR with ``sim(i, j) = vectors[i] . vectors[j]`` (float64 sums)."""
    cdef Py_ssize_t n_users = candidates.shape[0], m = candidates.shape[1]
    cdef Py_ssize_t d = vectors.shape[1]
    cdef Py_ssize_t row, step, col, count
    cdef double weight = 1.0 - lambda_
    cdef char* picked
    cdef double* base
    cdef double* max_sim
    cdef double* sim_row
    cdef double* columns
    cdef const index_t* cand
    if n_users == 0:
        return
    if m == 0:
        out[:, :] = -1
        return
    with nogil, parallel(num_threads=n_threads):
        picked = <char*>malloc(m)
        base = <double*>malloc(m * sizeof(double))
        max_sim = <double*>malloc(m * sizeof(double))
        sim_row = <double*>malloc(m * sizeof(double))
        columns = <double*>malloc(m * d * sizeof(double))
        for row in prange(n_users, schedule="dynamic", chunksize=CHUNK):
            cand = &candidates[row, 0]
            count = _mmr_start(cand, &scores[row, 0], m, lambda_, &out[row, 0], n, picked, base,
                               &col)
            if count > 1:
                _gather_transposed(&vectors[0, 0], d, cand, m, columns)
            for step in range(1, count):
                _similarity_row(columns, d, m, col, sim_row)
                col = _mmr_step(base, sim_row, max_sim, m, weight, step == 1)
                out[row, step] = cand[col]
        free(picked)
        free(base)
        free(max_sim)
        free(sim_row)
        free(columns)


cdef void _gather_units(const floating* vectors, Py_ssize_t d, const index_t* cand, Py_ssize_t m,
                        double* columns, double* d2) noexcept nogil:
    """``columns``: the candidates' unit vectors, transposed; ``d2[i]``: the cosine of
    ``i`` with itself, 1 (0 for a zero vector or padding: never picked). ``d2`` holds
    the scales until the end."""
    cdef Py_ssize_t t, i, item
    cdef double total, x
    for i in range(m):
        total = 0.0
        if cand[i] >= 0:
            for t in range(d):
                x = vectors[cand[i] * d + t]
                total += x * x
        d2[i] = 1.0 / sqrt(total) if total > 0.0 else 0.0
    for t in range(d):
        for i in range(m):
            item = cand[i] if cand[i] > 0 else 0
            columns[t * m + i] = vectors[item * d + t] * d2[i]
    for i in range(m):
        d2[i] = 1.0 if d2[i] > 0.0 else 0.0


cdef double _cholesky_row(const double* sim_row, Py_ssize_t j, double* cis, Py_ssize_t m,
                          double* d2, Py_ssize_t first, Py_ssize_t k) noexcept nogil:
    """Algorithm 1's update after picking column ``j``: row ``k`` of ``cis`` (n x m) from
    rows ``first .. k - 1``, ``d2`` lowered by its squares. Returns d_j."""
    cdef Py_ssize_t t, i
    cdef double dj = sqrt(d2[j]), weight, scale
    cdef double* e = cis + k * m
    for i in range(m):
        e[i] = sim_row[i]
    for t in range(first, k):
        weight = cis[t * m + j]
        for i in range(m):
            e[i] -= weight * cis[t * m + i]
    scale = 1.0 / dj
    for i in range(m):
        e[i] *= scale
        d2[i] -= e[i] * e[i]
    return dj


cdef void _slide_window(double* v, Py_ssize_t n, double* cis, Py_ssize_t m, double* d2,
                        Py_ssize_t left, Py_ssize_t k) noexcept nogil:
    """Algorithm 2: rotate the oldest window row ``left - 1`` out of rows ``left .. k``
    (Givens rotations on ``v``, n x n, and ``cis``) and add its squares back to ``d2``."""
    cdef Py_ssize_t old = left - 1, ind, r, i
    cdef double t, c, s
    for ind in range(left, k + 1):
        t = sqrt(v[ind * n + ind] * v[ind * n + ind] + v[ind * n + old] * v[ind * n + old])
        c = t / v[ind * n + ind]
        s = v[ind * n + old] / v[ind * n + ind]
        v[ind * n + ind] = t
        for r in range(ind + 1, k + 1):
            v[r * n + ind] = (v[r * n + ind] + s * v[r * n + old]) / c
            v[r * n + old] = v[r * n + old] * c - s * v[r * n + ind]
        for i in range(m):
            cis[ind * m + i] = (cis[ind * m + i] + s * cis[old * m + i]) / c
            cis[old * m + i] = cis[old * m + i] * c - s * cis[ind * m + i]
    for i in range(m):
        d2[i] += cis[old * m + i] * cis[old * m + i]


cdef Py_ssize_t _dpp_argmax(const score_t* scores, const double* d2, const char* picked,
                            Py_ssize_t m, double theta, double epsilon) noexcept nogil:
    """The unpicked column of the largest gain among ``d2 >= epsilon``; -1 if none
    (the score bound skips logs as in rerank_nb)."""
    cdef Py_ssize_t col, best_col = -1
    cdef double value, best = -INFINITY
    for col in range(m):
        if picked[col] or not d2[col] >= epsilon:
            continue
        value = theta * <double>scores[col]
        if value <= best and d2[col] <= 1.0:
            continue
        value = value + (1.0 - theta) * log(d2[col])
        if value > best:
            best = value
            best_col = col
    return best_col


cdef void _dpp_row(const index_t* cand, const score_t* scores, Py_ssize_t m,
                   const floating* vectors, Py_ssize_t d, Py_ssize_t n, double theta,
                   Py_ssize_t window, double epsilon, int64_t* dest, char* picked,
                   double* columns, double* sim_row, double* d2, double* cis,
                   double* v) noexcept nogil:
    cdef Py_ssize_t count = _start_row(cand, m, picked, dest, n), k = 0, left = 0, j, t
    if count > n:
        count = n
    if theta < 1.0 and count > 0:
        _gather_units(vectors, d, cand, m, columns, d2)
        while k < count:
            j = _dpp_argmax(scores, d2, picked, m, theta, epsilon)
            if j < 0:
                break
            picked[j] = 1
            dest[k] = cand[j]
            if k + 1 == count:
                k += 1
                break
            _similarity_row(columns, d, m, j, sim_row)
            for t in range(left, k):
                v[k * n + t] = cis[t * m + j]
            v[k * n + k] = _cholesky_row(sim_row, j, cis, m, d2, left, k)
            if window > 0 and k + 1 >= window:
                left += 1
                _slide_window(v, n, cis, m, d2, left, k)
            k += 1
    _fill_by_score(cand, scores, m, picked, dest, k, count)


def dpp(const index_t[:, ::1] candidates, const score_t[:, ::1] scores,
        const floating[:, ::1] vectors, Py_ssize_t n, double theta, Py_ssize_t window,
        double epsilon, int64_t[:, ::1] out, int n_threads):
    """Greedy DPP MAP per row (window 0: none); see rerank_nb.dpp."""
    cdef Py_ssize_t n_users = candidates.shape[0], m = candidates.shape[1]
    cdef Py_ssize_t d = vectors.shape[1], row
    cdef char* picked
    cdef double* columns
    cdef double* sim_row
    cdef double* d2
    cdef double* cis
    cdef double* v
    if n_users == 0:
        return
    if m == 0:
        out[:, :] = -1
        return
    with nogil, parallel(num_threads=n_threads):
        picked = <char*>malloc(m)
        columns = <double*>malloc(m * d * sizeof(double))
        sim_row = <double*>malloc(m * sizeof(double))
        d2 = <double*>malloc(m * sizeof(double))
        cis = <double*>malloc(n * m * sizeof(double))
        v = <double*>malloc(n * n * sizeof(double))
        for row in prange(n_users, schedule="dynamic", chunksize=CHUNK):
            _dpp_row(&candidates[row, 0], &scores[row, 0], m, &vectors[0, 0], d, n, theta,
                     window, epsilon, &out[row, 0], picked, columns, sim_row, d2, cis, v)
        free(picked)
        free(columns)
        free(sim_row)
        free(d2)
        free(cis)
        free(v)
