"""The BPR epoch kernels (``fastcf.kernels.bpr``) against their reference: the same
random draws on every backend, the sampled negatives, the blocked grid's thread
invariance, and bad input."""

import numpy as np
import pytest
from conftest import DTYPES

import fastcf
from fastcf import _config
from fastcf.kernels import bpr as kbpr
from fastcf.kernels.bpr import (
    SERIAL_ROUNDS,
    blocked_rounds,
    bpr_epoch,
    grid_layout,
    run_bpr_epoch,
    single_cell,
)

COMPILED = ["numba", "cython"]
K = 6


@pytest.fixture(scope="module")
def pairs():
    """make_ratings' pairs (every user has some items, a few have many) and a seen CSR."""
    data = fastcf.make_ratings(150, 60, 2_400, seed=5)
    by_user = data.by_user
    users = np.repeat(np.arange(data.n_users, dtype=by_user.indices.dtype),
                      np.diff(by_user.indptr))
    return users, by_user.indices.copy(), by_user.indptr.copy(), data.n_users, data.n_items


def _state(n_users, n_items, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (((rng.random((n_users, K)) - 0.5) / K).astype(dtype),
            ((rng.random((n_items, K)) - 0.5) / K).astype(dtype),
            (rng.random(n_items) * 0.1).astype(dtype))


def _tol(dtype):
    return 1e-9 if dtype == np.float64 else 1e-4


def _grid_epochs(pairs, schedule, backend, dtype, n_threads, epochs=2, g=3):
    """Factors and negatives after ``epochs`` grid epochs (blocked or hogwild)."""
    users, items, indptr, n_users, n_items = pairs
    u, i, cell_ptr, pool, cell_pool = grid_layout(users, items, n_users, n_items, g, 7,
                                                  blocked=schedule == "blocked")
    factors = _state(n_users, n_items, dtype)
    negatives = np.empty(len(u), u.dtype)
    rng = np.random.default_rng(3)
    stats = []
    for _ in range(epochs):
        rounds = (blocked_rounds(rng.permutation(g), rng.permutation(g))
                  if schedule == "blocked" else rng.permutation(g * g)[None, :])
        stats.append(run_bpr_epoch(u, i, negatives, cell_ptr, rounds, pool, cell_pool, indptr,
                                   items, rng.integers(2**63), *factors, 0.05, 0.01, True,
                                   backend=backend, n_threads=n_threads))
    return factors, (u, i, negatives), np.array(stats), (pool, cell_pool, cell_ptr)


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("use_bias", [True, False])
def test_serial_epochs_match_the_reference(pairs, backend, dtype, use_bias):
    users, items, indptr, n_users, n_items = pairs
    state = _state(n_users, n_items, dtype)
    ref_state = tuple(a.astype(np.float64) for a in state)
    for seed in range(2):
        got = bpr_epoch(users, items, indptr, items, *state, 0.05, 0.01, seed=seed,
                        use_bias=use_bias, backend=backend)
        want = bpr_epoch(users, items, indptr, items, *ref_state, 0.05, 0.01, seed=seed,
                         use_bias=use_bias, backend="reference")
        # the same draws: the same pairs skipped; "correct" may differ by a sign of ~0
        assert got[1] == want[1]
        assert abs(got[0] - want[0]) <= (0 if dtype == np.float64 else 2)
    for got, ref in zip(state, ref_state):
        np.testing.assert_allclose(got, ref, rtol=_tol(dtype), atol=_tol(dtype))
    if not use_bias:
        np.testing.assert_array_equal(state[2], ref_state[2].astype(dtype))


@pytest.mark.parametrize("schedule", ["blocked", "hogwild"])
@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("dtype", DTYPES)
def test_grid_epochs_on_one_thread_match_the_reference(pairs, schedule, backend, dtype):
    got, (u, _, negatives), stats, _ = _grid_epochs(pairs, schedule, backend, dtype, 1)
    want, (ref_u, _, ref_negatives), ref_stats, _ = _grid_epochs(pairs, schedule, "reference",
                                                                 np.float64, 1)
    np.testing.assert_array_equal(u, ref_u)  # the same shuffles
    np.testing.assert_array_equal(negatives, ref_negatives)  # the same negatives
    np.testing.assert_array_equal(stats[:, :, 1], ref_stats[:, :, 1])
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=_tol(dtype), atol=_tol(dtype))


@pytest.mark.parametrize("backend", COMPILED + ["reference"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_blocked_epochs_do_not_depend_on_the_thread_count(pairs, backend, dtype):
    one = _grid_epochs(pairs, "blocked", backend, dtype, 1)
    two = _grid_epochs(pairs, "blocked", backend, dtype, 2)
    for a, b in zip(one[0] + one[1], two[0] + two[1]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(one[2], two[2])


@pytest.mark.parametrize("schedule", ["blocked", "hogwild"])
@pytest.mark.parametrize("backend", COMPILED + ["reference"])
def test_sampled_negatives_are_never_in_the_users_row(pairs, schedule, backend):
    users, items, indptr, _, n_items = pairs
    _, (u, i, negatives), _, (pool, cell_pool, cell_ptr) = _grid_epochs(
        pairs, schedule, backend, np.float32, 2)
    seen = {(a, b) for a, b in zip(users.tolist(), items.tolist())}
    drawn = negatives >= 0
    assert drawn.mean() > 0.95
    assert not any((a, b) in seen for a, b in zip(u[drawn].tolist(), negatives[drawn].tolist()))
    for cell in range(len(cell_ptr) - 1):  # each from its cell's pool
        lo, hi = cell_pool[cell]
        span = slice(cell_ptr[cell], cell_ptr[cell + 1])
        picked = negatives[span][negatives[span] >= 0]
        assert np.isin(picked, pool[lo:hi]).all()
        if schedule == "blocked":  # the pool is the item block of the cell's positives
            assert np.isin(i[span], pool[lo:hi]).all() and hi - lo < n_items
        else:
            assert hi - lo == n_items
    # and the draws spread over the catalogue: every item most users lack is drawn
    lacking = len(indptr) - 1 - np.bincount(items, minlength=n_items)
    assert np.isin(np.flatnonzero(lacking > 30), negatives[drawn]).all()


@pytest.mark.parametrize("backend", COMPILED + ["reference"])
def test_a_user_with_every_item_is_skipped_and_left_unchanged(backend):
    # user 0 has all 5 items, user 1 has two
    users = np.array([0, 0, 0, 0, 0, 1, 1], np.int64)
    items = np.array([0, 1, 2, 3, 4, 0, 3], np.int64)
    indptr = np.array([0, 5, 7], np.int64)
    U, V, b = _state(2, 5, np.float64)
    before = U[0].copy()
    correct, skipped = bpr_epoch(users, items, indptr, items, U, V, b, 0.1, 0.0, seed=1,
                                 backend=backend)
    assert skipped == 5 and correct <= 2
    np.testing.assert_array_equal(U[0], before)


def test_blocked_rounds_run_every_cell_once_without_sharing_a_block():
    g = 5
    rng = np.random.default_rng(0)
    rounds = blocked_rounds(rng.permutation(g), rng.permutation(g))
    assert rounds.shape == (g, g) and rounds.dtype == np.int64
    assert sorted(rounds.ravel()) == list(range(g * g))
    for cells in rounds:
        assert len(set(cells // g)) == g and len(set(cells % g)) == g


def test_single_cell_is_the_serial_layout():
    cell_ptr, pool, cell_pool = single_cell(10, 4, np.int32)
    assert cell_ptr.tolist() == [0, 10] and pool.tolist() == [0, 1, 2, 3]
    assert pool.dtype == np.int32 and cell_pool.tolist() == [[0, 4]]
    assert SERIAL_ROUNDS.tolist() == [[0]]


@pytest.mark.cython
def test_the_cython_prefetch_distance_is_the_configured_one():
    from fastcf.kernels import _bpr

    assert _bpr.PREFETCH_DISTANCE == _config.BPR_PREFETCH_DISTANCE
    assert kbpr.BPR_CYTHON_BUILD in ("_bpr", "_bpr_avx2")


def test_the_checked_epoch_leaves_the_pairs_alone(pairs):
    users, items, indptr, n_users, n_items = pairs
    before = users.copy(), items.copy()
    bpr_epoch(users, items, indptr, items, *_state(n_users, n_items, np.float32), 0.05, 0.01)
    np.testing.assert_array_equal(users, before[0])
    np.testing.assert_array_equal(items, before[1])


def test_bad_input(pairs):
    users, items, indptr, n_users, n_items = pairs
    U, V, b = _state(n_users, n_items, np.float32)

    def call(**kw):
        args = dict(users=users, items=items, indptr=indptr, indices=items, user_factors=U,
                    item_factors=V, item_bias=b, lr=0.05, reg=0.01)
        args.update(kw)
        return bpr_epoch(**args)

    with pytest.raises(TypeError, match="user_factors must be a float32 or float64"):
        call(user_factors=U.astype(int))
    with pytest.raises(TypeError, match="item_factors must be a 2-d float32"):
        call(item_factors=V.astype(np.float64))
    with pytest.raises(ValueError, match="item_factors must be C-contiguous"):
        call(item_factors=np.asfortranarray(V))
    bad = V.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="item_factors contain NaN or inf"):
        call(item_factors=bad)
    with pytest.raises(ValueError, match="shapes disagree"):
        call(item_bias=b[:-1])
    with pytest.raises(ValueError, match="there is no item to sample"):
        call(item_factors=V[:0], item_bias=b[:0])
    with pytest.raises(ValueError, match="len\\(indptr\\) == 3, must be n_users"):
        call(indptr=np.array([0, 5, len(items)], indptr.dtype))
    unsorted = items.copy()
    unsorted[indptr[2]:indptr[3]] = unsorted[indptr[2]:indptr[3]][::-1]
    with pytest.raises(ValueError, match="indices must be sorted ascending"):
        call(indices=unsorted)
    with pytest.raises(ValueError, match="users must lie in"):
        call(users=users + n_users)
    with pytest.raises(TypeError, match="items must be a 1-d int32/int64 array"):
        call(items=items.astype(float))
    with pytest.raises(ValueError, match="len\\(users\\) == .* but len\\(items\\)"):
        call(users=users[:-1])
    with pytest.raises(ValueError, match="lr == 0"):
        call(lr=0.0)
    with pytest.raises(ValueError, match="reg == -1"):
        call(reg=-1)
    with pytest.raises(ValueError, match="max_draws == 0"):
        call(max_draws=0)


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("max_draws", [1, 3])
def test_empty_and_dense_seen_rows_draw_the_reference_negatives(backend, max_draws):
    # the pairs' users: seen rows empty (never a seen draw), of every item but one
    # (draws mostly seen: skips at max_draws == 1) and of a few items; enough pairs
    # for the kernels' batches of side-by-side searches and a tail
    n_users, n_items = 6, 12
    rows = [[], list(range(1, n_items)), [2, 5, 7], [], list(range(0, n_items, 2)), [11]]
    indptr = np.cumsum([0] + [len(r) for r in rows]).astype(np.int32)
    indices = np.array([i for r in rows for i in r], np.int32)
    users = np.arange(53, dtype=np.int32) % n_users
    items = (np.arange(53, dtype=np.int32) * 5) % n_items
    cell_ptr, pool, cell_pool = single_cell(len(users), n_items, np.int32)
    out = {}
    for name in (backend, "reference"):
        u, i, negatives = users.copy(), items.copy(), np.empty(len(users), np.int32)
        stats = run_bpr_epoch(u, i, negatives, cell_ptr, SERIAL_ROUNDS, pool, cell_pool,
                              indptr, indices, 11, *_state(n_users, n_items, np.float64),
                              0.05, 0.01, True, max_draws=max_draws, backend=name)
        out[name] = (u, negatives, stats[:, 1])
    for got, want in zip(out[backend], out["reference"]):
        np.testing.assert_array_equal(got, want)
    if max_draws == 1:
        assert out["reference"][2][0] > 0
