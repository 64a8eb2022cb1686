"""Numba kernels: greedy MMR and DPP re-ranking of candidate lists (see ``kernels.rerank``).

Users go in chunks of ``CHUNK`` rows, one ``prange`` iteration each (handed
out one at a time by the wrapper, so a thread the OS slows down takes fewer);
a chunk allocates its scratch once and writes only its users' output rows.

Per row, a ``picked`` flag marks the candidates already chosen and the
padding (-1), so every scan skips both with one test. MMR keeps each
candidate's largest similarity to the picked items and updates it with the
new pick's similarities only (O(M) look-ups per step). DPP is Chen, Zhang &
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
def _mmr_argmax(scores, max_sim, picked, lambda_):
    """The unpicked column of the largest MMR objective (the earliest on ties)."""
    best_col = -1
    best = 0.0
    weight = 1.0 - lambda_
    for col in range(scores.shape[0]):
        if picked[col]:
            continue
        value = lambda_ * np.float64(scores[col]) - weight * max_sim[col]
        if best_col < 0 or value > best:
            best, best_col = value, col
    return best_col


@numba.njit(**NUMBA_JIT)
def _mmr_pick(cand, scores, picked, max_sim, lambda_, dest, step):
    """Pick step ``step`` of an MMR row; returns the picked column."""
    if step == 0:
        col = _best_score(scores, picked)
    else:
        col = _mmr_argmax(scores, max_sim, picked, lambda_)
    picked[col] = True
    dest[step] = cand[col]
    return col


@numba.njit(**NUMBA_JIT)
def _raise_max(max_sim, col, value, first):
    if first or value > max_sim[col]:
        max_sim[col] = value


@numba.njit(**NUMBA_PARALLEL_JIT)
def mmr_dense(candidates, scores, similarity, n, lambda_, out):
    """MMR with ``sim(i, j) = similarity[j, i]``."""
    n_users, m = candidates.shape
    for chunk in numba.prange((n_users + CHUNK - 1) // CHUNK):
        picked = np.empty(m, dtype=np.bool_)
        max_sim = np.empty(m, dtype=np.float64)
        for row in range(chunk * CHUNK, min(n_users, (chunk + 1) * CHUNK)):
            cand, row_scores, dest = candidates[row], scores[row], out[row]
            count = min(n, _start_row(cand, picked, dest))
            for step in range(count):
                col = _mmr_pick(cand, row_scores, picked, max_sim, lambda_, dest, step)
                if step + 1 == count:
                    break
                sim_row = similarity[cand[col]]
                for i in range(m):
                    if not picked[i]:
                        _raise_max(max_sim, i, np.float64(sim_row[cand[i]]), step == 0)


@numba.njit(**NUMBA_JIT)
def _csr_lookup(indices, data, lo, hi, item):
    """Entry ``item`` of the CSR row ``indices[lo:hi]`` (ascending), 0 when absent."""
    end = hi
    while lo < hi:
        mid = (lo + hi) >> 1
        if indices[mid] < item:
            lo = mid + 1
        else:
            hi = mid
    if lo < end and indices[lo] == item:
        return np.float64(data[lo])
    return 0.0


@numba.njit(**NUMBA_PARALLEL_JIT)
def mmr_csr(candidates, scores, indptr, indices, data, n, lambda_, out):
    """MMR with ``sim(i, j)`` = CSR entry ``(j, i)``, by binary search in row ``j``."""
    n_users, m = candidates.shape
    for chunk in numba.prange((n_users + CHUNK - 1) // CHUNK):
        picked = np.empty(m, dtype=np.bool_)
        max_sim = np.empty(m, dtype=np.float64)
        for row in range(chunk * CHUNK, min(n_users, (chunk + 1) * CHUNK)):
            cand, row_scores, dest = candidates[row], scores[row], out[row]
            count = min(n, _start_row(cand, picked, dest))
            for step in range(count):
                col = _mmr_pick(cand, row_scores, picked, max_sim, lambda_, dest, step)
                if step + 1 == count:
                    break
                lo, hi = indptr[cand[col]], indptr[cand[col] + 1]
                for i in range(m):
                    if not picked[i]:
                        _raise_max(max_sim, i, _csr_lookup(indices, data, lo, hi, cand[i]),
                                   step == 0)


@numba.njit(**NUMBA_JIT)
def _dot(a, b):
    total = 0.0
    for t in range(a.shape[0]):
        total += np.float64(a[t]) * np.float64(b[t])
    return total


@numba.njit(**NUMBA_PARALLEL_JIT)
def mmr_vectors(candidates, scores, vectors, n, lambda_, out):
    """MMR with ``sim(i, j) = vectors[i] . vectors[j]`` (float64 sums)."""
    n_users, m = candidates.shape
    for chunk in numba.prange((n_users + CHUNK - 1) // CHUNK):
        picked = np.empty(m, dtype=np.bool_)
        max_sim = np.empty(m, dtype=np.float64)
        for row in range(chunk * CHUNK, min(n_users, (chunk + 1) * CHUNK)):
            cand, row_scores, dest = candidates[row], scores[row], out[row]
            count = min(n, _start_row(cand, picked, dest))
            for step in range(count):
                col = _mmr_pick(cand, row_scores, picked, max_sim, lambda_, dest, step)
                if step + 1 == count:
                    break
                chosen = vectors[cand[col]]
                for i in range(m):
                    if not picked[i]:
                        _raise_max(max_sim, i, _dot(vectors[cand[i]], chosen), step == 0)


@numba.njit(**NUMBA_JIT)
def _dpp_argmax(scores, d2, picked, theta, epsilon):
    """The unpicked column of the largest DPP gain among ``d2 >= epsilon``; -1 if none."""
    best_col = -1
    best = 0.0
    for col in range(scores.shape[0]):
        if picked[col] or not d2[col] >= epsilon:
            continue
        value = theta * np.float64(scores[col]) + (1.0 - theta) * math.log(d2[col])
        if best_col < 0 or value > best:
            best, best_col = value, col
    return best_col


@numba.njit(**NUMBA_JIT)
def _unit_rows(vectors, cand, picked, units, d2):
    """``units[i]``: candidate ``i``'s vector over its norm (float64, zeros for a zero
    vector or padding); ``d2[i]``: its cosine with itself, 1 (0 for those)."""
    d = vectors.shape[1]
    for i in range(cand.shape[0]):
        d2[i] = 0.0
        units[i, :] = 0.0
        if picked[i]:
            continue
        row = vectors[cand[i]]
        norm = math.sqrt(_dot(row, row))
        if norm > 0.0:
            for t in range(d):
                units[i, t] = np.float64(row[t]) / norm
            d2[i] = 1.0


@numba.njit(**NUMBA_JIT)
def _cholesky_row(units, picked, j, cis, d2, first, k):
    """Algorithm 1's update after picking column ``j``: row ``k`` of ``cis`` from rows
    ``first .. k - 1`` (the window), ``d2`` lowered by its squares."""
    m = units.shape[0]
    dj = math.sqrt(d2[j])
    chosen = units[j]
    for i in range(m):
        if picked[i] and i != j:
            cis[k, i] = 0.0
            continue
        value = _dot(units[i], chosen)
        for t in range(first, k):
            value -= cis[t, j] * cis[t, i]
        e = value / dj
        cis[k, i] = e
        d2[i] -= e * e
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
def _dpp_row(cand, scores, vectors, n, theta, window, epsilon, dest, picked, units, d2, cis, v):
    count = min(n, _start_row(cand, picked, dest))
    k = 0
    if theta < 1.0:
        _unit_rows(vectors, cand, picked, units, d2)
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
            v[k, left:k] = cis[left:k, j]
            v[k, k] = _cholesky_row(units, picked, j, cis, d2, left, k)
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
        units = np.empty((m, d), dtype=np.float64)
        d2 = np.empty(m, dtype=np.float64)
        cis = np.empty((max(n, 1), m), dtype=np.float64)
        v = np.zeros((max(n, 1), max(n, 1)), dtype=np.float64)
        for row in range(chunk * CHUNK, min(n_users, (chunk + 1) * CHUNK)):
            _dpp_row(candidates[row], scores[row], vectors, n, theta, window, epsilon, out[row],
                     picked, units, d2, cis, v)
