"""pytest-benchmark micro-benchmark of the ``dp_clip`` kernel (per-user gradient norms).

    pytest benchmarks/test_bench_dp_clip.py --benchmark-only

One DP-SGD batch of the ML-100K-sized MLP (emb 32 + 32, hidden 64-32-1): 47
users (q = 0.05 of 943) with log-normal rating counts (median ~65, a few in
the hundreds), float32. Compare the backends' medians within one run.
"""

import numpy as np
import pytest

from fastcf.kernels.dp_clip import dp_clip_sq_norms


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    counts = np.minimum(rng.lognormal(4.2, 0.9, 47).astype(np.int64) + 1, 700)
    indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    n = int(indptr[-1])
    widths = [64, 64, 32, 1]
    layers = [(rng.random((n, n_in), dtype=np.float32),
               rng.standard_normal((n, n_out), dtype=np.float32))
              for n_in, n_out in zip(widths[:-1], widths[1:])]
    rows = rng.standard_normal((n, 32), dtype=np.float32)
    return indptr, layers, rows


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_dp_clip_sq_norms(benchmark, batch, backend, n_threads):
    indptr, layers, rows = batch
    dp_clip_sq_norms(indptr, layers, rows, backend=backend, n_threads=n_threads)  # compile
    benchmark(dp_clip_sq_norms, indptr, layers, rows, backend=backend, n_threads=n_threads)
