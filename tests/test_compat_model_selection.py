"""fastcf.compat.surprise.model_selection on duck-typed stand-ins of Surprise's Dataset,
Trainset and algorithms (the splits are checked against the RandomState calls Surprise
makes; the same code gave Surprise's numbers bit for bit with the real package)."""

import importlib
import math
import sys
import types
from collections import namedtuple

import numpy as np
import pytest

from fastcf.compat.surprise.model_selection import (
    GridSearchCV,
    KFold,
    LeaveOneOut,
    PredefinedKFold,
    RandomizedSearchCV,
    RepeatedKFold,
    ShuffleSplit,
    cross_validate,
    train_test_split,
)
from fastcf.compat.surprise.model_selection.split import get_cv, get_rng

Prediction = namedtuple("Prediction", ["uid", "iid", "r_ui", "est", "details"])


# ------------------------------------------------- stand-ins of Surprise's API
def rmse(predictions, verbose=True):
    return math.sqrt(np.mean([(p.r_ui - p.est) ** 2 for p in predictions]))


def mae(predictions, verbose=True):
    return float(np.mean([abs(p.r_ui - p.est) for p in predictions]))


def fcp(predictions, verbose=True):
    return float(np.mean([p.est > 3 for p in predictions]))


@pytest.fixture(scope="module", autouse=True)
def accuracy():
    """The compat accuracy module, or these functions in its place before it exists."""
    name = "fastcf.compat.surprise.accuracy"
    try:
        yield importlib.import_module(name)
    except ImportError:
        sys.modules[name] = types.SimpleNamespace(rmse=rmse, mae=mae, fcp=fcp)
        yield sys.modules[name]
        del sys.modules[name]


class Trainset:
    def __init__(self, raw):
        self.raw = raw

    def build_testset(self):
        return [(u, i, r) for u, i, r, _ in self.raw]


class Dataset:
    """Surprise's Dataset API: raw_ratings, construct_trainset / testset, read_ratings."""

    def __init__(self, raw_ratings, folds_files=None):
        self.raw_ratings = raw_ratings
        self.folds_files = folds_files

    def construct_trainset(self, raw_trainset):
        return Trainset(raw_trainset)

    def construct_testset(self, raw_testset):
        return [(u, i, r) for u, i, r, _ in raw_testset]

    def build_full_trainset(self):
        return self.construct_trainset(self.raw_ratings)

    def read_ratings(self, file_name):
        with open(file_name) as f:
            return [(u, i, float(r), None) for u, i, r in (line.split() for line in f)]


class MeanAlgo:
    """Predicts shrink * (user mean) + (1 - shrink) * (global mean) + bias."""

    def __init__(self, shrink=0.5, bias=0.0, sim_options=None):
        self.shrink, self.bias, self.sim_options = shrink, bias, sim_options

    def fit(self, trainset):
        ratings = [r for _, _, r, _ in trainset.raw]
        self.mean = float(np.mean(ratings))
        self.user_mean = {}
        for u, _, r, _ in trainset.raw:
            self.user_mean.setdefault(u, []).append(r)
        self.user_mean = {u: float(np.mean(v)) for u, v in self.user_mean.items()}
        return self

    def predict(self, uid, iid, r_ui=None):
        est = self.shrink * self.user_mean.get(uid, self.mean) + (1 - self.shrink) * self.mean
        return Prediction(uid, iid, r_ui, est + self.bias, {})

    def test(self, testset, verbose=False):
        return [self.predict(u, i, r) for u, i, r in testset]


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    return Dataset([(f"u{rng.randint(12)}", f"i{n}", float(rng.randint(1, 6)), None)
                    for n in range(97)])


def _test_items(splits):
    return [sorted(i for _, i, _ in testset) for _, testset in splits]


# --------------------------------------------------------------------- splits
def test_kfold_deals_surprise_shuffle(data):
    n = len(data.raw_ratings)
    indices = np.arange(n)
    np.random.RandomState(4).shuffle(indices)
    sizes = [33, 32, 32]  # the first n % k folds one larger
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    expected = [sorted(data.raw_ratings[i][1] for i in indices[a:b])
                for a, b in zip(bounds[:-1], bounds[1:])]
    splits = list(KFold(3, random_state=4).split(data))
    assert _test_items(splits) == expected
    for trainset, testset in splits:
        assert len(trainset.raw) + len(testset) == n
    unshuffled = list(KFold(3, shuffle=False).split(data))
    assert [i for _, i, _ in unshuffled[0][1]] == [r[1] for r in data.raw_ratings[:33]]
    assert KFold(3).get_n_folds() == 3


def test_repeated_kfold_draws_each_repeat_from_one_rng(data):
    rng = np.random.RandomState(1)
    expected = []
    for _ in range(2):
        indices = np.arange(len(data.raw_ratings))
        rng.shuffle(indices)
        expected += [sorted(data.raw_ratings[i][1] for i in part)
                     for part in (indices[:49], indices[49:])]
    cv = RepeatedKFold(n_splits=2, n_repeats=2, random_state=1)
    assert _test_items(cv.split(data)) == expected and cv.get_n_folds() == 4


def test_shuffle_split_and_train_test_split(data):
    permutation = np.random.RandomState(2).permutation(97)
    trainset, testset = train_test_split(data, test_size=0.3, random_state=2)  # ceil(29.1)
    assert [r[1] for r in trainset.raw] == [data.raw_ratings[i][1] for i in permutation[:67]]
    assert [i for _, i, _ in testset] == [data.raw_ratings[i][1] for i in permutation[67:]]
    splits = list(ShuffleSplit(3, test_size=10, train_size=0.5, random_state=2).split(data))
    assert [(len(tr.raw), len(te)) for tr, te in splits] == [(48, 10)] * 3
    assert len({tuple(s) for s in _test_items(splits)}) == 3
    assert ShuffleSplit(3).get_n_folds() == 3


def test_leave_one_out(data):
    splits = list(LeaveOneOut(n_splits=2, random_state=3, min_n_ratings=8).split(data))
    counts = {}
    for u, _, _, _ in data.raw_ratings:
        counts[u] = counts.get(u, 0) + 1
    for trainset, testset in splits:
        assert sorted(u for u, _, _ in testset) == sorted(u for u, c in counts.items() if c > 8)
        assert len(trainset.raw) == sum(c - 1 for c in counts.values() if c > 8)
    assert _test_items(splits)[0] != _test_items(splits)[1]
    with pytest.raises(ValueError, match="Could not build any trainset"):
        next(LeaveOneOut(min_n_ratings=100).split(data))


def test_predefined_kfold(tmp_path):
    files = []
    for k in range(2):
        for part, rows in (("base", [("a", "x", 4), ("b", "y", 2)]), ("test", [("a", "y", 3)])):
            path = tmp_path / f"u{k}.{part}"
            path.write_text("".join(f"{u} {i} {r}\n" for u, i, r in rows))
            files.append(str(path))
    data = Dataset(None, folds_files=list(zip(files[::2], files[1::2])))
    cv = PredefinedKFold()
    splits = list(cv.split(data))
    assert cv.get_n_folds() == 2 and splits[0][1] == [("a", "y", 3.0)]
    result = cross_validate(MeanAlgo(), data, cv=cv)
    np.testing.assert_allclose(result["test_rmse"], [0.5, 0.5])
    with pytest.raises(ValueError, match="refit cannot be used when data has been loaded"):
        GridSearchCV(MeanAlgo, {"bias": [0.0]}, cv=cv, refit=True).fit(data)


@pytest.mark.parametrize("make, match", [
    (lambda: next(KFold(1).split(Dataset([(1, 2, 3.0, None)] * 5))), "n_splits=1. Must be >=2"),
    (lambda: next(KFold(6).split(Dataset([(1, 2, 3.0, None)] * 5))), r"ratings \(5\)"),
    (lambda: ShuffleSplit(0), "n_splits = 0 should be strictly greater than 0"),
    (lambda: ShuffleSplit(test_size=0), "test_size=0 should be strictly greater"),
    (lambda: ShuffleSplit(train_size=-1), "train_size=-1 should be strictly greater"),
    (lambda: next(ShuffleSplit(test_size=5).split(Dataset([(1, 2, 3.0, None)] * 5))),
     "test_size=5 should be less than the number of ratings 5"),
    (lambda: next(ShuffleSplit(test_size=3, train_size=3).split(
        Dataset([(1, 2, 3.0, None)] * 5))), r"The sum of train_size and test_size \(6\)"),
    (lambda: get_cv("3"), "Wrong CV object"),
    (lambda: get_rng(1.5), "Wrong random state"),
])
def test_split_bad_input(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_get_rng_and_cv():
    assert get_rng(None) is np.random.mtrand._rand
    state = np.random.RandomState(3)
    assert get_rng(state) is state
    assert get_cv(None).n_splits == 5 and get_cv(4).n_splits == 4


# ------------------------------------------------------------- cross_validate
def test_cross_validate(data, capsys):
    cv = KFold(3, random_state=0)
    result = cross_validate(MeanAlgo(bias=0.1), data, measures=["RMSE", "mae"], cv=cv,
                            return_train_measures=True, verbose=True)
    assert sorted(result) == ["fit_time", "test_mae", "test_rmse", "test_time", "train_mae",
                              "train_rmse"]
    expected = [rmse(MeanAlgo(bias=0.1).fit(tr).test(te)) for tr, te in cv.split(data)]
    np.testing.assert_allclose(result["test_rmse"], expected, rtol=1e-12)
    assert isinstance(result["fit_time"], tuple) and len(result["fit_time"]) == 3
    out = capsys.readouterr().out
    assert "Evaluating RMSE, MAE of algorithm MeanAlgo on 3 split(s)." in out
    assert "RMSE (trainset)" in out and "Fit time" in out
    parallel = cross_validate(MeanAlgo(bias=0.1), data, measures=["rmse", "mae"], cv=cv,
                              return_train_measures=True, n_jobs=2)
    for key in ("test_rmse", "test_mae", "train_rmse"):
        np.testing.assert_array_equal(parallel[key], result[key])


@pytest.mark.parametrize("kwargs, error, match", [
    ({"measures": ["rmse", "nope"]}, ValueError, "unknown measure 'nope'"),
    ({"n_jobs": 0}, ValueError, "n_jobs == 0 has no meaning"),
    ({"n_jobs": 1.5}, TypeError, "n_jobs must be an int or None"),
    ({"cv": "x"}, ValueError, "Wrong CV object"),
])
def test_cross_validate_bad_input(data, kwargs, error, match):
    with pytest.raises(error, match=match):
        cross_validate(MeanAlgo(), data, **kwargs)


# --------------------------------------------------------------------- search
GRID = {"shrink": [0.0, 0.5, 1.0], "bias": [0.0, 0.2]}


@pytest.fixture(scope="module")
def search(data):
    gs = GridSearchCV(MeanAlgo, GRID, measures=["rmse", "fcp"], cv=KFold(3, random_state=0),
                      refit=True, return_train_measures=True)
    gs.fit(data)
    return gs


def test_grid_search_cv_results(data, search):
    results = search.cv_results
    keys = {f"split{s}_{kind}_{m}" for s in range(3) for kind in ("test", "train")
            for m in ("rmse", "fcp")}
    keys |= {f"{stat}_{kind}_{m}" for stat in ("mean", "std") for kind in ("test", "train")
             for m in ("rmse", "fcp")}
    keys |= {"rank_test_rmse", "rank_test_fcp", "mean_fit_time", "std_fit_time",
             "mean_test_time", "std_test_time", "params", "param_shrink", "param_bias"}
    assert set(results) == keys
    assert results["params"][1] == {"shrink": 0.0, "bias": 0.2}
    assert results["param_bias"] == [0.0, 0.2] * 3
    cv = cross_validate(MeanAlgo(shrink=0.5, bias=0.2), data, measures=["rmse"],
                        cv=KFold(3, random_state=0))
    np.testing.assert_allclose(results["split1_test_rmse"][3], cv["test_rmse"][1], rtol=1e-12)
    np.testing.assert_allclose(results["std_test_rmse"][3], np.std(cv["test_rmse"]), rtol=1e-12)
    best = int(np.argmin(results["mean_test_rmse"]))
    assert search.best_index["rmse"] == best and results["rank_test_rmse"][best] == 1
    assert search.best_params["rmse"] == results["params"][best]
    assert search.best_score["rmse"] == results["mean_test_rmse"][best]
    # higher fcp is better; as in Surprise, rank 1 goes to the last of the tied best in
    # argsort order and best_index to the first (MeanAlgo's bias shifts every estimate
    # alike, so fcp ties across it)
    fcp = np.asarray(results["mean_test_fcp"])
    assert fcp[list(results["rank_test_fcp"]).index(1)] == fcp.max()
    assert search.best_index["fcp"] == int(np.argmax(fcp))


def test_grid_search_refit_predict_test(data, search):
    fitted = MeanAlgo(**search.best_params["rmse"]).fit(data.build_full_trainset())
    assert search.predict("u1", "i3") == fitted.predict("u1", "i3")
    assert search.test([("u2", "i1", 4.0)]) == fitted.test([("u2", "i1", 4.0)])
    other = GridSearchCV(MeanAlgo, GRID, cv=2)
    other.fit(data)
    with pytest.raises(ValueError, match="refit is False, cannot use predict"):
        other.predict("u1", "i3")
    with pytest.raises(ValueError, match="refit is False, cannot use test"):
        other.test([])
    with pytest.raises(ValueError, match=r"measure you want to use with refit \(fcp\)"):
        GridSearchCV(MeanAlgo, GRID, measures=["rmse"], refit="fcp")


def test_grid_search_n_jobs_and_options(data, search, capsys):
    parallel = GridSearchCV(MeanAlgo, GRID, measures=["rmse", "fcp"],
                            cv=KFold(3, random_state=0), refit=True,
                            return_train_measures=True, n_jobs=2, joblib_verbose=1)
    parallel.fit(data)
    assert "[fastcf] 18 fits in" in capsys.readouterr().err
    for key, value in search.cv_results.items():
        if "time" not in key:
            np.testing.assert_array_equal(np.asarray(parallel.cv_results[key], dtype=object),
                                          np.asarray(value, dtype=object))
    options = GridSearchCV(MeanAlgo, {"sim_options": {"name": ["msd", "cosine"],
                                                      "user_based": [False, True]}}, cv=2)
    assert options.param_combinations == [
        {"sim_options": {"name": n, "user_based": b}}
        for n in ("msd", "cosine") for b in (False, True)]


def test_randomized_search(data):
    global_rng = np.random.mtrand._rand  # all lists: Surprise draws with NumPy's global RNG
    saved = global_rng.get_state()
    try:
        global_rng.seed(3)
        lists = RandomizedSearchCV(MeanAlgo, GRID, n_iter=4, cv=2, random_state=0)
        global_rng.seed(3)
        grid = [{"shrink": s, "bias": b} for s in GRID["shrink"] for b in GRID["bias"]]
        assert list(lists.param_combinations) == list(global_rng.choice(grid, 4, replace=False))
    finally:
        global_rng.set_state(saved)
    space = {"shrink": [0.1, 0.9], "bias": types.SimpleNamespace(
        rvs=lambda random_state: random_state.uniform(0, 1))}
    drawn = RandomizedSearchCV(MeanAlgo, space, n_iter=3, cv=2, random_state=7)
    rng = np.random.RandomState(7)  # sorted names: bias, then shrink
    expected = []
    for _ in range(3):
        bias = rng.uniform(0, 1)
        expected.append({"bias": bias, "shrink": [0.1, 0.9][rng.randint(2)]})
    assert drawn.param_combinations == expected
    drawn.fit(data)
    assert len(drawn.cv_results["mean_test_rmse"]) == 3
