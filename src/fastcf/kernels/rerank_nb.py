"""Numba kernels: greedy MMR and DPP re-ranking of candidate lists (see ``kernels.rerank``).

Users go in chunks of ``CHUNK`` rows, one ``prange`` iteration each (handed
out one at a time by the wrapper, so a thread the OS slows down takes fewer);
a chunk allocates its scratch once and writes only its users' output rows.

Per row, a ``picked`` flag marks the candidates already chosen and the
padding (-1), so every scan skips both with one test. MMR keeps each
candidate's largest similarity to the picked items and updates it with the
new pick's similarities only (O(M) look-ups per step; a CSR row is scattered
into a dense per-thread buffer first). DPP is Chen, Zhang &
Zhou's Algorithm 1 on the cosine matrix: each pick appends one row to the
candidates' Cholesky columns ``cis`` and lowers their pivots ``d2``; with a
window, Algorithm 2 rotates the oldest pick out (Givens rotations on ``v``
and ``cis``) and gives its share of ``d2`` back.
"""

import math

import numba
import numpy as np

from .._config import NUMBA_JIT, NUMBA_PARALLEL_JIT

#: Users per prange iteration (one scratch allocation each).
CHUNK = 64


@numba.njit(**NUMBA_JIT)
def _start_row(cand, picked, dest):
    """Mark the padding as picked, clear the output row; the number of valid candidates."""
    n_valid = 0
    for col in range(cand.shape[0]):
        picked[col] = cand[col] < 0
        n_valid += cand[col] >= 0
    dest[:] = -1
    return n_valid


@numba.njit(**NUMBA_JIT)
def _best_score(scores, picked):
    """The unpicked column of the highest score (the earliest on ties)."""
    best_col = -1
    best = 0.0
    for col in range(scores.shape[0]):
        if picked[col]:
            continue
        value = np.float64(scores[col])
        if best_col < 0 or value > best:
            best, best_col = value, col
    return best_col


@numba.njit(**NUMBA_JIT)
def _fill_by_score(cand, scores, picked, dest, start, count):
    """Slots ``start .. count - 1`` of ``dest``: the unpicked candidates by score."""
    for step in range(start, count):
        col = _best_score(scores, picked)
        picked[col] = True
        dest[step] = cand[col]


@numba.njit(**NUMBA_JIT)
def _mmr_start(cand, scores, lambda_, dest, picked, base):
    """Clear the row, pick its best score; ``base``: ``lambda_ * score`` of the
    candidates left, -inf for the pick and the padding. Returns (count, first pick)."""
    count = min(dest.shape[0], _start_row(cand, picked, dest))
    if count == 0:
        return 0, -1
    col = _best_score(scores, picked)
    dest[0] = cand[col]
    for i in range(cand.shape[0]):
        base[i] = -np.inf if picked[i] else lambda_ * np.float64(scores[i])
    base[col] = -np.inf
    return count, col


@numba.njit(**NUMBA_JIT)
def _mmr_step(base, sim_row, max_sim, weight, first):
    """Fold the last pick's similarities ``sim_row`` into ``max_sim`` and return the
    column of the largest objective ``base - weight * max_sim`` (the earliest on ties).

    One pass does both; columns with ``base == -inf`` (picked, padding) never win
    and their ``max_sim`` is never read."""
    best_col = -1
    best = -np.inf
    for i in range(base.shape[0]):
        value = sim_row[i]
        if not first and max_sim[i] > value:
            value = max_sim[i]
        max_sim[i] = value
        objective = base[i] - weight * value
        if objective > best:
            best, best_col = objective, i
    return best_col


@numba.njit(**NUMBA_PARALLEL_JIT)
def mmr_dense(candidates, scores, similarity, n, lambda_, out):
    """MMR with ``sim(i, j) = similarity[j, i]``."""
    n_users, m = candidates.shape
    weight = 1.0 - lambda_
    for chunk in numba.prange((n_users + CHUNK - 1) // CHUNK):
        picked = np.empty(m, dtype=np.bool_)
        base = np.empty(m, dtype=np.float64)
        max_sim = np.empty(m, dtype=np.float64)
        sim_row = np.empty(m, dtype=np.float64)
        for row in range(chunk * CHUNK, min(n_users, (chunk + 1) * CHUNK)):
            count, col = _mmr_start(candidates[row], scores[row], lambda_, out[row], picked,
                                    base)
            for step in range(1, count):
                j = candidates[row, col]
                for i in range(m):
                    sim_row[i] = similarity[j, max(candidates[row, i], 0)]
                col = _mmr_step(base, sim_row, max_sim, weight, step == 1)
                base[col] = -np.inf
                out[row, step] = candidates[row, col]


#: prange parts of the CSR kernel: each zeroes its own n_items buffer once, so
#: they are few, but several per thread still balance the load.
CSR_PARTS = 16


@numba.njit(**NUMBA_PARALLEL_JIT)
def mmr_csr(candidates, scores, indptr, indices, data, n, lambda_, out):
    """MMR with ``sim(i, j)`` = CSR entry ``(j, i)``.

    A pick's row is scattered into a dense n_items buffer of the part's own,
    the candidates read from it, and the row's entries zeroed again: O(nnz of
    the row + M) per pick. (A binary search per candidate in the row was 12-14x
    slower with 20-100 entries a row, 4x with 1000: 60k users top-100 -> 10.)"""
    n_users, m = candidates.shape
    n_items = indptr.shape[0] - 1
    weight = 1.0 - lambda_
    n_parts = min(n_users, CSR_PARTS)
    for part in numba.prange(n_parts):
        picked = np.empty(m, dtype=np.bool_)
        base = np.empty(m, dtype=np.float64)
        max_sim = np.empty(m, dtype=np.float64)
        sim_row = np.empty(m, dtype=np.float64)
        dense = np.zeros(n_items, dtype=np.float64)
        for row in range(part * n_users // n_parts, (part + 1) * n_users // n_parts):
            count, col = _mmr_start(candidates[row], scores[row], lambda_, out[row], picked,
                                    base)
            for step in range(1, count):
                j = candidates[row, col]
                for p in range(indptr[j], indptr[j + 1]):
                    dense[indices[p]] = data[p]
                for i in range(m):
                    sim_row[i] = dense[max(candidates[row, i], 0)]
                for p in range(indptr[j], indptr[j + 1]):
                    dense[indices[p]] = 0.0
                col = _mmr_step(base, sim_row, max_sim, weight, step == 1)
                base[col] = -np.inf
                out[row, step] = candidates[row, col]


@numba.njit(**NUMBA_JIT)
def _gather_transposed(vectors, cand, columns):
    """``columns[:, i] = vectors[cand[i]]`` in float64 (padding: row 0, never read),
    one dimension at a time over all candidates (contiguous writes)."""
    for t in range(vectors.shape[1]):
        for i in range(cand.shape[0]):
            columns[t, i] = vectors[max(cand[i], 0), t]


@numba.njit(**NUMBA_JIT)
def _similarity_row(columns, j, sim_row):
    """``sim_row[i] = columns[:, i] . columns[:, j]``, summed over the dimensions in
    order for every ``i`` at once (a vectorised multiply-add per dimension)."""
    sim_row[:] = 0.0
    for t in range(columns.shape[0]):
        weight = columns[t, j]
        for i in range(columns.shape[1]):
            sim_row[i] += columns[t, i] * weight


@numba.njit(**NUMBA_PARALLEL_JIT)
def mmr_vectors(candidates, scores, vectors, n, lambda_, out):
    """MMR with ``sim(i, j) = vectors[i] . vectors[j]`` (float64 sums).

    Each row's candidate vectors are gathered once, transposed (d x M), so a
    pick's M dot products are d vectorised multiply-adds over the row."""
    n_users, m = candidates.shape
    weight = 1.0 - lambda_
    for chunk in numba.prange((n_users + CHUNK - 1) // CHUNK):
        picked = np.empty(m, dtype=np.bool_)
        base = np.empty(m, dtype=np.float64)
        max_sim = np.empty(m, dtype=np.float64)
        sim_row = np.empty(m, dtype=np.float64)
        columns = np.empty((vectors.shape[1], m), dtype=np.float64)
        for row in range(chunk * CHUNK, min(n_users, (chunk + 1) * CHUNK)):
            count, col = _mmr_start(candidates[row], scores[row], lambda_, out[row], picked,
                                    base)
            if count > 1:
                _gather_transposed(vectors, candidates[row], columns)
            for step in range(1, count):
                _similarity_row(columns, col, sim_row)
                col = _mmr_step(base, sim_row, max_sim, weight, step == 1)
                base[col] = -np.inf
                out[row, step] = candidates[row, col]


@numba.njit(**NUMBA_JIT)
def _dpp_argmax(scores, d2, picked, theta, epsilon):
    """The unpicked column of the largest DPP gain among ``d2 >= epsilon``; -1 if none."""
    best_col = -1
    best = -np.inf
    for col in range(scores.shape[0]):
        if picked[col] or not d2[col] >= epsilon:
            continue
        value = theta * np.float64(scores[col])
        # d2 <= 1 (a cosine kernel's pivots), so value bounds the gain: skip the log
        # of a candidate that cannot beat the best (equal loses to the earlier column)
        if value <= best and d2[col] <= 1.0:
            continue
        value += (1.0 - theta) * math.log(d2[col])
        if value > best:
            best, best_col = value, col
    return best_col


@numba.njit(**NUMBA_JIT)
def _gather_units(vectors, cand, columns, d2):
    """``columns[:, i]``: candidate ``i``'s vector over its norm (float64); ``d2[i]``:
    its cosine with itself, 1 (0 for a zero vector or padding: never picked).

    ``d2`` holds the scales until the end: the copy then runs one dimension at a
    time over all candidates (contiguous writes)."""
    m = cand.shape[0]
    for i in range(m):
        item = cand[i]
        total = 0.0
        if item >= 0:
            for t in range(vectors.shape[1]):
                total += np.float64(vectors[item, t]) * np.float64(vectors[item, t])
        d2[i] = 1.0 / math.sqrt(total) if total > 0.0 else 0.0
    for t in range(vectors.shape[1]):
        for i in range(m):
            columns[t, i] = np.float64(vectors[max(cand[i], 0), t]) * d2[i]
    for i in range(m):
        d2[i] = 1.0 if d2[i] > 0.0 else 0.0


@numba.njit(**NUMBA_JIT)
def _cholesky_row(sim_row, j, cis, d2, first, k):
    """Algorithm 1's update after picking column ``j`` (``sim_row``: its cosines):
    row ``k`` of ``cis`` from rows ``first .. k - 1`` (the window), ``d2`` lowered by
    its squares; every column is updated (picked ones are never read). Returns d_j."""
    dj = math.sqrt(d2[j])
    e = cis[k]
    e[:] = sim_row
    for t in range(first, k):
        weight = cis[t, j]
        for i in range(e.shape[0]):
            e[i] -= weight * cis[t, i]
    scale = 1.0 / dj
    for i in range(e.shape[0]):
        e[i] *= scale
        d2[i] -= e[i] * e[i]
    return dj


@numba.njit(**NUMBA_JIT)
def _slide_window(v, cis, d2, left, k):
    """Algorithm 2: rotate the oldest window row ``left - 1`` out of rows ``left .. k``
    (Givens rotations on ``v`` and ``cis``) and add its squares back to ``d2``."""
    old = left - 1
    m = cis.shape[1]
    for ind in range(left, k + 1):
        t = math.sqrt(v[ind, ind] * v[ind, ind] + v[ind, old] * v[ind, old])
        c = t / v[ind, ind]
        s = v[ind, old] / v[ind, ind]
        v[ind, ind] = t
        for r in range(ind + 1, k + 1):
            v[r, ind] = (v[r, ind] + s * v[r, old]) / c
            v[r, old] = v[r, old] * c - s * v[r, ind]
        for i in range(m):
            cis[ind, i] = (cis[ind, i] + s * cis[old, i]) / c
            cis[old, i] = cis[old, i] * c - s * cis[ind, i]
    for i in range(m):
        d2[i] += cis[old, i] * cis[old, i]


@numba.njit(**NUMBA_JIT)
def _dpp_row(cand, scores, vectors, theta, window, epsilon, dest, picked, columns, sim_row, d2,
             cis, v):
    count = min(dest.shape[0], _start_row(cand, picked, dest))
    k = 0
    if theta < 1.0 and count > 0:
        _gather_units(vectors, cand, columns, d2)
        left = 0
        while k < count:
            j = _dpp_argmax(scores, d2, picked, theta, epsilon)
            if j < 0:
                break
            picked[j] = True
            dest[k] = cand[j]
            if k + 1 == count:
                k += 1
                break
            _similarity_row(columns, j, sim_row)
            v[k, left:k] = cis[left:k, j]
            v[k, k] = _cholesky_row(sim_row, j, cis, d2, left, k)
            if window > 0 and k + 1 >= window:
                left += 1
                _slide_window(v, cis, d2, left, k)
            k += 1
    _fill_by_score(cand, scores, picked, dest, k, count)


@numba.njit(**NUMBA_PARALLEL_JIT)
def dpp(candidates, scores, vectors, n, theta, window, epsilon, out):
    """Greedy DPP MAP per row (window 0: none); see ``kernels.rerank.dpp``."""
    n_users, m = candidates.shape
    d = vectors.shape[1]
    for chunk in numba.prange((n_users + CHUNK - 1) // CHUNK):
        picked = np.empty(m, dtype=np.bool_)
        columns = np.empty((d, m), dtype=np.float64)
        sim_row = np.empty(m, dtype=np.float64)
        d2 = np.empty(m, dtype=np.float64)
        cis = np.empty((n, m), dtype=np.float64)
        v = np.empty((n, n), dtype=np.float64)
        for row in range(chunk * CHUNK, min(n_users, (chunk + 1) * CHUNK)):
            _dpp_row(candidates[row], scores[row], vectors, theta, window, epsilon, out[row],
                     picked, columns, sim_row, d2, cis, v)


#: Row ranges the validation splits the users into (each marks items in its own
#: n_items flags, so the flags cost this many times n_items bytes).
CHECK_PARTS = 64


@numba.njit(**NUMBA_PARALLEL_JIT)
def first_invalid_row(candidates, scores, n_items):
    """The first row holding a candidate outside ``[-1, n_items)``, an item twice,
    or a non-finite score of a valid candidate; -1 when there is none."""
    n_users, m = candidates.shape
    n_parts = min(n_users, CHECK_PARTS)
    first_bad = np.full(max(n_parts, 1), n_users, dtype=np.int64)
    for part in numba.prange(n_parts):
        seen = np.zeros(n_items, dtype=np.bool_)
        for row in range(part * n_users // n_parts, (part + 1) * n_users // n_parts):
            valid = True
            marked = 0
            for col in range(m):
                item = candidates[row, col]
                if item < -1 or item >= n_items:
                    valid = False
                    break
                if item >= 0:
                    value = scores[row, col]
                    if seen[item] or not (value - value == 0.0):  # NaN or inf
                        valid = False
                        break
                    seen[item] = True
                    marked = col + 1
            for col in range(marked):
                if candidates[row, col] >= 0:
                    seen[candidates[row, col]] = False
            if not valid:
                first_bad[part] = row
                break
    row = first_bad.min()
    return -1 if row == n_users else row
