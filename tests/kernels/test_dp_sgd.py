"""The DP-SGD kernels of matrix factorization (``fastcf.kernels.dp_sgd``) against their
reference: the step with per-user and per-rating clipping, both backends, float32 and
float64, 1 and 2 threads; the clipping bound for extreme users; bad input."""

import numpy as np
import pytest
from conftest import DTYPES

import fastcf
from fastcf.kernels.dp_sgd import dp_sgd_step

COMPILED = ["numba", "cython"]
USER_RATES = (0.02, 0.03, 0.02, 0.05)
ITEM_RATES = (0.4, 0.5, 0.01, 0.02)
K = 11  # not a multiple of the dot product's eight lanes: the tail runs too


@pytest.fixture(scope="module")
def csr():
    """A small planted data set by user (empty users included: 60 users, 40 items)."""
    data = fastcf.make_ratings(60, 40, 900, seed=5)
    by_user = data.by_user
    return by_user.indptr.astype(np.int64), by_user.indices, by_user.data - 3.0


def _state(n_users, n_items, dtype, seed=0, scale=0.3):
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 0.2, n_users).astype(dtype), rng.normal(0, 0.2, n_items).astype(dtype),
            rng.normal(0, scale, (n_users, K)).astype(dtype),
            rng.normal(0, scale, (n_items, K)).astype(dtype))


def _batch(indptr, users):
    """``batch_ptr`` and ``batch_pos`` of every rating of ``users``."""
    lens = np.diff(indptr)[users]
    ptr = np.zeros(len(users) + 1, dtype=np.int64)
    np.cumsum(lens, out=ptr[1:])
    pos = np.arange(ptr[-1], dtype=np.int64) - np.repeat(ptr[:-1] - indptr[users], lens)
    return ptr, pos


def _run_step(csr, dtype, backend, n_threads, per_rating, seed=0):
    indptr, items, ratings = csr
    n_users, n_items = len(indptr) - 1, 40
    rng = np.random.default_rng(seed)
    users = np.sort(rng.choice(n_users, 25, replace=False)).astype(items.dtype)
    ptr, pos = _batch(indptr, users)
    work = np.float64 if backend == "reference" else dtype
    state = tuple(a.astype(work) for a in _state(n_users, n_items, dtype, seed))
    noise = rng.standard_normal((n_items, K + 1)).astype(dtype).astype(work)
    loss, coef = dp_sgd_step(users, ptr, pos, items, ratings.astype(dtype).astype(work), 0.25,
                             *state, USER_RATES, ITEM_RATES, clip_norm=0.8, noise=noise,
                             noise_scale=0.3, batch_size=20.0, per_rating=per_rating,
                             backend=backend, n_threads=n_threads)
    return (loss, coef, noise, *state), users, ptr


@pytest.fixture(scope="module")
def reference_steps(csr):
    return {(dtype, per_rating): _run_step(csr, dtype, "reference", 1, per_rating)[0]
            for dtype in DTYPES for per_rating in (False, True)}


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("per_rating", [False, True])
def test_step_matches_the_reference_and_not_the_thread_count(csr, reference_steps, backend,
                                                             dtype, per_rating):
    one = _run_step(csr, dtype, backend, 1, per_rating)[0]
    two = _run_step(csr, dtype, backend, 2, per_rating)[0]
    tol = 1e-9 if dtype == np.float64 else 2e-4
    want = reference_steps[(dtype, per_rating)]
    assert one[0] == pytest.approx(want[0], rel=tol)
    for got, ref in zip(one[1:], want[1:]):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)
    assert one[0] == two[0]
    for a, b in zip(one[1:], two[1:]):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("backend", COMPILED + ["reference"])
@pytest.mark.parametrize("per_rating", [False, True])
def test_no_clipped_contribution_exceeds_the_bound(backend, per_rating):
    """200 seeded extreme users (ratings up to 1e4 off, factors up to norm ~1e2, 1 to 30
    ratings, 5 clip norms from 1e-3 to 1e3): each user's (or rating's) contribution
    coef_j (p_u, 1), with p_u the row after its pass, has L2 norm <= clip_norm."""
    rng = np.random.default_rng(11)
    for case in range(40):
        n_users, n_items = 5, 30
        lens = rng.integers(1, 31, n_users)
        indptr = np.zeros(n_users + 1, dtype=np.int64)
        np.cumsum(lens, out=indptr[1:])
        items = np.concatenate([rng.choice(n_items, n, replace=False) for n in lens])
        ratings = rng.choice([-1.0, 1.0], indptr[-1]) * 10.0 ** rng.uniform(-3, 4, indptr[-1])
        scale = 10.0 ** rng.uniform(-2, 1.5)
        state = _state(n_users, n_items, np.float64, seed=case, scale=scale)
        clip_norm = float(10.0 ** rng.integers(-3, 4))
        users = np.arange(n_users, dtype=np.int64)
        ptr, pos = _batch(indptr, users)
        noise = np.zeros((n_items, K + 1))
        _, coef = dp_sgd_step(users, ptr, pos, items.astype(np.int64), ratings, 0.0, *state,
                              (0.0, 0.01 / scale, 0.0, 0.0), (0.1, 0.1, 0.0, 0.0),
                              clip_norm=clip_norm, noise=noise, noise_scale=0.0,
                              batch_size=3.0, per_rating=per_rating, backend=backend)
        for b in range(n_users):
            row = np.sqrt(1.0 + state[2][b] @ state[2][b])
            part = np.abs(coef[ptr[b]:ptr[b + 1]]) * row
            norm = part.max() if per_rating else np.sqrt(part @ part)
            assert norm <= clip_norm * (1 + 1e-9), (case, b, norm, clip_norm)


def test_the_noise_row_holds_the_noisy_sum(csr):
    """``noise`` comes back as sigma N + sum of the clipped rows (item bias column last)."""
    indptr, items, ratings = csr
    users = np.array([3, 7], dtype=items.dtype)
    ptr, pos = _batch(indptr, users)
    state = _state(len(indptr) - 1, 40, np.float64)
    draw = np.random.default_rng(2).standard_normal((40, K + 1))
    noise = draw.copy()
    _, coef = dp_sgd_step(users, ptr, pos, items, ratings, 0.0, *state, USER_RATES,
                          ITEM_RATES, clip_norm=0.5, noise=noise, noise_scale=0.7,
                          batch_size=2.0, backend="numba")
    want = 0.7 * draw
    for b, u in enumerate(users):
        for j in range(ptr[b], ptr[b + 1]):
            want[items[pos[j]]] += coef[j] * np.append(state[2][u], 1.0)
    np.testing.assert_allclose(noise, want, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------- bad input
def _good(csr):
    indptr, items, ratings = csr
    users = np.array([1, 4], dtype=items.dtype)
    ptr, pos = _batch(indptr, users)
    state = _state(len(indptr) - 1, 40, np.float64)
    return dict(batch_users=users, batch_ptr=ptr, batch_pos=pos, items=items.copy(),
                ratings=ratings.copy(), centre=0.0, user_bias=state[0], item_bias=state[1],
                user_factors=state[2], item_factors=state[3], user_rates=USER_RATES,
                item_rates=ITEM_RATES, clip_norm=1.0, noise=np.zeros((40, K + 1)),
                noise_scale=1.0, batch_size=2.0)


@pytest.mark.parametrize("change, error, match", [
    (lambda a: a.update(user_factors=a["user_factors"].astype(np.float16)), TypeError,
     "user_factors must be a float32 or float64"),
    (lambda a: a.update(item_bias=a["item_bias"].astype(np.float32)), TypeError,
     "item_bias must be a 1-d float64"),
    (lambda a: a.update(item_bias=a["item_bias"][:-1]), ValueError, "shapes disagree"),
    (lambda a: a.update(item_factors=np.asfortranarray(a["item_factors"])), ValueError,
     "item_factors must be C-contiguous"),
    (lambda a: a["user_bias"].__setitem__(0, np.nan), ValueError,
     "user_bias contain NaN or inf"),
    (lambda a: a.update(ratings=a["ratings"].astype(np.float32)), TypeError,
     "ratings must be a 1-d float64"),
    (lambda a: a.update(items=a["items"].astype(float)), TypeError, "items must be a 1-d int"),
    (lambda a: a.update(items=a["items"][:-1]), ValueError, "len\\(items\\) == "),
    (lambda a: a["items"].__setitem__(0, 40), ValueError, "items must lie in"),
    (lambda a: a["ratings"].__setitem__(0, np.inf), ValueError, "ratings contain NaN"),
    (lambda a: a.update(batch_users=a["batch_users"].astype(np.int16)), TypeError,
     "batch_users must be a 1-d"),
    (lambda a: a["batch_users"].__setitem__(0, 60), ValueError, "batch_users must lie in"),
    (lambda a: a["batch_users"].__setitem__(0, 4), ValueError, "batch_users must be distinct"),
    (lambda a: a.update(batch_ptr=a["batch_ptr"].astype(np.int32)), TypeError,
     "batch_ptr must be a 1-d int64"),
    (lambda a: a.update(batch_ptr=a["batch_ptr"][:-1]), ValueError, "batch_ptr must rise"),
    (lambda a: a["batch_pos"].__setitem__(0, 10**6), ValueError, "batch_pos must lie in"),
    (lambda a: a["batch_pos"].__setitem__(1, a["batch_pos"][0]), ValueError,
     "a batch user has an item twice"),
    (lambda a: a.update(noise=np.zeros((40, K))), TypeError, "noise must be a float64 array"),
    (lambda a: a.update(noise=np.zeros((K + 1, 40)).T), ValueError,
     "noise must be C-contiguous"),
    (lambda a: a["noise"].__setitem__((0, 0), np.nan), ValueError, "noise contain NaN"),
    (lambda a: a.update(user_rates=(0.1, 0.1, 0.1)), ValueError, "3 rates given, 4 needed"),
    (lambda a: a.update(item_rates=(0.1, -0.1, 0.1, 0.1)), ValueError, "lr_qi == -0.1"),
    (lambda a: a.update(clip_norm=0.0), ValueError, "clip_norm == 0.0"),
    (lambda a: a.update(noise_scale=-1.0), ValueError, "noise_scale == -1.0"),
    (lambda a: a.update(batch_size=0.0), ValueError, "batch_size == 0.0"),
    (lambda a: a.update(centre=np.nan), ValueError, "centre"),
])
def test_step_bad_input(csr, change, error, match):
    args = _good(csr)
    change(args)
    with pytest.raises(error, match=match):
        dp_sgd_step(**args, backend="numba")


@pytest.mark.parametrize("build", ["_dp_sgd", "_dp_sgd_avx2"])
@pytest.mark.cython
def test_each_cython_build_matches_the_reference(csr, reference_steps, build, monkeypatch):
    """The "cython" backend runs one build of _dp_sgd.pxi; each is tested here."""
    import importlib

    from fastcf.kernels import _registry
    from fastcf.kernels.mf import _cpu_has

    if build == "_dp_sgd_avx2" and not _cpu_has("avx2", "fma"):
        pytest.skip("this CPU lacks AVX2 or FMA")
    try:
        module = importlib.import_module(f"fastcf.kernels.{build}")
    except ImportError:
        pytest.skip(f"{build} was not built here")
    monkeypatch.setitem(_registry._REGISTRY["dp_sgd"], "cython", module.dp_sgd_step)
    for dtype in DTYPES:
        got = _run_step(csr, dtype, "cython", 2, False)[0]
        want = reference_steps[(dtype, False)]
        tol = 1e-9 if dtype == np.float64 else 2e-4
        for a, b in zip(got[1:], want[1:]):
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
