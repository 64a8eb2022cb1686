"""Beyond-accuracy metrics (coverage, novelty, popularity bias, intra-list diversity):
hand-checked values, parity with the reference twins, every error branch."""

import numpy as np
import pytest
import scipy.sparse as sp
from metrics_cases import HAND_REC, assert_same, random_case

import fastcf
from fastcf import metrics
from fastcf.data import CSR
from fastcf.metrics import beyond_accuracy
from fastcf.reference import metrics as ref


def test_catalogue_coverage_hand_checked():
    # items {0, 1, 2, 3, 4, 5} of 8 appear in HAND_REC
    assert metrics.catalogue_coverage(HAND_REC, 8) == 0.75
    assert ref.catalogue_coverage(HAND_REC, 8) == 0.75
    assert metrics.catalogue_coverage(np.full((2, 3), -1), 8) == 0.0


BEYOND_REC = np.array([[0, 1, -1], [2, 3, 1], [-1, -1, -1]])


def test_novelty_and_popularity_bias_hand_checked():
    # 4 training users; popularity [4, 2, 1, 0] -> self-information [0, 1, 2, 2]
    # (popularity 0 counts as 1). user 0: (0 + 1) / 2 = 1/2; user 1: (2 + 2 + 1) / 3 = 5/3;
    # user 2: empty list, does not count. Mean (1/2 + 5/3) / 2 = 13/12.
    popularity = np.array([4, 2, 1, 0])
    want = np.array([0.5, 5 / 3, np.nan])
    assert_same(metrics.novelty(BEYOND_REC, popularity, 4, per_user=True), want)
    assert_same(metrics.novelty(BEYOND_REC, popularity, 4), 13 / 12)
    assert_same(ref.novelty(BEYOND_REC, popularity, 4, per_user=True), want)
    # popularity bias: user 0 (4 + 2) / 2 = 3, user 1 (1 + 0 + 2) / 3 = 1, mean 2
    assert_same(metrics.popularity_bias(BEYOND_REC, popularity, per_user=True),
                np.array([3.0, 1.0, np.nan]))
    assert metrics.popularity_bias(BEYOND_REC, popularity) == 2.0


HAND_SIM = np.array([[1.0, 0.5, 0.2, 0.6],  # [0, 3] = .6 but [3, 0] = 0: asymmetric
                     [0.5, 1.0, 0.4, 0.0],
                     [0.2, 0.4, 1.0, 0.0],
                     [0.0, 0.0, 0.0, 1.0]])


@pytest.mark.parametrize("form", ["dense", "csr", "coo", "fastcf_csr"])
def test_intra_list_diversity_hand_checked(form):
    # user 0, list [0, 1, 2]: pairs 1-.5, 1-.2, 1-.4 -> 1.9 / 3
    # user 1, list [3, 0]: 1 - (0 + .6) / 2 = 0.7 (both directions averaged)
    # user 2, one item: does not count
    sim = {"dense": HAND_SIM, "csr": sp.csr_matrix(HAND_SIM), "coo": sp.coo_matrix(HAND_SIM)}
    csr = sp.csr_matrix(HAND_SIM)
    sim["fastcf_csr"] = CSR(csr.indptr, csr.indices, csr.data, csr.shape)
    rec = [[0, 1, 2], [3, 0, -1], [1, -1, -1]]
    want = np.array([1.9 / 3, 0.7, np.nan])
    assert_same(metrics.intra_list_diversity(rec, sim[form], per_user=True), want)
    assert_same(metrics.intra_list_diversity(rec, sim[form]), (1.9 / 3 + 0.7) / 2)
    assert_same(ref.intra_list_diversity(rec, sim[form], per_user=True), want)
    # the order of a list does not matter
    assert_same(metrics.intra_list_diversity([[0, 3]], sim[form]), 0.7)


@pytest.mark.cython
def test_intra_list_diversity_of_a_top_k_similarity():
    rng = np.random.default_rng(1)
    pairs = np.unique(rng.integers(0, 40 * 15, size=200))
    data = fastcf.Interactions.from_arrays(pairs // 15, pairs % 15, rng.integers(1, 6, pairs.size))
    sim = fastcf.similarity(data, "cosine_all", axis="item", k=4, backend="cython")
    assert isinstance(sim, CSR)
    rng = np.random.default_rng(3)
    rec = np.stack([rng.permutation(data.n_items)[:6] for _ in range(10)])
    want = ref.intra_list_diversity(rec, sim, per_user=True)
    assert_same(metrics.intra_list_diversity(rec, sim, per_user=True), want)
    assert_same(metrics.intra_list_diversity(rec, sim.to_scipy().toarray(), per_user=True),
                want)


def test_beyond_accuracy_match_reference():
    rng, n_items, rec, _ = random_case()
    n_train_users = 50
    popularity = rng.integers(0, n_train_users + 1, size=n_items)
    popularity[:3] = [0, n_train_users, 1]
    assert_same(metrics.catalogue_coverage(rec, n_items), ref.catalogue_coverage(rec, n_items))
    for per_user in (True, False):
        assert_same(metrics.novelty(rec, popularity, n_train_users, per_user=per_user),
                    ref.novelty(rec, popularity, n_train_users, per_user=per_user))
        assert_same(metrics.popularity_bias(rec, popularity, per_user=per_user),
                    ref.popularity_bias(rec, popularity, per_user=per_user))
    dense = rng.random((n_items, n_items))
    sparse = sp.random(n_items, n_items, density=0.3, random_state=4, format="coo")
    sparse = sp.coo_matrix((np.concatenate([sparse.data, [0.25]]),  # a repeated entry
                            (np.concatenate([sparse.row, [2]]), np.concatenate([sparse.col, [7]]))),
                           shape=sparse.shape)
    csr = sparse.tocsr()
    own = CSR(csr.indptr, csr.indices, csr.data, csr.shape)
    for sim in (dense, dense.astype(np.float32), sparse, csr, own):
        for per_user in (True, False):
            assert_same(metrics.intra_list_diversity(rec, sim, per_user=per_user),
                        ref.intra_list_diversity(rec, sim, per_user=per_user))


def test_bad_beyond_accuracy_inputs():
    rec = [[0, 1], [2, -1]]
    with pytest.raises(ValueError, match=r"recommended contains item 2, must lie in \[0, 2\)"):
        metrics.catalogue_coverage(rec, 2)
    with pytest.raises(ValueError, match="n_items == 0, must be >= 1"):
        metrics.catalogue_coverage(rec, 0)
    with pytest.raises(TypeError, match="n_items must be an int"):
        metrics.catalogue_coverage(rec, 3.0)
    with pytest.raises(ValueError, match=r"item_popularity contains 5\.0 \(item 1\), must be <= "
                                         r"n_users == 4"):
        metrics.novelty(rec, [1, 5, 2], 4)
    with pytest.raises(ValueError, match=r"item_popularity contains -1 \(item 2\), must be >= 0"):
        metrics.novelty(rec, [1, 1, -1], 4)
    with pytest.raises(ValueError, match=r"item_popularity contains -1 \(item 2\)"):
        metrics.popularity_bias(rec, [1, 1, -1])
    with pytest.raises(ValueError, match="item_popularity contains 1 NaN/inf"):
        metrics.popularity_bias(rec, [1, np.inf, 1])
    with pytest.raises(ValueError, match=r"item_popularity\.ndim == 2"):
        metrics.popularity_bias(rec, [[1, 1, 1]])
    with pytest.raises(TypeError, match=r"item_popularity\.dtype == <U1"):
        metrics.popularity_bias(rec, ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"recommended contains item 2, must lie in \[0, 2\)"):
        metrics.novelty(rec, [1, 1], 4)
    with pytest.raises(ValueError, match="n_users == 0, must be >= 1"):
        metrics.novelty(rec, [0, 0, 0], 0)
    with pytest.raises(ValueError, match=r"item_similarity\.shape == \(3, 4\), must be square"):
        metrics.intra_list_diversity(rec, np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"item_similarity\.shape == \(3, 4\), must be square"):
        metrics.intra_list_diversity(rec, sp.csr_matrix((3, 4)))
    with pytest.raises(ValueError, match="item_similarity contains 1 NaN/inf"):
        metrics.intra_list_diversity(rec, np.diag([1.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match=r"item_similarity\.data contains 1 NaN/inf"):
        metrics.intra_list_diversity(rec, sp.csr_matrix(np.diag([1.0, np.nan, 1.0])))
    with pytest.raises(TypeError, match=r"item_similarity\.dtype == bool"):
        metrics.intra_list_diversity(rec, np.eye(3, dtype=bool))
    with pytest.raises(ValueError, match=r"recommended contains item 2, must lie in \[0, 2\)"):
        metrics.intra_list_diversity(rec, np.eye(2))
    with pytest.raises(ValueError, match=r"item_similarity\.data must be 1-d"):
        metrics.intra_list_diversity(rec, CSR(np.array([0, 1, 1, 1]), np.array([0]),
                                              np.ones(2), (3, 3)))


def test_blocks_of_users_give_the_same_answer(monkeypatch):
    rng, n_items, rec, _ = random_case()
    sim = rng.random((n_items, n_items))
    want = ref.intra_list_diversity(rec, sim, per_user=True)
    monkeypatch.setattr(beyond_accuracy, "METRIC_BLOCK_ENTRIES", 3 * rec.shape[1] ** 2 + 1)
    assert_same(metrics.intra_list_diversity(rec, sim, per_user=True), want)
