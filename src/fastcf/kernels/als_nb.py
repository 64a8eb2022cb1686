"""Numba kernel: implicit-ALS per-row solves over a CSR (see ``kernels.als``).

Rows go to the threads in the chunks ``bounds`` delimits (``kernels.als.chunk_bounds``:
fixed by the data, never by the thread count); each row is solved from the
same inputs in the same order whichever thread runs it, so the result does not
depend on the thread count. Arithmetic is in the factors' dtype.
"""

import numba
import numpy as np

from .._config import NUMBA_ORDERED_JIT, NUMBA_PARALLEL_JIT
from .dot_nb import ordered_dot
from .prefetch_nb import prefetch_row

#: Entries ahead whose rows of Y the first pass over a row asks the CPU to fetch.
_PREFETCH_DISTANCE = 8


@numba.njit(**NUMBA_ORDERED_JIT)
def _cg_chunk(indptr, indices, data, alpha, Y, YtY, X, lo, hi, cg_steps, R, P, AP, rsold,
              active, B, W):
    """Conjugate gradient for rows lo..hi-1 in lock-step: the products with YtY of the
    whole chunk are one BLAS matrix product per step; the rest is row by row.

    The first pass copies the chunk's rows of Y, in entry order, into ``B`` (and
    the weights into ``W``): every later step reads them as one sequential stream
    instead of rows scattered over Y."""
    k = X.shape[1]
    n = hi - lo
    one = X.dtype.type(1)
    base = indptr[lo]
    np.dot(X[lo:hi], YtY, AP[:n])
    for r in range(n):
        u = lo + r
        active[r] = False
        if indptr[u] == indptr[u + 1]:
            X[u, :] = 0
            continue
        for a in range(k):
            R[r, a] = -AP[r, a]
        end = indptr[u + 1]
        for j in range(indptr[u], end):
            if j + _PREFETCH_DISTANCE < end:
                prefetch_row(Y, indices[j + _PREFETCH_DISTANCE])
            i = indices[j]
            t = j - base
            w = alpha * X.dtype.type(data[j])
            W[t] = w
            for a in range(k):
                B[t, a] = Y[i, a]
            d = ordered_dot(B[t], X[u])
            coef = one + w - w * d
            for a in range(k):
                R[r, a] += coef * B[t, a]
        for a in range(k):
            P[r, a] = R[r, a]
        rs = ordered_dot(R[r], R[r])
        rsold[r] = rs
        active[r] = rs >= 1e-20
    for _ in range(cg_steps):
        np.dot(P[:n], YtY, AP[:n])
        for r in range(n):
            if not active[r]:
                continue
            u = lo + r
            p = P[r]
            for t in range(indptr[u] - base, indptr[u + 1] - base):
                coef = W[t] * ordered_dot(B[t], p)
                for a in range(k):
                    AP[r, a] += coef * B[t, a]
            pAp = ordered_dot(p, AP[r])
            step = rsold[r] / pAp
            for a in range(k):
                X[u, a] += step * p[a]
                R[r, a] -= step * AP[r, a]
            rsnew = ordered_dot(R[r], R[r])
            if rsnew < 1e-20:
                active[r] = False
                continue
            beta = rsnew / rsold[r]
            for a in range(k):
                p[a] = R[r, a] + beta * p[a]
            rsold[r] = rsnew


@numba.njit(**NUMBA_ORDERED_JIT)
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
def least_squares(indptr, indices, data, alpha, Y, YtY, X, cg_steps, exact, bounds,
                  n_threads):
    k = X.shape[1]
    alpha = X.dtype.type(alpha)
    n_chunks = len(bounds) - 1
    rows, entries = 1, 1
    for chunk in range(n_chunks):
        rows = max(rows, bounds[chunk + 1] - bounds[chunk])
        entries = max(entries, indptr[bounds[chunk + 1]] - indptr[bounds[chunk]])
    # Each part takes every n_parts-th chunk with buffers allocated once for all of
    # them: a fresh buffer per chunk costs page faults where large blocks go back to
    # the system at free (Dask's workers set MALLOC_TRIM_THRESHOLD_: 3.5x slower).
    # A chunk's result does not depend on the part it is in.
    n_parts = min(n_chunks, 4 * n_threads)
    for part in numba.prange(n_parts):
        if not exact:
            R = np.empty((rows, k), X.dtype)
            P = np.empty((rows, k), X.dtype)
            AP = np.empty((rows, k), X.dtype)
            rsold = np.empty(rows, X.dtype)
            active = np.empty(rows, np.bool_)
            B = np.empty((entries, k), X.dtype)
            W = np.empty(entries, X.dtype)
            for chunk in range(part, n_chunks, n_parts):
                _cg_chunk(indptr, indices, data, alpha, Y, YtY, X, bounds[chunk],
                          bounds[chunk + 1], cg_steps, R, P, AP, rsold, active, B, W)
            continue
        A = np.empty((k, k), X.dtype)
        b = np.empty(k, X.dtype)
        for chunk in range(part, n_chunks, n_parts):
            for u in range(bounds[chunk], bounds[chunk + 1]):
                if indptr[u] == indptr[u + 1]:
                    X[u, :] = 0
                else:
                    _exact_row(indptr, indices, data, alpha, Y, YtY, X, u, A, b)
