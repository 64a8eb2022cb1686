"""pytest-benchmark micro-benchmarks of the NMF epoch, one per backend and thread count.

The unchecked ``run_nmf_epoch`` (the model's call) is timed: the checked
``nmf_epoch`` adds O(nnz) validation of the by-item arrays to every call.

    pytest benchmarks/test_bench_nmf.py --benchmark-only

Compare the backends' medians within one run; absolute times on shared
machines are noise.
"""

import numpy as np
import pytest

from fastcf.datasets import make_ratings
from fastcf.kernels.nmf import nmf_work, run_nmf_epoch


@pytest.fixture(scope="module")
def layout():
    """1M ratings (6,000 users x 4,000 items) by user and by item, 15 factors."""
    data = make_ratings(6_000, 4_000, 1_000_000, seed=0)
    by_user, by_item = data.by_user, data.by_item
    rng = np.random.default_rng(0)
    dtype = by_user.indptr.dtype
    arrays = (by_user.indptr, by_user.indices, by_user.data.astype(np.float64), by_item.indptr,
              by_item.indices, data.item_order.astype(dtype), np.arange(data.n_users, dtype=dtype))
    return arrays, rng.uniform(0, 1, (data.n_users, 15)), rng.uniform(0, 1, (data.n_items, 15))


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("biased", [False, True])
def test_nmf_epoch(benchmark, layout, backend, n_threads, biased):
    arrays, pu, qi = layout
    pu, qi = pu.copy(), qi.copy()
    args = (*arrays, pu, qi, np.zeros(len(pu)), np.zeros(len(qi)), 3.5 if biased else 0.0, 0.06,
            0.06, 0.02, 0.02, 0.005, 0.005, biased)
    options = {"work": nmf_work(len(arrays[1]), len(pu), len(qi), pu.shape[1]),
               "backend": backend, "n_threads": n_threads}
    run_nmf_epoch(*args, **options)  # compile outside timing
    benchmark(run_nmf_epoch, *args, **options)
