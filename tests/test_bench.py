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
    reported = [t for t in reported if np.isfinite(t)]
    # fit / predict / recommend of 8 models, fit of 2 similarity rows, 2 thread counts and
    # 3 data sizes of 2 scaling algorithms
    assert len(reported) == 8 * 3 + 2 + 2 * (2 + 3)
    # the data's generation is the first timed call; every other is a reported time
    assert sorted(reported) == durations[1:]
    assert f"in {durations[0]:.2f} s" in results["data"]
    assert all(row["jit_s"] >= 0 for row in rows.values())
    assert set(scaling["jit_s"]) == set(scaling["threads"])


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
