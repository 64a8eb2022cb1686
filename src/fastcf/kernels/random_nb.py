"""The seeded random stream of the Numba kernels (twin of ``_random.pxd`` and of
the reference's ``_splitmix64``): every backend draws the same numbers, so a
seed gives the same shuffles and samples on each."""

import numba
import numpy as np

from .._config import NUMBA_JIT


@numba.njit(**NUMBA_JIT)
def splitmix64(state):
    """(next state, a 64-bit draw): Steele et al.'s SplitMix64, wrapping uint64 arithmetic."""
    state = state + np.uint64(0x9E3779B97F4A7C15)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state, z ^ (z >> np.uint64(31))


@numba.njit(**NUMBA_JIT)
def cell_seed(seed, cell):
    """The seed of a cell (or chunk) of an epoch."""
    return seed ^ np.uint64(cell * 0x9E3779B1 + 1)


@numba.njit(**NUMBA_JIT)
def below(draw, n):
    """A draw in [0, n) from the high 32 bits of ``draw`` (Lemire's multiply-shift,
    n < 2**32): no division, and a bias under n / 2**32."""
    return np.int64(((draw >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))
