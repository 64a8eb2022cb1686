"""Cython twin of ``dp_als_nb``: per-row Gram matrices and right-hand sides of DP-ALS.

One OpenMP thread per row (handed out dynamically); each row is summed in its
stored order into the upper triangle of its own output, then mirrored, so the
result does not depend on the thread count. The steps are those of the Numba
kernel, described in its module docstring.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int64_t


def row_statistics(const int64_t[::1] indptr, const int64_t[::1] indices,
                   const double[::1] gram_w, const double[::1] rhs_w,
                   const floating[:, ::1] F, Py_ssize_t lo, Py_ssize_t hi,
                   double[:, :, ::1] G, double[:, ::1] b, int n_threads):
    """Same contract as ``kernels.dp_als.run_row_statistics`` (arrays already checked)."""
    cdef Py_ssize_t d = F.shape[1]
    cdef Py_ssize_t r, e, c, p, q
    cdef double w, t, fp, wp
    # O(1) guards against writing out of bounds; the wrapper validates the rest.
    if lo < 0 or hi < lo or hi >= indptr.shape[0] or G.shape[0] < hi - lo \
            or b.shape[0] < hi - lo or G.shape[1] != d or G.shape[2] != d or b.shape[1] != d:
        raise ValueError("G, b must be (hi - lo, d, d), (hi - lo, d) and [lo, hi) rows of the CSR.")
    if gram_w.shape[0] != indices.shape[0] or rhs_w.shape[0] != indices.shape[0]:
        raise ValueError("indices and weights lengths differ.")
    if n_threads < 1:
        n_threads = 1
    for r in prange(hi - lo, nogil=True, schedule="dynamic", chunksize=8,
                    num_threads=n_threads):
        for p in range(d):
            b[r, p] = 0.0
            for q in range(d):
                G[r, p, q] = 0.0
        for e in range(indptr[lo + r], indptr[lo + r + 1]):
            c = indices[e]
            w = gram_w[e]
            t = rhs_w[e]
            for p in range(d):
                fp = F[c, p]
                b[r, p] = b[r, p] + t * fp
                wp = w * fp
                for q in range(p, d):
                    G[r, p, q] = G[r, p, q] + wp * F[c, q]
        for p in range(d):
            for q in range(p + 1, d):
                G[r, q, p] = G[r, p, q]
