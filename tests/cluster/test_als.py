"""distributed.fit_als (ALS by row blocks on a cluster)."""

import numpy as np
import pytest

import fastcf
from fastcf import distributed
from fastcf.als import _CSR
from fastcf.distributed.als import _row_block

from ._helpers import kill_a_worker_mid_job

pytest.importorskip("dask.distributed")

MODES = [{}, {"implicit": False}]  # implicit ALS, explicit ALS-WR


def _model(mode, **params):
    return fastcf.ALS(**{"factors": 12, "iterations": 3, "seed": 5, **mode, **params})


@pytest.fixture(params=["numba", "cython"])
def backend(request):
    return request.param


def _assert_same_factors(got, want):
    for name in ("user_factors_", "item_factors_"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name


@pytest.mark.parametrize("mode, solver", [({}, "cg"), ({}, "cholesky"), (MODES[1], "cg")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_blocks_solved_alone_give_the_bits_of_the_whole_sweep(data, mode, dtype, solver,
                                                                  backend):
    model = _model(mode, dtype=dtype, solver=solver, backend=backend)
    model.global_mean_ = data.global_mean  # what the explicit mode centres on
    rng = np.random.default_rng(0)
    csr = model._rows(data.by_user)
    other = rng.random((data.n_items, model.factors)).astype(dtype)
    start = rng.random((data.n_users, model.factors)).astype(dtype)
    whole = start.copy()
    model._solve_rows(csr, other, model._shared(other), whole, solver, 1)
    for n_blocks in (2, 3, 40):
        points = model._split_points(csr.indptr, n_blocks)
        assert 2 < len(points) <= n_blocks + 1
        by_blocks = start.copy()
        for lo, hi in zip(points[:-1], points[1:]):
            block = _row_block(csr, lo, hi)
            assert isinstance(block, _CSR)
            solved = start[lo:hi].copy()
            model._solve_rows(block, other, model._shared(other), solved, solver, 1)
            by_blocks[lo:hi] = solved
        assert np.array_equal(by_blocks, whole), n_blocks


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_factors_are_those_of_als_fit(client, data, mode, dtype, backend):
    want = _model(mode, dtype=dtype, backend=backend).fit(data, compute_loss=True)
    runs = [dict(), dict(blocks=3), dict(client=client), dict(client=client, blocks=1),
            dict(client=client, blocks=5), dict(client=client, blocks=3, broadcast=True)]
    for kwargs in runs:
        seen = []
        got = distributed.fit_als(_model(mode, dtype=dtype, backend=backend), data,
                                  compute_loss=True,
                                  callbacks=[seen.append], **kwargs)
        _assert_same_factors(got, want)
        assert [h["loss"] for h in got.history_] == [h["loss"] for h in want.history_]
        assert seen == got.history_
    # the cluster ran that fit only: the model's next fit runs its own sweeps again
    assert "_sweeps" not in got.__dict__
    _assert_same_factors(got.fit(data), want)


def test_cholesky_and_early_stop(client, data, backend):
    want = _model({}, solver="cholesky", iterations=2, backend=backend).fit(data)
    got = distributed.fit_als(_model({}, solver="cholesky", backend=backend), data,
                              client=client,
                              callbacks=[lambda entry: entry["epoch"] >= 1])
    _assert_same_factors(got, want)
    assert len(got.history_) == 2


@pytest.mark.parametrize("mode", MODES)
def test_a_persisted_handle_sends_the_ratings_once(client, data, mode, backend):
    handle = distributed.persist(data, client)
    sent = []
    scatter = handle._executor.scatter

    def spy(objects, **kwargs):
        sent.extend(type(obj).__name__ for obj in objects)
        return scatter(objects, **kwargs)

    handle._executor.scatter = spy
    first = distributed.fit_als(_model(mode, backend=backend), handle)
    assert sent.count("_CSR") == 2 * handle._executor.n_workers  # each side's blocks
    layouts = dict(handle._layouts)
    sent.clear()
    second = distributed.fit_als(_model(mode, reg=0.5, backend=backend), handle, client=client)
    assert "_CSR" not in sent and sent  # factors went, ratings did not
    assert handle._layouts == layouts
    _assert_same_factors(first, _model(mode, backend=backend).fit(data))
    _assert_same_factors(second, _model(mode, reg=0.5, backend=backend).fit(data))
    # another cut of the rows is another layout
    distributed.fit_als(_model(mode), handle, blocks=3)
    assert len(handle._layouts) > len(layouts)


def test_a_worker_killed_mid_als_changes_nothing(client, data, tmp_path, backend):
    want = _model({}, backend=backend).fit(data)
    # held at its first block: the killed worker takes the only copy of its rating
    # blocks (scattered before the first half-step): sent again from here
    got, removed = kill_a_worker_mid_job(client, lambda: distributed.fit_als(
        _model({}, backend=backend), data, client=client, blocks=4), ["als._solve_block"],
        str(tmp_path / "als"))
    _assert_same_factors(got, want)
    assert any(key.startswith("_solve_block-") for key in removed["processing-tasks"])
    assert removed["lost-scattered-tasks"]


def test_bad_input(data):
    with pytest.raises(TypeError, match="model must be an ALS, got MatrixFactorization"):
        distributed.fit_als(fastcf.MatrixFactorization(), data)
    with pytest.raises(TypeError, match="data must be an Interactions or a Persisted, got "
                                        "dict"):
        distributed.fit_als(_model({}), {"ratings": data})
    with pytest.raises(ValueError, match="blocks == 0, must be >= 1"):
        distributed.fit_als(_model({}), data, blocks=0)
    with pytest.raises(ValueError, match="factors == 0, must be >= 1"):
        distributed.fit_als(_model({}, factors=0), data)


def test_a_cluster_without_workers_is_a_clear_error(data, monkeypatch):
    from dask.distributed import Client, LocalCluster

    monkeypatch.setattr(distributed.als, "WAIT_FOR_WORKERS", 0.5)
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as empty:
        with pytest.raises(RuntimeError, match="the Dask cluster has no worker"):
            distributed.fit_als(_model({}), data, client=empty)
