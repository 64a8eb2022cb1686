# Part of _similarity.pyx (included): the per-pair rule and the finalisation of one
# query row (dense, top-k, symmetric top-k).

# --------------------------------------------------------------------------- #
# Per-pair rule                                                               #
# --------------------------------------------------------------------------- #

cdef inline double _pair_sim(int kind, int64_t n, const double* a, double q_stat,
                             double t_stat, int64_t min_support, double shrinkage,
                             double min_sim, bint* candidate) noexcept nogil:
    """The similarity of a visited pair (n >= 1) from its sums ``a``.

    Sets ``candidate[0]`` to whether the pair may enter a top-k (min_support and
    min_sim passed); the returned value is 0 when it may not.
    """
    cdef double dn = <double>n, sim, num, den, sx, sy
    if n < min_support:
        candidate[0] = False
        return 0.0
    if kind == PEARSON:
        sx = a[0]
        sy = a[1]
        num = dn * a[4] - sx * sy
        den = _pearson_den(dn, a)
        sim = num / sqrt(den) if den > 0.0 else 0.0
    elif kind == PEARSON_BASELINE or kind == COSINE:
        den = a[0] * a[1]
        sim = a[2] / sqrt(den) if den > 0.0 else 0.0
    elif kind == COSINE_ALL or kind == ADJUSTED_COSINE:
        den = q_stat * t_stat   # norms >= 0: den > 0 unless a norm is 0 (or it underflows)
        sim = a[0] / den if den > 0.0 else 0.0
    elif kind == MSD:
        sim = 1.0 / (a[0] / dn + 1.0)
    else:  # JACCARD
        sim = dn / (q_stat + t_stat - dn)
    if shrinkage > 0.0:
        sim = sim * ((dn - 1.0) / (dn - 1.0 + shrinkage))
    if sim < min_sim:
        candidate[0] = False
        return 0.0
    candidate[0] = True
    return sim


# --------------------------------------------------------------------------- #
# Finalisation of one query row                                               #
# --------------------------------------------------------------------------- #

cdef inline void _dense_row(int kind, Py_ssize_t width, Py_ssize_t nt,
                            const int64_t* touched, int64_t* count, double* acc,
                            double q_stat, const double* t_stat, int64_t self_j,
                            int64_t min_support, double shrinkage, double min_sim,
                            floating* out, Py_ssize_t q, Py_ssize_t n_t,
                            bint mirror) noexcept nogil:
    """Write row q of ``out`` (and, with ``mirror``, column q: the pairs j > q)."""
    cdef Py_ssize_t i, j
    cdef double sim
    cdef bint candidate
    cdef floating* out_row = out + q * n_t
    for i in range(nt):
        j = touched[i]
        sim = _pair_sim(kind, count[j], acc + width * j, q_stat, t_stat[j],
                        min_support, shrinkage, min_sim, &candidate)
        out_row[j] = <floating>sim
        if mirror:
            out[j * n_t + q] = <floating>sim
        _reset(count, acc, width, j)
    if self_j >= 0:
        out_row[self_j] = 1


cdef inline Py_ssize_t _topk_row(int kind, Py_ssize_t width, Py_ssize_t nt,
                                 const int64_t* touched, int64_t* count, double* acc,
                                 double q_stat, const double* t_stat, int64_t self_j,
                                 int64_t min_support, double shrinkage, double min_sim,
                                 Py_ssize_t k, double* hv, int64_t* hi,
                                 int64_t* idx_row, floating* val_row) noexcept nogil:
    """Offer the row's visited pairs to the k-heap; write its result best first.

    Chunk by chunk: a screen keeps in ``keep`` the targets that may enter the
    heap, then the exact rule and the heap see only those, then the chunk's
    sums are reset. The screen uses the heap's worst value ``thr`` at the start
    of the chunk; the heap only improves, so a pair below ``thr`` can never
    enter it. While the heap is not full every pair is kept.
    """
    cdef Py_ssize_t i, i0, i1, m, c, j, size = 0
    cdef int64_t n
    cdef double sim, num, den, dn, thr, thr2
    cdef const double* a
    cdef int64_t keep[CHUNK]
    cdef bint candidate
    cdef bint sqrt_kind = kind == PEARSON or kind == PEARSON_BASELINE or kind == COSINE
    if k < 1:
        for i in range(nt):
            _reset(count, acc, width, touched[i])
        return 0
    i0 = 0
    while i0 < nt:
        i1 = i0 + CHUNK
        if i1 > nt:
            i1 = nt
        m = 0
        if size < k:
            for i in range(i0, i1):
                keep[m] = touched[i]
                m = m + 1
        elif sqrt_kind and hv[0] > SCREEN_MIN_THRESHOLD:
            # sim = num / sqrt(den) (times a shrinkage factor <= 1) < thr is
            # proven without the sqrt and the division: den <= 0 gives 0,
            # num <= 0 gives <= 0, and for num > SCREEN_TINY (every product
            # normal) num^2 < thr^2 den (1 - 2^-30) leaves a margin far above
            # the few ulps of rounding in either computation.
            thr2 = hv[0] * hv[0] * SCREEN_MARGIN
            for i in range(i0, i1):
                j = touched[i]
                n = count[j]
                a = acc + width * j
                if kind == PEARSON:
                    dn = <double>n
                    num = dn * a[4] - a[0] * a[1]
                    # Unfloored: the screen only rejects pairs whose exact
                    # (floored) similarity is provably below thr either way.
                    den = (dn * a[2] - a[0] * a[0]) * (dn * a[3] - a[1] * a[1])
                else:
                    num = a[2]
                    den = a[0] * a[1]
                keep[m] = j
                m = m + ((n >= min_support) & (j != self_j) & (den > 0.0) & (num > 0.0)
                         & ((num <= SCREEN_TINY) | (num * num >= thr2 * den)))
        else:
            thr = hv[0]
            for i in range(i0, i1):
                j = touched[i]
                sim = _pair_sim(kind, count[j], acc + width * j, q_stat, t_stat[j],
                                min_support, shrinkage, min_sim, &candidate)
                keep[m] = j
                m = m + (candidate & (j != self_j) & (sim >= thr))
        for c in range(m):
            j = keep[c]
            sim = _pair_sim(kind, count[j], acc + width * j, q_stat, t_stat[j],
                            min_support, shrinkage, min_sim, &candidate)
            if candidate and j != self_j:
                size = _heap_push(hv, hi, size, k, sim, j)
        for i in range(i0, i1):
            _reset(count, acc, width, touched[i])
        i0 = i1
    _heap_sort(hv, hi, size)
    for i in range(size):
        idx_row[i] = hi[i]
        val_row[i] = <floating>hv[i]
    return size


cdef inline void _offer(double* buf_val, int64_t* buf_idx, int64_t* buf_size,
                        double* floor, int64_t* floor_idx, Py_ssize_t row, Py_ssize_t k,
                        double sim, int64_t other, double* hv, int64_t* hi) noexcept nogil:
    """Append (sim, other) to row's candidate buffer (capacity 2k) if it beats the floor.

    A full buffer is cut back to its best k (best first) and the floor becomes
    the k-th best (value, index): a pair not better than it has k better ones in
    this buffer alone, so it can never be in the row's top-k.
    """
    cdef Py_ssize_t width = 2 * k, pos, i, size
    cdef double* rv
    cdef int64_t* ri
    if not _worse(floor[row], floor_idx[row], sim, other):
        return
    rv = buf_val + row * width
    ri = buf_idx + row * width
    pos = buf_size[row]
    rv[pos] = sim
    ri[pos] = other
    pos = pos + 1
    if pos == width:
        size = 0
        for i in range(width):
            size = _heap_push(hv, hi, size, k, rv[i], ri[i])
        _heap_sort(hv, hi, size)
        for i in range(size):
            rv[i] = hv[i]
            ri[i] = hi[i]
        floor[row] = hv[size - 1]
        floor_idx[row] = hi[size - 1]
        pos = size
    buf_size[row] = pos


cdef inline void _topk_sym_row(int kind, Py_ssize_t width, Py_ssize_t nt,
                               const int64_t* touched, int64_t* count, double* acc,
                               double q_stat, const double* t_stat, Py_ssize_t q,
                               int64_t min_support, double shrinkage, double min_sim,
                               Py_ssize_t k, double* hv, int64_t* hi, double* buf_val,
                               int64_t* buf_idx, int64_t* buf_size,
                               double* floor, int64_t* floor_idx) noexcept nogil:
    """Offer each pair (q, j > q) of the row to the buffers of both q and j.

    Chunk by chunk, as in ``_topk_row``: a branch-free screen drops the pairs
    below both rows' floors (read at screen time; floors only rise, so the
    screen is conservative), then the survivors get the exact rule and offers.
    """
    cdef Py_ssize_t i, i0, i1, m, c, j
    cdef int64_t n
    cdef double sim, num, den, dn, thr, fq
    cdef const double* a
    cdef int64_t keep[CHUNK]
    cdef bint candidate, reject
    cdef bint sqrt_kind = kind == PEARSON or kind == PEARSON_BASELINE or kind == COSINE
    i0 = 0
    while i0 < nt:
        i1 = i0 + CHUNK
        if i1 > nt:
            i1 = nt
        m = 0
        fq = floor[q]
        if sqrt_kind:
            for i in range(i0, i1):
                j = touched[i]
                n = count[j]
                a = acc + width * j
                if kind == PEARSON:
                    dn = <double>n
                    num = dn * a[4] - a[0] * a[1]
                    # Unfloored: the screen only rejects pairs whose exact
                    # (floored) similarity is provably below thr either way.
                    den = (dn * a[2] - a[0] * a[0]) * (dn * a[3] - a[1] * a[1])
                else:
                    num = a[2]
                    den = a[0] * a[1]
                thr = fq if fq < floor[j] else floor[j]
                # The proof of _topk_row's screen, with thr = the lower floor.
                reject = (thr > SCREEN_MIN_THRESHOLD) & (
                    (den <= 0.0) | (num <= 0.0)
                    | ((num > SCREEN_TINY) & (num * num < thr * thr * SCREEN_MARGIN * den)))
                keep[m] = j
                m = m + ((n >= min_support) & (not reject))
        else:
            for i in range(i0, i1):
                j = touched[i]
                sim = _pair_sim(kind, count[j], acc + width * j, q_stat, t_stat[j],
                                min_support, shrinkage, min_sim, &candidate)
                thr = fq if fq < floor[j] else floor[j]
                keep[m] = j
                m = m + (candidate & (sim >= thr))
        for c in range(m):
            j = keep[c]
            sim = _pair_sim(kind, count[j], acc + width * j, q_stat, t_stat[j],
                            min_support, shrinkage, min_sim, &candidate)
            if candidate:
                _offer(buf_val, buf_idx, buf_size, floor, floor_idx, q, k, sim, j, hv, hi)
                _offer(buf_val, buf_idx, buf_size, floor, floor_idx, j, k, sim, q, hv, hi)
        for i in range(i0, i1):
            _reset(count, acc, width, touched[i])
        i0 = i1
