"""fastcf.distributed on Dask beside the single-machine calls: time, efficiency, bytes sent.

Data: ``make_ratings`` at ``fastcf benchmark``'s presets (10m: 70,000 users x
10,700 items; 25m: 162,000 x 59,000; ``--ratings 10m,25m`` runs each). Jobs:

1. item-item ``pearson`` top-40: ``fastcf.similarity(k=40)`` vs
   ``distributed.similarity_topk``;
2. recommend-all: ``MatrixFactorization(factors=100)`` (fitted untimed, 2
   epochs) ``recommend_frame`` of every user, n=10, vs ``distributed.recommend``
   ``.compute()``;
3. DSGD: ``fit_mf`` (50 factors, 5 epochs, its default grid) vs the
   single-machine blocked schedule, and their test RMSE;
4. ALS (implicit, 50 factors, 3 iterations): ``distributed.fit_als`` vs
   ``ALS(n_threads=1).fit``, factors compared bit for bit (skipped, with a
   note, where this fastcf has no ``fit_als``);
5. DSGD and ALS again on a ``distributed.persist`` handle (made and laid out
   by the untimed first call): the ratings stay on the cluster across calls.

Each single-machine job runs on 1 thread (its BLAS too, as Dask's workers
set it); the cluster is a ``LocalCluster`` of 1 and then 2 worker processes of
1 thread each (loopback), started untimed, so a ratio compares the same cores.
A distributed time includes everything the call does: preparing and sending
the data to the workers, the tasks, the merge and gathering the result.
Figures are the best of ``--repeats`` runs. Bytes are Dask's own counters:
the bytes the workers sent (``Worker.transfer_outgoing_bytes_total``: to
other workers and to the client), for a whole call; for DSGD also per epoch
(a fit of E epochs minus a fit of 1, over E - 1, so the one-off layout and
final gather cancel) against the cost model's prediction
(``distributed_cost_model.py``). Overhead at 1 worker = distributed / single
- 1; efficiency at 2 workers = single / (2 x distributed).

    python benchmarks/distributed_scaling.py [--ratings 10m,25m] [--repeats 3] [--out DIR]
"""

import argparse
import os
import sys
import time

import numpy as np
from _common import finish, load_average
from threadpoolctl import threadpool_limits

import fastcf
from fastcf import distributed
from fastcf.bench.load import synthetic_shape
from fastcf.metrics import rmse
from fastcf.split import random_split

K, N = 40, 10
#: Factors of the DSGD and ALS jobs, DSGD epochs, ALS iterations.
MF_FACTORS, MF_EPOCHS, ALS_FACTORS, ALS_ITERATIONS = 50, 5, 50, 3
SIMILARITY_JOB, RECOMMEND_JOB = "similarity top-40 (item-item pearson)", "recommend-all (MF, n=10)"
DSGD_JOB, ALS_JOB = "MF fit, 5 epochs (blocked vs DSGD)", "ALS fit, 3 iterations (implicit)"
#: The same fits on a ``distributed.persist`` handle made (and laid out) untimed: data that
#: stays on the cluster across calls, the ratings not sent again.
DSGD_PERSISTED_JOB, ALS_PERSISTED_JOB = DSGD_JOB + ", persisted", ALS_JOB + ", persisted"
#: The jobs whose 1-worker overhead has a target (issue 8): DSGD's is reported only.
OVERHEAD_TARGET_JOBS = (SIMILARITY_JOB, RECOMMEND_JOB)
#: Issue 19's targets: DSGD on 2 workers faster than one machine, on 1 worker within +30 %;
#: ALS on 2 workers at least 1.6x one machine (identical factors).
DSGD_1_WORKER_MAX_OVERHEAD, ALS_2_WORKER_MIN_SPEEDUP = 0.30, 1.6


def has_fit_als():
    return hasattr(distributed, "fit_als")


def dsgd_model(epochs=MF_EPOCHS):
    return fastcf.MatrixFactorization(factors=MF_FACTORS, epochs=epochs, n_threads=1, seed=0)


def als_model():
    return fastcf.ALS(factors=ALS_FACTORS, iterations=ALS_ITERATIONS, n_threads=1, seed=0)


def jobs(data, train, test, model):
    """name -> (single-machine call, distributed call(client), check(single, distributed))."""
    users = model.user_ids_

    def same_csr(a, b):
        return all(np.array_equal(x, y) for x, y in zip(a[:3], b[:3]))

    def test_rmse(m):
        frame = test.to_frame()
        return rmse(frame["rating"], m.predict(frame["user"], frame["item"]))

    def same_factors(a, b):
        same = (np.array_equal(a.user_factors_, b.user_factors_)
                and np.array_equal(a.item_factors_, b.item_factors_))
        return "identical factors" if same else "DIFFERENT factors"

    def same_recommendations(a, b):
        b = b.reset_index(drop=True)
        if a.equals(b):
            return "identical"
        if a[["user", "rank", "item"]].equals(b[["user", "rank", "item"]]):
            # the fused GEMM + top-k kernel sums a score in an order that depends on
            # the batch of users: the last bit of a float32 score may differ
            return f"same items, scores within {(a.score - b.score).abs().max():.1e}"
        return "DIFFERENT"

    work = {
        SIMILARITY_JOB: (
            lambda: fastcf.similarity(data, "pearson", axis="item", k=K, n_threads=1),
            lambda c: distributed.similarity_topk(data, "pearson", axis="item", k=K,
                                                  client=c, n_threads=1),
            lambda a, b: "identical" if same_csr(a, b) else "DIFFERENT"),
        RECOMMEND_JOB: (
            lambda: model.recommend_frame(users, N),
            lambda c: distributed.recommend(model, users, N, client=c,
                                            block_users=-(-len(users) // 8)).compute(),
            same_recommendations),
        DSGD_JOB: (
            lambda: dsgd_model().set_params(schedule="blocked").fit(train),
            lambda c: distributed.fit_mf(dsgd_model(), train, client=c),
            lambda a, b: f"test RMSE {test_rmse(a):.4f} vs {test_rmse(b):.4f}"),
    }
    handles = {}

    def persisted(c):  # one handle per cluster; the untimed first call lays it out
        if id(c) not in handles:
            handles[id(c)] = distributed.persist(train, c)
        return handles[id(c)]

    work[DSGD_PERSISTED_JOB] = (
        work[DSGD_JOB][0], lambda c: distributed.fit_mf(dsgd_model(), persisted(c)),
        work[DSGD_JOB][2])
    if has_fit_als():
        work[ALS_JOB] = (lambda: als_model().fit(train),
                         lambda c: distributed.fit_als(als_model(), train, client=c),
                         same_factors)
        work[ALS_PERSISTED_JOB] = (
            work[ALS_JOB][0], lambda c: distributed.fit_als(als_model(), persisted(c)),
            same_factors)
    return work


def worker_bytes_sent(client):
    """Bytes every worker of ``client`` has sent so far (Dask's counter), summed."""
    from fastcf.distributed import dsgd

    counters = getattr(dsgd, "transferred_bytes", None)  # the library's, where it has one
    if counters is None:
        def counters(c):
            return c.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total)
    return int(sum(counters(client).values()))


def timed_with_bytes(client, call, repeats):
    """(best seconds, the bytes the workers sent in that call, its result) of ``call()``."""
    best = None
    for _ in range(repeats):
        before = worker_bytes_sent(client)
        start = time.perf_counter()
        out = call()
        seconds = time.perf_counter() - start
        sent = worker_bytes_sent(client) - before
        if best is None or seconds < best[0]:
            best = (seconds, sent, out)
    return best


def dsgd_bytes_per_epoch(client, train, epochs=MF_EPOCHS):
    """Bytes the workers send per DSGD epoch: (a fit of ``epochs`` - a fit of 1) / (epochs - 1).

    The layout sent once and the factors gathered at the end are in both fits,
    so they cancel; what is left is what the epochs themselves move.
    """
    sent = []
    for n in (1, epochs):
        before = worker_bytes_sent(client)
        distributed.fit_mf(dsgd_model(n), train, client=client)
        sent.append(worker_bytes_sent(client) - before)
    return (sent[1] - sent[0]) / (epochs - 1)


def per_epoch_seconds(model):
    """The best epoch time of a fitted model's ``history_`` (None if it has none)."""
    history = getattr(model, "history_", None)
    return min(e["seconds"] for e in history) if history else None


def prepare(size):
    """(data, train, test, recommend model, description) at a ``fastcf benchmark`` size."""
    n_users, n_items, n_ratings = synthetic_shape(f"synthetic:{size}")
    data = fastcf.make_ratings(n_users, n_items, n_ratings, seed=0)
    _ = data.by_item
    train, test = random_split(data, 0.2, seed=0)
    _ = train.by_item
    model = fastcf.MatrixFactorization(factors=100, epochs=2, n_threads=1).fit(data)
    return data, train, test, model, {
        "size": size, "n_users": data.n_users, "n_items": data.n_items, "n_ratings": data.nnz,
        "train_ratings": train.nnz,
        "text": f"make_ratings({n_users}, {n_items}, {n_ratings}): {data.nnz:,} ratings"}


def measure(size, repeats, workers=(1, 2), log=sys.stderr):
    """Every job at ``size`` on one machine and on LocalClusters of ``workers``: rows."""
    from dask.distributed import Client, LocalCluster

    data, train, test, model, shape = prepare(size)
    work = jobs(data, train, test, model)
    rows, single = [], {}
    for name, (local, _, _) in work.items():
        local()  # JIT / cache load, untimed
        with threadpool_limits(1):  # the workers' BLAS runs one thread
            single[name] = min(_timed(local) for _ in range(repeats))
        print(f"{size} {name}: single machine {single[name][0]:.2f} s", file=log)
    for n_workers in workers:
        with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address=None) as cluster, \
                Client(cluster) as client:
            for name, (_, remote, check) in work.items():
                remote(client)  # workers import fastcf, load kernels: untimed
                seconds, sent, out = timed_with_bytes(client, lambda r=remote: r(client),
                                                      repeats)
                alone, alone_out = single[name]
                row = {"ratings": size, "job": name, "workers": n_workers, "single_s": alone,
                       "dask_s": seconds, "bytes_sent": sent,
                       "overhead": seconds / alone - 1,
                       "efficiency": alone / (n_workers * seconds),
                       "single_epoch_s": per_epoch_seconds(alone_out),
                       "dask_epoch_s": per_epoch_seconds(out),
                       "check": check(alone_out, out)}
                if name == DSGD_JOB:
                    row["bytes_per_epoch"] = dsgd_bytes_per_epoch(client, train)
                rows.append(row)
                print(f"{size} {name}: {n_workers} worker(s) {seconds:.2f} s, "
                      f"{sent / 1e6:.1f} MB sent", file=log)
    return shape, rows


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def targets(rows):
    """Issue 19's targets, one line each: (size, text)."""
    out = []
    by = {(r["ratings"], r["job"], r["workers"]): r for r in rows}
    for size in dict.fromkeys(r["ratings"] for r in rows):
        for job, how in ((DSGD_JOB, ""), (DSGD_PERSISTED_JOB, ", persisted")):
            dsgd1, dsgd2 = by.get((size, job, 1)), by.get((size, job, 2))
            if dsgd2:
                met = dsgd2["dask_s"] < dsgd2["single_s"]
                out.append((size, f"DSGD{how} on 2 workers faster than one machine on 1 "
                                  f"thread: {dsgd2['dask_s']:.2f} s vs "
                                  f"{dsgd2['single_s']:.2f} s, {'met' if met else 'NOT met'} "
                                  f"({dsgd2['check']})"))
            if dsgd1:
                met = dsgd1["overhead"] <= DSGD_1_WORKER_MAX_OVERHEAD
                out.append((size, f"DSGD{how} on 1 worker within +30 %: "
                                  f"{dsgd1['overhead']:+.0%}, {'met' if met else 'NOT met'}"))
        for job, how in ((ALS_JOB, ""), (ALS_PERSISTED_JOB, ", persisted")):
            als2 = by.get((size, job, 2))
            if als2:
                speedup = als2["single_s"] / als2["dask_s"]
                met = (speedup >= ALS_2_WORKER_MIN_SPEEDUP
                       and als2["check"] == "identical factors")
                out.append((size, f"ALS{how} on 2 workers >= 1.6x one machine, identical "
                                  f"factors: {speedup:.2f}x, {als2['check']}, "
                                  f"{'met' if met else 'NOT met'}"))
        if not has_fit_als():
            out.append((size, "ALS: not measured, this fastcf has no distributed.fit_als"))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", default="10m",
                        help="fastcf benchmark sizes, comma-separated: 10m,25m, 1m...")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    if not has_fit_als():
        print("note: this fastcf has no distributed.fit_als: the ALS job is skipped",
              file=sys.stderr)
    results = {"load_before": load_average(), "cpus": os.cpu_count(), "data": [], "rows": []}
    for size in args.ratings.split(","):
        shape, rows = measure(size, args.repeats)
        results["data"].append(shape)
        results["rows"] += rows
    results["targets"] = [{"ratings": s, "text": t} for s, t in targets(results["rows"])]
    results["load_after"] = load_average()
    finish(results, format_markdown, args.out)


def format_markdown(results):
    data = "; ".join(d["text"] for d in results["data"])
    lines = [f"Data: {data}; {results['cpus']} CPUs; single machine on 1 thread, "
             "each worker 1 thread (LocalCluster, processes, loopback); best of the repeats. "
             f"Load average before / after: {results['load_before']} / "
             f"{results['load_after']}.", "",
             "| ratings | job | workers | single s | Dask s | overhead (1 worker) | efficiency "
             "(2 workers) | MB sent by workers | check |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results["rows"]:
        one = r["workers"] == 1
        target = "" if r["job"] not in OVERHEAD_TARGET_JOBS or not one else (
            f" (target < 15%: {'met' if r['overhead'] < 0.15 else 'NOT met'})")
        overhead = f"{r['overhead']:+.0%}{target}" if one else "-"
        efficiency = "-" if one else f"{r['efficiency']:.0%}"
        sent = f"{r['bytes_sent'] / 1e6:.1f}"
        if r.get("bytes_per_epoch") is not None:
            sent += f" ({r['bytes_per_epoch'] / 1e6:.2f} per epoch)"
        lines.append(f"| {r['ratings']} | {r['job']} | {r['workers']} | {r['single_s']:.2f} "
                     f"| {r['dask_s']:.2f} | {overhead} | {efficiency} | {sent} | {r['check']} |")
    lines += ["", "Issue 19's targets:", ""]
    lines += [f"- {t['ratings']}: {t['text']}" for t in results["targets"]]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
