"""A MovieLens-like synthetic explicit data set with a planted model.

:func:`make_ratings` draws a data set of any size from a planted biased
matrix-factorisation model, with Zipf item popularity and log-normal user
activity, in a parallel Numba kernel (held to its reference twin,
``fastcf.reference.synthetic``).
"""

from typing import NamedTuple

import numpy as np

from .._parallel import numba_threads, resolve_n_threads
from .._validation import (
    check_bool,
    check_float,
    check_int,
    check_memory,
    check_random_state,
    check_value_dtype,
)
from ..data import Interactions, index_dtype_for
from ..kernels import synthetic_nb

__all__ = ["make_ratings", "max_user_ratings"]

# Planted model, tuned so the rating histogram resembles MovieLens 100K
# (about 6/11/27/34/21 % of 1..5 stars, mean 3.53, std 1.13); these give
# about 4/14/29/31/22 %, mean 3.52, std 1.11 at noise=0.5, for any shape.
RATING_MEAN = 3.65
USER_BIAS_SD = 0.5
ITEM_BIAS_SD = 0.5
#: Item bias added per standard deviation of log-popularity (under the
#: popularity distribution): popular items are rated higher, as in MovieLens.
POPULARITY_BIAS = 0.15
#: Variance of the interaction term ``p_u . q_i`` (split evenly over factors).
FACTOR_VARIANCE = 0.7
#: sigma of the log-normal user activity.
ACTIVITY_SIGMA = 1.0
#: Popularity draws per entry before the uniform fallback.
MAX_TRIES = 16
#: Timestamps: users start between these (1996-01-01 .. 2019-01-01 UTC) and
#: stay active for a log-normal time (median 30 days), clipped to the window.
TIME_WINDOW = (820_454_400, 1_546_300_800)
ACTIVE_MEDIAN_SECONDS = 30 * 86_400
ACTIVE_SIGMA = 2.0


class _RatingsPlan(NamedTuple):
    """Everything the kernel needs, drawn from the Generator in a fixed order."""

    key: np.uint64
    indptr: np.ndarray
    cdf: np.ndarray
    guide: np.ndarray
    user_factors: np.ndarray
    item_factors: np.ndarray
    user_bias: np.ndarray
    item_bias: np.ndarray
    mu: float
    noise: float
    t_start: np.ndarray
    t_active: np.ndarray
    with_times: bool
    dtype: np.dtype


def max_user_ratings(n_items):
    """Most ratings one user may get from :func:`make_ratings`: ``max(1, n_items // 2)``."""
    return max(1, n_items // 2)


def _user_counts(rng, n_users, n_ratings, cap):
    """Log-normal activity scaled to sum to ``n_ratings``, each in ``[1, cap]``.

    Every user gets 1, and the rest is shared in proportion to the weights
    (water-filling: users whose share would pass the cap are set to it and the
    rest re-shared), rounded by largest remainder so the sum is exact.
    """
    weights = rng.lognormal(0.0, ACTIVITY_SIGMA, n_users)
    counts = np.ones(n_users, dtype=np.int64)
    room = cap - 1
    remaining = n_ratings - n_users
    free = np.ones(n_users, dtype=bool)
    share = np.zeros(0)
    while remaining > 0:
        w = weights[free]
        share = remaining * (w / w.sum())
        over = share >= room
        if not over.any():
            break
        capped = np.flatnonzero(free)[over]
        counts[capped] += room
        remaining -= room * len(capped)
        free[capped] = False
    if remaining > 0:
        whole = np.floor(share).astype(np.int64)
        left = remaining - int(whole.sum())
        order = np.argsort(-(share - whole), kind="stable")[:left]
        whole[order] += 1
        counts[free] += whole
    return counts


def _check_plan_memory(n_users, n_items, n_ratings, rank, timestamps, dtype):
    """Refuse, before drawing anything, a data set larger than the memory limit.

    Counts the output arrays (an index, a rating and maybe a timestamp per
    rating) and the planted model (factors, biases and activity draws per
    user and per item, in float64); the per-thread stamps of the kernel
    (``n_items`` indices per thread) are small beside them.
    """
    index_bytes = np.dtype(index_dtype_for(n_users, n_items, n_ratings)).itemsize
    per_rating = index_bytes + dtype.itemsize + (8 if timestamps else 0)
    ratings_bytes = n_ratings * per_rating
    model_bytes = (n_users + n_items) * (rank + 6) * 8
    if ratings_bytes >= model_bytes:
        blame = {"n_ratings": n_ratings}
    elif rank > max(n_users, n_items):
        blame = {"rank": rank}
    else:
        blame = {"n_users": n_users} if n_users >= n_items else {"n_items": n_items}
    check_memory(ratings_bytes + model_bytes, "the ratings and the planted model", **blame)


def _plan_ratings(n_users, n_items, n_ratings, rank, noise, zipf, timestamps, dtype, seed):
    """Validate the arguments of :func:`make_ratings` and draw the planted model."""
    n_users = check_int("n_users", n_users, min_value=1)
    n_items = check_int("n_items", n_items, min_value=1)
    n_ratings = check_int("n_ratings", n_ratings, min_value=1)
    cap = max_user_ratings(n_items)
    if n_ratings < n_users:
        raise ValueError(f"n_ratings == {n_ratings}, must be >= n_users == {n_users} "
                         "(every user rates at least one item).")
    if n_ratings > n_users * cap:
        raise ValueError(f"n_ratings == {n_ratings}, must be <= n_users * max(1, n_items // 2)"
                         f" == {n_users * cap} (a user rates at most half the items).")
    rank = check_int("rank", rank, min_value=1)
    noise = check_float("noise", noise, min_value=0.0)
    zipf = check_float("zipf", zipf, min_value=0.0)
    timestamps = check_bool("timestamps", timestamps)
    dtype = check_value_dtype(dtype)
    rng = check_random_state(seed)
    _check_plan_memory(n_users, n_items, n_ratings, rank, timestamps, dtype)

    # Fixed draw order: the ratings do not depend on ``timestamps``.
    key = rng.integers(np.iinfo(np.uint64).max, dtype=np.uint64, endpoint=True)
    counts = _user_counts(rng, n_users, n_ratings, cap)
    index_dtype = index_dtype_for(n_users, n_items, n_ratings)
    indptr = np.zeros(n_users + 1, dtype=index_dtype)
    np.cumsum(counts, out=indptr[1:])

    # Popularity rank r (1 = most popular) is a random permutation of the
    # item ids, so popularity is not the id order.
    pop_rank = rng.permutation(n_items) + 1.0
    log_weight = -zipf * np.log(pop_rank)
    weights = np.exp(log_weight - log_weight.max())
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    cdf[-1] = 1.0  # so every uniform draw in [0, 1) lands on an item
    guide = np.searchsorted(cdf, np.arange(n_items) / n_items, side="right").astype(np.int64)

    user_bias = rng.normal(0.0, USER_BIAS_SD, n_users)
    item_bias = rng.normal(0.0, ITEM_BIAS_SD, n_items)
    # Standardised under the popularity distribution itself, so that the
    # shift of the *rated* items averages 0 whatever n_items and zipf are.
    p = weights / weights.sum()
    centred = log_weight - p @ log_weight
    spread = np.sqrt(p @ centred**2)
    if spread > 0:
        item_bias += POPULARITY_BIAS * centred / spread
    scale = (FACTOR_VARIANCE / rank) ** 0.25
    user_factors = rng.normal(0.0, scale, (n_users, rank))
    item_factors = rng.normal(0.0, scale, (n_items, rank))

    lo, hi = TIME_WINDOW
    t_start = rng.integers(lo, hi, n_users, dtype=np.int64)
    t_active = rng.lognormal(np.log(ACTIVE_MEDIAN_SECONDS), ACTIVE_SIGMA, n_users)
    t_active = np.minimum(t_active, (hi - t_start).astype(np.float64))
    return _RatingsPlan(key, indptr, cdf, guide, user_factors, item_factors, user_bias,
                        item_bias, RATING_MEAN, noise, t_start, t_active, bool(timestamps), dtype)


def _fill(plan, kernel, n_blocks):
    """Run ``kernel`` (Numba or reference) on ``plan``; return indices, values, times."""
    nnz = int(plan.indptr[-1])
    n_items = len(plan.cdf)
    indices = np.empty(nnz, dtype=plan.indptr.dtype)
    values = np.empty(nnz, dtype=plan.dtype)
    times = np.empty(nnz if plan.with_times else 0, dtype=np.int64)
    stamps = np.full((n_blocks, n_items), -1, dtype=plan.indptr.dtype)  # user ids fit
    kernel(plan.key, plan.indptr, plan.cdf, plan.guide, MAX_TRIES, plan.user_factors,
           plan.item_factors, plan.user_bias, plan.item_bias, plan.mu, plan.noise,
           plan.t_start, plan.t_active, plan.with_times, stamps, indices, values, times)
    return indices, values, (times if plan.with_times else None)


def make_ratings(n_users=1000, n_items=500, n_ratings=20_000, *, rank=10, noise=0.5, zipf=1.0,
                 timestamps=False, dtype=np.float64, seed=0, n_threads=None):
    r"""A MovieLens-like synthetic explicit data set with a planted model.

    Each user :math:`u` rates :math:`n_u` distinct items. The activities
    :math:`n_u` are log-normal (:math:`\sigma = 1`), scaled to sum to
    ``n_ratings``, each between 1 and ``max(1, n_items // 2)``. Items are
    drawn without replacement with probability proportional to
    :math:`1 / r_i^{s}`, where :math:`r_i` is the item's popularity rank (a
    random permutation of the ids) and :math:`s` is ``zipf``; after 16 draws
    that hit items the user already has, the next free item after a uniform
    draw is taken instead, which bounds the work of heavy users. The rating is

    .. math::

        r_{ui} = \operatorname{clip}_{[1, 5]} \operatorname{round}\left(
            \mu + b_u + b_i + p_u^\top q_i + \text{noise} \cdot \varepsilon_{ui}
        \right), \qquad \varepsilon_{ui} \sim N(0, 1)

    with :math:`\mu = 3.65`, :math:`b_u \sim N(0, 0.5^2)`,
    :math:`b_i \sim N(0, 0.5^2)` plus 0.15 times the item's log-popularity
    standardised under the popularity distribution (popular items are rated
    higher, yet the mean rating does not move with ``n_items``), and
    :math:`p_u, q_i \sim N(0, \sqrt{0.7 / k}\, I_k)` (so
    :math:`\operatorname{Var}(p_u^\top q_i) \approx 0.7`). With the default
    noise about 4/14/29/31/22 % of the ratings are 1..5 stars (mean 3.52,
    std 1.11); MovieLens 100K has 6/11/27/34/21 % (mean 3.53, std 1.13).

    The biases, factors, activities and popularity ranks are drawn with
    ``numpy.random.default_rng(seed)``; the per-rating draws use a
    counter-based generator keyed by (seed, user), so the result is the same
    for every ``n_threads``.

    Parameters
    ----------
    n_users, n_items : int
        At least 1. Every user has at least one rating; items may have none.
    n_ratings : int
        Exact number of distinct (user, item) pairs, between ``n_users`` and
        ``n_users * max(1, n_items // 2)``.
    rank : int
        Number of latent factors :math:`k`, at least 1.
    noise : float
        Standard deviation of the Gaussian noise before rounding, >= 0.
    zipf : float
        Popularity exponent :math:`s >= 0`; 0 is uniform, 1 is MovieLens-like.
    timestamps : bool
        Also draw timestamps: int64 seconds between 1996 and 2019; each user
        starts at a uniform time and stays active for a log-normal period
        (median 30 days), most ratings falling early in it.
    dtype : {numpy.float32, numpy.float64}
        Dtype of the ratings.
    seed : int, numpy.random.Generator or None
        Same seed, same data set (on any machine with the same numpy).
    n_threads : int or None
        scikit-learn's meaning; the result does not depend on it.

    Returns
    -------
    Interactions
        ``n_users`` x ``n_items``, ``n_ratings`` explicit ratings, integers
        1..5 in ``dtype``; ids are ``arange(n_users)`` and ``arange(n_items)``;
        ``timestamps`` of shape (n_ratings,) int64 or None.

    Raises
    ------
    TypeError
        A count, ``rank``, ``noise`` or ``zipf`` of the wrong type, ``timestamps``
        not a bool, ``dtype`` not float32/float64, a bad ``seed`` or ``n_threads``.
    ValueError
        Counts below 1, ``n_ratings`` out of its range, ``noise`` or ``zipf``
        negative or not finite, ``n_threads`` 0 or below -1.

    Examples
    --------
    >>> data = make_ratings(200, 100, 2_000, seed=1)
    >>> data.nnz, data.n_users, data.n_items
    (2000, 200, 100)
    """
    plan = _plan_ratings(n_users, n_items, n_ratings, rank, noise, zipf, timestamps, dtype, seed)
    n_threads = resolve_n_threads(n_threads)
    with numba_threads(n_threads) as n:
        n_blocks = max(1, min(n, len(plan.indptr) - 1))
        indices, values, times = _fill(plan, synthetic_nb.generate_ratings, n_blocks)
    n_users, n_items = len(plan.indptr) - 1, len(plan.cdf)
    return Interactions(plan.indptr, indices, values, np.arange(n_users), np.arange(n_items),
                        times, implicit=False)

