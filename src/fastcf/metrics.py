"""Evaluation metrics: rating, ranking and beyond-accuracy.

Rating metrics
    :func:`rmse`, :func:`mae`.
Ranking metrics (full ranking, binary relevance)
    :func:`precision_at_k`, :func:`recall_at_k`, :func:`hit_rate_at_k`,
    :func:`ndcg_at_k`, :func:`map_at_k`, :func:`mrr` on top-k lists, and
    :func:`auc` on the full score matrix.
Sampled-negatives protocol (He et al., 2017; not comparable with full-ranking figures)
    :func:`sampled_candidates`, :func:`hit_rate_ndcg_of_candidates`,
    :func:`sampled_auc_of_candidates`, :func:`sampled_hit_rate_ndcg`.
Beyond accuracy
    :func:`catalogue_coverage`, :func:`novelty`, :func:`intra_list_diversity`,
    :func:`popularity_bias`.

Conventions shared by the list metrics
--------------------------------------
``recommended`` is a 2-d integer array of shape (n_users, L): row u holds user
u's internal item indices, best first. ``-1`` marks padding of a short list and
may only appear at the end of a row; an item may appear at most once per row.
``relevant`` (the held-out items, row u for user u) is a ``scipy.sparse``
matrix of shape (n_users, n_items) whose *stored entries* are the relevant
items whatever their value (explicit zeros included), a :class:`fastcf.data.CSR`
read the same way, or a sequence of 1-d integer arrays, one per user
(repeated items count once). A dense 2-d NumPy array is refused: it is
ambiguous (indicator matrix or padded id lists?).

With ``per_user=True`` a metric returns a float64 array of shape (n_users,)
holding NaN for the users that do not count (no relevant item, an empty list,
...); otherwise the mean over the users that count, NaN with a
``RuntimeWarning`` when none does. Every metric is vectorised over users with
NumPy; :mod:`fastcf.reference.metrics` has the slow twin of each.
"""

import warnings

import numpy as np
import scipy.sparse as sp

from ._config import METRIC_BLOCK_ENTRIES
from ._validation import check_bool, check_int
from .data import CSR


def _check_pair(y_true, y_pred):
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; "
                         "they must be equal and 1-d.")
    if len(y_true) == 0:
        raise ValueError("y_true is empty, must hold at least one rating.")
    for name, arr in (("y_true", y_true), ("y_pred", y_pred)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(f"{name} contains {int(bad.sum())} NaN/inf values (first at "
                             f"{int(np.argmax(bad))}).")
    return y_true, y_pred


def rmse(y_true, y_pred):
    r"""Root mean squared error, :math:`\sqrt{\frac1n \sum (y - \hat y)^2}`."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def mae(y_true, y_pred):
    r"""Mean absolute error, :math:`\frac1n \sum |y - \hat y|`."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


def sampled_candidates(train, test, *, n_negatives=99, seed=0):
    """The candidate lists of the sampled-negatives protocol (see :func:`sampled_hit_rate_ndcg`).

    Returns
    -------
    users : ndarray of int64, shape (n,)
        Internal (``train``) index of each test pair's user, for the pairs whose
        user and item ``train`` knows.
    candidates : ndarray of int64, shape (n, 1 + n_negatives)
        Internal item indices: the test item first, then ``n_negatives`` drawn
        uniformly (seeded) from the items the user has in neither ``train`` nor
        ``test``.
    """
    from .data import Interactions
    from .sampling import sample_negatives

    for name, data in (("train", train), ("test", test)):
        if not isinstance(data, Interactions):
            raise TypeError(f"{name} must be an Interactions, got {type(data).__name__}.")
    if not isinstance(n_negatives, (int, np.integer)) or n_negatives < 1:
        raise ValueError(f"n_negatives == {n_negatives!r}, must be an int >= 1.")
    frame = test.to_frame()
    users = train.user_index(frame["user"].to_numpy(), strict=False)
    items = train.item_index(frame["item"].to_numpy(), strict=False)
    keep = (users >= 0) & (items >= 0)
    users, items = users[keep], items[keep]
    if len(users) == 0:
        raise ValueError("no test pair has a user and an item known to train.")
    # what each user may not get as a negative: its train items and its test items
    known = np.unique(np.concatenate([
        np.repeat(np.arange(train.n_users), np.diff(train.by_user.indptr)) * train.n_items
        + train.by_user.indices, users * train.n_items + items]))
    rows, cols = np.divmod(known, train.n_items)
    indptr = np.zeros(train.n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=train.n_users), out=indptr[1:])
    free = train.n_items - np.diff(indptr)[users]
    if (free < 1).any():
        raise ValueError("a test user has interacted with every item: nothing to sample.")
    negatives = sample_negatives(users, indptr, cols, train.n_items, n_negatives,
                                 np.random.default_rng(seed))
    candidates = np.concatenate([items[:, None], negatives.reshape(len(users), n_negatives)],
                                axis=1)
    return users.astype(np.int64), candidates.astype(np.int64)


def hit_rate_ndcg_of_candidates(scores, k=10):
    r"""(HR@k, NDCG@k) from the scores of candidate lists, the positive in column 0.

    With :math:`r` the number of negatives scored at least as high as the
    positive (ties count against it): hit :math:`[r < k]`, gain
    :math:`[r < k] / \log_2(r + 2)`, both averaged over the rows.
    """
    scores = np.asarray(scores, dtype=np.float64)
    rank = (scores[:, 1:] >= scores[:, :1]).sum(axis=1)
    hit = rank < k
    return float(hit.mean()), float(np.mean(np.where(hit, 1.0 / np.log2(rank + 2.0), 0.0)))


def sampled_hit_rate_ndcg(model, train, test, *, k=10, n_negatives=99, seed=0):
    r"""HR@k and NDCG@k by the **sampled-negatives** protocol of He et al. (2017).

    Each test (user, item) is ranked by ``model.predict`` among itself and
    ``n_negatives`` items drawn uniformly (seeded) from those the user has in
    neither ``train`` nor ``test`` (:func:`sampled_candidates`). With :math:`r`
    the number of negatives scored at least as high as the test item (ties
    count against it), the hit is :math:`[r < k]` and the gain
    :math:`[r < k] / \log_2(r + 2)`; both are averaged over the test pairs.
    Sampled metrics are not full-ranking metrics (Krichene & Rendle, 2020):
    compare them only with each other.

    Parameters
    ----------
    model : a fitted fastcf estimator
    train, test : Interactions
        The model's training data and the held-out pairs (external ids; pairs
        whose user or item the model does not know are skipped).
    k, n_negatives : int
    seed : int

    Returns
    -------
    (hit_rate, ndcg) : tuple of float
    """
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k == {k!r}, must be an int >= 1.")
    users, candidates = sampled_candidates(train, test, n_negatives=n_negatives, seed=seed)
    scores = model.predict(train.user_ids[np.repeat(users, candidates.shape[1])],
                           train.item_ids[candidates.ravel()]).reshape(candidates.shape)
    return hit_rate_ndcg_of_candidates(scores, k)


def sampled_auc_of_candidates(scores):
    r"""AUC by the **sampled-negatives** protocol, from the scores of candidate lists.

    Each row holds the score of one held-out positive (column 0) and of
    ``n_neg`` sampled negatives (the other columns, e.g. those of
    :func:`sampled_candidates`). Per row, the fraction of negatives scored
    strictly below the positive, ties counting one half:

    .. math::

        \mathrm{AUC}_r = \frac{1}{n_{neg}} \sum_{j=1}^{n_{neg}}
            \left([s_{r0} > s_{rj}] + \tfrac12 [s_{r0} = s_{rj}]\right)

    and the mean over the rows is returned. Sampled metrics are not
    full-ranking metrics (Krichene & Rendle, 2020): compare them only with
    each other; :func:`auc` is the full-ranking AUC.

    Parameters
    ----------
    scores : array-like of real numbers, shape (n, 1 + n_neg)
        ``n >= 1`` rows, ``n_neg >= 1``; NaN/inf are refused.

    Returns
    -------
    float
    """
    scores = _check_scores(scores, "scores")
    n, width = scores.shape
    if n == 0:
        raise ValueError("scores has 0 rows, must hold at least one candidate list.")
    if width < 2:
        raise ValueError(f"scores.shape[1] == {width}, must be >= 2 (the positive in column 0, "
                         "then at least one negative).")
    positive, negatives = scores[:, :1], scores[:, 1:]
    wins = (negatives < positive).sum(axis=1) + 0.5 * (negatives == positive).sum(axis=1)
    return float(np.mean(wins / (width - 1)))


# ------------------------------------------------------------------ input checks
_INT64_MAX = np.iinfo(np.int64).max


def _check_recommended(recommended):
    """(int64 copy of ``recommended``, mask of its non-padding entries)."""
    try:
        arr = np.asarray(recommended)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"recommended could not be read as a 2-d array: {exc}") from exc
    if arr.dtype.kind not in "iu":
        raise TypeError(f"recommended.dtype == {arr.dtype}, must be an integer dtype "
                        "(internal item indices, -1 for padding).")
    if arr.ndim != 2:
        raise ValueError(f"recommended.ndim == {arr.ndim}, must be 2 (n_users, list length).")
    if arr.dtype.kind == "u" and arr.size and arr.max() > _INT64_MAX:
        raise ValueError(f"recommended contains {arr.max()}, too large for an item index.")
    arr = arr.astype(np.int64)  # a copy: the caller's array is never touched
    if arr.size and arr.min() < -1:
        raise ValueError(f"recommended contains {arr.min()}, must hold item indices >= 0 "
                         "(or -1 for padding).")
    pad = arr == -1
    early = pad[:, :-1] & ~pad[:, 1:]
    if early.any():
        row = int(np.flatnonzero(early.any(axis=1))[0])
        raise ValueError(f"recommended row {row} has padding (-1) before an item; padding may "
                         "only end a list.")
    if arr.shape[1] > 1:
        ordered = np.sort(arr, axis=1)
        repeat = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
        if repeat.any():
            row = int(np.flatnonzero(repeat.any(axis=1))[0])
            item = int(ordered[row, 1:][repeat[row]][0])
            raise ValueError(f"recommended row {row} repeats item {item}; an item may appear "
                             "at most once in a list.")
    return arr, ~pad


def _check_item_range(name, arr, n_items, what):
    if arr.size and arr.max() >= n_items:
        raise ValueError(f"{name} contains item {int(arr.max())}, must lie in [0, {n_items}) "
                         f"({what}).")


def _check_real(name, arr):
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name}.dtype == {arr.dtype}, must be a real (integer or float) dtype.")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{name} contains {int(bad.sum())} NaN/inf values (first at "
                         f"{tuple(int(i) for i in np.argwhere(bad)[0])}).")


def _check_scores(scores, name, copy=True):
    """``scores`` as a 2-d real, finite array: a float64 copy, or as given if not ``copy``."""
    arr = np.asarray(scores)
    if arr.ndim != 2:
        raise ValueError(f"{name}.ndim == {arr.ndim}, must be 2.")
    _check_real(name, arr)
    return arr.astype(np.float64) if copy else arr


def _csr_parts(name, x):
    """Validated (indptr, indices, data, shape) of a :class:`fastcf.data.CSR`."""
    indptr, indices, data, shape = x
    try:
        n_rows, n_cols = (int(v) for v in shape)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}.shape == {shape!r}, must be a pair of ints.") from exc
    for part, arr in (("indptr", indptr), ("indices", indices)):
        if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise TypeError(f"{name}.{part} must be a 1-d integer numpy array.")
    if len(indptr) != n_rows + 1 or indptr[0] != 0 or indptr[-1] != len(indices) or np.any(
            np.diff(indptr) < 0):
        raise ValueError(f"{name}.indptr must be non-decreasing, of length shape[0] + 1 == "
                         f"{n_rows + 1}, from 0 to len(indices) == {len(indices)}.")
    if len(indices) and (indices.min() < 0 or indices.max() >= n_cols):
        raise ValueError(f"{name}.indices must lie in [0, {n_cols}).")
    return indptr, indices, data, (n_rows, n_cols)


def _entries(x, name, n_rows, n_cols=None):
    """The distinct (row, item) pairs of a relevant-style input, sorted by (row, item).

    Returns (rows, cols, width): int64 arrays and the number of columns of a
    matrix input (None for a sequence of id arrays). With ``n_cols`` given,
    a matrix must have that many columns and every id must be below it.
    """
    if sp.issparse(x):
        if x.ndim != 2:
            raise ValueError(f"{name} is a {x.ndim}-d sparse array, must be 2-d.")
        coo = x.tocoo()
        rows, cols, shape = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.shape
        width = int(shape[1])
    elif isinstance(x, CSR):
        indptr, indices, _, shape = _csr_parts(name, x)
        rows = np.repeat(np.arange(shape[0], dtype=np.int64), np.diff(indptr))
        cols, width = indices.astype(np.int64), shape[1]
    elif isinstance(x, np.ndarray) and x.ndim != 1:
        raise TypeError(f"{name} is a {x.ndim}-d numpy array; pass a scipy.sparse matrix "
                        "(stored entries = items) or a sequence of 1-d item-id arrays, one "
                        "per user (e.g. list(array) for one id list per row).")
    elif isinstance(x, (str, bytes)) or not hasattr(x, "__len__") or not hasattr(
            x, "__getitem__"):
        raise TypeError(f"{name} must be a scipy.sparse matrix, a fastcf.data.CSR or a "
                        f"sequence of 1-d integer arrays, got {type(x).__name__}.")
    else:
        arrays = [np.asarray(row) for row in x]
        for user, arr in enumerate(arrays):
            if arr.ndim != 1:
                raise ValueError(f"{name}[{user}].ndim == {arr.ndim}, must be 1 (the user's "
                                 "item ids).")
            if arr.size and arr.dtype.kind not in "iu":
                raise TypeError(f"{name}[{user}].dtype == {arr.dtype}, must be an integer "
                                "dtype (item ids).")
        lengths = np.array([arr.size for arr in arrays], dtype=np.int64)
        rows = np.repeat(np.arange(len(arrays), dtype=np.int64), lengths)
        filled = [arr for arr in arrays if arr.size]
        cols = (np.concatenate(filled).astype(np.int64) if filled
                else np.zeros(0, dtype=np.int64))
        if cols.size and cols.min() < 0:
            raise ValueError(f"{name} contains item {int(cols.min())}, must hold item ids >= 0.")
        shape, width = (len(arrays), None), None
    if shape[0] != n_rows:
        raise ValueError(f"{name} has {shape[0]} rows but there are {n_rows} users; they must "
                         "match.")
    if n_cols is not None:
        if width is not None and width != n_cols:
            raise ValueError(f"{name} has {width} columns but there are {n_cols} items; they "
                             "must match.")
        _check_item_range(name, cols, n_cols, "the number of items")
    span = int(cols.max()) + 1 if cols.size else 1
    _check_key_span(n_rows, span)
    keys = _sorted_unique(rows * span + cols)
    return keys // span, keys % span, width


def _sorted_unique(keys):
    """``np.unique(keys)``, without the sort when ``keys`` is already sorted (canonical CSR)."""
    if keys.size > 1 and np.any(keys[1:] <= keys[:-1]):
        keys = np.sort(keys)
        return keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    return keys


def _check_key_span(n_rows, span):
    if n_rows * span > _INT64_MAX:
        raise ValueError(f"{n_rows} users x {span} items is too large for int64 keys.")


def _hits(rec, valid, rows, cols):
    """hits[u, j]: is rec[u, j] a (non-padding) item of user u in the sorted (rows, cols)?"""
    n_users = rec.shape[0]
    span = max(int(cols.max()) + 1 if cols.size else 0, int(rec.max()) + 1 if rec.size else 0, 1)
    _check_key_span(n_users, span)
    rel_keys = rows * span + cols  # sorted, since (rows, cols) is
    if rel_keys.size == 0:
        return np.zeros(rec.shape, dtype=bool)
    rec_keys = np.arange(n_users, dtype=np.int64)[:, None] * span + np.where(valid, rec, 0)
    found = np.minimum(np.searchsorted(rel_keys, rec_keys), rel_keys.size - 1)
    return (rel_keys[found] == rec_keys) & valid


def _ranking_inputs(recommended, relevant, k):
    """(hits within the first k, number of relevant items per user) of the list metrics."""
    if k is not None:
        k = check_int("k", k, min_value=1)
    rec, valid = _check_recommended(recommended)
    rows, cols, width = _entries(relevant, "relevant", rec.shape[0])
    if width is not None:
        _check_item_range("recommended", rec, width, "the number of columns of relevant")
    if k is not None:
        rec, valid = rec[:, :k], valid[:, :k]
    hits = _hits(rec, valid, rows, cols)
    return hits, np.bincount(rows, minlength=rec.shape[0]).astype(np.int64)


def _result(values, counts, per_user, why):
    """Per-user values (NaN where the user does not count) or their mean."""
    values = np.where(counts, values, np.nan).astype(np.float64)
    if per_user:
        return values
    if not counts.any():
        warnings.warn(f"no user counts ({why}); the mean is NaN.", RuntimeWarning,
                      stacklevel=3)
        return float("nan")
    return float(np.mean(values[counts]))


_NO_RELEVANT = "no user has a relevant item"


# ------------------------------------------------------------------ ranking metrics
def precision_at_k(recommended, relevant, k=10, *, per_user=False):
    r"""Precision@k: the share of the first k recommendations that are relevant.

    .. math::

        P@k_u = \frac{|\mathrm{top}_k(u) \cap R_u|}{k}

    The denominator is ``k`` even when a list is shorter (padded or
    ``L < k``): missing recommendations count as misses.

    Parameters
    ----------
    recommended : array-like of int, shape (n_users, L)
        Internal item indices, best first; ``-1`` pads a short list (at its end
        only). An item may appear at most once per row.
    relevant : scipy.sparse matrix, fastcf.data.CSR or sequence of 1-d int arrays
        The held-out relevant items of each user: the stored entries of a
        (n_users, n_items) matrix whatever their value, or one id array per
        user; repeats count once.
    k : int >= 1
    per_user : bool

    Returns
    -------
    float, or ndarray of float64, shape (n_users,)
        The mean over users with at least one relevant item (NaN and a
        ``RuntimeWarning`` when there is none), or each user's value (NaN for
        users without relevant items).

    Raises
    ------
    TypeError
        Non-integer ``recommended``, non-int ``k``, unsupported ``relevant``.
    ValueError
        Wrong shapes, negative or out-of-range ids, padding before an item,
        repeated items in a list, ``k < 1``.
    """
    per_user = check_bool("per_user", per_user)
    hits, n_rel = _ranking_inputs(recommended, relevant, k)
    return _result(hits.sum(axis=1) / k, n_rel > 0, per_user, _NO_RELEVANT)


def recall_at_k(recommended, relevant, k=10, *, per_user=False):
    r"""Recall@k: the share of a user's relevant items found in the first k.

    .. math::

        R@k_u = \frac{|\mathrm{top}_k(u) \cap R_u|}{|R_u|}

    Parameters, returns and errors are those of :func:`precision_at_k`.
    """
    per_user = check_bool("per_user", per_user)
    hits, n_rel = _ranking_inputs(recommended, relevant, k)
    return _result(hits.sum(axis=1) / np.maximum(n_rel, 1), n_rel > 0, per_user, _NO_RELEVANT)


def hit_rate_at_k(recommended, relevant, k=10, *, per_user=False):
    r"""Hit rate@k: 1 if any of the first k recommendations is relevant, else 0.

    .. math::

        HR@k_u = [\,|\mathrm{top}_k(u) \cap R_u| > 0\,]

    Parameters, returns and errors are those of :func:`precision_at_k`.
    """
    per_user = check_bool("per_user", per_user)
    hits, n_rel = _ranking_inputs(recommended, relevant, k)
    return _result(hits.any(axis=1).astype(np.float64), n_rel > 0, per_user, _NO_RELEVANT)


def ndcg_at_k(recommended, relevant, k=10, *, per_user=False):
    r"""Normalised discounted cumulative gain@k, binary relevance.

    With positions :math:`i = 0, 1, \dots` (best first):

    .. math::

        DCG@k_u = \sum_{i < k,\ \mathrm{rec}_{u,i} \in R_u} \frac{1}{\log_2(i + 2)},
        \qquad
        IDCG@k_u = \sum_{i < \min(k, |R_u|)} \frac{1}{\log_2(i + 2)},
        \qquad
        NDCG@k_u = \frac{DCG@k_u}{IDCG@k_u}.

    Parameters, returns and errors are those of :func:`precision_at_k`.
    """
    per_user = check_bool("per_user", per_user)
    hits, n_rel = _ranking_inputs(recommended, relevant, k)
    dcg = (hits * (1.0 / np.log2(np.arange(hits.shape[1]) + 2.0))).sum(axis=1)
    ideal_len = np.minimum(k, n_rel)
    longest = int(ideal_len.max()) if ideal_len.size else 0
    ideal = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(longest) + 2.0))])
    idcg = ideal[ideal_len]
    return _result(dcg / np.where(idcg > 0, idcg, 1.0), n_rel > 0, per_user, _NO_RELEVANT)


def map_at_k(recommended, relevant, k=10, *, per_user=False):
    r"""Mean average precision@k.

    .. math::

        AP@k_u = \frac{1}{\min(k, |R_u|)}
            \sum_{i < k,\ \mathrm{rec}_{u,i} \in R_u} P@(i + 1)_u

    with :math:`P@(i+1)_u` the precision of the first :math:`i + 1`
    recommendations; MAP@k is the mean of :math:`AP@k_u` over the users with
    relevant items. Parameters, returns and errors are those of
    :func:`precision_at_k`.
    """
    per_user = check_bool("per_user", per_user)
    hits, n_rel = _ranking_inputs(recommended, relevant, k)
    precision = np.cumsum(hits, axis=1) / np.arange(1, hits.shape[1] + 1)
    total = np.where(hits, precision, 0.0).sum(axis=1)
    return _result(total / np.maximum(np.minimum(k, n_rel), 1), n_rel > 0, per_user,
                   _NO_RELEVANT)


def mrr(recommended, relevant, k=None, *, per_user=False):
    r"""Mean reciprocal rank: the reciprocal of the position of the first hit.

    .. math::

        RR_u = \frac{1}{i_u + 1}, \quad
        i_u = \min\{\, i : \mathrm{rec}_{u,i} \in R_u \,\}

    (0-based positions, only the first ``k`` when ``k`` is given, else the
    whole list); :math:`RR_u = 0` without a hit. Parameters, returns and
    errors are those of :func:`precision_at_k`, except that ``k`` may be None.
    """
    per_user = check_bool("per_user", per_user)
    hits, n_rel = _ranking_inputs(recommended, relevant, k)
    found = hits.any(axis=1)
    first = np.argmax(hits, axis=1) if hits.shape[1] else np.zeros(hits.shape[0], np.int64)
    return _result(np.where(found, 1.0 / (first + 1.0), 0.0), n_rel > 0, per_user,
                   _NO_RELEVANT)


def _average_ranks(scores):
    """1-based ranks of each row's entries, ascending, ties given their average rank."""
    n_rows, n_cols = scores.shape
    ranks = np.empty((n_rows, n_cols), dtype=np.float64)
    if scores.size == 0:
        return ranks
    order = np.argsort(scores, axis=1, kind="stable")
    ordered = np.take_along_axis(scores, order, axis=1)
    starts_group = np.ones((n_rows, n_cols), dtype=bool)
    starts_group[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    flat = starts_group.ravel()  # a group never spans two rows: column 0 starts one
    starts = np.flatnonzero(flat)
    sizes = np.diff(np.append(starts, flat.size))
    # a group at 0-based positions a .. a + size - 1 has ranks a + 1 .. a + size
    mean_rank = starts % n_cols + (sizes + 1) / 2.0
    group = np.cumsum(flat) - 1
    np.put_along_axis(ranks, order, mean_rank[group].reshape(n_rows, n_cols), axis=1)
    return ranks


def auc(scores, relevant, *, exclude=None, per_user=False):
    r"""Area under the ROC curve over the **full ranking** of all items.

    Per user, positives :math:`P_u = R_u \setminus E_u` (relevant, not
    excluded) and negatives :math:`N_u = I \setminus (R_u \cup E_u)` (every
    other item not excluded):

    .. math::

        AUC_u = \frac{1}{|P_u| |N_u|} \sum_{p \in P_u} \sum_{n \in N_u}
            \left([s_{up} > s_{un}] + \tfrac12 [s_{up} = s_{un}]\right)

    computed through ranks (Mann-Whitney U): with :math:`r_{up}` the
    1-based rank of :math:`s_{up}` among the user's non-excluded items (ties
    averaged), :math:`AUC_u = (\sum_{p \in P_u} r_{up} - |P_u|(|P_u| + 1)/2)
    / (|P_u| |N_u|)`, in :math:`O(n_{items} \log n_{items})` per user. Users
    with no positive or no negative do not count. This is the full-ranking
    protocol; :func:`sampled_auc_of_candidates` is the sampled one.

    Parameters
    ----------
    scores : array-like of real numbers, shape (n_users, n_items)
        Every user's score for every item (cast to float64); NaN/inf refused.
    relevant : scipy.sparse matrix, fastcf.data.CSR or sequence of 1-d int arrays
        Each user's relevant items, as for :func:`precision_at_k`.
    exclude : same forms as ``relevant``, optional
        Items that are neither positives nor negatives (typically each user's
        training items).
    per_user : bool

    Returns
    -------
    float, or ndarray of float64, shape (n_users,)
        The mean over the users that count (NaN and a ``RuntimeWarning`` when
        none does), or each user's AUC (NaN for users that do not count).
    """
    per_user = check_bool("per_user", per_user)
    scores = _check_scores(scores, "scores", copy=False)
    n_users, n_items = scores.shape
    relevant = _entries(relevant, "relevant", n_users, n_cols=n_items)[:2]
    if exclude is not None:
        exclude = _entries(exclude, "exclude", n_users, n_cols=n_items)[:2]
    values = np.empty(n_users, dtype=np.float64)
    counts = np.empty(n_users, dtype=bool)
    step = max(1, METRIC_BLOCK_ENTRIES // max(n_items, 1))  # blocks of users bound the memory
    for start in range(0, n_users, step):
        stop = min(start + step, n_users)
        values[start:stop], counts[start:stop] = _auc_rows(
            scores[start:stop], _row_block(relevant, start, stop),
            None if exclude is None else _row_block(exclude, start, stop))
    return _result(values, counts, per_user, "no user has both a positive and a negative item")


def _row_block(entries, start, stop):
    """The (rows - start, cols) of the sorted entries whose row is in [start, stop)."""
    rows, cols = entries
    lo, hi = np.searchsorted(rows, [start, stop])
    return rows[lo:hi] - start, cols[lo:hi]


def _auc_rows(scores, relevant, exclude):
    """(AUC, counts) of a block of users, by ranks (see :func:`auc`)."""
    scores = scores.astype(np.float64)  # a copy: excluded items are overwritten below
    positive = np.zeros(scores.shape, dtype=bool)
    positive[relevant] = True
    negative = ~positive
    n_excluded = np.zeros(scores.shape[0], dtype=np.int64)
    if exclude is not None:
        excluded = np.zeros(scores.shape, dtype=bool)
        excluded[exclude] = True
        positive &= ~excluded
        negative &= ~excluded
        # below every finite score: each kept item's rank rises by exactly n_excluded
        scores[excluded] = -np.inf
        n_excluded = excluded.sum(axis=1)
    ranks = _average_ranks(scores)
    n_pos, n_neg = positive.sum(axis=1), negative.sum(axis=1)
    rank_sum = np.where(positive, ranks, 0.0).sum(axis=1) - n_pos * n_excluded
    wins = rank_sum - n_pos * (n_pos + 1) / 2.0
    return wins / np.maximum(n_pos * n_neg, 1), (n_pos > 0) & (n_neg > 0)


# ------------------------------------------------------------------ beyond accuracy
def catalogue_coverage(recommended, n_items):
    r"""Catalogue coverage: the share of the catalogue recommended to anyone.

    .. math::

        \mathrm{coverage} = \frac{|\bigcup_u \mathrm{rec}_u|}{n_{items}}

    Parameters
    ----------
    recommended : array-like of int, shape (n_users, L)
        As for :func:`precision_at_k`; padding is ignored.
    n_items : int >= 1
        Catalogue size; every recommended item must lie in ``[0, n_items)``.

    Returns
    -------
    float
    """
    n_items = check_int("n_items", n_items, min_value=1)
    rec, valid = _check_recommended(recommended)
    _check_item_range("recommended", rec, n_items, "n_items")
    return np.unique(rec[valid]).size / n_items


def _check_popularity(item_popularity):
    arr = np.asarray(item_popularity)
    if arr.ndim != 1:
        raise ValueError(f"item_popularity.ndim == {arr.ndim}, must be 1 (one count per item).")
    _check_real("item_popularity", arr)
    if arr.size and arr.min() < 0:
        raise ValueError(f"item_popularity contains {arr.min()} (item "
                         f"{int(np.argmin(arr))}), must be >= 0.")
    return arr.astype(np.float64)


def _list_mean(recommended, item_values, per_user):
    """Mean of ``item_values`` over each non-empty list, or the mean of those means."""
    rec, valid = _check_recommended(recommended)
    _check_item_range("recommended", rec, item_values.size, "len(item_popularity)")
    length = valid.sum(axis=1)
    total = np.where(valid, item_values[np.where(valid, rec, 0)] if item_values.size else 0.0,
                     0.0).sum(axis=1)
    return _result(total / np.maximum(length, 1), length > 0, per_user,
                   "every recommendation list is empty")


def novelty(recommended, item_popularity, n_users, *, per_user=False):
    r"""Novelty: the mean self-information of the recommended items.

    .. math::

        \mathrm{nov}(i) = -\log_2 \frac{\max(\mathrm{pop}_i, 1)}{n_{users}},
        \qquad
        \mathrm{nov}_u = \frac{1}{|\mathrm{rec}_u|} \sum_{i \in \mathrm{rec}_u} \mathrm{nov}(i)

    An item with popularity 0 is treated as popularity 1 (self-information
    :math:`\log_2 n_{users}`): an item nobody interacted with is at least as
    novel as one seen once, and the logarithm stays finite.

    Parameters
    ----------
    recommended : array-like of int, shape (n_users_rec, L)
        As for :func:`precision_at_k`; padding is ignored.
    item_popularity : array-like of real, shape (n_items,)
        Number of training users who interacted with each item (e.g.
        ``Interactions.item_counts()``); ``0 <= pop <= n_users``.
    n_users : int >= 1
        Number of training users.
    per_user : bool

    Returns
    -------
    float, or ndarray of float64, shape (n_users_rec,)
        The mean of :math:`\mathrm{nov}_u` over users with a non-empty list
        (NaN and a ``RuntimeWarning`` when every list is empty), or each
        user's value (NaN for an empty list).
    """
    per_user = check_bool("per_user", per_user)
    n_users = check_int("n_users", n_users, min_value=1)
    popularity = _check_popularity(item_popularity)
    if popularity.size and popularity.max() > n_users:
        raise ValueError(f"item_popularity contains {popularity.max()} (item "
                         f"{int(np.argmax(popularity))}), must be <= n_users == {n_users}.")
    information = -np.log2(np.maximum(popularity, 1.0) / n_users)
    return _list_mean(recommended, information, per_user)


def popularity_bias(recommended, item_popularity, *, per_user=False):
    r"""Average popularity of the recommended items.

    .. math::

        \mathrm{pb}_u = \frac{1}{|\mathrm{rec}_u|} \sum_{i \in \mathrm{rec}_u} \mathrm{pop}_i

    Parameters
    ----------
    recommended : array-like of int, shape (n_users, L)
        As for :func:`precision_at_k`; padding is ignored.
    item_popularity : array-like of real >= 0, shape (n_items,)
        E.g. each item's number of training interactions.
    per_user : bool

    Returns
    -------
    float, or ndarray of float64, shape (n_users,)
        Mean over users with a non-empty list (NaN and a ``RuntimeWarning``
        when there is none), or each user's value (NaN for an empty list).
    """
    per_user = check_bool("per_user", per_user)
    return _list_mean(recommended, _check_popularity(item_popularity), per_user)


def _check_similarity(item_similarity):
    """A dense 2-d array (read as is) or an off-diagonal float64 scipy CSR copy."""
    name = "item_similarity"
    if isinstance(item_similarity, CSR) or sp.issparse(item_similarity):
        if isinstance(item_similarity, CSR):
            indptr, indices, data, shape = _csr_parts(name, item_similarity)
            data = np.asarray(data)
            if data.ndim != 1 or len(data) != len(indices):
                raise ValueError(f"{name}.data must be 1-d, as long as {name}.indices.")
            rows = np.repeat(np.arange(shape[0], dtype=np.int64), np.diff(indptr))
            cols = indices.astype(np.int64)
        else:
            if item_similarity.ndim != 2:
                raise ValueError(f"{name} is a {item_similarity.ndim}-d sparse array, must be 2-d.")
            coo = item_similarity.tocoo()
            rows, cols, data, shape = coo.row, coo.col, coo.data, coo.shape
        if shape[0] != shape[1]:
            raise ValueError(f"{name}.shape == {tuple(shape)}, must be square (n_items, n_items).")
        _check_real(f"{name}.data", data)
        off = rows != cols
        matrix = sp.csr_matrix((data[off].astype(np.float64), (rows[off], cols[off])),
                               shape=shape)  # a new matrix: repeated entries summed
        return matrix, shape[0]
    arr = np.asarray(item_similarity)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name}.shape == {arr.shape}, must be square (n_items, n_items).")
    _check_real(name, arr)
    return arr, arr.shape[0]


def intra_list_diversity(recommended, item_similarity, *, per_user=False):
    r"""Intra-list diversity: mean dissimilarity of the pairs of items in a list.

    .. math::

        \mathrm{ILD}_u = \frac{1}{\binom{n_u}{2}} \sum_{\{i, j\} \subseteq \mathrm{rec}_u}
            \left(1 - \frac{s_{ij} + s_{ji}}{2}\right)
        = 1 - \frac{1}{n_u (n_u - 1)} \sum_{i \ne j \in \mathrm{rec}_u} s_{ij}

    over the unordered pairs of distinct items of the user's list (length
    :math:`n_u`, padding ignored). The similarity matrix is read at both
    :math:`[i, j]` and :math:`[j, i]` and the two averaged, so an asymmetric
    matrix (e.g. each item's top-k neighbours) gives an answer that does not
    depend on the order of the list. Values are used as given: similarities
    outside [0, 1] (e.g. negative Pearson) give ILD outside [0, 1].

    Parameters
    ----------
    recommended : array-like of int, shape (n_users, L)
        As for :func:`precision_at_k`.
    item_similarity : ndarray (n_items, n_items), scipy.sparse matrix or fastcf.data.CSR
        Dense, or sparse with missing entries meaning similarity 0 (e.g. the
        top-k neighbours from ``fastcf.similarity(data, axis="item", k=...)``).
        The diagonal is never read.
    per_user : bool

    Returns
    -------
    float, or ndarray of float64, shape (n_users,)
        Mean over users whose list holds at least 2 items (NaN and a
        ``RuntimeWarning`` when none does), or each user's value (NaN for
        lists of fewer than 2 items).
    """
    per_user = check_bool("per_user", per_user)
    similarity, n_items = _check_similarity(item_similarity)
    rec, valid = _check_recommended(recommended)
    _check_item_range("recommended", rec, n_items, "item_similarity.shape[0]")
    n_users, length = rec.shape
    size = valid.sum(axis=1)
    items = np.where(valid, rec, 0)
    if sp.issparse(similarity):
        lists = sp.csr_matrix((np.ones(int(size.sum())), rec[valid],
                               np.concatenate([[0], np.cumsum(size)])), shape=(n_users, n_items))
        total = np.asarray((lists @ similarity).multiply(lists).sum(axis=1),
                           dtype=np.float64).ravel()
    else:
        total = np.zeros(n_users, dtype=np.float64)
        pairs = valid[:, :, None] & valid[:, None, :] & ~np.eye(length, dtype=bool)
        step = max(1, METRIC_BLOCK_ENTRIES // max(length * length, 1))  # blocks of users
        for start in range(0, n_users, step):
            block = similarity[items[start:start + step, :, None],
                               items[start:start + step, None, :]].astype(np.float64)
            total[start:start + step] = np.where(pairs[start:start + step], block,
                                                 0.0).sum(axis=(1, 2))
    return _result(1.0 - total / np.maximum(size * (size - 1), 1), size >= 2, per_user,
                   "no list holds 2 or more items")
