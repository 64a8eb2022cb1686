"""The :class:`Prediction` named tuple and the :class:`PredictionImpossible` exception.

As :mod:`surprise.prediction_algorithms.predictions`.
"""

import functools
from collections import namedtuple

from ..utils import gc_paused

__all__ = ["Prediction", "PredictionImpossible", "build_predictions"]


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


def build_predictions(uids, iids, r_uis, est, impossible, actual_k=None, reasons=None):
    """Predictions of parallel columns, with Surprise's ``details``.

    ``est`` (array), ``impossible`` (bool array; its ``reasons``, a list with
    None elsewhere), ``actual_k`` (int array, -1 where the details have none;
    None: no kNN details).
    """
    flags = impossible.tolist()
    reasons = reasons if reasons is not None else [None] * len(flags)
    ks = actual_k.tolist() if actual_k is not None else [-1] * len(flags)
    with gc_paused():
        details = [{"was_impossible": True, "reason": reason} if flag
                   else ({"actual_k": k, "was_impossible": False} if k >= 0
                         else {"was_impossible": False})
                   for flag, reason, k in zip(flags, reasons, ks)]
        # tuple.__new__ straight: namedtuple's _make costs a Python frame per prediction
        return list(map(functools.partial(tuple.__new__, Prediction),
                        zip(uids, iids, r_uis, est.tolist(), details)))
