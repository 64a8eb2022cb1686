"""Checked public kernels of the bias model (global mean + user and item biases):
an ALS half-sweep (:func:`bias_sweep`) and an SGD epoch (:func:`bias_sgd`)."""

import numpy as np

from .._config import VALUE_DTYPES
from .._parallel import resolve_n_threads
from .._validation import as_contiguous, check_csr_arrays, check_float, check_rating_indices
from ..reference import baseline as _reference
from . import _registry, baseline_nb

FAMILY = "bias_sweep"
# "auto" keeps the default order (Numba first): 1.34 ms vs Cython 1.47 ms (2 threads).
_registry.register(
    FAMILY, numba=baseline_nb.bias_sweep, cython=_registry.cython_kernel("_baseline", "bias_sweep"),
    reference=_reference.bias_sweep)
FAMILY_SGD = "bias_sgd"
# One thread (each step reads what the previous one wrote); "auto" keeps Numba first.
_registry.register(
    FAMILY_SGD, numba=baseline_nb.bias_sgd, cython=_registry.cython_kernel("_baseline", "bias_sgd"),
    reference=_reference.bias_sgd)


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


def bias_sgd(users, items, ratings, mu, user_bias, item_bias, lr, reg, *, backend="auto"):
    r"""One SGD epoch of the biased baseline, in place, over the ratings in array order.

    For each rating :math:`(u, i, r)`, with :math:`e = r - (\mu + b_u + b_i)`:

    .. math::

        b_u \mathrel{+}= \eta (e - \lambda b_u), \qquad
        b_i \mathrel{+}= \eta (e - \lambda b_i)

    which is Surprise's ``baseline_sgd`` step (one thread: each step reads the
    biases the previous ones wrote, so the order is part of the result).

    Parameters
    ----------
    users, items : ndarray of int32 or int64 (one dtype), shape (n_ratings,)
        Indices into ``user_bias`` / ``item_bias``.
    ratings : ndarray of float32 or float64, shape (n_ratings,)
        Finite.
    mu : float
        Global mean.
    user_bias, item_bias : ndarray of float64, shapes (n_users,), (n_items,)
        C-contiguous, writeable and finite; updated in place.
    lr, reg : float
        Learning rate :math:`\eta \ge 0` and regularisation :math:`\lambda \ge 0`.
    backend : {"auto", "numba", "cython", "reference"}
    """
    for name, arr in (("user_bias", user_bias), ("item_bias", item_bias)):
        if not isinstance(arr, np.ndarray) or arr.dtype != np.float64 or arr.ndim != 1:
            raise TypeError(f"{name} must be a 1-d float64 numpy array.")
        if not arr.flags.c_contiguous or not arr.flags.writeable:
            raise ValueError(f"{name} must be C-contiguous and writeable (updated in place).")
    ratings = np.asarray(ratings)
    if ratings.dtype not in VALUE_DTYPES or ratings.ndim != 1:
        raise TypeError(f"ratings must be a 1-d float32/float64 array, got {ratings.dtype} "
                        f"with ndim {ratings.ndim}.")
    users, items = check_rating_indices(users, items, len(ratings), len(user_bias),
                                        len(item_bias))
    for name, arr in (("ratings", ratings), ("user_bias", user_bias), ("item_bias", item_bias)):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contain NaN or inf values, must be finite.")
    mu = check_float("mu", mu)
    lr = check_float("lr", lr, min_value=0.0)
    reg = check_float("reg", reg, min_value=0.0)
    run_bias_sgd(np.ascontiguousarray(users), np.ascontiguousarray(items),
                 np.ascontiguousarray(ratings), mu, user_bias, item_bias, lr, reg,
                 backend=backend)


def run_bias_sgd(users, items, ratings, mu, user_bias, item_bias, lr, reg, *, backend="auto"):
    """:func:`bias_sgd` without the checks (arrays valid by construction)."""
    kernel, _ = _registry.get_kernel(FAMILY_SGD, backend)
    kernel(users, items, ratings, mu, user_bias, item_bias, lr, reg)
