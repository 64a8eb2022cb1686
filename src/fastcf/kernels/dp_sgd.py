r"""Checked public kernels: DP-SGD steps of biased matrix factorization.

The model is :math:`\hat r_{ui} = c + b_u + b_i + p_u \cdot q_i` (``c`` a
data-independent centre). The item side (:math:`q_i, b_i`) is shared and
trained with differential privacy; each user's :math:`p_u, b_u` only from that
user's ratings and the item side. One step, for a batch of users (each with
some of their ratings):

1. every batch user runs one SGD pass over its ratings, the item side frozen
   (:math:`b_u \mathrel{+}= \eta_{bu}(e - \lambda_{bu} b_u)`,
   :math:`p_u \mathrel{+}= \eta_{pu}(e\, q_i - \lambda_{pu} p_u)`), then takes
   the errors :math:`e_j` with its new :math:`b_u, p_u`: the (descent)
   gradient of its squared loss towards item :math:`i_j` is
   :math:`g_j = e_j (p_u, 1)`. Clipped to L2 norm ``clip_norm``, over all of
   the user's item rows together (:math:`\|g\|^2 = (\|p_u\|^2 + 1) \sum_j
   e_j^2`, the user's items being distinct) or per rating (``per_rating``);
2. :math:`G = \sigma\, N + \sum_j \bar g_j` (``N`` the caller's standard
   normal draw of shape (n_items, k + 1), :math:`\sigma` = ``noise_scale``,
   the sum in batch order);
3. every item: :math:`q_i \leftarrow (1 - \eta_{qi}\lambda_{qi}) q_i +
   \eta_{qi} G_{i, :k} / B`, :math:`b_i \leftarrow (1 - \eta_{bi}\lambda_{bi})
   b_i + \eta_{bi} G_{i, k} / B` (``B`` = ``batch_size``, the expected one).

Deterministic: every backend gives the same result for 1 and N threads.
"""

import numpy as np

from .._parallel import resolve_n_threads
from .._validation import check_float
from ..reference import dp_sgd as _reference
from . import _registry, dp_sgd_nb
from .mf import check_sgd_arrays, cython_build

FAMILY = "dp_sgd"

#: Which build of ``_dp_sgd.pxi`` the "cython" backend runs: the AVX2 one where
#: the CPU has it.
DP_SGD_CYTHON_BUILD = cython_build("_dp_sgd", "dp_sgd_step")

# "auto" runs Cython first: one step over every user of make_ratings(60000, 8000,
# 1740000), k=64 float32, 1 thread, load ~5, M updates/s: AVX2 Cython 21-29, SSE2 Cython
# 19-26, Numba 11-13 (its dot products in the fixed eight-lane order do not vectorise).

_registry.register(FAMILY, numba=dp_sgd_nb.dp_sgd_step,
                   cython=_registry.cython_kernel(DP_SGD_CYTHON_BUILD, "dp_sgd_step"),
                   reference=_reference.dp_sgd_step, auto=("cython", "numba", "reference"))


def _check_model(user_bias, item_bias, user_factors, item_factors):
    """The four parameter arrays: one float dtype, C-contiguous, writeable, agreeing
    shapes, finite; returns (dtype, n_users, n_items, k)."""
    dtype, n_users, n_items = check_sgd_arrays(user_bias, item_bias, user_factors,
                                               item_factors)
    for name, arr in (("user_factors", user_factors), ("item_factors", item_factors),
                      ("user_bias", user_bias), ("item_bias", item_bias)):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contain NaN or inf values, must be finite.")
    return dtype, n_users, n_items, user_factors.shape[1]


def _check_ratings(items, ratings, dtype, n_items):
    if not isinstance(ratings, np.ndarray) or ratings.dtype != dtype or ratings.ndim != 1:
        raise TypeError(f"ratings must be a 1-d {dtype} numpy array.")
    items = np.asarray(items)
    if items.dtype not in (np.int32, np.int64) or items.ndim != 1:
        raise TypeError(f"items must be a 1-d int32/int64 array, got {items.dtype}.")
    if len(items) != len(ratings):
        raise ValueError(f"len(items) == {len(items)} but len(ratings) == {len(ratings)}; "
                         "they must match.")
    if len(items) and (items.min() < 0 or items.max() >= n_items):
        raise ValueError(f"items must lie in [0, {n_items}).")
    if not np.isfinite(ratings).all():
        raise ValueError("ratings contain NaN or inf values, must be finite.")
    return np.ascontiguousarray(items)


def _check_rates(names, values):
    if len(values) != len(names):
        raise ValueError(f"{len(values)} rates given, {len(names)} needed ({names}).")
    return [check_float(name, v, min_value=0.0) for name, v in zip(names, values)]


def dp_sgd_step(batch_users, batch_ptr, batch_pos, items, ratings, centre, user_bias,
                item_bias, user_factors, item_factors, user_rates, item_rates, *, clip_norm,
                noise, noise_scale, batch_size, per_rating=False, backend="auto",
                n_threads=None):
    """Run one DP-SGD step in place (module docstring); return ``(loss, coef)``.

    Parameters
    ----------
    batch_users : ndarray of int32 or int64, shape (n_batch,)
        Distinct users of the batch.
    batch_ptr : ndarray of int64, shape (n_batch + 1,)
        User ``batch_users[b]`` has the ratings ``batch_pos[batch_ptr[b]:batch_ptr[b + 1]]``.
    batch_pos : ndarray of int64, shape (n_batch_ratings,)
        Positions into ``items`` / ``ratings``; a user's positions name distinct items.
    items : ndarray of int32 or int64, shape (n_ratings,)
    ratings : ndarray, shape (n_ratings,), the factors' dtype
    centre : float
    user_bias, item_bias, user_factors, item_factors : ndarrays of float32 or float64
        Shapes (n_users,), (n_items,), (n_users, k), (n_items, k); C-contiguous,
        updated in place.
    user_rates, item_rates : tuple of 4 floats >= 0
        ``(lr_bu, lr_pu, reg_bu, reg_pu)`` and ``(lr_bi, lr_qi, reg_bi, reg_qi)``.
    clip_norm : float > 0
    noise : ndarray, shape (n_items, k + 1), the factors' dtype
        Standard normal draws; overwritten with :math:`G` (the noisy clipped sum).
    noise_scale : float >= 0
        :math:`\\sigma`, the noise's standard deviation (z times ``clip_norm``).
    batch_size : float > 0
        The expected batch size the sum is divided by.
    per_rating : bool
        Clip each rating's gradient instead of each user's.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None

    Returns
    -------
    loss : float
        Sum of squared errors of the users' passes.
    coef : ndarray, shape (n_batch_ratings,)
        The clipped coefficients: rating ``j`` of batch user ``u`` added
        ``coef[j] * (p_u, 1)`` (``p_u`` after its pass) to its item's row.
    """
    dtype, n_users, n_items, k = _check_model(user_bias, item_bias, user_factors, item_factors)
    items = _check_ratings(items, ratings, dtype, n_items)
    batch_users = np.asarray(batch_users)
    if batch_users.dtype != items.dtype or batch_users.ndim != 1:
        raise TypeError(f"batch_users must be a 1-d {items.dtype} array (the items' dtype).")
    if len(batch_users) and (batch_users.min() < 0 or batch_users.max() >= n_users):
        raise ValueError(f"batch_users must lie in [0, {n_users}).")
    if len(np.unique(batch_users)) != len(batch_users):
        raise ValueError("batch_users must be distinct.")
    batch_ptr, batch_pos = np.asarray(batch_ptr), np.asarray(batch_pos)
    for name, arr in (("batch_ptr", batch_ptr), ("batch_pos", batch_pos)):
        if arr.dtype != np.int64 or arr.ndim != 1:
            raise TypeError(f"{name} must be a 1-d int64 array.")
    if len(batch_ptr) != len(batch_users) + 1 or batch_ptr[0] != 0 or \
            batch_ptr[-1] != len(batch_pos) or np.any(np.diff(batch_ptr) < 0):
        raise ValueError("batch_ptr must rise from 0 to len(batch_pos), one entry per batch "
                         "user plus one.")
    if len(batch_pos) and (batch_pos.min() < 0 or batch_pos.max() >= len(ratings)):
        raise ValueError(f"batch_pos must lie in [0, {len(ratings)}).")
    owner = np.repeat(np.arange(len(batch_users)), np.diff(batch_ptr))
    pairs = owner * n_items + items[batch_pos]
    if len(np.unique(pairs)) != len(pairs):
        raise ValueError("a batch user has an item twice; each user's items must be "
                         "distinct (the clipping bound assumes one row per item).")
    if not isinstance(noise, np.ndarray) or noise.dtype != dtype or \
            noise.shape != (n_items, k + 1):
        raise TypeError(f"noise must be a {dtype} array of shape ({n_items}, {k + 1}).")
    if not noise.flags.c_contiguous or not noise.flags.writeable:
        raise ValueError("noise must be C-contiguous and writeable (overwritten).")
    if not np.isfinite(noise).all():
        raise ValueError("noise contain NaN or inf values, must be finite.")
    user_rates = _check_rates(("lr_bu", "lr_pu", "reg_bu", "reg_pu"), user_rates)
    item_rates = _check_rates(("lr_bi", "lr_qi", "reg_bi", "reg_qi"), item_rates)
    clip_norm = check_float("clip_norm", clip_norm, min_value=0.0, min_inclusive=False)
    noise_scale = check_float("noise_scale", noise_scale, min_value=0.0)
    batch_size = check_float("batch_size", batch_size, min_value=0.0, min_inclusive=False)
    coef = np.zeros(len(batch_pos), dtype=dtype)
    loss = run_dp_sgd_step(
        np.ascontiguousarray(batch_users), np.ascontiguousarray(batch_ptr),
        np.ascontiguousarray(batch_pos), items, np.ascontiguousarray(ratings),
        check_float("centre", centre), user_bias, item_bias, user_factors, item_factors,
        user_rates, item_rates, clip_norm, bool(per_rating), noise, noise_scale, batch_size,
        coef, backend=backend, n_threads=resolve_n_threads(n_threads))
    return loss, coef


def run_dp_sgd_step(batch_users, batch_ptr, batch_pos, items, ratings, centre, user_bias,
                    item_bias, user_factors, item_factors, user_rates, item_rates, clip_norm,
                    per_rating, noise, noise_scale, batch_size, coef, *, backend="auto",
                    n_threads=1):
    """:func:`dp_sgd_step` without the checks; ``coef`` (shape (n_batch_ratings,), the
    factors' dtype) is written. Returns the loss."""
    kernel, name = _registry.get_kernel(FAMILY, backend)
    scalar = user_factors.dtype.type if name != "reference" else float
    args = (batch_users, batch_ptr, batch_pos, items, ratings, scalar(centre), user_bias,
            item_bias, user_factors, item_factors, *(scalar(v) for v in user_rates),
            *(scalar(v) for v in item_rates), float(clip_norm), bool(per_rating), noise,
            scalar(noise_scale), float(batch_size), coef)
    return float(_registry.run(kernel, name, args, n_threads, numba_takes_threads=True,
                               numba_chunksize=1))
