"""Fixtures of the Dask tests: one LocalCluster of 2 worker processes for the session."""

import pytest

import fastcf

dask_distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="session")
def client():
    cluster = dask_distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                            host="127.0.0.1", dashboard_address=None)
    with dask_distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="session")
def data():
    return fastcf.make_ratings(1500, 400, 30_000, seed=4)
