"""Cython twin of ``similarity_nb``: co-rated similarity sums, dense or fused top-k.

``t_after`` (as in ``similarity_nb``): empty -> every query row visits every
target. Non-empty (self-similarity: the queries are the targets, same prepared
data) -> ``t_after[e]`` is the position of query entry e in the transposed
matrix, and row q visits only the targets after itself (j > q): each unordered
pair is computed once, by its lower row. Its sums are bit-identical to those of
the other orientation (same products, same column order, commutative
finalisation), so the result equals the full computation. Dense output writes
both (q, j) and (j, q); top-k offers the pair to both rows' candidate buffers.

For each query row q (one OpenMP thread per row, rows handed out dynamically)
the kernel walks every entry (c, x) of q in stored order and, for each entry
(j, y) of the transposed target row c in stored order, counts the co-rated
column and adds the kind's sums for the pair (q, j). Then every visited target
is finalised with the per-pair rule (min_support, the kind's formula, shrinkage,
min_sim) and written (dense) or offered to a k-heap (top-k); its sums are reset.

Per-thread scratch, allocated once: a count per target, the list of targets
touched by the current row, the kind's sums interleaved per target (a pair
update touches one cache line) and a k-heap. Each row is computed by one
thread in one fixed order, so the result does not depend on the thread count.
The sums of a pair do not depend on the order in which targets are finalised,
and the top-k under the strict order (similarity desc, index asc) is unique,
so the two finalisation orders used below (first-visit order; ascending target
order for rows that touch many targets) give identical results.

Speed notes (the spec's semantics are unchanged by any of them):

- one accumulation loop per family of kinds, no per-kind branch inside it; the
  transposed row of the entry two ahead is prefetched (a short row starts
  with a cache miss otherwise);
- a row whose work (the summed length of the transposed rows it visits) is at
  least n_t skips the touched list and finds its targets by a scan of the
  counts afterwards (cost <= the row's own work; ascending, cache-friendly);
- top-k finalisation runs in chunks: once the heap is full a branch-free
  screen drops the pairs that cannot beat its worst entry (for the sqrt kinds
  without the sqrt and division: num^2 < thr^2 den with a 2^-30 safety margin)
  and only the survivors go through the exact rule and the heap.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange, threadid
from libc.math cimport INFINITY, sqrt
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport calloc, free, malloc

from ._heap cimport _heap_push, _heap_sort, _worse

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define FASTCF_PREFETCH(p) __builtin_prefetch((const void *)(p))
    #else
    #define FASTCF_PREFETCH(p) ((void)0)
    #endif
    """
    void FASTCF_PREFETCH(const void* p) noexcept nogil

ctypedef fused index_t:
    int32_t
    int64_t

# The transposed values: float32 when every value is exactly a float32 (e.g.
# ratings on a 0.5 grid and their pearson shifts), which the caller checks.
# Each is widened to double before any arithmetic, so the results are
# bit-identical; the accumulation streams these values once per pair update
# and was ~25% faster with them half the size.
ctypedef fused tvalue_t:
    float
    double

# Kind codes (the wrapper passes these ints).
cdef enum:
    PEARSON = 0
    PEARSON_BASELINE = 1
    COSINE = 2
    COSINE_ALL = 3
    ADJUSTED_COSINE = 4
    MSD = 5
    JACCARD = 6

# Accumulation families. Target j's sums live at acc[j * width : (j + 1) * width]:
#   FAM_W5  pearson                           Sx, Sy, Sxx, Syy, Sxy   (width 5)
#   FAM_W3  pearson_baseline, cosine          Sxx, Syy, Sxy           (width 3)
#   FAM_XY  cosine_all, adjusted_cosine       Sxy                     (width 1)
#   FAM_D   msd                               D = sum (x - y)^2       (width 1)
#   FAM_N   jaccard                           (the count only)        (width 0)
cdef enum:
    FAM_W5 = 0
    FAM_W3 = 1
    FAM_XY = 2
    FAM_D = 3
    FAM_N = 4

cdef enum:
    PREFETCH_AHEAD = 2   # query entries ahead whose transposed row is prefetched
    CHUNK = 128          # top-k finalisation chunk (screen, then exact rule + heap)

# Top-k screen of the sqrt kinds (see _topk_row): active when the heap's worst
# value is above SCREEN_MIN_THRESHOLD; num^2 < thr^2 * den * SCREEN_MARGIN proves
# num / sqrt(den) < thr whenever num > SCREEN_TINY (all products stay normal).
cdef double SCREEN_MIN_THRESHOLD = 1e-100
cdef double SCREEN_TINY = 1e-140
cdef double SCREEN_MARGIN = 1.0 - 1.0 / 1073741824.0   # 1 - 2^-30
# A Pearson variance n Sxx - Sx^2 at or below this fraction of n Sxx is
# rounding noise of a row constant over the co-rated columns (decimal ratings
# are not exact in binary): it counts as 0, as the two-pass reference finds.
cdef double VARIANCE_FLOOR = 1e-12


cdef inline double _pearson_den(double dn, const double* a) noexcept nogil:
    """(n Sxx - Sx^2)(n Syy - Sy^2), each factor 0 when it is rounding noise."""
    cdef double vx = dn * a[2] - a[0] * a[0]
    cdef double vy = dn * a[3] - a[1] * a[1]
    vx = vx if vx > VARIANCE_FLOOR * dn * a[2] else 0.0
    vy = vy if vy > VARIANCE_FLOOR * dn * a[3] else 0.0
    return vx * vy


cdef int _family(int kind) except -1:
    if kind == PEARSON:
        return FAM_W5
    if kind == PEARSON_BASELINE or kind == COSINE:
        return FAM_W3
    if kind == COSINE_ALL or kind == ADJUSTED_COSINE:
        return FAM_XY
    if kind == MSD:
        return FAM_D
    if kind == JACCARD:
        return FAM_N
    raise ValueError(f"kind == {kind}, must be one of 0..6.")


cdef inline Py_ssize_t _width(int family) noexcept nogil:
    if family == FAM_W5:
        return 5
    if family == FAM_W3:
        return 3
    if family == FAM_N:
        return 0
    return 1


# --------------------------------------------------------------------------- #
# Accumulation of one query row                                               #
# --------------------------------------------------------------------------- #

cdef inline Py_ssize_t _start(Py_ssize_t e, Py_ssize_t c, const index_t* t_indptr,
                              const int64_t* after) noexcept nogil:
    """First position visited in transposed row c for query entry e."""
    if after != NULL:
        return after[e] + 1
    return t_indptr[c]


cdef inline Py_ssize_t _row_work(Py_ssize_t q, const index_t* q_indptr,
                                 const index_t* q_indices, const index_t* t_indptr,
                                 const int64_t* after) noexcept nogil:
    """Number of pair updates of row q (summed length of the rows it visits)."""
    cdef Py_ssize_t e, c, work = 0
    for e in range(q_indptr[q], q_indptr[q + 1]):
        c = q_indices[e]
        work = work + (t_indptr[c + 1] - _start(e, c, t_indptr, after))
    return work


cdef inline Py_ssize_t _accumulate_row(
        int family, bint track, Py_ssize_t q,
        const index_t* q_indptr, const index_t* q_indices, const double* q_data,
        const index_t* t_indptr, const index_t* t_indices, const tvalue_t* t_data,
        const int64_t* after, int64_t* count, int64_t* touched, double* acc) noexcept nogil:
    """Add row q's pair sums into count/acc.

    With ``track``, returns the number of touched targets, listed in first-visit
    order in ``touched`` (room for n_t + 1: every update writes its target to
    ``touched[nt]`` and only a first visit advances ``nt``, without a branch).
    Without, returns 0 and the caller scans ``count``. ``track`` is invariant in
    every loop, so the compiler unswitches it out of the inner loops.
    """
    cdef Py_ssize_t e, e_end = q_indptr[q + 1], f, f_end, c, j, nt = 0
    cdef double x, xx, y
    cdef double* a
    # One loop nest per family: no per-kind branch in the inner loop.
    if family == FAM_W5:
        for e in range(q_indptr[q], e_end):
            if e + PREFETCH_AHEAD < e_end:
                f = _start(e + PREFETCH_AHEAD, q_indices[e + PREFETCH_AHEAD], t_indptr, after)
                FASTCF_PREFETCH(t_indices + f)
                FASTCF_PREFETCH(t_data + f)
            c = q_indices[e]
            x = q_data[e]
            xx = x * x
            f_end = t_indptr[c + 1]
            for f in range(_start(e, c, t_indptr, after), f_end):
                j = t_indices[f]
                y = t_data[f]
                if track:
                    touched[nt] = j
                    nt += count[j] == 0
                count[j] += 1
                a = acc + 5 * j
                a[0] += x
                a[1] += y
                a[2] += xx
                a[3] += y * y
                a[4] += x * y
    elif family == FAM_W3:
        for e in range(q_indptr[q], e_end):
            if e + PREFETCH_AHEAD < e_end:
                f = _start(e + PREFETCH_AHEAD, q_indices[e + PREFETCH_AHEAD], t_indptr, after)
                FASTCF_PREFETCH(t_indices + f)
                FASTCF_PREFETCH(t_data + f)
            c = q_indices[e]
            x = q_data[e]
            xx = x * x
            f_end = t_indptr[c + 1]
            for f in range(_start(e, c, t_indptr, after), f_end):
                j = t_indices[f]
                y = t_data[f]
                if track:
                    touched[nt] = j
                    nt += count[j] == 0
                count[j] += 1
                a = acc + 3 * j
                a[0] += xx
                a[1] += y * y
                a[2] += x * y
    elif family == FAM_XY:
        for e in range(q_indptr[q], e_end):
            if e + PREFETCH_AHEAD < e_end:
                f = _start(e + PREFETCH_AHEAD, q_indices[e + PREFETCH_AHEAD], t_indptr, after)
                FASTCF_PREFETCH(t_indices + f)
                FASTCF_PREFETCH(t_data + f)
            c = q_indices[e]
            x = q_data[e]
            f_end = t_indptr[c + 1]
            for f in range(_start(e, c, t_indptr, after), f_end):
                j = t_indices[f]
                if track:
                    touched[nt] = j
                    nt += count[j] == 0
                count[j] += 1
                acc[j] += x * t_data[f]
    elif family == FAM_D:
        for e in range(q_indptr[q], e_end):
            if e + PREFETCH_AHEAD < e_end:
                f = _start(e + PREFETCH_AHEAD, q_indices[e + PREFETCH_AHEAD], t_indptr, after)
                FASTCF_PREFETCH(t_indices + f)
                FASTCF_PREFETCH(t_data + f)
            c = q_indices[e]
            x = q_data[e]
            f_end = t_indptr[c + 1]
            for f in range(_start(e, c, t_indptr, after), f_end):
                j = t_indices[f]
                y = x - t_data[f]
                if track:
                    touched[nt] = j
                    nt += count[j] == 0
                count[j] += 1
                acc[j] += y * y
    else:  # FAM_N: the count only
        for e in range(q_indptr[q], e_end):
            if e + PREFETCH_AHEAD < e_end:
                FASTCF_PREFETCH(t_indices + _start(e + PREFETCH_AHEAD,
                                                   q_indices[e + PREFETCH_AHEAD],
                                                   t_indptr, after))
            c = q_indices[e]
            f_end = t_indptr[c + 1]
            for f in range(_start(e, c, t_indptr, after), f_end):
                j = t_indices[f]
                if track:
                    touched[nt] = j
                    nt += count[j] == 0
                count[j] += 1
    return nt


cdef inline Py_ssize_t _scan_touched(const int64_t* count, int64_t* touched,
                                     Py_ssize_t n_t) noexcept nogil:
    """List the targets with a nonzero count, ascending; returns how many."""
    cdef Py_ssize_t j, nt = 0
    for j in range(n_t):
        touched[nt] = j
        nt += count[j] != 0
    return nt


cdef inline Py_ssize_t _visit_row(
        int family, Py_ssize_t q, Py_ssize_t n_t,
        const index_t* q_indptr, const index_t* q_indices, const double* q_data,
        const index_t* t_indptr, const index_t* t_indices, const tvalue_t* t_data,
        const int64_t* after, int64_t* count, int64_t* touched, double* acc) noexcept nogil:
    """Accumulate row q; returns the number of touched targets listed in ``touched``."""
    if _row_work(q, q_indptr, q_indices, t_indptr, after) < n_t:
        return _accumulate_row(family, True, q, q_indptr, q_indices, q_data,
                               t_indptr, t_indices, t_data, after, count, touched, acc)
    _accumulate_row(family, False, q, q_indptr, q_indices, q_data,
                    t_indptr, t_indices, t_data, after, count, touched, acc)
    return _scan_touched(count, touched, n_t)


cdef inline void _reset(int64_t* count, double* acc, Py_ssize_t width,
                        Py_ssize_t j) noexcept nogil:
    """Zero target j's count and sums (fixed-width stores, no memset call)."""
    cdef double* a = acc + width * j
    count[j] = 0
    if width == 5:
        a[0] = 0.0
        a[1] = 0.0
        a[2] = 0.0
        a[3] = 0.0
        a[4] = 0.0
    elif width == 3:
        a[0] = 0.0
        a[1] = 0.0
        a[2] = 0.0
    elif width == 1:
        a[0] = 0.0


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


# --------------------------------------------------------------------------- #
# Drivers                                                                     #
# --------------------------------------------------------------------------- #

cdef int _check_shapes(Py_ssize_t n_q, Py_ssize_t n_q_indices, Py_ssize_t n_q_data,
                       Py_ssize_t n_q_stat, Py_ssize_t n_q_self, Py_ssize_t n_t_indptr,
                       Py_ssize_t n_t_indices, Py_ssize_t n_t_data, Py_ssize_t n_t,
                       Py_ssize_t n_after) except -1:
    # O(1) guards against writing out of bounds; the public wrapper does the
    # real validation (dtypes, index ranges, sortedness, finiteness).
    if n_q < 0:
        raise ValueError("q_indptr is empty, must have n_q + 1 entries.")
    if n_q_indices != n_q_data:
        raise ValueError(f"len(q_indices) == {n_q_indices} != len(q_data) == {n_q_data}.")
    if n_q_stat != n_q or n_q_self != n_q:
        raise ValueError(f"q_stat and q_self must have n_q == {n_q} entries, "
                         f"got {n_q_stat} and {n_q_self}.")
    if n_t_indptr < 1:
        raise ValueError("t_indptr is empty, must have n_columns + 1 entries.")
    if n_t_indices != n_t_data:
        raise ValueError(f"len(t_indices) == {n_t_indices} != len(t_data) == {n_t_data}.")
    if n_after != 0 and (n_after != n_q_indices or n_q != n_t):
        raise ValueError(f"len(t_after) == {n_after}, must be 0 or len(q_indices) == "
                         f"{n_q_indices} with n_q == n_t (self-similarity); n_q == {n_q}, "
                         f"n_t == {n_t}.")
    return 0


cdef int _topk_symmetric(int kind, int family, Py_ssize_t width, Py_ssize_t n, Py_ssize_t k,
                         const index_t* qip, const index_t* qix, const double* qd,
                         const double* qs, const index_t* tip, const index_t* tix,
                         const tvalue_t* td, const double* ts, const int64_t* after,
                         int64_t min_support, double shrinkage, double min_sim,
                         int64_t[:, ::1] top_idx, floating[:, ::1] top_val,
                         int64_t[::1] top_cnt, int n_threads) except -1:
    """Self-similarity top-k computing each unordered pair once (see the module doc).

    Every thread slot owns one candidate buffer (capacity 2k) and floor per
    row; a thread offers the pairs of the rows it computes to the buffers of
    both rows in its own slot. Then each row merges its slots' candidates into
    a k-heap. A row's candidate appears in exactly one slot, and its top-k under
    the strict order is the top-k of the union, so the result does not depend on
    the number of threads or on which thread computed which row.
    """
    cdef Py_ssize_t n_slots = n_threads if n_threads < n else n
    cdef Py_ssize_t buf_width = 2 * k, r, s, e, base, q, nt, size
    cdef double* buf_val = <double*>malloc(n_slots * n * buf_width * sizeof(double) + 8)
    cdef int64_t* buf_idx = <int64_t*>malloc(n_slots * n * buf_width * sizeof(int64_t) + 8)
    cdef int64_t* buf_size = <int64_t*>calloc(n_slots * n + 1, sizeof(int64_t))
    cdef double* floor = <double*>malloc((n_slots * n + 1) * sizeof(double))
    cdef int64_t* floor_idx = <int64_t*>malloc((n_slots * n + 1) * sizeof(int64_t))
    cdef int failed = 0
    cdef int* failed_flag = &failed   # written through: a plain assignment would be thread-private
    cdef int64_t* count = NULL
    cdef int64_t* touched = NULL
    cdef double* acc = NULL
    cdef double* hv = NULL
    cdef int64_t* hi = NULL
    cdef bint bad = False
    cdef Py_ssize_t slot = 0
    if (buf_val == NULL or buf_idx == NULL or buf_size == NULL or floor == NULL
            or floor_idx == NULL):
        free(buf_val)
        free(buf_idx)
        free(buf_size)
        free(floor)
        free(floor_idx)
        raise MemoryError(f"could not allocate {n_slots} x {n} x {buf_width} top-k candidates.")
    for r in range(n_slots * n):
        floor[r] = -INFINITY
        floor_idx[r] = n
    with nogil, parallel(num_threads=n_slots):
        slot = threadid()
        count = <int64_t*>calloc(n + 1, sizeof(int64_t))
        touched = <int64_t*>malloc((n + 1) * sizeof(int64_t))
        acc = <double*>calloc(n * width + 1, sizeof(double))
        hv = <double*>malloc((k + 1) * sizeof(double))
        hi = <int64_t*>malloc((k + 1) * sizeof(int64_t))
        bad = count == NULL or touched == NULL or acc == NULL or hv == NULL or hi == NULL
        if bad:
            failed_flag[0] = 1
        for q in prange(n, schedule="dynamic"):
            if bad:
                continue
            nt = _visit_row(family, q, n, qip, qix, qd, tip, tix, td, after, count, touched,
                            acc)
            _topk_sym_row(kind, width, nt, touched, count, acc, qs[q], ts, q, min_support,
                          shrinkage, min_sim, k, hv, hi, buf_val + slot * n * buf_width,
                          buf_idx + slot * n * buf_width, buf_size + slot * n, floor + slot * n,
                          floor_idx + slot * n)
        free(count)
        free(touched)
        free(acc)
        free(hv)
        free(hi)
    if not failed:
        with nogil, parallel(num_threads=n_threads):
            hv = <double*>malloc((k + 1) * sizeof(double))
            hi = <int64_t*>malloc((k + 1) * sizeof(int64_t))
            bad = hv == NULL or hi == NULL
            if bad:
                failed_flag[0] = 1
            for r in prange(n, schedule="static"):
                if bad:
                    continue
                size = 0
                for s in range(n_slots):
                    base = s * n + r
                    for e in range(buf_size[base]):
                        size = _heap_push(hv, hi, size, k, buf_val[base * buf_width + e],
                                          buf_idx[base * buf_width + e])
                _heap_sort(hv, hi, size)
                for e in range(size):
                    top_idx[r, e] = hi[e]
                    top_val[r, e] = <floating>hv[e]
                top_cnt[r] = size
            free(hv)
            free(hi)
    free(buf_val)
    free(buf_idx)
    free(buf_size)
    free(floor)
    free(floor_idx)
    if failed:
        raise MemoryError(f"could not allocate the per-thread scratch for n == {n}, k == {k}.")
    return 0


def similarity_dense(int kind,
                     const index_t[::1] q_indptr, const index_t[::1] q_indices,
                     const double[::1] q_data, const double[::1] q_stat,
                     const int64_t[::1] q_self,
                     const index_t[::1] t_indptr, const index_t[::1] t_indices,
                     const tvalue_t[::1] t_data, const double[::1] t_stat,
                     const int64_t[::1] t_after, int64_t min_support, double shrinkage,
                     double min_sim,
                     floating[:, ::1] out, int n_threads):
    """Dense (n_q, n_t) similarities into the zero-filled ``out``.

    Writes every visited pair (0 where min_support or min_sim rejects it) and
    ``out[q, q_self[q]] = 1`` where ``q_self[q] >= 0``.
    """
    cdef Py_ssize_t n_q = q_indptr.shape[0] - 1, n_t = t_stat.shape[0]
    cdef int family = _family(kind)
    cdef Py_ssize_t width = _width(family)
    _check_shapes(n_q, q_indices.shape[0], q_data.shape[0], q_stat.shape[0],
                  q_self.shape[0], t_indptr.shape[0], t_indices.shape[0], t_data.shape[0],
                  n_t, t_after.shape[0])
    if out.shape[0] != n_q or out.shape[1] != n_t:
        raise ValueError(f"out.shape == ({out.shape[0]}, {out.shape[1]}), "
                         f"must be ({n_q}, {n_t}).")
    if n_q == 0:
        return
    if n_threads < 1:
        n_threads = 1

    cdef const index_t* qip = &q_indptr[0]
    cdef const index_t* qix = &q_indices[0]
    cdef const double* qd = &q_data[0]
    cdef const index_t* tip = &t_indptr[0]
    cdef const index_t* tix = &t_indices[0]
    cdef const tvalue_t* td = &t_data[0]
    cdef const double* ts = &t_stat[0]
    cdef const int64_t* after = &t_after[0] if t_after.shape[0] > 0 else NULL
    cdef int failed = 0
    cdef int* failed_flag = &failed   # written through: a plain assignment would be thread-private
    cdef int64_t* count = NULL
    cdef int64_t* touched = NULL
    cdef double* acc = NULL
    cdef bint bad = False
    cdef Py_ssize_t q, nt

    with nogil, parallel(num_threads=n_threads):
        # Per-thread scratch, allocated once; calloc gives the zeroed state
        # that every row restores when it finalises its targets.
        count = <int64_t*>calloc(n_t + 1, sizeof(int64_t))
        touched = <int64_t*>malloc((n_t + 1) * sizeof(int64_t))
        acc = <double*>calloc(n_t * width + 1, sizeof(double))
        bad = count == NULL or touched == NULL or acc == NULL
        if bad:
            failed_flag[0] = 1
        for q in prange(n_q, schedule="dynamic"):
            if bad:
                continue
            nt = _visit_row(family, q, n_t, qip, qix, qd, tip, tix, td, after, count, touched,
                            acc)
            _dense_row(kind, width, nt, touched, count, acc, q_stat[q], ts, q_self[q],
                       min_support, shrinkage, min_sim, &out[0, 0], q, n_t, after != NULL)
        free(count)
        free(touched)
        free(acc)
    if failed:
        raise MemoryError(f"could not allocate the per-thread scratch for n_t == {n_t}.")


def similarity_topk(int kind,
                    const index_t[::1] q_indptr, const index_t[::1] q_indices,
                    const double[::1] q_data, const double[::1] q_stat,
                    const int64_t[::1] q_self,
                    const index_t[::1] t_indptr, const index_t[::1] t_indices,
                    const tvalue_t[::1] t_data, const double[::1] t_stat,
                    const int64_t[::1] t_after, int64_t min_support, double shrinkage,
                    double min_sim,
                    int64_t[:, ::1] top_idx, floating[:, ::1] top_val,
                    int64_t[::1] top_cnt, int n_threads):
    """Best k = top_idx.shape[1] targets of every query row, self excluded.

    Order: similarity descending (ranked in float64), then target index
    ascending. Writes ``top_idx/top_val[q, :top_cnt[q]]`` best first and leaves
    the rest of each row as the caller filled it.
    """
    cdef Py_ssize_t n_q = q_indptr.shape[0] - 1, n_t = t_stat.shape[0]
    cdef Py_ssize_t k = top_idx.shape[1]
    cdef int family = _family(kind)
    cdef Py_ssize_t width = _width(family)
    _check_shapes(n_q, q_indices.shape[0], q_data.shape[0], q_stat.shape[0],
                  q_self.shape[0], t_indptr.shape[0], t_indices.shape[0], t_data.shape[0],
                  n_t, t_after.shape[0])
    if (top_idx.shape[0] != n_q or top_val.shape[0] != n_q or top_val.shape[1] != k
            or top_cnt.shape[0] != n_q):
        raise ValueError(f"top_idx.shape == ({top_idx.shape[0]}, {k}), top_val.shape == "
                         f"({top_val.shape[0]}, {top_val.shape[1]}), top_cnt.shape == "
                         f"({top_cnt.shape[0]},), must be ({n_q}, k), ({n_q}, k), ({n_q},).")
    if n_q == 0:
        return
    if n_threads < 1:
        n_threads = 1

    cdef const index_t* qip = &q_indptr[0]
    cdef const index_t* qix = &q_indices[0]
    cdef const double* qd = &q_data[0]
    cdef const index_t* tip = &t_indptr[0]
    cdef const index_t* tix = &t_indices[0]
    cdef const tvalue_t* td = &t_data[0]
    cdef const double* ts = &t_stat[0]
    cdef const int64_t* after = &t_after[0] if t_after.shape[0] > 0 else NULL
    cdef int failed = 0
    cdef int* failed_flag = &failed   # written through: a plain assignment would be thread-private
    cdef int64_t* count = NULL
    cdef int64_t* touched = NULL
    cdef double* acc = NULL
    cdef double* hv = NULL
    cdef int64_t* hi = NULL
    cdef bint bad = False
    cdef Py_ssize_t q, nt

    if after != NULL and k > 0:
        _topk_symmetric(kind, family, width, n_q, k, qip, qix, qd, &q_stat[0], tip, tix, td, ts,
                        after, min_support, shrinkage, min_sim, top_idx, top_val, top_cnt,
                        n_threads)
        return
    with nogil, parallel(num_threads=n_threads):
        count = <int64_t*>calloc(n_t + 1, sizeof(int64_t))
        touched = <int64_t*>malloc((n_t + 1) * sizeof(int64_t))
        acc = <double*>calloc(n_t * width + 1, sizeof(double))
        hv = <double*>malloc((k + 1) * sizeof(double))
        hi = <int64_t*>malloc((k + 1) * sizeof(int64_t))
        bad = count == NULL or touched == NULL or acc == NULL or hv == NULL or hi == NULL
        if bad:
            failed_flag[0] = 1
        for q in prange(n_q, schedule="dynamic"):
            if bad:
                continue
            nt = _visit_row(family, q, n_t, qip, qix, qd, tip, tix, td, after, count, touched,
                            acc)
            top_cnt[q] = _topk_row(kind, width, nt, touched, count, acc, q_stat[q], ts,
                                   q_self[q], min_support, shrinkage, min_sim, k, hv, hi,
                                   &top_idx[q, 0], &top_val[q, 0])
        free(count)
        free(touched)
        free(acc)
        free(hv)
        free(hi)
    if failed:
        raise MemoryError(f"could not allocate the per-thread scratch for n_t == {n_t}, "
                          f"k == {k}.")
