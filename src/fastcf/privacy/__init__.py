"""Training with differential privacy.

User-level differential privacy in the "billboard" (joint-DP) setting of the
recommender literature (Jain, Thakkar & Thakurta 2018; Chien et al. 2021): the
shared parameters (item factors, item biases, a network's item embeddings and
layers) are released with an (epsilon, delta) guarantee; each user's own
parameters are computed from that user's data and the released shared
parameters only, and are shown to that user alone.

A private model is its own estimator, not an option on the non-private one:
the guarantee depends on how the whole fit runs (the data-independent rating
range, the per-user cap and clipping, Poisson-sampled batches, the noise of
every release), so its parameters are checked together and every fitted
private model carries its ``privacy_report_``. With ``epsilon=inf`` each is
exactly its non-private counterpart.

The noise multiplier and the spent epsilon come from ``dp-accounting``
(:mod:`fastcf.privacy._accounting`).
"""

from ._accounting import calibrate_noise, spent_epsilon
from .als import DPALS
from .mf import DPMatrixFactorization
from .mlp import DPMLPRecommender

__all__ = ["DPALS", "DPMLPRecommender", "DPMatrixFactorization", "calibrate_noise",
           "spent_epsilon"]
