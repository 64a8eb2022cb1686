"""``SlopeOne``: weighted Slope One (Lemire & Maclachlan 2005), fastcf's ``SlopeOne``."""

from .algo_base import EngineAlgo, engine_model

__all__ = ["SlopeOne"]


class SlopeOne(EngineAlgo):
    r""":math:`\hat r_{ui} = \mu_u + \frac{1}{|R_i(u)|} \sum_{j \in R_i(u)} \text{dev}(i, j)`,
    :math:`R_i(u)` the items of u with a user in common with i.

    Impossible (the global mean) for an unknown user or item. fastcf keeps the
    deviations sparse: the dense ``dev`` / ``freq`` matrices Surprise exposes
    are not built.
    """

    _ATTRIBUTES = {"user_mean": "user_mean_"}

    def __init__(self):
        EngineAlgo.__init__(self)

    def _build_model(self):
        return engine_model("SlopeOne", clip=False)

    def _impossible(self, users, items):
        return (users < 0) | (items < 0)

