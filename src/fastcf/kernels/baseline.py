"""Checked public kernel of the bias model (global mean + user and item biases)."""

import numpy as np

from .._parallel import resolve_n_threads
from .._validation import as_contiguous, check_csr_arrays, check_float
from ..reference import baseline as _reference
from . import _registry, baseline_nb

FAMILY = "bias_sweep"
# "auto" keeps the default order (Numba first): 1.34 ms vs Cython 1.47 ms (2 threads).
_registry.register(
    FAMILY, numba=baseline_nb.bias_sweep, cython=_registry.cython_kernel("_baseline", "bias_sweep"),
    reference=_reference.bias_sweep)


def bias_sweep(indptr, indices, data, mu, other_bias, reg, out=None, *, backend="auto",
               n_threads=None):
    r"""One ALS half-sweep of the biased baseline, for every row of a CSR matrix.

    For each row :math:`r` with entries :math:`(c, x_{rc})`:

    .. math::

        b_r = \frac{\sum_{c \in R(r)} (x_{rc} - \mu - b'_c)}{\lambda + |R(r)|}

    which is Surprise's ``baseline_als`` update (items then users).

    Parameters
    ----------
    indptr : ndarray of int32 or int64, shape (n_rows + 1,)
    indices : ndarray, same dtype as ``indptr``, shape (nnz,)
        Column of each entry, in ``[0, len(other_bias))``.
    data : ndarray of float32 or float64, shape (nnz,)
    mu : float
        Global mean.
    other_bias : ndarray of float64, shape (n_cols,)
        Current biases of the columns (items when rows are users). Finite.
    reg : float
        Regularisation :math:`\lambda >= 0`.
    out : ndarray of float64, shape (n_rows,), optional
        C-contiguous and writeable; written in place and returned.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        scikit-learn's meaning; the result does not depend on it.

    Returns
    -------
    ndarray of float64, shape (n_rows,)
    """
    other_bias = np.asarray(other_bias)
    if other_bias.dtype != np.float64 or other_bias.ndim != 1:
        raise TypeError(f"other_bias must be a 1-d float64 array, got {other_bias.dtype} "
                        f"with ndim {other_bias.ndim}.")
    other_bias = as_contiguous("other_bias", other_bias)
    indptr, indices, data = check_csr_arrays(indptr, indices, data, n_cols=len(other_bias))
    for name, values in (("data", data), ("other_bias", other_bias)):
        if not np.isfinite(values).all():
            raise ValueError(f"{name} contain NaN or inf values, must be finite.")
    mu = check_float("mu", mu)
    reg = check_float("reg", reg, min_value=0.0)
    n_rows = len(indptr) - 1
    if out is None:
        out = np.empty(n_rows, dtype=np.float64)
    elif not isinstance(out, np.ndarray) or out.dtype != np.float64 or out.shape != (n_rows,):
        raise ValueError(f"out must be a float64 array of shape ({n_rows},).")
    elif not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out must be C-contiguous and writeable (written in place).")
    if reg == 0.0 and np.any(np.diff(indptr) == 0):
        raise ValueError("reg == 0.0 with empty rows would divide by zero, must be > 0.")
    return run_bias_sweep(indptr, indices, data, mu, other_bias, reg, out, backend=backend,
                          n_threads=n_threads)


def run_bias_sweep(indptr, indices, data, mu, other_bias, reg, out, *, backend="auto",
                   n_threads=None):
    """:func:`bias_sweep` without the checks, for arguments :func:`bias_sweep` has
    already accepted once (the later epochs of ``fit_biases``)."""
    kernel, name = _registry.get_kernel(FAMILY, backend)
    _registry.run(kernel, name, (indptr, indices, data, mu, other_bias, reg, out),
                  resolve_n_threads(n_threads))
    return out
