"""The command line: `fastcf info` and `fastcf benchmark` (the main job)."""

import json
import subprocess
import sys

import pytest

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
    assert 0.0 <= rows["neumf"]["ndcg"] <= rows["neumf"]["hit_rate"] <= 1.0
    assert (tmp_path / "results.md").read_text().startswith("Data: synthetic:5k")


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
