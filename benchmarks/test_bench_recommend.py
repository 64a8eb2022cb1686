"""pytest-benchmark micro-benchmarks of the fused factor scorer (``factor_topk``), one per
backend and thread count, beside the two steps it fuses (GEMM of a block, ``topk``).

    pytest benchmarks/test_bench_recommend.py --benchmark-only

Compare the medians within one run; absolute times on shared machines are noise.
"""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from fastcf.datasets import make_ratings
from fastcf.kernels import factor_topk, topk

N_USERS, N_ITEMS, FACTORS = 4096, 8000, 64


@pytest.fixture(scope="module")
def factors():
    """4,096 users x 8,000 items, 64 float32 factors, an item offset, and the users'
    seen items (about 30 each, Zipf popularity) as the exclusion CSR."""
    rng = np.random.default_rng(0)
    seen = make_ratings(N_USERS, N_ITEMS, 30 * N_USERS, seed=1).by_user
    query = (0.1 * rng.standard_normal((N_USERS, FACTORS))).astype(np.float32)
    items = (0.1 * rng.standard_normal((N_ITEMS, FACTORS))).astype(np.float32)
    item_offset = (0.1 * rng.standard_normal(N_ITEMS)).astype(np.float32)
    return query, items, item_offset, (seen.indptr, seen.indices)


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_factor_topk(benchmark, factors, backend, n_threads):
    query, items, item_offset, exclude = factors
    args = (query, items, 10, None, item_offset, exclude)
    factor_topk(*args, backend=backend, n_threads=n_threads)  # compile outside timing
    benchmark(factor_topk, *args, backend=backend, n_threads=n_threads)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_gemm_then_topk(benchmark, factors, n_threads):
    """The unfused path: one BLAS product of the whole block, then ``topk`` over it."""
    query, items, item_offset, exclude = factors
    scores = np.empty((N_USERS, N_ITEMS), dtype=np.float32)

    def unfused():
        with threadpool_limits(n_threads, "blas"):
            np.matmul(query, items.T, out=scores)
        scores[:] += item_offset
        return topk(scores, 10, exclude, backend="cython", n_threads=n_threads)

    unfused()
    benchmark(unfused)
