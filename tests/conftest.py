"""Shared, seeded, small test data (session-scoped so Numba compiles once)."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from fastcf import Interactions

BACKENDS = ["numba", "cython", "reference"]
DTYPES = [np.float32, np.float64]


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
