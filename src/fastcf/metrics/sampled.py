"""Metrics of candidate lists scored under the sampled-negatives protocol (He et al., 2017).

Each row of ``scores`` holds the score of one held-out positive (column 0)
and of sampled negatives (the other columns), e.g. the candidates of
:func:`fastcf.evaluation.sampled_candidates`. Sampled metrics are not
full-ranking metrics (Krichene & Rendle, 2020): compare them only with each
other.
"""

import numpy as np

from .._validation import check_int
from ._checks import _check_scores


def _check_candidate_scores(scores):
    """``scores`` as a float64 (n >= 1, 1 + n_neg >= 2) array, finite."""
    scores = _check_scores(scores, "scores")
    n, width = scores.shape
    if n == 0:
        raise ValueError("scores has 0 rows, must hold at least one candidate list.")
    if width < 2:
        raise ValueError(f"scores.shape[1] == {width}, must be >= 2 (the positive in column 0, "
                         "then at least one negative).")
    return scores


def hit_rate_ndcg_of_candidates(scores, k=10):
    r"""(HR@k, NDCG@k) from the scores of candidate lists, the positive in column 0.

    With :math:`r` the number of negatives scored at least as high as the
    positive (ties count against it): hit :math:`[r < k]`, gain
    :math:`[r < k] / \log_2(r + 2)`, both averaged over the rows.

    Parameters
    ----------
    scores : array-like of real numbers, shape (n, 1 + n_neg)
        ``n >= 1`` rows, ``n_neg >= 1``; NaN/inf are refused.
    k : int >= 1

    Returns
    -------
    (hit_rate, ndcg) : tuple of float
    """
    k = check_int("k", k, min_value=1)
    scores = _check_candidate_scores(scores)
    rank = (scores[:, 1:] >= scores[:, :1]).sum(axis=1)
    hit = rank < k
    return float(hit.mean()), float(np.mean(np.where(hit, 1.0 / np.log2(rank + 2.0), 0.0)))


def sampled_auc_of_candidates(scores):
    r"""AUC by the **sampled-negatives** protocol, from the scores of candidate lists.

    Each row holds the score of one held-out positive (column 0) and of
    ``n_neg`` sampled negatives (the other columns, e.g. those of
    :func:`fastcf.evaluation.sampled_candidates`). Per row, the fraction of
    negatives scored strictly below the positive, ties counting one half:

    .. math::

        \mathrm{AUC}_r = \frac{1}{n_{neg}} \sum_{j=1}^{n_{neg}}
            \left([s_{r0} > s_{rj}] + \tfrac12 [s_{r0} = s_{rj}]\right)

    and the mean over the rows is returned. Sampled metrics are not
    full-ranking metrics (Krichene & Rendle, 2020): compare them only with
    each other; :func:`fastcf.metrics.auc` is the full-ranking AUC.

    Parameters
    ----------
    scores : array-like of real numbers, shape (n, 1 + n_neg)
        ``n >= 1`` rows, ``n_neg >= 1``; NaN/inf are refused.

    Returns
    -------
    float
    """
    scores = _check_candidate_scores(scores)
    positive, negatives = scores[:, :1], scores[:, 1:]
    wins = (negatives < positive).sum(axis=1) + 0.5 * (negatives == positive).sum(axis=1)
    return float(np.mean(wins / (scores.shape[1] - 1)))
