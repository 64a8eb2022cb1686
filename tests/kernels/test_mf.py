"""The SGD epoch kernels of matrix factorization (``fastcf.kernels.mf``) against
their reference: the serial epoch, the seeded shuffle, the cell grid and the
blocked and Hogwild epochs over it, the Cython builds, and thread invariance."""

import numpy as np
import pytest
from conftest import DTYPES

import fastcf
from fastcf._config import MF_PREFETCH_DISTANCE
from fastcf.kernels import sgd_epoch
from fastcf.kernels.mf import (
    block_grid,
    run_sgd_epoch_blocked,
    run_sgd_epoch_hogwild,
    run_shuffle_ratings,
)
from fastcf.split import random_split

COMPILED = ["numba", "cython"]
RATES = ((0.01, 0.012, 0.02, 0.015), (0.02, 0.03, 0.05, 0.04))


@pytest.fixture(scope="module")
def planted():
    """Ratings from make_ratings' planted low-rank model, split 80/20."""
    data = fastcf.make_ratings(400, 300, 24_000, seed=3)
    return random_split(data, 0.2, seed=0)


def _epoch_inputs(data, dtype, k=8, seed=0):
    by_user = data.by_user
    users = np.repeat(np.arange(data.n_users, dtype=by_user.indices.dtype),
                      np.diff(by_user.indptr))
    rng = np.random.default_rng(seed)
    state = (np.zeros(data.n_users, dtype), np.zeros(data.n_items, dtype),
             rng.normal(0, 0.1, (data.n_users, k)).astype(dtype),
             rng.normal(0, 0.1, (data.n_items, k)).astype(dtype))
    return users, by_user.indices, by_user.data.astype(dtype), state


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("biased", [True, False])
def test_epochs_match_the_reference(planted, backend, dtype, biased):
    train, _ = planted
    users, items, ratings, state = _epoch_inputs(train, dtype)
    ref_state = tuple(a.astype(np.float64) for a in state)
    order = np.random.default_rng(1).permutation(len(ratings))
    rates = RATES
    for _ in range(2):
        loss = sgd_epoch(users, items, ratings, order, 3.5, *state, *rates, biased=biased,
                         backend=backend)
        want = sgd_epoch(users, items, ratings.astype(np.float64), order, 3.5, *ref_state,
                         *rates, biased=biased, backend="reference")
        tol = 1e-9 if dtype == np.float64 else 1e-4
        assert loss == pytest.approx(want, rel=tol)
    for got, ref in zip(state, ref_state):
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)


def test_order_none_is_the_array_order_and_inputs_stay_unchanged(planted):
    train, _ = planted
    users, items, ratings, state = _epoch_inputs(train, np.float64)
    copies = [a.copy() for a in (users, items, ratings)]
    rates = ((0.01,) * 4, (0.02,) * 4)
    states = [tuple(a.copy() for a in state) for _ in range(2)]
    for order, st in zip((None, np.arange(len(ratings))), states):
        sgd_epoch(users, items, ratings, order, 3.5, *st, *rates, backend="numba")
    for a, b in zip(*states):
        assert np.array_equal(a, b)
    for a, b in zip((users, items, ratings), copies):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_shuffle_draws_the_reference_permutation(backend, index_dtype):
    n = 1000
    users = np.arange(n, dtype=index_dtype)
    items = (users * 7 % n).astype(index_dtype)
    ratings = users.astype(np.float32) / 2
    ref = [users.copy(), items.copy(), ratings.astype(np.float64)]
    run_shuffle_ratings(users, items, ratings, 12345, backend=backend)
    run_shuffle_ratings(*ref, 12345, backend="reference")
    assert np.array_equal(users, ref[0]) and np.array_equal(items, ref[1])
    assert np.array_equal(ratings, ref[2])
    # a permutation that moves whole ratings, and another one for another seed
    assert np.array_equal(np.sort(users), np.arange(n))
    assert np.array_equal(items, users * 7 % n) and np.array_equal(ratings, users / 2)
    again = np.arange(n, dtype=index_dtype)
    run_shuffle_ratings(again, again.copy(), again.astype(np.float32), 12346, backend=backend)
    assert not np.array_equal(again, users)


def test_shuffle_is_uniform_over_the_permutations():
    # 4 ratings have 24 orders: 24,000 seeded shuffles put ~1000 on each
    counts = {}
    for seed in range(24_000):
        users = np.arange(4, dtype=np.int64)
        run_shuffle_ratings(users, users.copy(), np.zeros(4), seed, backend="numba")
        counts[tuple(users)] = counts.get(tuple(users), 0) + 1
    assert len(counts) == 24
    # chi-square with 23 degrees of freedom; 49.7 is its 0.999 quantile
    chi2 = sum((c - 1000) ** 2 / 1000 for c in counts.values())
    assert chi2 < 49.7


@pytest.mark.parametrize("build", ["_mf", "_mf_avx2"])
@pytest.mark.cython
def test_each_cython_build_matches_the_reference(planted, build):
    """The "cython" backend runs one build of _mf.pxi; the other is tested here."""
    import importlib

    from fastcf.kernels.mf import _cpu_has

    if build == "_mf_avx2" and not _cpu_has("avx2", "fma"):
        pytest.skip("this CPU lacks AVX2 or FMA")
    try:
        module = importlib.import_module(f"fastcf.kernels.{build}")
    except ImportError:
        pytest.skip(f"{build} was not built here")
    train, _ = planted
    users, items, ratings, state = _epoch_inputs(train, np.float32)
    ref_state = [a.astype(np.float64) for a in state]
    f32 = np.float32
    rates = [f32(0.01), f32(0.012), f32(0.02), f32(0.015), f32(0.02), f32(0.03), f32(0.05),
             f32(0.04)]
    loss = module.sgd_epoch(users, items, ratings, f32(3.5), *state, *rates, True)
    want = sgd_epoch(users, items, ratings.astype(np.float64), None, 3.5, *ref_state,
                     tuple(float(r) for r in rates[:4]), tuple(float(r) for r in rates[4:]),
                     backend="reference")
    assert loss == pytest.approx(want, rel=1e-4)
    for got, ref in zip(state, ref_state):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.cython
def test_cython_prefetches_as_far_ahead_as_numba():
    from fastcf.kernels import _mf

    assert _mf.PREFETCH_DISTANCE == MF_PREFETCH_DISTANCE


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("shuffle", [False, True])
def test_hogwild_on_one_thread_is_the_reference(planted, backend, shuffle):
    train, _ = planted
    users, items, ratings, state = _epoch_inputs(train, np.float64)
    positions, block_ptr = block_grid(users, items, train.n_users, train.n_items, 4, 0)
    ref_state = tuple(a.copy() for a in state)
    arrays = [users[positions], items[positions], ratings[positions]]
    ref_arrays = [a.copy() for a in arrays]
    rates = RATES
    for seed in (7, 8):
        cells = np.random.default_rng(seed).permutation(16)
        loss = run_sgd_epoch_hogwild(*arrays, block_ptr, cells, seed, 3.5, *state, *rates,
                                     True, shuffle=shuffle, backend=backend, n_threads=1)
        want = run_sgd_epoch_hogwild(*ref_arrays, block_ptr, cells, seed, 3.5, *ref_state,
                                     *rates, True, shuffle=shuffle, backend="reference",
                                     n_threads=1)
        assert loss == pytest.approx(want, rel=1e-9)
    for got, ref in zip(arrays + list(state), ref_arrays + list(ref_state)):
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)


def test_epoch_kernel_checks_its_arrays(planted):
    train, _ = planted
    users, items, ratings, state = _epoch_inputs(train, np.float64)
    order = np.arange(len(ratings))
    rates = ((0.01,) * 4, (0.02,) * 4)
    with pytest.raises(TypeError, match="item_factors must be a 2-d float64"):
        sgd_epoch(users, items, ratings, order, 3.5, *state[:3], state[3].astype(np.float32),
                  *rates)
    with pytest.raises(ValueError, match="order must lie in"):
        sgd_epoch(users, items, ratings, order + 1, 3.5, *state, *rates)
    with pytest.raises(TypeError, match="order must be a 1-d array of integer"):
        sgd_epoch(users, items, ratings, order * 1.0, 3.5, *state, *rates)
    with pytest.raises(ValueError, match="users must lie in"):
        sgd_epoch(users + 1, items, ratings, order, 3.5, *state, *rates)
    with pytest.raises(ValueError, match="4-tuples"):
        sgd_epoch(users, items, ratings, order, 3.5, *state, (0.01,), (0.02,) * 4)
    frozen = state[2].copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        sgd_epoch(users, items, ratings, order, 3.5, *state[:2], frozen, state[3], *rates)


def test_block_grid_groups_the_ratings_by_cell(planted):
    train, _ = planted
    users, items, _, _ = _epoch_inputs(train, np.float64)
    g = 4
    positions, block_ptr = block_grid(users, items, train.n_users, train.n_items, g, 11)
    assert np.array_equal(np.sort(positions), np.arange(len(users)))
    assert block_ptr[0] == 0 and block_ptr[-1] == len(users) and len(block_ptr) == g * g + 1
    assert np.all(np.diff(block_ptr) >= 0)
    user_block = np.full(train.n_users, -1)
    item_block = np.full(train.n_items, -1)
    for c in range(g * g):
        cell = positions[block_ptr[c]:block_ptr[c + 1]]
        assert np.all(np.diff(cell) > 0)  # a cell keeps the ratings' order (by user)
        for owner, ids, block in ((user_block, users[cell], c // g),
                                  (item_block, items[cell], c % g)):
            assert np.all(np.isin(owner[ids], (-1, block)))  # one block per user / item
            owner[ids] = block
    # blocks of near-equal size, the same for a seed, another for another seed
    assert (user_block >= 0).all()  # every user has ratings here
    sizes = np.bincount(user_block)
    assert sizes.max() - sizes.min() <= 1
    again, _ = block_grid(users, items, train.n_users, train.n_items, g, 11)
    other, _ = block_grid(users, items, train.n_users, train.n_items, g, 12)
    assert np.array_equal(again, positions) and not np.array_equal(other, positions)


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("shuffle", [False, True])
def test_blocked_is_identical_for_any_thread_count_and_matches_the_reference(planted, backend,
                                                                              shuffle):
    train, _ = planted
    users, items, ratings, state = _epoch_inputs(train, np.float64, k=6)
    g = 5
    positions, block_ptr = block_grid(users, items, train.n_users, train.n_items, g, 4)
    trained = {}
    for name, threads in ((backend, 1), (backend, 2), ("reference", 1)):
        arrays = [a[positions] for a in (users, items, ratings)]
        params = tuple(a.copy() for a in state)
        rng = np.random.default_rng(4)
        for _ in range(3):
            run_sgd_epoch_blocked(*arrays, block_ptr, rng.permutation(g), rng.permutation(g),
                                  rng.integers(2**63), 3.5, *params, *RATES, True,
                                  shuffle=shuffle, backend=name, n_threads=threads)
        trained[name, threads] = params  # user_bias, item_bias, user_factors, item_factors
    one, two, ref = trained[backend, 1], trained[backend, 2], trained["reference", 1]
    assert np.array_equal(one[2], two[2])
    assert np.array_equal(one[1], two[1])
    np.testing.assert_allclose(one[2], ref[2], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(one[3], ref[3], rtol=1e-9, atol=1e-12)
