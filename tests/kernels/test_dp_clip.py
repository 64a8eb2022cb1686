"""The ``dp_clip`` kernel (per-user gradient norms of Dense layers, DP-SGD's clipping)
against its reference and the materialised per-example gradients."""

import numpy as np
import pytest
from conftest import DTYPES, THREADS

from fastcf.kernels.dp_clip import clip_factors, dp_clip_sq_norms

BACKENDS = ["numba", "cython", "reference"]


def _case(dtype, seed=0):
    """Groups of 0, 1, 2, 7 and 60 examples (the last materialised by the compiled
    kernels, the others through the Gram identity), two layers and table rows."""
    rng = np.random.default_rng(seed)
    sizes = [3, 0, 1, 2, 7, 60, 0]
    indptr = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    n = int(indptr[-1])
    layers = [(rng.normal(size=(n, 6)).astype(dtype), rng.normal(size=(n, 4)).astype(dtype)),
              (np.maximum(rng.normal(size=(n, 4)), 0).astype(dtype),
               rng.normal(size=(n, 1)).astype(dtype))]
    rows = rng.normal(size=(n, 3)).astype(dtype)
    return indptr, layers, rows


def _materialised(indptr, layers, rows):
    """Every example's gradient written out, summed per group, squared: the definition."""
    want = []
    for u in range(len(indptr) - 1):
        lo, hi = indptr[u], indptr[u + 1]
        total = float(np.sum(np.asarray(rows[lo:hi], np.float64) ** 2))
        for a, g in layers:
            per_example = [np.outer(np.append(a[j], 1.0), g[j]) for j in range(lo, hi)]
            grad = np.sum(per_example, axis=0) if per_example else np.zeros(1)
            total += float(np.sum(grad ** 2))
        want.append(total)
    return np.array(want)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
def test_norms_match_the_materialised_gradients(backend, dtype, n_threads):
    indptr, layers, rows = _case(dtype)
    got = dp_clip_sq_norms(indptr, layers, rows, backend=backend, n_threads=n_threads)
    want = _materialised(indptr, [(a.astype(np.float64), g.astype(np.float64))
                                  for a, g in layers], rows.astype(np.float64))
    assert got.dtype == np.float64 and got.shape == (7,)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got[1] == 0.0 and got[6] == 0.0  # empty groups


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_matches_the_reference_and_ignores_the_thread_count(backend, dtype):
    indptr, layers, rows = _case(dtype, seed=4)
    want = dp_clip_sq_norms(indptr, layers, rows, backend="reference")
    one = dp_clip_sq_norms(indptr, layers, rows, backend=backend, n_threads=1)
    two = dp_clip_sq_norms(indptr, layers, rows, backend=backend, n_threads=2)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_allclose(one, want, rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_without_rows_and_int32_pointers(backend):
    indptr, layers, _ = _case(np.float64, seed=2)
    got = dp_clip_sq_norms(indptr.astype(np.int32), layers[1:], backend=backend)
    want = _materialised(indptr, layers[1:], np.zeros((int(indptr[-1]), 0)))
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_clip_factors():
    factors = clip_factors(np.array([0.0, 0.25, 1.0, 16.0]), 1.0)
    np.testing.assert_array_equal(factors, [1.0, 1.0, 1.0, 0.25])
    with pytest.raises(ValueError, match="clip_norm == 0.0, must be > 0"):
        clip_factors(np.ones(2), 0.0)
    with pytest.raises(TypeError, match="clip_norm must be a real number"):
        clip_factors(np.ones(2), "1")


def test_bad_input():
    indptr, layers, rows = _case(np.float64)
    with pytest.raises(TypeError, match="indptr must be a numpy array"):
        dp_clip_sq_norms(list(indptr), layers)
    with pytest.raises(TypeError, match="indptr.dtype == float64"):
        dp_clip_sq_norms(indptr.astype(float), layers)
    with pytest.raises(ValueError, match="indptr must be 1-d and start with 0"):
        dp_clip_sq_norms(indptr[1:], layers)
    with pytest.raises(ValueError, match="indptr must be non-decreasing"):
        dp_clip_sq_norms(np.array([0, 5, 3, 73]), layers)
    with pytest.raises(TypeError, match="layers must be a non-empty list"):
        dp_clip_sq_norms(indptr, [])
    with pytest.raises(TypeError, match=r"layers\[0\] must be an"):
        dp_clip_sq_norms(indptr, [layers[0][0]])
    with pytest.raises(TypeError, match=r"layers\[1\] gradients.dtype == int64"):
        dp_clip_sq_norms(indptr, [layers[0], (layers[1][0], layers[1][1].astype(int))])
    with pytest.raises(ValueError, match=r"layers\[0\] inputs.ndim == 1"):
        dp_clip_sq_norms(indptr, [(layers[0][0][:, 0], layers[0][1])])
    with pytest.raises(TypeError, match="one dtype; got float64 and float32"):
        dp_clip_sq_norms(indptr, layers, rows.astype(np.float32))
    with pytest.raises(ValueError, match="72 rows but indptr"):
        dp_clip_sq_norms(indptr, layers, rows[1:])
    bad = rows.copy()
    bad[4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        dp_clip_sq_norms(indptr, layers, bad)
    with pytest.raises(ValueError, match="backend == 'gpu'"):
        dp_clip_sq_norms(indptr, layers, backend="gpu")


@pytest.mark.cython
def test_cython_kernel_guards_its_shapes():
    from fastcf.kernels._dp_clip import dp_clip_sq_norms as kernel

    indptr, layers, rows = _case(np.float64)
    a, g = layers[0]
    with pytest.raises(ValueError, match="disagree in shape"):
        kernel(indptr, a, g, rows, np.zeros(3), 1)
    with pytest.raises(ValueError, match="indptr points past the end"):
        kernel(indptr, a[:10], g[:10], rows[:10], np.zeros(7), 1)
