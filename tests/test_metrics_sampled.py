"""Metrics of sampled candidate lists: hand-checked values, parity with the reference
twin, every error branch."""

import math

import numpy as np
import pytest
from metrics_cases import assert_same, random_case

from fastcf import metrics
from fastcf.reference import metrics as ref


def test_sampled_auc_of_candidates_hand_checked():
    # row 0: positive .5 vs (.1, .5, .9): 1 + 0.5 + 0 over 3 = 0.5; row 1: 1.0; mean 0.75
    scores = [[0.5, 0.1, 0.5, 0.9], [1.0, 0.0, 0.0, 0.0]]
    assert metrics.sampled_auc_of_candidates(scores) == 0.75
    assert ref.sampled_auc_of_candidates(scores) == 0.75


def test_sampled_auc_matches_reference():
    rng = random_case()[0]
    scores = rng.integers(0, 5, size=(30, 8)).astype(np.float64)
    assert_same(metrics.sampled_auc_of_candidates(scores), ref.sampled_auc_of_candidates(scores))


def test_bad_sampled_auc_inputs():
    with pytest.raises(ValueError, match=r"scores\.shape\[1\] == 1, must be >= 2"):
        metrics.sampled_auc_of_candidates(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="scores has 0 rows"):
        metrics.sampled_auc_of_candidates(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="scores contains 1 NaN/inf"):
        metrics.sampled_auc_of_candidates([[1.0, np.nan]])
    with pytest.raises(ValueError, match=r"scores\.ndim == 1"):
        metrics.sampled_auc_of_candidates([1.0, 0.0])


def test_hit_rate_ndcg_of_candidates_hand_checked():
    # row 0: positive .5, negatives (.1, .5, .9): .5 and .9 at least as high -> rank 2
    # row 1: positive 1.0 above every negative -> rank 0
    # row 2: positive 0.0 below (.3, .2, .1) -> rank 3
    scores = [[0.5, 0.1, 0.5, 0.9], [1.0, 0.0, 0.0, 0.0], [0.0, 0.3, 0.2, 0.1]]
    gain = {0: 1.0, 2: 1 / math.log2(4), 3: 1 / math.log2(5)}
    for k, ranks in ((1, [0]), (3, [2, 0]), (4, [2, 0, 3]), (10, [2, 0, 3])):
        hit_rate, ndcg = metrics.hit_rate_ndcg_of_candidates(scores, k)
        assert hit_rate == pytest.approx(len(ranks) / 3, rel=1e-15)
        assert ndcg == pytest.approx(sum(gain[r] for r in ranks) / 3, rel=1e-15)
    # integer and float32 scores are read as float64
    assert metrics.hit_rate_ndcg_of_candidates(np.array([[2, 1, 3]], dtype=np.int32), 2) == \
        (1.0, 1 / math.log2(3))
    assert metrics.hit_rate_ndcg_of_candidates(np.float32([[2, 1, 3]]), 1) == (0.0, 0.0)


@pytest.mark.parametrize("call, error, match", [
    (lambda f: f(np.zeros((3, 1))), ValueError, r"scores\.shape\[1\] == 1, must be >= 2"),
    (lambda f: f(np.zeros((0, 4))), ValueError, "scores has 0 rows"),
    (lambda f: f([[1.0, np.inf]]), ValueError, "scores contains 1 NaN/inf"),
    (lambda f: f([1.0, 0.0]), ValueError, r"scores\.ndim == 1"),
    (lambda f: f([[True, False]]), TypeError, r"scores\.dtype == bool"),
    (lambda f: f([[1.0, 0.0]], 0), ValueError, "k == 0, must be >= 1"),
    (lambda f: f([[1.0, 0.0]], 2.0), TypeError, "k must be an int, got float"),
])
def test_bad_hit_rate_ndcg_of_candidates_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call(metrics.hit_rate_ndcg_of_candidates)
