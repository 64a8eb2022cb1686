"""Numba kernels of Slope One (see ``kernels.slope_one`` for the contracts).

Every item row (fit), item's pairs (predict) or user row (scores) is computed
by one thread in one fixed order, so the results do not depend on the thread
count. The fit computes the upper triangle (items j >= i: half the work, as
dev(j, i) == -dev(i, j)) and mirrors it in one serial O(pairs) pass. Rows are
dealt to ``CHUNKS_PER_THREAD * n_threads`` interleaved chunks (popular items
have long rows: interleaving balances them), each chunk with its own
O(n_items) scratch: a co-rating count, the touched items and a float64
deviation sum per item (the similarity engine's accumulator).
"""

import numba
import numpy as np

from .._config import NUMBA_JIT, NUMBA_PARALLEL_JIT

CHUNKS_PER_THREAD = 4
#: A row whose co-rating bound (the summed lengths of its raters' rows) is at least
#: a 1 / SCAN_FACTOR share of the items it may reach is accumulated without a touched
#: list and read back by a scan of those items: branch-free updates, measured 2x
#: faster on ML-100k (most of its rows touch over half the items). Sparser rows keep
#: the touched list.
SCAN_FACTOR = 4


@numba.njit(**NUMBA_JIT)
def _scan(i, item_indptr, item_users, item_pos, user_indptr):
    """Whether upper row i (items j >= i) is accumulated in scan mode."""
    total = 0
    for a in range(item_indptr[i], item_indptr[i + 1]):
        total += user_indptr[item_users[a] + 1] - item_pos[a]
    return SCAN_FACTOR * total >= item_indptr.shape[0] - 1 - i


@numba.njit(**NUMBA_PARALLEL_JIT)
def slope_one_counts(item_indptr, item_users, item_pos, user_indptr, user_items, out_nnz,
                     n_threads):
    n_items = item_indptr.shape[0] - 1
    n_chunks = min(n_items, CHUNKS_PER_THREAD * n_threads)
    for chunk in numba.prange(n_chunks):
        mark = np.zeros(n_items, dtype=np.uint8)
        touched = np.empty(n_items, dtype=np.int64)
        for i in range(chunk, n_items, n_chunks):
            nt = 0
            # Each rater's items from i on: item_pos[a] is where i sits in the rater's row.
            if _scan(i, item_indptr, item_users, item_pos, user_indptr):
                for a in range(item_indptr[i], item_indptr[i + 1]):
                    for b in range(np.uint64(item_pos[a]),
                                   np.uint64(user_indptr[item_users[a] + 1])):
                        mark[np.uint64(user_items[b])] = 1
                for j in range(i, n_items):
                    nt += mark[j]
                    mark[j] = 0
            else:
                for a in range(item_indptr[i], item_indptr[i + 1]):
                    for b in range(item_pos[a], user_indptr[item_users[a] + 1]):
                        j = user_items[b]
                        if mark[j] == 0:
                            mark[j] = 1
                            touched[nt] = j
                            nt += 1
                for t in range(nt):
                    mark[touched[t]] = 0
            out_nnz[i] = nt


@numba.njit(**NUMBA_PARALLEL_JIT)
def slope_one_fill(item_indptr, item_users, item_values, item_pos, user_indptr, user_items,
                   user_values, out_indptr, out_indices, out_freq, out_dev, n_threads):
    n_items = item_indptr.shape[0] - 1
    n_chunks = min(n_items, CHUNKS_PER_THREAD * n_threads)
    for chunk in numba.prange(n_chunks):
        count = np.zeros(n_items, dtype=np.int32)
        touched = np.empty(n_items, dtype=np.int64)
        acc = np.zeros(n_items, dtype=np.float64)
        for i in range(chunk, n_items, n_chunks):
            scan = _scan(i, item_indptr, item_users, item_pos, user_indptr)
            nt = 0
            for a in range(item_indptr[i], item_indptr[i + 1]):
                x = np.float64(item_values[a])
                stop = user_indptr[item_users[a] + 1]
                # Unsigned positions let Numba drop negative-index wraparound checks
                # (every index was validated): 3.9 -> 1.6 s on make_ratings 1M.
                if scan:  # one loop per mode: the hot loop has no branch
                    for b in range(np.uint64(item_pos[a]), np.uint64(stop)):
                        j = np.uint64(user_items[b])
                        count[j] += 1
                        acc[j] += x - np.float64(user_values[b])
                else:
                    for b in range(np.uint64(item_pos[a]), np.uint64(stop)):
                        j = np.uint64(user_items[b])
                        if count[j] == 0:
                            touched[nt] = j
                            nt += 1
                        count[j] += 1
                        acc[j] += x - np.float64(user_values[b])
            e = out_indptr[i]
            if scan:
                for j in range(i, n_items):
                    if count[j] > 0:
                        out_indices[e], out_freq[e], out_dev[e] = j, count[j], acc[j] / count[j]
                        e += 1
                    count[j], acc[j] = 0, 0.0
            else:
                order = np.sort(touched[:nt])
                for t in range(nt):
                    j = order[t]
                    out_indices[e], out_freq[e], out_dev[e] = j, count[j], acc[j] / count[j]
                    e += 1
                    count[j], acc[j] = 0, 0.0


@numba.njit(**NUMBA_JIT)
def slope_one_mirror(up_indptr, up_indices, up_freq, up_dev, indptr, indices, freq, dev,
                     n_threads):
    """One pass in row order: the upper rows land at the end of their full rows, each
    off-diagonal pair (i, j) also at the next free slot of row j, negated: the lower
    parts fill in ascending order."""
    n_items = up_indptr.shape[0] - 1
    cursor = indptr[:-1].copy()
    for i in range(n_items):
        d = indptr[i + 1] - (up_indptr[i + 1] - up_indptr[i])
        for e in range(up_indptr[i], up_indptr[i + 1]):
            j = up_indices[e]
            indices[d], freq[d], dev[d] = j, up_freq[e], up_dev[e]
            d += 1
            if j != i:
                k = cursor[j]
                indices[k], freq[k], dev[k] = i, up_freq[e], -up_dev[e]
                cursor[j] = k + 1


@numba.njit(**NUMBA_PARALLEL_JIT)
def slope_one_predict(dev_indptr, dev_indices, dev, user_indptr, user_items, user_mean, users,
                      items, order, group_start, out, n_threads):
    n_items = dev_indptr.shape[0] - 1
    n_groups = group_start.shape[0] - 1
    n_chunks = min(n_groups, CHUNKS_PER_THREAD * n_threads)
    for chunk in numba.prange(n_chunks):
        # Row i of the deviations spread over the items (0 where absent), and which
        # items it holds: one O(row) scatter serves every pair of item i.
        row = np.zeros(n_items, dtype=np.float64)
        member = np.zeros(n_items, dtype=np.int64)
        for g in range(chunk, n_groups, n_chunks):
            i = items[order[group_start[g]]]
            for e in range(dev_indptr[i], dev_indptr[i + 1]):
                row[dev_indices[e]] = dev[e]
                member[dev_indices[e]] = 1
            for q in range(group_start[g], group_start[g + 1]):
                p = order[q]
                u = users[p]
                total = 0.0
                found = 0
                for b in range(user_indptr[u], user_indptr[u + 1]):
                    j = user_items[b]
                    total += row[j]  # branch-free: absent items add 0 and count 0
                    found += member[j]
                out[p] = user_mean[u] + total / found if found > 0 else user_mean[u]
            for e in range(dev_indptr[i], dev_indptr[i + 1]):
                row[dev_indices[e]] = 0.0
                member[dev_indices[e]] = 0


@numba.njit(**NUMBA_PARALLEL_JIT)
def slope_one_scores(dev_indptr, dev_indices, dev, user_indptr, user_items, user_mean, rows,
                     out, n_threads):
    n_rows, n_items = out.shape
    n_chunks = min(n_rows, CHUNKS_PER_THREAD * n_threads)
    for chunk in numba.prange(n_chunks):
        count = np.zeros(n_items, dtype=np.int64)
        for r in range(chunk, n_rows, n_chunks):
            u = rows[r]
            for i in range(n_items):
                out[r, i] = 0.0
            # dev[i, j] == -dev[j, i] exactly: the user's items' rows, negated, add up
            # each item's prediction (in the order of slope_one_predict's sums).
            for b in range(user_indptr[u], user_indptr[u + 1]):
                j = user_items[b]
                for e in range(dev_indptr[j], dev_indptr[j + 1]):
                    i = dev_indices[e]
                    out[r, i] -= dev[e]
                    count[i] += 1
            mean = user_mean[u]
            for i in range(n_items):
                if count[i] > 0:
                    out[r, i] = mean + out[r, i] / count[i]
                    count[i] = 0
                else:
                    out[r, i] = mean
