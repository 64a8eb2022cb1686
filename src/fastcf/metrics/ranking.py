"""Ranking metrics of top-k lists (full ranking, binary relevance), and the full-ranking AUC.

:func:`precision_at_k`, :func:`recall_at_k`, :func:`hit_rate_at_k`,
:func:`ndcg_at_k`, :func:`map_at_k`, :func:`mrr` on top-k lists, and
:func:`auc` on the full score matrix. The conventions of ``recommended``,
``relevant`` and ``per_user`` are those of :mod:`fastcf.metrics`.
"""

import numpy as np

from .._config import METRIC_BLOCK_ENTRIES
from .._validation import check_bool, check_int
from ._checks import (
    _check_item_range,
    _check_key_span,
    _check_recommended,
    _check_scores,
    _entries,
    _result,
)


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
