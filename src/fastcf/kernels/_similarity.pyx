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

include "_similarity_defs.pxi"
include "_similarity_accumulate.pxi"
include "_similarity_finalise.pxi"


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
