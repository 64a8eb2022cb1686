"""fastcf.model_selection: grid / random search over folds, in worker processes or on Dask."""

import functools

import numpy as np
import pandas as pd
import pytest

from fastcf import BaselineOnly, Interactions, MatrixFactorization, Popularity
from fastcf.evaluation import cross_validate
from fastcf.model_selection import grid_search, parallel_map, random_search
from fastcf.split import kfold

GRID = {"reg_user": [1.0, 15.0], "reg_item": [0.5, 10.0, 25.0]}
TIMES = ["mean_fit_s", "mean_test_s"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    n = 400
    users, items = rng.integers(0, 30, n), rng.integers(0, 25, n)
    pairs = pd.DataFrame({"user": users, "item": items}).drop_duplicates()
    ratings = rng.integers(1, 6, len(pairs)).astype(np.float64)
    return Interactions.from_arrays(pairs["user"].to_numpy(), pairs["item"].to_numpy(), ratings)


@pytest.fixture(scope="module")
def serial(data):
    return grid_search(BaselineOnly, GRID, data, folds=3, metrics=["rmse", "mae"], n_jobs=1)


def _square(shared, task):
    return shared * task * task


def _fail(shared, task):
    if task == 3:
        raise ValueError(f"task {task} refused")
    return task


def make_mf(factors=4):
    return MatrixFactorization(factors=factors, epochs=3, dtype=np.float64)


# ------------------------------------------------------------------ results
def test_grid_search_table_means_and_rank(data, serial):
    table = serial.results
    assert len(table) == 6
    assert list(table[["reg_user", "reg_item"]].itertuples(index=False, name=None)) == [
        (1.0, 0.5), (1.0, 10.0), (1.0, 25.0), (15.0, 0.5), (15.0, 10.0), (15.0, 25.0)]
    assert table["params"][4] == {"reg_user": 15.0, "reg_item": 10.0}
    # each row is cross_validate of that setting on the same folds
    folds = kfold(data, 3, seed=0)
    cv = cross_validate(BaselineOnly(reg_user=15.0, reg_item=10.0), data,
                        split=lambda _: folds, metrics=["rmse", "mae"])
    assert table["mean_rmse"][4] == pytest.approx(cv.loc["mean", "rmse"], abs=1e-12)
    assert table["std_mae"][4] == pytest.approx(cv.loc["std", "mae"], abs=1e-12)
    assert sorted(table["rank"]) == list(range(1, 7))
    assert table["mean_rmse"][table["rank"] == 1].item() == table["mean_rmse"].min()
    assert (table[TIMES] > 0).all().all()


def test_best_model_refitted_on_all_data(data, serial):
    best = serial.best_index
    assert serial.metric == "rmse"
    assert serial.best_params == serial.results["params"][best]
    assert serial.best_score == serial.results["mean_rmse"][best]
    fresh = BaselineOnly(**serial.best_params).fit(data)
    users, items = data.user_ids[:20], data.item_ids[:20]
    np.testing.assert_array_equal(serial.best_model.predict(users, items),
                                  fresh.predict(users, items))
    assert "best rmse" in repr(serial)


def test_same_results_whatever_n_jobs(data, serial):
    parallel = grid_search(BaselineOnly, GRID, data, folds=3, metrics=["rmse", "mae"], n_jobs=2)
    pd.testing.assert_frame_equal(parallel.results.drop(columns=TIMES),
                                  serial.results.drop(columns=TIMES))
    assert parallel.best_params == serial.best_params


def test_factor_model_in_workers_and_refit_threads(data):
    """An estimator as make_model (its other parameters kept); n_threads=None fits use 1
    thread in the search, the refit keeps the model's own."""
    grid = {"reg": [0.01, 0.1], "lr": [0.005, 0.02]}
    runs = [grid_search(functools.partial(make_mf, 3), grid, data, folds=2, n_jobs=n_jobs)
            for n_jobs in (1, 2)]
    pd.testing.assert_frame_equal(runs[0].results.drop(columns=TIMES),
                                  runs[1].results.drop(columns=TIMES))
    assert runs[0].best_model.factors == 3 and runs[0].best_model.n_threads is None


def test_folds_as_splits_and_ranking_metric(data):
    folds = kfold(data, 2, seed=3)
    result = grid_search(Popularity(), {"backend": ["numba", "reference"]}, data, folds=folds,
                         refit=False)
    assert result.metric == "ndcg"  # Popularity predicts no ratings
    assert result.best_model is None
    assert result.results["mean_ndcg"][0] == pytest.approx(result.results["mean_ndcg"][1])
    assert result.best_index == 0  # ties keep the earlier setting first
    with_k = grid_search(Popularity, {"backend": ["numba"]}, data, folds=folds[:1],
                         metrics=["precision", "coverage"], k=3)
    assert np.isnan(with_k.results["std_precision"][0])  # one fold: no spread
    assert with_k.metric == "precision"


# ------------------------------------------------------------------- random
def test_random_search_lists_draw_distinct_settings(data):
    result = random_search(BaselineOnly, GRID, data, n_iter=4, folds=2, n_jobs=1, seed=5)
    settings = [tuple(p.values()) for p in result.results["params"]]
    assert len(set(settings)) == 4
    assert all(p["reg_user"] in GRID["reg_user"] and p["reg_item"] in GRID["reg_item"]
               for p in result.results["params"])
    again = random_search(BaselineOnly, GRID, data, n_iter=4, folds=2, n_jobs=1, seed=5)
    assert list(again.results["params"]) == list(result.results["params"])


def test_random_search_distributions(data):
    stats = pytest.importorskip("scipy.stats")
    space = {"reg_user": stats.uniform(1, 20), "reg_item": [2.0, 8.0]}
    result = random_search(BaselineOnly, space, data, n_iter=3, folds=2, n_jobs=1, seed=1)
    values = result.results["reg_user"]
    assert len(set(values)) == 3 and ((values >= 1) & (values <= 21)).all()
    assert all(type(v) is float for v in values)
    assert set(result.results["reg_item"]) <= {2.0, 8.0}


def test_random_search_more_draws_than_grid_warns(data):
    with pytest.warns(UserWarning, match="grid has only 6 settings"):
        result = random_search(BaselineOnly, GRID, data, n_iter=9, folds=2, n_jobs=1)
    assert len(result.results) == 6


# ------------------------------------------------------------------- runner
def test_parallel_map_keeps_order_and_raises():
    assert parallel_map(_square, 2, range(7), n_jobs=2) == [2 * t * t for t in range(7)]
    assert parallel_map(_square, 1, [], n_jobs=2) == []
    with pytest.raises(ValueError, match="task 3 refused"):
        parallel_map(_fail, None, range(6), n_jobs=2)


def test_parallel_map_on_dask(data, serial):
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None) as client:
        assert parallel_map(_square, 3, range(5), client=client) == [3 * t * t for t in range(5)]
        result = grid_search(BaselineOnly, GRID, data, folds=3, metrics=["rmse", "mae"],
                             client=client)
    pd.testing.assert_frame_equal(result.results.drop(columns=TIMES),
                                  serial.results.drop(columns=TIMES))


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("grid, error, match", [
    ({}, ValueError, "param_grid is empty"),
    ([("reg_user", [1.0])], TypeError, "param_grid must be a dict"),
    ({"reg_usr": [1.0]}, ValueError, "BaselineOnly has no parameter 'reg_usr'; its param"),
    ({"reg_user": []}, ValueError, "values of 'reg_user' are empty"),
    ({"reg_user": 1.0}, TypeError, "values of 'reg_user' must be a list of values, got float"),
    ({"backend": "numba"}, TypeError, "values of 'backend' must be a list"),
    ({"reg_user": [1.0, -2.0]}, ValueError, "reg_user"),
])
def test_bad_grid(data, grid, error, match):
    with pytest.raises(error, match=match):
        grid_search(BaselineOnly, grid, data, folds=2, n_jobs=1)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"metrics": ["rmse", "nope"]}, ValueError, "metrics == 'nope', must be one of"),
    ({"metrics": []}, ValueError, "metrics is empty"),
    ({"rank_by": "ndcg"}, ValueError, "rank_by == 'ndcg', must be one of"),
    ({"metrics": ["coverage"]}, ValueError, "coverage has no better direction"),
    ({"n_jobs": 0}, ValueError, r"n_jobs == 0, must be >= 1, -1 or None"),
    ({"n_jobs": -2}, ValueError, r"n_jobs == -2, must be >= 1"),
    ({"n_jobs": 2.0}, TypeError, "n_jobs must be an int or None, got float"),
    ({"folds": 1}, ValueError, "folds == 1, must be >= 2"),
    ({"folds": []}, ValueError, "folds is empty"),
    ({"folds": "3"}, TypeError, "folds must be an int or a list"),
    ({"folds": [(1, 2)]}, TypeError, r"folds\[0\] must be a \(train, test\) pair"),
    ({"k": 0}, ValueError, "k == 0, must be >= 1"),
    ({"n_jobs": 2, "client": "tcp://nowhere:1"}, ValueError, "give n_jobs or client"),
])
def test_bad_arguments(data, kwargs, error, match):
    kwargs = {"folds": 2, "n_jobs": 1, **kwargs}
    with pytest.raises(error, match=match):
        grid_search(BaselineOnly, {"reg_user": [1.0]}, data, **kwargs)


def test_bad_make_model_and_data(data):
    with pytest.raises(TypeError, match="data must be an Interactions"):
        grid_search(BaselineOnly, {"reg_user": [1.0]}, data.to_frame(), n_jobs=1)
    with pytest.raises(TypeError, match="make_model must be a fastcf estimator or a callable"):
        grid_search("baseline", {"reg_user": [1.0]}, data, n_jobs=1)
    with pytest.raises(TypeError, match="make_model\\(\\) returned int"):
        grid_search(lambda: 3, {"reg_user": [1.0]}, data, n_jobs=1)
    with pytest.raises(TypeError, match="must pickle to run in worker processes"):
        grid_search(lambda: BaselineOnly(), {"reg_user": [1.0, 2.0]}, data, folds=2, n_jobs=2)


def test_random_search_bad_input(data):
    with pytest.raises(ValueError, match="n_iter == 0, must be >= 1"):
        random_search(BaselineOnly, GRID, data, n_iter=0)
    with pytest.raises(TypeError, match="a list of values or a distribution with .rvs"):
        random_search(BaselineOnly, {"reg_user": 3.0}, data)
    with pytest.raises(ValueError, match="param_distributions is empty"):
        random_search(BaselineOnly, {}, data)


# ---------------------------------------------------------------------- CLI
def test_cli_tune_prints_table_best_and_saves(capsys, tmp_path):
    from fastcf import load
    from fastcf.cli import main

    model_path, table_path = tmp_path / "best.npz", tmp_path / "table.csv"
    argv = ["tune", "--data", "synthetic:3k", "--algorithm", "baseline", "-g",
            "reg_user=5,15", "-g", "reg_item=2.0,10", "--metric", "rmse,mae", "--n-jobs", "1",
            "--folds", "2"]
    assert main([*argv, "--save", str(model_path), "--out", str(table_path)]) == 0
    out = capsys.readouterr().out
    assert "mean_rmse" in out and "std_mae" in out and "\nbest: reg_user=" in out
    table = pd.read_csv(table_path, index_col="rank")
    assert len(table) == 4 and list(table.index) == [1, 2, 3, 4]
    best = load(str(model_path))
    assert (best.reg_user, best.reg_item) == tuple(table.loc[1, ["reg_user", "reg_item"]])
    assert main([*argv, "--random", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 6  # two header lines, 2 settings, a blank line, best
    assert "mean over 2 folds" in out


@pytest.mark.parametrize("argv, message", [
    (["--algorithm", "baseline"], "give the values to try as -g NAME=V1,V2"),
    (["--algorithm", "baseline", "-g", "reg_usr=1,2"], "has no parameter 'reg_usr'"),
    (["--algorithm", "baseline", "-g", "reg_user=1,2", "--metric", "rsme"],
     "metrics == 'rsme'"),
    (["--algorithm", "baseline", "-g", "reg_user=1,2", "--n-jobs", "0"], "n_jobs == 0"),
])
def test_cli_tune_bad_arguments(capsys, argv, message):
    from fastcf.cli import main

    assert main(["tune", "--data", "synthetic:2k", *argv]) == 2
    assert message in capsys.readouterr().err


def test_cli_tune_bad_grid_syntax(capsys):
    from fastcf.cli import main

    with pytest.raises(SystemExit):
        main(["tune", "--data", "synthetic:2k", "--algorithm", "baseline", "-g", "reg_user"])
    assert "is not name=value1,value2" in capsys.readouterr().err


def test_rating_metrics_only_rank_nothing(data):
    from fastcf.evaluation import evaluate

    train, test = kfold(data, 2)[0]
    row = evaluate(BaselineOnly(), train, test, ["rmse"])
    assert row["recommend_s"] == 0.0 and row["n_users"] == 0 and row["predict_s"] > 0
    assert evaluate(BaselineOnly(), train, test, ["rmse", "ndcg"])["n_users"] > 0
