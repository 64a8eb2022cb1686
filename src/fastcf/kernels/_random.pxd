"""The seeded random stream of the Cython kernels (twin of ``random_nb``)."""

from libc.stdint cimport uint64_t


cdef inline uint64_t splitmix64(uint64_t* state) noexcept nogil:
    """The next 64-bit draw of Steele et al.'s SplitMix64, advancing ``state``."""
    cdef uint64_t z
    state[0] = state[0] + <uint64_t>0x9E3779B97F4A7C15
    z = state[0]
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EB
    return z ^ (z >> 31)


cdef inline uint64_t cell_seed(uint64_t seed, Py_ssize_t cell) noexcept nogil:
    """The seed of a cell (or chunk) of an epoch."""
    return seed ^ (<uint64_t>cell * <uint64_t>0x9E3779B1 + 1)


cdef inline Py_ssize_t below(uint64_t draw, Py_ssize_t n) noexcept nogil:
    """A draw in [0, n) from the high 32 bits of ``draw`` (n < 2**32)."""
    return <Py_ssize_t>(((draw >> 32) * <uint64_t>n) >> 32)
