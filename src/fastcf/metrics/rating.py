"""Metrics of predicted ratings: :func:`rmse`, :func:`mae`."""

import numpy as np

from ._checks import _check_pair


def rmse(y_true, y_pred):
    r"""Root mean squared error, :math:`\sqrt{\frac1n \sum (y - \hat y)^2}`."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def mae(y_true, y_pred):
    r"""Mean absolute error, :math:`\frac1n \sum |y - \hat y|`."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))
