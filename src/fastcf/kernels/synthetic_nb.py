"""Numba kernel of :func:`fastcf.datasets.make_ratings`: sample, sort and rate each user's items.

Every random number is a hash of ``(key, user, stream, counter)`` (splitmix64's
finaliser over a Weyl sequence), never the state of a shared generator, so a
user's rows depend only on the key and the user: the output is the same for
any thread count and any assignment of users to threads. The slow twin is
``fastcf.reference.synthetic.generate_ratings``; both must agree exactly.
"""

import numba
import numpy as np

from .._config import NUMBA_JIT, NUMBA_PARALLEL_JIT

# splitmix64 constants (Steele, Lea & Flood 2014; Vigna's reference code).
GAMMA = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
# The streams a user draws from; each is a separate splitmix64 sequence.
STREAM_ITEMS = 0
STREAM_NOISE = 1
STREAM_TIMES = 2
N_STREAMS = 4

_U30 = np.uint64(30)
_U27 = np.uint64(27)
_U31 = np.uint64(31)
_U11 = np.uint64(11)
_U32 = np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)
_ONE = np.uint64(1)
_TWO_M53 = 2.0 ** -53
_TWO_M32 = 2.0 ** -32
_TWO_PI = 2.0 * np.pi


@numba.njit(**NUMBA_JIT)
def fmix64(z):
    """splitmix64's output function: a bijective 64-bit avalanche mix."""
    z = (z ^ (z >> _U30)) * MIX1
    z = (z ^ (z >> _U27)) * MIX2
    return z ^ (z >> _U31)


@numba.njit(**NUMBA_JIT)
def stream_base(key, user, stream):
    """Start of the sequence of ``(user, stream)``: splitmix64 output number
    ``N_STREAMS * user + stream + 1`` of the generator seeded with ``key``."""
    index = np.uint64(user) * np.uint64(N_STREAMS) + np.uint64(stream) + _ONE
    return fmix64(key + GAMMA * index)


@numba.njit(**NUMBA_JIT)
def draw(base, counter):
    """Random 64-bit word number ``counter`` of the sequence starting at ``base``."""
    return fmix64(base + GAMMA * (np.uint64(counter) + _ONE))


@numba.njit(**NUMBA_JIT)
def to_unit(word):
    """Uniform float64 in [0, 1) from the top 53 bits of ``word``."""
    return np.float64(word >> _U11) * _TWO_M53


@numba.njit(**NUMBA_JIT)
def to_normal(word):
    """Standard normal from one word: Box-Muller on its two 32-bit halves."""
    u1 = (np.float64(word >> _U32) + 1.0) * _TWO_M32  # in (0, 1], so log is finite
    u2 = np.float64(word & _LOW32) * _TWO_M32
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(_TWO_PI * u2)


@numba.njit(**NUMBA_JIT)
def search_cdf(cdf, guide, x):
    """First index ``j`` with ``cdf[j] > x`` (``bisect_right``; ``cdf[-1] > x``).

    A guide table (Chen & Asau 1974) replaces the binary search, whose
    mispredicted branches cost ~70 ns a draw: ``guide[g]`` is
    ``bisect_right(cdf, g / len(guide))``, so the answer is a few steps past
    ``guide[int(x * len(guide))]``. The backward loop only guards against
    ``x * len(guide)`` rounding up across a cell boundary; the result is
    exactly ``bisect_right``'s either way.
    """
    g = np.int64(x * guide.shape[0])
    if g >= guide.shape[0]:
        g = guide.shape[0] - 1
    j = guide[g]
    while j > 0 and cdf[j - 1] > x:
        j -= 1
    while cdf[j] <= x:
        j += 1
    return j


@numba.njit(**NUMBA_JIT)
def _user_rows(u, key, indptr, cdf, guide, max_tries, stamp, user_factors, item_factors,
               user_bias, item_bias, mu, noise, t_start, t_active, with_times, indices,
               values, times):
    start = indptr[u]
    stop = indptr[u + 1]
    n_items = cdf.shape[0]
    base = stream_base(key, u, STREAM_ITEMS)
    counter = 0
    for pos in range(start, stop):
        item = -1
        # Popularity draws; a repeat is redrawn at most max_tries times so a
        # heavy user whose favourites are all taken never spins for long.
        for _ in range(max_tries):
            j = search_cdf(cdf, guide, to_unit(draw(base, counter)))
            counter += 1
            if stamp[j] != u:
                item = j
                break
        if item < 0:
            # Fallback: the first free item at or after a uniform start. At
            # most half the items are taken, so the probe is short.
            j = np.int64(to_unit(draw(base, counter)) * n_items)
            counter += 1
            if j >= n_items:
                j = n_items - 1
            while stamp[j] == u:
                j += 1
                if j == n_items:
                    j = 0
            item = j
        stamp[item] = u
        indices[pos] = item
    indices[start:stop].sort()

    # Noise and times are keyed by the item, not the draw, so they do not
    # depend on the order in which the items were sampled.
    noise_base = stream_base(key, u, STREAM_NOISE)
    time_base = stream_base(key, u, STREAM_TIMES)
    rank = user_factors.shape[1]
    offset = mu + user_bias[u]
    for pos in range(start, stop):
        i = indices[pos]
        dot = 0.0
        for f in range(rank):
            dot += user_factors[u, f] * item_factors[i, f]
        r = offset + item_bias[i] + dot + noise * to_normal(draw(noise_base, i))
        r = np.floor(r + 0.5)
        if r < 1.0:
            r = 1.0
        elif r > 5.0:
            r = 5.0
        values[pos] = r
        if with_times:
            v = to_unit(draw(time_base, i))
            # v**2 crowds a user's ratings towards the start of their active
            # period, as in MovieLens, where most ratings come in a first burst.
            times[pos] = t_start[u] + np.int64(t_active[u] * (v * v))


@numba.njit(**NUMBA_PARALLEL_JIT)
def generate_ratings(key, indptr, cdf, guide, max_tries, user_factors, item_factors, user_bias,
                     item_bias, mu, noise, t_start, t_active, with_times, stamps, indices,
                     values, times):
    """Fill the CSR entries of every user (see ``fastcf.datasets.make_ratings``).

    Parameters
    ----------
    key : uint64
        Seed of every random stream.
    indptr : ndarray of int32 or int64, shape (n_users + 1,)
        Row pointers: user ``u`` gets ``indptr[u+1] - indptr[u]`` distinct items,
        at most ``n_items // 2`` (or 1 when ``n_items == 1``).
    cdf : ndarray of float64, shape (n_items,)
        Cumulative item popularity, non-decreasing, ``cdf[-1] == 1.0``.
    guide : ndarray of int64, shape (n_guide,)
        ``guide[g] == bisect_right(cdf, g / n_guide)`` (see ``search_cdf``).
    max_tries : int
        Popularity draws per entry before the uniform fallback.
    user_factors : ndarray of float64, shape (n_users, rank)
    item_factors : ndarray of float64, shape (n_items, rank)
    user_bias : ndarray of float64, shape (n_users,)
    item_bias : ndarray of float64, shape (n_items,)
    mu, noise : float
    t_start : ndarray of int64, shape (n_users,)
        First timestamp of each user (seconds).
    t_active : ndarray of float64, shape (n_users,)
        Length of each user's active period (seconds).
    with_times : bool
        Fill ``times``; when False it may have length 0.
    stamps : ndarray of int32 or int64, shape (n_blocks, n_items)
        Scratch, all -1: block ``b`` (one per thread) marks with ``u`` the
        items user ``u`` has taken, so it never needs clearing.
    indices : ndarray of int32 or int64, shape (nnz,)
        Output: items, sorted within each user.
    values : ndarray of float32 or float64, shape (nnz,)
        Output: integer ratings in 1..5.
    times : ndarray of int64, shape (nnz,) or (0,)
        Output: timestamps.
    """
    n_users = indptr.shape[0] - 1
    n_blocks = stamps.shape[0]
    for b in numba.prange(n_blocks):
        stamp = stamps[b]
        # Users are dealt round-robin so that every block gets a fair share of
        # the (randomly placed) heavy users.
        for u in range(b, n_users, n_blocks):
            _user_rows(u, key, indptr, cdf, guide, max_tries, stamp, user_factors, item_factors,
                       user_bias, item_bias, mu, noise, t_start, t_active, with_times,
                       indices, values, times)
