"""fastcf._training.train_epochs, the epoch loop of every iterative model: history
entries, callbacks, patience with the best state kept, divergence, the progress
bar; and how MatrixFactorization runs it (partial_fit's numbering, schedules)."""

import math

import numpy as np
import pytest

import fastcf
from fastcf import MatrixFactorization
from fastcf._training import Epoch, TrainingDiverged, train_epochs
from fastcf.schedules import Serial


class _Scripted:
    """A stand-in model: one parameter array that holds the epoch it was last
    trained in, and a validation RMSE read from a script."""

    def __init__(self, validation_rmses=(), verbose=False):
        self.history_, self.verbose = [], verbose
        self.weights = np.zeros(3)
        self.validation_rmses = list(validation_rmses)

    def _rmse(self, users, items, ratings):
        return self.validation_rmses[len(self.history_)]

    def params(self):
        return {"weights": self.weights}

    def run_epoch(self, epoch):
        self.weights[:] = epoch
        return Epoch(0.5 * epoch, {"train_loss": 0.5 * epoch}, {"samples": 7})

    def train(self, n_epochs, **kwargs):
        train_epochs(self, n_epochs, self.run_epoch, params=self.params,
                     diverged=lambda epoch: f"diverged at epoch {epoch}", **kwargs)
        return self


VALIDATION = (np.zeros(1), np.zeros(1), np.zeros(1))  # read by _Scripted._rmse only


def test_entries_keep_their_keys_in_order_and_number_on():
    model = _Scripted(validation_rmses=[0.9, 0.8, 0.7, 0.6]).train(2, validation=VALIDATION)
    assert [list(entry) for entry in model.history_] == \
        [["epoch", "train_loss", "seconds", "samples", "validation_rmse"]] * 2
    assert [entry["epoch"] for entry in model.history_] == [0, 1]
    assert model.history_[1]["train_loss"] == 0.5 and model.history_[1]["samples"] == 7
    assert all(entry["seconds"] >= 0 for entry in model.history_)
    model.train(2, validation=VALIDATION)  # a second call continues the count
    assert [entry["epoch"] for entry in model.history_] == [0, 1, 2, 3]
    assert model.history_[3]["validation_rmse"] == 0.6


def test_every_callback_sees_a_copy_and_any_true_stops():
    first, second = [], []

    def stop_at_one(entry):
        first.append(entry["epoch"])
        entry["epoch"] = -1  # a copy: the history keeps its own
        return entry["train_loss"] == 0.5

    def watch(entry):
        second.append(entry["epoch"])
        return 1  # truthy, but not True: does not stop

    model = _Scripted().train(5, callbacks=[stop_at_one, watch])
    assert first == second == [0, 1]
    assert [entry["epoch"] for entry in model.history_] == [0, 1]


def test_patience_stops_and_restores_the_best_epoch():
    model = _Scripted(validation_rmses=[3.0, 2.0, 2.5, 2.0, 2.7, 1.0])
    model.train(6, validation=VALIDATION, patience=2)
    # epoch 1 stays the best (a tie is no improvement); epoch 3 is the 2nd without one
    assert len(model.history_) == 4 and model.best_epoch_ == 1
    assert np.array_equal(model.weights, [1.0, 1.0, 1.0])
    unbounded = _Scripted(validation_rmses=[3.0, 2.0, 2.5]).train(3, validation=VALIDATION)
    assert len(unbounded.history_) == 3 and not hasattr(unbounded, "best_epoch_")
    assert np.array_equal(unbounded.weights, [2.0, 2.0, 2.0])


def test_a_non_finite_loss_or_parameter_raises_training_diverged():
    model = _Scripted()

    def nan_at_two(epoch):
        result = model.run_epoch(epoch)
        return result._replace(loss=math.nan) if epoch == 2 else result

    with pytest.raises(TrainingDiverged, match="diverged at epoch 2"):
        train_epochs(model, 5, nan_at_two, params=model.params,
                     diverged=lambda epoch: f"diverged at epoch {epoch}")
    assert len(model.history_) == 2

    overflowing = _Scripted()

    def overflow_last(epoch):
        result = overflowing.run_epoch(epoch)
        overflowing.weights[0] = np.inf if epoch == 3 else 0.0
        return result

    with pytest.raises(TrainingDiverged, match="diverged at epoch 3"):
        train_epochs(overflowing, 4, overflow_last, params=overflowing.params,
                     diverged=lambda epoch: f"diverged at epoch {epoch}")


def test_training_diverged_is_one_exported_value_error():
    import fastcf.mf
    import fastcf.mlp

    assert fastcf.TrainingDiverged is TrainingDiverged is fastcf.mf.TrainingDiverged
    assert fastcf.mlp.TrainingDiverged is TrainingDiverged
    assert issubclass(TrainingDiverged, ValueError) and "TrainingDiverged" in fastcf.__all__


def test_the_progress_bar_shows_the_metrics_not_the_counts(capsys):
    _Scripted(validation_rmses=[0.9, 0.8], verbose=True).train(2, validation=VALIDATION)
    err = capsys.readouterr().err
    assert "_Scripted" in err and "train_loss=0.5" in err and "validation_rmse=0.8" in err
    assert "samples" not in err


@pytest.fixture(scope="module")
def ratings():
    return fastcf.make_ratings(200, 120, 5_000, seed=6)


def test_partial_fit_numbers_its_epochs_on(ratings):
    model = MatrixFactorization(factors=4, epochs=3, seed=1).fit(ratings)
    model.partial_fit(ratings, epochs=2)
    assert [entry["epoch"] for entry in model.history_] == [0, 1, 2, 3, 4]
    model.fit(ratings)  # a fit starts a new history
    assert [entry["epoch"] for entry in model.history_] == [0, 1, 2]


class _Counting(Serial):
    """The serial schedule, counting its calls."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def start(self, users, items, ratings, n_users, n_items, rng):
        self.calls.append(("start", len(ratings), n_users, n_items))
        super().start(users, items, ratings, n_users, n_items, rng)

    def epoch(self, *params_and_rng):
        self.calls.append("epoch")
        return super().epoch(*params_and_rng)


def test_fit_runs_the_schedule_object_it_is_given(ratings):
    schedule = _Counting()
    model = MatrixFactorization(factors=4, epochs=3, schedule="blocked", seed=1)
    model.fit(ratings, schedule=schedule)
    assert schedule.calls == [("start", ratings.nnz, ratings.n_users, ratings.n_items)] + \
        ["epoch"] * 3
    serial = MatrixFactorization(factors=4, epochs=3, seed=1).fit(ratings)
    assert np.array_equal(model.item_factors_, serial.item_factors_)
    assert [e["train_rmse"] for e in model.history_] == \
        [e["train_rmse"] for e in serial.history_]
