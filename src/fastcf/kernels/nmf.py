r"""Checked public kernel: one epoch of NMF's multiplicative updates (Luo et al. 2014).

The model is :math:`\hat r_{ui} = p_u \cdot q_i` with non-negative factors (plus
:math:`\mu + b_u + b_i` when ``biased``), trained as Surprise's ``NMF`` does. In an
epoch every rating is estimated from the factors as they were when the epoch
began (and, when ``biased``, the biases of the moment, which move by SGD rating
by rating, in visiting order); then, with :math:`n_u = |I_u|`, :math:`n_i = |U_i|`:

.. math::

    p_{uf} \leftarrow p_{uf} \frac{\sum_{i \in I_u} q_{if} r_{ui}}
        {\sum_{i \in I_u} q_{if} \hat r_{ui} + n_u \lambda_u p_{uf}}, \qquad
    q_{if} \leftarrow q_{if} \frac{\sum_{u \in U_i} p_{uf} r_{ui}}
        {\sum_{u \in U_i} p_{uf} \hat r_{ui} + n_i \lambda_i q_{if}}

(a factor that is 0 stays 0; a row without ratings is left as it is). The sums
are made per user over the by-user CSR and per item over the by-item one, each
row by one thread in a fixed order, so the result does not depend on
``n_threads``; the biased pass over the ratings is serial (O(nnz), no factor
arithmetic). Everything is float64.
"""

import numpy as np

from .._parallel import resolve_n_threads
from .._validation import check_bool, check_csr_arrays, check_float
from ..reference import nmf as _reference
from . import _registry, nmf_nb

FAMILY = "nmf_epoch"
# "auto" keeps the default order (Numba first): benchmarks/test_bench_nmf.py, 1M
# ratings, 15 factors, one thread, min of the unbiased epoch: Numba 89 ms, Cython 95 ms
# (loaded 2-core machine; Numba ahead in each of three runs).
_registry.register(FAMILY, numba=nmf_nb.nmf_epoch,
                   cython=_registry.cython_kernel("_nmf", "nmf_epoch"),
                   reference=_reference.nmf_epoch)

_FACTOR_NAMES = ("user_factors", "item_factors")


def _check_float64(name, array, ndim, shape=None):
    if not isinstance(array, np.ndarray) or array.dtype != np.float64 or array.ndim != ndim:
        raise TypeError(f"{name} must be a {ndim}-d float64 numpy array.")
    if shape is not None and array.shape != shape:
        raise ValueError(f"{name}.shape == {array.shape}, must be {shape}.")
    if not array.flags.c_contiguous or not array.flags.writeable:
        raise ValueError(f"{name} must be C-contiguous and writeable (updated in place).")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contain NaN or inf values, must be finite.")


def nmf_epoch(indptr, indices, ratings, item_indptr, item_users, item_entries, user_factors,
              item_factors, reg_pu, reg_qi, *, biased=False, mu=0.0, user_bias=None,
              item_bias=None, lr_bu=0.005, lr_bi=0.005, reg_bu=0.02, reg_bi=0.02,
              user_order=None, backend="auto", n_threads=None):
    """Run one epoch in place; return the sum of squared errors of its estimates.

    Parameters
    ----------
    indptr, indices : ndarray of int32 or int64, shapes (n_users + 1,), (nnz,)
        The ratings by user (CSR); each user's entries are visited in this order.
    ratings : ndarray of float64, shape (nnz,)
    item_indptr, item_users, item_entries : ndarray, the dtype of ``indptr``,
        shapes (n_items + 1,), (nnz,), (nnz,)
        The same ratings by item: entry ``p`` of item ``i`` is the rating of
        user ``item_users[p]`` at position ``item_entries[p]`` of the by-user
        arrays. Each item's sum adds its entries in this order (Surprise's:
        by the users' visiting order).
    user_factors, item_factors : ndarray of float64, shapes (n_users, k), (n_items, k)
        C-contiguous; updated in place.
    reg_pu, reg_qi : float
        :math:`\\lambda_u, \\lambda_i >= 0`.
    biased : bool
        Also train ``user_bias`` and ``item_bias`` (float64, shapes (n_users,),
        (n_items,), updated in place) by SGD with ``mu``, ``lr_bu``, ``lr_bi``,
        ``reg_bu``, ``reg_bi``.
    user_order : ndarray, the dtype of ``indptr``, shape (n_users,), optional
        The order the users are visited in (a permutation; default: by index).
        It orders the bias updates and the sum of squared errors only.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        scikit-learn's meaning; the result does not depend on it.

    Returns
    -------
    float
        :math:`\\sum (r_{ui} - \\hat r_{ui})^2` over the epoch's estimates.
    """
    for name, array in zip(_FACTOR_NAMES, (user_factors, item_factors)):
        _check_float64(name, array, 2)
    n_users, k = user_factors.shape
    n_items = item_factors.shape[0]
    if item_factors.shape[1] != k:
        raise ValueError(f"user_factors has {k} columns but item_factors has "
                         f"{item_factors.shape[1]}; they must match.")
    indptr, indices, ratings = check_csr_arrays(indptr, indices, ratings,
                                                names=("indptr", "indices", "ratings"))
    item_indptr, item_users, _ = check_csr_arrays(
        item_indptr, item_users, None, require_data=False,
        names=("item_indptr", "item_users", "ratings"))
    if ratings.dtype != np.float64:
        raise TypeError(f"ratings.dtype == {ratings.dtype}, must be float64.")
    if not np.isfinite(ratings).all():
        raise ValueError("ratings contain NaN or inf values, must be finite.")
    if len(indptr) != n_users + 1 or len(item_indptr) != n_items + 1:
        raise ValueError(f"indptr has {len(indptr)} entries and item_indptr "
                         f"{len(item_indptr)}; user_factors and item_factors need "
                         f"{n_users + 1} and {n_items + 1}.")
    for name, array, upper in (("indices", indices, n_items), ("item_users", item_users, n_users)):
        if len(array) and (array.min() < 0 or array.max() >= upper):
            bad = array.min() if array.min() < 0 else array.max()
            raise ValueError(f"{name} contain {bad}, must lie in [0, {upper}).")
    nnz = len(indices)
    item_entries = _check_index_array("item_entries", item_entries, indptr.dtype, nnz)
    if len(item_users) != nnz or np.any(np.bincount(item_entries, minlength=nnz) != 1):
        raise ValueError("item_entries must hold every by-user position once.")
    entry_users = np.repeat(np.arange(n_users), np.diff(indptr))
    entry_items = np.repeat(np.arange(n_items), np.diff(item_indptr))
    if np.any(entry_users[item_entries] != item_users) or np.any(
            indices[item_entries] != entry_items):
        raise ValueError("the by-item arrays do not describe the by-user ratings: "
                         "item_entries[p] must be a rating of user item_users[p] and of "
                         "the item whose row holds p.")
    if user_order is None:
        user_order = np.arange(n_users, dtype=indptr.dtype)
    else:
        user_order = _check_index_array("user_order", user_order, indptr.dtype, n_users)
        if np.any(np.bincount(user_order, minlength=n_users) != 1):
            raise ValueError("user_order must be a permutation of the users.")
    reg_pu = check_float("reg_pu", reg_pu, min_value=0.0)
    reg_qi = check_float("reg_qi", reg_qi, min_value=0.0)
    biased = check_bool("biased", biased)
    if biased:
        _check_float64("user_bias", user_bias, 1, (n_users,))
        _check_float64("item_bias", item_bias, 1, (n_items,))
        mu = check_float("mu", mu)
        lr_bu, lr_bi = check_float("lr_bu", lr_bu, min_value=0.0), check_float(
            "lr_bi", lr_bi, min_value=0.0)
        reg_bu, reg_bi = check_float("reg_bu", reg_bu, min_value=0.0), check_float(
            "reg_bi", reg_bi, min_value=0.0)
    else:
        user_bias, item_bias = np.zeros(n_users), np.zeros(n_items)
    return run_nmf_epoch(indptr, indices, ratings, item_indptr, item_users, item_entries,
                         user_order, user_factors, item_factors, user_bias, item_bias,
                         float(mu), reg_pu, reg_qi, float(reg_bu), float(reg_bi), float(lr_bu),
                         float(lr_bi), biased, backend=backend, n_threads=n_threads)


def _check_index_array(name, array, dtype, length):
    if not isinstance(array, np.ndarray) or array.ndim != 1 or array.dtype != dtype:
        raise TypeError(f"{name} must be a 1-d {dtype} numpy array (the dtype of indptr).")
    if len(array) != length:
        raise ValueError(f"len({name}) == {len(array)}, must be {length}.")
    if length and (array.min() < 0 or array.max() >= length):
        raise ValueError(f"{name} must lie in [0, {length}).")
    return np.ascontiguousarray(array)


def run_nmf_epoch(indptr, indices, ratings, item_indptr, item_users, item_entries, user_order,
                  user_factors, item_factors, user_bias, item_bias, mu, reg_pu, reg_qi, reg_bu,
                  reg_bi, lr_bu, lr_bi, biased, *, work=None, backend="auto", n_threads=None):
    """:func:`nmf_epoch` without the checks, every argument given (``user_order`` an
    array; ``user_bias``, ``item_bias`` arrays even when not ``biased``), for callers
    whose arrays are valid by construction (``fastcf.NMF``).

    ``work``: what :func:`nmf_work` returned for these shapes, reused across
    epochs (None: allocated for this call).
    """
    if work is None:
        work = nmf_work(len(indices), len(user_factors), len(item_factors),
                        user_factors.shape[1])
    kernel, name = _registry.get_kernel(FAMILY, backend)
    return float(_registry.run(
        kernel, name, (indptr, indices, ratings, item_indptr, item_users, item_entries,
                       user_order, user_factors, item_factors, user_bias, item_bias, mu,
                       reg_pu, reg_qi, reg_bu, reg_bi, lr_bu, lr_bi, biased, *work),
        resolve_n_threads(n_threads)))


def nmf_work(nnz, n_users, n_items, k):
    """The scratch arrays of an epoch: the estimates and the users' and items' sums."""
    return (np.empty(nnz), np.empty((n_users, k)), np.empty((n_users, k)),
            np.empty((n_items, k)), np.empty((n_items, k)))
