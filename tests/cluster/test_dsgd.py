"""distributed.fit_mf (DSGD)."""

import numpy as np
import pytest

import fastcf
from fastcf import distributed
from fastcf.split import random_split

from ._helpers import kill_a_worker_mid_job

pytest.importorskip("dask.distributed")


def test_dsgd_is_reproducible_and_as_accurate_as_blocked(client, data):
    train, test = random_split(data, 0.2, seed=0)

    def model():
        return fastcf.MatrixFactorization(factors=16, epochs=12, lr=0.01, seed=3)

    on_cluster = distributed.fit_mf(model(), train, client=client, grid=4, validation=test)
    here = distributed.fit_mf(model(), train, grid=4, validation=test)
    for name in ("user_factors_", "item_factors_", "user_bias_", "item_bias_"):
        assert np.array_equal(getattr(on_cluster, name), getattr(here, name)), name
    blocked = model().set_params(schedule="blocked").fit(train, validation=test)
    dsgd_rmse = on_cluster.history_[-1]["validation_rmse"]
    assert abs(dsgd_rmse - blocked.history_[-1]["validation_rmse"]) < 0.005
    assert dsgd_rmse < on_cluster.history_[0]["validation_rmse"]  # it learns
    # DSGD was that fit's schedule only: the model's next fit runs its own again
    leftover = distributed.fit_mf(model(), train, grid=3).fit(train)
    assert np.array_equal(leftover.user_factors_, model().fit(train).user_factors_)
    shuffled = distributed.fit_mf(model().set_params(cell_order="shuffled"), train, grid=4)
    again = distributed.fit_mf(model().set_params(cell_order="shuffled"), train, grid=4,
                               client=client)
    assert np.array_equal(shuffled.user_factors_, again.user_factors_)


def test_a_worker_killed_mid_dsgd_changes_nothing(client, data, tmp_path):
    def model():
        return fastcf.MatrixFactorization(factors=8, epochs=4, seed=1)

    want_mf = distributed.fit_mf(model(), data, grid=6)
    # held at its first step: the killed worker takes the only copy of rating cells
    # scattered before the first epoch, which no task can compute: sent again from here
    got_mf, removed = kill_a_worker_mid_job(client, lambda: distributed.fit_mf(
        model(), data, grid=6, client=client), ["dsgd._dsgd_cell"], str(tmp_path / "dsgd"))
    for name in ("user_factors_", "item_factors_", "user_bias_", "item_bias_"):
        assert np.array_equal(getattr(got_mf, name), getattr(want_mf, name)), name
    assert any(key.startswith("_dsgd_cell-") for key in removed["processing-tasks"])
    assert removed["lost-scattered-tasks"]
