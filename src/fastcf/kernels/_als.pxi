# The body of _als and _als_avx2 (see _als.pyx): one source, two builds.

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport sqrt
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset
from scipy.linalg.cython_blas cimport dgemm, sgemm

ctypedef fused index_t:
    int32_t
    int64_t

ctypedef fused data_t:
    float
    double

cdef inline floating _dot(const floating* y, const floating* v, Py_ssize_t k) noexcept nogil:
    cdef Py_ssize_t a
    cdef floating total = 0
    for a in range(k):
        total = total + y[a] * v[a]
    return total


cdef inline void _times_gram(const floating* V, const floating* YtY, floating* out,
                             int n, int k) noexcept nogil:
    # out (n x k, row-major) = V (n x k) @ YtY (symmetric): one BLAS product
    cdef floating one = 1, zero = 0
    if floating is float:
        sgemm("N", "N", &k, &n, &k, &one, <float*>YtY, &k, <float*>V, &k, &zero, out, &k)
    else:
        dgemm("N", "N", &k, &n, &k, &one, <double*>YtY, &k, <double*>V, &k, &zero, out, &k)


cdef void _cg_chunk(const index_t* indptr, const index_t* indices, const data_t* data,
                    floating alpha, const floating* Y, const floating* YtY, floating* X,
                    Py_ssize_t k, Py_ssize_t lo, Py_ssize_t hi, int cg_steps, floating* R,
                    floating* P, floating* AP, floating* rsold, char* active) noexcept nogil:
    # Conjugate gradient for rows lo..hi-1 in lock-step: the products with YtY of the
    # whole chunk are one BLAS matrix product per step; the rest is row by row.
    cdef Py_ssize_t n = hi - lo, r, u, j, a
    cdef const floating* y
    cdef floating* x
    cdef floating* p
    cdef floating w, coef, rs, rsnew, pAp, step, beta
    cdef int it
    _times_gram(X + lo * k, YtY, AP, <int>n, <int>k)
    for r in range(n):
        u = lo + r
        x = X + u * k
        active[r] = 0
        if indptr[u] == indptr[u + 1]:
            for a in range(k):
                x[a] = 0
            continue
        for a in range(k):
            R[r * k + a] = -AP[r * k + a]
        for j in range(indptr[u], indptr[u + 1]):
            y = Y + <Py_ssize_t>indices[j] * k
            w = alpha * <floating>data[j]
            coef = 1 + w - w * _dot(y, x, k)
            for a in range(k):
                R[r * k + a] = R[r * k + a] + coef * y[a]
        rs = 0
        for a in range(k):
            P[r * k + a] = R[r * k + a]
            rs = rs + R[r * k + a] * R[r * k + a]
        rsold[r] = rs
        active[r] = rs >= 1e-20
    for it in range(cg_steps):
        _times_gram(P, YtY, AP, <int>n, <int>k)
        for r in range(n):
            if not active[r]:
                continue
            u = lo + r
            x = X + u * k
            p = P + r * k
            for j in range(indptr[u], indptr[u + 1]):
                y = Y + <Py_ssize_t>indices[j] * k
                coef = alpha * <floating>data[j] * _dot(y, p, k)
                for a in range(k):
                    AP[r * k + a] = AP[r * k + a] + coef * y[a]
            pAp = _dot(p, AP + r * k, k)
            step = rsold[r] / pAp
            rsnew = 0
            for a in range(k):
                x[a] = x[a] + step * p[a]
                R[r * k + a] = R[r * k + a] - step * AP[r * k + a]
                rsnew = rsnew + R[r * k + a] * R[r * k + a]
            if rsnew < 1e-20:
                active[r] = 0
                continue
            beta = rsnew / rsold[r]
            for a in range(k):
                p[a] = R[r * k + a] + beta * p[a]
            rsold[r] = rsnew


cdef void _exact_row(const index_t* indptr, const index_t* indices, const data_t* data,
                     floating alpha, const floating* Y, const floating* YtY, floating* x,
                     Py_ssize_t k, Py_ssize_t u, floating* A, floating* b) noexcept nogil:
    # A = YtY + Y_u^T (C_u - I) Y_u (upper triangle), b = Y_u^T C_u 1; Cholesky solve.
    cdef Py_ssize_t j, a, c, m
    cdef const floating* y
    cdef floating w, wy, d, s
    for a in range(k * k):
        A[a] = YtY[a]
    for a in range(k):
        b[a] = 0
    for j in range(indptr[u], indptr[u + 1]):
        y = Y + <Py_ssize_t>indices[j] * k
        w = alpha * <floating>data[j]
        for c in range(k):
            wy = w * y[c]
            b[c] = b[c] + (1 + w) * y[c]
            for a in range(c, k):
                A[c * k + a] = A[c * k + a] + wy * y[a]
    # A = L L^T, L[a, c] stored at A[c, a] (a >= c)
    for c in range(k):
        d = A[c * k + c]
        for m in range(c):
            d = d - A[m * k + c] * A[m * k + c]
        d = sqrt(d)
        A[c * k + c] = d
        for a in range(c + 1, k):
            s = A[c * k + a]
            for m in range(c):
                s = s - A[m * k + c] * A[m * k + a]
            A[c * k + a] = s / d
    for a in range(k):
        s = b[a]
        for m in range(a):
            s = s - A[m * k + a] * b[m]
        b[a] = s / A[a * k + a]
    for a in range(k - 1, -1, -1):
        s = b[a]
        for m in range(a + 1, k):
            s = s - A[a * k + m] * b[m]
        b[a] = s / A[a * k + a]
    for a in range(k):
        x[a] = b[a]


def least_squares(const index_t[::1] indptr, const index_t[::1] indices,
                  const data_t[::1] data, double alpha, const floating[:, ::1] Y,
                  const floating[:, ::1] YtY, floating[:, ::1] X, int cg_steps, bint exact,
                  const int64_t[::1] bounds, int n_threads):
    cdef Py_ssize_t k = X.shape[1], n_chunks = bounds.shape[0] - 1
    cdef Py_ssize_t chunk, u, widest = 1
    cdef floating a_ = <floating>alpha
    cdef floating* buf
    cdef char* active
    for chunk in range(n_chunks):
        widest = max(widest, bounds[chunk + 1] - bounds[chunk])
    if X.shape[0] == 0:
        return
    with nogil, parallel(num_threads=n_threads):
        # per thread: R, P, AP of the widest chunk and rsold (CG), or A and b (Cholesky)
        buf = <floating*>malloc(sizeof(floating) * (k * k + k if exact else
                                                    widest * (3 * k + 1)))
        active = <char*>malloc(widest)
        try:
            for chunk in prange(n_chunks, schedule="dynamic"):
                if not exact:
                    _cg_chunk(&indptr[0], &indices[0], &data[0], a_, &Y[0, 0], &YtY[0, 0],
                              &X[0, 0], k, bounds[chunk], bounds[chunk + 1], cg_steps, buf,
                              buf + widest * k, buf + 2 * widest * k, buf + 3 * widest * k,
                              active)
                    continue
                for u in range(bounds[chunk], bounds[chunk + 1]):
                    if indptr[u] == indptr[u + 1]:
                        memset(&X[u, 0], 0, sizeof(floating) * k)
                    else:
                        _exact_row(&indptr[0], &indices[0], &data[0], a_, &Y[0, 0],
                                   &YtY[0, 0], &X[u, 0], k, u, buf, buf + k * k)
        finally:
            free(buf)
            free(active)
