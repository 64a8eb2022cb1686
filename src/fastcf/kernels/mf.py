r"""Checked public kernel: one SGD epoch of biased matrix factorization.

The model is :math:`\hat r_{ui} = \mu + b_u + b_i + p_u \cdot q_i` (without
:math:`\mu, b_u, b_i` when not ``biased``: FunkSVD). For each rating
:math:`(u, i, r)` in the given order, with :math:`e = r - \hat r_{ui}`:

.. math::

    b_u \mathrel{+}= \eta_{bu} (e - \lambda_{bu} b_u), \quad
    b_i \mathrel{+}= \eta_{bi} (e - \lambda_{bi} b_i), \quad
    p_{uf} \mathrel{+}= \eta_{pu} (e\, q_{if} - \lambda_{pu} p_{uf}), \quad
    q_{if} \mathrel{+}= \eta_{qi} (e\, p_{uf} - \lambda_{qi} q_{if})

(each factor update uses the values from before it) -- Surprise ``SVD``'s
equations. The compiled kernels compute the factor update as
:math:`(1 - \eta\lambda) p + (\eta e) q` (the same value, two multiply-adds;
equal to the reference within rounding). The serial epoch is deterministic:
the same inputs give the same bits on a backend.

The compiled epochs read the ratings as a stream, in array order: the
schedules shuffle the (user, item, rating) arrays themselves
(:func:`run_shuffle_ratings`), and :func:`sgd_epoch` gathers them once in the
``order`` it is given.
"""

import numpy as np

from .._config import VALUE_DTYPES
from .._validation import check_float, check_rating_indices
from ..reference import mf as _reference
from . import _registry, mf_nb

FAMILY = "sgd_epoch"
FAMILY_SHUFFLE = "shuffle_ratings"
FAMILY_BLOCKED = "sgd_epoch_blocked"
FAMILY_HOGWILD = "sgd_epoch_hogwild"


def _cpu_has(*features):
    """Whether this CPU has every named feature (LLVM's names, as Numba sees them)."""
    from llvmlite import binding

    host = binding.get_host_cpu_features()
    return all(host.get(feature, False) for feature in features)


def cython_build(module, name):
    """The build of a Cython module with an AVX2 twin (``_mf``, ``_bpr``) for this CPU:
    ``<module>_avx2`` where setup.py made it and the CPU has AVX2 and FMA, else
    ``module``. ``name``: a function of the module."""
    if _cpu_has("avx2", "fma") and _registry.cython_kernel(f"{module}_avx2", name,
                                                          optional=True) is not None:
        return f"{module}_avx2"
    return module


#: Which build of ``_mf.pxi`` the "cython" backend runs (``show_config`` reports
#: it): the AVX2 one gives ~1.2-1.4x faster epochs.
MF_CYTHON_BUILD = cython_build("_mf", "sgd_epoch")

# "auto" runs the Cython epochs first when they are the AVX2 build (mf_peers.py,
# k=100 float32, 1.39M ratings, M updates/s Cython vs Numba): serial 20.1 vs 16.4,
# blocked 22.7 vs 19.7 (1 thread) and 45.4 vs 36.0 (2 threads), hogwild 45.3 vs 38.5
# (2 threads): gcc's AVX2 + FMA loops beat LLVM's here. With the plain (SSE2) build
# Numba stays first: serial Numba 16.7 vs Cython 15.6 M updates/s, blocked 1 thread
# 19.9 vs 17.0 (same setting).
_AUTO = ("cython", "numba", "reference") if MF_CYTHON_BUILD == "_mf_avx2" else None
for _family, _name in ((FAMILY, "sgd_epoch"), (FAMILY_SHUFFLE, "shuffle_ratings"),
                       (FAMILY_BLOCKED, "sgd_epoch_blocked"),
                       (FAMILY_HOGWILD, "sgd_epoch_hogwild")):
    _registry.register(_family, numba=getattr(mf_nb, _name),
                       cython=_registry.cython_kernel(MF_CYTHON_BUILD, _name),
                       reference=getattr(_reference, _name), auto=_AUTO)


def check_sgd_arrays(user_bias, item_bias, user_factors, item_factors, ratings=None):
    """The parameters an SGD kernel updates in place (and ``ratings``, when given): one
    float32/float64 dtype, C-contiguous and writeable, agreeing shapes; else TypeError /
    ValueError. Returns ``(dtype, n_users, n_items)``."""
    dtype = user_factors.dtype if isinstance(user_factors, np.ndarray) else None
    if dtype not in VALUE_DTYPES:
        raise TypeError("user_factors must be a float32 or float64 numpy array.")
    others = (("ratings", ratings, 1),) if ratings is not None else ()
    for name, arr, ndim in (("item_factors", item_factors, 2), ("user_bias", user_bias, 1),
                            ("item_bias", item_bias, 1), *others):
        if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.ndim != ndim:
            raise TypeError(f"{name} must be a {ndim}-d {dtype} numpy array.")
    for name, arr in (("user_factors", user_factors), ("item_factors", item_factors),
                      ("user_bias", user_bias), ("item_bias", item_bias)):
        if not arr.flags.c_contiguous or not arr.flags.writeable:
            raise ValueError(f"{name} must be C-contiguous and writeable (updated in place).")
    n_users, k = user_factors.shape
    n_items = item_factors.shape[0]
    if item_factors.shape[1] != k or len(user_bias) != n_users or len(item_bias) != n_items:
        raise ValueError(f"shapes disagree: user_factors {user_factors.shape}, item_factors "
                         f"{item_factors.shape}, user_bias {user_bias.shape}, item_bias "
                         f"{item_bias.shape}.")
    return dtype, n_users, n_items


def sgd_epoch(users, items, ratings, order, mu, user_bias, item_bias, user_factors, item_factors,
              lr, reg, *, biased=True, backend="auto"):
    """Run one epoch in place; return the sum of squared errors seen during it.

    Parameters
    ----------
    users, items : ndarray of int32 or int64, shape (n_ratings,)
        Internal indices of each rating, in ``[0, n_users)`` / ``[0, n_items)``.
    ratings : ndarray, shape (n_ratings,), the factors' dtype
        Finite (as every array here: NaN or inf raise ValueError).
    order : ndarray of int, shape (n_steps,), or None
        Positions into the ratings, visited in this order (e.g. a shuffle);
        None visits them in array order. The ratings are gathered in this
        order first (a copy; the epoch only reads them).
    mu : float
    user_bias, item_bias : ndarray, shapes (n_users,), (n_items,), the factors' dtype
        Updated in place (ignored when not ``biased``).
    user_factors, item_factors : ndarray of float32 or float64, C-contiguous,
        shapes (n_users, k), (n_items, k); updated in place.
    lr, reg : tuple of 4 floats
        (bu, bi, pu, qi) learning rates and regularisations, each finite and >= 0.
    biased : bool
    backend : {"auto", "numba", "cython", "reference"}

    Returns
    -------
    float
        :math:`\\sum e^2` over the epoch's steps (errors before each update).
    """
    _, n_users, n_items = check_sgd_arrays(user_bias, item_bias, user_factors, item_factors,
                                           ratings)
    users, items = check_rating_indices(users, items, len(ratings), n_users, n_items)
    for name, arr in (("ratings", ratings), ("user_bias", user_bias), ("item_bias", item_bias),
                      ("user_factors", user_factors), ("item_factors", item_factors)):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contain NaN or inf values, must be finite.")
    if order is not None:
        order = np.asarray(order)
        if order.ndim != 1 or (len(order) and order.dtype.kind not in "iu"):
            raise TypeError("order must be a 1-d array of integer positions.")
        if len(order) and (order.min() < 0 or order.max() >= len(ratings)):
            raise ValueError(f"order must lie in [0, {len(ratings)}).")
        order = order.astype(np.int64)
        users, items, ratings = users[order], items[order], ratings[order]
    if len(lr) != 4 or len(reg) != 4:
        raise ValueError("lr and reg must be 4-tuples (bu, bi, pu, qi).")
    scalars = [check_float("mu", mu)] + \
        [check_float(f"lr[{j}]", v, min_value=0.0) for j, v in enumerate(lr)] + \
        [check_float(f"reg[{j}]", v, min_value=0.0) for j, v in enumerate(reg)]
    return run_sgd_epoch(np.ascontiguousarray(users), np.ascontiguousarray(items),
                         np.ascontiguousarray(ratings), scalars[0], user_bias, item_bias,
                         user_factors, item_factors, scalars[1:5], scalars[5:], biased,
                         backend=backend)


def run_sgd_epoch(users, items, ratings, mu, user_bias, item_bias, user_factors, item_factors,
                  lr, reg, biased, *, backend="auto"):
    """:func:`sgd_epoch` without the checks, over the ratings in array order."""
    kernel, name = _registry.get_kernel(FAMILY, backend)
    scalar = user_factors.dtype.type if name != "reference" else float
    args = (users, items, ratings, scalar(mu), user_bias, item_bias, user_factors,
            item_factors, *(scalar(v) for v in lr), *(scalar(v) for v in reg), bool(biased))
    return float(kernel(*args))



def run_shuffle_ratings(users, items, ratings, seed, *, backend="auto"):
    """Shuffle the three rating arrays together, in place, uniformly at random.

    Fisher-Yates driven by SplitMix64 from ``seed`` (every backend draws the
    same numbers, so gives the same order). In place because a serial epoch
    then streams the ratings: 36 ms for 1.74M ratings, where a permutation
    and a gather with NumPy took 127 ms -- more than the epoch itself.
    """
    kernel, _ = _registry.get_kernel(FAMILY_SHUFFLE, backend)
    kernel(users, items, ratings, np.uint64(seed))



def block_grid(users, items, n_users, n_items, g, seed, *, item_blocks=False):
    """The ratings grouped into a g x g grid of (user block, item block) cells.

    Users and items go to blocks by a seeded shuffle cut into g near-equal
    parts (so a few heavy users or items do not load one block), then the
    rating positions are sorted by cell (cell ``c`` is user block ``c // g``
    and item block ``c % g``).

    Returns
    -------
    positions : ndarray of int64, shape (n_ratings,)
        Rating positions, cell by cell: gather the ratings in this order for
        :func:`run_sgd_epoch_blocked`.
    block_ptr : ndarray of int64, shape (g * g + 1,)
        Cell c holds ``positions[block_ptr[c]:block_ptr[c + 1]]``.
    block_items, item_ptr : ndarrays of int64, shapes (n_items,), (g + 1,)
        Only with ``item_blocks``: item block b holds the items
        ``block_items[item_ptr[b]:item_ptr[b + 1]]``.
    """
    rng = np.random.default_rng(seed)
    user_block = np.empty(n_users, dtype=np.int64)
    user_block[rng.permutation(n_users)] = np.arange(n_users) * g // max(n_users, 1)
    block_items = rng.permutation(n_items)
    item_block = np.empty(n_items, dtype=np.int64)
    item_block[block_items] = np.arange(n_items) * g // max(n_items, 1)
    cell = user_block[users] * g + item_block[items]
    positions = np.argsort(cell, kind="stable").astype(np.int64)
    block_ptr = np.zeros(g * g + 1, dtype=np.int64)
    np.cumsum(np.bincount(cell, minlength=g * g), out=block_ptr[1:])
    if not item_blocks:
        return positions, block_ptr
    item_ptr = np.zeros(g + 1, dtype=np.int64)
    np.cumsum(np.bincount(item_block, minlength=g), out=item_ptr[1:])
    return positions, block_ptr, block_items.astype(np.int64), item_ptr


def run_sgd_epoch_blocked(users, items, ratings, block_ptr, row_perm, col_perm, seed, mu,
                          user_bias, item_bias, user_factors, item_factors, lr, reg, biased,
                          *, shuffle=False, backend="auto", n_threads=1):
    """One FPSGD epoch over ratings laid out cell by cell (:func:`block_grid`).

    Each cell's ratings are visited in their order, or with ``shuffle``
    reshuffled in place first. Reproducible for a seed whatever ``n_threads``
    (see ``mf_nb``); returns the loss.
    """
    kernel, name = _registry.get_kernel(FAMILY_BLOCKED, backend)
    scalar = user_factors.dtype.type if name != "reference" else float
    g = len(row_perm)
    block_loss = np.zeros(g * g)
    args = (users, items, ratings, block_ptr, np.asarray(row_perm, np.int64),
            np.asarray(col_perm, np.int64), np.uint64(seed), bool(shuffle), scalar(mu),
            user_bias, item_bias, user_factors, item_factors, *(scalar(v) for v in lr),
            *(scalar(v) for v in reg), bool(biased), block_loss)
    # Cells one at a time (as the Cython kernels' dynamic schedule): a thread the
    # OS slows down then takes fewer of them instead of holding the epoch back.
    _registry.run(kernel, name, args, n_threads, numba_chunksize=1)
    return float(block_loss.sum())


def run_sgd_epoch_hogwild(users, items, ratings, block_ptr, cell_order, seed, mu, user_bias,
                          item_bias, user_factors, item_factors, lr, reg, biased, *,
                          shuffle=False, backend="auto", n_threads=1):
    """One lock-free parallel epoch over ratings laid out cell by cell (:func:`block_grid`).

    The cells are handed to the threads one at a time in ``cell_order`` (a
    permutation of the cells); each cell's ratings are visited in their order,
    or with ``shuffle`` reshuffled in place first. Not reproducible for more
    than one thread; returns the loss.
    """
    kernel, name = _registry.get_kernel(FAMILY_HOGWILD, backend)
    scalar = user_factors.dtype.type if name != "reference" else float
    cell_loss = np.zeros(len(block_ptr) - 1)
    args = (users, items, ratings, block_ptr, np.asarray(cell_order, np.int64), np.uint64(seed),
            bool(shuffle), scalar(mu), user_bias, item_bias, user_factors, item_factors,
            *(scalar(v) for v in lr), *(scalar(v) for v in reg), bool(biased), cell_loss)
    # Cells one at a time (as the Cython kernels' dynamic schedule): a thread the
    # OS slows down then takes fewer of them instead of holding the epoch back.
    _registry.run(kernel, name, args, n_threads, numba_chunksize=1)
    return float(cell_loss.sum())
