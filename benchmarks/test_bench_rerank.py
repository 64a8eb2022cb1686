"""pytest-benchmark micro-benchmarks of the re-ranking kernels, one per backend.

    pytest benchmarks/test_bench_rerank.py --benchmark-only

Compare the backends' medians within one run; absolute times on shared
machines are noise.
"""

import numpy as np
import pytest

from fastcf.rerank import VectorSimilarity, dpp, mmr


@pytest.fixture(scope="module")
def lists():
    """5,000 users' top-100 candidates (distinct items of 8,000, descending scores)
    and 64-d float32 item vectors."""
    rng = np.random.default_rng(0)
    cand = np.argsort(rng.random((5_000, 8_000), dtype=np.float32), axis=1)[:, :100]
    scores = -np.sort(-rng.random(cand.shape, dtype=np.float32), axis=1)
    vectors = rng.standard_normal((8_000, 64), dtype=np.float32)
    return cand, scores, vectors


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_mmr_vectors(benchmark, lists, backend, n_threads):
    cand, scores, vectors = lists
    sim = VectorSimilarity(vectors)
    mmr(cand, scores, sim, 10, 0.5, backend=backend, n_threads=n_threads)  # compile outside
    benchmark(mmr, cand, scores, sim, 10, 0.5, backend=backend, n_threads=n_threads)


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("window", [None, 5])
def test_dpp(benchmark, lists, backend, n_threads, window):
    cand, scores, vectors = lists
    dpp(cand, scores, vectors, 10, 0.5, window, backend=backend, n_threads=n_threads)
    benchmark(dpp, cand, scores, vectors, 10, 0.5, window, backend=backend, n_threads=n_threads)
