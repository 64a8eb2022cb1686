"""k-heap shared by the Cython kernels: a binary min-heap whose top is the WORST kept entry.

"Worse" is the strict order of every top-k in fastcf: lower value, or equal
value and higher index. Inline definitions live here (a .pxd) so that each
extension compiles its own copy, with no cross-module call.
"""

from cython cimport floating
from libc.stdint cimport int64_t


cdef inline bint _worse(floating v1, int64_t i1, floating v2, int64_t i2) noexcept nogil:
    """(v1, i1) ranks after (v2, i2): lower value, or equal value and higher index."""
    return v1 < v2 or (v1 == v2 and i1 > i2)


cdef inline void _sift_down(floating* hv, int64_t* hi, Py_ssize_t pos,
                            Py_ssize_t size) noexcept nogil:
    """Move hv/hi[pos] down the heap of ``size`` entries to its place."""
    cdef floating v = hv[pos]
    cdef int64_t i = hi[pos]
    cdef Py_ssize_t child
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        if child + 1 < size and _worse(hv[child + 1], hi[child + 1], hv[child], hi[child]):
            child = child + 1
        if not _worse(hv[child], hi[child], v, i):
            break
        hv[pos] = hv[child]
        hi[pos] = hi[child]
        pos = child
    hv[pos] = v
    hi[pos] = i


cdef inline Py_ssize_t _heap_push(double* hv, int64_t* hi, Py_ssize_t size, Py_ssize_t k,
                                  double v, int64_t i) noexcept nogil:
    """Offer (v, i) to the heap of capacity k >= 1 holding ``size``; returns the new size."""
    cdef Py_ssize_t pos, parent
    if size < k:
        pos = size
        while pos > 0:
            parent = (pos - 1) >> 1
            if not _worse(v, i, hv[parent], hi[parent]):
                break
            hv[pos] = hv[parent]
            hi[pos] = hi[parent]
            pos = parent
        hv[pos] = v
        hi[pos] = i
        return size + 1
    if _worse(hv[0], hi[0], v, i):
        hv[0] = v
        hi[0] = i
        _sift_down(hv, hi, 0, size)
    return size


cdef inline void _heap_sort(double* hv, int64_t* hi, Py_ssize_t size) noexcept nogil:
    """In-place heap-sort: afterwards hv/hi[:size] are best first."""
    cdef Py_ssize_t end
    cdef double v
    cdef int64_t i
    for end in range(size - 1, 0, -1):
        v = hv[end]
        i = hi[end]
        hv[end] = hv[0]
        hi[end] = hi[0]
        hv[0] = v
        hi[0] = i
        _sift_down(hv, hi, 0, end)
