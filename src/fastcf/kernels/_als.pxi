# The body of _als and _als_avx2 (see _als.pyx): one source, two builds.

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport sqrt
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport free, malloc

ctypedef fused index_t:
    int32_t
    int64_t

ctypedef fused data_t:
    float
    double

# Rows per prange iteration (kernels/als_nb.py's _ROWS_PER_CHUNK).
cdef enum:
    _ROWS_PER_CHUNK = 64


cdef inline void _symv(const floating* A, const floating* v, floating* out,
                       Py_ssize_t k) noexcept nogil:
    # out = A v for a symmetric A, as a sum of A's rows: no horizontal reduction
    cdef Py_ssize_t a, b
    cdef floating vb
    for a in range(k):
        out[a] = 0
    for b in range(k):
        vb = v[b]
        for a in range(k):
            out[a] = out[a] + A[b * k + a] * vb


cdef inline floating _dot(const floating* y, const floating* v, Py_ssize_t k) noexcept nogil:
    cdef Py_ssize_t a
    cdef floating total = 0
    for a in range(k):
        total = total + y[a] * v[a]
    return total


cdef void _cg_row(const index_t* indptr, const index_t* indices, const data_t* data,
                  floating alpha, const floating* Y, const floating* YtY, floating* x,
                  Py_ssize_t k, Py_ssize_t u, int cg_steps, floating* r, floating* p,
                  floating* Ap) noexcept nogil:
    cdef Py_ssize_t j, a
    cdef const floating* y
    cdef floating w, coef, rsold, rsnew, pAp, step, beta
    cdef int it
    _symv(YtY, x, r, k)
    for a in range(k):
        r[a] = -r[a]
    for j in range(indptr[u], indptr[u + 1]):
        y = Y + <Py_ssize_t>indices[j] * k
        w = alpha * <floating>data[j]
        coef = 1 + w - w * _dot(y, x, k)
        for a in range(k):
            r[a] = r[a] + coef * y[a]
    rsold = 0
    for a in range(k):
        p[a] = r[a]
        rsold = rsold + r[a] * r[a]
    if rsold < 1e-20:
        return
    for it in range(cg_steps):
        _symv(YtY, p, Ap, k)
        for j in range(indptr[u], indptr[u + 1]):
            y = Y + <Py_ssize_t>indices[j] * k
            coef = alpha * <floating>data[j] * _dot(y, p, k)
            for a in range(k):
                Ap[a] = Ap[a] + coef * y[a]
        pAp = _dot(p, Ap, k)
        step = rsold / pAp
        rsnew = 0
        for a in range(k):
            x[a] = x[a] + step * p[a]
            r[a] = r[a] - step * Ap[a]
            rsnew = rsnew + r[a] * r[a]
        if rsnew < 1e-20:
            return
        beta = rsnew / rsold
        for a in range(k):
            p[a] = r[a] + beta * p[a]
        rsold = rsnew


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
                  int n_threads):
    cdef Py_ssize_t n_rows = X.shape[0], k = X.shape[1]
    cdef Py_ssize_t n_chunks = (n_rows + _ROWS_PER_CHUNK - 1) // _ROWS_PER_CHUNK
    cdef Py_ssize_t chunk, u, a, stop
    cdef floating a_ = <floating>alpha
    cdef floating* v1
    cdef floating* v2
    cdef floating* v3
    cdef floating* A
    if n_rows == 0:
        return
    with nogil, parallel(num_threads=n_threads):
        v1 = <floating*>malloc(sizeof(floating) * k)
        v2 = <floating*>malloc(sizeof(floating) * k)
        v3 = <floating*>malloc(sizeof(floating) * k)
        A = <floating*>malloc(sizeof(floating) * (k * k if exact else 1))
        try:
            for chunk in prange(n_chunks, schedule="dynamic"):
                stop = (chunk + 1) * _ROWS_PER_CHUNK
                if stop > n_rows:
                    stop = n_rows
                for u in range(chunk * _ROWS_PER_CHUNK, stop):
                    if indptr[u] == indptr[u + 1]:
                        for a in range(k):
                            X[u, a] = 0
                    elif exact:
                        _exact_row(&indptr[0], &indices[0], &data[0], a_, &Y[0, 0],
                                   &YtY[0, 0], &X[u, 0], k, u, A, v1)
                    else:
                        _cg_row(&indptr[0], &indices[0], &data[0], a_, &Y[0, 0], &YtY[0, 0],
                                &X[u, 0], k, u, cg_steps, v1, v2, v3)
        finally:
            free(v1)
            free(v2)
            free(v3)
            free(A)
