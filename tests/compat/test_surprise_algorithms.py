"""The algorithms of fastcf.compat.surprise: Surprise's behaviour on fastcf's models.

Each built-in algorithm is held to the fastcf model it wraps (same parameters,
``surprise_compat=True``) and to Surprise's rules for ``details``, clipping,
unknown ids and inner-id order; custom ``AlgoBase`` subclasses follow
Surprise's "building custom algorithms" guide. Agreement with Surprise itself
is tests/test_surprise_parity.py's.
"""

import heapq

import numpy as np
import pytest

import fastcf
from fastcf.compat import surprise
from fastcf.compat.surprise import (
    NMF,
    SVD,
    AlgoBase,
    BaselineOnly,
    CoClustering,
    KNNBaseline,
    KNNBasic,
    KNNWithMeans,
    KNNWithZScore,
    NormalPredictor,
    Prediction,
    PredictionImpossible,
    SlopeOne,
    SVDpp,
    similarities,
)


def _knn(mode, user_based=True, name="msd", **kw):
    cls = fastcf.UserKNN if user_based else fastcf.ItemKNN
    return lambda: cls(k=kw.get("k", 40), min_k=kw.get("min_k", 1), similarity=name, mode=mode,
                       min_support=1, shrinkage=100 if name == "pearson_baseline" else None,
                       dtype=np.float64, clip=False, surprise_compat=True)


#: (compat algorithm, the fastcf model it must equal).
PAIRS = {
    "baseline_als": (lambda: BaselineOnly(verbose=False),
                     lambda: fastcf.BaselineOnly(method="als", reg_user=15, reg_item=10,
                                                 epochs=10, clip=False)),
    "baseline_sgd": (lambda: BaselineOnly({"method": "sgd", "n_epochs": 5}, verbose=False),
                     lambda: fastcf.BaselineOnly(method="sgd", lr=0.005, reg=0.02, epochs=5,
                                                 clip=False)),
    "knn_basic_item_pearson": (
        lambda: KNNBasic(k=5, sim_options={"name": "pearson", "user_based": False},
                         verbose=False),
        _knn("basic", user_based=False, name="pearson", k=5)),
    "knn_means": (lambda: KNNWithMeans(verbose=False), _knn("means")),
    "knn_zscore_cosine": (lambda: KNNWithZScore(sim_options={"name": "cosine"}, verbose=False),
                          _knn("zscore", name="cosine")),
    "knn_baseline": (
        lambda: KNNBaseline(sim_options={"name": "pearson_baseline"}, verbose=False),
        _knn("baseline", name="pearson_baseline")),
    "svd": (lambda: SVD(n_factors=4, n_epochs=5, lr_bu=0.01, reg_qi=0.05, random_state=3),
            lambda: fastcf.MatrixFactorization(
                factors=4, epochs=5, lr_bu=0.01, lr_bi=0.005, lr_pu=0.005, lr_qi=0.005,
                reg_bu=0.02, reg_bi=0.02, reg_pu=0.02, reg_qi=0.05, dtype=np.float64,
                clip=False, seed=3, surprise_compat=True)),
    "svdpp": (lambda: SVDpp(n_factors=3, n_epochs=4, random_state=1),
              lambda: fastcf.SVDpp(factors=3, epochs=4, lr=0.007, reg=0.02, dtype=np.float64,
                                   clip=False, seed=1, surprise_compat=True)),
    "nmf": (lambda: NMF(n_factors=3, n_epochs=5, random_state=2),
            lambda: fastcf.NMF(factors=3, epochs=5, clip=False, seed=2, surprise_compat=True)),
    "nmf_biased": (lambda: NMF(n_factors=3, n_epochs=5, biased=True, random_state=2),
                   lambda: fastcf.NMF(factors=3, epochs=5, biased=True, clip=False, seed=2,
                                      surprise_compat=True)),
    "slope_one": (SlopeOne, lambda: fastcf.SlopeOne(clip=False)),
    "co_clustering": (lambda: CoClustering(n_epochs=4, random_state=5),
                      lambda: fastcf.CoClustering(epochs=4, clip=False, seed=5,
                                                  surprise_compat=True)),
}
#: Where Surprise calls a prediction impossible, and its reason.
IMPOSSIBLE_UNKNOWN = {"knn_basic_item_pearson": "User and/or item is unknown.",
                      "knn_means": "User and/or item is unknown.",
                      "knn_zscore_cosine": "User and/or item is unknown.",
                      "slope_one": "User and/or item is unknown.",
                      "nmf": "User and item are unknown."}


@pytest.mark.parametrize("name", list(PAIRS))
def test_algorithm_is_its_fastcf_model(name, split):
    make_algo, make_model = PAIRS[name]
    trainset, testset = split
    algo = make_algo().fit(trainset)
    predictions = algo.test(testset)
    users = np.array([trainset._raw2inner_id_users.get(u, -1) for (u, _, _) in testset])
    items = np.array([trainset._raw2inner_id_items.get(i, -1) for (_, i, _) in testset])
    model = make_model().fit(trainset.interactions)
    expected = np.asarray(model.predict(users, items), dtype=np.float64)
    unknown = (users < 0) | (items < 0)
    impossible = np.array([p.details["was_impossible"] for p in predictions])
    if name in IMPOSSIBLE_UNKNOWN:
        assert (impossible[unknown]).all()
        assert {p.details["reason"] for p, u in zip(predictions, unknown) if u} == {
            IMPOSSIBLE_UNKNOWN[name]}
    expected[impossible] = trainset.global_mean
    np.testing.assert_allclose([p.est for p in predictions], np.clip(expected, 1, 5),
                               rtol=0, atol=1e-12)
    assert [(p.uid, p.iid, p.r_ui) for p in predictions] == testset
    # predict and estimate are the same computation, pair by pair
    for (uid, iid, r), pred in zip(testset[-5:], predictions[-5:]):
        assert algo.predict(uid, iid, r) == pred
    u, i = users[0], items[0]
    est = algo.estimate(int(u), int(i))
    assert (est[0] if isinstance(est, tuple) else est) == pytest.approx(
        np.asarray(model.predict([u], [i]))[0], abs=1e-12)


def test_normal_predictor_draws_from_numpy(split):
    trainset, testset = split
    algo = NormalPredictor().fit(trainset)
    ratings = np.array([r for (_, _, r) in trainset.all_ratings()])
    assert algo.sigma == pytest.approx(ratings.std(), abs=1e-12)
    np.random.seed(4)  # noqa: NPY002 (Surprise draws from the global RandomState)
    first = [p.est for p in algo.test(testset)]
    np.random.seed(4)  # noqa: NPY002 (Surprise draws from the global RandomState)
    assert [p.est for p in algo.test(testset)] == first
    assert len(set(first)) > 1 and not any(p.details["was_impossible"]
                                           for p in algo.test(testset))


# ------------------------------------------------------------ details rules
def test_knn_details(tiny_trainset):
    algo = KNNBasic(k=3, min_k=3, verbose=False).fit(tiny_trainset)
    assert algo.predict("u1", "i3").details == {"was_impossible": True,
                                                "reason": "Not enough neighbors."}
    assert algo.predict("u1", "i3").est == tiny_trainset.global_mean
    assert algo.predict("nobody", "i3").details == {"was_impossible": True,
                                                    "reason": "User and/or item is unknown."}
    with pytest.raises(PredictionImpossible, match="Not enough neighbors"):
        algo.estimate(1, 1)
    means = KNNWithMeans(k=3, min_k=1, verbose=False).fit(tiny_trainset)
    details = means.predict("u1", "i3").details
    assert details["was_impossible"] is False and details["actual_k"] == 1
    baseline = KNNBaseline(verbose=False).fit(tiny_trainset)
    unknown_item = baseline.predict("u1", "nothing")
    assert unknown_item.details == {"was_impossible": False}
    assert unknown_item.est == pytest.approx(tiny_trainset.global_mean + baseline.bu[1],
                                             abs=1e-12)


def test_svd_unbiased_unknown(tiny_trainset):
    algo = SVD(n_factors=2, n_epochs=2, biased=False, random_state=0).fit(tiny_trainset)
    pred = algo.predict("u1", "nothing")
    assert pred.details == {"was_impossible": True, "reason": "User and item are unknown."}
    assert pred.est == tiny_trainset.global_mean
    assert SVD(n_factors=2, n_epochs=2, random_state=0).fit(tiny_trainset).predict(
        "u1", "nothing").details == {"was_impossible": False}


def test_clipping_uses_the_readers_scale(ratings_frame):
    data = surprise.Dataset.load_from_df(ratings_frame, surprise.Reader(rating_scale=(3, 3.5)))
    trainset = data.build_full_trainset()
    algo = BaselineOnly(verbose=False).fit(trainset)
    predictions = algo.test(trainset.build_testset())
    est = np.array([p.est for p in predictions])
    assert est.min() == 3 and est.max() == 3.5
    raw = [algo.predict(p.uid, p.iid, clip=False).est for p in predictions]
    assert min(raw) < 3 and max(raw) > 3.5
    np.testing.assert_allclose(est, np.clip(raw, 3, 3.5), rtol=0, atol=0)


# --------------------------------------------------- inner-id order of arrays
def test_arrays_in_inner_id_order(ratings_frame, split):
    trainset, _ = split
    raw = fastcf.Interactions.from_frame(ratings_frame.iloc[:500], "user", "item", "rating",
                                         dtype=np.float64)
    algo = KNNBaseline(sim_options={"name": "pearson_baseline", "user_based": False},
                       verbose=False).fit(trainset)
    model = fastcf.ItemKNN(similarity="pearson_baseline", mode="baseline", dtype=np.float64,
                           clip=False, surprise_compat=True).fit(raw)
    users = ["user3", "user17", "user30"]
    items = ["item1", "item8", "item20"]
    inner_u = [trainset.to_inner_uid(u) for u in users]
    inner_i = [trainset.to_inner_iid(i) for i in items]
    np.testing.assert_allclose(algo.bu[inner_u], model.user_bias_[raw.user_index(users)],
                               atol=1e-12)
    np.testing.assert_allclose(algo.bi[inner_i], model.item_bias_[raw.item_index(items)],
                               atol=1e-12)
    assert algo.bx is algo.bi or np.array_equal(algo.bx, algo.bi)
    fast = raw.item_index(items)
    np.testing.assert_allclose(algo.sim[np.ix_(inner_i, inner_i)], model.sim_[np.ix_(fast, fast)],
                               atol=1e-12)
    sim = algo.compute_similarities()
    assert sim.shape == (trainset.n_items, trainset.n_items)
    naive = [j for (j, _) in heapq.nlargest(
        6, [(x, sim[2, x]) for x in range(trainset.n_items) if x != 2], key=lambda t: t[1])]
    assert algo.get_neighbors(2, k=6) == naive


# ----------------------------------------------------------- custom algorithms
class ReturnsThree(AlgoBase):
    def __init__(self):
        AlgoBase.__init__(self)

    def estimate(self, u, i):
        return 3


class TheMean(AlgoBase):
    def fit(self, trainset):
        AlgoBase.fit(self, trainset)
        self.the_mean = np.mean([r for (_, _, r) in self.trainset.all_ratings()])
        return self

    def estimate(self, u, i):
        return self.the_mean


class MeanOfMeans(AlgoBase):
    def estimate(self, u, i):
        sum_means, div = self.trainset.global_mean, 1
        if self.trainset.knows_user(u):
            sum_means += np.mean([r for (_, r) in self.trainset.ur[u]])
            div += 1
        if self.trainset.knows_item(i):
            sum_means += np.mean([r for (_, r) in self.trainset.ir[i]])
            div += 1
        return sum_means / div


class WithBaselinesAndSim(AlgoBase):
    def __init__(self, sim_options={}, bsl_options={}):  # noqa: B006 (the guide's signature)
        AlgoBase.__init__(self, sim_options=sim_options, bsl_options=bsl_options)

    def fit(self, trainset):
        AlgoBase.fit(self, trainset)
        self.bu, self.bi = self.compute_baselines()
        self.sim = self.compute_similarities()
        return self

    def estimate(self, u, i):
        if not (self.trainset.knows_user(u) and self.trainset.knows_item(i)):
            raise PredictionImpossible("User and/or item is unknown.")
        return self.trainset.global_mean + self.bu[u] + self.bi[i]


def test_guide_algorithms(tiny_trainset):
    three = ReturnsThree().fit(tiny_trainset)
    assert three.predict("u1", "i1", 3.0) == Prediction("u1", "i1", 3.0, 3,
                                                        {"was_impossible": False})
    assert TheMean().fit(tiny_trainset).predict("x", "y").est == tiny_trainset.global_mean
    mean = MeanOfMeans().fit(tiny_trainset)
    assert mean.predict("u1", "i3").est == pytest.approx((3.1 + 2.75 + 5.0) / 3, abs=1e-12)
    assert mean.predict("nobody", "i3").est == pytest.approx((3.1 + 5.0) / 2, abs=1e-12)
    assert [p.est for p in mean.test([("u3", "i2", 1.0), ("u2", "nothing", 2.0)])] == [
        mean.predict("u3", "i2").est, mean.predict("u2", "nothing").est]


def test_guide_algorithm_with_baselines_and_similarities(split):
    trainset, testset = split
    algo = WithBaselinesAndSim(sim_options={"name": "pearson"}).fit(trainset)
    model = fastcf.BaselineOnly(clip=False).fit(trainset.interactions)
    np.testing.assert_allclose(algo.bu, model.user_bias_, atol=1e-12)
    by_dicts = similarities.pearson(trainset.n_users, trainset.ir, 1)
    np.testing.assert_allclose(algo.sim, by_dicts, atol=1e-12)
    predictions = algo.test(testset)
    assert predictions[-1].details == {"was_impossible": True,
                                       "reason": "User and/or item is unknown."}
    item_based = WithBaselinesAndSim(
        sim_options={"name": "pearson_baseline", "user_based": False, "shrinkage": 10},
        bsl_options={"method": "als", "n_epochs": 3}).fit(trainset)
    reference = similarities.pearson_baseline(trainset.n_items, trainset.ur, 1,
                                              trainset.global_mean, item_based.bi,
                                              item_based.bu, shrinkage=10)
    np.testing.assert_allclose(item_based.sim, reference, atol=1e-12)


def test_custom_prediction_impossible_and_clip(tiny_trainset, capsys):
    class Seven(AlgoBase):
        def estimate(self, u, i):
            if u == 2:
                raise PredictionImpossible("no u3")
            return 7

    algo = Seven().fit(tiny_trainset)
    assert algo.predict("u1", "i1").est == 5
    assert algo.predict("u1", "i1", clip=False).est == 7
    pred = algo.predict("u3", "i1", verbose=True)
    assert pred.details == {"was_impossible": True, "reason": "no u3"}
    assert "user: u3" in capsys.readouterr().out


def test_subclass_overriding_estimate_is_used(tiny_trainset):
    class Shifted(BaselineOnly):
        def estimate(self, u, i):
            return BaselineOnly.estimate(self, u, i) - 1

    base = BaselineOnly(verbose=False).fit(tiny_trainset)
    shifted = Shifted(verbose=False).fit(tiny_trainset)
    assert shifted.test([("u1", "i3", 3.0)])[0].est == pytest.approx(
        base.predict("u1", "i3", clip=False).est - 1, abs=1e-12)


def test_knn_bsl_options_reach_the_biases(split):
    trainset, _ = split
    options = {"method": "sgd", "n_epochs": 3, "learning_rate": 0.01}
    algo = KNNBaseline(bsl_options=options, verbose=False).fit(trainset)
    model = fastcf.BaselineOnly(method="sgd", epochs=3, lr=0.01).fit(trainset.interactions)
    np.testing.assert_allclose(algo.bu, model.user_bias_, atol=1e-12)
    pearson = KNNBasic(sim_options={"name": "pearson_baseline"},
                       bsl_options={"reg_u": 1, "reg_i": 2}, verbose=False).fit(trainset)
    model = fastcf.BaselineOnly(reg_user=1, reg_item=2).fit(trainset.interactions)
    np.testing.assert_allclose(pearson.bi, model.item_bias_, atol=1e-12)


# ----------------------------------------------------------------- bad input
def test_bad_parameters(tiny_trainset):
    with pytest.raises(NameError, match="Wrong sim name nope. Allowed values are cosine"):
        KNNBasic(sim_options={"name": "nope"})
    algo = KNNBasic(verbose=False)
    algo.sim_options["name"] = "Pearsonn"
    with pytest.raises(NameError, match="Wrong sim name Pearsonn"):
        algo.fit(tiny_trainset)
    with pytest.raises(ValueError, match="Invalid method wrong for baseline computation"):
        BaselineOnly(bsl_options={"method": "wrong"})
    custom = WithBaselinesAndSim(bsl_options={"method": "wrong"})
    with pytest.raises(ValueError, match="Invalid method wrong"):
        custom.fit(tiny_trainset)
    with pytest.raises(ValueError, match="init_low == -1, must be >= 0"):
        NMF(init_low=-1)
    with pytest.raises(ValueError, match="Wrong random state"):
        surprise.utils.get_rng(2.5)


def test_verbose_prints(tiny_trainset, capsys):
    KNNBasic(sim_options={"name": "cosine"}).fit(tiny_trainset)
    out = capsys.readouterr().out
    assert "Computing the cosine similarity matrix..." in out
    BaselineOnly().fit(tiny_trainset)
    assert "Estimating biases using als..." in capsys.readouterr().out
    BaselineOnly(verbose=False).fit(tiny_trainset).test([("u1", "i1", 3.0)], verbose=True)
    assert capsys.readouterr().out.startswith("user: u1")


@pytest.mark.parametrize("make, shapes", [
    (lambda: SVD(n_factors=3, n_epochs=2, random_state=0),
     {"bu": ("u",), "bi": ("i",), "pu": ("u", 3), "qi": ("i", 3)}),
    (lambda: SVDpp(n_factors=3, n_epochs=2, random_state=0),
     {"bu": ("u",), "bi": ("i",), "pu": ("u", 3), "qi": ("i", 3), "yj": ("i", 3)}),
    (lambda: NMF(n_factors=3, n_epochs=2, random_state=0), {"pu": ("u", 3), "qi": ("i", 3)}),
    (SlopeOne, {"user_mean": ("u",)}),
    (lambda: CoClustering(n_epochs=2, random_state=0),
     {"cltr_u": ("u",), "cltr_i": ("i",), "user_mean": ("u",), "item_mean": ("i",),
      "avg_cltr_u": (3,), "avg_cltr_i": (3,), "avg_cocltr": (3, 3)}),
    (NormalPredictor, {"sigma": ()}),
    (lambda: KNNWithZScore(verbose=False), {"means": ("u",), "sigmas": ("u",), "sim": ("u", "u")}),
])
def test_surprise_attributes(make, shapes, split):
    trainset, _ = split
    algo = make().fit(trainset)
    sizes = {"u": trainset.n_users, "i": trainset.n_items}
    for name, shape in shapes.items():
        assert np.shape(getattr(algo, name)) == tuple(sizes.get(d, d) for d in shape), name
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        assert algo.nothing is None
