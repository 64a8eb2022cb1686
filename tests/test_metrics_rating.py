"""Rating metrics (RMSE, MAE): hand-checked values, every error branch."""

import math

import numpy as np
import pytest

from fastcf import metrics


def test_rmse_and_mae_hand_checked():
    truth, predicted = [1.0, 2.0, 3.5], [1.5, 2.0, 3.0]
    assert metrics.rmse(truth, predicted) == pytest.approx(math.sqrt(0.5 / 3), rel=1e-15)
    assert metrics.mae(truth, predicted) == pytest.approx(1.0 / 3, rel=1e-15)
    # integer ratings are read as float64; the caller's arrays are not touched
    truth = np.array([4, 2], dtype=np.int8)
    truth.flags.writeable = False
    assert metrics.rmse(truth, [3, 2]) == pytest.approx(math.sqrt(0.5), rel=1e-15)
    assert metrics.mae(truth, [3, 2]) == 0.5


@pytest.mark.parametrize("truth, predicted, match", [
    ([1.0, 2.0], [1.0], r"y_true has shape \(2,\) but y_pred has shape \(1,\)"),
    ([[1.0]], [[1.0]], "they must be equal and 1-d"),
    ([], [], "y_true is empty"),
    ([1.0, np.nan], [1.0, 2.0], r"y_true contains 1 NaN/inf values \(first at 1\)"),
    ([1.0, 2.0], [np.inf, 2.0], r"y_pred contains 1 NaN/inf values \(first at 0\)"),
])
def test_bad_inputs(truth, predicted, match):
    for fn in (metrics.rmse, metrics.mae):
        with pytest.raises(ValueError, match=match):
            fn(truth, predicted)
