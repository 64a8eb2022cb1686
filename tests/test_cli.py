"""The command line: `fastcf info` and `fastcf benchmark` (the main job)."""

import argparse
import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import fastcf
from fastcf.cli import main


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "numba_threading_layer" in out and "cython_openmp" in out


def test_benchmark_prints_table_and_writes_results(capsys, tmp_path):
    code = main(["benchmark", "--data", "synthetic:5k", "--peers", "none", "--repeats", "1",
                 "--quiet", "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "| baseline | fastcf |" in out and "5,000 ratings" in out
    results = json.loads((tmp_path / "results.json").read_text())
    row = results["rows"][0]
    assert row["algorithm"] == "baseline" and 0.3 < row["rmse"] < 1.5
    rows = {r["algorithm"]: r for r in results["rows"]}
    assert 0.3 < rows["mlp"]["rmse"] < 1.5
    assert 0.0 <= rows["neumf"]["ndcg_sampled"] <= rows["neumf"]["hit_rate_sampled"] <= 1.0
    assert 0.0 <= rows["itemknn_cosine"]["precision"] <= 1.0
    assert rows["itemsim_pearson"]["fit_s"] > 0
    assert (tmp_path / "results.md").read_text().startswith("Data: synthetic:5k")
    curves, scaling = results["learning_curves"], results["scaling"]
    assert len(curves["mf"]) == 20 and len(curves["mlp"]) == 5
    assert set(scaling["threads"]) == {"mf (blocked)", "itemsim_pearson"}
    assert list(scaling["data"]["mf (blocked)"]) == ["1000", "2000", str(results["train"])]


def test_benchmark_plots_or_says_why(capsys, tmp_path):
    assert main(["benchmark", "--data", "synthetic:2k", "--algorithms", "baseline,mf",
                 "--peers", "none", "--repeats", "1", "--quiet", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "plots skipped: matplotlib is not installed" in out
    else:
        for name in ("times.png", "learning_curves.png", "scaling_threads.png",
                     "scaling_data.png"):
            assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG", name


def test_benchmark_reads_movielens_files(capsys, tmp_path):
    lines = [f"{u}\t{i}\t{(u * i) % 5 + 1}\t{1000 + u * 100 + i}"
             for u in range(1, 30) for i in range(1, 30) if (u + i) % 3]
    (tmp_path / "u.data").write_text("\n".join(lines) + "\n")
    assert main(["benchmark", "--data", str(tmp_path), "--peers", "none", "--repeats", "1",
                 "--quiet"]) == 0
    assert f"{len(lines):,} ratings" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["benchmark", "--data", "synthetic:huge"], "must be synthetic:<size>"),
    (["benchmark", "--algorithms", "nope", "--peers", "none"], "algorithms ['nope'] unknown"),
    (["benchmark", "--peers", "mahout"], "peers ['mahout'] unknown"),
    (["benchmark", "--repeats", "0", "--peers", "none"], "repeats == 0, must be >= 1"),
])
def test_benchmark_bad_arguments(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_python_dash_m_entry_point():
    out = subprocess.run([sys.executable, "-m", "fastcf", "info"], capture_output=True,
                         text=True, check=True).stdout
    assert "backends" in out


def test_benchmark_refuses_a_peer_that_is_not_installed(capsys, monkeypatch):
    import fastcf.benchmark as bench

    monkeypatch.setattr(bench, "installed_peers", lambda: [])
    assert main(["benchmark", "--peers", "surprise"]) == 2
    assert "peers ['surprise'] are not installed" in capsys.readouterr().err


def test_train_recommend_evaluate_pipeline(capsys, tmp_path):
    model_path = tmp_path / "model.npz"
    assert main(["train", "--data", "synthetic:3k", "--algorithm", "mf", "-p", "factors=8",
                 "-p", "epochs=3", "-p", "lr=0.01", "--out", str(model_path)]) == 0
    model = fastcf.load(model_path)
    assert (model.factors, model.epochs, model.lr) == (8, 3, 0.01)
    users = model.user_ids_[:3]
    assert main(["recommend", "--model", str(model_path), "--users",
                 ",".join(str(u) for u in users), "-n", "4"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    items, scores = model.recommend(users, 4)
    assert list(frame.columns) == ["user", "rank", "item", "score"]
    assert frame["item"].tolist() == items.ravel().tolist()
    assert np.allclose(frame["score"], scores.ravel())
    ids = tmp_path / "users.txt"
    ids.write_text(f"{users[0]}\n\n{users[1]}\n")
    out = tmp_path / "recs.csv"
    assert main(["recommend", "--model", str(model_path), "--users-file", str(ids), "-n", "2",
                 "--out", str(out)]) == 0
    assert pd.read_csv(out)["user"].tolist() == [users[0]] * 2 + [users[1]] * 2
    table_path = tmp_path / "eval.csv"
    assert main(["evaluate", "--data", "synthetic:3k", "--algorithm", "baseline", "--metrics",
                 "rmse,ndcg", "--out", str(table_path)]) == 0
    assert "rmse" in capsys.readouterr().out
    assert list(pd.read_csv(table_path, index_col=0).columns[:2]) == ["rmse", "ndcg"]
    assert main(["evaluate", "--data", "synthetic:3k", "--algorithm", "baseline", "--metrics",
                 "rmse", "--folds", "3"]) == 0
    assert "fold 3" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["train", "--data", "synthetic:2k", "--algorithm", "svdpp", "--out", "m.npz"],
     "algorithm 'svdpp' unknown"),
    (["train", "--data", "synthetic:2k", "--algorithm", "mf", "-p", "factor=3", "--out",
      "m.npz"], "mf has no parameter factor"),
    (["train", "--data", "synthetic:2k", "--algorithm", "mf", "-p", "epochs=-1", "--out",
      "m.npz"], "epochs"),
    (["train", "--data", "/nonexistent/ratings.csv", "--algorithm", "mf", "--out", "m.npz"],
     "nonexistent"),
    (["recommend", "--model", "/nonexistent/model.npz", "--users", "1"], "nonexistent"),
    (["evaluate", "--data", "synthetic:2k", "--algorithm", "mf", "--metrics", "rsme"],
     "rsme"),
])
def test_pipeline_bad_arguments(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_recommend_user_ids_must_match_the_model(capsys, tmp_path):
    model_path = tmp_path / "model.npz"
    assert main(["train", "--data", "synthetic:2k", "--algorithm", "baseline",
                 "--out", str(model_path)]) == 0
    assert main(["recommend", "--model", str(model_path), "--users", "1,abc"]) == 2
    assert "user ids are integers" in capsys.readouterr().err
    assert main(["recommend", "--model", str(model_path)]) == 2
    assert "--users" in capsys.readouterr().err


def test_param_values_are_literals_or_strings():
    from fastcf.cli import _param

    assert _param("hidden=(16, 8)") == ("hidden", (16, 8))
    assert _param("schedule=blocked") == ("schedule", "blocked")
    with pytest.raises(argparse.ArgumentTypeError, match="not name=value"):
        _param("epochs")
