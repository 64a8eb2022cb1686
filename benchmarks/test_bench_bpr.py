"""pytest-benchmark micro-benchmark of the BPR epoch kernel, per backend and schedule.

    pytest benchmarks/test_bench_bpr.py --benchmark-only

Compare the backends' medians within one run; absolute times on shared
machines are noise.
"""

import numpy as np
import pytest

from fastcf.datasets import make_ratings
from fastcf.kernels.bpr import (
    SERIAL_ROUNDS,
    blocked_rounds,
    grid_layout,
    run_bpr_epoch,
    single_cell,
)


@pytest.fixture(scope="module")
def pairs():
    """The speed benchmark's shape (1.74M pairs, 60k users x 8k items), k=64 float32."""
    data = make_ratings(60_000, 8_000, 1_740_000, seed=0)
    csr = data.by_user
    users = np.repeat(np.arange(data.n_users, dtype=np.int32), np.diff(csr.indptr))
    rng = np.random.default_rng(0)
    factors = (((rng.random((data.n_users, 64)) - 0.5) / 64).astype(np.float32),
               ((rng.random((data.n_items, 64)) - 0.5) / 64).astype(np.float32),
               np.zeros(data.n_items, np.float32))
    return users, csr.indices.astype(np.int32), csr.indptr.astype(np.int32), data, factors


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("schedule, n_threads", [("serial", 1), ("blocked", 2),
                                                 ("hogwild", 2)])
def test_bpr_epoch(benchmark, pairs, backend, schedule, n_threads):
    """One epoch (shuffles, negative draws and steps), the layout made outside timing."""
    users, items, indptr, data, factors = pairs
    if schedule == "serial":
        u, i = users.copy(), items.copy()
        cell_ptr, pool, cell_pool = single_cell(len(u), data.n_items, np.int32)
        rounds = SERIAL_ROUNDS
    else:
        u, i, cell_ptr, pool, cell_pool = grid_layout(users, items, data.n_users, data.n_items,
                                                      32, 0, blocked=schedule == "blocked")
        rng = np.random.default_rng(1)
        rounds = (blocked_rounds(rng.permutation(32), rng.permutation(32))
                  if schedule == "blocked" else rng.permutation(32 * 32)[None, :])
    args = (u, i, np.empty(len(u), np.int32), cell_ptr, rounds, pool, cell_pool, indptr, items,
            0, *factors, 0.01, 0.01, True)
    kwargs = {"backend": backend, "n_threads": n_threads}
    run_bpr_epoch(*args, **kwargs)  # compile outside timing
    benchmark.pedantic(run_bpr_epoch, args, kwargs, rounds=3, iterations=1)
