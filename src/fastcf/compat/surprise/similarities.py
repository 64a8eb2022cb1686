"""Surprise's similarity measures on fastcf's similarity kernels.

``cosine``, ``msd``, ``pearson`` and ``pearson_baseline`` take Surprise's
arguments (``n_x`` and ``yr``, the ratings of each y as ``(x, rating)``
pairs) and return the dense ``(n_x, n_x)`` float64 matrix, 1 on the diagonal.
The definitions are Surprise's, over the co-rated ys only (see
:mod:`fastcf.kernels.similarity`).
"""

import numpy as np

from ...kernels.similarity import check_csr_input, check_options, run_similarity

__all__ = ["cosine", "msd", "pearson", "pearson_baseline"]

NAMES = ("cosine", "msd", "pearson", "pearson_baseline")


def check_name(name):
    """The lower-cased similarity ``name``; NameError (Surprise's) if it is none of NAMES."""
    lowered = name.lower() if isinstance(name, str) else name
    if lowered not in NAMES:
        raise NameError(f"Wrong sim name {name}. Allowed values are {', '.join(NAMES)}.")
    return lowered


def _dense(kind, csr, n_cols, min_support, shrinkage=None, baselines=None, transposed=None):
    n_rows = len(csr[0]) - 1
    options = check_options(kind, None, n_rows, min_support,
                            shrinkage if kind == "pearson_baseline" else None, None,
                            np.float64, self_similarity=True)
    if baselines is not None:
        mu, row_bias, col_bias = baselines
        baselines = {"mu": float(mu), "row_bias": np.asarray(row_bias, dtype=np.float64),
                     "col_bias": np.asarray(col_bias, dtype=np.float64),
                     "query_bias": np.asarray(row_bias, dtype=np.float64)}
    return run_similarity(kind, csr, csr, n_cols, options, baselines=baselines,
                          max_dense_bytes=2**62, transposed=transposed)


def trainset_similarity(trainset, name, user_based, min_support, shrinkage, biases=None):
    """The similarity ``name`` between the users (or items) of a :class:`Trainset`.

    ``biases``: ``(row biases, column biases)`` for ``pearson_baseline``.
    """
    rows, n_cols, transposed = trainset.interactions.orientation(
        "user" if user_based else "item")
    baselines = None if biases is None else (trainset.global_mean, *biases)
    return _dense(name, (rows.indptr, rows.indices, rows.data), n_cols, min_support, shrinkage,
                  baselines, transposed)


def _csr_of(n_x, yr):
    """The xs' rows over the ys of Surprise's ``yr`` (``{y: [(x, r), ...]}``) as CSR."""
    xs, ys, rs = [], [], []
    for y, ratings in yr.items():
        for x, r in ratings:
            xs.append(x)
            ys.append(y)
            rs.append(r)
    xs = np.asarray(xs, dtype=np.int64)
    ys = np.asarray(ys, dtype=np.int64)
    rs = np.asarray(rs, dtype=np.float64)
    if len(xs) and (xs.min() < 0 or xs.max() >= n_x):
        raise ValueError(f"yr holds x ids outside [0, {n_x}).")
    order = np.lexsort((ys, xs))
    indptr = np.zeros(n_x + 1, dtype=np.int64)
    np.cumsum(np.bincount(xs, minlength=n_x), out=indptr[1:])
    n_cols = max(yr, default=-1) + 1
    return check_csr_input(indptr, ys[order], rs[order], max(n_cols, 1)), max(n_cols, 1)


def cosine(n_x, yr, min_support):
    """Cosine similarity over the co-rated ys of every pair of xs."""
    csr, n_cols = _csr_of(n_x, yr)
    return _dense("cosine", csr, n_cols, min_support)


def msd(n_x, yr, min_support):
    """Mean squared difference similarity, :math:`1 / (msd + 1)`, over the co-rated ys."""
    csr, n_cols = _csr_of(n_x, yr)
    return _dense("msd", csr, n_cols, min_support)


def pearson(n_x, yr, min_support):
    """Pearson correlation over the co-rated ys (means over those ys)."""
    csr, n_cols = _csr_of(n_x, yr)
    return _dense("pearson", csr, n_cols, min_support)


def pearson_baseline(n_x, yr, min_support, global_mean, x_biases, y_biases, shrinkage=100):
    """Shrunk Pearson correlation of the baseline residuals :math:`r - (\\mu + b_x + b_y)`."""
    csr, n_cols = _csr_of(n_x, yr)
    y_biases = np.asarray(y_biases, dtype=np.float64)
    if len(y_biases) < n_cols:
        raise ValueError(f"y_biases has {len(y_biases)} entries, yr has ys up to {n_cols - 1}.")
    return _dense("pearson_baseline", csr, n_cols, min_support, shrinkage,
                  (global_mean, x_biases, y_biases[:n_cols]))
