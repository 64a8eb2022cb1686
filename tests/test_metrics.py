"""Ranking and beyond-accuracy metrics: hand-checked values, parity with the reference
twins on seeded random inputs, and every error branch."""

import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import rankdata

import fastcf
from fastcf import metrics
from fastcf.data import CSR
from fastcf.reference import metrics as ref

RANKING = ["precision_at_k", "recall_at_k", "hit_rate_at_k", "ndcg_at_k", "map_at_k", "mrr"]
L2 = 1.0 / math.log2(3)  # discount of position 1
L3 = 1.0 / math.log2(4)  # discount of position 2 (= 0.5)


# ----------------------------------------------------------------------------- helpers
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


# ------------------------------------------------------------------------- hand-checked
# user 0: list [0, 1, 2, 3], relevant {1, 3, 5}; user 1: list [4, 5] (padded), relevant {4};
# user 2: list [2, 0, 1, 5], no relevant item (does not count). With k = 3:
#   user 0: top-3 [0, 1, 2], one hit at position 1
#     P = 1/3, R = 1/3, HR = 1, DCG = 1/log2(3), IDCG = 1 + 1/log2(3) + 1/log2(4),
#     AP = (1/min(3, 3)) * P@2 = 1/3 * 1/2 = 1/6, RR (whole list) = 1/2
#   user 1: top-3 [4, 5], hit at position 0
#     P = 1/3, R = 1, HR = 1, NDCG = 1/1, AP = 1/min(3, 1) * 1 = 1, RR = 1
HAND_REC = np.array([[0, 1, 2, 3], [4, 5, -1, -1], [2, 0, 1, 5]])
HAND_REL = [[1, 3, 5, 5], [4], []]  # the repeated 5 counts once
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


def test_sampled_auc_of_candidates_hand_checked():
    # row 0: positive .5 vs (.1, .5, .9): 1 + 0.5 + 0 over 3 = 0.5; row 1: 1.0; mean 0.75
    scores = [[0.5, 0.1, 0.5, 0.9], [1.0, 0.0, 0.0, 0.0]]
    assert metrics.sampled_auc_of_candidates(scores) == 0.75
    assert ref.sampled_auc_of_candidates(scores) == 0.75


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


# -------------------------------------------------------------------------- random parity
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


@pytest.fixture(scope="module")
def random_case():
    rng = np.random.default_rng(20240607)
    n_users, n_items, length = 60, 25, 12
    rec = random_lists(rng, n_users, n_items, length)
    relevant = random_relevant(rng, n_users, n_items)
    # relevant also recommended often enough to give hits at many positions
    for u in range(0, n_users, 2):
        if relevant[u].size and (rec[u] >= 0).sum() > 3:
            relevant[u] = np.append(relevant[u], rec[u, rng.integers(0, 3)])
    return rng, n_items, rec, relevant


@pytest.mark.parametrize("form", ["list", "coo", "csr", "fastcf_csr"])
@pytest.mark.parametrize("k", [1, 3, 12, 20])
@pytest.mark.parametrize("name", RANKING)
def test_ranking_matches_reference(random_case, name, k, form):
    _, n_items, rec, lists = random_case
    relevant = as_forms(lists, n_items)[form]
    fast, slow = getattr(metrics, name), getattr(ref, name)
    for kwargs in ({"k": k}, {}) if name == "mrr" else ({"k": k},):
        want = slow(rec, relevant, per_user=True, **kwargs)
        assert np.isfinite(want).sum() > 30
        assert_same(fast(rec, relevant, per_user=True, **kwargs), want)
        assert_same(fast(rec, relevant, **kwargs), slow(rec, relevant, **kwargs))


@pytest.mark.parametrize("form", ["list", "csr", "fastcf_csr"])
def test_auc_matches_reference(random_case, form):
    rng, n_items, _, lists = random_case
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


def test_average_ranks_match_scipy(random_case):
    rng = random_case[0]
    scores = rng.integers(0, 4, size=(20, 15)).astype(np.float64)
    np.testing.assert_array_equal(metrics._average_ranks(scores),
                                  rankdata(scores, axis=1, method="average"))


def test_sampled_auc_matches_reference(random_case):
    rng = random_case[0]
    scores = rng.integers(0, 5, size=(30, 8)).astype(np.float64)
    assert_same(metrics.sampled_auc_of_candidates(scores), ref.sampled_auc_of_candidates(scores))


def test_beyond_accuracy_match_reference(random_case):
    rng, n_items, rec, _ = random_case
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


# ------------------------------------------------------------------------------ edge cases
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


def test_zero_users_and_zero_length_lists():
    with pytest.warns(RuntimeWarning):
        assert math.isnan(metrics.precision_at_k(np.zeros((0, 5), dtype=int), []))
    rec = np.zeros((2, 0), dtype=np.int64)
    assert_same(metrics.ndcg_at_k(rec, [[1], [2]], per_user=True), np.array([0.0, 0.0]))
    assert metrics.mrr(rec, [[1], [2]]) == 0.0


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


def test_bad_sampled_auc_inputs():
    with pytest.raises(ValueError, match=r"scores\.shape\[1\] == 1, must be >= 2"):
        metrics.sampled_auc_of_candidates(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="scores has 0 rows"):
        metrics.sampled_auc_of_candidates(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="scores contains 1 NaN/inf"):
        metrics.sampled_auc_of_candidates([[1.0, np.nan]])
    with pytest.raises(ValueError, match=r"scores\.ndim == 1"):
        metrics.sampled_auc_of_candidates([1.0, 0.0])


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


def test_blocks_of_users_give_the_same_answer(random_case, monkeypatch):
    rng, n_items, rec, lists = random_case
    scores = rng.integers(0, 6, size=(len(lists), n_items)) / 4.0
    exclude = [rng.integers(0, n_items, size=3) for _ in lists]
    sim = rng.random((n_items, n_items))
    want_auc = ref.auc(scores, lists, exclude=exclude, per_user=True)
    want_ild = ref.intra_list_diversity(rec, sim, per_user=True)
    monkeypatch.setattr(metrics, "METRIC_BLOCK_ENTRIES", 3 * max(n_items, rec.shape[1] ** 2) + 1)
    assert_same(metrics.auc(scores, lists, exclude=exclude, per_user=True), want_auc)
    assert_same(metrics.intra_list_diversity(rec, sim, per_user=True), want_ild)
