"""Reference twin of the scored top-n kernel: dense scores, sort, take n."""

import math


def scored_topk(w_indptr, w_indices, w_data, m_indptr, m_indices, m_data, n_cols, ex_indptr,
                ex_indices, out_idx, out_val):
    """Same contract as ``kernels.scoring.scored_topk``.

    For each row: every column's score summed straight from the definition
    (sources in row order, each source's columns in stored order), the
    excluded columns dropped, the rest sorted by (score descending, column
    ascending), the first n kept; missing slots are -1 / NaN.
    """
    n_rows, n = out_idx.shape
    for r in range(n_rows):
        scores = [0.0] * n_cols
        for a in range(int(w_indptr[r]), int(w_indptr[r + 1])):
            src, weight = int(w_indices[a]), float(w_data[a])
            for b in range(int(m_indptr[src]), int(m_indptr[src + 1])):
                scores[int(m_indices[b])] += weight * float(m_data[b])
        excluded = {int(c) for c in ex_indices[ex_indptr[r]:ex_indptr[r + 1]]}
        ranked = sorted((c for c in range(n_cols) if c not in excluded),
                        key=lambda c: (-scores[c], c))
        for slot in range(n):
            if slot < len(ranked):
                out_idx[r, slot], out_val[r, slot] = ranked[slot], scores[ranked[slot]]
            else:
                out_idx[r, slot], out_val[r, slot] = -1, math.nan
