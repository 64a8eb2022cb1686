r"""Reference twin of the similarity kernels, written straight from the formulas.

This is the slow, obviously-correct version that the tests hold every compiled
backend (Numba, Cython) to, and that is itself checked against hand-computed
values and against scikit-surprise's matrices. It works on the *raw* ratings
(one ``{column: rating}`` dict per row) with plain Python floats and dict
loops: it takes means over the co-rated set, centres, and forms residuals
itself, so that it also checks the preparation the public wrapper does before
calling a kernel (pivoting, row means, baseline residuals, norms, counts).

Sums are exactly rounded (:func:`math.fsum`), so the result does not depend on
the order of rows or columns, and the Pearson kinds use the two-pass form
(mean first, then centred products), so shifting every rating by a constant
(e.g. ``+1e6``) changes nothing beyond rounding.

Nothing in fastcf calls this module outside the tests and the ``"reference"``
backend; it is quadratic in the number of rows and meant for small inputs.
"""

import math

__all__ = ["KINDS", "similarity"]

#: The similarity kinds: those of the integer kernel codes, in their order, then ``dot``
#: (which the compiled kernels run as ``cosine_all`` with unit norms).
KINDS = ("pearson", "pearson_baseline", "cosine", "cosine_all", "adjusted_cosine", "msd",
         "jaccard", "dot")


def _mean(values):
    """Mean of a non-empty list; exactly the value itself when all values are equal."""
    first = values[0]
    if all(v == first for v in values):
        return first  # a constant sequence has zero deviation, exactly
    return math.fsum(values) / len(values)


def _correlation(xs, ys):
    """Sum of products over the root of the product of sums of squares; 0 if that is 0."""
    sxy = math.fsum(x * y for x, y in zip(xs, ys))
    sxx = math.fsum(x * x for x in xs)
    syy = math.fsum(y * y for y in ys)
    den = sxx * syy
    if den <= 0.0:
        return 0.0
    return sxy / math.sqrt(den)


def _norm(row):
    return math.sqrt(math.fsum(v * v for v in row.values()))


def _centred(row):
    """The row minus its mean over all its entries (an empty row stays empty)."""
    if not row:
        return {}
    mean = _mean(list(row.values()))
    return {c: v - mean for c, v in row.items()}


def _residuals(row, row_bias, mu, column_bias):
    """Surprise's baseline residuals ``r - ((mu + b_col) + b_row)``, in that order."""
    return {c: v - ((mu + float(column_bias[c])) + row_bias) for c, v in row.items()}


def _pair(kind, x, y, common, x_extra, y_extra):
    """Raw similarity of two rows (dicts of float) over the co-rated columns ``common``.

    ``x_extra``/``y_extra`` hold per-row values some kinds need: the L2 norm
    over all entries (cosine_all, adjusted_cosine) or the entry count (jaccard).
    """
    n = len(common)
    xs = [x[c] for c in common]
    ys = [y[c] for c in common]
    if kind == "pearson":
        mx, my = _mean(xs), _mean(ys)
        return _correlation([v - mx for v in xs], [v - my for v in ys])
    if kind in ("pearson_baseline", "cosine"):
        return _correlation(xs, ys)
    if kind in ("cosine_all", "adjusted_cosine"):
        den = x_extra * y_extra
        if den <= 0.0:
            return 0.0
        return math.fsum(a * b for a, b in zip(xs, ys)) / den
    if kind == "dot":
        return math.fsum(a * b for a, b in zip(xs, ys))
    if kind == "msd":
        squared = math.fsum((a - b) ** 2 for a, b in zip(xs, ys))
        return 1.0 / (squared / n + 1.0)
    if kind == "jaccard":
        return n / (x_extra + y_extra - n)
    raise AssertionError(kind)  # unreachable: checked by the caller


def _prepare(kind, rows, row_biases, baselines):
    """Per-kind values and per-row extras of a list of raw rows."""
    rows = [{c: float(v) for c, v in row.items()} for row in rows]
    if kind == "pearson_baseline":
        mu = float(baselines["mu"])
        rows = [_residuals(row, float(b), mu, baselines["column_bias"])
                for row, b in zip(rows, row_biases)]
    elif kind == "adjusted_cosine":
        rows = [_centred(row) for row in rows]
    if kind in ("cosine_all", "adjusted_cosine"):
        extras = [_norm(row) for row in rows]
    elif kind == "jaccard":
        extras = [len(row) for row in rows]
    else:
        extras = [None] * len(rows)
    return rows, extras


def similarity(query_rows, target_rows, kind, *, min_support=1, shrinkage=0.0, min_sim=None,
               k=None, self_index=None, baselines=None):
    r"""Similarity of every query row to every target row, from the definitions.

    For rows :math:`x, y`, :math:`C` is the set of co-rated columns and
    :math:`n = |C|`; pairs with :math:`n = 0` are never visited (0 in the
    dense output, absent from the top-k). Sums run over :math:`C` unless said
    otherwise; a kind's fraction is 0 whenever its denominator is 0.

    - ``pearson`` (means over :math:`C`, :math:`\bar x = \frac1n \sum_C x`):

      .. math:: \frac{\sum_C (x - \bar x)(y - \bar y)}
                     {\sqrt{\sum_C (x - \bar x)^2 \, \sum_C (y - \bar y)^2}}

    - ``pearson_baseline``: on residuals
      :math:`e_{xc} = r_{xc} - ((\mu + b_c) + b_x)` (Surprise's order of operations),
      :math:`\sum_C e_x e_y / \sqrt{\sum_C e_x^2 \sum_C e_y^2}`.
    - ``cosine`` (Surprise's, co-rated only):
      :math:`\sum_C x y / \sqrt{\sum_C x^2 \sum_C y^2}`.
    - ``cosine_all`` (plain sparse cosine): :math:`\sum_C x y / (\|x\| \|y\|)`, the norms
      over *all* entries of each row.
    - ``adjusted_cosine``: ``cosine_all`` after subtracting from each row its mean over all
      its entries.
    - ``msd``: :math:`1 / (\frac1n \sum_C (x - y)^2 + 1)`.
    - ``jaccard``: :math:`n / (n_x + n_y - n)`, :math:`n_x` the entry count of row :math:`x`.
    - ``dot``: :math:`\sum_C x y` (unbounded; the dense diagonal is still 1).

    Then, in this order: if :math:`n <` ``min_support`` (``max(2, min_support)`` for
    ``pearson_baseline``) the similarity is 0 and the pair is not a top-k candidate; if
    ``shrinkage`` :math:`s > 0` it is multiplied by :math:`(n - 1) / (n - 1 + s)`; if
    ``min_sim`` is given and the similarity is below it, it is 0 and the pair is not a
    top-k candidate.

    Parameters
    ----------
    query_rows, target_rows : list of dict
        One ``{column: rating}`` dict per row (raw ratings; columns any hashable).
    kind : str
        One of :data:`KINDS`.
    min_support : int
        The user's value (>= 1); ``pearson_baseline`` applies ``max(2, min_support)``.
    shrinkage : float
        The effective shrinkage (0 = none); the caller resolves ``None`` to 100 for
        ``pearson_baseline``.
    min_sim : float or None
        Threshold below which a similarity is set to 0 (and dropped from the top-k).
    k : int or None
        None for the dense matrix, else the number of best targets kept per query row.
    self_index : list of int or None, length n_q
        Each query row's own index among the targets, or -1 (None: all -1).
    baselines : dict, required for ``pearson_baseline``
        ``"mu"`` (float), ``"query_bias"`` (n_q), ``"target_bias"`` (n_t) and
        ``"column_bias"`` (dict or list indexed by column).

    Returns
    -------
    list of list of float, shape (n_q, n_t)
        When ``k`` is None: the similarities, 1 at ``(q, self_index[q])`` when that is
        >= 0, 0 for pairs without a co-rated column.
    list of list of (int, float), length n_q
        When ``k`` is an int: per query row, at most ``k`` ``(target_index, sim)``
        candidates sorted by similarity descending then target index ascending,
        the row itself excluded.
    """
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {KINDS}.")
    if isinstance(min_support, bool) or not isinstance(min_support, int) or min_support < 1:
        raise ValueError(f"min_support == {min_support!r}, must be an int >= 1.")
    if shrinkage < 0:
        raise ValueError(f"shrinkage == {shrinkage!r}, must be >= 0.")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise ValueError(f"k == {k!r}, must be None or an int >= 1.")
    n_q, n_t = len(query_rows), len(target_rows)
    self_index = [-1] * n_q if self_index is None else [int(s) for s in self_index]
    if len(self_index) != n_q:
        raise ValueError(f"self_index has {len(self_index)} entries, must have {n_q}.")
    query_bias = target_bias = [None]
    if kind == "pearson_baseline":
        if baselines is None:
            raise ValueError("kind 'pearson_baseline' needs baselines.")
        query_bias, target_bias = baselines["query_bias"], baselines["target_bias"]
        if len(query_bias) != n_q or len(target_bias) != n_t:
            raise ValueError("baselines' query_bias / target_bias do not match the rows.")
        min_support = max(2, min_support)
    queries, q_extra = _prepare(kind, query_rows, query_bias, baselines)
    targets, t_extra = _prepare(kind, target_rows, target_bias, baselines)

    dense = [[0.0] * n_t for _ in range(n_q)]
    best = [[] for _ in range(n_q)]
    for q, x in enumerate(queries):
        for t, y in enumerate(targets):
            common = [c for c in x if c in y]
            n = len(common)
            if n == 0 or n < min_support:
                continue
            sim = _pair(kind, x, y, common, q_extra[q], t_extra[t])
            if shrinkage > 0:
                sim *= (n - 1) / (n - 1 + shrinkage)
            if min_sim is not None and sim < min_sim:
                continue
            dense[q][t] = sim
            if t != self_index[q]:
                best[q].append((t, sim))
        if self_index[q] >= 0:
            dense[q][self_index[q]] = 1.0
    if k is None:
        return dense
    return [sorted(cands, key=lambda pair: (-pair[1], pair[0]))[:k] for cands in best]
