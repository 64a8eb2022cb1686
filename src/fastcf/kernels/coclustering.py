"""Checked public kernels of co-clustering (George & Merugu 2005, Surprise's version).

A fit alternates :func:`cocluster_sums` (the rating sums and counts of every
(row cluster, column cluster) pair, from which the cluster averages follow)
and :func:`cluster_assign` (every row moved to the cluster of least squared
error), once with users as rows and once with items as rows.
"""

import numpy as np

from .._config import COCLUSTERING_CHUNK_ROWS
from .._parallel import resolve_n_threads
from .._validation import as_contiguous, check_csr_arrays, check_int
from ..reference import coclustering as _reference
from . import _registry, coclustering_nb

SUMS, ASSIGN = "cocluster_sums", "cluster_assign"
# "auto" tries Cython first: benchmarks/test_bench_coclustering.py (1M ratings, 3 x 3
# clusters, 1 thread, best of ~100): sums 1.80 ms vs Numba 2.31 ms, assign 3.64 vs 4.91 ms.
_AUTO = ("cython", "numba", "reference")
_registry.register(SUMS, numba=coclustering_nb.cocluster_sums,
                   cython=_registry.cython_kernel("_coclustering", "cocluster_sums"),
                   reference=_reference.cocluster_sums, auto=_AUTO)
_registry.register(ASSIGN, numba=coclustering_nb.cluster_assign,
                   cython=_registry.cython_kernel("_coclustering", "cluster_assign"),
                   reference=_reference.cluster_assign, auto=_AUTO)


def _check_finite_data(data):
    if not np.isfinite(data).all():
        raise ValueError("data contain NaN or inf values, must be finite.")


def _check_clusters(name, clusters, length, n_clusters):
    """``clusters`` as a C-contiguous int64 array of ``length`` labels in ``[0, n_clusters)``."""
    if not isinstance(clusters, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(clusters).__name__}.")
    if clusters.dtype != np.int64 or clusters.ndim != 1:
        raise TypeError(f"{name} must be a 1-d int64 array, got {clusters.dtype} with ndim "
                        f"{clusters.ndim}.")
    if len(clusters) != length:
        raise ValueError(f"len({name}) == {len(clusters)}, must be {length}.")
    if length and (clusters.min() < 0 or clusters.max() >= n_clusters):
        bad = clusters.min() if clusters.min() < 0 else clusters.max()
        raise ValueError(f"{name} contain {bad}, must lie in [0, {n_clusters}).")
    return as_contiguous(name, clusters, stacklevel=4)


def _check_float64(name, array, shape):
    """``array`` as a C-contiguous, finite float64 array of ``shape``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(array).__name__}.")
    if array.dtype != np.float64:
        raise TypeError(f"{name}.dtype == {array.dtype}, must be float64.")
    if array.shape != shape:
        raise ValueError(f"{name}.shape == {array.shape}, must be {shape}.")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contain NaN or inf values, must be finite.")
    return as_contiguous(name, array, stacklevel=4)


def cocluster_sums(indptr, indices, data, row_clusters, col_clusters, n_row_clusters,
                   n_col_clusters, *, backend="auto", n_threads=None):
    r"""Sum and count of the entries of every (row cluster, column cluster) pair.

    .. math::

        S_{ab} = \sum_{(r, c, x):\ C_r = a,\ D_c = b} x, \qquad
        N_{ab} = |\{(r, c, x):\ C_r = a,\ D_c = b\}|

    Sums are accumulated in float64 over chunks of rows fixed by the data and
    the chunks added in order, so the result does not depend on ``n_threads``
    (integer-valued data sum exactly, as in Surprise's integer counters).

    Parameters
    ----------
    indptr : ndarray of int32 or int64, shape (n_rows + 1,)
    indices : ndarray, same dtype as ``indptr``, shape (nnz,)
        Column of each entry, in ``[0, len(col_clusters))``.
    data : ndarray of float32 or float64, shape (nnz,)
        Finite values.
    row_clusters : ndarray of int64, shape (n_rows,)
        Cluster of each row, in ``[0, n_row_clusters)``.
    col_clusters : ndarray of int64, shape (n_cols,)
        Cluster of each column, in ``[0, n_col_clusters)``.
    n_row_clusters, n_col_clusters : int
        At least 1.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        scikit-learn's meaning; the result does not depend on it.

    Returns
    -------
    sums : ndarray of float64, shape (n_row_clusters, n_col_clusters)
    counts : ndarray of int64, shape (n_row_clusters, n_col_clusters)
    """
    n_row_clusters = check_int("n_row_clusters", n_row_clusters, min_value=1)
    n_col_clusters = check_int("n_col_clusters", n_col_clusters, min_value=1)
    if not isinstance(col_clusters, np.ndarray):
        raise TypeError(f"col_clusters must be a numpy array, got {type(col_clusters).__name__}.")
    indptr, indices, data = check_csr_arrays(indptr, indices, data, n_cols=len(col_clusters))
    _check_finite_data(data)
    row_clusters = _check_clusters("row_clusters", row_clusters, len(indptr) - 1, n_row_clusters)
    col_clusters = _check_clusters("col_clusters", col_clusters, len(col_clusters),
                                   n_col_clusters)
    return run_cocluster_sums(indptr, indices, data, row_clusters, col_clusters,
                              n_row_clusters, n_col_clusters, backend=backend,
                              n_threads=n_threads)


def run_cocluster_sums(indptr, indices, data, row_clusters, col_clusters, n_row_clusters,
                       n_col_clusters, *, backend="auto", n_threads=None):
    """:func:`cocluster_sums` without the checks, for arrays valid by construction."""
    sums = np.empty((n_row_clusters, n_col_clusters), dtype=np.float64)
    counts = np.empty((n_row_clusters, n_col_clusters), dtype=np.int64)
    kernel, name = _registry.get_kernel(SUMS, backend)
    _registry.run(kernel, name, (indptr, indices, data, row_clusters, col_clusters,
                                 COCLUSTERING_CHUNK_ROWS, sums, counts),
                  resolve_n_threads(n_threads))
    return sums, counts


def cluster_assign(indptr, indices, data, row_mean, col_mean, col_clusters, avg_co, avg_rows,
                   avg_cols, *, rows_are_users=True, backend="auto", n_threads=None):
    r"""Move every row to the cluster whose estimates give its entries the least squared error.

    For row :math:`r` (mean :math:`\mu_r`) and each candidate cluster :math:`a`,
    with :math:`b = D_c` the cluster of column :math:`c` (mean :math:`\mu_c`):

    .. math::

        E_a(r) = \sum_{(c, x) \in r} \bigl(x - (\bar A_{ab} + \mu_r - \bar R_a
                 + \mu_c - \bar C_b)\bigr)^2, \qquad C_r = \operatorname{argmin}_a E_a(r)

    the first of equal errors winning (``np.argmin``). The estimate is summed
    left to right with the user's two terms first, as in Surprise
    (``rows_are_users=False`` when rows are items: then the column's terms come
    first), and every error in entry order, in IEEE arithmetic: given the rows'
    entries in Surprise's order the chosen clusters are Surprise's. Each row
    depends only on the inputs, so the result does not depend on ``n_threads``.
    An empty row gets cluster 0 with error 0.

    Parameters
    ----------
    indptr : ndarray of int32 or int64, shape (n_rows + 1,)
    indices : ndarray, same dtype as ``indptr``, shape (nnz,)
        Column of each entry, in ``[0, n_cols)``.
    data : ndarray of float32 or float64, shape (nnz,)
        Finite values.
    row_mean : ndarray of float64, shape (n_rows,)
    col_mean : ndarray of float64, shape (n_cols,)
    col_clusters : ndarray of int64, shape (n_cols,)
        In ``[0, k_cols)``.
    avg_co : ndarray of float64, shape (k_rows, k_cols)
        :math:`\bar A`, the co-cluster averages, row clusters first.
    avg_rows : ndarray of float64, shape (k_rows,)
        :math:`\bar R`, the row clusters' averages.
    avg_cols : ndarray of float64, shape (k_cols,)
        :math:`\bar C`, the column clusters' averages.
    rows_are_users : bool
        The order of the estimate's terms (see above).
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None

    Returns
    -------
    clusters : ndarray of int64, shape (n_rows,)
    errors : ndarray of float64, shape (n_rows,)
        :math:`E_{C_r}(r)`, the least error of each row.
    """
    if not isinstance(avg_co, np.ndarray) or avg_co.ndim != 2:
        raise TypeError("avg_co must be a 2-d float64 numpy array.")
    k_rows, k_cols = avg_co.shape
    if k_rows == 0 or k_cols == 0:
        raise ValueError(f"avg_co.shape == {avg_co.shape}, must have at least one cluster "
                         "on each side.")
    if not isinstance(col_mean, np.ndarray):
        raise TypeError(f"col_mean must be a numpy array, got {type(col_mean).__name__}.")
    n_cols = len(col_mean)
    indptr, indices, data = check_csr_arrays(indptr, indices, data, n_cols=n_cols)
    _check_finite_data(data)
    n_rows = len(indptr) - 1
    row_mean = _check_float64("row_mean", row_mean, (n_rows,))
    col_mean = _check_float64("col_mean", col_mean, (n_cols,))
    col_clusters = _check_clusters("col_clusters", col_clusters, n_cols, k_cols)
    avg_co = _check_float64("avg_co", avg_co, (k_rows, k_cols))
    avg_rows = _check_float64("avg_rows", avg_rows, (k_rows,))
    avg_cols = _check_float64("avg_cols", avg_cols, (k_cols,))
    if not isinstance(rows_are_users, (bool, np.bool_)):
        raise TypeError(f"rows_are_users must be a bool, got {type(rows_are_users).__name__}.")
    return run_cluster_assign(indptr, indices, data, row_mean, col_mean, col_clusters, avg_co,
                              avg_rows, avg_cols, rows_are_users=bool(rows_are_users),
                              backend=backend, n_threads=n_threads)


def run_cluster_assign(indptr, indices, data, row_mean, col_mean, col_clusters, avg_co,
                       avg_rows, avg_cols, *, rows_are_users=True, backend="auto",
                       n_threads=None):
    """:func:`cluster_assign` without the checks, for arrays valid by construction."""
    n_rows = len(indptr) - 1
    clusters = np.empty(n_rows, dtype=np.int64)
    errors = np.empty(n_rows, dtype=np.float64)
    kernel, name = _registry.get_kernel(ASSIGN, backend)
    _registry.run(kernel, name, (indptr, indices, data, row_mean, col_mean, col_clusters,
                                 avg_co, avg_rows, avg_cols, rows_are_users,
                                 COCLUSTERING_CHUNK_ROWS, clusters, errors),
                  resolve_n_threads(n_threads))
    return clusters, errors
