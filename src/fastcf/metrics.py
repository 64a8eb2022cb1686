"""Accuracy metrics (rating metrics now; ranking and beyond-accuracy metrics later)."""

import numpy as np


def _check_pair(y_true, y_pred):
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; "
                         "they must be equal and 1-d.")
    if len(y_true) == 0:
        raise ValueError("y_true is empty, must hold at least one rating.")
    for name, arr in (("y_true", y_true), ("y_pred", y_pred)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(f"{name} contains {int(bad.sum())} NaN/inf values (first at "
                             f"{int(np.argmax(bad))}).")
    return y_true, y_pred


def rmse(y_true, y_pred):
    r"""Root mean squared error, :math:`\sqrt{\frac1n \sum (y - \hat y)^2}`."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def mae(y_true, y_pred):
    r"""Mean absolute error, :math:`\frac1n \sum |y - \hat y|`."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))
