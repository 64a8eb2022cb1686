# distutils: extra_compile_args = -fno-math-errno -fno-trapping-math -fassociative-math -fno-signed-zeros
"""Cython twin of ``dp_clip_nb``: per-group squared gradient norms of a Dense layer.

One OpenMP thread per group (handed out dynamically), each thread with its own
float64 buffer for the groups it materialises; every group is summed in one
fixed order, so the result does not depend on the thread count (the flags above
let gcc vectorise its dot products, as Numba's fastmath does). The steps (and
the choice between the Gram identity and the buffer) are those of the Numba
kernel, described in its module docstring.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc


def dp_clip_sq_norms(const int64_t[::1] indptr, const floating[:, ::1] a,
                     const floating[:, ::1] g, const floating[:, ::1] rows, double[::1] out,
                     int n_threads):
    """Same contract as ``kernels.dp_clip.run_dp_clip_sq_norms``'s kernel (arrays checked)."""
    cdef Py_ssize_t n_groups = indptr.shape[0] - 1
    cdef Py_ssize_t n_in = a.shape[1], n_out = g.shape[1], width = rows.shape[1]
    cdef Py_ssize_t u, lo, hi, n, j, m, k, o, f
    cdef double total, aa, gg, ak
    cdef double* buf = NULL
    cdef int failed = 0
    cdef int* failed_flag = &failed   # written through: a plain assignment would be thread-private
    cdef bint bad = False
    # O(1) guards against reading out of bounds; the wrapper validates the rest.
    if out.shape[0] != n_groups or g.shape[0] != a.shape[0] or rows.shape[0] != a.shape[0]:
        raise ValueError("out, a, g and rows disagree in shape.")
    if n_groups <= 0:
        return
    if indptr[n_groups] > a.shape[0]:
        raise ValueError("indptr points past the end of a.")
    if n_threads < 1:
        n_threads = 1
    with nogil, parallel(num_threads=n_threads):
        buf = <double*>malloc((n_in + 1) * n_out * sizeof(double))
        bad = buf == NULL
        if bad:
            failed_flag[0] = 1
        for u in prange(n_groups, schedule="dynamic", chunksize=1):
            lo = indptr[u]
            hi = indptr[u + 1]
            n = hi - lo
            if bad or n == 0:
                continue
            total = 0.0
            if (n - 1) * (n_in + n_out + 1) < 2 * (n_in + 1) * n_out:
                for j in range(lo, hi):
                    for m in range(j, hi):
                        aa = 1.0
                        for k in range(n_in):
                            aa = aa + <double>a[j, k] * <double>a[m, k]
                        gg = 0.0
                        for o in range(n_out):
                            gg = gg + <double>g[j, o] * <double>g[m, o]
                        if m == j:
                            total = total + aa * gg
                        else:
                            total = total + 2.0 * aa * gg
            else:
                for k in range((n_in + 1) * n_out):
                    buf[k] = 0.0
                for j in range(lo, hi):
                    for k in range(n_in):
                        ak = a[j, k]
                        for o in range(n_out):
                            buf[k * n_out + o] = buf[k * n_out + o] + ak * <double>g[j, o]
                    for o in range(n_out):
                        buf[n_in * n_out + o] = buf[n_in * n_out + o] + <double>g[j, o]
                for k in range((n_in + 1) * n_out):
                    total = total + buf[k] * buf[k]
            for j in range(lo, hi):
                for f in range(width):
                    total = total + <double>rows[j, f] * <double>rows[j, f]
            out[u] = out[u] + total
        free(buf)
    if failed:
        raise MemoryError(f"could not allocate the per-thread buffer of {n_in + 1} x {n_out}.")
