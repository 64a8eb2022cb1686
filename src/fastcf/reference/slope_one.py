"""Reference twin of the Slope One kernels: dict loops straight from the definitions.

Same contracts as the functions of ``kernels.slope_one``; every kernel of the
family is held to these.
"""


def _rows(indptr, indices, data, r):
    return [(int(indices[a]), None if data is None else float(data[a]))
            for a in range(int(indptr[r]), int(indptr[r + 1]))]


def _co_rated(i, item_indptr, item_users, item_values, user_indptr, user_items, user_values):
    """{j: (freq, sum of r_ui - r_uj)} over the users of item i, for the items j >= i."""
    pairs = {}
    for u, r_ui in _rows(item_indptr, item_users, item_values, i):
        for j, r_uj in _rows(user_indptr, user_items, user_values, u):
            if j >= i:
                freq, total = pairs.get(j, (0, 0.0))
                pairs[j] = (freq + 1, total + (r_ui - r_uj))
    return pairs


def slope_one_counts(item_indptr, item_users, item_pos, user_indptr, user_items, out_nnz):
    """Number of items j >= i co-rated with each item i (itself included);
    ``item_pos`` (where each rating sits in the by-user arrays) is unused."""
    for i in range(len(item_indptr) - 1):
        co_rated = set()
        for u, _ in _rows(item_indptr, item_users, None, i):
            co_rated.update(j for j, _ in _rows(user_indptr, user_items, None, u) if j >= i)
        out_nnz[i] = len(co_rated)


def slope_one_fill(item_indptr, item_users, item_values, item_pos, user_indptr, user_items,
                   user_values, out_indptr, out_indices, out_freq, out_dev):
    """Each item's co-rated items j >= i (ascending) with their count and mean deviation."""
    for i in range(len(item_indptr) - 1):
        pairs = _co_rated(i, item_indptr, item_users, item_values, user_indptr, user_items,
                          user_values)
        for a, j in enumerate(sorted(pairs), start=int(out_indptr[i])):
            freq, total = pairs[j]
            out_indices[a], out_freq[a], out_dev[a] = j, freq, total / freq


def slope_one_mirror(up_indptr, up_indices, up_freq, up_dev, indptr, indices, freq, dev):
    """The full rows from the upper ones: (j, i) is (i, j) with the deviation negated."""
    n_items = len(up_indptr) - 1
    rows = [dict() for _ in range(n_items)]
    for i in range(n_items):
        for e in range(int(up_indptr[i]), int(up_indptr[i + 1])):
            j = int(up_indices[e])
            rows[i][j] = (int(up_freq[e]), float(up_dev[e]))
            rows[j][i] = (int(up_freq[e]), -float(up_dev[e]))
    for i in range(n_items):
        for a, j in enumerate(sorted(rows[i]), start=int(indptr[i])):
            indices[a], (freq[a], dev[a]) = j, rows[i][j]


def _lookup(indptr, indices, data, i):
    return {j: value for j, value in _rows(indptr, indices, data, i)}


def slope_one_predict(dev_indptr, dev_indices, dev, user_indptr, user_items, user_mean, users,
                      items, order, group_start, out):
    """mu_u plus the mean of dev[i, j] over the user's items j co-rated with i, pair by
    pair (``order`` / ``group_start``, the compiled kernels' grouping by item, unused)."""
    for p in range(len(users)):
        u, i = int(users[p]), int(items[p])
        row = _lookup(dev_indptr, dev_indices, dev, i)
        relevant = [row[j] for j, _ in _rows(user_indptr, user_items, None, u) if j in row]
        out[p] = float(user_mean[u]) + (sum(relevant) / len(relevant) if relevant else 0.0)


def slope_one_scores(dev_indptr, dev_indices, dev, user_indptr, user_items, user_mean, rows,
                     out):
    """Row r of ``out``: the prediction of every item for user ``rows[r]``."""
    n_items = out.shape[1]
    for r in range(len(rows)):
        slope_one_predict(dev_indptr, dev_indices, dev, user_indptr, user_items, user_mean,
                          [int(rows[r])] * n_items, range(n_items), None, None, out[r])
