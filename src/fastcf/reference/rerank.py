"""Reference twins of the re-ranking kernels: the naive greedy selections.

MMR recomputes every candidate's largest similarity to the picked items from
scratch at each step; DPP recomputes every candidate's log-determinant with
``numpy.linalg.slogdet`` at each step (the window variant over the last
``window - 1`` picks). Same arguments and rules as ``kernels.rerank_nb``
(ties: the earlier candidate column; see ``kernels.rerank``).
"""

import math

import numpy as np


def _top_by_score(cand, scores, picked, count):
    """The ``count`` unpicked valid columns by score descending, earlier column first on ties."""
    order = sorted((col for col in range(len(cand)) if cand[col] >= 0 and col not in picked),
                   key=lambda col: (-float(scores[col]), col))
    return order[:count]


def _argmax(values):
    """Column of the largest value in ``values`` (a dict column -> value), earliest on ties."""
    best, best_col = -math.inf, -1
    for col in sorted(values):
        if best_col < 0 or values[col] > best:
            best, best_col = values[col], col
    return best_col


def _mmr(candidates, scores, similarity_of, n, lambda_, out):
    """The MMR loop; ``similarity_of(i, j)``: the similarity of item ``i`` to picked item ``j``."""
    out[:] = -1
    for row in range(candidates.shape[0]):
        cand, row_scores = candidates[row], scores[row]
        picked = []
        n_valid = int(np.count_nonzero(cand >= 0))
        for step in range(min(n, n_valid)):
            if step == 0:
                col = _top_by_score(cand, row_scores, picked, 1)[0]
            else:
                objective = {}
                for i in range(len(cand)):
                    if cand[i] < 0 or i in picked:
                        continue
                    max_sim = max(similarity_of(int(cand[i]), int(cand[j])) for j in picked)
                    objective[i] = lambda_ * float(row_scores[i]) - (1.0 - lambda_) * max_sim
                col = _argmax(objective)
            picked.append(col)
            out[row, step] = cand[col]


def mmr_dense(candidates, scores, similarity, n, lambda_, out):
    """MMR with ``sim(i, j) = similarity[j, i]``."""
    _mmr(candidates, scores, lambda i, j: float(similarity[j, i]), n, lambda_, out)


def mmr_csr(candidates, scores, indptr, indices, data, n, lambda_, out):
    """MMR with ``sim(i, j)`` = entry ``(j, i)`` of the CSR matrix, 0 when absent."""
    def similarity_of(i, j):
        row = dict(zip(indices[indptr[j]:indptr[j + 1]].tolist(),
                       data[indptr[j]:indptr[j + 1]].tolist()))
        return float(row.get(i, 0.0))

    _mmr(candidates, scores, similarity_of, n, lambda_, out)


def mmr_vectors(candidates, scores, vectors, n, lambda_, out):
    """MMR with ``sim(i, j) = vectors[i] . vectors[j]`` in float64."""
    def similarity_of(i, j):
        return float(np.dot(vectors[i].astype(np.float64), vectors[j].astype(np.float64)))

    _mmr(candidates, scores, similarity_of, n, lambda_, out)


def cosine_block(vectors, items):
    """Cosine similarities of ``items`` in float64, diagonal exactly 1 (0 for a zero vector)."""
    x = vectors[items].astype(np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))
    x = np.divide(x, norms[:, None], out=np.zeros_like(x), where=norms[:, None] > 0)
    block = x @ x.T
    np.fill_diagonal(block, (norms > 0).astype(np.float64))
    return block


def _log_det(matrix):
    """log det of a PSD matrix, -inf when it is not positive definite (an empty one: 0)."""
    if matrix.shape[0] == 0:
        return 0.0
    sign, value = np.linalg.slogdet(matrix)
    return float(value) if sign > 0 else -math.inf


def dpp(candidates, scores, vectors, n, theta, window, epsilon, out):
    """Greedy DPP MAP by brute force: at each step, for every unpicked candidate ``i``,
    ``d_i^2 = det(S_{W+i}) / det(S_W)`` from two slogdets (``W``: every pick, or the
    last ``window - 1`` when ``window > 0``), gain ``theta * s_i + (1 - theta) * log d_i^2``
    over those with ``d_i^2 >= epsilon``; none left (or ``theta == 1``): the rest by score."""
    out[:] = -1
    for row in range(candidates.shape[0]):
        cand, row_scores = candidates[row], scores[row]
        valid = [col for col in range(len(cand)) if cand[col] >= 0]
        count = min(n, len(valid))
        sim = np.zeros((len(cand), len(cand)))
        if valid:
            sim[np.ix_(valid, valid)] = cosine_block(vectors, cand[valid])
        picked = []
        while len(picked) < count and theta < 1.0:
            window_cols = picked if window == 0 else picked[max(0, len(picked) - window + 1):]
            base = _log_det(sim[np.ix_(window_cols, window_cols)])
            gains = {}
            for i in valid:
                if i in picked:
                    continue
                cols = window_cols + [i]
                d2 = math.exp(_log_det(sim[np.ix_(cols, cols)]) - base)
                if d2 >= epsilon:
                    gains[i] = theta * float(row_scores[i]) + (1.0 - theta) * math.log(d2)
            if not gains:
                break
            picked.append(_argmax(gains))
        picked += _top_by_score(cand, row_scores, picked, count - len(picked))
        for step, col in enumerate(picked):
            out[row, step] = cand[col]
