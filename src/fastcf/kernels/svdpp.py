r"""Checked public kernel: one SGD epoch of SVD++ (Koren 2008), Surprise ``SVDpp``'s updates.

The model is :math:`\hat r_{ui} = \mu + b_u + b_i + q_i \cdot (p_u + |N(u)|^{-1/2}
\sum_{j \in N(u)} y_j)`, :math:`N(u)` the items user :math:`u` rated (a row of the
CSR). For each rating :math:`(u, i, r)` in the visiting order, with
:math:`e = r - \hat r_{ui}` and :math:`z = |N(u)|^{-1/2} \sum_{j \in N(u)} y_j`:

.. math::

    b_u \mathrel{+}= \eta_{bu} (e - \lambda_{bu} b_u), \quad
    b_i \mathrel{+}= \eta_{bi} (e - \lambda_{bi} b_i), \\
    p_{uf} \mathrel{+}= \eta_{pu} (e\, q_{if} - \lambda_{pu} p_{uf}), \quad
    q_{if} \mathrel{+}= \eta_{qi} (e\, (p_{uf} + z_f) - \lambda_{qi} q_{if}), \\
    y_{jf} \mathrel{+}= \eta_{yj} (e\, q_{if} / \sqrt{|N(u)|} - \lambda_{yj} y_{jf})
    \quad (j \in N(u))

(each update uses the values from before it). The epoch visits users in
``user_order``, each user's ratings together in ``entry_order``, as Surprise's
``trainset.all_ratings()`` does. Surprise recomputes :math:`z` and updates
every :math:`y_j` per rating, :math:`O(|N(u)|\, k)`; the compiled kernels
compute the same values in :math:`O(k)` a rating (equal to the reference
within rounding), see ``svdpp_nb``.
"""

import numpy as np

from .._config import VALUE_DTYPES
from .._parallel import resolve_n_threads
from .._validation import check_csr_arrays, check_float, check_int
from ..reference import svdpp as _reference
from . import _registry, svdpp_nb

FAMILY = "svdpp_epoch"
# "auto" runs Cython first: 1M ratings (make_ratings 6000 x 4000), k=20, one thread,
# M ratings/s Cython vs Numba: float32 15.4 vs 11.1, float64 15.4 vs 12.1 (gcc
# vectorises the dot product and the three updates of a factor row).
_registry.register(FAMILY, numba=svdpp_nb.svdpp_epoch,
                   cython=_registry.cython_kernel("_svdpp", "svdpp_epoch"),
                   reference=_reference.svdpp_epoch, auto=("cython", "numba", "reference"))

_MODEL_ARRAYS = ("user_bias", "item_bias", "user_factors", "item_factors", "implicit_factors")


def svdpp_epoch(indptr, indices, ratings, mu, user_bias, item_bias, user_factors, item_factors,
                implicit_factors, lr, reg, *, entry_order=None, user_order=None, chunks=1,
                backend="auto", n_threads=None):
    """Run one epoch in place; return the sum of squared errors seen during it.

    Parameters
    ----------
    indptr, indices : ndarray of int32 or int64, shapes (n_users + 1,), (n_ratings,)
        The ratings by user (CSR); each row's items are :math:`N(u)`.
    ratings : ndarray, shape (n_ratings,), the factors' dtype
    mu : float
    user_bias, item_bias : ndarray, shapes (n_users,), (n_items,), the factors' dtype
    user_factors, item_factors, implicit_factors : ndarray of float32 or float64,
        C-contiguous, shapes (n_users, k), (n_items, k), (n_items, k)
        Updated in place (as the biases), finite.
    lr, reg : tuple of 5 floats
        (bu, bi, pu, qi, yj) learning rates and regularisations, each >= 0.
    entry_order : ndarray of int, shape (n_ratings,), optional
        ``entry_order[indptr[u]:indptr[u + 1]]``, a permutation of
        ``range(indptr[u], indptr[u + 1])``, is the order user ``u``'s ratings
        are visited in (default: CSR order).
    user_order : ndarray of int, shape (n_users,), optional
        A permutation of the users: the order they are visited in (default:
        ascending).
    chunks : int
        ``user_order`` is cut into this many runs of about equal numbers of
        ratings, run in parallel on ``n_threads`` threads (Hogwild: items and
        implicit factors shared without locks, so the result of several
        threads is not reproducible). 1 (default): the serial epoch, the same
        bits whatever ``n_threads``.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None

    Returns
    -------
    float
        :math:`\\sum e^2` over the epoch (errors before each update).
    """
    dtype = user_factors.dtype if isinstance(user_factors, np.ndarray) else None
    if dtype not in VALUE_DTYPES:
        raise TypeError("user_factors must be a float32 or float64 numpy array.")
    arrays = dict(zip(_MODEL_ARRAYS, (user_bias, item_bias, user_factors, item_factors,
                                      implicit_factors)))
    for name, arr in list(arrays.items()) + [("ratings", ratings)]:
        ndim = 2 if name.endswith("factors") else 1
        if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.ndim != ndim:
            raise TypeError(f"{name} must be a {ndim}-d {dtype} numpy array.")
    for name, arr in arrays.items():
        if not arr.flags.c_contiguous or not arr.flags.writeable:
            raise ValueError(f"{name} must be C-contiguous and writeable (updated in place).")
    n_users, k = user_factors.shape
    n_items = item_factors.shape[0]
    if (item_factors.shape[1] != k or implicit_factors.shape != item_factors.shape
            or len(user_bias) != n_users or len(item_bias) != n_items):
        raise ValueError(f"shapes disagree: user_factors {user_factors.shape}, item_factors "
                         f"{item_factors.shape}, implicit_factors {implicit_factors.shape}, "
                         f"user_bias {user_bias.shape}, item_bias {item_bias.shape}.")
    indptr, indices, ratings = check_csr_arrays(indptr, indices, ratings, n_cols=n_items)
    if len(indptr) != n_users + 1:
        raise ValueError(f"len(indptr) == {len(indptr)}, must be n_users + 1 == {n_users + 1}.")
    for name, arr in [("ratings", ratings)] + list(arrays.items()):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contain NaN or inf values, must be finite.")
    entry_users = np.repeat(np.arange(n_users), np.diff(indptr))
    if entry_order is None:
        entry_order = np.arange(len(indices), dtype=np.int64)
    else:
        entry_order = _check_order("entry_order", entry_order, len(indices))
        if not np.array_equal(entry_users[entry_order], entry_users):
            raise ValueError("entry_order must keep each user's entries in the user's row: "
                             "entry_order[indptr[u]:indptr[u + 1]] a permutation of "
                             "range(indptr[u], indptr[u + 1]).")
    user_order = np.arange(n_users, dtype=np.int64) if user_order is None else \
        _check_order("user_order", user_order, n_users)
    chunks = check_int("chunks", chunks, min_value=1)
    if len(lr) != 5 or len(reg) != 5:
        raise ValueError("lr and reg must be 5-tuples (bu, bi, pu, qi, yj).")
    mu = check_float("mu", mu)
    lr = tuple(check_float(f"lr[{j}]", v, min_value=0.0) for j, v in enumerate(lr))
    reg = tuple(check_float(f"reg[{j}]", v, min_value=0.0) for j, v in enumerate(reg))
    return run_svdpp_epoch(indptr, indices, ratings, entry_order, user_order,
                           user_chunks(indptr, user_order, chunks), mu, user_bias, item_bias,
                           user_factors, item_factors, implicit_factors, lr, reg,
                           backend=backend, n_threads=resolve_n_threads(n_threads))


def _check_order(name, order, n):
    """``order`` as int64, checked to be a permutation of ``range(n)``."""
    order = np.asarray(order)
    if order.ndim != 1 or (len(order) and order.dtype.kind not in "iu"):
        raise TypeError(f"{name} must be a 1-d array of integer positions.")
    if len(order) != n or (n and (order.min() < 0 or order.max() >= n
                                  or np.bincount(order, minlength=n).max() > 1)):
        raise ValueError(f"{name} must be a permutation of range({n}).")
    return np.ascontiguousarray(order, dtype=np.int64)


def user_chunks(indptr, user_order, n_chunks):
    """Cut ``user_order`` into ``n_chunks`` runs of about equal numbers of ratings.

    Returns the int64 boundaries (``n_chunks + 1`` positions into ``user_order``);
    runs may be empty.
    """
    counts = np.diff(indptr)[user_order]
    cumulative = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
    targets = cumulative[-1] * np.arange(1, n_chunks) // n_chunks
    inner = np.searchsorted(cumulative, targets, side="left")
    return np.concatenate([[0], inner, [len(user_order)]]).astype(np.int64)


def run_svdpp_epoch(indptr, indices, ratings, entry_order, user_order, chunk_ptr, mu, user_bias,
                    item_bias, user_factors, item_factors, implicit_factors, lr, reg, *,
                    backend="auto", n_threads=1):
    """:func:`svdpp_epoch` without the checks: ``entry_order``, ``user_order`` and
    ``chunk_ptr`` (from :func:`user_chunks`) int64; returns the loss."""
    kernel, name = _registry.get_kernel(FAMILY, backend)
    scalar = user_factors.dtype.type if name != "reference" else float
    chunk_loss = np.zeros(len(chunk_ptr) - 1)
    args = (indptr, indices, ratings, entry_order, user_order, chunk_ptr, scalar(mu),
            user_bias, item_bias, user_factors, item_factors, implicit_factors,
            *(scalar(v) for v in lr), *(scalar(v) for v in reg), chunk_loss)
    # a chunk at a time, as the Cython kernel's dynamic schedule
    _registry.run(kernel, name, args, n_threads, numba_chunksize=1)
    return float(chunk_loss.sum())
