"""Software prefetch for the Cython kernels (twin of ``prefetch_nb``).

A hint to fetch a row the kernel will soon write: it never faults and changes
no result. Compilers without ``__builtin_prefetch`` get a no-op.
"""

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define FASTCF_PREFETCH_WRITE(p) __builtin_prefetch((p), 1, 3)
    #define FASTCF_PREFETCH_READ(p) __builtin_prefetch((p), 0, 3)
    #else
    #define FASTCF_PREFETCH_WRITE(p) ((void)(p))
    #define FASTCF_PREFETCH_READ(p) ((void)(p))
    #endif
    """
    void FASTCF_PREFETCH_WRITE(const void* p) noexcept nogil
    void FASTCF_PREFETCH_READ(const void* p) noexcept nogil


cdef inline void _prefetch_lines(const void* start, Py_ssize_t n_bytes,
                                 bint write) noexcept nogil:
    """Request every cache line of the n_bytes at ``start`` (the last byte too: an
    unaligned span ends in one more line than its length says); ``write`` is a
    constant at every call, so the branch folds away."""
    cdef const char* first = <const char*>start
    cdef Py_ssize_t offset
    for offset in range(0, n_bytes, 64):
        if write:
            FASTCF_PREFETCH_WRITE(first + offset)
        else:
            FASTCF_PREFETCH_READ(first + offset)
    if n_bytes > 0:
        if write:
            FASTCF_PREFETCH_WRITE(first + n_bytes - 1)
        else:
            FASTCF_PREFETCH_READ(first + n_bytes - 1)


cdef inline void prefetch_row(const void* row, Py_ssize_t n_bytes) noexcept nogil:
    """Request, for writing, every cache line of the n_bytes at ``row``."""
    _prefetch_lines(row, n_bytes, True)


cdef inline void prefetch_read(const void* start, Py_ssize_t n_bytes) noexcept nogil:
    """Request, for reading, every cache line of the n_bytes at ``start`` (twin of
    ``prefetch_nb.prefetch_span``)."""
    _prefetch_lines(start, n_bytes, False)
