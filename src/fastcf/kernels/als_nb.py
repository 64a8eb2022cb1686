"""Numba kernel: implicit-ALS per-row solves over a CSR (see ``kernels.als``).

Rows go to the threads in chunks (``_ROWS_PER_CHUNK``); each row is solved
alone from the same inputs in the same order, so the result does not depend
on the thread count. Arithmetic is in the factors' dtype.
"""

import numba
import numpy as np

from .._config import NUMBA_JIT, NUMBA_PARALLEL_JIT

#: Rows per prange iteration: the buffers are allocated once a chunk, and many
#: chunks balance rows of very different lengths between the threads.
_ROWS_PER_CHUNK = 64


@numba.njit(**NUMBA_JIT)
def _symv(A, v, out):
    """out = A v for a symmetric A, as a sum of A's rows (vectorises, no reduction)."""
    k = v.shape[0]
    for a in range(k):
        out[a] = 0
    for b in range(k):
        vb = v[b]
        for a in range(k):
            out[a] += A[b, a] * vb


@numba.njit(**NUMBA_JIT)
def _dot(Y, i, v):
    total = v.dtype.type(0)
    for a in range(v.shape[0]):
        total += Y[i, a] * v[a]
    return total


@numba.njit(**NUMBA_JIT)
def _cg_row(indptr, indices, data, alpha, Y, YtY, X, u, cg_steps, r, p, Ap):
    k = X.shape[1]
    x = X[u]
    one = X.dtype.type(1)
    _symv(YtY, x, r)
    for a in range(k):
        r[a] = -r[a]
    for j in range(indptr[u], indptr[u + 1]):
        i = indices[j]
        w = alpha * X.dtype.type(data[j])
        coef = one + w - w * _dot(Y, i, x)
        for a in range(k):
            r[a] += coef * Y[i, a]
    rsold = X.dtype.type(0)
    for a in range(k):
        p[a] = r[a]
        rsold += r[a] * r[a]
    if rsold < 1e-20:
        return
    for _ in range(cg_steps):
        _symv(YtY, p, Ap)
        for j in range(indptr[u], indptr[u + 1]):
            i = indices[j]
            coef = alpha * X.dtype.type(data[j]) * _dot(Y, i, p)
            for a in range(k):
                Ap[a] += coef * Y[i, a]
        pAp = X.dtype.type(0)
        for a in range(k):
            pAp += p[a] * Ap[a]
        step = rsold / pAp
        rsnew = X.dtype.type(0)
        for a in range(k):
            x[a] += step * p[a]
            r[a] -= step * Ap[a]
            rsnew += r[a] * r[a]
        if rsnew < 1e-20:
            return
        beta = rsnew / rsold
        for a in range(k):
            p[a] = r[a] + beta * p[a]
        rsold = rsnew


@numba.njit(**NUMBA_JIT)
def _exact_row(indptr, indices, data, alpha, Y, YtY, X, u, A, b):
    """Build A = YtY + Y_u^T (C_u - I) Y_u and b = Y_u^T C_u 1, solve A x = b by Cholesky."""
    k = X.shape[1]
    one = X.dtype.type(1)
    A[:, :] = YtY
    b[:] = 0
    for j in range(indptr[u], indptr[u + 1]):
        i = indices[j]
        w = alpha * X.dtype.type(data[j])
        for c in range(k):
            wy = w * Y[i, c]
            b[c] += (one + w) * Y[i, c]
            for a in range(c, k):  # lower triangle, column c
                A[c, a] += wy * Y[i, a]
    # Cholesky A = L L^T in place (L stored transposed in the upper rows: A[c, a] = L[a, c])
    for c in range(k):
        d = A[c, c]
        for m in range(c):
            d -= A[m, c] * A[m, c]
        d = np.sqrt(d)
        A[c, c] = d
        for a in range(c + 1, k):
            s = A[c, a]
            for m in range(c):
                s -= A[m, c] * A[m, a]
            A[c, a] = s / d
    # forward L z = b, then back L^T x = z
    for a in range(k):
        s = b[a]
        for m in range(a):
            s -= A[m, a] * b[m]
        b[a] = s / A[a, a]
    for a in range(k - 1, -1, -1):
        s = b[a]
        for m in range(a + 1, k):
            s -= A[a, m] * b[m]
        b[a] = s / A[a, a]
    for a in range(k):
        X[u, a] = b[a]


@numba.njit(**NUMBA_PARALLEL_JIT)
def least_squares(indptr, indices, data, alpha, Y, YtY, X, cg_steps, exact):
    n_rows, k = X.shape
    alpha = X.dtype.type(alpha)
    n_chunks = (n_rows + _ROWS_PER_CHUNK - 1) // _ROWS_PER_CHUNK
    for chunk in numba.prange(n_chunks):
        v1 = np.empty(k, X.dtype)
        v2 = np.empty(k, X.dtype)
        v3 = np.empty(k, X.dtype)
        A = np.empty((k, k), X.dtype) if exact else np.empty((1, 1), X.dtype)
        for u in range(chunk * _ROWS_PER_CHUNK, min(n_rows, (chunk + 1) * _ROWS_PER_CHUNK)):
            if indptr[u] == indptr[u + 1]:
                X[u, :] = 0
            elif exact:
                _exact_row(indptr, indices, data, alpha, Y, YtY, X, u, A, v1)
            else:
                _cg_row(indptr, indices, data, alpha, Y, YtY, X, u, cg_steps, v1, v2, v3)
