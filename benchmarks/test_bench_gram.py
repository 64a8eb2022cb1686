"""pytest-benchmark micro-benchmark of the Gram kernel, one per backend.

    pytest benchmarks/test_bench_gram.py --benchmark-only

The upper triangle of the float32 8k x 8k item-item Gram matrix of
make_ratings(60000, 8000, 1740000), binary, as ``fastcf.EASE`` builds it.
Compare the backends' medians within one run; absolute times on shared
machines are noise.
"""

import numpy as np
import pytest

from fastcf.datasets import make_ratings
from fastcf.kernels.gram import run_gram


@pytest.fixture(scope="module")
def gram_inputs():
    data = make_ratings(60_000, 8_000, 1_740_000, seed=0)
    rows, cols = data.by_user, data.by_item
    out = np.empty((data.n_items, data.n_items), dtype=np.float32)
    return (rows.indptr, rows.indices, np.ones(len(rows.indices)), cols.indptr, cols.indices,
            np.ones(len(cols.indices)), out, True)


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_gram(benchmark, gram_inputs, backend, n_threads):
    run_gram(*gram_inputs, backend=backend, n_threads=n_threads)  # compile outside timing
    benchmark.pedantic(run_gram, gram_inputs, {"backend": backend, "n_threads": n_threads},
                       rounds=5, iterations=1)
