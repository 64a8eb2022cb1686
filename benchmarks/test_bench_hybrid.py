"""pytest-benchmark micro-benchmark of the hybrid (LightFM-style) epoch kernel, per
backend, loss and schedule.

    pytest benchmarks/test_bench_hybrid.py --benchmark-only

Compare the backends' medians within one run; absolute times on shared
machines are noise. ``hybrid_peers.py`` times the model beside LightFM.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from fastcf.datasets import make_ratings
from fastcf.kernels.hybrid import SERIAL_ORDER, run_hybrid_epoch, serial_chunks, user_chunks

K = 64


@pytest.fixture(scope="module")
def problem():
    """200k entries (10k users x 4k items), identity features plus 20 user and 30 item
    side features (about 3 of each per row, like ML-100K's), k=64 float32."""
    data = make_ratings(10_000, 4_000, 200_000, seed=0)
    csr = data.by_user
    users = np.repeat(np.arange(data.n_users, dtype=np.int32), np.diff(csr.indptr))

    def rows(n, n_side, seed):
        side = sp.random(n, n_side, density=3 / n_side, random_state=seed, format="csr",
                         dtype=np.float32)
        side.data[:] = 1.0
        out = sp.hstack([sp.identity(n, np.float32), side], format="csr", dtype=np.float32)
        out.sort_indices()
        return out.indptr.astype(np.int32), out.indices.astype(np.int32), out.data, out.shape[1]

    return (users, csr.indices.astype(np.int32), csr.data.astype(np.float32),
            rows(data.n_users, 20, 1), rows(data.n_items, 30, 2),
            (csr.indptr.astype(np.int32), csr.indices.astype(np.int32)), data)


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("loss", ["warp", "bpr", "squared"])
@pytest.mark.parametrize("schedule, n_threads", [("serial", 1), ("hogwild", 2)])
def test_hybrid_epoch(benchmark, problem, backend, loss, schedule, n_threads):
    """One adagrad epoch (shuffles, negative draws and steps), the layout made outside
    timing."""
    users, items, values, user_rows, item_rows, seen, data = problem
    rng = np.random.default_rng(0)
    params = (((rng.random((user_rows[3], K)) - 0.5) / K).astype(np.float32),
              np.zeros(user_rows[3], np.float32),
              ((rng.random((item_rows[3], K)) - 0.5) / K).astype(np.float32),
              np.zeros(item_rows[3], np.float32))
    accumulators = tuple(np.ones_like(a) for a in params)
    if schedule == "serial":
        arrays, chunk_ptr, order = (users.copy(), items.copy(), values.copy()), \
            serial_chunks(len(users)), SERIAL_ORDER
    else:
        positions, chunk_ptr = user_chunks(users, data.n_users, 32, 0)
        arrays = (users[positions], items[positions], values[positions])
        order = rng.permutation(32)
    args = (*arrays, chunk_ptr, order, 0, True, user_rows[:3], item_rows[:3], seen,
            np.arange(data.n_items, dtype=np.int32), params, accumulators, loss, 0.05, 0.0,
            0.0, 3.0 if loss == "squared" else 0.0, 10)
    kwargs = {"backend": backend, "n_threads": n_threads}
    run_hybrid_epoch(*args, **kwargs)  # compile outside timing
    benchmark.pedantic(run_hybrid_epoch, args, kwargs, rounds=3, iterations=1)
