"""The :class:`Prediction` named tuple and the :class:`PredictionImpossible` exception.

As :mod:`surprise.prediction_algorithms.predictions`.
"""

from collections import namedtuple

__all__ = ["Prediction", "PredictionImpossible"]


class PredictionImpossible(Exception):
    r"""Raised by ``estimate`` when a prediction is impossible.

    ``predict`` then uses :meth:`AlgoBase.default_prediction` (the global mean
    :math:`\mu` unless overridden) and reports ``was_impossible`` and the
    ``reason`` in the prediction's ``details``.
    """


class Prediction(namedtuple("Prediction", ["uid", "iid", "r_ui", "est", "details"])):
    """The result of a prediction: ``(uid, iid, r_ui, est, details)``.

    ``uid`` and ``iid`` are raw ids, ``r_ui`` the true rating (or None),
    ``est`` the estimate, ``details`` a dict (``was_impossible``, and
    ``reason`` or ``actual_k`` where the algorithm gives them).
    """

    __slots__ = ()

    def __str__(self):
        s = f"user: {self.uid:<10} "
        s += f"item: {self.iid:<10} "
        if self.r_ui is not None:
            s += f"r_ui = {self.r_ui:1.2f}   "
        else:
            s += "r_ui = None   "
        s += f"est = {self.est:1.2f}   "
        s += str(self.details)
        return s
