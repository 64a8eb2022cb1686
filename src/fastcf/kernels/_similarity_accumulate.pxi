# Part of _similarity.pyx (included): the co-rated sums of one query row.

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
