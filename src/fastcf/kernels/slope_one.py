r"""Checked Slope One kernels on raw CSR arrays (Lemire & Maclachlan 2005).

For items :math:`i, j`, :math:`U_{ij}` is the set of users who rated both;
its size is the *frequency* and the mean deviation is

.. math:: \mathrm{dev}(i, j) = \frac{1}{|U_{ij}|} \sum_{u \in U_{ij}} (r_{ui} - r_{uj})

(sums in float64). :func:`slope_one_deviations` returns, for every item, the
items co-rated with it (itself included, deviation 0) with both, as a CSR
whose rows are ascending: the co-rating structure is sparse, so the matrix is
never built dense. A prediction for user :math:`u` with rated items
:math:`I(u)` and mean rating :math:`\mu_u` is Surprise's

.. math:: \hat r_{ui} = \mu_u + \frac{1}{|R_i(u)|} \sum_{j \in R_i(u)} \mathrm{dev}(i, j),
   \qquad R_i(u) = \{j \in I(u) : |U_{ij}| > 0\}

(:math:`\mu_u` alone when :math:`R_i(u)` is empty): :func:`slope_one_predict`
for (user, item) pairs, :func:`slope_one_scores` for every item of some users.
Every result is the same for any thread count.
"""

import numpy as np

from .._parallel import resolve_n_threads
from .._validation import check_csr_arrays, format_bytes, memory_limit
from ..reference import slope_one as _reference
from . import _registry, slope_one_nb

COUNTS, FILL, MIRROR, PREDICT, SCORES = (
    "slope_one_counts", "slope_one_fill", "slope_one_mirror", "slope_one_predict",
    "slope_one_scores")
# Cython first: ML-100k u1.base (1650 items, 80k ratings, 1.71M co-rated pairs),
# 1 thread, best of 7 (load ~5 on 2 cores): deviations Cython 47 ms vs Numba 84 ms,
# u1.test predictions 12.4 vs 14.9 ms, recommend top-10 for all users 232 vs 404 ms;
# make_ratings 1M (3,700 items, 13.7M pairs): deviations 1.17 vs 1.59 s (load ~9).
for _family in (COUNTS, FILL, MIRROR, PREDICT, SCORES):
    _registry.register(_family, numba=getattr(slope_one_nb, _family),
                       cython=_registry.cython_kernel("_slope_one", _family),
                       reference=getattr(_reference, _family),
                       auto=("cython", "numba", "reference"))
#: Bytes per stored co-rated pair: index (int32 or int64), frequency (int32), deviation.
_PAIR_BYTES = {np.dtype(np.int32): 4 + 4 + 8, np.dtype(np.int64): 8 + 4 + 8}


def _int64(*arrays):
    return [np.ascontiguousarray(a, dtype=np.int64) for a in arrays]


def _run(family, args, backend, n_threads):
    kernel, name = _registry.get_kernel(family, backend)
    _registry.run(kernel, name, args, resolve_n_threads(n_threads), numba_takes_threads=True)


def _check_rows_ascending(indptr, indices, name):
    """Every row of a CSR strictly ascending (the kernels binary-search them)."""
    if len(indices) < 2:
        return
    rising = np.diff(indices) > 0
    starts = np.asarray(indptr[1:-1])
    starts = starts[(starts > 0) & (starts < len(indices))]
    rising[starts - 1] = True  # a row may start below where the previous one ended
    if not rising.all():
        raise ValueError(f"{name} must be strictly ascending within each row (sorted, "
                         "no repeats).")


def _transpose(indptr, indices, data, n_cols):
    """The by-item CSR of by-user ratings, and where each of its entries sits by user."""
    order = np.argsort(indices, kind="stable")
    rows = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))
    t_indptr = np.zeros(n_cols + 1, dtype=np.int64)
    np.cumsum(np.bincount(indices, minlength=n_cols), out=t_indptr[1:])
    return t_indptr, rows[order], data[order], order


def slope_one_deviations(indptr, indices, data, n_items, *, backend="auto", n_threads=None):
    """Each item's co-rated items with their frequency and mean deviation.

    Parameters
    ----------
    indptr, indices : ndarray of int32 or int64 (one dtype), shapes (n_users + 1,), (nnz,)
        The ratings by user; each row's items strictly ascending.
    data : ndarray of float32 or float64, shape (nnz,)
        Finite ratings.
    n_items : int >= 0
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        The result does not depend on it.

    Returns
    -------
    dev_indptr : ndarray of int32 or int64, shape (n_items + 1,)
        int32 unless the number of pairs needs int64.
    dev_indices : ndarray, dtype of ``dev_indptr``, shape (n_pairs,)
        Row ``i``: the items ``j`` with :math:`|U_{ij}| > 0`, ascending (``i`` among
        them when it has ratings).
    freq : ndarray of int32, shape (n_pairs,)
        :math:`|U_{ij}|`.
    dev : ndarray of float64, shape (n_pairs,)
        :math:`\\mathrm{dev}(i, j)`; ``dev(j, i) == -dev(i, j)`` exactly.

    Raises
    ------
    ValueError
        Bad arrays, or a CSR of the pairs larger than the memory limit
        (:data:`fastcf._config.MEMORY_LIMIT`), refused before it is allocated.
    """
    n_items = int(n_items) if isinstance(n_items, (int, np.integer)) else n_items
    if not isinstance(n_items, int) or n_items < 0:
        raise ValueError(f"n_items == {n_items!r}, must be an int >= 0.")
    indptr, indices, data = check_csr_arrays(indptr, indices, data, n_cols=max(n_items, 1))
    if not np.isfinite(data).all():
        raise ValueError("data contain NaN or inf values, must be finite.")
    _check_rows_ascending(indptr, indices, "indices")
    user_indptr, user_items = _int64(indptr, indices)
    item_indptr, item_users, item_values, item_pos = _transpose(user_indptr, user_items, data,
                                                                n_items)
    return run_slope_one_deviations((item_indptr, item_users, item_values),
                                    (user_indptr, user_items, data), item_pos,
                                    backend=backend, n_threads=n_threads)


def _empty_csr(n_rows, row_nnz, dtype):
    indptr = np.zeros(n_rows + 1, dtype=dtype)
    np.cumsum(row_nnz, out=indptr[1:])
    n = int(indptr[-1])
    return (indptr, np.empty(n, dtype=dtype), np.empty(n, dtype=np.int32),
            np.empty(n, dtype=np.float64))


def run_slope_one_deviations(by_item, by_user, item_pos, *, backend="auto", n_threads=None):
    """:func:`slope_one_deviations` without the checks, from both orientations of the
    ratings (``by_item`` the transpose of ``by_user``, rows ascending, one value dtype)
    and ``item_pos``, the position of each ``by_item`` entry in ``by_user``.

    The kernels compute the upper triangle (items j >= i of row i), then mirror it.
    """
    item_indptr, item_users, item_pos = _int64(*by_item[:2], item_pos)
    user_indptr, user_items = _int64(*by_user[:2])
    n_items = len(item_indptr) - 1
    upper_nnz = np.zeros(n_items, dtype=np.int64)
    _run(COUNTS, (item_indptr, item_users, item_pos, user_indptr, user_items, upper_nnz),
         backend, n_threads)
    n_upper = int(upper_nnz.sum())
    rated = np.diff(item_indptr) > 0  # exactly the rows that hold their diagonal
    n_pairs = 2 * n_upper - int(rated.sum())
    index_dtype = np.dtype(np.int32 if n_pairs < np.iinfo(np.int32).max else np.int64)
    # the upper triangle and the full CSR live together while the mirror runs
    nbytes = (n_pairs + n_upper) * _PAIR_BYTES[index_dtype] + \
        2 * (n_items + 1) * index_dtype.itemsize
    check_pair_memory(nbytes, n_pairs)
    upper = _empty_csr(n_items, upper_nnz, index_dtype)
    item_values = np.ascontiguousarray(by_item[2])
    user_values = np.ascontiguousarray(by_user[2], dtype=item_values.dtype)
    _run(FILL, (item_indptr, item_users, item_values, item_pos, user_indptr, user_items,
                user_values, *upper), backend, n_threads)
    below = np.bincount(upper[1], minlength=n_items) - rated  # (j, i) entries, j < i
    full = _empty_csr(n_items, upper_nnz + below, index_dtype)
    _run(MIRROR, (*upper, *full), backend, n_threads)
    return full


def check_pair_memory(nbytes, n_pairs):
    """Refuse a deviation CSR of ``nbytes`` (``n_pairs`` co-rated item pairs) above the
    memory limit, naming the estimate."""
    limit = memory_limit()
    if limit is not None and nbytes > limit:
        raise ValueError(
            f"Slope One's item-pair deviations: {n_pairs} co-rated item pairs would need "
            f"{format_bytes(nbytes)} (sparse), more than the {format_bytes(limit)} of memory "
            "here; drop rarely rated items or heavy users first.")


def _check_model(dev_indptr, dev_indices, dev, user_indptr, user_items, user_mean):
    """The deviation CSR and the users' items and means, checked; returns them."""
    n_items = len(dev_indptr) - 1
    dev_indptr, dev_indices, dev = check_csr_arrays(
        dev_indptr, dev_indices, dev, n_cols=max(n_items, 1),
        names=("dev_indptr", "dev_indices", "dev"))
    if dev.dtype != np.float64:
        raise TypeError(f"dev.dtype == {dev.dtype}, must be float64.")
    _check_rows_ascending(dev_indptr, dev_indices, "dev_indices")
    user_indptr, user_items, _ = check_csr_arrays(
        user_indptr, user_items, None, n_cols=max(n_items, 1), require_data=False,
        names=("user_indptr", "user_items", "user_data"))
    _check_rows_ascending(user_indptr, user_items, "user_items")
    user_mean = np.asarray(user_mean)
    if user_mean.dtype != np.float64 or user_mean.shape != (len(user_indptr) - 1,):
        raise ValueError(f"user_mean must be float64 of shape ({len(user_indptr) - 1},), "
                         f"got {user_mean.dtype} {user_mean.shape}.")
    return dev_indptr, dev_indices, dev, user_indptr, user_items, user_mean


def _check_ids(name, ids, n):
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise TypeError(f"{name} must be a 1-d integer array, got {ids.dtype} with "
                        f"{ids.ndim} dimensions.")
    if len(ids) and (ids.min() < 0 or ids.max() >= n):
        raise ValueError(f"{name} must lie in [0, {n}).")
    return ids


def slope_one_predict(dev_indptr, dev_indices, dev, user_indptr, user_items, user_mean, users,
                      items, *, backend="auto", n_threads=None):
    """Slope One predictions of (user, item) pairs (see the module docstring).

    Parameters
    ----------
    dev_indptr, dev_indices, dev
        The deviation CSR of :func:`slope_one_deviations` (rows ascending; dev float64).
    user_indptr, user_items : ndarray of int32 or int64, shapes (n_users + 1,), (nnz,)
        Each user's rated items, strictly ascending.
    user_mean : ndarray of float64, shape (n_users,)
        :math:`\\mu_u`.
    users, items : ndarray of int, shape (n_pairs,)
        Indices in ``[0, n_users)`` and ``[0, n_items)``.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        The result does not depend on it.

    Returns
    -------
    ndarray of float64, shape (n_pairs,)
        Unclipped.
    """
    model = _check_model(dev_indptr, dev_indices, dev, user_indptr, user_items, user_mean)
    users = _check_ids("users", users, len(model[3]) - 1)
    items = _check_ids("items", items, len(model[0]) - 1)
    if len(users) != len(items):
        raise ValueError(f"users has {len(users)} entries but items has {len(items)}; "
                         "they must match.")
    return run_slope_one_predict(*model, users, items, backend=backend, n_threads=n_threads)


def run_slope_one_predict(dev_indptr, dev_indices, dev, user_indptr, user_items, user_mean,
                          users, items, *, backend="auto", n_threads=None):
    """:func:`slope_one_predict` without the checks."""
    out = np.empty(len(users), dtype=np.float64)
    if len(users) == 0:
        return out
    user_indptr, user_items, users, items = _int64(user_indptr, user_items, users, items)
    # Pairs grouped by item: each deviation row is spread out once for all its pairs.
    order = np.argsort(items, kind="stable")
    sorted_items = items[order]
    group_start = np.flatnonzero(np.diff(sorted_items, prepend=-1, append=-1)).astype(np.int64)
    _run(PREDICT, (dev_indptr, dev_indices, dev, user_indptr, user_items,
                   np.ascontiguousarray(user_mean, dtype=np.float64), users, items, order,
                   group_start, out), backend, n_threads)
    return out


def slope_one_scores(dev_indptr, dev_indices, dev, user_indptr, user_items, user_mean, rows,
                     out=None, *, backend="auto", n_threads=None):
    """Slope One predictions of every item for users ``rows``.

    Parameters are those of :func:`slope_one_predict`; ``rows`` (shape (n_rows,))
    are user indices; ``out``, optional, a C-contiguous float64 (n_rows, n_items)
    array to write into.

    Returns
    -------
    ndarray of float64, shape (n_rows, n_items)
        Unclipped; row ``r``, column ``i`` the prediction of ``(rows[r], i)`` by
        :func:`slope_one_predict` (equal up to rounding: the compiled
        predictions may sum in another order).
    """
    model = _check_model(dev_indptr, dev_indices, dev, user_indptr, user_items, user_mean)
    rows = _check_ids("rows", rows, len(model[3]) - 1)
    shape = (len(rows), len(model[0]) - 1)
    if out is not None and (not isinstance(out, np.ndarray) or out.dtype != np.float64
                            or out.shape != shape or not out.flags.c_contiguous):
        raise ValueError(f"out must be a C-contiguous float64 array of shape {shape}.")
    return run_slope_one_scores(*model, rows, out, backend=backend, n_threads=n_threads)


def run_slope_one_scores(dev_indptr, dev_indices, dev, user_indptr, user_items, user_mean, rows,
                         out=None, *, backend="auto", n_threads=None):
    """:func:`slope_one_scores` without the checks."""
    if out is None:
        out = np.empty((len(rows), len(dev_indptr) - 1), dtype=np.float64)
    user_indptr, user_items, rows = _int64(user_indptr, user_items, rows)
    _run(SCORES, (dev_indptr, dev_indices, dev, user_indptr, user_items,
                  np.ascontiguousarray(user_mean, dtype=np.float64), rows, out),
         backend, n_threads)
    return out
