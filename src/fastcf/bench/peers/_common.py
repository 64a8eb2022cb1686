"""What every peer runner needs: the test truth and the accuracy of predictions."""

from ...metrics import mae, rmse


def _truth(test):
    frame = test.to_frame()
    return frame, frame["rating"].to_numpy()


def _accuracy(truth, pred):
    return {"rmse": rmse(truth, pred), "mae": mae(truth, pred)}
