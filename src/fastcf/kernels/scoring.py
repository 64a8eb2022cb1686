r"""Checked public kernel: sparse scoring fused with a top-n selection.

Row :math:`r` of a weight CSR :math:`W` (over "sources") scores every column
:math:`c` of a source CSR :math:`M` as

.. math:: s_{rc} = \sum_{(src,\, w) \in W_r} w\, M_{src, c}

(absent entries are 0), and keeps the ``n`` best columns that are not in its
exclusion list, by score descending, ties by the lower column first -- the
order of :func:`fastcf.topk`, so a column nobody scored competes with score
0. No dense (rows x columns) block is ever built: per thread, one
accumulator over the columns.

The top-N recommendation of the neighbourhood models is this kernel:
``ItemKNN`` scores with the user's ratings as weights over the items'
neighbour lists (implicit's ``ItemItemRecommender``), ``UserKNN`` with the
user's neighbour similarities as weights over the neighbours' ratings.
"""

import numpy as np

from .._parallel import resolve_n_threads
from .._validation import check_csr_arrays, check_int
from ..reference import scoring as _reference
from . import _registry, scoring_nb
from .topk import _check_exclude

FAMILY = "scored_topk"
_registry.register(
    FAMILY, numba=scoring_nb.scored_topk, cython=_registry.cython_kernel("_scoring", "scored_topk"),
    reference=_reference.scored_topk,
    # ItemKNN top-10 of 60k users (1.74M ratings, 40 neighbours per item, 2 threads):
    # Cython 0.43 s vs Numba 0.63 s.
    auto=("cython", "numba", "reference"))


def scored_topk(w_indptr, w_indices, w_data, m_indptr, m_indices, m_data, n_cols, n,
                exclude=None, *, backend="auto", n_threads=None):
    """The ``n`` best columns of every weighted row, best first (see the module docstring).

    Parameters
    ----------
    w_indptr, w_indices : ndarray of int32 or int64 (one dtype), shapes (n_rows + 1,), (nnz_w,)
        Weight rows over the sources, indices in ``[0, n_sources)``.
    w_data : ndarray of float32 or float64, shape (nnz_w,)
        Finite weights.
    m_indptr, m_indices : ndarray of int32 or int64 (one dtype), shapes (n_sources + 1,), (nnz_m,)
        Each source's columns, in ``[0, n_cols)``.
    m_data : ndarray of float32 or float64, shape (nnz_m,)
        Finite values.
    n_cols : int >= 1
    n : int, 1 <= n <= n_cols
    exclude : tuple (indptr, indices), optional
        Columns each row must skip, as in :func:`fastcf.topk`.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        The result does not depend on it.

    Returns
    -------
    indices : ndarray of int64, shape (n_rows, n)
        Best first; -1 where a row has fewer than ``n`` columns left.
    scores : ndarray of float64, shape (n_rows, n)
        NaN in the padding slots.
    """
    n_cols = check_int("n_cols", n_cols, min_value=1)
    m_indptr, m_indices, m_data = check_csr_arrays(m_indptr, m_indices, m_data, n_cols=n_cols,
                                                   names=("m_indptr", "m_indices", "m_data"))
    n_sources = len(m_indptr) - 1
    w_indptr, w_indices, w_data = check_csr_arrays(w_indptr, w_indices, w_data,
                                                   n_cols=max(n_sources, 1),
                                                   names=("w_indptr", "w_indices", "w_data"))
    if len(w_indices) and n_sources == 0:
        raise ValueError("w_indices refer to sources, but m has no rows.")
    for name, values in (("w_data", w_data), ("m_data", m_data)):
        if not np.isfinite(values).all():
            raise ValueError(f"{name} contain NaN or inf values, must be finite.")
    n = check_int("n", n, min_value=1, max_value=n_cols)
    n_rows = len(w_indptr) - 1
    ex_indptr, ex_indices = _check_exclude(exclude, n_rows, n_cols)
    return run_scored_topk(w_indptr, w_indices, w_data, m_indptr, m_indices, m_data, n_cols, n,
                           ex_indptr, ex_indices, backend=backend, n_threads=n_threads)


def run_scored_topk(w_indptr, w_indices, w_data, m_indptr, m_indices, m_data, n_cols, n,
                    ex_indptr, ex_indices, *, backend="auto", n_threads=None):
    """:func:`scored_topk` without the checks (arrays valid by construction; the
    exclusion rows ascending, as ``topk._check_exclude`` leaves them)."""
    kernel, name = _registry.get_kernel(FAMILY, backend)
    n_rows = len(w_indptr) - 1
    out_idx = np.empty((n_rows, n), dtype=np.int64)
    out_val = np.empty((n_rows, n), dtype=np.float64)
    w_indptr, w_indices = np.asarray(w_indptr, np.int64), np.asarray(w_indices, np.int64)
    m_indptr, m_indices = np.asarray(m_indptr, np.int64), np.asarray(m_indices, np.int64)
    ex_indptr, ex_indices = np.asarray(ex_indptr, np.int64), np.asarray(ex_indices, np.int64)
    args = (w_indptr, w_indices, np.asarray(w_data, np.float64), m_indptr, m_indices,
            np.asarray(m_data, np.float64), n_cols, ex_indptr, ex_indices, out_idx, out_val)
    _registry.run(kernel, name, args, resolve_n_threads(n_threads))
    return out_idx, out_val
