"""pytest-benchmark micro-benchmarks of the SVD++ epoch kernel, one per backend.

    pytest benchmarks/test_bench_svdpp.py --benchmark-only

One epoch over 1M ratings (k = 20, Surprise SVDpp's default), serial and
Hogwild. Compare the backends' medians within one run; absolute times on shared
machines are noise.
"""

import numpy as np
import pytest

from fastcf.datasets import make_ratings
from fastcf.kernels.svdpp import run_svdpp_epoch, user_chunks

K = 20


@pytest.fixture(scope="module")
def data():
    return make_ratings(6_000, 4_000, 1_000_000, seed=0)


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("schedule, n_threads", [("serial", 1), ("hogwild", 2)])
def test_svdpp_epoch(benchmark, data, backend, dtype, schedule, n_threads):
    by_user = data.by_user
    rng = np.random.default_rng(0)
    state = [np.zeros(data.n_users, dtype), np.zeros(data.n_items, dtype)] + [
        rng.normal(0, 0.1, shape).astype(dtype)
        for shape in ((data.n_users, K), (data.n_items, K), (data.n_items, K))]
    user_order = rng.permutation(data.n_users).astype(np.int64)
    args = (by_user.indptr, by_user.indices, by_user.data.astype(dtype),
            np.arange(len(by_user.indices), dtype=np.int64), user_order,
            user_chunks(by_user.indptr, user_order, 1 if schedule == "serial" else 4 * n_threads),
            float(data.global_mean), *state, (0.007,) * 5, (0.02,) * 5)
    run_svdpp_epoch(*args, backend=backend, n_threads=n_threads)  # compile outside timing
    benchmark(run_svdpp_epoch, *args, backend=backend, n_threads=n_threads)
