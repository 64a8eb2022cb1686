"""pytest-benchmark micro-benchmarks of the kernels, one per backend.

    pytest benchmarks/test_bench_kernels.py --benchmark-only

Compare the backends' medians within one run; absolute times on shared
machines are noise.
"""

import numpy as np
import pytest

from fastcf.datasets import make_ratings
from fastcf.kernels import bias_sweep, topk


@pytest.fixture(scope="module")
def data():
    return make_ratings(20_000, 5_000, 2_000_000, seed=0)


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_bias_sweep(benchmark, data, backend, n_threads):
    csr = data.by_item
    other = np.zeros(csr.shape[1])
    out = np.empty(csr.shape[0])
    args = (csr.indptr, csr.indices, csr.data, data.global_mean, other, 10.0)
    bias_sweep(*args, out=out, backend=backend, n_threads=n_threads)  # compile outside timing
    benchmark(bias_sweep, *args, out=out, backend=backend, n_threads=n_threads)


@pytest.fixture(scope="module")
def score_block():
    """A (1024, 20_000) float32 score block and its users' seen items (about 150
    each, log-normal activity, Zipf popularity) as the exclusion CSR."""
    seen = make_ratings(1024, 20_000, 150_000, seed=1).by_user
    scores = np.random.default_rng(0).standard_normal((1024, 20_000), dtype=np.float32)
    return scores, (seen.indptr, seen.indices)


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_topk(benchmark, score_block, backend, n_threads):
    scores, exclude = score_block
    topk(scores, 10, exclude, backend=backend, n_threads=n_threads)  # compile outside timing
    benchmark(topk, scores, 10, exclude, backend=backend, n_threads=n_threads)


@pytest.fixture(scope="module")
def item_rows():
    return make_ratings(60_000, 8_000, 1_740_000, seed=0).by_item


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("kind", ["pearson", "cosine_all"])
def test_similarity_topk(benchmark, item_rows, backend, kind):
    from fastcf.kernels import similarity

    args = (item_rows.indptr, item_rows.indices, item_rows.data, item_rows.shape[1], kind)
    similarity(*args, k=40, backend=backend, n_threads=2)  # compile outside timing
    benchmark.pedantic(similarity, args, {"k": 40, "backend": backend, "n_threads": 2},
                       rounds=3, iterations=1)
