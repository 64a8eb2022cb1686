"""``NormalPredictor``: a random rating drawn from the training ratings' normal fit."""

from .algo_base import EngineAlgo, engine_model

__all__ = ["NormalPredictor"]


class NormalPredictor(EngineAlgo):
    r"""A rating drawn from :math:`\mathcal{N}(\hat\mu, \hat\sigma^2)`, the maximum-likelihood
    fit of the training ratings (fastcf's ``NormalPredictor``).

    As Surprise, every prediction (unknown ids too) draws from NumPy's global
    ``RandomState``: seed it with ``numpy.random.seed`` for repeatable draws.

    Attributes
    ----------
    sigma : float
    """

    _ATTRIBUTES = {"sigma": "sigma_"}

    def __init__(self):
        EngineAlgo.__init__(self)

    def _build_model(self):
        return engine_model("NormalPredictor", clip=False, surprise_compat=True)
