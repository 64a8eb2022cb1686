"""Reference twin of the implicit-ALS per-row solves, row by row in plain NumPy.

Straight from implicit's pure-Python ``least_squares_cg`` and
``user_linear_equation`` (``implicit/cpu/als.py``), with the confidence of an
entry :math:`1 + \\alpha x` and preference 1.
"""

import numpy as np


def least_squares(indptr, indices, data, alpha, Y, YtY, X, cg_steps, exact, bounds=None):
    """Solve every row of ``X`` in place (``YtY`` already holds ``reg * I``).

    ``bounds`` (how the compiled kernels share the rows out) changes nothing here.
    """
    dtype = X.dtype.type
    for u in range(len(indptr) - 1):
        cols = indices[indptr[u]:indptr[u + 1]]
        if len(cols) == 0:
            X[u] = 0
            continue
        ys = Y[cols]
        weight = dtype(alpha) * data[indptr[u]:indptr[u + 1]].astype(X.dtype)
        if exact:
            A = YtY + (ys * weight[:, None]).T @ ys
            b = ((1 + weight)[:, None] * ys).sum(axis=0)
            X[u] = _cholesky_solve(A, b)
            continue
        x = X[u].copy()
        r = -(YtY @ x) + ((1 + weight - weight * (ys @ x))[:, None] * ys).sum(axis=0)
        p = r.copy()
        rsold = r @ r
        if rsold < 1e-20:
            continue
        for _ in range(cg_steps):
            Ap = YtY @ p + ((weight * (ys @ p))[:, None] * ys).sum(axis=0)
            step = rsold / (p @ Ap)
            x += step * p
            r -= step * Ap
            rsnew = r @ r
            if rsnew < 1e-20:
                break
            p = r + (rsnew / rsold) * p
            rsold = rsnew
        X[u] = x


def _cholesky_solve(A, b):
    L = np.linalg.cholesky(A)
    z = np.linalg.solve(L, b)
    return np.linalg.solve(L.T, z)
