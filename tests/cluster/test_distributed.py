"""fastcf.distributed: recommend, from_dask, persist, bad input, the executors."""

import numpy as np
import pandas as pd
import pytest

import fastcf
from fastcf import distributed
from fastcf.distributed import _cluster

dd = pytest.importorskip("dask.dataframe")
dask_distributed = pytest.importorskip("dask.distributed")


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
