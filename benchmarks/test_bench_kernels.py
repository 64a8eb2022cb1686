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


@pytest.fixture(scope="module")
def mf_epoch_inputs():
    """The MF benchmark's training shape (1.74M ratings, 60k users x 8k items), k=100
    float32 factors, ratings laid out in 32 x 32 grid cells (the blocked schedule's
    layout; the serial and hogwild epochs do not care)."""
    from fastcf.kernels.mf import block_grid

    data = make_ratings(60_000, 8_000, 1_740_000, seed=0)
    csr = data.by_user
    users = np.repeat(np.arange(data.n_users, dtype=np.int32), np.diff(csr.indptr))
    positions, block_ptr = block_grid(users, csr.indices, data.n_users, data.n_items, 32, 0)
    rng = np.random.default_rng(0)
    factors = (rng.normal(0, 0.1, (data.n_users, 100)).astype(np.float32),
               rng.normal(0, 0.1, (data.n_items, 100)).astype(np.float32))
    return {"ratings": (users[positions], csr.indices[positions],
                        csr.data[positions].astype(np.float32)),
            "block_ptr": block_ptr, "mu": data.global_mean,
            "biases": (np.zeros(data.n_users, np.float32), np.zeros(data.n_items, np.float32)),
            "factors": factors}


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("schedule, n_threads", [("serial", 1), ("blocked", 1),
                                                 ("blocked", 2), ("hogwild", 2)])
def test_sgd_epoch(benchmark, mf_epoch_inputs, backend, schedule, n_threads):
    """One epoch (the blocked and hogwild ones include their in-place shuffles)."""
    from fastcf.kernels.mf import run_sgd_epoch, run_sgd_epoch_blocked, run_sgd_epoch_hogwild

    d = mf_epoch_inputs
    ratings = tuple(a.copy() for a in d["ratings"])  # the epochs shuffle them in place
    params = (d["mu"], *d["biases"], *d["factors"], (0.005,) * 4, (0.02,) * 4, True)
    if schedule == "serial":
        def epoch():
            return run_sgd_epoch(*ratings, *params, backend=backend)
    elif schedule == "blocked":
        def epoch():
            return run_sgd_epoch_blocked(*ratings, d["block_ptr"], np.arange(32),
                                         np.arange(32), 1, *params, backend=backend,
                                         n_threads=n_threads)
    else:
        def epoch():
            return run_sgd_epoch_hogwild(*ratings, d["block_ptr"], np.arange(32 * 32), 1,
                                         *params, backend=backend, n_threads=n_threads)
    epoch()  # compile outside timing
    benchmark.pedantic(epoch, rounds=5, iterations=1)
