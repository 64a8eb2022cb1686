r"""Checked public kernel: per-user (per-group) gradient norms of a network, for DP-SGD.

DP-SGD (Abadi et al. 2016) clips every user's gradient of the shared
parameters to an L2 bound, which needs each user's gradient norm. For a Dense
layer :math:`y = x W + b` and the examples :math:`j` of user :math:`u` with
inputs :math:`a_j` and output gradients :math:`g_j`, the user's gradient is
:math:`\sum_j [a_j; 1] g_j^T` (weight and bias stacked), and

.. math::

    \Big\lVert \sum_{j \in u} [a_j; 1]\, g_j^T \Big\rVert_F^2
    = \sum_{j, l \in u} (a_j \cdot a_l + 1)(g_j \cdot g_l)

("ghost clipping", Goodfellow 2015; Li et al. 2022): the norm without any
per-example or per-user weight gradient. A table's rows that a user's examples
touch are distinct (one rating per (user, item)), so their squared norms add:
``rows`` are those per-example row gradients. The compiled kernels take, per
user, the cheaper of the Gram identity (:math:`O(n_u^2 (n_{in} + n_{out}))`)
and a per-thread buffer holding the user's gradient (:math:`O(n_u n_{in}
n_{out})`); both are exact sums in float64.
"""

import numpy as np

from .._parallel import resolve_n_threads
from .._validation import check_float, check_value_matrix
from ..reference import dp_clip as _reference
from . import _registry, dp_clip_nb

FAMILY = "dp_clip"
_registry.register(
    FAMILY, numba=dp_clip_nb.dp_clip_sq_norms,
    cython=_registry.cython_kernel("_dp_clip", "dp_clip_sq_norms"),
    reference=_reference.dp_clip_sq_norms,
    # one ML-100K DP-SGD batch (47 users, 3 layers, float32), 1 thread: Numba 1.8 ms,
    # Cython 4.6 ms (benchmarks/test_bench_dp_clip.py; gcc vectorises less of the
    # float32 -> float64 dot products than Numba's fastmath)
    auto=("numba", "cython", "reference"))


def dp_clip_sq_norms(indptr, layers, rows=None, *, backend="auto", n_threads=None):
    r"""Squared L2 norm of every group's gradient of a stack of Dense layers (and table rows).

    Parameters
    ----------
    indptr : ndarray of int32 or int64, shape (n_groups + 1,)
        Group ``u`` (a user) owns examples ``indptr[u]:indptr[u + 1]``;
        starts at 0, non-decreasing, ends at n (the number of examples).
    layers : sequence of (ndarray, ndarray)
        Per Dense layer, its inputs ``a`` (n, n_in) and the loss gradient of its
        outputs ``g`` (n, n_out); float32 or float64, one dtype for all.
    rows : ndarray, shape (n, width), optional
        Per-example gradients of table rows, distinct within a group (their
        squared norms add).
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        The result does not depend on it.

    Returns
    -------
    ndarray of float64, shape (n_groups,)
        :math:`\sum_{\text{layers}} \lVert \sum_{j \in u} [a_j; 1] g_j^T
        \rVert_F^2 + \sum_{j \in u} \lVert rows_j \rVert^2`.
    """
    if not isinstance(indptr, np.ndarray):
        raise TypeError(f"indptr must be a numpy array, got {type(indptr).__name__}.")
    if indptr.dtype not in (np.int32, np.int64):
        raise TypeError(f"indptr.dtype == {indptr.dtype}, must be int32 or int64.")
    if indptr.ndim != 1 or len(indptr) == 0 or indptr[0] != 0:
        raise ValueError("indptr must be 1-d and start with 0.")
    if np.any(np.diff(indptr) < 0):
        raise ValueError("indptr must be non-decreasing.")
    if not isinstance(layers, (list, tuple)) or len(layers) == 0:
        raise TypeError("layers must be a non-empty list of (inputs, output gradients) pairs.")
    n = int(indptr[-1])
    checked = []
    for number, pair in enumerate(layers):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(f"layers[{number}] must be an (inputs, output gradients) pair.")
        a = check_value_matrix(f"layers[{number}] inputs", pair[0])
        g = check_value_matrix(f"layers[{number}] gradients", pair[1])
        checked.append((a, g))
    if rows is not None:
        rows = check_value_matrix("rows", rows)
    arrays = [x for pair in checked for x in pair] + ([rows] if rows is not None else [])
    dtype = arrays[0].dtype
    for array in arrays:
        if array.dtype != dtype:
            raise TypeError(f"every array must have one dtype; got {dtype} and {array.dtype}.")
        if len(array) != n:
            raise ValueError(f"an array has {len(array)} rows but indptr[-1] == {n}; they "
                             "must match.")
        if not np.isfinite(array).all():
            raise ValueError("inputs contain NaN or inf values, must be finite.")
    return run_dp_clip_sq_norms(indptr, checked, rows, backend=backend, n_threads=n_threads)


def run_dp_clip_sq_norms(indptr, layers, rows=None, *, backend="auto", n_threads=None):
    """:func:`dp_clip_sq_norms` without the checks (C-contiguous arrays of one dtype)."""
    kernel, name = _registry.get_kernel(FAMILY, backend)
    indptr = np.asarray(indptr, dtype=np.int64)
    n_threads = resolve_n_threads(n_threads)
    out = np.zeros(len(indptr) - 1)
    for number, (a, g) in enumerate(layers):
        part = rows if number == 0 and rows is not None else np.empty((len(a), 0), a.dtype)
        # users differ in size (Poisson batches, heavy raters): hand them out one at a time
        _registry.run(kernel, name, (indptr, a, g, part, out), n_threads, numba_chunksize=1)
    return out


def clip_factors(sq_norms, clip_norm):
    r""":math:`\min(1, C / \lVert \cdot \rVert)` per group (1 where the norm is 0).

    Parameters
    ----------
    sq_norms : ndarray of float64
        Squared norms (:func:`dp_clip_sq_norms`).
    clip_norm : float > 0
        The bound :math:`C`.
    """
    clip_norm = check_float("clip_norm", clip_norm, min_value=0.0, min_inclusive=False)
    norms = np.sqrt(np.asarray(sq_norms, dtype=np.float64))
    return np.minimum(1.0, clip_norm / np.maximum(norms, np.finfo(np.float64).tiny))
