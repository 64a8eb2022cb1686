"""Shared, seeded, small test data (session-scoped so Numba compiles once)."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from fastcf import Interactions
from fastcf.kernels._registry import cython_status

# Tests name every backend; on an install without the Cython extensions each
# test that needs them is skipped with CYTHON_ABSENT as its reason (see
# pytest_collection_modifyitems).
BACKENDS = ["numba", "cython", "reference"]
DTYPES = [np.float32, np.float64]
CYTHON_BUILT, _CYTHON_REASON = cython_status()
CYTHON_ABSENT = f"the Cython backend is absent: {_CYTHON_REASON.split(';')[0]}"


def pytest_collection_modifyitems(config, items):
    """Skip every test that needs the Cython backend when it is absent: those with a
    parameter equal to "cython" (``backend``, mostly) and those marked ``cython``."""
    if CYTHON_BUILT:
        return
    skip = pytest.mark.skip(reason=CYTHON_ABSENT)
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params.values() if callspec is not None else ()
        if item.get_closest_marker("cython") is not None or any(
                isinstance(value, str) and value == "cython" for value in params):
            item.add_marker(skip)


def load_surprise_fixture(name):
    """(arrays of tests/fixtures/<name>.npz, the Interactions of its users/items/ratings)."""
    from pathlib import Path

    with np.load(Path(__file__).parent / "fixtures" / f"{name}.npz") as npz:
        arrays = {key: npz[key] for key in npz.files}
    return arrays, Interactions.from_arrays(arrays["users"], arrays["items"], arrays["ratings"],
                                            dtype=np.float64)


def central_difference(loss, param, idx, eps=1e-6):
    """(loss(param[idx] + eps) - loss(param[idx] - eps)) / (2 eps), param restored."""
    old = param[idx]
    param[idx] = old + eps
    up = loss()
    param[idx] = old - eps
    down = loss()
    param[idx] = old
    return (up - down) / (2 * eps)
THREADS = [1, 2]


def make_frame(n_users=30, n_items=20, density=0.3, seed=0):
    """Random explicit ratings 1..5 with string user ids and int item ids.

    Always contains a user whose ratings are all equal (constant row), a user
    with a single rating, and repeated rating values (ties).
    """
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    mask[0, :] = False
    mask[0, :5] = True  # constant row below
    mask[1, :] = False
    mask[1, 3] = True  # single rating
    users, items = np.nonzero(mask)
    ratings = rng.integers(1, 6, size=len(users)).astype(float)
    ratings[users == 0] = 4.0
    timestamps = rng.integers(1_000_000, 2_000_000, size=len(users))
    order = rng.permutation(len(users))  # not sorted, like real files
    return pd.DataFrame({
        "user": np.array([f"u{u:03d}" for u in users])[order],
        "item": (items * 10)[order],
        "rating": ratings[order],
        "timestamp": timestamps[order],
    })


@pytest.fixture(scope="session")
def frame():
    return make_frame()


@pytest.fixture(scope="session")
def interactions(frame):
    return Interactions.from_frame(frame, rating="rating", timestamp="timestamp")


@pytest.fixture(scope="session")
def with_empty_rows():
    """CSR input with an empty user row and an empty item column."""
    rng = np.random.default_rng(3)
    dense = np.where(rng.random((12, 9)) < 0.4, rng.integers(1, 6, (12, 9)), 0).astype(float)
    dense[4, :] = 0
    dense[:, 7] = 0
    dense[0, 0] = 3.0
    return Interactions.from_csr(sp.csr_matrix(dense))


def assert_topk_equal(got, want, *, tie_tolerant=False, scores=None):
    """Assert two ``(indices, values)`` top-k results are the same.

    Values must be exactly equal (NaN padding in the same slots, where the
    index must be -1). With ``tie_tolerant=False`` the indices must be equal
    too: the right mode for ``topk``, whose ties are fully determined (lower
    column first). With ``tie_tolerant=True`` columns of exactly equal value
    may come in any order; and in a full row (no padding) the last group of
    equal values may have been cut at ``k``, so it may hold other columns of
    that same value — accepted only when ``scores`` is given to prove it.
    """
    got_idx, got_val = got
    want_idx, want_val = want
    assert got_idx.shape == want_idx.shape, (got_idx.shape, want_idx.shape)
    assert got_idx.dtype == want_idx.dtype == np.int64
    assert got_val.dtype == want_val.dtype, (got_val.dtype, want_val.dtype)
    np.testing.assert_array_equal(got_val, want_val)  # NaN matches NaN
    pad = np.isnan(want_val)
    assert (got_idx[pad] == -1).all(), "padding slots must have index -1"
    assert (want_idx[pad] == -1).all(), "padding slots must have index -1"
    if not tie_tolerant:
        np.testing.assert_array_equal(got_idx, want_idx)
        return
    for row in range(got_idx.shape[0]):
        kept = want_val[row][~pad[row]]
        groups = np.unique(kept)
        assert len(set(got_idx[row][~pad[row]].tolist())) == len(kept), f"row {row} repeats"
        for value in groups:
            got_cols = set(got_idx[row][got_val[row] == value].tolist())
            want_cols = set(want_idx[row][want_val[row] == value].tolist())
            if got_cols == want_cols:
                continue
            cut = value == kept[-1] and not pad[row].any()
            assert cut and scores is not None, (
                f"row {row}: columns {sorted(got_cols)} != {sorted(want_cols)} at value {value}")
            assert (scores[row, sorted(got_cols)] == value).all(), (
                f"row {row}: columns {sorted(got_cols)} do not all score {value}")


def assert_neighbours_equal(got, want, rtol):
    """Top-k CSR equality that lets rows swap neighbours whose scores tie within ``rtol``.

    Scores must agree position by position; indices must agree except inside
    a run of (numerically) equal scores, where they must agree as a set — and
    at a row's end, where a tied run may be cut differently.
    """
    assert got.shape == want.shape
    assert np.array_equal(got.indptr, want.indptr), "rows hold different neighbour counts"
    np.testing.assert_allclose(got.data, want.data, rtol=rtol, atol=rtol)
    for r in range(got.shape[0]):
        lo, hi = got.indptr[r], got.indptr[r + 1]
        g_idx, w_idx, w_val = got.indices[lo:hi], want.indices[lo:hi], want.data[lo:hi]
        start = 0
        while start < len(w_val):
            stop = start + 1
            while stop < len(w_val) and np.isclose(w_val[stop], w_val[start], rtol=rtol,
                                                   atol=rtol):
                stop += 1
            g_set, w_set = set(g_idx[start:stop]), set(w_idx[start:stop])
            if stop == len(w_val):  # the last tied run may be cut at different members
                assert len(g_set) == len(w_set)
            else:
                assert g_set == w_set, f"row {r}: neighbours {g_set} != {w_set}"
            start = stop
