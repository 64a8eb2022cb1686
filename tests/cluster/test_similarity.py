"""distributed.similarity_topk: the single-machine CSR, bit for bit."""

import numpy as np
import pytest

import fastcf
from fastcf import distributed

from ._helpers import assert_csr_identical, kill_a_worker_mid_job

pytest.importorskip("dask.distributed")


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


def test_a_worker_killed_mid_job_changes_nothing(client, data, tmp_path):
    want = fastcf.similarity(data, "pearson", axis="item", k=20)
    # held at its first merge: the killed worker takes block results (and perhaps
    # the input) with it, which Dask computes again (or the job is run again)
    got, removed = kill_a_worker_mid_job(client, lambda: distributed.similarity_topk(
        data, "pearson", axis="item", k=20, client=client, block_rows=20, n_threads=1),
        ["similarity._merge"], str(tmp_path / "similarity"))
    assert_csr_identical(got, want)
    assert any(key.startswith("_merge-") for key in removed["processing-tasks"])
    assert any(key.startswith("_similarity_block-") for key in removed["lost-computed-tasks"])
