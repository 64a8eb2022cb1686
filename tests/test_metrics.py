"""fastcf.metrics as a whole: its public names, the deprecated names of the sampled
protocol, and the input rules every list metric shares (no user counts, inputs never
mutated, bad ``recommended``)."""

import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from metrics_cases import HAND_REC, RANKING, readonly

import fastcf
from fastcf import evaluation, metrics

#: Every public name fastcf.metrics had as one module, before its split by kind.
PUBLIC = ("rmse", "mae", "precision_at_k", "recall_at_k", "hit_rate_at_k", "ndcg_at_k",
          "map_at_k", "mrr", "auc", "hit_rate_ndcg_of_candidates", "sampled_auc_of_candidates",
          "catalogue_coverage", "novelty", "popularity_bias", "intra_list_diversity")


def test_every_public_name_is_still_there():
    for name in PUBLIC:
        assert callable(getattr(metrics, name)), name
    assert sorted(metrics.__all__) == sorted(PUBLIC)
    assert fastcf.metrics is metrics  # `import fastcf` is enough


@pytest.mark.parametrize("name", ["sampled_candidates", "sampled_hit_rate_ndcg"])
def test_the_sampled_protocol_moved_to_evaluation(name):
    with pytest.warns(DeprecationWarning, match=f"use fastcf.evaluation.{name}"):
        assert getattr(metrics, name) is getattr(evaluation, name)
    with pytest.raises(AttributeError, match="has no attribute 'sampled_precision'"):
        metrics.sampled_precision  # noqa: B018 - the attribute access is the test


def test_no_user_counts_warns_and_returns_nan():
    rec = [[0, 1], [1, 2]]
    for name in RANKING:
        with pytest.warns(RuntimeWarning, match="no user has a relevant item"):
            assert math.isnan(getattr(metrics, name)(rec, [[], []]))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert np.isnan(getattr(metrics, name)(rec, [[], []], per_user=True)).all()
    with pytest.warns(RuntimeWarning, match="positive and a negative"):
        assert math.isnan(metrics.auc(np.zeros((2, 3)), [[0, 1, 2], []]))
    empty = np.full((2, 3), -1)
    with pytest.warns(RuntimeWarning, match="every recommendation list is empty"):
        assert math.isnan(metrics.novelty(empty, [1, 1, 1], 2))
    with pytest.warns(RuntimeWarning, match="every recommendation list is empty"):
        assert math.isnan(metrics.popularity_bias(empty, [1, 1, 1]))
    with pytest.warns(RuntimeWarning, match="2 or more items"):
        assert math.isnan(metrics.intra_list_diversity([[0, -1], [1, -1]], np.eye(3)))


def test_inputs_are_not_mutated():
    rec = readonly(HAND_REC)
    lists = [readonly(r) for r in ([1, 3, 5, 5], [4], [])]
    coo = sp.coo_matrix((np.ones(5), ([0, 0, 0, 0, 1], [5, 3, 1, 5, 4])), shape=(3, 8))
    csr = sp.csr_matrix((np.array([0.0, 1.0, 1.0]), np.array([3, 1, 5]),
                         np.array([0, 3, 3, 3])), shape=(3, 8))  # unsorted indices
    saved = [(m.row.copy(), m.col.copy(), m.data.copy()) for m in (coo,)] + [
        (csr.indptr.copy(), csr.indices.copy(), csr.data.copy())]
    for relevant in (lists, coo, csr):
        for name in RANKING:
            getattr(metrics, name)(rec, relevant)
    np.testing.assert_array_equal(coo.row, saved[0][0])
    np.testing.assert_array_equal(coo.col, saved[0][1])
    np.testing.assert_array_equal(csr.indices, saved[1][1])
    np.testing.assert_array_equal(csr.data, saved[1][2])
    scores = readonly(np.arange(24.0).reshape(3, 8))
    metrics.auc(scores, lists, exclude=[readonly([0]), readonly([]), readonly([2])])
    metrics.auc(scores, coo, exclude=csr)
    metrics.sampled_auc_of_candidates(scores)
    popularity = readonly([3, 0, 1, 2, 1, 0, 0, 1])
    metrics.catalogue_coverage(rec, 8)
    metrics.novelty(rec, popularity, 3)
    metrics.popularity_bias(rec, popularity)
    sim = readonly(np.eye(8))
    metrics.intra_list_diversity(rec, sim)
    sim_sparse = sp.csr_matrix(np.eye(8) + 0.5)
    before = sim_sparse.toarray()
    metrics.intra_list_diversity(rec, sim_sparse)
    np.testing.assert_array_equal(sim_sparse.toarray(), before)


@pytest.mark.parametrize("bad, error, match", [
    (np.array([[0.0, 1.0]]), TypeError, r"recommended\.dtype == float64"),
    (np.array([[0, 1]], dtype=object), TypeError, r"recommended\.dtype == object"),
    (np.array([[True, False]]), TypeError, r"recommended\.dtype == bool"),
    (np.array([0, 1]), ValueError, r"recommended\.ndim == 1, must be 2"),
    ([[0, 1], [2]], ValueError, "recommended could not be read"),
    (np.array([[0, -1, 2]]), ValueError, "recommended row 0 has padding"),
    (np.array([[0, -2]]), ValueError, "recommended contains -2"),
    (np.array([[3, 1, 3]]), ValueError, "recommended row 0 repeats item 3"),
])
def test_bad_recommended(bad, error, match):
    relevant = [[0]] * len(bad)
    for name in RANKING:
        with pytest.raises(error, match=match):
            getattr(metrics, name)(bad, relevant)
    with pytest.raises(error, match=match):
        metrics.catalogue_coverage(bad, 5)
    with pytest.raises(error, match=match):
        metrics.novelty(bad, [1] * 5, 5)
    with pytest.raises(error, match=match):
        metrics.popularity_bias(bad, [1] * 5)
    with pytest.raises(error, match=match):
        metrics.intra_list_diversity(bad, np.eye(5))
