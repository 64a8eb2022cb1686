"""fastcf.distributed on a LocalCluster of 2 worker processes (loopback), and without one."""

import threading
import time

import numpy as np
import pandas as pd
import pytest

import fastcf
from fastcf import distributed
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


def _kill_one_worker_during(client, job, attempts=3):
    """Run ``job()`` in a thread, restart one worker while its tasks run; its result.

    A job that ends before any worker is seen busy (a fast or unlucky run) is
    run again, up to ``attempts`` times: the kill must land mid-job once.
    """
    for _ in range(attempts):
        result, errors = [], []

        def run(result=result, errors=errors):
            try:
                result.append(job())
            except Exception as exc:  # noqa: BLE001 - re-raised in the test thread
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        deadline, busy = time.monotonic() + 60, []
        while not busy and thread.is_alive() and time.monotonic() < deadline:
            busy = [worker for worker, tasks in client.processing().items() if tasks]
            time.sleep(0.005)
        if busy and thread.is_alive():
            client.restart_workers(busy[:1])
            thread.join(120)
            assert not errors, errors
            return result[0]
        thread.join(120)
        client.wait_for_workers(2, timeout=60)
    raise AssertionError(f"no attempt of {attempts} caught a worker busy mid-job")


def test_a_worker_killed_mid_job_changes_nothing(client):
    big = fastcf.make_ratings(20_000, 2_000, 400_000, seed=9)
    want = fastcf.similarity(big, "pearson", axis="item", k=20)
    got = _kill_one_worker_during(client, lambda: distributed.similarity_topk(
        big, "pearson", axis="item", k=20, client=client, block_rows=20, n_threads=1))
    assert_csr_identical(got, want)
    client.wait_for_workers(2, timeout=60)

    def model():
        return fastcf.MatrixFactorization(factors=8, epochs=4, seed=1)

    want_mf = distributed.fit_mf(model(), big, grid=6)
    got_mf = _kill_one_worker_during(client, lambda: distributed.fit_mf(model(), big, grid=6,
                                                                        client=client))
    assert np.array_equal(got_mf.user_factors_, want_mf.user_factors_)
    client.wait_for_workers(2, timeout=60)


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
    monkeypatch.setattr(distributed, "CONNECT_TIMEOUT", 1)
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

    executor = distributed._executor(client)
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
