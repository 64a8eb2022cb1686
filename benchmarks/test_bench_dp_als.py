"""pytest-benchmark micro-benchmark of the DP-ALS statistics kernel, one per backend.

    pytest benchmarks/test_bench_dp_als.py --benchmark-only

One private item step's sums on make_ratings(60000, 8000, 1740000): every
item's 11 x 11 Gram matrix and right-hand side from the users' [x_u, 1]
(10 factors, float64), all 8000 items in one call (the model walks them in
chunks of 32 MB). The non-private ALS user sweep on the same data (10
factors, Cholesky) runs in the same session for the ratio. Compare the
medians within one run; absolute times on shared machines are noise.
"""

import numpy as np
import pytest

from fastcf.datasets import make_ratings
from fastcf.kernels.als import gram, run_least_squares
from fastcf.kernels.dp_als import run_row_statistics


@pytest.fixture(scope="module")
def data():
    return make_ratings(60_000, 8_000, 1_740_000, seed=0)


@pytest.fixture(scope="module")
def stats_inputs(data):
    rng = np.random.default_rng(0)
    by_item = data.by_item
    F = np.hstack([rng.normal(size=(data.n_users, 10)), np.ones((data.n_users, 1))])
    n = data.n_items
    return (by_item.indptr.astype(np.int64), by_item.indices.astype(np.int64),
            np.ones(len(by_item.indices)), by_item.data - 3.0, F, 0, n,
            np.empty((n, 11, 11)), np.empty((n, 11)))


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_dp_als_item_statistics(benchmark, stats_inputs, backend, n_threads):
    options = {"backend": backend, "n_threads": n_threads}
    run_row_statistics(*stats_inputs, **options)  # compile outside timing
    benchmark.pedantic(run_row_statistics, stats_inputs, options, rounds=5, iterations=1)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_als_item_sweep_for_the_ratio(benchmark, data, n_threads):
    rng = np.random.default_rng(0)
    by_item = data.by_item
    X = rng.random((data.n_users, 10))
    Y = np.zeros((data.n_items, 10))
    args = (by_item.indptr, by_item.indices, by_item.data, X, gram(X, 0.1), Y, 1.0,
            "cholesky", 1)
    run_least_squares(*args, n_threads=n_threads)
    benchmark.pedantic(run_least_squares, args, {"n_threads": n_threads}, rounds=5,
                       iterations=1)
