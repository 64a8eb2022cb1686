"""The SVD++ epoch kernel (``fastcf.kernels.svdpp``) against its reference, Surprise's
literal loop: every backend and dtype, visiting orders, chunks and threads, bad input."""

import numpy as np
import pytest
from conftest import DTYPES

import fastcf
from fastcf.kernels.svdpp import svdpp_epoch, user_chunks

COMPILED = ["numba", "cython"]
RATES = ((0.01, 0.012, 0.02, 0.015, 0.03), (0.02, 0.03, 0.05, 0.04, 0.06))


@pytest.fixture(scope="module")
def csr():
    """A small by-user CSR (a user with no ratings appended) and seeded orders."""
    by_user = fastcf.make_ratings(50, 30, 700, seed=4).by_user
    indptr = np.append(by_user.indptr, by_user.indptr[-1])
    rng = np.random.default_rng(2)
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    entry_order = np.argsort(rows + rng.random(len(rows)), kind="stable")
    user_order = rng.permutation(len(indptr) - 1)
    return indptr, by_user.indices, by_user.data, entry_order, user_order


def _state(csr, dtype, k=6, seed=0):
    indptr, indices = csr[0], csr[1]
    n_users, n_items = len(indptr) - 1, int(indices.max()) + 1
    rng = np.random.default_rng(seed)
    return (np.zeros(n_users, dtype), rng.normal(0, 0.1, n_items).astype(dtype),
            *(rng.normal(0, 0.1, shape).astype(dtype)
              for shape in ((n_users, k), (n_items, k), (n_items, k))))


def _epochs(csr, state, backend, n=2, **options):
    indptr, indices, ratings, entry_order, user_order = csr
    ratings = ratings.astype(state[0].dtype)
    options = {"entry_order": entry_order, "user_order": user_order, **options}
    return [svdpp_epoch(indptr, indices, ratings, 3.5, *state, *RATES, backend=backend,
                        **options) for _ in range(n)]


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("dtype", DTYPES)
def test_epochs_match_surprises_loop(csr, backend, dtype):
    state = _state(csr, dtype)
    ref_state = tuple(a.astype(np.float64) for a in state)
    losses = _epochs(csr, state, backend)
    want = _epochs(csr, ref_state, "reference")
    tol = 1e-9 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(losses, want, rtol=tol)
    for got, ref in zip(state, ref_state):
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("backend", COMPILED)
def test_default_orders_are_csr_order_and_inputs_stay_unchanged(csr, backend):
    indptr, indices, ratings = csr[:3]
    copies = [a.copy() for a in csr]
    states = [_state(csr, np.float64) for _ in range(2)]
    _epochs(csr, states[0], backend, entry_order=None, user_order=None)
    _epochs(csr, states[1], backend, entry_order=np.arange(len(indices)),
            user_order=np.arange(len(indptr) - 1))
    for a, b in zip(*states):
        assert np.array_equal(a, b)
    for a, b in zip(csr, copies):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("dtype", DTYPES)
def test_the_serial_epoch_does_not_depend_on_the_thread_count(csr, backend, dtype):
    one, two = _state(csr, dtype), _state(csr, dtype)
    assert _epochs(csr, one, backend, n_threads=1) == _epochs(csr, two, backend, n_threads=2)
    for a, b in zip(one, two):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("backend", COMPILED)
def test_chunks_on_one_thread_run_in_order_and_on_two_train(csr, backend):
    state, ref_state = _state(csr, np.float64), _state(csr, np.float64)
    losses = _epochs(csr, state, backend, chunks=4, n_threads=1)
    np.testing.assert_allclose(losses, _epochs(csr, ref_state, "reference", chunks=4),
                               rtol=1e-9)
    hogwild = _state(csr, np.float32)
    losses = _epochs(csr, hogwild, backend, n=5, chunks=8, n_threads=2)
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert all(np.isfinite(a).all() for a in hogwild)


def test_user_chunks_balance_the_ratings():
    indptr = np.array([0, 10, 10, 11, 12, 30, 31])
    order = np.array([4, 0, 1, 2, 3, 5])
    bounds = user_chunks(indptr, order, 3)
    assert bounds[0] == 0 and bounds[-1] == len(order) and np.all(np.diff(bounds) >= 0)
    assert bounds.tolist() == [0, 1, 2, 6]
    assert user_chunks(indptr, order, 1).tolist() == [0, 6]


def test_the_kernel_checks_its_arrays(csr):
    indptr, indices, ratings = csr[:3]
    state = _state(csr, np.float64)
    bu, bi, pu, qi, yj = state

    def run(*arrays, ratings=ratings, lr=RATES[0], reg=RATES[1], indices=indices, **options):
        return svdpp_epoch(indptr, indices, ratings, 3.5, *arrays, lr, reg, **options)

    with pytest.raises(TypeError, match="user_factors must be a float32 or float64"):
        run(bu, bi, pu.astype(np.int64), qi, yj)
    with pytest.raises(TypeError, match="implicit_factors must be a 2-d float64"):
        run(bu, bi, pu, qi, yj.astype(np.float32))
    with pytest.raises(TypeError, match="ratings must be a 1-d float64"):
        run(*state, ratings=ratings.astype(np.float32))
    with pytest.raises(ValueError, match="item_factors must be C-contiguous and writeable"):
        run(bu, bi, pu, np.asfortranarray(qi), yj)
    with pytest.raises(ValueError, match="shapes disagree"):
        run(bu, bi, pu, qi, yj[:-1])
    with pytest.raises(ValueError, match="indices contain 99, must lie in"):
        run(*state, indices=np.where(indices == indices[0], 99, indices).astype(indices.dtype))
    bad = yj.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="implicit_factors contain NaN or inf"):
        run(bu, bi, pu, qi, bad)
    with pytest.raises(ValueError, match="5-tuples"):
        run(*state, lr=RATES[0][:4])
    with pytest.raises(ValueError, match=r"lr\[4\] == -0.1, must be >= 0.0"):
        run(*state, lr=RATES[0][:4] + (-0.1,))
    with pytest.raises(ValueError, match="chunks == 0, must be >= 1"):
        run(*state, chunks=0)
    with pytest.raises(ValueError, match="user_order must be a permutation"):
        run(*state, user_order=np.zeros(len(indptr) - 1, dtype=np.int64))
    with pytest.raises(TypeError, match="entry_order must be a 1-d array of integer"):
        run(*state, entry_order=np.zeros(len(indices)))
    with pytest.raises(ValueError, match="entry_order must keep each user's entries"):
        run(*state, entry_order=np.arange(len(indices))[::-1])
    with pytest.raises(ValueError, match="len\\(indptr\\) == "):
        svdpp_epoch(indptr[:-1], indices[:indptr[-2]], ratings[:indptr[-2]], 3.5, *state,
                    *RATES)
