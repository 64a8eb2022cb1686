"""The lazy (sparse) Adam update of embedding rows (``fastcf.kernels.adam``)
against its reference."""

import numpy as np
import pytest

from fastcf.kernels.adam import run_sparse_adam_update


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_sparse_adam_kernel_matches_the_reference(backend, dtype, weight_decay):
    rng = np.random.default_rng(7)
    param = rng.normal(size=(9, 4)).astype(dtype)
    m = rng.normal(scale=0.1, size=(9, 4)).astype(dtype)
    v = rng.random((9, 4)).astype(dtype)
    index = np.array([3, 0, 3, 8, 3, 0], dtype=np.int64)  # repeats, rows left untouched
    values = rng.normal(size=(6, 4)).astype(dtype)
    ref = [a.astype(np.float64) for a in (param, m, v)]
    args = (0.01 / (1 - 0.9 ** 3), np.sqrt(1 - 0.999 ** 3), 0.9, 0.999, 1e-8, weight_decay)
    run_sparse_adam_update(param, m, v, index, values, *args, backend=backend)
    run_sparse_adam_update(*ref, index, values.astype(np.float64), *args, backend="reference")
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for got, want in zip((param, m, v), ref):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    untouched = [1, 2, 4, 5, 6, 7]
    np.testing.assert_array_equal(param[untouched],
                                  np.random.default_rng(7).normal(size=(9, 4)).astype(dtype)
                                  [untouched])
