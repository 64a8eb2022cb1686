"""pytest-benchmark micro-benchmarks of the DP-SGD kernels, one per backend.

    pytest benchmarks/test_bench_dp_sgd.py --benchmark-only

One DP-SGD step over a Poisson batch of users (sampling rate 0.2) of a
MovieLens-like data set, through the unchecked ``run_dp_sgd_step`` the model
calls (the checked wrapper's input checks, a sort of the batch among them,
would take longer than the step). Compare the backends' medians within one
run; absolute times on shared machines are noise.
"""

import numpy as np
import pytest

from fastcf.datasets import make_ratings
from fastcf.kernels.dp_sgd import run_dp_sgd_step

K = 64


@pytest.fixture(scope="module")
def problem():
    """The CSR by user (centred ratings, float32), a batch of ~20 % of the users, and
    float32 parameters."""
    by_user = make_ratings(20_000, 5_000, 600_000, seed=0).by_user
    indptr = by_user.indptr.astype(np.int64)
    rng = np.random.default_rng(0)
    n_users, n_items = len(indptr) - 1, 5_000
    users = np.flatnonzero(rng.random(n_users) < 0.2).astype(by_user.indices.dtype)
    lens = np.diff(indptr)[users]
    ptr = np.zeros(len(users) + 1, dtype=np.int64)
    np.cumsum(lens, out=ptr[1:])
    pos = np.arange(ptr[-1], dtype=np.int64) - np.repeat(ptr[:-1] - indptr[users], lens)
    state = (np.zeros(n_users, np.float32), np.zeros(n_items, np.float32),
             rng.normal(0, 0.1, (n_users, K)).astype(np.float32),
             rng.normal(0, 0.1, (n_items, K)).astype(np.float32))
    ratings = (by_user.data - 3.0).astype(np.float32)
    return indptr, by_user.indices, ratings, users, ptr, pos, state


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_dp_sgd_step(benchmark, problem, backend, n_threads):
    _, items, ratings, users, ptr, pos, state = problem
    noise = np.zeros((len(state[1]), K + 1), np.float32)
    coef = np.empty(len(pos), np.float32)
    args = (users, ptr, pos, items, ratings, 0.0, *state, (0.01, 0.01, 0.02, 0.02),
            (4.0, 4.0, 0.001, 0.001), 1.0, False, noise, 0.0, 4000.0, coef)
    kw = dict(backend=backend, n_threads=n_threads)
    run_dp_sgd_step(*args, **kw)  # compile outside timing
    benchmark(run_dp_sgd_step, *args, **kw)
