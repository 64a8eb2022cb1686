"""pytest-benchmark micro-benchmarks of the kernels, one per backend.

    pytest benchmarks/test_bench_kernels.py --benchmark-enable

Compare the backends' medians within one run; absolute times on shared
machines are noise.
"""

import numpy as np
import pytest

from fastcf.datasets import make_ratings
from fastcf.kernels import bias_sweep


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
