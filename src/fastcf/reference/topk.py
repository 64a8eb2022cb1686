"""Reference twin of the row-wise top-k kernel: list, sort, take k."""

import math


def topk(scores, k, ex_indptr, ex_indices, out_idx, out_val, nan_count):
    """Same contract as ``kernels.topk_nb.topk`` (see ``kernels.topk``).

    For each row: count the NaN (excluded cells too), keep every entry that is
    neither excluded, NaN nor -inf, sort by (value descending, column
    ascending), take ``k``; missing slots are index -1 and value NaN.
    """
    n_rows, n_cols = scores.shape
    for row in range(n_rows):
        excluded = {int(c) for c in ex_indices[ex_indptr[row]:ex_indptr[row + 1]]}
        valid = []
        n_nan = 0
        for col in range(n_cols):
            value = float(scores[row, col])
            if math.isnan(value):
                n_nan += 1
            elif col not in excluded and value != -math.inf:
                valid.append((value, col))
        valid.sort(key=lambda entry: (-entry[0], entry[1]))
        for slot in range(k):
            if slot < len(valid):
                out_val[row, slot], out_idx[row, slot] = valid[slot]
            else:
                out_val[row, slot], out_idx[row, slot] = math.nan, -1
        nan_count[row] = n_nan


def factor_topk(query, items, user_offset, item_offset, k, ex_indptr, ex_indices, out_idx,
                out_val, nan_count, scratch):
    """Same contract as ``kernels.topk_nb.factor_topk``: the dense score matrix
    ``query @ items.T + (user_offset[:, None] + item_offset)`` in the factors'
    dtype (``scratch`` unused), ranked by :func:`topk`."""
    scores = query @ items.T
    scores += user_offset[:, None] + item_offset[None, :]
    topk(scores, k, ex_indptr, ex_indices, out_idx, out_val, nan_count)
