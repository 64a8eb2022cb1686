"""Reference twin of ``kernels.synthetic_nb.generate_ratings``: plain Python loops.

Same counter-based random numbers (splitmix64 on Python ints masked to 64
bits), same sampling, same rounding; written for reading, not for speed.
"""

import math
from bisect import bisect_right

MASK64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
STREAM_ITEMS = 0
STREAM_NOISE = 1
STREAM_TIMES = 2
N_STREAMS = 4


def fmix64(z):
    z = ((z ^ (z >> 30)) * MIX1) & MASK64
    z = ((z ^ (z >> 27)) * MIX2) & MASK64
    return z ^ (z >> 31)


def stream_base(key, user, stream):
    return fmix64((key + GAMMA * (N_STREAMS * user + stream + 1)) & MASK64)


def draw(base, counter):
    return fmix64((base + GAMMA * (counter + 1)) & MASK64)


def to_unit(word):
    return (word >> 11) * 2.0 ** -53


def to_normal(word):
    u1 = ((word >> 32) + 1.0) * 2.0 ** -32
    u2 = (word & 0xFFFFFFFF) * 2.0 ** -32
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def sample_items(key, user, count, cdf, max_tries):
    """``count`` distinct items for ``user``, sorted."""
    n_items = len(cdf)
    base = stream_base(key, user, STREAM_ITEMS)
    counter = 0
    taken = set()
    for _ in range(count):
        item = None
        for _ in range(max_tries):
            j = bisect_right(cdf, to_unit(draw(base, counter)))
            counter += 1
            if j not in taken:
                item = j
                break
        if item is None:
            j = min(int(to_unit(draw(base, counter)) * n_items), n_items - 1)
            counter += 1
            while j in taken:
                j = (j + 1) % n_items
            item = j
        taken.add(item)
    return sorted(taken)


def generate_ratings(key, indptr, cdf, guide, max_tries, user_factors, item_factors, user_bias,
                     item_bias, mu, noise, t_start, t_active, with_times, stamps, indices,
                     values, times):
    """Same arguments and outputs as the Numba kernel (``guide`` and ``stamps``,
    its speed-ups, are unused)."""
    key = int(key)
    cdf = [float(c) for c in cdf]
    rank = user_factors.shape[1]
    for u in range(len(indptr) - 1):
        start, stop = int(indptr[u]), int(indptr[u + 1])
        items = sample_items(key, u, stop - start, cdf, max_tries)
        noise_base = stream_base(key, u, STREAM_NOISE)
        time_base = stream_base(key, u, STREAM_TIMES)
        for pos, i in zip(range(start, stop), items):
            indices[pos] = i
            dot = sum(float(user_factors[u, f]) * float(item_factors[i, f]) for f in range(rank))
            r = (float(mu) + float(user_bias[u]) + float(item_bias[i]) + dot
                 + float(noise) * to_normal(draw(noise_base, i)))
            values[pos] = min(max(math.floor(r + 0.5), 1.0), 5.0)
            if with_times:
                v = to_unit(draw(time_base, i))
                times[pos] = int(t_start[u]) + int(float(t_active[u]) * (v * v))
