"""Cython twin of ``slope_one_nb``: the Slope One deviations, predictions and scores.

One OpenMP thread per item row (fit: its upper triangle), item's pairs
(predict) or user row (scores), handed out dynamically, each thread with its
own O(n_items) scratch; every row or pair is computed in one fixed order, so
the results do not depend on the thread count. The steps are those of the
Numba kernels; the mirror of the upper triangle is one serial pass.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.stdint cimport int32_t, int64_t, uint8_t
from libc.stdlib cimport calloc, free, malloc, qsort

ctypedef fused index_t:
    int32_t
    int64_t

# A row whose co-rating bound is at least a 1 / SCAN_FACTOR share of the items it may
# reach is accumulated without a touched list and read back by a scan (as in Numba).
cdef enum:
    SCAN_FACTOR = 4


cdef int _compare(const void* a, const void* b) noexcept nogil:
    cdef int64_t x = (<const int64_t*>a)[0], y = (<const int64_t*>b)[0]
    return (x > y) - (x < y)


cdef bint _scan(Py_ssize_t i, const int64_t[::1] item_indptr, const int64_t[::1] item_users,
                const int64_t[::1] item_pos, const int64_t[::1] user_indptr) noexcept nogil:
    """Whether upper row i (items j >= i) is accumulated in scan mode."""
    cdef Py_ssize_t a, total = 0
    for a in range(item_indptr[i], item_indptr[i + 1]):
        total = total + user_indptr[item_users[a] + 1] - item_pos[a]
    return SCAN_FACTOR * total >= item_indptr.shape[0] - 1 - i


def slope_one_counts(const int64_t[::1] item_indptr, const int64_t[::1] item_users,
                     const int64_t[::1] item_pos, const int64_t[::1] user_indptr,
                     const int64_t[::1] user_items, int64_t[::1] out_nnz, int n_threads):
    """Same contract as ``kernels.slope_one`` (arrays already checked)."""
    cdef Py_ssize_t n_items = item_indptr.shape[0] - 1, i, t, nt, a, b, j
    cdef uint8_t* mark = NULL
    cdef int64_t* touched = NULL
    cdef int failed = 0
    cdef int* failed_flag = &failed   # written through: a plain assignment would be thread-private
    cdef bint bad = False
    if out_nnz.shape[0] != n_items or item_pos.shape[0] != item_users.shape[0]:
        raise ValueError("out_nnz must have n_items entries, item_pos one per rating.")
    if n_items == 0:
        return
    if n_threads < 1:
        n_threads = 1
    with nogil, parallel(num_threads=n_threads):
        mark = <uint8_t*>calloc(n_items, sizeof(uint8_t))
        touched = <int64_t*>malloc(n_items * sizeof(int64_t))
        bad = mark == NULL or touched == NULL
        if bad:
            failed_flag[0] = 1
        for i in prange(n_items, schedule="dynamic", chunksize=4):
            if bad:
                continue
            nt = 0
            # Each rater's items from i on: item_pos[a] is where i sits in the rater's row.
            if _scan(i, item_indptr, item_users, item_pos, user_indptr):
                for a in range(item_indptr[i], item_indptr[i + 1]):
                    for b in range(item_pos[a], user_indptr[item_users[a] + 1]):
                        mark[user_items[b]] = 1
                for j in range(i, n_items):
                    nt = nt + mark[j]
                    mark[j] = 0
            else:
                for a in range(item_indptr[i], item_indptr[i + 1]):
                    for b in range(item_pos[a], user_indptr[item_users[a] + 1]):
                        j = user_items[b]
                        if mark[j] == 0:
                            mark[j] = 1
                            touched[nt] = j
                            nt = nt + 1
                for t in range(nt):
                    mark[touched[t]] = 0
            out_nnz[i] = nt
        free(mark)
        free(touched)
    if failed:
        raise MemoryError(f"could not allocate the per-thread scratch for n_items == {n_items}.")


def slope_one_fill(const int64_t[::1] item_indptr, const int64_t[::1] item_users,
                   const floating[::1] item_values, const int64_t[::1] item_pos,
                   const int64_t[::1] user_indptr, const int64_t[::1] user_items,
                   const floating[::1] user_values, const index_t[::1] out_indptr,
                   index_t[::1] out_indices, int32_t[::1] out_freq, double[::1] out_dev,
                   int n_threads):
    """Same contract as ``kernels.slope_one`` (arrays already checked)."""
    cdef Py_ssize_t n_items = item_indptr.shape[0] - 1, i, t, nt, a, b, j, e, stop
    cdef double x
    cdef bint scan
    cdef int32_t* count = NULL
    cdef int64_t* touched = NULL
    cdef double* acc = NULL
    cdef int failed = 0
    cdef int* failed_flag = &failed
    cdef bint bad = False
    if out_indptr.shape[0] != n_items + 1:
        raise ValueError("out_indptr must have n_items + 1 entries.")
    if (out_freq.shape[0] != out_indices.shape[0] or out_dev.shape[0] != out_indices.shape[0]
            or out_indptr[n_items] != out_indices.shape[0]):
        raise ValueError("out_indices, out_freq and out_dev must have out_indptr[-1] entries.")
    if (item_users.shape[0] != item_values.shape[0] or item_pos.shape[0] != item_users.shape[0]
            or user_items.shape[0] != user_values.shape[0]):
        raise ValueError("indices and values lengths differ.")
    if n_items == 0:
        return
    if n_threads < 1:
        n_threads = 1
    with nogil, parallel(num_threads=n_threads):
        count = <int32_t*>calloc(n_items, sizeof(int32_t))
        touched = <int64_t*>malloc(n_items * sizeof(int64_t))
        acc = <double*>calloc(n_items, sizeof(double))
        bad = count == NULL or touched == NULL or acc == NULL
        if bad:
            failed_flag[0] = 1
        for i in prange(n_items, schedule="dynamic", chunksize=4):
            if bad:
                continue
            nt = 0
            scan = _scan(i, item_indptr, item_users, item_pos, user_indptr)
            for a in range(item_indptr[i], item_indptr[i + 1]):
                x = item_values[a]
                stop = user_indptr[item_users[a] + 1]
                if scan:  # one loop per mode: the hot loop has no branch
                    for b in range(item_pos[a], stop):
                        j = user_items[b]
                        count[j] = count[j] + 1
                        acc[j] = acc[j] + (x - <double>user_values[b])
                else:
                    for b in range(item_pos[a], stop):
                        j = user_items[b]
                        if count[j] == 0:
                            touched[nt] = j
                            nt = nt + 1
                        count[j] = count[j] + 1
                        acc[j] = acc[j] + (x - <double>user_values[b])
            e = out_indptr[i]
            if scan:
                for j in range(i, n_items):
                    if count[j] > 0:
                        out_indices[e] = <index_t>j
                        out_freq[e] = count[j]
                        out_dev[e] = acc[j] / count[j]
                        e = e + 1
                    count[j] = 0
                    acc[j] = 0.0
            else:
                qsort(touched, nt, sizeof(int64_t), _compare)
                for t in range(nt):
                    j = touched[t]
                    out_indices[e] = <index_t>j
                    out_freq[e] = count[j]
                    out_dev[e] = acc[j] / count[j]
                    e = e + 1
                    count[j] = 0
                    acc[j] = 0.0
        free(count)
        free(touched)
        free(acc)
    if failed:
        raise MemoryError(f"could not allocate the per-thread scratch for n_items == {n_items}.")


def slope_one_mirror(const index_t[::1] up_indptr, const index_t[::1] up_indices,
                     const int32_t[::1] up_freq, const double[::1] up_dev,
                     const index_t[::1] indptr, index_t[::1] indices, int32_t[::1] freq,
                     double[::1] dev, int n_threads):
    """Same contract as ``kernels.slope_one`` (arrays already checked); one serial pass,
    as in the Numba kernel."""
    cdef Py_ssize_t n_items = up_indptr.shape[0] - 1, i, e, j, d, k
    cdef int64_t* cursor
    if indptr.shape[0] != n_items + 1 or indptr[n_items] != indices.shape[0] \
            or freq.shape[0] != indices.shape[0] or dev.shape[0] != indices.shape[0]:
        raise ValueError("the full CSR must have n_items + 1 row pointers and indptr[-1] "
                         "entries.")
    cursor = <int64_t*>malloc((n_items + 1) * sizeof(int64_t))
    if cursor == NULL:
        raise MemoryError(f"could not allocate the cursors for n_items == {n_items}.")
    with nogil:
        for i in range(n_items):
            cursor[i] = indptr[i]
        for i in range(n_items):
            d = indptr[i + 1] - (up_indptr[i + 1] - up_indptr[i])
            for e in range(up_indptr[i], up_indptr[i + 1]):
                j = up_indices[e]
                indices[d] = <index_t>j
                freq[d] = up_freq[e]
                dev[d] = up_dev[e]
                d = d + 1
                if j != i:
                    k = cursor[j]
                    indices[k] = <index_t>i
                    freq[k] = up_freq[e]
                    dev[k] = -up_dev[e]
                    cursor[j] = k + 1
    free(cursor)


def slope_one_predict(const index_t[::1] dev_indptr, const index_t[::1] dev_indices,
                      const double[::1] dev, const int64_t[::1] user_indptr,
                      const int64_t[::1] user_items, const double[::1] user_mean,
                      const int64_t[::1] users, const int64_t[::1] items,
                      const int64_t[::1] order, const int64_t[::1] group_start,
                      double[::1] out, int n_threads):
    """Same contract as ``kernels.slope_one`` (arrays already checked)."""
    cdef Py_ssize_t n_items = dev_indptr.shape[0] - 1, n_groups = group_start.shape[0] - 1
    cdef Py_ssize_t g, i, e, q, p, u, b, j, found
    cdef double total
    cdef double* row = NULL
    cdef int64_t* member = NULL
    cdef int failed = 0
    cdef int* failed_flag = &failed
    cdef bint bad = False
    if items.shape[0] != users.shape[0] or out.shape[0] != users.shape[0] \
            or order.shape[0] != users.shape[0]:
        raise ValueError("users, items, order and out must have the same length.")
    if n_groups < 1:
        return
    if n_threads < 1:
        n_threads = 1
    with nogil, parallel(num_threads=n_threads):
        # Row i of the deviations spread over the items (0 where absent), and which
        # items it holds: one O(row) scatter serves every pair of item i.
        row = <double*>calloc(n_items, sizeof(double))
        member = <int64_t*>calloc(n_items, sizeof(int64_t))
        bad = row == NULL or member == NULL
        if bad:
            failed_flag[0] = 1
        for g in prange(n_groups, schedule="dynamic", chunksize=8):
            if bad:
                continue
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
                    total = total + row[j]  # branch-free: absent items add 0 and count 0
                    found = found + member[j]
                if found > 0:
                    out[p] = user_mean[u] + total / found
                else:
                    out[p] = user_mean[u]
            for e in range(dev_indptr[i], dev_indptr[i + 1]):
                row[dev_indices[e]] = 0.0
                member[dev_indices[e]] = 0
        free(row)
        free(member)
    if failed:
        raise MemoryError(f"could not allocate the per-thread scratch for n_items == {n_items}.")


def slope_one_scores(const index_t[::1] dev_indptr, const index_t[::1] dev_indices,
                     const double[::1] dev, const int64_t[::1] user_indptr,
                     const int64_t[::1] user_items, const double[::1] user_mean,
                     const int64_t[::1] rows, double[:, ::1] out, int n_threads):
    """Same contract as ``kernels.slope_one`` (arrays already checked)."""
    cdef Py_ssize_t n_rows = out.shape[0], n_items = out.shape[1], r, i, b, e, u, j
    cdef double mean
    cdef int64_t* count = NULL
    cdef int failed = 0
    cdef int* failed_flag = &failed
    cdef bint bad = False
    if rows.shape[0] != n_rows or dev_indptr.shape[0] != n_items + 1:
        raise ValueError("out must have shape (len(rows), n_items).")
    if n_rows == 0:
        return
    if n_threads < 1:
        n_threads = 1
    with nogil, parallel(num_threads=n_threads):
        count = <int64_t*>calloc(n_items, sizeof(int64_t))
        bad = count == NULL
        if bad:
            failed_flag[0] = 1
        for r in prange(n_rows, schedule="dynamic", chunksize=4):
            if bad:
                continue
            u = rows[r]
            for i in range(n_items):
                out[r, i] = 0.0
            # dev[i, j] == -dev[j, i] exactly: the user's items' rows, negated, add up
            # each item's prediction (in the order of slope_one_predict's sums).
            for b in range(user_indptr[u], user_indptr[u + 1]):
                j = user_items[b]
                for e in range(dev_indptr[j], dev_indptr[j + 1]):
                    i = dev_indices[e]
                    out[r, i] = out[r, i] - dev[e]
                    count[i] = count[i] + 1
            mean = user_mean[u]
            for i in range(n_items):
                if count[i] > 0:
                    out[r, i] = mean + out[r, i] / count[i]
                    count[i] = 0
                else:
                    out[r, i] = mean
        free(count)
    if failed:
        raise MemoryError(f"could not allocate the per-thread scratch for n_items == {n_items}.")
