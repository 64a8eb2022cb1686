"""evaluate / cross_validate: the protocol against a by-hand computation with the references;
the sampled-negatives protocol (sampled_candidates, sampled_hit_rate_ndcg)."""

import numpy as np
import pandas as pd
import pytest

import fastcf
from fastcf import _config, evaluation
from fastcf.evaluation import (
    METRICS,
    cross_validate,
    evaluate,
    sampled_candidates,
    sampled_hit_rate_ndcg,
)
from fastcf.reference import metrics as ref
from fastcf.split import kfold, random_split


@pytest.fixture(scope="module")
def data():
    return fastcf.make_ratings(120, 90, 2500, seed=3)


@pytest.fixture(scope="module")
def split(data):
    train, test = random_split(data, 0.25, seed=1)
    # a test-only user and an item train never saw, to exercise both rules
    extra = pd.DataFrame({"user": [10_000, 10_000, int(test.user_ids[0])],
                          "item": [int(train.item_ids[0]), 20_000, 20_000],
                          "rating": [4.0, 3.0, 5.0]})
    frame = pd.concat([test.to_frame()[["user", "item", "rating"]], extra], ignore_index=True)
    return train, fastcf.Interactions.from_frame(frame, rating="rating")


def by_hand(model, train, test, k, threshold=None):
    """The protocol of evaluation's docstring, one user at a time with the references."""
    frame = test.to_frame()
    known_users = [u for u in dict.fromkeys(sorted(frame["user"])) if u in set(train.user_ids)]
    relevant, lists = [], []
    for user in known_users:
        rows = frame[frame["user"] == user]
        if threshold is not None:
            rows = rows[rows["rating"] >= threshold]
        # items train never saw: ids past n_items, one per distinct item
        unseen = sorted(set(rows["item"]) - set(train.item_ids))
        relevant.append([int(train.item_index([i])[0]) if i in set(train.item_ids)
                         else train.n_items + 1000 + unseen.index(i) for i in rows["item"]])
        items, scores = model.recommend([user], k)
        lists.append([int(train.item_index([i])[0]) if np.isfinite(s) else -1
                      for i, s in zip(items[0], scores[0])])
    return np.array(lists, dtype=np.int64), relevant


@pytest.mark.parametrize("make", [
    lambda: fastcf.BaselineOnly(),
    lambda: fastcf.ItemKNN(k=20, similarity="cosine_all"),
    lambda: fastcf.MatrixFactorization(factors=8, epochs=3),
], ids=["baseline", "itemknn", "mf"])
def test_evaluate_equals_the_protocol_by_hand(make, split):
    train, test = split
    k = 5
    model = make()
    result = evaluate(model, train, test, k=k)
    assert list(result.index) == [*METRICS, "fit_s", "predict_s", "recommend_s", "n_test",
                                  "n_users"]
    frame = test.to_frame()
    pred = model.predict(frame["user"].to_numpy(), frame["item"].to_numpy())
    assert result["rmse"] == pytest.approx(np.sqrt(np.mean((frame["rating"] - pred) ** 2)))
    lists, relevant = by_hand(model, train, test, k)
    assert result["n_users"] == len(lists) == test.n_users - 1  # the test-only user
    for name, fn in [("precision", ref.precision_at_k), ("recall", ref.recall_at_k),
                     ("ndcg", ref.ndcg_at_k), ("map", ref.map_at_k),
                     ("hit_rate", ref.hit_rate_at_k)]:
        assert result[name] == pytest.approx(fn(lists, relevant, k), rel=1e-12), name
    assert result["mrr"] == pytest.approx(ref.mrr(lists, relevant, k), rel=1e-12)
    popularity = np.diff(train.by_item.indptr)
    assert result["coverage"] == pytest.approx(ref.catalogue_coverage(lists, train.n_items))
    assert result["novelty"] == pytest.approx(ref.novelty(lists, popularity, train.n_users))
    assert result["popularity"] == pytest.approx(ref.popularity_bias(lists, popularity))
    dense = train.by_item.to_scipy().toarray()
    norms = np.linalg.norm(dense, axis=1)
    cosine = dense @ dense.T / np.outer(norms, norms)
    assert result["diversity"] == pytest.approx(ref.intra_list_diversity(lists, cosine))
    # full-ranking AUC over the known items, training items excluded
    users = train.user_index([u for u in sorted(set(frame["user"])) if u in set(train.user_ids)])
    scores = model._score_block(users)
    known = [[i for i in rel if i < train.n_items] for rel in relevant]
    seen = [train.by_user.indices[train.by_user.indptr[u]:train.by_user.indptr[u + 1]]
            for u in users]
    assert result["auc"] == pytest.approx(ref.auc(scores, known, exclude=seen), rel=1e-12)


def test_relevance_threshold_keeps_only_high_ratings(split):
    train, test = split
    model = fastcf.BaselineOnly()
    result = evaluate(model, train, test, ["precision", "recall"], k=10, relevance_threshold=4)
    lists, relevant = by_hand(model, train, test, 10, threshold=4)
    assert result["recall"] == pytest.approx(ref.recall_at_k(lists, relevant, 10), rel=1e-12)


def test_implicit_models_skip_rating_metrics(split):
    train, test = split
    result = evaluate(fastcf.NeuMF(epochs=1, factors=4, embedding_dim=4, hidden=(8,)), train,
                      test)
    assert "rmse" not in result and "mae" not in result
    assert 0.0 <= result["ndcg"] <= 1.0


# ------------------------------------------------------------------ implicit data
def _implicit(data):
    """``data`` without its rating column."""
    return fastcf.Interactions.from_frame(data.to_frame()[["user", "item"]])


@pytest.fixture(scope="module")
def implicit_split(split):
    return _implicit(split[0]), _implicit(split[1])


def test_implicit_data_gets_the_ranking_metrics(implicit_split):
    """The issue's example: it used to end in KeyError: 'rating'."""
    train, test = implicit_split
    model = fastcf.ItemKNN(similarity="cosine_all")
    result = evaluate(model, train, test, k=10, metrics=["ndcg", "precision"])
    assert list(result.index[:2]) == ["ndcg", "precision"]
    lists, relevant = by_hand(model, train, test, 10)
    assert result["ndcg"] == pytest.approx(ref.ndcg_at_k(lists, relevant, 10), rel=1e-12)
    assert result["precision"] == pytest.approx(ref.precision_at_k(lists, relevant, 10),
                                                rel=1e-12)
    default = evaluate(fastcf.ItemKNN(similarity="cosine_all"), train, test, k=10)
    assert list(default.index) == [*evaluation.RANKING_METRICS,
                                   *evaluation.BEYOND_ACCURACY_METRICS, "fit_s", "predict_s",
                                   "recommend_s", "n_test", "n_users"]
    assert default["ndcg"] == result["ndcg"] and np.isfinite(default["auc"])


@pytest.mark.parametrize("sides", ["implicit train", "implicit test"])
def test_a_mixed_split_skips_the_rating_metrics(split, implicit_split, sides):
    train, test = (implicit_split[0], split[1]) if sides == "implicit train" else \
        (split[0], implicit_split[1])
    model = fastcf.ItemKNN(k=20, similarity="cosine_all")
    result = evaluate(model, train, test, k=5)
    assert "rmse" not in result and "mae" not in result
    lists, relevant = by_hand(model, train, test, 5)
    assert result["recall"] == pytest.approx(ref.recall_at_k(lists, relevant, 5), rel=1e-12)
    which = sides.split()[1]
    with pytest.raises(ValueError, match=f"rmse needs ratings, but {which} is implicit"):
        evaluate(model, train, test, ["ndcg", "rmse"])


def test_explicit_data_keeps_the_rating_metrics(split):
    result = evaluate(fastcf.ItemKNN(k=20, similarity="cosine_all"), *split, ["rmse", "ndcg"])
    assert np.isfinite(result["rmse"]) and list(result.index[:2]) == ["rmse", "ndcg"]


@pytest.mark.parametrize("call, match", [
    (lambda s: evaluate(fastcf.NeuMF(epochs=1), *s, ["rmse", "mae", "ndcg"]),
     r"rmse, mae need predicted ratings, but NeuMF predicts ranking scores \(predicts_ratings"),
    (lambda s: evaluate(fastcf.ItemKNN(similarity="cosine_all"), s[0], _implicit(s[1]),
                        relevance_threshold=4), "relevance_threshold needs ratings, but test"),
    (lambda s: cross_validate(fastcf.ItemKNN(similarity="cosine_all"), _implicit(s[0]),
                              folds=2, metrics=["mae"]), "mae needs ratings, but test is"),
])
def test_rating_metrics_are_refused_where_they_mean_nothing(split, call, match):
    with pytest.raises(ValueError, match=match):
        call(split)


def test_cross_validate_on_implicit_data(implicit_split):
    data = implicit_split[0]
    table = cross_validate(fastcf.ItemKNN(k=20, similarity="cosine_all"), data, folds=2,
                           seed=2)
    assert "rmse" not in table and list(table.index) == ["fold 1", "fold 2", "mean", "std"]
    assert (table.loc[["fold 1", "fold 2"], "ndcg"] > 0).all()


def test_diversity_is_nan_past_its_budget(split, monkeypatch):
    monkeypatch.setattr(evaluation, "DIVERSITY_MAX_CELLS", 4)
    result = evaluate(fastcf.BaselineOnly(), *split, ["diversity", "coverage"])
    assert np.isnan(result["diversity"]) and result["coverage"] > 0


def test_cross_validate_is_evaluate_per_fold(data):
    make = lambda: fastcf.MatrixFactorization(factors=4, epochs=2)  # noqa: E731
    table = cross_validate(make, data, folds=3, metrics=["rmse", "ndcg"], seed=5)
    assert list(table.index) == ["fold 1", "fold 2", "fold 3", "mean", "std"]
    for f, (train, test) in enumerate(kfold(data, 3, seed=5)):
        alone = evaluate(make(), train, test, ["rmse", "ndcg"])
        assert table.loc[f"fold {f + 1}", "rmse"] == pytest.approx(alone["rmse"], rel=1e-12)
    assert table.loc["mean", "rmse"] == pytest.approx(table.iloc[:3]["rmse"].mean())
    assert table.loc["std", "rmse"] == pytest.approx(table.iloc[:3]["rmse"].std(ddof=1))
    # an estimator is copied by its parameters, a split callable replaces kfold
    same = cross_validate(make(), data, metrics=["rmse"],
                          split=lambda d: kfold(d, 3, seed=5))
    assert np.allclose(same["rmse"].iloc[:3], table["rmse"].iloc[:3], rtol=1e-12)


@pytest.mark.parametrize("call, error, match", [
    (lambda s: evaluate("model", *s), TypeError, "fastcf estimator"),
    (lambda s: evaluate(fastcf.BaselineOnly(), s[0].to_frame(), s[1]), TypeError,
     "train must be an Interactions"),
    (lambda s: evaluate(fastcf.BaselineOnly(), *s, ["rsme"]), ValueError, "rsme"),
    (lambda s: evaluate(fastcf.BaselineOnly(), *s, []), ValueError, "metrics is empty"),
    (lambda s: evaluate(fastcf.BaselineOnly(), *s, k=0), ValueError, "k == 0"),
    (lambda s: evaluate(fastcf.BaselineOnly(), *s, relevance_threshold=np.nan), ValueError,
     "relevance_threshold"),
    (lambda s: cross_validate(lambda: "x", s[0]), TypeError, "must return a fastcf estimator"),
    (lambda s: cross_validate(fastcf.BaselineOnly(), s[0], folds=1), ValueError, "folds"),
    (lambda s: cross_validate(fastcf.BaselineOnly(), s[0], split="users"), ValueError, "split"),
    (lambda s: cross_validate(fastcf.BaselineOnly(), s[0], split=3), TypeError, "split"),
    (lambda s: cross_validate(fastcf.BaselineOnly(), s[0], split=lambda d: []), ValueError,
     "no \\(train, test\\) pair"),
])
def test_bad_arguments(split, call, error, match):
    with pytest.raises(error, match=match):
        call(split)


# --------------------------------------------------------------- sampled protocol
class _FixedScores:
    """A stand-in model whose score of a pair is ``sign`` x the item's id."""

    def __init__(self, sign):
        self.sign = sign

    def predict(self, users, items):
        return self.sign * np.asarray(items, dtype=np.float64)


def test_sampled_metrics_on_hand_checked_rankings():
    # user 0 has items 5..20 in train and item 0 in test, so its negatives come from
    # items 1..4 (user 1 brings items 0..4 into the catalogue)
    train = fastcf.Interactions.from_arrays([0] * 16 + [1] * 5,
                                            list(range(5, 21)) + [0, 1, 2, 3, 4])
    test = fastcf.Interactions.from_arrays([0], [0])
    # the test item scores highest against every negative: rank 0
    assert sampled_hit_rate_ndcg(_FixedScores(-1.0), train, test, k=1, n_negatives=3) == \
        (1.0, 1.0)
    # lowest: every negative (items 1..4 are the user's free ones) ranks above it
    hr, ndcg = sampled_hit_rate_ndcg(_FixedScores(1.0), train, test, k=3, n_negatives=3)
    assert (hr, ndcg) == (0.0, 0.0)
    hr, ndcg = sampled_hit_rate_ndcg(_FixedScores(1.0), train, test, k=4, n_negatives=3)
    assert hr == 1.0 and ndcg == pytest.approx(1 / np.log2(3 + 2))
    with pytest.raises(ValueError, match="k == 0, must be >= 1"):
        sampled_hit_rate_ndcg(_FixedScores(1.0), train, test, k=0)


def test_sampled_candidates_avoid_every_known_item_and_are_seeded(split):
    train, test = split
    users, candidates = sampled_candidates(train, test, n_negatives=7, seed=3)
    frame = test.to_frame()
    known = (np.isin(frame["user"], train.user_ids) & np.isin(frame["item"], train.item_ids))
    assert users.dtype == candidates.dtype == np.int64
    assert candidates.shape == (int(known.sum()), 8)
    np.testing.assert_array_equal(train.user_ids[users], frame["user"].to_numpy()[known])
    np.testing.assert_array_equal(train.item_ids[candidates[:, 0]],
                                  frame["item"].to_numpy()[known])
    test_items = {}
    for user, item in zip(frame["user"], frame["item"]):
        test_items.setdefault(user, set()).add(item)
    by_user = train.by_user
    for user, row in zip(users, candidates):
        seen = set(train.item_ids[by_user.indices[by_user.indptr[user]:by_user.indptr[user + 1]]])
        negatives = set(train.item_ids[row[1:]])
        assert not negatives & (seen | test_items[train.user_ids[user]])
    again = sampled_candidates(train, test, n_negatives=7, seed=3)
    np.testing.assert_array_equal(again[1], candidates)
    assert not np.array_equal(sampled_candidates(train, test, n_negatives=7, seed=4)[1],
                              candidates)


def test_sampled_hit_rate_ndcg_scores_the_candidates_with_the_model(split):
    train, test = split
    model = fastcf.BaselineOnly().fit(train)
    users, candidates = sampled_candidates(train, test, n_negatives=20, seed=0)
    scores = model.predict(train.user_ids[np.repeat(users, 21)],
                           train.item_ids[candidates.ravel()]).reshape(candidates.shape)
    want = fastcf.metrics.hit_rate_ndcg_of_candidates(scores, 5)
    assert sampled_hit_rate_ndcg(model, train, test, k=5, n_negatives=20, seed=0) == want


@pytest.mark.parametrize("call, error, match", [
    (lambda s: sampled_candidates(s[0].to_frame(), s[1]), TypeError,
     "train must be an Interactions"),
    (lambda s: sampled_candidates(s[0], "test"), TypeError, "test must be an Interactions"),
    (lambda s: sampled_candidates(*s, n_negatives=0), ValueError,
     "n_negatives == 0, must be >= 1"),
    (lambda s: sampled_candidates(*s, n_negatives=2.5), TypeError,
     "n_negatives must be an int, got float"),
    (lambda s: sampled_candidates(s[0], fastcf.Interactions.from_arrays([10**6], [10**6])),
     ValueError, "no test pair has a user and an item known to train"),
    (lambda s: sampled_hit_rate_ndcg(fastcf.BaselineOnly().fit(s[0]), *s, k=0), ValueError,
     "k == 0, must be >= 1"),
    (lambda s: sampled_hit_rate_ndcg(fastcf.BaselineOnly().fit(s[0]), *s, n_negatives=-1),
     ValueError, "n_negatives == -1, must be >= 1"),
])
def test_bad_sampled_arguments(split, call, error, match):
    with pytest.raises(error, match=match):
        call(split)


def test_a_test_user_with_every_item_is_refused():
    train = fastcf.Interactions.from_arrays([0, 0, 1], [0, 1, 2])
    test = fastcf.Interactions.from_arrays([0], [2])
    with pytest.raises(ValueError, match="interacted with every item: nothing to sample"):
        sampled_candidates(train, test, n_negatives=1)


def test_candidate_lists_past_the_memory_limit_are_refused_before_allocating(split,
                                                                             monkeypatch):
    train, test = split
    with pytest.raises(ValueError, match=r"n_negatives == 1000000000000: the candidate lists "
                                         r"of [\d,]+ test pairs would need [\d.,]+ [KMGT]iB"):
        sampled_candidates(train, test, n_negatives=10**12)
    monkeypatch.setattr(_config, "MEMORY_LIMIT", 1024**2)  # 1 MiB
    with pytest.raises(ValueError, match=r"more than the 1\.0 MiB of memory here; lower "
                                         "n_negatives"):
        sampled_hit_rate_ndcg(fastcf.BaselineOnly().fit(train), train, test, n_negatives=5_000)
    users, candidates = sampled_candidates(train, test, n_negatives=10)  # well below: runs
    assert candidates.shape == (len(users), 11)
