"""The epoch loop every iteratively trained model runs (MF, the neural models).

:func:`train_epochs` owns what is the same for all of them: the per-epoch
``history_`` entry, the validation RMSE, callbacks, early stopping with
``patience`` (keeping the best epoch's parameters), the progress bar and the
divergence checks. A model gives it one function that trains one epoch.
"""

import math
import time
from typing import NamedTuple

import numpy as np


class TrainingDiverged(ValueError):
    """Training produced NaN or inf: the learning rate is too large for the data."""


class Epoch(NamedTuple):
    """What one epoch of training reports to :func:`train_epochs`.

    ``loss``: checked to be finite (else the training diverged); ``metrics``:
    the history entry's training metrics (floats, e.g. ``{"train_rmse": ...}``),
    shown in the progress bar; ``counts``: entries after ``seconds`` that the
    bar leaves out (ints, e.g. ``{"samples": ...}``).
    """

    loss: float
    metrics: dict
    counts: dict = None


def train_epochs(model, n_epochs, run_epoch, *, params, diverged, validation=None,
                 callbacks=(), patience=None):
    """Run ``run_epoch(0) ... run_epoch(n_epochs - 1)``, appending to ``model.history_``.

    Parameters
    ----------
    model : Recommender
        Its ``history_`` (a list) gets one entry per epoch:
        ``{"epoch", **metrics, "seconds", **counts, ["validation_rmse"]}``, the
        epoch numbered ``len(history_)`` (a ``partial_fit`` continues the count)
        and ``seconds`` the time of ``run_epoch``. ``model.verbose`` shows a
        progress bar (tqdm); ``model._rmse`` scores ``validation``.
    n_epochs : int
    run_epoch : callable
        ``run_epoch(epoch) -> Epoch``, ``epoch`` counted from 0 in this call.
    params : callable
        ``params() -> {name: array}``: the arrays that are the trained model.
        Kept (copied) at the best validation epoch under ``patience`` and
        written back in place at the end; scanned for NaN/inf after the last
        epoch.
    diverged : callable
        ``diverged(epoch) -> str``: the message of the :class:`TrainingDiverged`
        raised when an epoch's loss, or at the end a parameter, is not finite.
    validation : tuple of arrays (users, items, ratings), optional
        Internal indices: their RMSE is the entry's ``validation_rmse``.
    callbacks : iterable of callables
        Each is called with a copy of every entry; if any returns True the
        training stops after that epoch (every callback is still called).
    patience : int, optional
        With ``validation``: stop after this many epochs without a lower
        validation RMSE, restore the best epoch's parameters and set
        ``model.best_epoch_`` to its number.
    """
    callbacks = list(callbacks)
    best = None
    epochs = range(n_epochs)
    if model.verbose:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc=type(model).__name__, unit="epoch")
    for epoch in epochs:
        start = time.perf_counter()
        result = run_epoch(epoch)
        if not math.isfinite(result.loss):
            raise TrainingDiverged(diverged(epoch))
        counts = result.counts or {}
        entry = {"epoch": len(model.history_), **result.metrics,
                 "seconds": time.perf_counter() - start, **counts}
        if validation is not None:
            entry["validation_rmse"] = model._rmse(*validation)
        model.history_.append(entry)
        if model.verbose:
            epochs.set_postfix({k: round(v, 4) for k, v in entry.items()
                                if k != "epoch" and k not in counts})
        stop = any([callback(dict(entry)) is True for callback in callbacks])
        if validation is not None and patience is not None:
            if best is None or entry["validation_rmse"] < best[0]:
                best = (entry["validation_rmse"], entry["epoch"],
                        {name: array.copy() for name, array in params().items()})
            elif entry["epoch"] - best[1] >= patience:
                stop = True
        if stop:
            break
    # A finite loss means every error of the epoch was finite, but the last
    # update may still have overflowed a parameter: scan them once, at the end.
    if model.history_ and not all(np.isfinite(array).all() for array in params().values()):
        raise TrainingDiverged(diverged(model.history_[-1]["epoch"]))
    if best is not None:
        for name, array in params().items():
            array[...] = best[2][name]
        model.best_epoch_ = best[1]
