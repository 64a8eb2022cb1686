r"""TF-IDF and BM25 weighting of a sparse matrix (implicit's ``tfidf_weight`` / ``bm25_weight``).

The rows are the "documents" and the columns the "terms": for item-item
neighbours (implicit's ``TFIDFRecommender`` / ``BM25Recommender``) the rows are
items and the columns users. With :math:`N` rows, :math:`d_c` the number of
stored entries of column :math:`c`, :math:`L_r` the sum of row :math:`r`'s
values and :math:`\bar L` its mean over all :math:`N` rows (empty rows count):

.. math::

    \mathrm{idf}_c = \log N - \log(1 + d_c)

    \mathrm{tfidf}(x_{rc}) = \sqrt{x_{rc}}\; \mathrm{idf}_c

    \mathrm{bm25}(x_{rc}) = \frac{x_{rc} (K_1 + 1)}
        {K_1 \left(1 - B + B L_r / \bar L\right) + x_{rc}}\; \mathrm{idf}_c

exactly as implicit 0.7 computes them (float64). ``TFIDFRecommender`` then
takes the cosine of the weighted rows, ``BM25Recommender`` their plain dot
product (:class:`fastcf.ItemKNN` with ``similarity="cosine_all"`` /
``"dot"``). A column held by every row has a negative idf, as in implicit.
"""

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ._validation import check_choice, check_float
from .kernels.similarity import check_csr_input

SCHEMES = ("none", "tfidf", "bm25")
#: implicit's ``BM25Recommender`` defaults (its ``bm25_weight`` function has K1=100, B=0.8).
BM25_K1, BM25_B = 1.2, 0.75


class Statistics(NamedTuple):
    """What a weighting takes from the matrix it was fitted on."""

    n_rows: int
    idf: np.ndarray  # (n_cols,) float64
    mean_length: float


def statistics(indptr, indices, data, n_cols):
    """The :class:`Statistics` of a CSR matrix (rows: documents, columns: terms)."""
    n_rows = len(indptr) - 1
    counts = np.bincount(indices, minlength=n_cols).astype(np.float64)
    idf = np.log(float(n_rows)) - np.log1p(counts) if n_rows else np.zeros(n_cols)
    total = float(np.sum(np.asarray(data, dtype=np.float64)))
    return Statistics(n_rows, idf, total / n_rows if n_rows else 0.0)


def run_weighting(scheme, indptr, indices, data, stats, k1=BM25_K1, b=BM25_B):
    """The weighted values (float64, one per entry) of valid CSR rows; no checks.

    ``stats`` are those of the matrix the weighting was fitted on: the rows'
    own :func:`statistics`, or a training matrix's for new rows (fold-in).
    """
    values = np.asarray(data, dtype=np.float64)
    if scheme == "none":
        return values
    idf = stats.idf[indices]
    if scheme == "tfidf":
        return np.sqrt(values) * idf
    counts = np.diff(indptr)
    lengths = np.bincount(np.repeat(np.arange(len(counts)), counts), weights=values,
                          minlength=len(counts))
    # all values 0 (mean length 0): every numerator is 0 too
    relative = lengths / stats.mean_length if stats.mean_length > 0 else np.zeros(len(counts))
    norm = np.repeat((1.0 - b) + b * relative, counts)
    den = k1 * norm + values
    # a stored 0 with K1 == 0 is 0 / 0 in implicit (NaN): its weight is 0 here
    return np.divide(values * (k1 + 1.0), den, out=np.zeros(len(values)), where=den != 0) * idf


def check_bm25(k1, b):
    """``(k1, b)`` checked: K1 >= 0, 0 <= B <= 1."""
    return (check_float("bm25_k1", k1, min_value=0.0),
            check_float("bm25_b", b, min_value=0.0, max_value=1.0))


def _weighted(x, scheme, k1=BM25_K1, b=BM25_B):
    if not sp.issparse(x):
        raise TypeError(f"x must be a scipy sparse CSR matrix, got {type(x).__name__}.")
    if x.format != "csr":
        raise TypeError(f"x is a scipy {x.format.upper()} matrix; pass a CSR one (x.tocsr()).")
    check_choice("scheme", scheme, SCHEMES)
    indptr, indices, data = check_csr_input(x.indptr, x.indices, x.data, max(x.shape[1], 1))
    if len(data) and np.min(data) < 0:
        raise ValueError(f"x holds {int(np.sum(data < 0))} negative values; {scheme} weighting "
                         "needs counts or ratings >= 0.")
    stats = statistics(indptr, indices, data, x.shape[1])
    values = run_weighting(scheme, indptr, indices, data, stats, k1, b)
    return sp.csr_matrix((values, indices.copy(), indptr.copy()), shape=x.shape)


def tfidf_weight(x):
    r"""TF-IDF weights of ``x``: :math:`\sqrt{x_{rc}}\, \mathrm{idf}_c` (see the module docstring).

    Parameters
    ----------
    x : scipy.sparse CSR matrix, shape (n_rows, n_cols)
        Non-negative values, sorted indices without repeats; rows are the
        documents (items, for item-item neighbours), columns the terms.

    Returns
    -------
    scipy.sparse.csr_matrix of float64
        Same sparsity pattern as ``x`` (``x`` is not modified).
    """
    return _weighted(x, "tfidf")


def bm25_weight(x, K1=BM25_K1, B=BM25_B):  # noqa: N803 (implicit's and the BM25 papers' names)
    r"""Okapi BM25 weights of ``x`` (see the module docstring for the formula).

    Parameters
    ----------
    x : scipy.sparse CSR matrix, shape (n_rows, n_cols)
        As in :func:`tfidf_weight`.
    K1 : float >= 0
        Term-frequency saturation (implicit's ``BM25Recommender``: 1.2).
    B : float in [0, 1]
        Length normalisation (implicit's ``BM25Recommender``: 0.75).

    Returns
    -------
    scipy.sparse.csr_matrix of float64
    """
    k1, b = check_bm25(K1, B)
    return _weighted(x, "bm25", k1, b)
