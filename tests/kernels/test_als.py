"""The implicit-ALS per-row solves: every backend x dtype x thread count against the reference."""

import numpy as np
import pytest
from conftest import BACKENDS, DTYPES, THREADS

from fastcf.kernels.als import _CHUNK_BYTES, chunk_bounds, implicit_loss, least_squares

K = 6
TOL = {np.float32: 2e-4, np.float64: 1e-10}


def _inputs(data, dtype, axis, seed=1):
    csr = data.by_user if axis == "user" else data.by_item
    rng = np.random.default_rng(seed)
    Y = rng.normal(0.0, 0.5, (csr.shape[1], K)).astype(dtype)
    X = rng.random((csr.shape[0], K)).astype(dtype) * 0.1
    return csr.indptr, csr.indices, csr.data, Y, X


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("solver", ["cg", "cholesky"])
@pytest.mark.parametrize("axis", ["user", "item"])
def test_matches_reference(with_empty_rows, backend, dtype, n_threads, solver, axis,
                           monkeypatch):
    monkeypatch.setattr("fastcf.kernels.als._CHUNK_ROWS", 5)  # several chunks per sweep
    indptr, indices, data, Y, X = _inputs(with_empty_rows, dtype, axis)
    want = least_squares(indptr, indices, data, Y, X.copy(), 0.1, 0.7, solver=solver,
                         backend="reference")
    got = least_squares(indptr, indices, data, Y, X.copy(), 0.1, 0.7, solver=solver,
                        backend=backend, n_threads=n_threads)
    assert got.dtype == dtype
    scale = np.abs(want).max()
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL[dtype] * scale)
    empty = np.diff(indptr) == 0
    assert empty.any() and (got[empty] == 0).all()


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("solver", ["cg", "cholesky"])
def test_thread_count_does_not_change_result(interactions, backend, solver, monkeypatch):
    monkeypatch.setattr("fastcf.kernels.als._CHUNK_ROWS", 7)  # several chunks per sweep
    indptr, indices, data, Y, X = _inputs(interactions, np.float32, "item")
    one = least_squares(indptr, indices, data, Y, X.copy(), 0.05, 2.0, solver=solver,
                        backend=backend, n_threads=1)
    two = least_squares(indptr, indices, data, Y, X.copy(), 0.05, 2.0, solver=solver,
                        backend=backend, n_threads=2)
    assert np.array_equal(one, two)


def test_chunks_cover_the_rows_and_bound_the_bytes():
    indptr = np.array([0, 3, 3, 100, 104, 110, 120], dtype=np.int64)
    bounds = chunk_bounds(indptr, _CHUNK_BYTES // 32)  # 32 entries' rows in the budget
    assert bounds[0] == 0 and bounds[-1] == 6 and np.all(np.diff(bounds) >= 1)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        assert hi - lo == 1 or indptr[hi] - indptr[lo] <= 32
    assert chunk_bounds(np.zeros(1, np.int64), 8).tolist() == [0]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_cg_converges_to_the_exact_solve(interactions, backend, dtype):
    indptr, indices, data, Y, X = _inputs(interactions, dtype, "user")
    exact = least_squares(indptr, indices, data, Y, X.copy(), 0.1, 1.0, solver="cholesky",
                          backend=backend)
    errors = [np.abs(least_squares(indptr, indices, data, Y, X.copy(), 0.1, 1.0,
                                   cg_steps=steps, backend=backend) - exact).max()
              for steps in (1, 2, 4, K)]
    assert all(b <= a * 1.0001 for a, b in zip(errors, errors[1:])), errors
    # K steps of CG solve a K-dimensional system exactly (up to rounding)
    assert errors[-1] < (1e-3 if dtype == np.float32 else 1e-8) * np.abs(exact).max()
    assert errors[0] > 100 * errors[-1]


@pytest.mark.parametrize("solver", ["cg", "cholesky"])
def test_loss_decreases_every_half_step(interactions, solver):
    by_user, by_item = interactions.by_user, interactions.by_item
    rng = np.random.default_rng(0)
    X = rng.random((interactions.n_users, K)) * 0.01
    Y = rng.random((interactions.n_items, K)) * 0.01
    losses = [implicit_loss(by_user.indptr, by_user.indices, by_user.data, X, Y, 0.1, 0.5)]
    for _ in range(4):
        least_squares(by_user.indptr, by_user.indices, by_user.data, Y, X, 0.1, 0.5,
                      solver=solver)
        losses.append(implicit_loss(by_user.indptr, by_user.indices, by_user.data, X, Y, 0.1,
                                    0.5))
        least_squares(by_item.indptr, by_item.indices, by_item.data, X, Y, 0.1, 0.5,
                      solver=solver)
        losses.append(implicit_loss(by_user.indptr, by_user.indices, by_user.data, X, Y, 0.1,
                                    0.5))
    assert all(b < a for a, b in zip(losses, losses[1:])), losses


def test_loss_is_implicits_definition(with_empty_rows):
    csr = with_empty_rows.by_user
    rng = np.random.default_rng(2)
    X, Y = rng.random((csr.shape[0], 3)), rng.random((csr.shape[1], 3))
    dense = csr.to_scipy().toarray()
    confidence = np.where(dense > 0, 1 + 0.5 * dense, 1.0)
    preference = (dense > 0).astype(float)
    want = ((confidence * (preference - X @ Y.T) ** 2).sum()
            + 0.3 * ((X ** 2).sum() + (Y ** 2).sum())) / confidence.sum()
    got = implicit_loss(csr.indptr, csr.indices, csr.data, X, Y, 0.3, 0.5, chunk=7)
    assert got == pytest.approx(want, rel=1e-12)


def test_bad_input(interactions):
    indptr, indices, data, Y, X = _inputs(interactions, np.float64, "user")
    with pytest.raises(TypeError, match="X.dtype == float32 but Y.dtype == float64"):
        least_squares(indptr, indices, data, Y, X.astype(np.float32), 0.1, 1.0)
    with pytest.raises(TypeError, match="X must be a numpy array"):
        least_squares(indptr, indices, data, Y, X.tolist(), 0.1, 1.0)
    with pytest.raises(ValueError, match=r"X.shape == \(3, 6\), must be"):
        least_squares(indptr, indices, data, Y, X[:3].copy(), 0.1, 1.0)
    with pytest.raises(ValueError, match="X must be C-contiguous and writeable"):
        least_squares(indptr, indices, data, Y, np.asfortranarray(X), 0.1, 1.0)
    with pytest.raises(ValueError, match="indices contain"):
        least_squares(indptr, indices, data, Y[:3], X, 0.1, 1.0)
    with pytest.raises(ValueError, match="data contain -1.0, must be >= 0"):
        least_squares(indptr, indices, np.where(np.arange(len(data)) == 0, -1.0, data), Y, X,
                      0.1, 1.0)
    with pytest.raises(ValueError, match="Y contain NaN or inf"):
        least_squares(indptr, indices, data, np.full_like(Y, np.nan), X, 0.1, 1.0)
    with pytest.raises(ValueError, match="reg == -1.0, must be >= 0.0"):
        least_squares(indptr, indices, data, Y, X, -1.0, 1.0)
    with pytest.raises(ValueError, match="alpha == 0.0, must be > 0.0"):
        least_squares(indptr, indices, data, Y, X, 0.1, 0.0)
    with pytest.raises(ValueError, match="solver == 'lu', must be one of"):
        least_squares(indptr, indices, data, Y, X, 0.1, 1.0, solver="lu")
    with pytest.raises(ValueError, match="cg_steps == 0, must be >= 1"):
        least_squares(indptr, indices, data, Y, X, 0.1, 1.0, cg_steps=0)
    with pytest.raises(ValueError, match="reg == 0.0 with more factors"):
        least_squares(indptr, indices, data, Y[:, :1].repeat(40, axis=1),
                      np.zeros((len(X), 40)), 0.0, 1.0)
    with pytest.raises(ValueError, match="n_threads == 0"):
        least_squares(indptr, indices, data, Y, X, 0.1, 1.0, n_threads=0)
