r"""Checked public kernel of DP-ALS (Chien et al. 2021): per-row sufficient statistics.

For each row :math:`r` of a CSR matrix (items, when the statistics are the
item side's; users for the user step), with per-entry weights :math:`w_e`
(Gram) and :math:`t_e` (right-hand side) and the other side's vectors
:math:`F` (float32 or float64),

.. math::

    G_r = \sum_{e \in r} w_e\, f_{c(e)} f_{c(e)}^T, \qquad
    b_r = \sum_{e \in r} t_e\, f_{c(e)},

summed in float64 in the row's stored order (so any thread count gives the
same bits). DP-ALS adds Gaussian noise to these, makes the Gram positive
definite and solves (:func:`solve_rows`, LAPACK through NumPy on a stack of
rows). Explicit ratings: :math:`w = 1`, :math:`t` the (clipped, centred)
rating; implicit ALS: :math:`w = \alpha x`, :math:`t = 1 + \alpha x`. The
caller walks the rows in chunks (``lo``, ``hi``), so the stack of
:math:`d \times d` matrices never holds every row at once.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._parallel import resolve_n_threads, single_blas_thread
from .._validation import check_csr_arrays, check_float, check_value_matrix
from ..reference import dp_als as _reference
from . import _registry, dp_als_nb

FAMILY = "dp_als"
#: Bytes of the stack of d x d Gram matrices :func:`solve_in_chunks` holds at once.
CHUNK_BYTES = 32 * 1024 * 1024
#: Fewest rows :func:`solve_rows` gives a thread (a thread costs about a pool's start).
_MIN_THREAD_ROWS = 64
_registry.register(FAMILY, numba=dp_als_nb.row_statistics,
                   cython=_registry.cython_kernel("_dp_als", "row_statistics"),
                   reference=_reference.row_statistics,
                   # benchmarks/test_bench_dp_als.py, the 8000 items' 11 x 11 sums of
                   # make_ratings(60000, 8000, 1740000), 1 thread, median: Cython 54 ms,
                   # Numba 127 ms (load average 2.8; the ALS item sweep 89 ms).
                   auto=("cython", "numba", "reference"))


def row_statistics(indptr, indices, gram_weights, rhs_weights, F, *, backend="auto",
                   n_threads=None):
    """Every row's Gram matrix and right-hand side (see the module docstring).

    Parameters
    ----------
    indptr, indices : ndarray of int32 or int64 (one dtype), shapes (n_rows + 1,), (nnz,)
        Indices in ``[0, len(F))``.
    gram_weights, rhs_weights : ndarray of float32 or float64, shape (nnz,)
        Finite: :math:`w_e` and :math:`t_e`.
    F : ndarray of float32 or float64, shape (n_cols, d)
        Finite.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        The result does not depend on it.

    Returns
    -------
    G : ndarray of float64, shape (n_rows, d, d)
        Symmetric.
    b : ndarray of float64, shape (n_rows, d)
    """
    F = check_value_matrix("F", F)
    indptr, indices, gram_weights = check_csr_arrays(
        indptr, indices, gram_weights, n_cols=len(F),
        names=("indptr", "indices", "gram_weights"))
    _, _, rhs_weights = check_csr_arrays(indptr, indices, rhs_weights,
                                         names=("indptr", "indices", "rhs_weights"))
    for name, values in (("gram_weights", gram_weights), ("rhs_weights", rhs_weights),
                         ("F", F)):
        if not np.isfinite(values).all():
            raise ValueError(f"{name} contain NaN or inf values, must be finite.")
    n_rows, d = len(indptr) - 1, F.shape[1]
    G, b = np.empty((n_rows, d, d)), np.empty((n_rows, d))
    run_row_statistics(np.asarray(indptr, np.int64), np.asarray(indices, np.int64),
                       np.asarray(gram_weights, np.float64), np.asarray(rhs_weights, np.float64),
                       F, 0, n_rows, G, b, backend=backend,
                       n_threads=resolve_n_threads(n_threads))
    return G, b


def run_row_statistics(indptr, indices, gram_w, rhs_w, F, lo, hi, G, b, *, backend="auto",
                       n_threads=None):
    """:func:`row_statistics` of rows ``[lo, hi)`` without the checks, into ``G[:hi - lo]``
    and ``b[:hi - lo]`` (C-contiguous float64): int64 CSR arrays, float64 weights, a
    C-contiguous ``F``. Returns ``(G, b)``."""
    kernel, name = _registry.get_kernel(FAMILY, backend)
    _registry.run(kernel, name, (indptr, indices, gram_w, rhs_w, F, int(lo), int(hi), G, b),
                  resolve_n_threads(n_threads))
    return G, b


def solve_rows(G, b, reg, *, floor=None, n_threads=1):
    r"""Solve :math:`(\tilde G_r + \lambda_r I)\, y_r = b_r` for a stack of rows; returns ``y``.

    Parameters
    ----------
    G : ndarray of float64, shape (n, d, d)
        Symmetric (the noisy Gram matrices of DP-ALS, or exact ones).
    b : ndarray of float64, shape (n, d)
    reg : float or ndarray of float64, shape (n,)
        :math:`\lambda > 0`, one for every row or one per row (ALS-WR's
        :math:`\lambda n_r`).
    floor : float >= 0 or None
        None: :math:`\tilde G = G` (an LU solve; positive definite when ``G``
        is positive semi-definite). A number :math:`f`: :math:`\tilde G = V
        \max(\Lambda, f) V^T` from the eigendecomposition :math:`G = V
        \Lambda V^T` (``f = 0``: the nearest positive semi-definite matrix in
        Frobenius norm), so :math:`\tilde G + \lambda I` has every eigenvalue
        :math:`\ge f + \lambda` whatever the noise; the solve is then
        :math:`V (V^T b / (\max(\Lambda, f) + \lambda))`.
    n_threads : int
        Python threads the rows are split over (NumPy's LAPACK loops release
        the GIL).

    Returns
    -------
    ndarray of float64, shape (n, d)

    Notes
    -----
    One LAPACK call per row on one BLAS thread: the result does not depend on
    the thread count (nor on which rows share a call).
    """
    if np.ndim(reg):
        reg = np.asarray(reg, dtype=np.float64)
        if reg.shape != (len(G),) or not (reg > 0).all():
            raise ValueError(f"reg has shape {reg.shape} and minimum {reg.min(initial=np.inf)}, "
                             f"must be ({len(G)},) and > 0.")
    else:
        reg = check_float("reg", reg, min_value=0.0, min_inclusive=False)
    if floor is not None:
        floor = check_float("floor", floor, min_value=0.0)
    parts = min(n_threads, len(G) // _MIN_THREAD_ROWS)
    with single_blas_thread():
        if parts <= 1:
            return _solve_stack(G, b, reg, floor)
        bounds = np.linspace(0, len(G), parts + 1).astype(np.int64)
        spans = list(zip(bounds[:-1], bounds[1:]))
        out = np.empty(b.shape)
        with ThreadPoolExecutor(parts) as pool:
            solved = pool.map(lambda span: _solve_stack(
                G[span[0]:span[1]], b[span[0]:span[1]],
                reg[span[0]:span[1]] if np.ndim(reg) else reg, floor), spans)
            for (lo, hi), part in zip(spans, solved):
                out[lo:hi] = part
        return out


def _solve_stack(G, b, reg, floor):
    """:func:`solve_rows` of checked arguments, on the calling thread."""
    diagonal = reg[:, None] if np.ndim(reg) else reg
    if floor is not None:
        values, vectors = np.linalg.eigh(G)
        coefficients = np.einsum("nji,nj->ni", vectors, b)
        coefficients /= np.maximum(values, floor) + diagonal
        return np.einsum("nij,nj->ni", vectors, coefficients)
    A = G + (reg[:, None, None] if np.ndim(reg) else reg) * np.eye(G.shape[-1])
    return np.linalg.solve(A, b[..., None])[..., 0]


def solve_in_chunks(indptr, indices, gram_w, rhs_w, F, reg, out, *, perturb=None, floor=None,
                    backend="auto", n_threads=None):
    r"""Every row's ridge solve from its statistics, walking the rows in chunks.

    For each row :math:`r`: :math:`G_r, b_r` of :func:`row_statistics`, then
    ``perturb(g, rhs)`` on the chunk's stacks (in place: DP-ALS's noise; None:
    nothing), then :func:`solve_rows` with ``reg`` (a float, or one per row of
    the CSR) and ``floor``; the solutions are written to ``out``. A chunk
    holds at most ``CHUNK_BYTES`` of Gram matrices: never n_rows x d x d.
    Without ``perturb`` every row's solution depends on its own entries only
    (float64 sums in stored order, one LAPACK call per row), so any split of
    the rows into calls gives the same bits.

    Parameters
    ----------
    indptr, indices, gram_w, rhs_w, F
        As in :func:`run_row_statistics` (converted to int64 / float64 /
        C-contiguous here when they are not).
    reg : float or ndarray of float64, shape (n_rows,)
    out : ndarray, shape (n_rows, d)
        Written in place (cast to its dtype); returned.
    perturb : callable or None
    floor : float or None
        As in :func:`solve_rows`.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
    """
    n_rows, d = len(indptr) - 1, F.shape[1]
    n_threads = resolve_n_threads(n_threads)
    chunk = max(1, CHUNK_BYTES // (8 * d * d))
    G, b = np.empty((min(chunk, n_rows), d, d)), np.empty((min(chunk, n_rows), d))
    indptr, indices = np.asarray(indptr, np.int64), np.asarray(indices, np.int64)
    gram_w, rhs_w = np.asarray(gram_w, np.float64), np.asarray(rhs_w, np.float64)
    F = np.ascontiguousarray(F)
    for lo in range(0, n_rows, chunk):
        hi = min(n_rows, lo + chunk)
        g, rhs = G[:hi - lo], b[:hi - lo]
        run_row_statistics(indptr, indices, gram_w, rhs_w, F, lo, hi, g, rhs,
                           backend=backend, n_threads=n_threads)
        if perturb is not None:
            perturb(g, rhs)
        out[lo:hi] = solve_rows(g, rhs, reg[lo:hi] if np.ndim(reg) else reg, floor=floor,
                                n_threads=n_threads)
    return out


def project_rows(X, radius):
    r"""Rows of ``X`` projected onto the L2 ball of ``radius``: :math:`x \min(1,
    \rho / \|x\|)` (a copy, float64 norms)."""
    norms = np.sqrt(np.einsum("ij,ij->i", X, X, dtype=np.float64))
    scale = np.minimum(1.0, radius / np.maximum(norms, np.finfo(np.float64).tiny))
    return (X * scale[:, None]).astype(X.dtype)


def add_noise(G, b, rng, sigmas):
    """Add the Gaussian noise of one private release in place: symmetric
    N(0, ``sigmas["gram"]``^2) to the Gram matrices ``G`` (n, d, d), then
    N(0, ``sigmas["rhs"]``^2) to every entry of ``b`` (n, d), drawn from ``rng``."""
    n, d = b.shape
    G += symmetric_noise(rng, n, d, sigmas["gram"])
    b += rng.standard_normal((n, d)) * sigmas["rhs"]


def symmetric_noise(rng, n, d, sigma):
    """``n`` symmetric d x d matrices of N(0, sigma^2) entries: one ``standard_normal``
    draw of the upper triangles (diagonal included), mirrored."""
    upper = np.triu_indices(d)
    draws = rng.standard_normal((n, len(upper[0]))) * sigma
    noise = np.empty((n, d, d))
    noise[:, upper[0], upper[1]] = draws
    noise[:, upper[1], upper[0]] = draws
    return noise
