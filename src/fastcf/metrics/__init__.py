"""Evaluation metrics, one module per kind.

Rating metrics (:mod:`fastcf.metrics.rating`)
    :func:`rmse`, :func:`mae`.
Ranking metrics (:mod:`fastcf.metrics.ranking`; full ranking, binary relevance)
    :func:`precision_at_k`, :func:`recall_at_k`, :func:`hit_rate_at_k`,
    :func:`ndcg_at_k`, :func:`map_at_k`, :func:`mrr` on top-k lists, and
    :func:`auc` on the full score matrix.
Metrics of sampled candidate lists (:mod:`fastcf.metrics.sampled`)
    :func:`hit_rate_ndcg_of_candidates`, :func:`sampled_auc_of_candidates`
    (He et al., 2017; not comparable with full-ranking figures).
    The protocol that draws the candidates and scores them with a model is
    :func:`fastcf.evaluation.sampled_candidates` /
    :func:`fastcf.evaluation.sampled_hit_rate_ndcg`.
Beyond accuracy (:mod:`fastcf.metrics.beyond_accuracy`)
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

from .._deprecation import moved_names
from .beyond_accuracy import catalogue_coverage, intra_list_diversity, novelty, popularity_bias
from .ranking import auc, hit_rate_at_k, map_at_k, mrr, ndcg_at_k, precision_at_k, recall_at_k
from .rating import mae, rmse
from .sampled import hit_rate_ndcg_of_candidates, sampled_auc_of_candidates

__all__ = [
    "auc",
    "catalogue_coverage",
    "hit_rate_at_k",
    "hit_rate_ndcg_of_candidates",
    "intra_list_diversity",
    "mae",
    "map_at_k",
    "mrr",
    "ndcg_at_k",
    "novelty",
    "popularity_bias",
    "precision_at_k",
    "recall_at_k",
    "rmse",
    "sampled_auc_of_candidates",
]

#: The protocol functions that take a model or draw candidates: evaluation, not metrics.
__getattr__ = moved_names(__name__, {"sampled_candidates": "fastcf.evaluation",
                                     "sampled_hit_rate_ndcg": "fastcf.evaluation"})
