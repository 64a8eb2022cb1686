r"""Checked public kernel: the Gram matrix :math:`X^T X` of a sparse matrix.

For a CSR :math:`X` of shape (n_rows, n_cols),

.. math:: G_{ij} = \sum_u x_{ui}\, x_{uj}

is written into a dense (n_cols, n_cols) float32 or float64 array; the sums
accumulate in float64 whatever the output dtype. Cost: :math:`\sum_u
\mathrm{nnz}(X_u)^2` multiply-adds (half with ``upper``), never a dense copy
of :math:`X`. It is the item-item co-occurrence matrix of EASE
(:class:`fastcf.EASE`) when :math:`X` is the user x item interactions.
"""

import numpy as np

from .._parallel import resolve_n_threads
from .._validation import check_bool, check_csr_arrays, check_int, check_value_dtype
from ..reference import gram as _reference
from . import _registry, csr_nb, gram_nb

FAMILY = "gram"
_registry.register(
    FAMILY, numba=gram_nb.gram, cython=_registry.cython_kernel("_gram", "gram"),
    reference=_reference.gram,
    # upper triangle of the 8k x 8k float32 Gram of make_ratings(60000, 8000, 1740000),
    # 2 threads: see benchmarks/test_bench_gram.py.
    auto=("cython", "numba", "reference"))


def gram(indptr, indices, data, n_cols, *, upper=False, dtype=np.float64, backend="auto",
         n_threads=None):
    """The Gram matrix :math:`X^T X` of a CSR matrix (see the module docstring).

    Parameters
    ----------
    indptr, indices : ndarray of int32 or int64 (one dtype), shapes (n_rows + 1,), (nnz,)
        The rows of :math:`X`, indices in ``[0, n_cols)``.
    data : ndarray of float32 or float64, shape (nnz,), or None
        Finite values; None: every stored entry is 1 (binary :math:`X`).
    n_cols : int >= 0
    upper : bool
        Compute only the upper triangle (``j >= i``); the strict lower triangle
        of the result is 0.
    dtype : {numpy.float32, numpy.float64}
        Of the result.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        The result does not depend on it.

    Returns
    -------
    ndarray of dtype, shape (n_cols, n_cols)
    """
    n_cols = check_int("n_cols", n_cols, min_value=0)
    upper = check_bool("upper", upper)
    dtype = check_value_dtype(dtype)
    indptr, indices, data = check_csr_arrays(indptr, indices, data, n_cols=n_cols,
                                             require_data=False)
    if data is not None and not np.isfinite(data).all():
        raise ValueError("data contain NaN or inf values, must be finite.")
    if data is None:
        data = np.ones(len(indices))
    t_indptr, t_indices, order, _ = csr_nb.transpose(indptr, indices, n_cols)
    out = np.zeros((n_cols, n_cols), dtype=dtype)
    run_gram(indptr, indices, data, t_indptr, t_indices, data[order], out, upper,
             backend=backend, n_threads=n_threads)
    return out


def run_gram(r_indptr, r_indices, r_data, c_indptr, c_indices, c_data, out, upper, *,
             backend="auto", n_threads=None):
    """:func:`gram` without the checks, into ``out``: the rows of :math:`X`
    (``r_*``) and its columns (``c_*``: the same entries by column), ``out`` a
    C-contiguous (n_cols, n_cols) float32 or float64 array (with ``upper`` its
    strict lower triangle is left as it is). Returns ``out``."""
    kernel, name = _registry.get_kernel(FAMILY, backend)
    index = [np.asarray(a, np.int64) for a in (c_indptr, c_indices, r_indptr, r_indices)]
    args = (index[0], index[1], np.asarray(c_data, np.float64), index[2], index[3],
            np.asarray(r_data, np.float64), out, bool(upper))
    # rows of the upper triangle shrink as i grows: hand the chunks out one at a time
    _registry.run(kernel, name, args, resolve_n_threads(n_threads), numba_chunksize=1)
    return out
