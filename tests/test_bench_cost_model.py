"""benchmarks/distributed_cost_model.py: its predictions from saved rates (no cluster, no
measuring), the laws they follow, and ``--predict-only`` end to end."""

import json
import os
import subprocess
import sys

import pytest

import fastcf

BENCHMARKS = os.path.join(os.path.dirname(__file__), "..", "benchmarks")

#: Rates of the shape ``--measure-only`` saves (made-up, round figures).
RATES = {
    "data": {"size": "1m", "n_users": 6000, "n_items": 3700, "n_ratings": 1_000_000},
    "cpus": 2, "load_before": "0.00 0.00 0.00", "load_after": "0.00 0.00 0.00",
    "factors": {"mf": 50, "als": 50, "topk": 40, "recommend": 100, "recommend_n": 10},
    "sgd": {"k": 50, "s_per_update": 5e-8, "updates_per_s": 2e7},
    "als": {"implicit": {"k": 50, "s_per_entry": 1e-7, "s_per_row": 1e-5}},
    "gram": {"s_per_row_k2": 2e-11},
    "similarity": {"k": 40, "s_per_pair": 3e-9, "s_per_distinct_pair": 2e-8,
                   "s_per_row": 2e-6, "prepare_s_per_rating": 1e-8,
                   "merge_s_per_value": 3e-8, "wire_bytes_per_rating": 20.0, "skew": 2.0},
    "recommend": {"k": 100, "n": 10, "s_per_score": 5e-9, "scores_per_s": 2e8,
                  "model_bytes_per_factor_row": 404, "model_bytes_per_rating": 4.0,
                  "result_bytes_per_row": 32.0},
    "network": {"bytes_per_s": 2e9, "latency_s": 1e-3},
    "tasks": {"round_trip_s": 2e-3, "chain_step_s": 3e-3, "chain_step_one_worker_s": 2e-3,
              "per_task_s": 3e-4},
}


@pytest.fixture()
def model(monkeypatch):
    monkeypatch.syspath_prepend(BENCHMARKS)
    import distributed_cost_model

    return distributed_cost_model


def test_dsgd_bytes_are_the_item_blocks_that_change_worker(model):
    n_items, k = 10_700, 50
    assert model.dsgd_epoch_bytes(n_items, k, 1) == 0  # one worker: nothing moves
    # 2 workers, grid 4: 4 strata and the change from the epoch before, half of the
    # item blocks change worker each time
    assert model.dsgd_epoch_bytes(n_items, k, 2) == 5 * 0.5 * n_items * 51 * 4
    net = model.Network(RATES)
    row = model.predict(RATES, "dsgd", 70_000, n_items, 10_000_000, 2, net)
    assert row["worker_bytes"] == model.dsgd_epoch_bytes(n_items, k, 2)
    assert row["compute_s"] == pytest.approx(10_000_000 * 5e-8 / 2)


def test_als_bytes_per_iteration_are_both_sides_w_plus_1_times(model):
    net = model.Network(RATES)
    for workers in (1, 2, 8):
        row = model.predict(RATES, "als", 70_000, 10_700, 10_000_000, workers, net)
        factors = (70_000 + 10_700) * 50 * 4
        grams = 2 * workers * 50 * 50 * 8  # the Gram goes with each broadcast
        assert row["net_bytes"] == factors * (workers + 1) + grams


def test_compute_shrinks_with_workers_and_a_faster_network_is_never_slower(model):
    shape = (*model.shape_of(1e9), 1e9)
    slow, fast = model.Network(RATES, 1.25e9, 1e-4), model.Network(RATES, 1.25e10, 1e-4)
    for job in model.JOBS:
        rows = [model.predict(RATES, job, *shape, w, slow) for w in (1, 8, 32, 128)]
        computes = [r["compute_s"] for r in rows]
        assert computes == sorted(computes, reverse=True)
        for w in (8, 32, 128):
            assert (model.predict(RATES, job, *shape, w, fast)["total_s"]
                    <= model.predict(RATES, job, *shape, w, slow)["total_s"])


def test_the_crossover_is_where_waiting_first_reaches_compute(model):
    shape = (*model.shape_of(1e9), 1e9)
    net = model.Network(RATES, 1.25e9, 1e-4)
    for job in model.JOBS:
        crossover, fastest, why = model.scaling_limits(RATES, job, shape, net,
                                                       max_workers=512)
        assert crossover is not None and 1 <= fastest <= 512
        at = model.predict(RATES, job, *shape, crossover, net)
        assert at["comm_s"] >= at["compute_s"]
        assert at["comm_s"] == pytest.approx(sum(at["parts"].values()))
        assert at["parts"][why] == max(at["parts"].values())
        if crossover > 1:
            before = model.predict(RATES, job, *shape, crossover - 1, net)
            assert before["comm_s"] < before["compute_s"]


def test_shape_laws(model):
    from fastcf.bench.load import synthetic_shape

    assert model.shape_of(4e6, "sqrt") == synthetic_shape("synthetic:4m")[:2]
    for n_ratings, n_users, n_items in model.PRESETS:  # fitted through them: close
        users, items = model.shape_of(n_ratings)
        assert 0.5 < users / n_users < 2 and 0.5 < items / n_items < 2
    users, items = model.shape_of(1e9)  # about linear in users, sublinear in items
    assert 5e6 < users < 1e7 and 5e5 < items < 1e6
    with pytest.raises(ValueError, match="shape law"):
        model.shape_of(1e9, "linear")


def test_predict_only_from_saved_rates(tmp_path):
    rates = tmp_path / "rates.json"
    rates.write_text(json.dumps(RATES))
    source = os.path.dirname(os.path.dirname(os.path.abspath(fastcf.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (source, os.environ.get("PYTHONPATH")) if p))
    done = subprocess.run([sys.executable, os.path.join(BENCHMARKS, "distributed_cost_model.py"),
                           "--predict-only", "--rates", str(rates), "--bandwidth",
                           "1.25e9,1.25e10", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {(r["bandwidth"], r["workers"]) for r in results["big"]} == {
        (b, w) for b in (1.25e9, 1.25e10) for w in (8, 32, 128)}
    assert {r["job"] for r in results["limits"]} == {
        "DSGD epoch", "ALS iteration (implicit)", "similarity top-40", "recommend-all"}
    assert "| 100 | DSGD epoch | 128 |" in done.stdout and "crossover" in done.stdout
