"""The hybrid (LightFM-style) epoch kernels (``fastcf.kernels.hybrid``) against their
reference: the same draws and steps on every backend for each loss and learning
schedule, the Hogwild driver on one thread, the identity case against BPR / MF's
kernels, the gradient, and bad input."""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import DTYPES

import fastcf
from fastcf.kernels import bpr as kbpr
from fastcf.kernels import mf as kmf
from fastcf.kernels.hybrid import (
    LOSSES,
    hybrid_epoch,
    run_hybrid_epoch,
    user_chunks,
)

COMPILED = ["numba", "cython"]
K = 5


@pytest.fixture(scope="module")
def problem():
    """Entries of make_ratings (a few users have many items) and feature rows: the
    identity and 3 (users) / 4 (items) side features, values not all 1, some rows
    without side features."""
    data = fastcf.make_ratings(70, 45, 900, seed=2)
    by_user = data.by_user
    users = np.repeat(np.arange(data.n_users), np.diff(by_user.indptr)).astype(np.int32)

    def rows(n, n_side, seed):
        side = sp.random(n, n_side, density=0.3, random_state=seed, dtype=np.float64)
        side.data = np.round(side.data * 2, 2) + 0.25
        csr = sp.hstack([sp.identity(n), side], format="csr")
        csr.sort_indices()
        return csr

    return (users, by_user.indices.astype(np.int32), by_user.data.copy(),
            rows(data.n_users, 3, 1), rows(data.n_items, 4, 2),
            (by_user.indptr.astype(np.int32), by_user.indices.astype(np.int32)))


def _params(problem, dtype, seed=0):
    _, _, _, u_rows, i_rows, _ = problem
    rng = np.random.default_rng(seed)
    return (((rng.random((u_rows.shape[1], K)) - 0.5) / K).astype(dtype),
            (rng.random(u_rows.shape[1]) * 0.1).astype(dtype),
            ((rng.random((i_rows.shape[1], K)) - 0.5) / K).astype(dtype),
            (rng.random(i_rows.shape[1]) * 0.1).astype(dtype))


def _csr(rows, dtype):
    return rows.indptr.astype(np.int32), rows.indices.astype(np.int32), rows.data.astype(dtype)


def _epochs(problem, backend, dtype, loss, schedule, epochs=2, **kw):
    users, items, values, u_rows, i_rows, seen = problem
    params = _params(problem, dtype)
    acc = tuple(np.ones_like(a) for a in params) if schedule == "adagrad" else None
    stats = []
    for seed in range(epochs):
        stats.append(hybrid_epoch(users, items, values.astype(dtype), _csr(u_rows, dtype),
                                  _csr(i_rows, dtype), seen, *params, loss=loss,
                                  learning_schedule=schedule, accumulators=acc, lr=0.05,
                                  reg_user=0.01, reg_item=0.02,
                                  mu=3.0 if loss == "squared" else 0.0, seed=seed,
                                  backend=backend, **kw))
    return params, acc, stats


def _tol(dtype):
    return 1e-9 if dtype == np.float64 else 2e-5


# WARP in float32 is left out: its margin test (x_uj > x_ui - 1) computed in float32
# and in the reference's float64 can fall on either side, and every later draw of the
# chunk then differs; float64 holds the WARP kernels to the reference.
CASES = [(dtype, loss) for dtype in DTYPES for loss in LOSSES
         if not (loss == "warp" and dtype == np.float32)]


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("dtype, loss", CASES)
@pytest.mark.parametrize("schedule", ["sgd", "adagrad"])
def test_serial_epochs_match_the_reference(problem, backend, dtype, loss, schedule):
    got, got_acc, got_stats = _epochs(problem, backend, dtype, loss, schedule)
    want, want_acc, want_stats = _epochs(problem, "reference", np.float64, loss, schedule)
    for a, b in zip(got + (got_acc or ()), want + (want_acc or ())):
        np.testing.assert_allclose(a, b, rtol=_tol(dtype), atol=_tol(dtype))
    for g, w in zip(got_stats, want_stats):
        # the same draws; a count may differ by a comparison within rounding in float32
        assert abs(g[0] - w[0]) <= (0 if dtype == np.float64 else 2)
        assert abs(g[1] - w[1]) <= (0 if dtype == np.float64 else 2)
        np.testing.assert_allclose(g[2], w[2], rtol=1e-4)
    if loss != "squared":  # the ranking losses never move the user biases
        np.testing.assert_array_equal(got[1], _params(problem, dtype)[1])


@pytest.mark.parametrize("backend", COMPILED + ["reference"])
@pytest.mark.parametrize("loss", list(LOSSES))
def test_hogwild_chunks_on_one_thread_match_the_reference(
        problem, backend, loss):
    users, items, values, u_rows, i_rows, seen = problem
    positions, chunk_ptr = user_chunks(users, len(seen[0]) - 1, 4, 11)
    pool = np.sort(items)  # by popularity

    def run(backend, n_threads, dtype):
        params = _params(problem, dtype)
        arrays = (users[positions], items[positions], values[positions].astype(dtype))
        rng = np.random.default_rng(5)
        for _ in range(2):
            run_hybrid_epoch(*arrays, chunk_ptr, rng.permutation(4), rng.integers(2**63), True,
                             _csr(u_rows, dtype), _csr(i_rows, dtype), seen, pool, params, None,
                             loss, 0.05, 0.01, 0.01, 3.0 if loss == "squared" else 0.0,
                             10, backend=backend, n_threads=n_threads)
        return params, arrays

    one, one_arrays = run(backend, 1, np.float64)
    want, want_arrays = run("reference", 1, np.float64)
    for a, b in zip(one + one_arrays, want + want_arrays):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)
    # Hogwild: which thread runs a chunk decides the order of the updates of shared
    # rows, but every chunk shuffles its own entries from its own seed
    two, two_arrays = run(backend, 2, np.float64)
    for a, b in zip(one_arrays, two_arrays):
        np.testing.assert_array_equal(a, b)
    assert all(np.isfinite(a).all() for a in two)


@pytest.mark.parametrize("backend", COMPILED + ["reference"])
def test_one_and_two_threads_give_the_same_serial_epoch(problem, backend):
    users, items, values, u_rows, i_rows, seen = problem
    out = []
    for n_threads in (1, 2):
        params = _params(problem, np.float32)
        run_hybrid_epoch(users.copy(), items.copy(), values.astype(np.float32), np.array(
            [0, len(users)]), np.zeros(1, np.int64), 3, True, _csr(u_rows, np.float32),
            _csr(i_rows, np.float32), seen, np.arange(i_rows.shape[0], dtype=np.int32), params,
            None, "warp", 0.05, 0.0, 0.0, 0.0, 10,
            backend=backend, n_threads=n_threads)
        out.append(params)
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)


def _identity(n, dtype):
    return np.arange(n + 1, dtype=np.int32), np.arange(n, dtype=np.int32), np.ones(n, dtype)


@pytest.mark.parametrize("backend", COMPILED + ["reference"])
def test_identity_features_take_bprs_steps(problem, backend):
    users, items, _, _, _, seen = problem
    n_users, n_items = len(seen[0]) - 1, int(items.max()) + 1
    rng = np.random.default_rng(1)
    p, q = rng.random((n_users, K)) - 0.5, rng.random((n_items, K)) - 0.5
    b = rng.random(n_items) * 0.1
    bpr_state = (p.copy(), q.copy(), b.copy())
    kbpr.bpr_epoch(users, items, *seen, *bpr_state, 0.05, 0.01, seed=4, backend=backend)
    ours = (p.copy(), np.zeros(n_users), q.copy(), b.copy())
    hybrid_epoch(users, items, np.ones(len(users)), _identity(n_users, np.float64),
                 _identity(n_items, np.float64), seen, *ours, loss="bpr",
                 learning_schedule="sgd", lr=0.05, reg_user=0.01, reg_item=0.01,
                 max_sampled=fastcf._config.BPR_MAX_DRAWS, seed=4, backend=backend)
    for a, b in zip(bpr_state, (ours[0], ours[2], ours[3])):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", COMPILED + ["reference"])
def test_identity_features_take_mfs_steps(problem, backend):
    users, items, values, _, _, seen = problem
    n_users, n_items = len(seen[0]) - 1, int(items.max()) + 1
    rng = np.random.default_rng(1)
    state = (rng.random(n_users) * 0.1, rng.random(n_items) * 0.1,
             rng.normal(0, 0.1, (n_users, K)), rng.normal(0, 0.1, (n_items, K)))
    mf_state = tuple(a.copy() for a in state)
    kmf.sgd_epoch(users, items, values, None, 3.5, *mf_state, (0.01,) * 4, (0.02,) * 4,
                  backend=backend)
    ours = (state[2].copy(), state[0].copy(), state[3].copy(), state[1].copy())
    hybrid_epoch(users, items, values, _identity(n_users, np.float64),
                 _identity(n_items, np.float64), seen, *ours, loss="squared",
                 learning_schedule="sgd", lr=0.01, reg_user=0.02, reg_item=0.02, mu=3.5,
                 shuffle=False, backend=backend)
    for a, b in zip(mf_state, (ours[1], ours[3], ours[0], ours[2])):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_a_squared_step_is_a_gradient_step(problem):
    """One entry, sgd, no reg: every parameter moves by -lr * d(e^2 / 2) / d(param),
    checked against central differences of the loss."""
    _, _, _, u_rows, i_rows, _ = problem
    params = _params(problem, np.float64)
    u, i, r, lr = 3, 5, 4.0, 1e-3
    a_u, b_i = u_rows[u].toarray().ravel(), i_rows[i].toarray().ravel()

    def loss(p):
        return 0.5 * (r - ((a_u @ p[0]) @ (b_i @ p[2]) + a_u @ p[1] + b_i @ p[3])) ** 2

    grads = []
    for j, arr in enumerate(params):
        g = np.zeros_like(arr)
        for idx in zip(*np.nonzero(np.ones_like(arr))):
            plus, minus = [a.copy() for a in params], [a.copy() for a in params]
            plus[j][idx] += 1e-6
            minus[j][idx] -= 1e-6
            g[idx] = (loss(plus) - loss(minus)) / 2e-6
        grads.append(g)
    before = tuple(a.copy() for a in params)
    n_users = u_rows.shape[0]
    seen = (np.zeros(n_users + 1, np.int32), np.zeros(0, np.int32))
    hybrid_epoch(np.array([u], np.int32), np.array([i], np.int32), np.array([r]),
                 _csr(u_rows, np.float64), _csr(i_rows, np.float64), seen, *params,
                 loss="squared", learning_schedule="sgd", lr=lr, backend="reference")
    for after, start, g in zip(params, before, grads):
        np.testing.assert_allclose(after - start, -lr * g, atol=1e-9)


@pytest.mark.parametrize("backend", COMPILED + ["reference"])
def test_warp_negatives_violate_the_margin_and_are_unseen(problem, backend):
    """With lr tiny, the entries WARP steps on are those with an unseen violator."""
    users, items, values, u_rows, i_rows, seen = problem
    params = _params(problem, np.float64)
    right, no_step, total = hybrid_epoch(users, items, values, _csr(u_rows, np.float64),
                                         _csr(i_rows, np.float64), seen, *params, loss="warp",
                                         max_sampled=3, backend=backend)
    assert right == no_step and 0 < no_step < len(users)
    n_items = i_rows.shape[0]
    assert total <= (len(users) - no_step) * min(np.log(n_items - 1), 10) + 1e-9


@pytest.mark.parametrize("backend", COMPILED + ["reference"])
def test_negatives_come_from_the_pool(problem, backend):
    """A pool of two items the users rarely have: BPR steps move no other item's row
    down (their embeddings change only as positives)."""
    users, items, values, u_rows, i_rows, seen = problem
    identity = _identity(i_rows.shape[0], np.float64)
    params = _params(problem, np.float64)
    params = (params[0], params[1], params[2][:i_rows.shape[0]].copy(),
              params[3][:i_rows.shape[0]].copy())
    before = params[2].copy()
    keep = (items != 7) & (items != 9)
    hybrid_epoch(users[keep], items[keep], values[keep], _csr(u_rows, np.float64), identity,
                 seen, *params, loss="bpr", pool=np.array([7, 9, 9]), max_sampled=32,
                 backend=backend)
    moved = np.flatnonzero(np.abs(params[2] - before).max(axis=1) > 0)
    assert {7, 9} <= set(moved.tolist()) <= set(items[keep].tolist()) | {7, 9}
    assert not (set(moved.tolist()) & (set(range(i_rows.shape[0])) - set(items.tolist())))


# ------------------------------------------------------------------- bad input
def _good(problem):
    users, items, values, u_rows, i_rows, seen = problem
    return dict(users=users, items=items, values=values, user_features=_csr(u_rows, np.float64),
                item_features=_csr(i_rows, np.float64), seen=seen), _params(problem, np.float64)


@pytest.mark.parametrize("change, error, match", [
    (lambda a, p: a.update(users=a["users"].astype(np.float64)), TypeError, "users must be"),
    (lambda a, p: a.update(items=a["items"][:-1]), ValueError, "they must match"),
    (lambda a, p: a.update(users=a["users"] + 1000), ValueError, r"users must lie in"),
    (lambda a, p: a.update(values=a["values"].astype(np.float32)), TypeError, "values must"),
    (lambda a, p: a.update(user_features=a["user_features"][:2]), TypeError, "tuple"),
    (lambda a, p: a.update(user_features=(a["user_features"][0][:-1],) +
                           a["user_features"][1:]), ValueError, r"user_features\[0\]"),
    (lambda a, p: a["item_features"][2].__setitem__(0, np.nan), ValueError, "NaN"),
    (lambda a, p: a.update(item_features=(a["item_features"][0], a["item_features"][1] + 100,
                                          a["item_features"][2])), ValueError, "must lie in"),
    (lambda a, p: a.update(seen=(a["seen"][0], a["seen"][1][::-1].copy())), ValueError,
     "sorted"),
    (lambda a, p: p.__setitem__(0, p[0].astype(np.float32)), TypeError, "user_biases"),
    (lambda a, p: p.__setitem__(3, p[3][:-1]), ValueError, "shapes disagree"),
    (lambda a, p: p[2].__setitem__((0, 0), np.inf), ValueError, "item_embeddings contain"),
])
def test_bad_input_is_refused(problem, change, error, match):
    arrays, params = _good(problem)
    arrays = {k: (tuple(x.copy() for x in v) if isinstance(v, tuple) else v.copy())
              for k, v in arrays.items()}
    params = [a.copy() for a in params]
    change(arrays, params)
    with pytest.raises(error, match=match):
        hybrid_epoch(**arrays, user_embeddings=params[0], user_biases=params[1],
                     item_embeddings=params[2], item_biases=params[3], backend="numba")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"loss": "logistic"}, ValueError, "loss"),
    ({"learning_schedule": "adadelta"}, ValueError, "learning_schedule"),
    ({"lr": 0.0}, ValueError, "lr"),
    ({"reg_item": -1.0}, ValueError, "reg_item"),
    ({"max_sampled": 0}, ValueError, "max_sampled"),
    ({"learning_schedule": "sgd", "accumulators": (1, 2, 3, 4)}, ValueError, "adagrad's"),
    ({"accumulators": (1, 2)}, TypeError, "tuple of 4"),
    ({"pool": np.array([0.5])}, TypeError, "pool must be"),
    ({"pool": np.array([], np.int64)}, ValueError, "pool must be non-empty"),
    ({"pool": np.array([10_000])}, ValueError, "pool must be non-empty"),
])
def test_bad_options_are_refused(problem, kwargs, error, match):
    arrays, params = _good(problem)
    if kwargs.get("accumulators") == (1, 2, 3, 4):
        kwargs["accumulators"] = tuple(np.ones_like(a) for a in params)
    with pytest.raises(error, match=match):
        hybrid_epoch(**arrays, user_embeddings=params[0], user_biases=params[1],
                     item_embeddings=params[2], item_biases=params[3], **kwargs)


def test_accumulators_must_be_positive_and_shaped(problem):
    arrays, params = _good(problem)
    acc = [np.ones_like(a) for a in params]
    acc[1][0] = 0.0
    with pytest.raises(ValueError, match="must be > 0"):
        hybrid_epoch(**arrays, user_embeddings=params[0], user_biases=params[1],
                     item_embeddings=params[2], item_biases=params[3], accumulators=tuple(acc))
    acc = [np.ones_like(a) for a in params]
    acc[2] = acc[2][:, :-1].copy()
    with pytest.raises(ValueError, match="has shape"):
        hybrid_epoch(**arrays, user_embeddings=params[0], user_biases=params[1],
                     item_embeddings=params[2], item_biases=params[3], accumulators=tuple(acc))


def test_the_callers_arrays_are_not_changed(problem):
    arrays, params = _good(problem)
    before = {k: (tuple(x.copy() for x in v) if isinstance(v, tuple) else v.copy())
              for k, v in arrays.items()}
    hybrid_epoch(**arrays, user_embeddings=params[0], user_biases=params[1],
                 item_embeddings=params[2], item_biases=params[3], loss="squared")
    for key, value in before.items():
        for a, b in zip(value if isinstance(value, tuple) else (value,),
                        arrays[key] if isinstance(value, tuple) else (arrays[key],)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.cython
def test_the_cython_prefetch_distance_is_the_numba_one():
    import importlib

    from fastcf.kernels import hybrid_nb
    from fastcf.kernels.hybrid import HYBRID_CYTHON_BUILD

    build = importlib.import_module(f"fastcf.kernels.{HYBRID_CYTHON_BUILD}")
    assert build.PREFETCH_DISTANCE == hybrid_nb._PREFETCH_DISTANCE
