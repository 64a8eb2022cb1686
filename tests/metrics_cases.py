"""Shared cases of the metrics tests: input forms, comparisons, hand-checked and seeded lists."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from fastcf.data import CSR

RANKING = ["precision_at_k", "recall_at_k", "hit_rate_at_k", "ndcg_at_k", "map_at_k", "mrr"]


def as_forms(lists, n_items):
    """The same relevant sets as a list of arrays, scipy CSR, scipy COO (with repeats) and CSR."""
    rows = np.repeat(np.arange(len(lists)), [len(r) for r in lists])
    cols = np.concatenate([np.asarray(r, dtype=np.int64) for r in lists] + [np.zeros(0, int)])
    coo = sp.coo_matrix((np.zeros(len(cols)), (rows, cols)), shape=(len(lists), n_items))
    csr = sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(lists), n_items))
    own = CSR(csr.indptr.astype(np.int64), csr.indices.astype(np.int64), csr.data, csr.shape)
    return {"list": [np.asarray(r, dtype=np.int64) for r in lists], "coo": coo, "csr": csr,
            "fastcf_csr": own}


def readonly(arr):
    arr = np.array(arr)
    arr.flags.writeable = False
    return arr


def assert_same(got, want):
    if isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray) and got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, equal_nan=True)
    else:
        assert isinstance(got, float)
        if math.isnan(want):
            assert math.isnan(got)
        else:
            assert got == pytest.approx(want, rel=1e-12, abs=0)


# user 0: list [0, 1, 2, 3], relevant {1, 3, 5}; user 1: list [4, 5] (padded), relevant {4};
# user 2: list [2, 0, 1, 5], no relevant item (does not count). With k = 3:
#   user 0: top-3 [0, 1, 2], one hit at position 1
#     P = 1/3, R = 1/3, HR = 1, DCG = 1/log2(3), IDCG = 1 + 1/log2(3) + 1/log2(4),
#     AP = (1/min(3, 3)) * P@2 = 1/3 * 1/2 = 1/6, RR (whole list) = 1/2
#   user 1: top-3 [4, 5], hit at position 0
#     P = 1/3, R = 1, HR = 1, NDCG = 1/1, AP = 1/min(3, 1) * 1 = 1, RR = 1
HAND_REC = np.array([[0, 1, 2, 3], [4, 5, -1, -1], [2, 0, 1, 5]])
HAND_REL = [[1, 3, 5, 5], [4], []]  # the repeated 5 counts once


def random_lists(rng, n_users, n_items, length):
    """Lists of distinct items, right-padded with -1 to random lengths (some empty)."""
    rec = np.full((n_users, length), -1, dtype=np.int64)
    for u in range(n_users):
        size = rng.integers(0, length + 1) if u % 5 else length
        rec[u, :size] = rng.permutation(n_items)[:size]
    rec[1] = -1  # an empty list
    return rec


def random_relevant(rng, n_users, n_items):
    """Per-user id lists with repeats, some users without any."""
    lists = []
    for u in range(n_users):
        size = 0 if u % 7 == 3 else rng.integers(1, 8)
        lists.append(rng.integers(0, n_items, size=size))
    return lists


def random_case():
    """(rng, n_items, recommended, relevant): seeded lists with hits at many positions."""
    rng = np.random.default_rng(20240607)
    n_users, n_items, length = 60, 25, 12
    rec = random_lists(rng, n_users, n_items, length)
    relevant = random_relevant(rng, n_users, n_items)
    # relevant also recommended often enough to give hits at many positions
    for u in range(0, n_users, 2):
        if relevant[u].size and (rec[u] >= 0).sum() > 3:
            relevant[u] = np.append(relevant[u], rec[u, rng.integers(0, 3)])
    return rng, n_items, rec, relevant
