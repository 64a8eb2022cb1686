r"""Checked public kernel: epochs of the hybrid factor model (LightFM, Kula 2015).

A user u is the sum of the embeddings :math:`e_f` and biases :math:`c_f` of
its features, each weighted by its value :math:`a_{uf}` in the user-feature
CSR (an item likewise, :math:`h_g, d_g, b_{ig}`):

.. math::

    p_u = \sum_f a_{uf} e_f, \quad \beta_u = \sum_f a_{uf} c_f, \quad
    q_i = \sum_g b_{ig} h_g, \quad \gamma_i = \sum_g b_{ig} d_g, \quad
    \hat x_{ui} = p_u \cdot q_i + \beta_u + \gamma_i\ (+ \mu).

Per entry (u, i, r), with the representations from the parameters as they are:

- ``"squared"``: :math:`e = r - \hat x_{ui}` (with :math:`\mu`); every feature of
  u and of i moves up the gradient of :math:`-e^2/2`: :math:`e_f` by
  :math:`a_{uf} e\, q_i`, :math:`c_f` by :math:`a_{uf} e`, :math:`h_g` by
  :math:`b_{ig} e\, p_u`, :math:`d_g` by :math:`b_{ig} e`.
- ``"bpr"``: a negative j drawn uniformly from a pool of items (every item, or
  the items of every entry: by popularity), re-drawn while u has
  it (at most ``max_sampled`` draws, else no step); :math:`x = \hat x_{ui} -
  \hat x_{uj}`, coefficient :math:`z = 1 / (1 + e^{x})`.
- ``"warp"`` (Weston et al. 2011, LightFM's sampler): negatives j drawn
  from the pool until one violates the margin, :math:`\hat x_{uj} > \hat x_{ui} - 1`,
  and u does not have it (the n-th draw), at most ``max_sampled`` draws
  (else no step); coefficient :math:`w = \min(\ln \max(1, \lfloor (n_{items} - 1)
  / n \rfloor), 10)`.

For the two ranking losses with coefficient :math:`z` (or :math:`w`): the
user's features move by :math:`a_{uf} z (q_i - q_j)` (their biases do not
move: :math:`\beta_u` cancels in :math:`x`), the positive item's by
:math:`b_{ig} z p_u` (bias :math:`b_{ig} z`), the negative's by
:math:`-b_{jg} z p_u` (bias :math:`-b_{jg} z`), in that order. Every moved
parameter w also gets :math:`-\lambda w` (``reg_user`` / ``reg_item``), and
the step is that sum times the rate: ``lr`` for ``"sgd"``, ``lr`` /
:math:`\sqrt{G}` for ``"adagrad"`` with G the parameter's accumulator
(LightFM starts it at 1), which then grows by the square of the data term.
With identity features alone (each row one feature of value 1) the
``"sgd"`` steps are those of :func:`fastcf.kernels.bpr.bpr_epoch` (bpr) and of
:func:`fastcf.kernels.mf.sgd_epoch` (squared, one lr and reg).

The random stream is ``kernels.bpr``'s (SplitMix64 seeded per chunk, a draw
in [0, n) by a multiply-shift), so every backend draws the same shuffles and
negatives and the compiled epochs equal the reference within rounding.
"""

import numpy as np

from .._config import INDEX_DTYPES, VALUE_DTYPES
from .._validation import check_choice, check_csr_arrays, check_float, check_int
from ..reference import hybrid as _reference
from . import _registry, hybrid_nb
from .mf import block_grid, cython_build

FAMILY = "hybrid_epoch"
#: The codes of the losses as the kernels take them.
LOSSES = {"squared": 0, "bpr": 1, "warp": 2}
LEARNING_SCHEDULES = ("adagrad", "sgd")

#: Which build of ``_hybrid.pxi`` the "cython" backend runs.
HYBRID_CYTHON_BUILD = cython_build("_hybrid", "hybrid_epoch")

# "auto" runs the AVX2 Cython build first (hybrid_peers.py, ML-100K with genre and user
# features, 64 factors, adagrad, one thread, CPU s/epoch, two alternating runs each:
# WARP 0.028 / 0.033 vs Numba's 0.047 / 0.045, BPR 0.025 / 0.028 vs 0.036 / 0.043);
# the plain (SSE2) build lost to Numba (WARP 0.039 vs 0.033, BPR 0.036 vs 0.023).
_AUTO = ("cython", "numba", "reference") if HYBRID_CYTHON_BUILD == "_hybrid_avx2" else None
_registry.register(FAMILY, numba=hybrid_nb.hybrid_epoch,
                   cython=_registry.cython_kernel(HYBRID_CYTHON_BUILD, "hybrid_epoch"),
                   reference=_reference.hybrid_epoch, auto=_AUTO)

#: The chunk order of a serial epoch: its one chunk.
SERIAL_ORDER = np.zeros(1, np.int64)


def serial_chunks(n_entries):
    """``chunk_ptr`` of the serial epoch: every entry in one chunk."""
    return np.array([0, n_entries], np.int64)


def user_chunks(users, n_users, g, seed):
    """The entries grouped into ``g`` chunks by blocks of users (a seeded shuffle of the
    users cut into g near-equal parts): (positions, chunk_ptr), gather the entries by
    ``positions``; chunk c holds ``[chunk_ptr[c], chunk_ptr[c + 1])``."""
    zeros = np.zeros(len(users), np.int64)
    positions, cell_ptr = block_grid(users, zeros, n_users, 1, g, seed)
    return positions, np.ascontiguousarray(cell_ptr[::g])


def run_hybrid_epoch(users, items, values, chunk_ptr, chunk_order, seed, shuffle, user_features,
                     item_features, seen, pool, params, accumulators, loss, lr, reg_user,
                     reg_item, mu, max_sampled, *, backend="auto", n_threads=1):
    """:func:`hybrid_epoch` without the checks, over a layout of chunks.

    The chunks of ``chunk_order`` run in parallel (one at a time a thread; two
    threads may update a shared feature row at once: Hogwild); chunk c seeds
    its stream from ``seed`` and c, with ``shuffle`` shuffles its entries
    ``[chunk_ptr[c], chunk_ptr[c + 1])`` in place, and steps through them.
    ``user_features`` / ``item_features``: (indptr, indices, data) CSR arrays;
    ``seen``: (indptr, indices), rows sorted; ``pool``: the items negatives are
    drawn from (uniformly from its entries; repeats weigh); ``params``: (user embeddings,
    user biases, item embeddings, item biases); ``accumulators``: their four
    adagrad accumulators, or None (sgd); ``loss`` a key of :data:`LOSSES`.
    Index arrays share one dtype, float arrays the embeddings'. Returns the
    per-chunk statistics, shape (n_chunks, 3): entries ranked right (bpr:
    :math:`x > 0`; warp: no violating negative), entries without a step, the
    sum of the loss terms (squared errors, z or WARP weights).
    """
    kernel, name = _registry.get_kernel(FAMILY, backend)
    dtype = params[0].dtype
    scalar = dtype.type if name != "reference" else float
    adagrad = accumulators is not None
    if not adagrad:
        empty = np.zeros((0, params[0].shape[1]), dtype), np.zeros(0, dtype)
        accumulators = empty + empty
    stats = np.zeros((len(chunk_ptr) - 1, 3))
    negatives = np.empty(len(users), users.dtype)  # BPR's, drawn before each chunk's steps
    args = (users, items, values, chunk_ptr, np.asarray(chunk_order, np.int64), np.uint64(seed),
            bool(shuffle), *user_features, *item_features, *seen, pool, negatives, *params,
            *accumulators,
            LOSSES[loss], adagrad, scalar(lr), scalar(reg_user), scalar(reg_item), scalar(mu),
            int(max_sampled), stats)
    # Chunks one at a time (as the Cython kernel's dynamic schedule), as in kernels.mf.
    _registry.run(kernel, name, args, n_threads, numba_chunksize=1)
    return stats


def _check_float_array(name, arr, dtype, ndim, writeable=False):
    if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.ndim != ndim:
        raise TypeError(f"{name} must be a {ndim}-d {dtype} numpy array.")
    if writeable and (not arr.flags.c_contiguous or not arr.flags.writeable):
        raise ValueError(f"{name} must be C-contiguous and writeable (updated in place).")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contain NaN or inf values, must be finite.")


def _check_features(name, csr, n_rows, n_features, dtype, index):
    """A feature CSR as the kernels read it: ``n_rows`` rows, indices in
    [0, n_features), finite values of the embeddings' dtype, the index dtype."""
    if not isinstance(csr, tuple) or len(csr) != 3:
        raise TypeError(f"{name} must be a tuple (indptr, indices, data).")
    indptr, indices, data = check_csr_arrays(*csr, n_cols=n_features,
                                             names=tuple(f"{name}[{j}]" for j in range(3)))
    if len(indptr) != n_rows + 1:
        raise ValueError(f"{name} has {len(indptr) - 1} rows, must have {n_rows}.")
    _check_float_array(f"{name}[2]", data, dtype, 1)
    return indptr.astype(index), indices.astype(index), data


def hybrid_epoch(users, items, values, user_features, item_features, seen, user_embeddings,
                 user_biases, item_embeddings, item_biases, *, loss="warp",
                 learning_schedule="adagrad", accumulators=None, lr=0.05, reg_user=0.0,
                 reg_item=0.0, mu=0.0, max_sampled=10, pool=None, seed=0, shuffle=True,
                 backend="auto"):
    """Run one serial epoch in place; return ``(ranked_right, without_step, loss_sum)``.

    Parameters
    ----------
    users, items : ndarray of int32 or int64, shape (n_entries,)
        The entries (internal indices), visited in a seeded shuffle of a copy
        (``shuffle``) or in their order; the arrays are not changed.
    values : ndarray, shape (n_entries,), the embeddings' dtype
        The ratings (read by ``"squared"`` only).
    user_features, item_features : tuple (indptr, indices, data)
        CSR arrays, shapes (n_users + 1,), (nnz,), (nnz,): row u lists u's
        features and their values (the embeddings' dtype).
    seen : tuple (indptr, indices)
        The items each user has (CSR over n_users rows, each row sorted
        ascending): never taken as that user's negatives.
    user_embeddings, item_embeddings : ndarray of float32 or float64, C-contiguous,
        shapes (n_user_features, k), (n_item_features, k); updated in place.
    user_biases, item_biases : ndarray, shapes (n_user_features,), (n_item_features,)
    loss : {"warp", "bpr", "squared"}
    learning_schedule : {"adagrad", "sgd"}
    accumulators : tuple of 4 ndarrays, optional
        Adagrad's accumulators, shaped as the four parameter arrays (values
        > 0, updated in place); None with ``"adagrad"`` starts them at 1 (in a
        copy that is then lost: pass them to carry them over epochs).
    lr, reg_user, reg_item, mu : float
    max_sampled : int
        Draws per entry (bpr: for an unseen negative; warp: for a violating one).
    pool : ndarray of int, optional
        The negatives are uniform draws from its entries (items, repeats
        allowed: the items of every entry draw by popularity, LightFM's BPR
        sampler); None: every item once.
    seed : int
    shuffle : bool
    backend : {"auto", "numba", "cython", "reference"}
    """
    dtype = user_embeddings.dtype if isinstance(user_embeddings, np.ndarray) else None
    if dtype not in VALUE_DTYPES:
        raise TypeError("user_embeddings must be a float32 or float64 numpy array.")
    params = (user_embeddings, user_biases, item_embeddings, item_biases)
    names = ("user_embeddings", "user_biases", "item_embeddings", "item_biases")
    for name, arr, ndim in zip(names, params, (2, 1, 2, 1)):
        _check_float_array(name, arr, dtype, ndim, writeable=True)
    k = user_embeddings.shape[1]
    if item_embeddings.shape[1] != k or len(user_biases) != len(user_embeddings) or \
            len(item_biases) != len(item_embeddings):
        raise ValueError(f"shapes disagree: user_embeddings {user_embeddings.shape}, "
                         f"user_biases {user_biases.shape}, item_embeddings "
                         f"{item_embeddings.shape}, item_biases {item_biases.shape}.")
    check_choice("loss", loss, tuple(LOSSES))
    check_choice("learning_schedule", learning_schedule, LEARNING_SCHEDULES)
    users, items = np.asarray(users), np.asarray(items)
    for name, arr in (("users", users), ("items", items)):
        if arr.dtype not in INDEX_DTYPES or arr.ndim != 1:
            raise TypeError(f"{name} must be a 1-d int32/int64 array, got {arr.dtype} with "
                            f"ndim {arr.ndim}.")
    if len(users) != len(items) or len(values) != len(users):
        raise ValueError(f"len(users) == {len(users)}, len(items) == {len(items)}, "
                         f"len(values) == {len(values)}; they must match.")
    _check_float_array("values", values, dtype, 1)
    if not isinstance(seen, tuple) or len(seen) != 2:
        raise TypeError("seen must be a tuple (indptr, indices).")
    n_users = len(seen[0]) - 1 if isinstance(seen[0], np.ndarray) else -1
    index = np.int64
    if isinstance(item_features, tuple) and len(item_features) == 3 and \
            isinstance(item_features[0], np.ndarray):
        n_items = len(item_features[0]) - 1
    else:
        raise TypeError("item_features must be a tuple (indptr, indices, data).")
    if n_items == 0:
        raise ValueError("item_features has 0 rows: there is no item.")
    user_features = _check_features("user_features", user_features, n_users,
                                    len(user_embeddings), dtype, index)
    item_features = _check_features("item_features", item_features, n_items,
                                    len(item_embeddings), dtype, index)
    seen_indptr, seen_indices, _ = check_csr_arrays(*seen, None, n_items, require_data=False,
                                                    names=("seen[0]", "seen[1]", "data"))
    if len(seen_indices) > 1:
        steps = np.diff(seen_indices)
        starts = seen_indptr[1:-1][(seen_indptr[1:-1] > 0) &
                                   (seen_indptr[1:-1] < len(seen_indices))]
        steps[starts - 1] = 1  # a row may start below the previous row's end
        if (steps <= 0).any():
            raise ValueError("seen[1] must be sorted ascending and without repeats in each "
                             "row.")
    for name, arr, upper in (("users", users, n_users), ("items", items, n_items)):
        if len(arr) and (arr.min() < 0 or arr.max() >= upper):
            raise ValueError(f"{name} must lie in [0, {upper}).")
    if accumulators is None:
        accumulators = tuple(np.ones_like(a) for a in params) \
            if learning_schedule == "adagrad" else None
    elif learning_schedule == "sgd":
        raise ValueError("accumulators are adagrad's; learning_schedule == 'sgd' takes none.")
    else:
        if not isinstance(accumulators, tuple) or len(accumulators) != 4:
            raise TypeError("accumulators must be a tuple of 4 arrays.")
        for name, acc, param in zip(names, accumulators, params):
            _check_float_array(f"accumulators ({name})", acc, dtype, param.ndim,
                               writeable=True)
            if acc.shape != param.shape:
                raise ValueError(f"accumulators ({name}) has shape {acc.shape}, must be "
                                 f"{param.shape}.")
            if (acc <= 0).any():
                raise ValueError(f"accumulators ({name}) must be > 0.")
    lr = check_float("lr", lr, min_value=0.0, min_inclusive=False)
    reg_user = check_float("reg_user", reg_user, min_value=0.0)
    reg_item = check_float("reg_item", reg_item, min_value=0.0)
    mu = check_float("mu", mu)
    max_sampled = check_int("max_sampled", max_sampled, min_value=1)
    seed = check_int("seed", seed, min_value=0)
    if pool is None:
        pool = np.arange(n_items)
    pool = np.asarray(pool)
    if pool.ndim != 1 or pool.dtype.kind not in "iu":
        raise TypeError("pool must be a 1-d array of item indices.")
    if len(pool) == 0 or pool.min() < 0 or pool.max() >= n_items:
        raise ValueError(f"pool must be non-empty, its items in [0, {n_items}).")
    stats = run_hybrid_epoch(
        users.astype(index), items.astype(index), values.copy(), serial_chunks(len(users)),
        SERIAL_ORDER, seed, shuffle, user_features, item_features,
        (seen_indptr.astype(index), seen_indices.astype(index)), pool.astype(index), params,
        accumulators, loss, lr, reg_user, reg_item, mu, max_sampled, backend=backend)
    return int(stats[0, 0]), int(stats[0, 1]), float(stats[0, 2])
