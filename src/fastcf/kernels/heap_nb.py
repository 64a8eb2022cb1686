"""k-heap shared by the Numba kernels: a binary min-heap whose top is the WORST kept entry.

"Worse" is the strict order of every top-k in fastcf: lower value, or equal
value and higher index (the Cython kernels' twin is ``_heap.pxd``).
"""

import numba

from .._config import NUMBA_JIT


@numba.njit(**NUMBA_JIT)
def worse(v1, e1, v2, e2):
    return v1 < v2 or (v1 == v2 and e1 > e2)


@numba.njit(**NUMBA_JIT)
def sift_down(hv, he, pos, size):
    v, e = hv[pos], he[pos]
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        if child + 1 < size and worse(hv[child + 1], he[child + 1], hv[child], he[child]):
            child += 1
        if not worse(hv[child], he[child], v, e):
            break
        hv[pos] = hv[child]
        he[pos] = he[child]
        pos = child
    hv[pos] = v
    he[pos] = e


@numba.njit(**NUMBA_JIT)
def push(hv, he, size, k, v, e):
    """Offer (v, e) to the heap of capacity k holding ``size``; returns the new size."""
    if size < k:
        pos = size
        while pos > 0:
            parent = (pos - 1) >> 1
            if not worse(v, e, hv[parent], he[parent]):
                break
            hv[pos] = hv[parent]
            he[pos] = he[parent]
            pos = parent
        hv[pos] = v
        he[pos] = e
        return size + 1
    if worse(hv[0], he[0], v, e):
        hv[0] = v
        he[0] = e
        sift_down(hv, he, 0, size)
    return size


@numba.njit(**NUMBA_JIT)
def heap_sort(hv, he, size):
    """In place: afterwards hv/he[:size] are best first."""
    for end in range(size - 1, 0, -1):
        v, e = hv[end], he[end]
        hv[end] = hv[0]
        he[end] = he[0]
        hv[0] = v
        he[0] = e
        sift_down(hv, he, 0, end)
