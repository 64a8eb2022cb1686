"""TF-IDF / BM25 weighting (fastcf.weighting) and ItemKNN with implicit's item-item
weightings: a hand-worked example, implicit itself (skipped without it), bad input.

The hand-worked example, users u0..u3 rating items a..e (user_items)::

    u0: a 2
    u1: a 1, b 1
    u2: b 3, c 1, d 1
    u3: a 1, c 2, e 1

The weighted matrix is items x users (implicit weights ``user_items.T``): N = 5 items;
each user's entry count d_u = 1, 2, 3, 3, so idf_u = log 5 - log(1 + d_u) =
log 2.5, log(5/3), log(5/4), log(5/4); item row sums L = a 4, b 4, c 3, d 1, e 1,
mean 13/5.
"""

import math

import numpy as np
import pytest
import scipy.sparse as sp

import fastcf
from fastcf import Interactions, ItemKNN
from fastcf.weighting import bm25_weight, tfidf_weight

RATINGS = {"u0": {"a": 2.0}, "u1": {"a": 1.0, "b": 1.0},
           "u2": {"b": 3.0, "c": 1.0, "d": 1.0}, "u3": {"a": 1.0, "c": 2.0, "e": 1.0}}
USERS, ITEMS = ["u0", "u1", "u2", "u3"], ["a", "b", "c", "d", "e"]
IDF = {"u0": math.log(2.5), "u1": math.log(5 / 3), "u2": math.log(5 / 4), "u3": math.log(5 / 4)}
LENGTH = {"a": 4.0, "b": 4.0, "c": 3.0, "d": 1.0, "e": 1.0}
MEAN_LENGTH = 13 / 5


def _entries():
    return [(i, u, r) for u in USERS for i, r in RATINGS[u].items()]


def _bm25(i, u, r, k1=1.2, b=0.75):
    return r * (k1 + 1) / (k1 * (1 - b + b * LENGTH[i] / MEAN_LENGTH) + r) * IDF[u]


def _tfidf(i, u, r):
    return math.sqrt(r) * IDF[u]


def _item_users():
    """The items x users CSR of the example (rows a..e, columns u0..u3)."""
    rows, cols, vals = zip(*[(ITEMS.index(i), USERS.index(u), r) for i, u, r in _entries()])
    return sp.csr_matrix((vals, (rows, cols)), shape=(5, 4))


@pytest.fixture(scope="module")
def data():
    users, items, ratings = zip(*[(u, i, r) for i, u, r in _entries()])
    return Interactions.from_arrays(np.array(users), np.array(items), np.array(ratings))


def _hand_weights(fn, **options):
    return {(i, u): fn(i, u, r, **options) for i, u, r in _entries()}


def _similarity(weights, i, j, cosine):
    dot = sum(w * weights.get((j, u), 0.0) for (item, u), w in weights.items() if item == i)
    if not cosine:
        return dot
    norm = {x: math.sqrt(sum(w * w for (item, _), w in weights.items() if item == x))
            for x in (i, j)}
    return dot / (norm[i] * norm[j])


@pytest.mark.parametrize("fn, hand, options", [
    (tfidf_weight, _tfidf, {}), (bm25_weight, _bm25, {}),
    (bm25_weight, _bm25, {"K1": 3.0, "B": 0.2})])
def test_weights_by_hand(fn, hand, options):
    x = _item_users()
    before = x.copy()
    got = fn(x, **options).toarray()
    hand_options = {"k1": options["K1"], "b": options["B"]} if options else {}
    for (i, u), w in _hand_weights(hand, **hand_options).items():
        assert got[ITEMS.index(i), USERS.index(u)] == pytest.approx(w, rel=1e-14)
    assert np.count_nonzero(got) == x.nnz
    assert (x != before).nnz == 0  # the input is left as it was


@pytest.mark.parametrize("options, hand, cosine", [
    ({"similarity": "cosine_all", "weighting": "tfidf"}, _tfidf, True),
    ({"similarity": "dot", "weighting": "bm25"}, _bm25, False),
    ({"similarity": "cosine_all"}, lambda i, u, r: r, True)])
def test_itemknn_similarities_and_scores_by_hand(data, options, hand, cosine):
    model = ItemKNN(k=4, **options).fit(data)
    weights = _hand_weights(hand)
    lists = model._rank_lists().toarray()
    for i in ITEMS:
        for j in ITEMS:
            if i != j:
                want = max(_similarity(weights, i, j, cosine), 0.0)
                assert lists[model.item_index([i])[0], model.item_index([j])[0]] == \
                    pytest.approx(want, rel=1e-12, abs=1e-15)
    # u1 rated a and b: score(j) = 1 * s(a, j) + 1 * s(b, j) over the original ratings
    items, scores = model.recommend(["u1"], 3)
    want = {j: _similarity(weights, "a", j, cosine) + _similarity(weights, "b", j, cosine)
            for j in ("c", "d", "e")}
    assert list(items[0]) == sorted(want, key=lambda j: -want[j])
    np.testing.assert_allclose(scores[0], sorted(want.values(), reverse=True), rtol=1e-12)


def test_dot_list_holds_k_plus_one_where_the_item_is_outranked():
    # b's BM25 dot with c (3.0 * 1.0 weights over u2 and u3 ...) against b's own norm:
    # implicit's all_pairs_knn keeps K = k + 1 counting the item itself
    x = sp.csr_matrix(np.array([[1.0, 0, 0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0],
                                [1.0, 1.0, 1.0]]))  # users x items
    d = Interactions.from_csr(x)
    model = ItemKNN(k=1, similarity="dot").fit(d)
    # item 0: self 4, neighbours 1 and 2 at 3 -> self in its top 2: one neighbour
    # item 1: self 3, item 0 at 3 (tie: self first), item 2 at 3 -> one neighbour
    assert np.diff(model._rank_lists().indptr).tolist() == [1, 1, 1]
    heavy = Interactions.from_csr(sp.csr_matrix(np.array([[5.0, 1.0, 0], [5.0, 0, 1.0]])))
    lists = ItemKNN(k=1, similarity="dot").fit(heavy)._rank_lists()
    # item 1: self 1 < s(1, 0) = 5 and s(1, 2) = 0 is absent: k + 1 = 2 slots, one filled
    assert lists[1].indices.tolist() == [0]
    # item 0: self 50 > 5, 5: one neighbour (ties: lower index)
    assert lists[0].indices.tolist() == [1]


@pytest.mark.parametrize("options, peer", [
    ({"similarity": "cosine_all"}, "CosineRecommender"),
    ({"similarity": "cosine_all", "weighting": "tfidf"}, "TFIDFRecommender"),
    ({"similarity": "dot", "weighting": "bm25"}, "BM25Recommender"),
    ({"similarity": "dot", "weighting": "bm25", "bm25_k1": 2.0, "bm25_b": 0.5},
     "BM25Recommender")])
@pytest.mark.parametrize("max_neighbors", [None, 8])
def test_itemknn_equals_implicit(options, peer, max_neighbors):
    nn = pytest.importorskip("implicit.nearest_neighbours")
    data = fastcf.make_ratings(150, 60, 1500, seed=3)
    user_items = sp.csr_matrix((data.by_user.data.astype(np.float64), data.by_user.indices,
                                data.by_user.indptr), shape=(data.n_users, data.n_items))
    k = 6
    extra = {"K1": options["bm25_k1"], "B": options["bm25_b"]} if "bm25_k1" in options else {}
    implicit_model = getattr(nn, peer)(K=k + 1, num_threads=1, **extra)
    implicit_model.fit(user_items, show_progress=False)
    model = ItemKNN(k=k, max_neighbors=max_neighbors, **options).fit(data)
    # internal item j is implicit's column j: make_ratings' ids are 0..n-1 in order
    assert np.array_equal(data.item_ids, np.arange(data.n_items))
    want = implicit_model.similarity.toarray()
    np.fill_diagonal(want, 0.0)
    np.testing.assert_allclose(model._rank_lists().toarray(), want, rtol=1e-12, atol=1e-13)
    users = np.arange(data.n_users)
    ids, want_scores = implicit_model.recommend(users, user_items, N=10)
    items, scores = model.recommend(data.user_ids, 10)
    # implicit pads a list shorter than N with -FLT_MAX and lists the user's own items at
    # 0 (it zeroes their sums); fastcf's has some item scored 0 there: scores > 0 count
    reached = want_scores > -1e38
    assert 0 < (~reached).sum() < 0.05 * reached.size
    np.testing.assert_allclose(scores[reached], want_scores[reached], rtol=1e-12)
    assert np.all(scores[~reached] == 0)
    # the same items wherever the score is not tied with another's
    got = model.item_index(items.ravel()).reshape(items.shape)
    tied = np.zeros(scores.shape, dtype=bool)
    tied[:, 1:] |= np.isclose(scores[:, 1:], scores[:, :-1], rtol=1e-12)
    tied[:, :-1] |= tied[:, 1:].copy()
    scored = want_scores > 0
    assert np.array_equal(got[~tied & scored], ids[~tied & scored])


def test_weighting_leaves_predict_a_weighted_average_of_the_ratings(data):
    plain = ItemKNN(k=4, similarity="dot").fit(data)
    weighted = ItemKNN(k=4, similarity="dot", weighting="bm25").fit(data)
    u, i = np.array(["u1", "u2"]), np.array(["c", "a"])
    assert not np.array_equal(plain.predict(u, i), weighted.predict(u, i))
    lo, hi = data.rating_range
    assert np.all((weighted.predict(u, i) >= lo) & (weighted.predict(u, i) <= hi))


def test_weighted_model_save_load_and_fold_in(data, tmp_path):
    model = fastcf.UserKNN(k=2, similarity="cosine_all", weighting="tfidf").fit(data)
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = fastcf.load(path)
    assert loaded.get_params()["weighting"] == "tfidf"
    for a, b in zip(loaded.recommend(USERS, 2), model.recommend(USERS, 2)):
        np.testing.assert_array_equal(a, b)
    # a new user with u3's ratings is weighted with the training statistics, as u3 is
    np.testing.assert_allclose(model.predict_new(RATINGS["u3"], ["b"]),
                               model.predict(["u3"], ["b"]))


@pytest.mark.parametrize("options, error, match", [
    ({"weighting": "bm25"}, ValueError, r"weighting == 'bm25' needs similarity in"),
    ({"similarity": "dot", "weighting": "idf"}, ValueError, r"weighting == 'idf', must be"),
    ({"similarity": "dot", "weighting": "bm25", "bm25_b": 1.5}, ValueError,
     r"bm25_b == 1.5, must be <= 1.0"),
    ({"similarity": "dot", "weighting": "bm25", "bm25_k1": -1}, ValueError,
     r"bm25_k1 == -1.0, must be >= 0.0"),
    ({"similarity": "dot", "bm25_k1": "1"}, TypeError, r"bm25_k1 must be a real number"),
    ({"rank_shrinkage": -1.0}, ValueError, r"rank_shrinkage == -1.0, must be >= 0.0"),
    ({"similarity": "cos"}, ValueError, r"similarity == 'cos', must be one of")])
def test_bad_parameters(data, options, error, match):
    with pytest.raises(error, match=match):
        ItemKNN(**options).fit(data)


def test_negative_ratings_refused_by_a_weighting():
    d = Interactions.from_arrays(np.array([0, 0, 1]), np.array([0, 1, 1]),
                                 np.array([1.0, -2.0, 3.0]))
    with pytest.raises(ValueError, match=r"weighting == 'tfidf' needs ratings >= 0; this data "
                                         r"holds 1 negative"):
        ItemKNN(similarity="cosine_all", weighting="tfidf").fit(d)
    ItemKNN(similarity="cosine_all").fit(d)  # without a weighting they are fine


def test_bad_input_of_the_public_functions():
    x = _item_users()
    with pytest.raises(TypeError, match=r"x must be a scipy sparse CSR matrix, got ndarray"):
        tfidf_weight(x.toarray())
    with pytest.raises(TypeError, match=r"x is a scipy COO matrix; pass a CSR one"):
        bm25_weight(x.tocoo())
    negative = x.copy()
    negative.data[0] = -1.0
    with pytest.raises(ValueError, match=r"x holds 1 negative values; tfidf weighting needs"):
        tfidf_weight(negative)
    with pytest.raises(ValueError, match=r"bm25_b == -0.1, must be >= 0.0"):
        bm25_weight(x, B=-0.1)
    bad = x.copy()
    bad.data[1] = np.nan
    with pytest.raises(ValueError, match=r"data contain 1 NaN/inf values"):
        bm25_weight(bad)


def test_edge_cases_are_finite():
    # a column held by every row: negative idf (implicit's too); K1 = 0 with a stored 0
    x = sp.csr_matrix((np.array([1.0, 0.0, 2.0]), np.array([0, 0, 1]), np.array([0, 1, 3])),
                      shape=(2, 2))
    for w in (bm25_weight(x, K1=0.0), tfidf_weight(x), bm25_weight(x, B=1.0)):
        assert np.all(np.isfinite(w.data))
    assert bm25_weight(x).data[0] == pytest.approx(2.2 / (1.2 * (0.25 + 0.75 * 1 / 1.5) + 1)
                                                   * (math.log(2) - math.log(3)))
    zeros = sp.csr_matrix((np.zeros(2), np.array([0, 1]), np.array([0, 1, 2])), shape=(2, 2))
    assert np.array_equal(bm25_weight(zeros).data, [0.0, 0.0])
