"""The bias-sweep kernel: every backend x dtype x thread count against the reference."""

import numpy as np
import pytest
from conftest import BACKENDS, DTYPES, THREADS

from fastcf.kernels import bias_sgd, bias_sweep


def _inputs(data, dtype, axis):
    csr = data.by_user if axis == "user" else data.by_item
    other = np.random.default_rng(1).normal(size=csr.shape[1])
    return csr.indptr, csr.indices, csr.data.astype(dtype), 3.1, other


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("axis", ["user", "item"])
def test_matches_reference(with_empty_rows, backend, dtype, n_threads, axis):
    args = _inputs(with_empty_rows, dtype, axis)
    want = bias_sweep(*args, 7.0, backend="reference")
    got = bias_sweep(*args, 7.0, backend=backend, n_threads=n_threads)
    # float32 ratings are widened exactly and summed in float64 by every backend
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", ["numba", "cython"])
def test_thread_count_does_not_change_result(interactions, backend):
    args = _inputs(interactions, np.float64, "item")
    one = bias_sweep(*args, 10.0, backend=backend, n_threads=1)
    two = bias_sweep(*args, 10.0, backend=backend, n_threads=2)
    assert np.array_equal(one, two)


@pytest.mark.parametrize("backend", BACKENDS)
def test_int64_indices_and_out_argument(interactions, backend):
    indptr, indices, data, mu, other = _inputs(interactions, np.float64, "user")
    out = np.full(len(indptr) - 1, np.nan)
    res = bias_sweep(indptr.astype(np.int64), indices.astype(np.int64), data, mu, other, 5.0,
                     out=out, backend=backend)
    assert res is out
    np.testing.assert_allclose(out, bias_sweep(indptr, indices, data, mu, other, 5.0,
                                               backend="reference"), rtol=1e-12)


def test_empty_rows_give_zero(with_empty_rows):
    out = bias_sweep(*_inputs(with_empty_rows, np.float64, "user"), 1.0)
    assert out[4] == 0.0


def test_bad_input(interactions):
    indptr, indices, data, mu, other = _inputs(interactions, np.float64, "user")
    with pytest.raises(TypeError, match="other_bias must be a 1-d float64 array"):
        bias_sweep(indptr, indices, data, mu, other.astype(np.float32), 1.0)
    with pytest.raises(ValueError, match="indices contain"):
        bias_sweep(indptr, indices, data, mu, other[:3], 1.0)
    with pytest.raises(ValueError, match="reg == -1.0, must be >= 0.0"):
        bias_sweep(indptr, indices, data, mu, other, -1.0)
    with pytest.raises(ValueError, match="out must be a float64 array of shape"):
        bias_sweep(indptr, indices, data, mu, other, 1.0, out=np.zeros(2))
    with pytest.raises(ValueError, match="mu == nan, must be finite"):
        bias_sweep(indptr, indices, data, float("nan"), other, 1.0)
    with pytest.raises(ValueError, match="n_threads == 0"):
        bias_sweep(indptr, indices, data, mu, other, 1.0, n_threads=0)
    empty_row = np.array([0, 0, 1], dtype=indptr.dtype)
    with pytest.raises(ValueError, match="divide by zero"):
        bias_sweep(empty_row, indices[:1], data[:1], mu, other, 0.0)


def _sgd_inputs(data, dtype, index_dtype=np.int32):
    order = np.random.default_rng(2).permutation(data.nnz)
    users = data.entry_users()[order].astype(index_dtype)
    items = data.by_user.indices[order].astype(index_dtype)
    return users, items, data.by_user.data[order].astype(dtype), 3.1


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_sgd_matches_reference(interactions, backend, dtype, index_dtype):
    users, items, ratings, mu = _sgd_inputs(interactions, dtype, index_dtype)
    biases = {}
    for name in ("reference", backend):
        bu, bi = np.zeros(interactions.n_users), np.full(interactions.n_items, 0.1)
        for _ in range(3):
            assert bias_sgd(users, items, ratings, mu, bu, bi, 0.01, 0.05, backend=name) is None
        biases[name] = bu, bi
    for got, want in zip(biases[backend], biases["reference"]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_sgd_step_by_hand():
    # mu 3: (0, 0, 4) e = 1 -> b_u0 = b_i0 = 0.5; (1, 0, 2) e = -1.5 -> b_u1 = -0.75, b_i0 = -0.25
    bu, bi = np.zeros(2), np.zeros(1)
    bias_sgd(np.array([0, 1]), np.array([0, 0]), np.array([4.0, 2.0]), 3.0, bu, bi, 0.5, 0.0)
    assert bu.tolist() == [0.5, -0.75] and bi.tolist() == [-0.25]


def test_sgd_bad_input(interactions):
    users, items, ratings, mu = _sgd_inputs(interactions, np.float64)
    bu, bi = np.zeros(interactions.n_users), np.zeros(interactions.n_items)
    with pytest.raises(TypeError, match="user_bias must be a 1-d float64"):
        bias_sgd(users, items, ratings, mu, bu.astype(np.float32), bi, 0.1, 0.1)
    with pytest.raises(ValueError, match="item_bias must be C-contiguous and writeable"):
        bias_sgd(users, items, ratings, mu, bu, np.zeros(2 * len(bi))[::2], 0.1, 0.1)
    with pytest.raises(TypeError, match="ratings must be a 1-d float32/float64"):
        bias_sgd(users, items, ratings.astype(np.int64), mu, bu, bi, 0.1, 0.1)
    with pytest.raises(TypeError, match="users must be a 1-d int32/int64"):
        bias_sgd(users.astype(np.float64), items, ratings, mu, bu, bi, 0.1, 0.1)
    with pytest.raises(ValueError, match=r"len\(items\) == 1 but len\(ratings\)"):
        bias_sgd(users, items[:1], ratings, mu, bu, bi, 0.1, 0.1)
    with pytest.raises(ValueError, match="items must lie in"):
        bias_sgd(users, items, ratings, mu, bu, bi[:2], 0.1, 0.1)
    bad = ratings.copy()
    bad[0] = np.nan
    with pytest.raises(ValueError, match="ratings contain NaN"):
        bias_sgd(users, items, bad, mu, bu, bi, 0.1, 0.1)
    with pytest.raises(ValueError, match="lr == -0.1, must be >= 0.0"):
        bias_sgd(users, items, ratings, mu, bu, bi, -0.1, 0.1)
    with pytest.raises(ValueError, match="mu == inf, must be finite"):
        bias_sgd(users, items, ratings, np.inf, bu, bi, 0.1, 0.1)
