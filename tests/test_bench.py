"""fastcf.bench: every timed fastcf call is warmed up by itself first, so that no Numba
compilation happens inside a timed region (proved on a cold cache in a fresh process), the
JIT seconds are reported apart, and the old fastcf.benchmark names still work."""

import json
import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest
from numba.core import event

import fastcf
from fastcf.bench import timing

# ------------------------------------------------------------------------------ timing


def test_warm_median_time_calls_once_untimed_then_times_repeats(monkeypatch):
    calls, timed = [], []

    def fake_timed_call(fn):
        timed.append(len(calls))  # how many calls had happened before this timed one
        return float(len(timed)), fn()

    monkeypatch.setattr(timing, "_timed_call", fake_timed_call)
    seconds, result, jit_s = timing.warm_median_time(lambda: calls.append(1) or len(calls), 3)
    assert timed == [1, 2, 3]  # the first call is the untimed warm-up
    assert (seconds, result) == (2.0, 4)  # the median of 1, 2, 3 and the last result
    assert jit_s == 0.0  # nothing to compile


def test_the_jit_seconds_are_those_of_the_warm_up():
    @numba.njit(cache=False)
    def fresh(x):  # a kernel this process has never compiled
        return x + 1

    compiled_in_timed_runs = []

    def run():
        with event.install_recorder("numba:compile") as recorder:
            value = fresh(41)
        compiled_in_timed_runs.append(len(recorder.buffer))
        return value

    seconds, result, jit_s = timing.warm_median_time(run, 2)
    assert result == 42 and jit_s > 0 and seconds >= 0
    assert compiled_in_timed_runs == [2, 0, 0]  # start and end events, in the warm-up only
    assert timing.compile_seconds(lambda: fresh(1)) == (0.0, 2)  # compiled: nothing more


# ------------------------------------------------------- every timed call is warmed up
def test_every_reported_time_is_a_timed_call_warmed_up_by_itself(monkeypatch):
    """Each timed region follows an untimed call of the very same function, and every
    time in the results is the median of such timed regions (here each one "takes" a
    distinct fake duration, so a time measured any other way would show)."""
    log, durations = [], []
    warm_up = timing._warm_up

    def recording_warm_up(fn):
        log.append(("warm", fn))
        return warm_up(fn)

    def fake_timed_call(fn):
        log.append(("timed", fn))
        durations.append(1000.0 + len(durations))
        return durations[-1], fn()

    monkeypatch.setattr(timing, "_warm_up", recording_warm_up)
    monkeypatch.setattr(timing, "_timed_call", fake_timed_call)
    results = fastcf.bench.run_benchmark(data="synthetic:2k", peers="none", repeats=1,
                                         n_threads=2, progress=False)
    ranking = {row["algorithm"]: row for row in results["ranking"]["rows"]}
    assert set(ranking) == set(fastcf.bench.RANKING_PROTOCOL_ALGORITHMS)
    for i, (kind, fn) in enumerate(log):
        if kind == "timed":
            assert log[i - 1] == ("warm", fn), f"timed call {i} was not warmed up by itself"
    rows = {row["algorithm"]: row for row in results["rows"]}
    assert set(rows) == set(fastcf.bench.FASTCF_ALGORITHMS)
    reported = [row[f"{what}_s"] for row in rows.values()
                for what in ("fit", "predict", "recommend")]
    scaling = results["scaling"]
    for by in ("threads", "data"):
        for points in scaling[by].values():
            reported += list(points.values())
    reported += [row[f"{what}_s"] for row in ranking.values() for what in ("fit", "recommend")]
    reported = [t for t in reported if np.isfinite(t)]
    # fit / predict / recommend of each model, fit of each similarity row, 2 thread counts
    # and 3 data sizes of 2 scaling algorithms, fit / recommend of the ranking rows
    n_similarity = len(fastcf.bench.algorithms.SIMILARITY_KINDS)
    n_models = len(fastcf.bench.FASTCF_ALGORITHMS) - n_similarity
    assert len(reported) == n_models * 3 + n_similarity + 2 * (2 + 3) + 2 * len(ranking)
    # the data's generation is the first timed call; every other is a reported time
    assert sorted(reported) == durations[1:]
    assert f"in {durations[0]:.2f} s" in results["data"]
    assert all(row["jit_s"] >= 0 for row in rows.values())
    assert set(scaling["jit_s"]) == set(scaling["threads"])


# ------------------------------------------------------------------ ranking protocol
@pytest.fixture(scope="module")
def ranking_split():
    return fastcf.bench.ranking_split(fastcf.make_ratings(150, 120, 3000, seed=7), seed=3)


def test_the_ranking_split_is_implicit_and_within_users(ranking_split):
    data = fastcf.make_ratings(150, 120, 3000, seed=7)
    train, test = ranking_split
    assert train.implicit and test.implicit and len(train) + len(test) == data.nnz
    per_user = test.to_frame().groupby("user").size()
    counts = data.to_frame().groupby("user").size()
    np.testing.assert_array_equal(per_user.reindex(counts.index, fill_value=0),
                                  np.round(0.25 * counts))  # user_split's round(0.25 n_u)
    again = fastcf.bench.ranking_split(data.take(np.arange(data.nnz)), seed=3)
    assert again[1].to_frame().equals(test.to_frame())


@pytest.mark.parametrize("name", sorted(fastcf.bench.RANKING_PROTOCOL_ALGORITHMS))
def test_a_fastcf_ranking_row_is_evaluate_on_the_protocol(name, ranking_split):
    from fastcf.bench.algorithms import RANKING_PROTOCOL_ALGORITHMS
    from fastcf.evaluation import evaluate

    train, test = ranking_split
    row = fastcf.bench.run_fastcf_ranking(name, train, test, n_threads=1, repeats=1, seed=4)
    want = evaluate(RANKING_PROTOCOL_ALGORITHMS[name](1, 4), train, test,
                    list(fastcf.bench.RANKING_METRICS), k=10)
    for metric in fastcf.bench.RANKING_METRICS:
        assert getattr(row, metric) == pytest.approx(want[metric], rel=1e-12), metric
    assert row.n_ranked == want["n_users"] and row.fit_s >= 0 and row.recommend_s > 0
    assert row.library == "fastcf" and row.jit_s >= 0


def test_popularity_is_the_floor_of_the_ranking_table(ranking_split):
    train, test = ranking_split
    rows = {name: fastcf.bench.run_fastcf_ranking(name, train, test, repeats=1)
            for name in ("popularity", "itemknn_cosine")}
    assert 0 < rows["popularity"].ndcg <= 1 and 0 < rows["popularity"].coverage < 1
    # the same list for everyone: at most n + the most any user has seen distinct items
    assert rows["popularity"].coverage * train.n_items <= 10 + train.user_counts().max()


@pytest.mark.parametrize("algorithm, peer", [
    ("itemknn_cosine", "implicit"), ("itemknn_bm25", "implicit"), ("als", "implicit"),
    ("bpr", "implicit"), ("bpr", "cornac")])
def test_a_peer_ranking_row_is_scored_like_fastcf(algorithm, peer, ranking_split):
    pytest.importorskip(peer)
    train, test = ranking_split
    row = fastcf.bench.run_ranking_job(algorithm, peer, train, test, n_threads=1, repeats=1)
    assert (row.algorithm, row.library) == (algorithm, peer)
    assert row.fit_s > 0 and row.recommend_s > 0 and row.n_ranked == test.n_users
    for metric in fastcf.bench.RANKING_METRICS:
        assert 0 <= getattr(row, metric) <= 1, metric
    if algorithm == "itemknn_cosine":  # the same top-40 cosine: the same lists
        ours = fastcf.bench.run_fastcf_ranking(algorithm, train, test, repeats=1)
        assert row.ndcg == pytest.approx(ours.ndcg, abs=0.02)
        assert row.precision == pytest.approx(ours.precision, abs=0.02)


def test_the_ranking_table_is_in_the_report_and_can_be_skipped():
    results = fastcf.bench.run_benchmark(data="synthetic:2k", algorithms=["popularity", "mf"],
                                         peers="none", repeats=1, progress=False,
                                         scaling=False)
    assert [r["algorithm"] for r in results["rows"]] == ["mf"]
    assert [r["algorithm"] for r in results["ranking"]["rows"]] == ["popularity"]
    text = fastcf.bench.format_markdown(results)
    assert "Ranking protocol (top-10 from implicit feedback)" in text
    assert "| algorithm | library | NDCG@10 | P@10 | recall@10 | coverage |" in text
    assert "| popularity | fastcf |" in text
    skipped = fastcf.bench.run_benchmark(data="synthetic:2k", algorithms=["popularity"],
                                         peers="none", repeats=1, progress=False,
                                         scaling=False, ranking=False)
    assert skipped["ranking"] is None and skipped["rows"] == []
    assert "Ranking protocol" not in fastcf.bench.format_markdown(skipped)


def test_ranking_peers_are_compared_with_the_fastcf_row_of_their_name(monkeypatch):
    import fastcf.bench.job as job
    import fastcf.bench.ranking as ranking

    def fake_peer(train, test, repeats, n_threads, seed=0):
        return {"fit_s": 2.0, "recommend_s": 3.0, "ndcg": 0.5, "n_ranked": 1}

    monkeypatch.setattr(ranking, "ranking_peer_runners",
                        lambda: {"popularity": {"surprise": fake_peer}})
    monkeypatch.setattr(job, "installed_peers", lambda: ["surprise"])  # CI has no peers
    results = fastcf.bench.run_benchmark(data="synthetic:2k", algorithms=["popularity"],
                                         peers="surprise", repeats=1, progress=False,
                                         scaling=False)
    ours, theirs = results["ranking"]["rows"]
    assert (ours["library"], theirs["library"]) == ("fastcf", "surprise")
    assert ours["speedup"]["surprise"]["fit"] == pytest.approx(2.0 / ours["fit_s"])
    assert ours["speedup"]["surprise"]["recommend"] == pytest.approx(3.0 / ours["recommend_s"])
    assert "surprise: " in fastcf.bench.format_markdown(results)


def test_the_ml100k_ranking_script_reports_mean_and_sd_over_seeds(tmp_path):
    rng = np.random.default_rng(1)
    with open(tmp_path / "u.data", "w") as fh:
        for user in range(1, 41):
            for item in rng.choice(np.arange(1, 61), 12, replace=False):
                fh.write(f"{user}\t{item}\t{rng.integers(1, 6)}\t{880000000 + user}\n")
    script = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "ranking_ml100k.py")
    source = os.path.dirname(os.path.dirname(os.path.abspath(fastcf.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (source, os.environ.get("PYTHONPATH")) if p))
    done = subprocess.run([sys.executable, script, "--data", str(tmp_path / "u.data"),
                           "--seeds", "0,1,2", "--algorithms", "popularity,itemknn_cosine",
                           "--peers", "none", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| popularity | fastcf | 0." in done.stdout and " ± " in done.stdout
    assert "BiVAE 0.475" in done.stdout
    rows = json.loads((tmp_path / "out" / "results.json").read_text())["rows"]
    assert {(r["algorithm"], r["seeds"]) for r in rows} == {("popularity", 3),
                                                           ("itemknn_cosine", 3)}
    assert all(r["ndcg_sd"] >= 0 and 0 < r["ndcg"] <= 1 for r in rows)


# ----------------------------------------------------------------- a cold Numba cache
_COLD_CHILD = textwrap.dedent("""
    import glob, importlib.util, json, os, sys
    # an install without a C compiler: no Cython extension, every kernel on Numba
    package = importlib.util.find_spec("fastcf").submodule_search_locations[0]
    for path in glob.glob(os.path.join(package, "kernels", "_*.so")):
        sys.modules["fastcf.kernels." + os.path.basename(path).split(".")[0]] = None
    from numba.core import event
    from fastcf.bench import run_benchmark, timing
    from fastcf.kernels import _registry
    assert not _registry.available_backends()["cython"]
    compiled = []
    def watched(fn):
        with event.install_recorder("numba:compile") as recorder:
            out = timing._timed_call_unwatched(fn)
        compiled.extend(e.data["dispatcher"].py_func.__qualname__
                        for _, e in recorder.buffer if e.is_start)
        return out
    timing._timed_call_unwatched, timing._timed_call = timing._timed_call, watched
    results = run_benchmark(data=sys.argv[1], algorithms=["baseline", "mf"], peers="none",
                            repeats=1, n_threads=2, progress=False)
    print(json.dumps({"compiled_in_timed": compiled,
                      "jit_s": [row["jit_s"] for row in results["rows"]],
                      "scaling_jit_s": results["scaling"]["jit_s"]}))
""")


def test_no_compilation_inside_a_timed_region_on_a_cold_cache(tmp_path):
    """A fresh process, an empty Numba cache and no Cython build: every kernel compiles
    during the run. Before the warm-ups ran the very call they precede, baseline's first
    timed recommend compiled topk for float64 and the first timed blocked MF fit of the
    scaling runs compiled sgd_epoch_blocked."""
    rng = np.random.default_rng(0)
    users, items = rng.integers(1, 120, 3000), rng.integers(1, 200, 3000)
    pairs = np.unique(np.stack([users, items], axis=1), axis=0)
    with open(tmp_path / "u.data", "w") as fh:
        for (user, item), rating in zip(pairs, rng.integers(1, 6, len(pairs))):
            fh.write(f"{user}\t{item}\t{rating}\t{880000000 + int(user)}\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    source = os.path.dirname(os.path.dirname(os.path.abspath(fastcf.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
    done = subprocess.run([sys.executable, "-c", _COLD_CHILD, str(tmp_path / "u.data")],
                          capture_output=True, text=True, env=env, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["compiled_in_timed"] == []
    # the cache was cold: the kernels compiled, in the untimed warm-ups, and were counted
    assert all(jit_s > 0 for jit_s in report["jit_s"]), report
    assert report["scaling_jit_s"]["mf (blocked)"] > 0, report


# ------------------------------------------------------------------ the library apart
def test_the_library_does_not_import_the_bench():
    code = ("import sys, fastcf, fastcf.evaluation, fastcf.cli, fastcf.persist, "
            "fastcf.metrics, fastcf.split; "
            "print([m for m in sys.modules if m.startswith(('fastcf.bench', 'fastcf.benchmark'))])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=dict(os.environ, PYTHONPATH=os.path.dirname(
                             os.path.dirname(os.path.abspath(fastcf.__file__))))).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", ["run_benchmark", "format_markdown", "write_results",
                                  "load_data", "installed_peers", "median_time", "Row",
                                  "DEFAULT_DATA", "FASTCF_ALGORITHMS", "SYNTHETIC_PRESETS"])
def test_fastcf_benchmark_is_a_deprecated_alias(name):
    import fastcf.benchmark as old

    with pytest.warns(DeprecationWarning, match=f"use fastcf.bench.{name}"):
        assert getattr(old, name) is getattr(fastcf.bench, name)
    with pytest.raises(AttributeError, match="has no attribute '_run_fastcf'"):
        old._run_fastcf  # noqa: B018 - the attribute access is the test


def test_the_torch_peer_runs_in_a_child_launched_by_its_fastcf_bench_path():
    pytest.importorskip("torch")
    from fastcf.bench.algorithms import MLP_PARAMS
    from fastcf.bench.peers.torch import torch_model
    from fastcf.split import random_split

    train, test = random_split(fastcf.make_ratings(60, 40, 900, seed=2), 0.2, seed=0)
    params = dict(MLP_PARAMS, epochs=1)
    fields = torch_model("mlp", params)(train, test, 1, 1)
    assert set(fields) == {"fit_s", "predict_s", "rmse", "mae"}
    assert 0.3 < fields["rmse"] < 2.0 and fields["fit_s"] > 0
