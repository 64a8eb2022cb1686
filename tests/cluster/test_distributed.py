"""fastcf.distributed on a LocalCluster of 2 worker processes (loopback), and without one."""

import threading
import time

import numpy as np
import pandas as pd
import pytest

import fastcf
from fastcf import distributed
from fastcf.distributed import _cluster
from fastcf.split import random_split

dd = pytest.importorskip("dask.dataframe")
dask_distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def client():
    cluster = dask_distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                            host="127.0.0.1", dashboard_address=None)
    with dask_distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def data():
    return fastcf.make_ratings(1500, 400, 30_000, seed=4)


def assert_csr_identical(got, want):
    assert got.shape == want.shape
    for name in ("indptr", "indices", "data"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name


@pytest.mark.parametrize("kind", ["pearson", "cosine", "cosine_all", "pearson_baseline",
                                  "msd", "jaccard"])
@pytest.mark.parametrize("axis", ["item", "user"])
def test_similarity_equals_single_machine_without_a_cluster(data, kind, axis):
    want = fastcf.similarity(data, kind, axis=axis, k=15)
    for block_rows in (None, 1, 37, 10_000):
        assert_csr_identical(distributed.similarity_topk(data, kind, axis=axis, k=15,
                                                         block_rows=block_rows), want)


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_similarity_equals_single_machine_on_the_cluster(client, data, backend, dtype):
    want = fastcf.similarity(data, "pearson", axis="item", k=20, dtype=dtype, backend=backend)
    got = distributed.similarity_topk(data, "pearson", axis="item", k=20, dtype=dtype,
                                      backend=backend, client=client, block_rows=50)
    assert_csr_identical(got, want)


def test_similarity_shards(client, data, tmp_path):
    want = fastcf.similarity(data, "cosine", axis="user", k=10)
    paths = distributed.similarity_topk(data, "cosine", axis="user", k=10, client=client,
                                        out_dir=str(tmp_path))
    indptr, indices, values, start = [0], [], [], 0
    for path in paths:
        with np.load(path) as shard:
            assert int(shard["row_start"]) == start
            indptr.extend(indptr[-1] + shard["indptr"][1:])
            indices.append(shard["indices"])
            values.append(shard["data"])
            start += int(shard["n_rows"])
    assert start == data.n_users
    assert np.array_equal(indptr, want.indptr)
    assert np.array_equal(np.concatenate(indices), want.indices)
    assert np.array_equal(np.concatenate(values), want.data)


@pytest.fixture(scope="module")
def mf(data):
    return fastcf.MatrixFactorization(factors=8, epochs=3).fit(data)


@pytest.mark.parametrize("on_cluster", [False, True])
def test_recommend_equals_single_machine(client, mf, tmp_path, on_cluster):
    users = mf.user_ids_[::-3]
    frame = distributed.recommend(mf, users, n=7, block_users=97,
                                  client=client if on_cluster else None)
    assert frame.npartitions == -(-len(users) // 97)
    want = mf.recommend_frame(users, 7)
    pd.testing.assert_frame_equal(frame.compute().reset_index(drop=True), want)
    frame.to_parquet(tmp_path / "recs")
    back = pd.read_parquet(tmp_path / "recs")
    pd.testing.assert_frame_equal(back.reset_index(drop=True), want, check_dtype=False)


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


def _hold_first_call(names, gate):
    """Wrap each ``fastcf.distributed.<module>.<function>`` of ``names`` (by ``client.run``).

    The first call of any of them -- a task that has started executing -- writes
    ``<gate>/held-<pid>`` (this worker's address) and waits until ``<gate>/release``
    exists; every other call runs as is. A worker started later is not wrapped.
    """
    import importlib
    import os
    import time

    from distributed import get_worker

    armed = [True]

    def wrap(task):
        def held(*args):
            if armed and armed.pop():
                path = os.path.join(gate, f"held-{os.getpid()}")
                with open(path + ".tmp", "w") as f:
                    f.write(get_worker().address)
                os.replace(path + ".tmp", path)  # the test never reads half a file
                while not os.path.exists(os.path.join(gate, "release")):
                    time.sleep(0.01)
            return task(*args)

        held.unwrapped = task
        return held

    for name in names:
        module = importlib.import_module("fastcf.distributed." + name.split(".")[0])
        task = name.split(".")[1]
        setattr(module, task, wrap(getattr(module, task)))


def _unwrap(names):
    """Undo :func:`_hold_first_call` in this worker process (if it ran here)."""
    import importlib

    for name in names:
        module = importlib.import_module("fastcf.distributed." + name.split(".")[0])
        task = getattr(module, name.split(".")[1])
        setattr(module, name.split(".")[1], getattr(task, "unwrapped", task))


def _only_copies_on(victim, dask_scheduler=None):
    """Drop every other replica of what ``victim`` holds (an AMM pass, on the scheduler).

    Dask's active memory manager does this on its own every few seconds (keeping
    one replica of what no running task needs); here it happens at once and
    always in favour of ``victim``. Returns the keys only ``victim`` then holds.
    """
    from distributed.active_memory_manager import (
        ActiveMemoryManagerExtension,
        ActiveMemoryManagerPolicy,
        Suggestion,
    )

    class KeepOn(ActiveMemoryManagerPolicy):
        def run(self):
            for ts in list(self.manager.scheduler.replicated_tasks):
                others = {ws for ws in ts.who_has if ws.address != victim}
                if len(others) < len(ts.who_has):
                    yield Suggestion("drop", ts, candidates=others)

    ActiveMemoryManagerExtension(dask_scheduler, {KeepOn()}, register=False,
                                 start=False).run_once()
    return [ts.key for ts in dask_scheduler.workers[victim].has_what if len(ts.who_has) == 1]


def _removals(client, worker):
    """The scheduler's remove-worker events of ``worker`` (what it was running and held)."""
    return [msg for _, msg in client.get_events(worker)
            if isinstance(msg, dict) and msg.get("action") == "remove-worker"]


def _kill_a_worker_mid_job(client, job, names, gate):
    """``job()``'s result, one worker killed (SIGKILL) while it runs a task of ``names``.

    Every worker is made to hold the first task of ``names`` it executes (see
    :func:`_hold_first_call`); the job cannot end while one is held. The first
    worker to hold one is left the only copy of everything it shares, then
    killed; its nanny starts a new one and the held workers go on. Returns
    ``(result, the scheduler's remove-worker event of the killed worker)``.
    """
    import os
    import signal

    client.wait_for_workers(2, timeout=60)
    os.makedirs(gate)
    result, errors = [], []

    def run():
        try:
            result.append(job())
        except Exception as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)

    client.run(_hold_first_call, names, gate)
    thread = threading.Thread(target=run, daemon=True)
    try:
        thread.start()
        deadline, held = time.monotonic() + 120, []
        while not held and thread.is_alive() and time.monotonic() < deadline:
            held = [f for f in os.listdir(gate) if f.startswith("held-")
                    and not f.endswith(".tmp")]
            time.sleep(0.01)
        assert not errors, errors
        assert held, f"no task of {names} started within 120 s"
        assert thread.is_alive()  # by construction: a task of the job is held
        with open(os.path.join(gate, held[0])) as f:
            victim = f.read()
        running = client.processing([victim])[victim]
        tasks = [name.split(".")[1] for name in names]
        assert any(key.split("-")[0] in tasks for key in running), running
        # what the held task reads is needed by no other task: now only the victim has it
        assert client.run_on_scheduler(_only_copies_on, victim)
        os.kill(int(held[0].removeprefix("held-")), signal.SIGKILL)
        while not (removed := _removals(client, victim)) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(removed) == 1 and not removed[0]["expected"], removed
    finally:
        open(os.path.join(gate, "release"), "w").close()
        thread.join(120)
        client.run(_unwrap, names)
    assert not thread.is_alive(), "the job did not end within 120 s of the kill"
    assert not errors, errors
    client.wait_for_workers(2, timeout=60)  # the nanny replaced the killed worker
    return result[0], removed[0]


def test_a_worker_killed_mid_job_changes_nothing(client, data, tmp_path):
    want = fastcf.similarity(data, "pearson", axis="item", k=20)
    # held at its first merge: the killed worker takes block results (and perhaps
    # the input) with it, which Dask computes again (or the job is run again)
    got, removed = _kill_a_worker_mid_job(client, lambda: distributed.similarity_topk(
        data, "pearson", axis="item", k=20, client=client, block_rows=20, n_threads=1),
        ["similarity._merge"], str(tmp_path / "similarity"))
    assert_csr_identical(got, want)
    assert any(key.startswith("_merge-") for key in removed["processing-tasks"])
    assert any(key.startswith("_similarity_block-") for key in removed["lost-computed-tasks"])

    def model():
        return fastcf.MatrixFactorization(factors=8, epochs=4, seed=1)

    want_mf = distributed.fit_mf(model(), data, grid=6)
    # held at its first step: the killed worker takes the only copy of rating cells
    # scattered before the first epoch, which no task can compute: sent again from here
    got_mf, removed = _kill_a_worker_mid_job(client, lambda: distributed.fit_mf(
        model(), data, grid=6, client=client), ["dsgd._dsgd_cell"], str(tmp_path / "dsgd"))
    for name in ("user_factors_", "item_factors_", "user_bias_", "item_bias_"):
        assert np.array_equal(getattr(got_mf, name), getattr(want_mf, name)), name
    assert any(key.startswith("_dsgd_cell-") for key in removed["processing-tasks"])
    assert removed["lost-scattered-tasks"]


def test_from_dask(data):
    frame = data.to_frame()
    ddf = dd.from_pandas(frame, npartitions=3)
    back = distributed.from_dask(ddf, rating="rating")
    want = fastcf.Interactions.from_frame(frame, rating="rating")
    assert np.array_equal(back.user_ids, want.user_ids)
    assert np.array_equal(back.by_user.data, want.by_user.data)
    with pytest.raises(ValueError, match="no column \\['stars'\\]"):
        distributed.from_dask(ddf, rating="stars")
    with pytest.raises(TypeError, match="dask.dataframe.DataFrame"):
        distributed.from_dask(frame)


def test_unreachable_cluster(data, monkeypatch):
    monkeypatch.setattr(_cluster, "CONNECT_TIMEOUT", 1)
    with pytest.raises(ConnectionError, match="cannot reach the Dask scheduler at "
                                              "'tcp://127.0.0.1:9'"):
        distributed.similarity_topk(data, k=5, client="tcp://127.0.0.1:9")


@pytest.mark.parametrize("call, error, match", [
    (lambda d, m: distributed.similarity_topk(d, k=5, block_rows=0), ValueError,
     "block_rows == 0"),
    (lambda d, m: distributed.similarity_topk(d, k=5, block_rows=-3), ValueError,
     "block_rows == -3"),
    (lambda d, m: distributed.similarity_topk(d, k=None), ValueError, "k is required"),
    (lambda d, m: distributed.similarity_topk(d, k=5, backend="reference"), ValueError,
     "backend"),
    (lambda d, m: distributed.similarity_topk(d, kind="dice", k=5), ValueError, "dice"),
    (lambda d, m: distributed.similarity_topk(d, k=5, client=42), TypeError, "client must"),
    (lambda d, m: distributed.recommend(m, block_users=0), ValueError, "block_users == 0"),
    (lambda d, m: distributed.recommend(m, n=0), ValueError, "n == 0"),
    (lambda d, m: distributed.recommend(m, users=[]), ValueError, "non-empty"),
    (lambda d, m: distributed.recommend(fastcf.BaselineOnly()), ValueError, "not fitted"),
    (lambda d, m: distributed.fit_mf(m, d, grid=0), ValueError, "grid == 0"),
    (lambda d, m: distributed.fit_mf(fastcf.BaselineOnly(), d), TypeError,
     "MatrixFactorization"),
    (lambda d, m: distributed.fit_mf(m, d.to_frame()), TypeError, "Interactions"),
])
def test_bad_input(data, mf, call, error, match):
    with pytest.raises(error, match=match):
        call(data, mf)


def test_a_cancelled_job_is_run_again(client):
    from distributed.client import FutureCancelledError

    executor = _cluster._executor(client)
    calls = []

    def job():
        calls.append(1)
        if len(calls) < executor.ATTEMPTS:
            raise FutureCancelledError("k", "lost with its worker")
        return "answer"

    assert executor.retrying(job) == "answer" and len(calls) == executor.ATTEMPTS

    def always_lost():
        calls.append(1)
        raise FutureCancelledError("k", "lost with its worker")

    calls.clear()
    with pytest.raises(FutureCancelledError):
        executor.retrying(always_lost)
    assert len(calls) == executor.ATTEMPTS


def test_rows_without_entries_anywhere(client):
    import scipy.sparse as sp

    x = sp.random(60, 30, density=0.2, format="csr", random_state=1)
    x.data = np.ceil(x.data * 5)
    x = sp.vstack([sp.csr_matrix((3, 30)), x, sp.csr_matrix((4, 30))]).tocsr()  # empty rows
    x.sort_indices()
    want = fastcf.similarity(x, "cosine", axis="user", k=5)
    for on in (None, client):  # one block, then one per worker (split by pair work)
        assert_csr_identical(distributed.similarity_topk(x, "cosine", axis="user", k=5,
                                                         client=on), want)
