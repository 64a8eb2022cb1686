r"""Checked public kernel of implicit ALS (Hu, Koren & Volinsky 2008): per-row solves.

For each row :math:`u` of a CSR matrix of interactions :math:`x_{ui}` (users
when the rows are users) the half-step of implicit ALS solves, with the other
side's factors :math:`Y` frozen,

.. math::

    (Y^T C_u Y + \lambda I)\, x_u = Y^T C_u p_u, \qquad
    c_{ui} = 1 + \alpha x_{ui}, \quad p_{ui} = 1 \text{ on the nonzeros}

(:math:`c = 1, p = 0` elsewhere), using :math:`Y^T C_u Y = Y^T Y + Y_u^T
(C_u - I) Y_u`: :math:`Y^T Y + \lambda I` is computed once (BLAS) and each
row touches only its nonzeros.
"""

import numpy as np

from .._parallel import resolve_n_threads, single_blas_thread
from .._validation import (
    check_choice,
    check_csr_arrays,
    check_float,
    check_int,
    check_value_matrix,
)
from ..reference import als as _reference
from . import _registry, als_nb

FAMILY = "als"
SOLVERS = ("cg", "cholesky")
#: Most rows in a chunk of the compiled kernels (see :func:`chunk_bounds`).
_CHUNK_ROWS = 256
#: Bytes of ``Y`` rows a chunk reads, at most (past its first row).
_CHUNK_BYTES = 2 * 1024 * 1024
# "auto" tries Cython first. The Numba kernel's sums are in a fixed order (see
# als_nb._dot): with "reassoc" the kernel compiled in one process and the same kernel
# loaded from Numba's cache in another summed differently, and a seed gave other factors
# in another process or on a Dask worker. In that order it is no faster than Cython:
# 70k x 10.7k, 2M ratings, one CG iteration, 1 thread: 64 factors Cython 0.30 s, Numba
# 0.48 s (0.24 s with "reassoc"); 128 factors 0.96 s both (0.51 s with "reassoc").
_registry.register(FAMILY, numba=als_nb.least_squares,
                   cython=_registry.cython_kernel("_als", "least_squares"),
                   reference=_reference.least_squares, auto=("cython", "numba", "reference"))


def gram(Y, reg):
    r""":math:`Y^T Y + \lambda I` in ``Y``'s dtype: one BLAS product on one thread.

    One thread because the solves follow at once on every core: a threaded
    BLAS leaves its workers spinning after the product, and they take the
    cores from the kernel's threads (64 factors, 2 threads: the user sweep
    0.12 s after a 2-thread product, 0.063 s after a 1-thread one; the product
    itself takes 5 ms).
    """
    with single_blas_thread():
        YtY = Y.T @ Y
    YtY[np.diag_indices_from(YtY)] += YtY.dtype.type(reg)
    return YtY


def least_squares(indptr, indices, data, Y, X, reg, alpha, *, solver="cg", cg_steps=3,
                  backend="auto", n_threads=None):
    r"""Solve every row's factors of implicit ALS in place; returns ``X``.

    Parameters
    ----------
    indptr : ndarray of int32 or int64, shape (n_rows + 1,)
    indices : ndarray, same dtype as ``indptr``, shape (nnz,)
        Column of each entry, in ``[0, len(Y))``.
    data : ndarray of float32 or float64, shape (nnz,)
        The interaction values :math:`x_{ui} >= 0` (ones for binary data).
    Y : ndarray of float32 or float64, shape (n_cols, factors)
        The other side's factors (frozen).
    X : ndarray, Y's dtype, shape (n_rows, factors)
        C-contiguous and writeable: the start of conjugate gradient (warm
        start) and the output. Rows without entries become 0.
    reg : float
        :math:`\lambda >= 0`.
    alpha : float
        :math:`\alpha > 0` of the confidence :math:`1 + \alpha x_{ui}`.
    solver : {"cg", "cholesky"}
        ``"cg"``: ``cg_steps`` steps of conjugate gradient from ``X`` (Takács
        et al. 2011, implicit's ``least_squares_cg``), stopping early when the
        squared residual falls below 1e-20; ``"cholesky"``: the exact solve.
    cg_steps : int
        >= 1.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        scikit-learn's meaning; the result does not depend on it.

    Returns
    -------
    X : ndarray, shape (n_rows, factors)
    """
    Y = check_value_matrix("Y", Y)
    if not isinstance(X, np.ndarray):
        raise TypeError(f"X must be a numpy array, got {type(X).__name__}.")
    if X.dtype != Y.dtype:
        raise TypeError(f"X.dtype == {X.dtype} but Y.dtype == {Y.dtype}; they must match.")
    indptr, indices, data = check_csr_arrays(indptr, indices, data, n_cols=len(Y))
    if X.ndim != 2 or X.shape != (len(indptr) - 1, Y.shape[1]):
        raise ValueError(f"X.shape == {X.shape}, must be ({len(indptr) - 1}, {Y.shape[1]}) "
                         "(rows of the CSR, columns of Y).")
    if not X.flags.c_contiguous or not X.flags.writeable:
        raise ValueError("X must be C-contiguous and writeable (written in place).")
    for name, values in (("data", data), ("Y", Y), ("X", X)):
        if not np.isfinite(values).all():
            raise ValueError(f"{name} contain NaN or inf values, must be finite.")
    if len(data) and data.min() < 0:
        raise ValueError(f"data contain {data.min()}, must be >= 0 (the confidence "
                         "1 + alpha * x would fall below 1).")
    reg = check_float("reg", reg, min_value=0.0)
    alpha = check_float("alpha", alpha, min_value=0.0, min_inclusive=False)
    check_choice("solver", solver, SOLVERS)
    cg_steps = check_int("cg_steps", cg_steps, min_value=1)
    if reg == 0.0 and Y.shape[1] > len(Y):
        raise ValueError(f"reg == 0.0 with more factors ({Y.shape[1]}) than rows of Y "
                         f"({len(Y)}): the systems are singular, must be > 0.")
    n_threads = resolve_n_threads(n_threads)
    return run_least_squares(indptr, indices, data, Y, gram(Y, reg), X, alpha,
                             solver, cg_steps, backend=backend, n_threads=n_threads)


def run_least_squares(indptr, indices, data, Y, YtY, X, alpha, solver, cg_steps, *,
                      backend="auto", n_threads=None):
    """:func:`least_squares` without the checks, ``YtY`` given (:func:`gram`), for
    arrays valid by construction (the sweeps of ``fastcf.ALS``)."""
    kernel, name = _registry.get_kernel(FAMILY, backend)
    bounds = chunk_bounds(indptr, Y.shape[1] * Y.dtype.itemsize)
    # the compiled kernels call BLAS from each of their threads
    with single_blas_thread():
        _registry.run(kernel, name, (indptr, indices, data, alpha, Y, YtY, X, cg_steps,
                                     solver == "cholesky", bounds),
                      resolve_n_threads(n_threads), numba_takes_threads=True,
                      numba_chunksize=1)
    return X


def chunk_bounds(indptr, row_bytes):
    """Boundaries of the chunks of rows the compiled kernels hand to their threads.

    Consecutive rows, at most ``_CHUNK_ROWS`` of them and, past the first,
    only while the rows of ``Y`` their entries read stay within
    ``_CHUNK_BYTES`` (``row_bytes`` each): conjugate gradient runs a chunk's
    rows in lock-step (one matrix product with ``YtY`` a step, more
    efficient the more rows it has), and the Numba kernel copies the rows of
    ``Y`` a chunk reads into one buffer that every step streams through.
    Fixed by the data, never by the thread count.
    """
    indptr = np.asarray(indptr, dtype=np.int64)
    n_rows = len(indptr) - 1
    budget = max(1, _CHUNK_BYTES // row_bytes)  # entries a chunk may read
    bounds = [0]
    while bounds[-1] < n_rows:
        lo = bounds[-1]
        hi = min(n_rows, lo + _CHUNK_ROWS)
        fits = int(np.searchsorted(indptr[lo + 1:hi + 1], indptr[lo] + budget, side="right"))
        bounds.append(lo + max(1, fits))
    return np.asarray(bounds, dtype=np.int64)


def implicit_loss(indptr, indices, data, X, Y, reg, alpha, chunk=1 << 18):
    r"""implicit's training loss (``calculate_loss``), in float64.

    .. math::

        \frac{\sum_{u, i} c_{ui} (p_{ui} - x_u \cdot y_i)^2
        + \lambda (\|X\|_F^2 + \|Y\|_F^2)}{\sum_{u, i} c_{ui}}

    over every cell (:math:`c = 1 + \alpha x, p = 1` on the CSR's entries,
    :math:`c = 1, p = 0` elsewhere), without visiting the empty cells:
    :math:`\sum_{u,i} (x_u \cdot y_i)^2 = \langle X^T X, Y^T Y \rangle`.
    ``chunk`` entries are gathered at a time.
    """
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    total = float(np.sum((X64.T @ X64) * (Y64.T @ Y64)))  # every cell as p = 0, c = 1
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    confidence = 0.0
    for start in range(0, len(indices), chunk):
        stop = start + chunk
        s = np.einsum("ij,ij->i", X64[rows[start:stop]], Y64[indices[start:stop]])
        c = 1.0 + alpha * data[start:stop].astype(np.float64)
        total += float(np.sum(c * (1.0 - s) ** 2 - s * s))
        confidence += float(np.sum(c))
    total += reg * (float(np.sum(X64 * X64)) + float(np.sum(Y64 * Y64)))
    cells = (len(indptr) - 1) * len(Y)
    return total / (confidence + cells - len(indices))


def explicit_loss(by_user, by_item, X, Y, reg, chunk=1 << 18):
    r"""The ALS-WR objective over the centred ratings of ``by_user``, divided by
    their number, in float64:
    :math:`(\sum (r - \mu - x_u \cdot y_i)^2 + \lambda (\sum_u n_u \|x_u\|^2
    + \sum_i n_i \|y_i\|^2)) / n`; ``chunk`` entries are gathered at a time."""
    indptr, indices, data = by_user.indptr, by_user.indices, by_user.data
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    total = 0.0
    for start in range(0, len(indices), chunk):
        stop = start + chunk
        s = np.einsum("ij,ij->i", X[rows[start:stop]], Y[indices[start:stop]],
                      dtype=np.float64)
        total += float(np.sum((data[start:stop] - s) ** 2))
    for F, csr in ((X, by_user), (Y, by_item)):
        norms = np.einsum("ij,ij->i", F, F, dtype=np.float64)
        total += reg * float(norms @ np.diff(csr.indptr))
    return total / max(1, len(indices))
