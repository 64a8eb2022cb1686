"""distributed.persist: layouts sent once per handle and reused; recommend's kept model copy."""

import gc
import importlib
import os
import signal
import time
import weakref

import numpy as np
import pandas as pd
import pytest

import fastcf
from fastcf import distributed
from fastcf.distributed import _cluster
from fastcf.distributed.persist import resolve
from fastcf.model_selection import grid_search, random_search
from fastcf.split import kfold

from ._helpers import _only_copies_on, _removals, assert_csr_identical

recommend_module = importlib.import_module("fastcf.distributed.recommend")  # not the function
dd = pytest.importorskip("dask.dataframe")
dask_distributed = pytest.importorskip("dask.distributed")

GRID = {"reg_user": [1.0, 15.0], "reg_item": [0.5, 10.0]}
TIMES = ["mean_fit_s", "mean_test_s"]


@pytest.fixture()
def scatters(monkeypatch):
    """The lengths of the lists every Dask executor scatters, in order (a spy)."""
    sent = []
    scatter = _cluster._Cluster.scatter

    def spy(self, data, *args, **kwargs):
        sent.append(len(data))
        return scatter(self, data, *args, **kwargs)

    monkeypatch.setattr(_cluster._Cluster, "scatter", spy)
    return sent


def _on_scheduler(client, key):
    return client.run_on_scheduler(lambda dask_scheduler: key in dask_scheduler.tasks)


# ------------------------------------------------------------------ the handle
def test_persist_refuses_what_it_cannot_keep(client, data):
    with pytest.raises(TypeError, match="data must be an Interactions, got NoneType"):
        distributed.persist(None, client)
    with pytest.raises(TypeError, match="got DataFrame.$"):
        distributed.persist(data.to_frame(), client)
    with pytest.raises(TypeError, match="from_dask\\(frame, ..., client=client\\)"):
        distributed.persist(dd.from_pandas(data.to_frame(), npartitions=2), client)
    handle = distributed.persist(data, client)
    with pytest.raises(TypeError, match="already a Persisted"):
        distributed.persist(handle, client)
    with pytest.raises(ValueError, match="client is required"):
        distributed.persist(data, None)


def test_every_handle_has_its_own_identity(client, data):
    first, second = distributed.persist(data, client), distributed.persist(data, client)
    changed = distributed.persist(fastcf.make_ratings(200, 50, 2_000, seed=1), client)
    assert len({first.identity, second.identity, changed.identity}) == 3
    assert first.data is data and first.client is client and not first.layouts
    assert repr(first) == (f"Persisted(identity={first.identity}, 1500 users x 400 items, "
                           f"{data.nnz} interactions, 0 layout(s))")


def test_a_handle_runs_on_its_own_client_only(client, data):
    handle = distributed.persist(data, client)
    executor, got, same = resolve(handle, None)
    assert got is data and same is handle and executor is handle._executor
    assert resolve(handle, client)[0] is resolve(handle, client.scheduler.address)[0]
    with pytest.raises(ValueError, match="persisted on another client"):
        resolve(handle, "tcp://127.0.0.1:9")
    with dask_distributed.Client(client.scheduler.address) as other:
        with pytest.raises(ValueError, match="persisted on another client"):
            distributed.similarity_topk(handle, k=5, client=other)
        with pytest.raises(ValueError, match="persisted on another client"):
            grid_search(fastcf.BaselineOnly, GRID, handle, folds=2, client=other)
    with pytest.raises(ValueError, match="data is a Persisted: .* leave n_jobs None"):
        grid_search(fastcf.BaselineOnly, GRID, handle, folds=2, n_jobs=2)


def test_a_layout_is_built_once_and_a_failed_build_leaves_nothing(client, data):
    handle = distributed.persist(data, client)
    built = []

    def fails():
        raise RuntimeError("no room")

    with pytest.raises(RuntimeError, match="no room"):
        handle.layout(("x", 1), fails)
    assert handle.layouts == []

    def fails_half_sent():
        handle._executor.scatter([np.arange(3)])
        raise RuntimeError("no room")

    kept = dict(handle._executor.kept)
    with pytest.raises(RuntimeError, match="no room"):
        handle.layout(("x", 1), fails_half_sent)
    assert handle._executor.kept == kept  # what it sent is not kept to be sent again
    assert handle.layout(("x", 1), lambda: built.append(1) or "laid out") == "laid out"
    assert handle.layout(("x", 1), fails) == "laid out"
    assert built == [1] and handle.layouts == [("x", 1)]


# ------------------------------------------------------------------ similarity
def test_similarity_sends_its_rows_once_per_handle_and_options(client, data, scatters):
    handle = distributed.persist(data, client)
    want = fastcf.similarity(data, "pearson", axis="item", k=20)
    assert_csr_identical(distributed.similarity_topk(handle, "pearson", k=20), want)
    assert scatters == [1]  # the prepared rows, once
    (key,) = handle.layouts
    future = handle.layout(key, None)[0]
    # another k, block_rows, dtype: the same rows, nothing sent
    for k, block_rows, dtype in [(20, None, np.float64), (7, 50, np.float64),
                                 (20, 13, np.float32)]:
        got = distributed.similarity_topk(handle, "pearson", k=k, block_rows=block_rows,
                                          dtype=dtype, client=client)
        assert_csr_identical(got, fastcf.similarity(data, "pearson", axis="item", k=k,
                                                    dtype=dtype))
    assert scatters == [1] and handle.layouts == [key]
    assert handle.layout(key, None)[0].key == future.key
    # what the rows depend on: a new layout, sent once, kept beside the first
    got = distributed.similarity_topk(handle, "pearson", k=20, min_support=3)
    assert_csr_identical(got, fastcf.similarity(data, "pearson", axis="item", k=20,
                                                min_support=3))
    for kind, axis in [("pearson_baseline", "item"), ("cosine", "user")]:
        want = fastcf.similarity(data, kind, axis=axis, k=10)
        for _ in range(2):
            assert_csr_identical(distributed.similarity_topk(handle, kind, axis=axis, k=10),
                                 want)
    assert scatters == [1, 1, 1, 1] and len(handle.layouts) == 4
    # the same data persisted again is a new handle: its own layouts, sent again
    again = distributed.persist(data, client)
    assert_csr_identical(distributed.similarity_topk(again, "pearson", k=20),
                         fastcf.similarity(data, "pearson", axis="item", k=20))
    assert scatters == [1, 1, 1, 1, 1]


def test_release_frees_the_layouts_on_the_workers(client, data, scatters):
    handle = distributed.persist(data, client)
    want = fastcf.similarity(data, "cosine", axis="item", k=8)
    distributed.similarity_topk(handle, "cosine", k=8)
    key = handle.layout(handle.layouts[0], None)[0].key
    assert _on_scheduler(client, key)
    handle.release()
    assert handle.layouts == [] and handle._executor.kept == {}
    deadline = time.monotonic() + 30
    while _on_scheduler(client, key) and time.monotonic() < deadline:
        time.sleep(0.05)  # the client tells the scheduler asynchronously
    assert not _on_scheduler(client, key)
    # still usable: laid out and sent again
    assert_csr_identical(distributed.similarity_topk(handle, "cosine", k=8), want)
    assert scatters == [1, 1]


def test_a_layout_lost_with_its_worker_is_sent_again(client, data):
    handle = distributed.persist(data, client)
    want = fastcf.similarity(data, "pearson", axis="item", k=20)
    distributed.similarity_topk(handle, "pearson", k=20)
    future = handle.layout(handle.layouts[0], None)[0]
    key = future.key
    # between two calls, the layout's only copy is left on one worker, then killed
    client.wait_for_workers(2, timeout=60)
    # a worker holding a copy (Dask's memory manager may have dropped the others)
    victim = sorted(client.who_has([future])[key])[0]
    pid = client.run(os.getpid, workers=[victim])[victim]
    assert key in client.run_on_scheduler(_only_copies_on, victim)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while not _removals(client, victim) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _removals(client, victim)
    # the next call finds it lost, sends it again from this process, same answer
    assert_csr_identical(distributed.similarity_topk(handle, "pearson", k=20), want)
    (entry,) = handle._executor.kept.values()
    assert entry[0].key != key and entry[0].status == "finished"
    client.wait_for_workers(2, timeout=60)  # the nanny replaced the killed worker


# ------------------------------------------------------------------ grid search
def test_a_search_sends_the_folds_once_per_handle_and_fold_spec(client, data, scatters):
    serial = grid_search(fastcf.BaselineOnly, GRID, data, folds=3, metrics=["rmse"],
                         n_jobs=1, refit=False)
    handle = distributed.persist(data, client)
    first = grid_search(fastcf.BaselineOnly, GRID, handle, folds=3, metrics=["rmse"],
                        refit=False)
    assert scatters == [1, 1]  # the folds (a layout), then what the search shares
    (key,) = handle.layouts
    assert key == ("search-folds", 3, 0)
    second = grid_search(fastcf.BaselineOnly, GRID, handle, folds=3, metrics=["rmse"])
    for result in (first, second):
        pd.testing.assert_frame_equal(result.results.drop(columns=TIMES),
                                      serial.results.drop(columns=TIMES))
    drawn = random_search(fastcf.BaselineOnly, GRID, handle, n_iter=2, folds=3,
                          metrics=["rmse"], client=client, refit=False)
    assert scatters == [1, 1, 1, 1]  # the same folds: only each search's small share
    assert second.best_model.n_users_ == data.n_users  # refitted here, on the data
    assert set(drawn.results["params"].map(str)) <= set(serial.results["params"].map(str))
    # another seed or count: other folds, sent once more
    grid_search(fastcf.BaselineOnly, GRID, handle, folds=3, seed=1, refit=False)
    assert handle.layouts == [key, ("search-folds", 3, 1)]
    # splits given as a list are the search's own: sent with it, not kept
    splits = kfold(data, 2, seed=5)
    listed = grid_search(fastcf.BaselineOnly, GRID, handle, folds=splits, metrics=["rmse"],
                         refit=False)
    here = grid_search(fastcf.BaselineOnly, GRID, data, folds=splits, metrics=["rmse"],
                       n_jobs=1, refit=False)
    pd.testing.assert_frame_equal(listed.results.drop(columns=TIMES),
                                  here.results.drop(columns=TIMES))
    assert len(handle.layouts) == 2
    # folds from fresh entropy are another split each search: not kept either
    grid_search(fastcf.BaselineOnly, GRID, handle, folds=2, seed=None, refit=False)
    assert len(handle.layouts) == 2


# ------------------------------------------------------------------ recommend
def test_recommend_sends_a_model_once_per_fitted_state(client, data, scatters):
    model = fastcf.MatrixFactorization(factors=8, epochs=3, seed=1).fit(data)
    users = model.user_ids_[::5]

    def recs(model):
        return distributed.recommend(model, users, n=5, client=client, block_users=100)

    want = model.recommend_frame(users, 5)
    for _ in range(3):
        pd.testing.assert_frame_equal(recs(model).compute().reset_index(drop=True), want)
    assert scatters == [1]
    token = recommend_module.fitted_state(model)
    # a refit of the same object is a new state: sent again, its own answers
    model.set_params(seed=2).fit(data)
    assert recommend_module.fitted_state(model)[0] != token[0]
    refitted = model.recommend_frame(users, 5)
    assert not refitted.equals(want)
    pd.testing.assert_frame_equal(recs(model).compute().reset_index(drop=True), refitted)
    assert scatters == [1, 1]
    pd.testing.assert_frame_equal(recs(model).compute().reset_index(drop=True), refitted)
    assert scatters == [1, 1]
    # partial_fit updates the arrays in place: a new state too
    model.partial_fit(data, epochs=1)
    updated = model.recommend_frame(users, 5)
    pd.testing.assert_frame_equal(recs(model).compute().reset_index(drop=True), updated)
    assert scatters == [1, 1, 1]
    model.set_params(seed=2).fit(data)
    # only what the answers depend on changes the token
    twin = fastcf.MatrixFactorization(factors=8, epochs=3, seed=2).fit(data)
    assert recommend_module.fitted_state(model)[0] == recommend_module.fitted_state(twin)[0]
    # its read-only arrays (the data's) by identity, the rest by their bytes
    token, pinned = recommend_module.fitted_state(twin)
    assert any(array is data.by_user.indices for array in pinned)
    assert not any(array is twin.user_factors_ for array in pinned)
    twin.user_factors_[0, 0] += 1.0
    assert recommend_module.fitted_state(twin)[0] != token
    # the kept copy goes with the model
    assert model in recommend_module._scattered
    dropped, kept = weakref.ref(model), len(recommend_module._scattered)
    del model
    gc.collect()
    # (other tests' models may go in the same collection: at most kept - 1 are left)
    assert dropped() is None and len(recommend_module._scattered) <= kept - 1


# ------------------------------------------------------------------ from_dask
def test_from_dask_with_a_client_is_a_handle(client, data, scatters):
    frame = dd.from_pandas(data.to_frame(), npartitions=3)
    handle = distributed.from_dask(frame, rating="rating", client=client)
    assert isinstance(handle, distributed.Persisted) and handle.client is client
    plain = distributed.from_dask(frame, rating="rating")
    assert np.array_equal(handle.data.user_ids, plain.user_ids)
    assert np.array_equal(handle.data.by_user.data, plain.by_user.data)
    for k in (10, 5):
        assert_csr_identical(distributed.similarity_topk(handle, "cosine", k=k),
                             fastcf.similarity(plain, "cosine", axis="item", k=k))
    assert scatters == [1]


def test_what_a_thread_scatters_outside_a_job_is_kept_while_another_runs_one(client):
    import threading

    executor = _cluster._executor(client)
    inside, done = threading.Event(), threading.Event()

    def job():
        inside.set()
        done.wait(60)
        return "answer"

    thread = threading.Thread(target=lambda: executor.retrying(job))
    thread.start()
    try:
        assert inside.wait(60)
        (future,) = executor.scatter([np.arange(4)])  # this thread is in no job
        assert future.key in executor.kept
    finally:
        done.set()
        thread.join(60)
