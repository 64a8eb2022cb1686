"""Ranking metrics (precision / recall / hit rate / NDCG / MAP @k, MRR, full-ranking AUC):
hand-checked values, parity with the reference twins on seeded random inputs, every error
branch of their inputs."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from metrics_cases import (
    HAND_REC,
    HAND_REL,
    RANKING,
    as_forms,
    assert_same,
    random_case,
)
from scipy.stats import rankdata

from fastcf import metrics
from fastcf.data import CSR
from fastcf.metrics import ranking
from fastcf.reference import metrics as ref

L2 = 1.0 / math.log2(3)  # discount of position 1
L3 = 1.0 / math.log2(4)  # discount of position 2 (= 0.5)
# user 0: list [0, 1, 2, 3], relevant {1, 3, 5}; user 1: list [4, 5] (padded), relevant {4};
# user 2: list [2, 0, 1, 5], no relevant item (does not count). With k = 3:
#   user 0: top-3 [0, 1, 2], one hit at position 1
#     P = 1/3, R = 1/3, HR = 1, DCG = 1/log2(3), IDCG = 1 + 1/log2(3) + 1/log2(4),
#     AP = (1/min(3, 3)) * P@2 = 1/3 * 1/2 = 1/6, RR (whole list) = 1/2
#   user 1: top-3 [4, 5], hit at position 0
#     P = 1/3, R = 1, HR = 1, NDCG = 1/1, AP = 1/min(3, 1) * 1 = 1, RR = 1
HAND_PER_USER = {
    "precision_at_k": [1 / 3, 1 / 3],
    "recall_at_k": [1 / 3, 1.0],
    "hit_rate_at_k": [1.0, 1.0],
    "ndcg_at_k": [L2 / (1 + L2 + L3), 1.0],
    "map_at_k": [1 / 6, 1.0],
    "mrr": [1 / 2, 1.0],
}


@pytest.mark.parametrize("form", ["list", "coo", "csr", "fastcf_csr"])
@pytest.mark.parametrize("name", RANKING)
def test_ranking_hand_checked(name, form):
    relevant = as_forms(HAND_REL, 8)[form]
    fast, slow = getattr(metrics, name), getattr(ref, name)
    kwargs = {} if name == "mrr" else {"k": 3}
    want = np.array(HAND_PER_USER[name] + [np.nan])
    assert_same(fast(HAND_REC, relevant, per_user=True, **kwargs), want)
    assert_same(fast(HAND_REC, relevant, **kwargs), float(np.nanmean(want)))
    assert_same(slow(HAND_REC, relevant, per_user=True, **kwargs), want)


def test_mrr_with_k_and_short_lists():
    # k = 1: user 0's first hit (position 1) is cut off -> 0; user 1 hits at 0 -> 1
    assert metrics.mrr(HAND_REC, HAND_REL, k=1) == 0.5
    # k larger than the lists: nothing changes, and precision still divides by k
    assert metrics.mrr(HAND_REC, HAND_REL, k=50) == 0.75
    assert_same(metrics.precision_at_k(HAND_REC, HAND_REL, k=8, per_user=True),
                np.array([2 / 8, 1 / 8, np.nan]))  # user 0 hits 1 and 3 within its 4 items


def test_auc_hand_checked_with_ties_and_exclusions():
    # user 0: item 0 excluded, P = {1}, N = {2, 3, 4}; s1 = .5 ties s2, beats .1 and .3
    #   -> (0.5 + 1 + 1) / 3 = 5/6
    # user 1: P = {0, 2}, N = {1, 3, 4}; s0 = .2 ties .2, .2 and loses to .4 -> 1;
    #   s2 = .8 beats all three -> 3; (1 + 3) / 6 = 2/3
    # user 2: every item relevant, N empty -> does not count
    scores = np.array([[0.9, 0.5, 0.5, 0.1, 0.3],
                       [0.2, 0.2, 0.8, 0.2, 0.4],
                       [1.0, 2.0, 3.0, 4.0, 5.0]])
    relevant = [[1], [0, 2, 2], [0, 1, 2, 3, 4]]
    exclude = [[0], [], []]
    want = np.array([5 / 6, 2 / 3, np.nan])
    assert_same(metrics.auc(scores, relevant, exclude=exclude, per_user=True), want)
    assert_same(metrics.auc(scores, relevant, exclude=exclude), 0.75)
    assert_same(ref.auc(scores, relevant, exclude=exclude, per_user=True), want)
    # without the exclusion item 0 (0.9) is a negative above user 0's positive: 2.5 / 4
    assert metrics.auc(scores, relevant, per_user=True)[0] == 2.5 / 4


@pytest.mark.parametrize("form", ["list", "coo", "csr", "fastcf_csr"])
@pytest.mark.parametrize("k", [1, 3, 12, 20])
@pytest.mark.parametrize("name", RANKING)
def test_ranking_matches_reference(name, k, form):
    _, n_items, rec, lists = random_case()
    relevant = as_forms(lists, n_items)[form]
    fast, slow = getattr(metrics, name), getattr(ref, name)
    for kwargs in ({"k": k}, {}) if name == "mrr" else ({"k": k},):
        want = slow(rec, relevant, per_user=True, **kwargs)
        assert np.isfinite(want).sum() > 30
        assert_same(fast(rec, relevant, per_user=True, **kwargs), want)
        assert_same(fast(rec, relevant, **kwargs), slow(rec, relevant, **kwargs))


@pytest.mark.parametrize("form", ["list", "csr", "fastcf_csr"])
def test_auc_matches_reference(form):
    rng, n_items, _, lists = random_case()
    n_users = len(lists)
    scores = rng.integers(0, 6, size=(n_users, n_items)) / 4.0  # many ties
    exclude = [rng.integers(0, n_items, size=rng.integers(0, 6)) for _ in range(n_users)]
    exclude[5] = np.arange(n_items)  # everything excluded: does not count
    relevant = as_forms(lists, n_items)[form]
    exclusions = as_forms(exclude, n_items)[form]
    for kwargs in ({}, {"exclude": exclusions}):
        want = ref.auc(scores, relevant, per_user=True, **kwargs)
        assert_same(metrics.auc(scores, relevant, per_user=True, **kwargs), want)
        assert_same(metrics.auc(scores, relevant, **kwargs), ref.auc(scores, relevant, **kwargs))
    assert math.isnan(metrics.auc(scores, relevant, exclude=exclusions, per_user=True)[5])
    # float32 and integer scores are read as float64
    assert_same(metrics.auc(scores.astype(np.float32), relevant, per_user=True),
                ref.auc(scores, relevant, per_user=True))
    assert_same(metrics.auc((scores * 4).astype(np.int32), relevant, per_user=True),
                ref.auc(scores, relevant, per_user=True))


def test_average_ranks_match_scipy():
    rng = random_case()[0]
    scores = rng.integers(0, 4, size=(20, 15)).astype(np.float64)
    np.testing.assert_array_equal(ranking._average_ranks(scores),
                                  rankdata(scores, axis=1, method="average"))


def test_zero_users_and_zero_length_lists():
    with pytest.warns(RuntimeWarning):
        assert math.isnan(metrics.precision_at_k(np.zeros((0, 5), dtype=int), []))
    rec = np.zeros((2, 0), dtype=np.int64)
    assert_same(metrics.ndcg_at_k(rec, [[1], [2]], per_user=True), np.array([0.0, 0.0]))
    assert metrics.mrr(rec, [[1], [2]]) == 0.0


@pytest.mark.parametrize("bad, error, match", [
    ([[0]], ValueError, "relevant has 1 rows but there are 2 users"),
    (5, TypeError, "relevant must be a scipy.sparse matrix"),
    ("ab", TypeError, "relevant must be a scipy.sparse matrix"),
    (np.array([[0], [1]]), TypeError, "relevant is a 2-d numpy array"),
    ([[0.5], [1]], TypeError, r"relevant\[0\]\.dtype == float64"),
    ([[0], [-1]], ValueError, "relevant contains item -1"),
    ([0, 1], ValueError, r"relevant\[0\]\.ndim == 0"),
    ([[0], [[1]]], ValueError, r"relevant\[1\]\.ndim == 2"),
    (sp.csr_matrix((3, 4)), ValueError, "relevant has 3 rows"),
    (sp.csr_matrix((2, 2)), ValueError, r"recommended contains item 3, must lie in \[0, 2\)"),
    (CSR(np.array([0, 1]), np.array([0]), np.ones(1), (2, 4)), ValueError,
     r"relevant\.indptr must be"),
    (CSR(np.array([0, 1, 1]), np.array([9]), np.ones(1), (2, 4)), ValueError,
     r"relevant\.indices must lie"),
    (CSR(np.array([0.0, 1, 1]), np.array([0]), np.ones(1), (2, 4)), TypeError,
     r"relevant\.indptr must be"),
])
def test_bad_relevant(bad, error, match):
    for name in RANKING:
        with pytest.raises(error, match=match):
            getattr(metrics, name)([[0, 1], [2, 3]], bad)


@pytest.mark.parametrize("k, error, match", [
    (0, ValueError, "k == 0, must be >= 1"),
    (-3, ValueError, "k == -3, must be >= 1"),
    (2.5, TypeError, "k must be an int, got float"),
    (True, TypeError, "k must be an int, got bool"),
    ("3", TypeError, "k must be an int, got str"),
])
def test_bad_k(k, error, match):
    for name in RANKING:
        with pytest.raises(error, match=match):
            getattr(metrics, name)([[0, 1]], [[0]], k)
    assert metrics.precision_at_k([[0, 1]], [[0]], np.int64(2)) == 0.5


def test_bad_per_user():
    with pytest.raises(TypeError, match="per_user must be a bool"):
        metrics.ndcg_at_k([[0]], [[0]], per_user=1)
    with pytest.raises(TypeError, match="per_user must be a bool"):
        metrics.auc([[0.0, 1.0]], [[0]], per_user="yes")


def test_bad_auc_inputs():
    scores = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"scores\.ndim == 1, must be 2"):
        metrics.auc(np.zeros(3), [[0]])
    with pytest.raises(ValueError, match=r"scores contains 1 NaN/inf values \(first at \(1, 2\)\)"):
        metrics.auc(np.array([[0, 1, 2], [0, 1, np.nan]]), [[0], [1]])
    with pytest.raises(ValueError, match="scores contains 1 NaN/inf"):
        metrics.auc(np.array([[0, 1, 2], [0, 1, -np.inf]]), [[0], [1]])
    with pytest.raises(TypeError, match=r"scores\.dtype == bool"):
        metrics.auc(np.ones((2, 3), dtype=bool), [[0], [1]])
    with pytest.raises(ValueError, match="relevant has 4 columns but there are 3 items"):
        metrics.auc(scores, sp.csr_matrix((2, 4)))
    with pytest.raises(ValueError, match=r"relevant contains item 3, must lie in \[0, 3\)"):
        metrics.auc(scores, [[3], [0]])
    with pytest.raises(ValueError, match="exclude has 1 rows but there are 2 users"):
        metrics.auc(scores, [[1], [0]], exclude=[[0]])
    with pytest.raises(ValueError, match=r"exclude contains item 5"):
        metrics.auc(scores, [[1], [0]], exclude=[[5], []])


def test_blocks_of_users_give_the_same_answer(monkeypatch):
    rng, n_items, rec, lists = random_case()
    scores = rng.integers(0, 6, size=(len(lists), n_items)) / 4.0
    exclude = [rng.integers(0, n_items, size=3) for _ in lists]
    want = ref.auc(scores, lists, exclude=exclude, per_user=True)
    monkeypatch.setattr(ranking, "METRIC_BLOCK_ENTRIES", 3 * n_items + 1)
    assert_same(metrics.auc(scores, lists, exclude=exclude, per_user=True), want)
