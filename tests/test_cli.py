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
    ranking = {r["algorithm"]: r for r in results["ranking"]["rows"]}
    assert set(ranking) == set(fastcf.bench.RANKING_PROTOCOL_ALGORITHMS)
    assert 0 < ranking["popularity"]["ndcg"] <= 1 and results["ranking"]["repeats"] == 1
    assert "| popularity | fastcf |" in out and "recall@10" in out
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
    (["benchmark", "--ranking-repeats", "0", "--peers", "none"],
     "ranking_repeats == 0, must be >= 1"),
])
def test_benchmark_bad_arguments(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_python_dash_m_entry_point():
    out = subprocess.run([sys.executable, "-m", "fastcf", "info"], capture_output=True,
                         text=True, check=True).stdout
    assert "backends" in out


def test_benchmark_refuses_a_peer_that_is_not_installed(capsys, monkeypatch):
    import fastcf.bench.job as bench

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
    (["train", "--data", "synthetic:2k", "--algorithm", "svdppp", "--out", "m.npz"],
     "algorithm 'svdppp' unknown"),
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
    assert _param("implicit=false") == ("implicit", False) and _param("clip=True")[1] is True
    with pytest.raises(argparse.ArgumentTypeError, match="not name=value"):
        _param("epochs")


# ------------------------------------------------------------ what --help says

def help_text(capsys, *argv):
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_main_help_is_plain_text(capsys):
    text = help_text(capsys)
    assert "``" not in text and ":func:" not in text and ".. " not in text
    for command in ("info", "benchmark", "train", "recommend", "evaluate"):
        assert command in text
    assert "synthetic:<size>" in text and "csv / tsv / parquet" in text
    assert "examples:" in text


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"fastcf {fastcf.__version__}"


@pytest.mark.parametrize("command, phrase", [
    ("info", "kernel backends available"),
    ("benchmark", "JIT compile time"),
    ("train", "writes the fitted model"),
    ("recommend", "top -n items of each user"),
    ("evaluate", "n_users (users ranked)"),
])
def test_every_command_has_a_description(capsys, command, phrase):
    assert phrase in " ".join(help_text(capsys, command).split())


@pytest.mark.parametrize("command, option, default", [
    ("recommend", "-n N", "(default: 10)"),
    ("evaluate", "-k K", "(default: 10)"),
    ("evaluate", "--folds FOLDS", "(default: one split)"),
    ("evaluate", "--seed SEED", "(default: 0)"),
    ("evaluate", "--test-size TEST_SIZE", "(default: 0.2)"),
    ("evaluate", "--threads THREADS", "(default: all usable cores)"),
    ("train", "--threads THREADS", "(default: all usable cores)"),
    ("benchmark", "--repeats REPEATS", "(default: 3)"),
    ("benchmark", "--seed SEED", "(default: 0)"),
    ("benchmark", "--data DATA", "(default: synthetic:100k)"),
    ("benchmark", "--peers PEERS", "(default: auto)"),
])
def test_options_show_their_defaults(capsys, command, option, default):
    text = " ".join(help_text(capsys, command).split())
    start = text.index(option + " ", text.index("options:"))
    following = text[start + len(option):]
    next_option = following.find(" --", 1)
    assert default in following[:next_option if next_option > 0 else None]


def test_evaluate_help_lists_the_metrics(capsys):
    from fastcf.evaluation import METRICS

    text = " ".join(help_text(capsys, "evaluate").split())
    assert "--metrics METRICS comma-separated, from: " + ", ".join(METRICS) in text


def test_recommend_help_describes_the_output_columns(capsys):
    text = help_text(capsys, "recommend")
    for column in ("user", "rank", "item", "score"):
        assert f"\n  {column} " in text
    assert "fallback ranking" in text


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_help_lists_each_algorithms_parameters(capsys, command):
    import inspect

    from fastcf.cli import ALGORITHMS

    text = " ".join(help_text(capsys, command).split())
    for name, class_name in ALGORITHMS.items():
        cls = getattr(fastcf, class_name)
        start = text.index(f"{name} ({class_name}):")
        signature = inspect.signature(cls.__init__).parameters
        for param in cls().get_params():
            default = signature[param].default
            shown = np.dtype(default).name if isinstance(default, type) else repr(default)
            assert f"{param}={shown}" in text[start:], (name, param)


def test_data_flags_are_offered_wherever_a_data_file_is_read(capsys):
    for command in ("train", "evaluate"):
        text = help_text(capsys, command)
        for flag in ("--sep", "--columns", "--header, --no-header", "--format", "--implicit"):
            assert flag in text, (command, flag)


# ------------------------------------------------------- data files, counts, notes

@pytest.fixture(scope="module")
def ratings_rows():
    rng = np.random.default_rng(3)
    return [(u, int(i), int(rng.integers(1, 6))) for u in range(40)
            for i in rng.choice(30, 10, replace=False)]


def test_train_reads_a_plain_tsv_and_says_what_it_assumed(capsys, tmp_path, ratings_rows):
    data = tmp_path / "ratings.tsv"
    data.write_text("".join(f"{u}\t{i}\t{r}\n" for u, i, r in ratings_rows))
    out = tmp_path / "m.npz"
    assert main(["train", "--data", str(data), "--algorithm", "baseline", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "fastcf train: reading ratings.tsv: format tsv" in err
    assert "no header line" in err and "user = column 1, item = column 2, rating = column 3" in err
    model = fastcf.load(out)
    assert model.n_users_ == 40 and model.user_ids_.dtype.kind == "i"


def test_train_reads_user_id_item_id_score(capsys, tmp_path, ratings_rows):
    data = tmp_path / "mine.csv"
    data.write_text("user_id,item_id,score\n"
                    + "".join(f"u{u},i{i},{r}\n" for u, i, r in ratings_rows))
    out = tmp_path / "m.npz"
    assert main(["train", "--data", str(data), "--algorithm", "baseline", "--out", str(out)]) == 0
    assert "user = 'user_id', item = 'item_id', rating = 'score'" in capsys.readouterr().err
    assert fastcf.load(out).user_ids_[0] == "u0"


def test_data_flags_say_what_sniffing_cannot(capsys, tmp_path, ratings_rows):
    data = tmp_path / "wide.txt"
    data.write_text("".join(f"x;{i};{u};{r};y\n" for u, i, r in ratings_rows))
    out = tmp_path / "m.npz"
    argv = ["train", "--data", str(data), "--algorithm", "baseline", "--out", str(out)]
    assert main(argv) == 2
    assert "has 5 columns and no header line" in capsys.readouterr().err
    assert main([*argv, "--columns", "_,item,user,rating", "--sep", "semicolon",
                 "--no-header", "--format", "csv"]) == 0
    err = capsys.readouterr().err
    assert "separator ';' (given)" in err and "no header line (given)" in err
    assert "ignored column 1, column 5" in err
    assert fastcf.load(out).n_users_ == 40
    argv[argv.index("baseline")] = "itemknn"
    assert main([*argv, "--columns", "user=2,item=1,rating=3", "--implicit"]) == 0
    assert "rating column dropped (implicit=True)" in capsys.readouterr().err
    assert fastcf.load(out).item_ids_.dtype.kind == "i"
    assert main(["train", "--data", "synthetic:2k", "--sep", ",", "--algorithm", "baseline",
                 "--out", str(out)]) == 2
    assert "--sep apply to data files, not to synthetic:2k" in capsys.readouterr().err


def test_movielens_files_are_still_detected(capsys, tmp_path, ratings_rows):
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "u.data").write_text("".join(f"{u}\t{i}\t{r}\t{1000 + u}\n"
                                           for u, i, r in ratings_rows))
    assert main(["evaluate", "--data", str(folder), "--algorithm", "baseline",
                 "--metrics", "rmse"]) == 0
    assert "as a MovieLens ratings file" in capsys.readouterr().err


def test_parse_columns_and_sep():
    from fastcf.cli import _columns, _sep

    assert _columns("user,item,,rating") == ["user", "item", None, "rating"]
    assert _columns("user, item, _, -") == ["user", "item", None, None]
    assert _columns("user=uid,item=3") == {"user": "uid", "item": 3}
    with pytest.raises(argparse.ArgumentTypeError, match="'item' is not role=column"):
        _columns("user=uid,item")
    assert (_sep("tab"), _sep("\\t"), _sep("Whitespace"), _sep(":")) == ("\t", "\t", r"\s+", ":")


def test_evaluate_prints_counts_as_ints(capsys, tmp_path):
    argv = ["evaluate", "--data", "synthetic:3k", "--algorithm", "baseline", "--metrics",
            "rmse"]
    assert main([*argv, "--out", str(tmp_path / "one.csv")]) == 0
    out = capsys.readouterr().out
    header, row = out.splitlines()
    n_test, n_users = row.split()[-2:]
    assert n_test.isdigit() and n_users.isdigit() and int(n_test) == 600
    saved = pd.read_csv(tmp_path / "one.csv", index_col=0)
    assert saved["n_test"].dtype == np.int64
    assert main([*argv, "--folds", "3", "--out", str(tmp_path / "cv.csv")]) == 0
    lines = {line.split()[0] + (" " + line.split()[1] if line.startswith("fold") else ""):
             line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    for fold in ("fold 1", "fold 2", "fold 3"):
        assert lines[fold][-1].isdigit() and lines[fold][-2].isdigit()
    folds = [int(lines[f"fold {j}"][-2]) for j in (1, 2, 3)]
    assert lines["mean"][-2] == f"{np.mean(folds):.1f}"
    saved = pd.read_csv(tmp_path / "cv.csv", index_col=0)
    assert saved.loc["fold 1", "n_test"] == int(lines["fold 1"][-2])


def test_evaluate_implicit_data_gives_ranking_metrics(capsys, tmp_path, ratings_rows):
    data = tmp_path / "plays.tsv"
    data.write_text("".join(f"{u}\t{i}\t{r}\n" for u, i, r in ratings_rows))
    argv = ["evaluate", "--data", str(data), "--implicit", "--algorithm", "itemknn", "-p",
            "similarity='cosine_all'"]
    assert main([*argv, "--out", str(tmp_path / "one.csv")]) == 0
    table = pd.read_csv(tmp_path / "one.csv", index_col=0)
    assert "rmse" not in table and 0 < table.loc[table.index[0], "ndcg"] <= 1
    assert main([*argv, "--folds", "2", "--metrics", "ndcg,precision"]) == 0
    assert "fold 2" in capsys.readouterr().out
    assert main([*argv, "--metrics", "ndcg,rmse"]) == 2
    assert "rmse needs ratings, but test is implicit" in capsys.readouterr().err
    assert main(["evaluate", "--data", str(data), "--algorithm", "popularity", "--metrics",
                 "mae"]) == 2
    assert "mae needs predicted ratings, but Popularity" in capsys.readouterr().err


def test_recommend_names_unknown_users_on_stderr(capsys, tmp_path):
    model_path = tmp_path / "model.npz"
    assert main(["train", "--data", "synthetic:2k", "--algorithm", "baseline",
                 "--out", str(model_path)]) == 0
    capsys.readouterr()
    model = fastcf.load(model_path)
    known = int(model.user_ids_[0])
    assert main(["recommend", "--model", str(model_path), "--users", f"{known},999999,-5",
                 "-n", "3"]) == 0
    captured = capsys.readouterr()
    assert ("fastcf recommend: 2 of the 3 users are unknown to the model (999999, -5); they "
            "get its fallback ranking.") in captured.err
    frame = pd.read_csv(io.StringIO(captured.out))
    assert frame["user"].tolist() == [known] * 3 + [999999] * 3 + [-5] * 3  # fallback applies
    assert main(["recommend", "--model", str(model_path), "--users", str(known)]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_model_files_follow_the_umask(tmp_path, umask):
    import os
    import stat

    model = fastcf.BaselineOnly().fit(fastcf.make_ratings(30, 20, 200, seed=0))
    previous = os.umask(umask)
    try:
        model.save(tmp_path / "direct.npz")
        assert main(["train", "--data", "synthetic:2k", "--algorithm", "baseline",
                     "--out", str(tmp_path / "cli.npz")]) == 0
    finally:
        os.umask(previous)
    for name in ("direct.npz", "cli.npz"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o666 & ~umask, (name, oct(mode))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cli.npz", "direct.npz"]


def test_train_a_private_model_from_the_shell(capsys, tmp_path, ratings_rows):
    data = tmp_path / "ratings.tsv"
    data.write_text("".join(f"{u}\t{i}\t{r}\n" for u, i, r in ratings_rows))
    out = tmp_path / "dp.npz"
    argv = ["train", "--data", str(data), "--algorithm", "dpals", "-p", "factors=3",
            "-p", "epsilon=5", "--out", str(out)]
    assert main(argv) == 2  # the rating scale must be given, never read from the data
    assert "rating_range is None; give the rating scale" in capsys.readouterr().err
    assert main(argv + ["-p", "rating_range=1,5"]) == 0
    report = fastcf.load(out).privacy_report_
    assert report["epsilon"] <= 5.0 and report["rating_range"] == [1, 5]
    assert main(argv[:-4] + ["-p", "epsilon=inf", "-p", "rating_range=1,5", "--out",
                             str(out)]) == 0
    assert fastcf.load(out).privacy_report_["mechanism"] == "none"
