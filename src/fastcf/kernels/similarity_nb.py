"""Numba kernels of the similarity engine (see ``kernels.similarity`` for the contract).

Each query row is computed by one thread, in one fixed order, so the result
does not depend on the thread count (``n_threads`` only sets how rows are
dealt out to chunks, each with its own scratch). Scratch per chunk is
O(n_targets + k): a co-rating count, a list of touched targets, one row of
accumulators per target (interleaved so a pair update touches one cache
line), and a k-heap; the symmetric top-k adds O(n k) candidate buffers.
"""
import numba
import numpy as np

from .._config import NUMBA_JIT, NUMBA_PARALLEL_JIT, SIMILARITY_KINDS
from .._config import SIMILARITY_VARIANCE_FLOOR as VARIANCE_FLOOR

PEARSON = SIMILARITY_KINDS["pearson"]
PEARSON_BASELINE = SIMILARITY_KINDS["pearson_baseline"]
COSINE = SIMILARITY_KINDS["cosine"]
COSINE_ALL = SIMILARITY_KINDS["cosine_all"]
ADJUSTED_COSINE = SIMILARITY_KINDS["adjusted_cosine"]
MSD = SIMILARITY_KINDS["msd"]
JACCARD = SIMILARITY_KINDS["jaccard"]
N_ACC = 5  # Sx, Sy, Sxx, Syy, Sxy (msd keeps its squared differences in slot 0)
CHUNKS_PER_THREAD = 4


@numba.njit(**NUMBA_JIT)
def _accumulate(kind, q, q_indptr, q_indices, q_data, t_indptr, t_indices, t_data, t_after,
                count, touched, acc):
    """Co-rated sums of query row ``q`` against the targets; returns #touched.

    With ``t_after`` (the position of each query entry in the transposed
    matrix, self-similarity only) only targets after ``q`` are visited: each
    unordered pair is computed once, by its lower row. Otherwise (an empty
    ``t_after``) every target is. ``t_data`` may be float32 (when exact, see
    ``similarity.narrowed``); each value is widened before any arithmetic.
    """
    n_touched = 0
    upper = t_after.shape[0] > 0
    # Unsigned positions let Numba drop negative-index wraparound checks; the
    # checked wrapper has validated every index.
    for a in range(np.uint64(q_indptr[q]), np.uint64(q_indptr[q + 1])):
        c = np.uint64(q_indices[a])
        x = q_data[a]
        start, stop = np.uint64(t_indptr[c]), np.uint64(t_indptr[c + 1])
        if upper:
            start = np.uint64(t_after[a]) + np.uint64(1)
        if kind == PEARSON:
            xx = x * x
            for b in range(start, stop):
                j = np.uint64(t_indices[b])
                y = np.float64(t_data[b])
                if count[j] == 0:
                    touched[n_touched] = j
                    n_touched += 1
                count[j] += 1
                acc[j, 0] += x
                acc[j, 1] += y
                acc[j, 2] += xx
                acc[j, 3] += y * y
                acc[j, 4] += x * y
        elif kind == PEARSON_BASELINE or kind == COSINE:
            xx = x * x
            for b in range(start, stop):
                j = np.uint64(t_indices[b])
                y = np.float64(t_data[b])
                if count[j] == 0:
                    touched[n_touched] = j
                    n_touched += 1
                count[j] += 1
                acc[j, 2] += xx
                acc[j, 3] += y * y
                acc[j, 4] += x * y
        elif kind == MSD:
            for b in range(start, stop):
                j = np.uint64(t_indices[b])
                if count[j] == 0:
                    touched[n_touched] = j
                    n_touched += 1
                count[j] += 1
                d = x - np.float64(t_data[b])
                acc[j, 0] += d * d
        elif kind == COSINE_ALL or kind == ADJUSTED_COSINE:
            for b in range(start, stop):
                j = np.uint64(t_indices[b])
                if count[j] == 0:
                    touched[n_touched] = j
                    n_touched += 1
                count[j] += 1
                acc[j, 4] += x * np.float64(t_data[b])
        else:  # JACCARD: only the co-rating count
            for b in range(start, stop):
                j = np.uint64(t_indices[b])
                if count[j] == 0:
                    touched[n_touched] = j
                    n_touched += 1
                count[j] += 1
    return n_touched


@numba.njit(**NUMBA_JIT)
def _finalize(kind, n, acc, j, q_stat, t_stat, min_support, shrinkage, min_sim):
    """``(similarity, is_candidate)`` of one visited pair (the spec's 4 steps)."""
    if n < min_support:
        return 0.0, False
    if kind == PEARSON:
        sx, sy, sxx, syy, sxy = acc[j, 0], acc[j, 1], acc[j, 2], acc[j, 3], acc[j, 4]
        var_x, var_y = n * sxx - sx * sx, n * syy - sy * sy
        # Rounding noise of a row constant over C (decimal ratings are not
        # exact in binary) counts as zero variance, as in the reference.
        var_x = var_x if var_x > VARIANCE_FLOOR * n * sxx else 0.0
        var_y = var_y if var_y > VARIANCE_FLOOR * n * syy else 0.0
        den = var_x * var_y
        sim = (n * sxy - sx * sy) / np.sqrt(den) if den > 0.0 else 0.0
    elif kind == PEARSON_BASELINE or kind == COSINE:
        den = acc[j, 2] * acc[j, 3]
        sim = acc[j, 4] / np.sqrt(den) if den > 0.0 else 0.0
    elif kind == MSD:
        sim = 1.0 / (acc[j, 0] / n + 1.0)
    elif kind == COSINE_ALL or kind == ADJUSTED_COSINE:
        den = q_stat * t_stat
        sim = acc[j, 4] / den if den > 0.0 else 0.0
    else:
        sim = n / (q_stat + t_stat - n)
    if shrinkage > 0.0:
        sim *= (n - 1.0) / (n - 1.0 + shrinkage)
    if sim < min_sim:
        return 0.0, False
    return sim, True


@numba.njit(**NUMBA_JIT)
def _clear(acc, j):
    for s in range(N_ACC):
        acc[j, s] = 0.0


@numba.njit(**NUMBA_JIT)
def _worse(v1, i1, v2, i2):
    """Is (v1, i1) ranked below (v2, i2)? Lower value, or equal value and higher index."""
    return v1 < v2 or (v1 == v2 and i1 > i2)


# The heaps below are row ``r`` of 2-d (rows, k) arrays: passing the 2-d
# arrays and a row index avoids building an array view per call, which cost
# more than the heap operation itself in this hot path.
@numba.njit(**NUMBA_JIT)
def _sift_down(hv, hi, r, pos, size):
    while True:
        child = 2 * pos + 1
        if child >= size:
            return
        if child + 1 < size and _worse(hv[r, child + 1], hi[r, child + 1], hv[r, child],
                                       hi[r, child]):
            child += 1
        if not _worse(hv[r, child], hi[r, child], hv[r, pos], hi[r, pos]):
            return
        hv[r, pos], hv[r, child] = hv[r, child], hv[r, pos]
        hi[r, pos], hi[r, child] = hi[r, child], hi[r, pos]
        pos = child


@numba.njit(**NUMBA_JIT)
def heap_push(hv, hi, r, size, v, j):
    """Offer (v, j) to row r's min-heap (top = worst kept, capacity k); returns the size."""
    k = hv.shape[1]
    if size < k:
        pos = size
        hv[r, pos], hi[r, pos] = v, j
        while pos > 0:
            parent = (pos - 1) // 2
            if not _worse(hv[r, pos], hi[r, pos], hv[r, parent], hi[r, parent]):
                break
            hv[r, pos], hv[r, parent] = hv[r, parent], hv[r, pos]
            hi[r, pos], hi[r, parent] = hi[r, parent], hi[r, pos]
            pos = parent
        return size + 1
    if _worse(hv[r, 0], hi[r, 0], v, j):
        hv[r, 0], hi[r, 0] = v, j
        _sift_down(hv, hi, r, 0, size)
    return size


@numba.njit(**NUMBA_JIT)
def heap_drain(hv, hi, r, size, out_idx, out_val, out_row):
    """Write row r's heap best first into out_idx/out_val[out_row, :size] (heap-sort)."""
    for last in range(size - 1, -1, -1):
        out_idx[out_row, last] = hi[r, 0]
        out_val[out_row, last] = hv[r, 0]
        hv[r, 0], hi[r, 0] = hv[r, last], hi[r, last]
        _sift_down(hv, hi, r, 0, last)


@numba.njit(**NUMBA_PARALLEL_JIT)
def similarity_dense(kind, q_indptr, q_indices, q_data, q_stat, q_self, t_indptr, t_indices,
                     t_data, t_stat, t_after, min_support, shrinkage, min_sim, out, n_threads):
    n_q, n_t = q_indptr.shape[0] - 1, t_stat.shape[0]
    upper = t_after.shape[0] > 0
    n_chunks = min(n_q, CHUNKS_PER_THREAD * n_threads)
    for chunk in numba.prange(n_chunks):
        count = np.zeros(n_t, dtype=np.int64)
        touched = np.empty(n_t, dtype=np.int64)
        acc = np.zeros((n_t, N_ACC))
        for q in range(chunk, n_q, n_chunks):  # interleaved rows balance the load
            n_touched = _accumulate(kind, q, q_indptr, q_indices, q_data, t_indptr, t_indices,
                                    t_data, t_after, count, touched, acc)
            for t in range(n_touched):
                j = touched[t]
                sim, _ = _finalize(kind, count[j], acc, j, q_stat[q], t_stat[j], min_support,
                                   shrinkage, min_sim)
                out[q, j] = sim
                if upper:
                    out[j, q] = sim
                count[j] = 0
                _clear(acc, j)
            if q_self[q] >= 0:
                out[q, q_self[q]] = 1.0


@numba.njit(**NUMBA_JIT)
def similarity_topk(kind, q_indptr, q_indices, q_data, q_stat, q_self, t_indptr, t_indices,
                    t_data, t_stat, t_after, min_support, shrinkage, min_sim, top_idx, top_val,
                    top_cnt, n_threads):
    """Top-k of every query row; symmetric (each pair once) when ``t_after`` is given."""
    if t_after.shape[0] > 0:
        _topk_symmetric(kind, q_indptr, q_indices, q_data, q_stat, t_indptr, t_indices,
                        t_data, t_stat, t_after, min_support, shrinkage, min_sim, top_idx,
                        top_val, top_cnt, n_threads)
    else:
        _topk_rows(kind, q_indptr, q_indices, q_data, q_stat, q_self, t_indptr, t_indices,
                   t_data, t_stat, t_after, min_support, shrinkage, min_sim, top_idx, top_val,
                   top_cnt, n_threads)


@numba.njit(**NUMBA_PARALLEL_JIT)
def _topk_rows(kind, q_indptr, q_indices, q_data, q_stat, q_self, t_indptr, t_indices, t_data,
               t_stat, t_after, min_support, shrinkage, min_sim, top_idx, top_val, top_cnt,
               n_threads):
    n_q, n_t = q_indptr.shape[0] - 1, t_stat.shape[0]
    k = top_idx.shape[1]
    n_chunks = min(n_q, CHUNKS_PER_THREAD * n_threads)
    for chunk in numba.prange(n_chunks):
        count = np.zeros(n_t, dtype=np.int64)
        touched = np.empty(n_t, dtype=np.int64)
        acc = np.zeros((n_t, N_ACC))
        hv = np.empty((1, k))
        hi = np.empty((1, k), dtype=np.int64)
        for q in range(chunk, n_q, n_chunks):
            n_touched = _accumulate(kind, q, q_indptr, q_indices, q_data, t_indptr, t_indices,
                                    t_data, t_after, count, touched, acc)
            size = 0
            for t in range(n_touched):
                j = touched[t]
                sim, candidate = _finalize(kind, count[j], acc, j, q_stat[q], t_stat[j],
                                           min_support, shrinkage, min_sim)
                count[j] = 0
                _clear(acc, j)
                if candidate and j != q_self[q]:
                    size = heap_push(hv, hi, 0, size, sim, j)
            heap_drain(hv, hi, 0, size, top_idx, top_val, q)
            top_cnt[q] = size


@numba.njit(**NUMBA_JIT)
def _offer(bv, bi, bs, floor, row, v, j, hv, hi):
    """Append candidate (v, j) to row's buffer; a full buffer is cut to its best k."""
    k = hv.shape[1]
    fill = bs[row]
    bv[row, fill] = v
    bi[row, fill] = j
    fill += 1
    if fill == bv.shape[1]:
        kept = 0
        for e in range(fill):
            kept = heap_push(hv, hi, 0, kept, bv[row, e], bi[row, e])
        heap_drain(hv, hi, 0, kept, bi, bv, row)
        fill = kept
        floor[row] = bv[row, k - 1]
    bs[row] = fill


@numba.njit(**NUMBA_PARALLEL_JIT)
def _topk_symmetric(kind, indptr, indices, data, stat, t_indptr, t_indices, t_data, t_stat,
                    t_after, min_support, shrinkage, min_sim, top_idx, top_val, top_cnt,
                    n_threads):
    """Self-similarity top-k computing each unordered pair once.

    Thread-chunk ``c`` owns rows ``c, c + n_chunks, ...`` and a candidate
    buffer per row (up to 2k entries at or above the row's floor, its k-th
    best so far; cut back to the best k when full). A pair (q, j), j > q, is
    offered to row q through a small hot k-heap, emptied into q's buffer when
    q is done, and straight to row j's buffer. At the end the chunks' buffers
    are merged row by row. The top-k of a row under the strict order
    (similarity desc, index asc) is the top-k of the union of all offers, so
    the result does not depend on the number of chunks (threads).
    """
    n = indptr.shape[0] - 1
    k = top_idx.shape[1]
    n_chunks = max(1, min(n, n_threads))
    buf_val = np.empty((n_chunks, n, 2 * k))
    buf_idx = np.empty((n_chunks, n, 2 * k), dtype=np.int64)
    buf_size = np.zeros((n_chunks, n), dtype=np.int64)
    for chunk in numba.prange(n_chunks):
        count = np.zeros(n, dtype=np.int64)
        touched = np.empty(n, dtype=np.int64)
        acc = np.zeros((n, N_ACC))
        bv, bi, bs = buf_val[chunk], buf_idx[chunk], buf_size[chunk]  # one view per chunk
        floor = np.full(n, -np.inf)
        hv = np.empty((1, k))  # row q's own heap
        hi = np.empty((1, k), dtype=np.int64)
        hv2 = np.empty((1, k))  # scratch of buffer cuts
        hi2 = np.empty((1, k), dtype=np.int64)
        for q in range(chunk, n, n_chunks):
            n_touched = _accumulate(kind, q, indptr, indices, data, t_indptr, t_indices, t_data,
                                    t_after, count, touched, acc)
            size = 0
            for t in range(n_touched):
                j = touched[t]
                sim, candidate = _finalize(kind, count[j], acc, j, stat[q], t_stat[j],
                                           min_support, shrinkage, min_sim)
                count[j] = 0
                _clear(acc, j)
                if not candidate:
                    continue
                if size < k or _worse(hv[0, 0], hi[0, 0], sim, j):
                    size = heap_push(hv, hi, 0, size, sim, j)
                if sim >= floor[j]:
                    _offer(bv, bi, bs, floor, j, sim, q, hv2, hi2)
            for e in range(size):
                if hv[0, e] >= floor[q]:
                    _offer(bv, bi, bs, floor, q, hv[0, e], hi[0, e], hv2, hi2)
    for row in numba.prange(n):
        hv = np.empty((1, k))
        hi = np.empty((1, k), dtype=np.int64)
        size = 0
        for chunk in range(n_chunks):
            for e in range(buf_size[chunk, row]):
                size = heap_push(hv, hi, 0, size, buf_val[chunk, row, e], buf_idx[chunk, row, e])
        heap_drain(hv, hi, 0, size, top_idx, top_val, row)
        top_cnt[row] = size
