r"""Checked public kernel: epochs of Bayesian Personalised Ranking (Rendle et al. 2009).

The score of user u for item i is :math:`\hat x_{ui} = p_u \cdot q_i + b_i`.
For each positive pair (u, i) and a negative item j the user has not seen,
with :math:`\hat x_{uij} = \hat x_{ui} - \hat x_{uj}` and
:math:`z = 1 / (1 + e^{\hat x_{uij}}) = 1 - \sigma(\hat x_{uij})`, one step of
gradient ascent on :math:`\ln \sigma(\hat x_{uij}) - \lambda/2 (\|p_u\|^2 +
\|q_i\|^2 + \|q_j\|^2 + b_i^2 + b_j^2)`:

.. math::

    p_u \mathrel{+}= \eta (z (q_i - q_j) - \lambda p_u), \quad
    q_i \mathrel{+}= \eta (z p_u - \lambda q_i), \quad
    q_j \mathrel{+}= \eta (-z p_u - \lambda q_j), \quad
    b_i \mathrel{+}= \eta (z - \lambda b_i), \quad
    b_j \mathrel{+}= \eta (-z - \lambda b_j)

(each update with the values from before the step: implicit's and cornac's
``bpr_update``). An epoch visits every positive pair once, in a fresh seeded
shuffle; the negative is drawn uniformly from a pool of items and re-drawn
while the user has it (implicit's ``verify_negative_samples``, which skips
the pair instead), at most ``max_draws`` times, after which the pair is
skipped. The compiled kernels compute the factor update as
:math:`(1 - \eta\lambda) x + \eta z\, g` (the same value within rounding).

The random stream (SplitMix64, a uniform draw in [0, n) from the high 32 bits
by a multiply-shift) is the same in every backend, so a seed draws the same
shuffles and negatives on each: the compiled epochs equal the reference
within rounding.
"""

import numpy as np

from .._config import BPR_MAX_DRAWS, INDEX_DTYPES, VALUE_DTYPES
from .._validation import check_csr_arrays, check_float, check_int
from ..reference import bpr as _reference
from . import _registry, bpr_nb
from .mf import block_grid, cython_build

FAMILY = "bpr_epoch"

#: Which build of ``_bpr.pxi`` the "cython" backend runs.
BPR_CYTHON_BUILD = cython_build("_bpr", "bpr_epoch")

# "auto" runs Cython first (benchmarks/test_bench_bpr.py, 1.74M pairs, k=64 float32,
# AVX2 build, serial epoch: 111 vs 155 ms for Numba; bpr_peers.py 2 threads hogwild
# 10.9 vs 11.2 M samples/s, serial 14.7 vs 9.4, on a loaded 2-core machine).
_registry.register(FAMILY, numba=bpr_nb.bpr_epoch,
                   cython=_registry.cython_kernel(BPR_CYTHON_BUILD, "bpr_epoch"),
                   reference=_reference.bpr_epoch, auto=("cython", "numba", "reference"))


def check_sorted_rows(indptr, indices, name):
    """ValueError unless every CSR row of ``indices`` is ascending without repeats (the
    binary search of the negative draws needs it)."""
    if len(indices) > 1:
        steps = np.diff(indices)
        row_starts = indptr[1:-1][(indptr[1:-1] > 0) & (indptr[1:-1] < len(indices))]
        steps[row_starts - 1] = 1  # a row may start below the previous row's end
        if (steps <= 0).any():
            raise ValueError(f"{name} must be sorted ascending and without repeats in each "
                             "row.")


def bpr_epoch(users, items, indptr, indices, user_factors, item_factors, item_bias, lr, reg, *,
              seed=0, use_bias=True, max_draws=BPR_MAX_DRAWS, backend="auto"):
    """Run one serial epoch in place; return ``(correct, skipped)``.

    Parameters
    ----------
    users, items : ndarray of int32 or int64, shape (n_pairs,)
        The positive pairs (internal indices); visited in a seeded shuffle of
        a copy (the arrays are not changed).
    indptr, indices : ndarrays of int32 or int64, shapes (n_users + 1,), (nnz,)
        The items each user has seen (CSR, each row sorted ascending): never
        drawn as the user's negatives.
    user_factors, item_factors : ndarray of float32 or float64, C-contiguous,
        shapes (n_users, k), (n_items, k); updated in place.
    item_bias : ndarray, shape (n_items,), the factors' dtype
        Updated in place when ``use_bias``.
    lr, reg : float
        Learning rate (> 0) and regularisation (>= 0).
    seed : int
        Of the shuffle and the negatives.
    use_bias : bool
    max_draws : int
        Negatives drawn for a pair before it is skipped.
    backend : {"auto", "numba", "cython", "reference"}

    Returns
    -------
    correct : int
        Pairs whose :math:`\\hat x_{uij} > 0` before their step.
    skipped : int
        Pairs for which no unseen negative was drawn.
    """
    dtype = user_factors.dtype if isinstance(user_factors, np.ndarray) else None
    if dtype not in VALUE_DTYPES:
        raise TypeError("user_factors must be a float32 or float64 numpy array.")
    for name, arr, ndim in (("item_factors", item_factors, 2), ("item_bias", item_bias, 1)):
        if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.ndim != ndim:
            raise TypeError(f"{name} must be a {ndim}-d {dtype} numpy array.")
    for name, arr in (("user_factors", user_factors), ("item_factors", item_factors),
                      ("item_bias", item_bias)):
        if not arr.flags.c_contiguous or not arr.flags.writeable:
            raise ValueError(f"{name} must be C-contiguous and writeable (updated in place).")
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contain NaN or inf values, must be finite.")
    n_users, k = user_factors.shape
    n_items = item_factors.shape[0]
    if item_factors.shape[1] != k or len(item_bias) != n_items:
        raise ValueError(f"shapes disagree: user_factors {user_factors.shape}, item_factors "
                         f"{item_factors.shape}, item_bias {item_bias.shape}.")
    if n_items == 0:
        raise ValueError("item_factors has 0 rows: there is no item to sample.")
    indptr, indices, _ = check_csr_arrays(indptr, indices, None, n_items, require_data=False)
    if len(indptr) != n_users + 1:
        raise ValueError(f"len(indptr) == {len(indptr)}, must be n_users + 1 == {n_users + 1}.")
    check_sorted_rows(indptr, indices, "indices")
    users, items = np.asarray(users), np.asarray(items)
    for name, arr, upper in (("users", users, n_users), ("items", items, n_items)):
        if arr.dtype not in INDEX_DTYPES or arr.ndim != 1:
            raise TypeError(f"{name} must be a 1-d int32/int64 array, got {arr.dtype} with "
                            f"ndim {arr.ndim}.")
        if len(arr) and (arr.min() < 0 or arr.max() >= upper):
            raise ValueError(f"{name} must lie in [0, {upper}).")
    if len(users) != len(items):
        raise ValueError(f"len(users) == {len(users)} but len(items) == {len(items)}; they "
                         "must match.")
    lr = check_float("lr", lr, min_value=0.0, min_inclusive=False)
    reg = check_float("reg", reg, min_value=0.0)
    seed = check_int("seed", seed, min_value=0)
    max_draws = check_int("max_draws", max_draws, min_value=1)
    index = indices.dtype
    cell_ptr, pool, cell_pool = single_cell(len(users), n_items, index)
    stats = run_bpr_epoch(users.astype(index), items.astype(index),
                          np.empty(len(users), index), cell_ptr, SERIAL_ROUNDS,
                          pool, cell_pool, indptr, indices, seed, user_factors, item_factors,
                          item_bias, lr, reg, bool(use_bias), max_draws=max_draws,
                          backend=backend)
    return int(stats[:, 0].sum()), int(stats[:, 1].sum())


#: The rounds of the serial epoch: its one cell.
SERIAL_ROUNDS = np.zeros((1, 1), np.int64)


def single_cell(n_pairs, n_items, index_dtype):
    """(cell_ptr, pool, cell_pool) of the serial epoch: every pair in one cell,
    every item its pool (run it with :data:`SERIAL_ROUNDS`)."""
    return (np.array([0, n_pairs], np.int64), np.arange(n_items, dtype=index_dtype),
            np.array([[0, n_items]], np.int64))


def grid_layout(users, items, n_users, n_items, g, seed, *, blocked):
    """The pairs laid out in a g x g grid of cells (:func:`fastcf.kernels.mf.block_grid`).

    Returns
    -------
    users, items : ndarrays, the pairs gathered cell by cell
    cell_ptr : ndarray of int64, shape (g * g + 1,)
    pool : ndarray of the index dtype, shape (n_items,)
        The items, grouped by item block when ``blocked``.
    cell_pool : ndarray of int64, shape (g * g, 2)
        Cell c draws its negatives from ``pool[cell_pool[c, 0]:cell_pool[c, 1]]``:
        its own item block when ``blocked`` (so that the threads of a round
        never touch one item row), every item otherwise.
    """
    positions, cell_ptr, block_items, item_ptr = block_grid(users, items, n_users, n_items, g,
                                                            seed, item_blocks=True)
    dtype = users.dtype
    if blocked:
        pool = block_items.astype(dtype)
        column = np.arange(g * g) % g
        cell_pool = np.stack([item_ptr[column], item_ptr[column + 1]], axis=1)
    else:
        pool = np.arange(n_items, dtype=dtype)
        cell_pool = np.tile(np.array([[0, n_items]], np.int64), (g * g, 1))
    return users[positions], items[positions], cell_ptr, pool, cell_pool


def blocked_rounds(row_perm, col_perm):
    """The g rounds of g cells of a blocked epoch, shape (g, g): round r runs cells
    (row_perm[b], col_perm[(b + r) % g]), which share no user and no item block."""
    g = len(row_perm)
    shift = (np.arange(g)[None, :] + np.arange(g)[:, None]) % g
    return (np.asarray(row_perm, np.int64)[None, :] * g +
            np.asarray(col_perm, np.int64)[shift]).astype(np.int64)


def run_bpr_epoch(users, items, negatives, cell_ptr, rounds, pool, cell_pool, indptr, indices,
                  seed, user_factors, item_factors, item_bias, lr, reg, use_bias, *,
                  max_draws=BPR_MAX_DRAWS, backend="auto", n_threads=1):
    """:func:`bpr_epoch` without the checks, over a layout of cells.

    The cells of each row of ``rounds`` run in parallel (one at a time a
    thread), the rows one after another; cell c shuffles its pairs
    ``[cell_ptr[c], cell_ptr[c + 1])`` in place and draws its negatives from
    ``pool[cell_pool[c, 0]:cell_pool[c, 1]]``. ``users``, ``items``, ``pool``,
    ``indptr`` and ``indices`` share one index dtype; so does ``negatives``
    (shape (n_pairs,), scratch: it ends holding each pair's negative, -1
    where skipped, beside the shuffled pairs). Returns the per-cell
    statistics, shape (n_cells, 3): pairs with :math:`\\hat x_{uij} > 0`,
    pairs skipped, the sum of z.
    """
    kernel, name = _registry.get_kernel(FAMILY, backend)
    scalar = user_factors.dtype.type if name != "reference" else float
    cell_stats = np.zeros((len(cell_ptr) - 1, 3))
    args = (users, items, negatives, cell_ptr, rounds, pool, cell_pool, indptr, indices,
            np.uint64(seed), user_factors, item_factors, item_bias, scalar(lr), scalar(reg),
            bool(use_bias), int(max_draws), cell_stats)
    # Cells one at a time (as the Cython kernel's dynamic schedule), as in kernels.mf.
    _registry.run(kernel, name, args, n_threads, numba_chunksize=1)
    return cell_stats
