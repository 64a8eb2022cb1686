"""Re-ranking candidate lists for diversity: MMR and DPP, over a batch of users.

``mmr`` and ``dpp`` take each user's candidates (e.g. a model's top-M) with
their scores and pick ``n`` of them greedily, trading score for dissimilarity
to what was already picked. The item similarity is a dense matrix, a scipy
sparse matrix, or :class:`VectorSimilarity` (item vectors, dot products on the
fly).

``MMR`` and ``DPP`` re-rank a model's own lists: ``model.recommend(users, n,
rerank=MMR(lambda_=0.7))`` (see :mod:`fastcf.rerank._rerankers`).
"""

from ._greedy import dpp, mmr
from ._rerankers import DPP, MMR
from ._similarity import VectorSimilarity

__all__ = ["DPP", "MMR", "VectorSimilarity", "dpp", "mmr"]
