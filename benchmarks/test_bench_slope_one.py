"""pytest-benchmark micro-benchmarks of the Slope One kernels, one per backend.

    pytest benchmarks/test_bench_slope_one.py --benchmark-only

Compare the backends' medians within one run; absolute times on shared
machines are noise.
"""

import numpy as np
import pytest

from fastcf.datasets import make_ratings
from fastcf.kernels.slope_one import (
    run_slope_one_deviations,
    run_slope_one_predict,
    run_slope_one_scores,
)


@pytest.fixture(scope="module")
def data():
    """ML-100k's shape: 943 users x 1,682 items, 100k ratings."""
    return make_ratings(943, 1_682, 100_000, seed=0)


def _deviations(data, backend, n_threads):
    by_item, by_user = data.by_item, data.by_user
    return run_slope_one_deviations((by_item.indptr, by_item.indices, by_item.data),
                                    (by_user.indptr, by_user.indices, by_user.data),
                                    data.item_order, backend=backend, n_threads=n_threads)


def _model(data):
    indptr, indices, _, dev = _deviations(data, "auto", None)
    by_user = data.by_user
    counts = np.maximum(np.diff(by_user.indptr), 1)
    means = np.add.reduceat(by_user.data, by_user.indptr[:-1]) / counts
    return indptr, indices, dev, by_user.indptr, by_user.indices, means


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_slope_one_deviations(benchmark, data, backend, n_threads):
    _deviations(data, backend, n_threads)  # compile outside timing
    benchmark(_deviations, data, backend, n_threads)


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_slope_one_predict(benchmark, data, backend, n_threads):
    model = _model(data)
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, data.n_users, 20_000), rng.integers(0, data.n_items, 20_000)
    run_slope_one_predict(*model, users, items, backend=backend, n_threads=n_threads)
    benchmark(run_slope_one_predict, *model, users, items, backend=backend, n_threads=n_threads)


@pytest.mark.parametrize("backend", ["numba", "cython"])
def test_slope_one_scores(benchmark, data, backend):
    model = _model(data)
    rows = np.arange(256)
    run_slope_one_scores(*model, rows, backend=backend, n_threads=2)
    benchmark(run_slope_one_scores, *model, rows, backend=backend, n_threads=2)
