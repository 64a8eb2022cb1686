"""pytest-benchmark micro-benchmarks of the co-clustering kernels, one per backend.

    pytest benchmarks/test_bench_coclustering.py --benchmark-only

Compare the backends' medians within one run; absolute times on shared
machines are noise.
"""

import numpy as np
import pytest

from fastcf.datasets import make_ratings
from fastcf.kernels import cluster_assign, cocluster_sums


@pytest.fixture(scope="module")
def data():
    """1M ratings, 3 x 3 clusters (Surprise's default), random labels and averages."""
    ratings = make_ratings(20_000, 5_000, 1_000_000, seed=0)
    rng = np.random.default_rng(0)
    by_user = ratings.by_user
    user_labels = rng.integers(0, 3, ratings.n_users)
    item_labels = rng.integers(0, 3, ratings.n_items)
    means = (rng.normal(3.5, 0.3, ratings.n_users), rng.normal(3.5, 0.3, ratings.n_items))
    averages = (rng.normal(3.5, 0.2, (3, 3)), rng.normal(3.5, 0.2, 3), rng.normal(3.5, 0.2, 3))
    return by_user, user_labels, item_labels, means, averages


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_cocluster_sums(benchmark, data, backend, n_threads):
    by_user, user_labels, item_labels, _, _ = data
    args = (by_user.indptr, by_user.indices, by_user.data, user_labels, item_labels, 3, 3)
    cocluster_sums(*args, backend=backend, n_threads=n_threads)  # compile outside timing
    benchmark(cocluster_sums, *args, backend=backend, n_threads=n_threads)


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_cluster_assign(benchmark, data, backend, n_threads):
    by_user, _, item_labels, (user_mean, item_mean), (co, rows, cols) = data
    args = (by_user.indptr, by_user.indices, by_user.data, user_mean, item_mean, item_labels,
            co, rows, cols)
    cluster_assign(*args, backend=backend, n_threads=n_threads)  # compile outside timing
    benchmark(cluster_assign, *args, backend=backend, n_threads=n_threads)
