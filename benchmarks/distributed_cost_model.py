"""A cost model of fastcf.distributed you can check: measured rates -> predicted time and bytes.

1. **Measure** (``distributed_rates.py``; ``--measure-only`` stops here;
   ``--rates FILE`` saves them as JSON) per-worker rates on this machine,
   each on 1 thread: SGD updates/s of the MF kernel
   (``kernels.mf.run_sgd_epoch`` on one cell of a 2 x 2 grid); ALS seconds
   per entry and per row of a half-step (the sweeps of
   ``ALS(n_threads=1).fit``, implicit and, where this fastcf has it,
   explicit) and of the shared Gram; the item-item top-k kernel's seconds per
   unit of pair work (the pairs of co-rated items, ``sum_u d_u (d_u - 1) / 2``,
   as ``distributed/similarity.py`` weighs its row blocks) and per row; the
   recommend-all rate (users x items scored per second); bytes/s between two
   worker processes on loopback (a LocalCluster of two 1-thread workers: an
   array of X MB made on worker A, read by a task on worker B; the best time
   of several sizes minus an empty task's round trip, fitted as latency +
   bytes / bandwidth); the round trip of an empty task and the step of a chain
   of dependent tasks alternating between the workers (what a DSGD stratum
   waits at its barrier); the scheduler's time per task (400 independent
   empty tasks at once).
2. **Predict** (``--predict-only --rates FILE`` from saved rates) each job's
   time and bytes for W workers and R ratings:

   - DSGD, user blocks resident (an epoch): ``R / (W rate)`` + per stratum (g =
     2W of them) a barrier and the item blocks a worker receives,
     ``n_items (k+1) itemsize / W * (W-1)/W``, and its tasks (one per worker
     and one per item block that moves: ~6 W^2 an epoch) through the
     scheduler; bytes ``(g+1) (W-1)/W n_items (k+1) itemsize``.
   - ALS (an iteration, two half-steps): the other side and its Gram
     broadcast, ``(a R + b rows) / W`` solving, the solved rows gathered;
     bytes ``(n_users + n_items) k itemsize (W + 1)``.
   - similarity top-k (the call): the prepared data broadcast, ``a pairs / W +
     b n`` (every block keeps a list for every row), the ``n k`` partial lists
     merged by a tree of 4-way merges and gathered.
   - recommend-all (the call): the model broadcast, ``users items / (W rate)``,
     the result rows gathered, a task per 10,000 users.

   A broadcast is Dask's: the client sends one copy, then each holder serves
   at most two more per round (``Scheduler.replicate``), ``S/B (1 + 2
   ceil(log3 W))``. Every worker has its own link of ``--bandwidth`` bytes/s
   and each message costs ``--latency`` s on top of the measured task
   overheads; transfers and compute do not overlap (an upper bound).
3. **Check**: the prediction beside the measured figures of
   ``distributed_scaling.py`` (run here, or read from its ``--measured
   results.json``) for 1 and 2 workers at ``--ratings`` (10m,25m).
4. **Extrapolate** to 1B ratings on 8, 32 and 128 workers for each
   ``--bandwidth``, and the crossover W of each job (where communication and
   waiting take as long as the compute) and the W at which it is fastest.

Shapes (users and items for R ratings), ``--shape-law``: ``presets`` (default)
fits ``n = c R^e`` through the MovieLens-like presets of ``fastcf benchmark``
(1m, 10m, 25m: users grow about linearly, items about as R^0.8: 1B ratings ->
7.4M users x 0.8M items, 135 ratings a user, as Netflix-like data);
``sqrt`` is ``synthetic_shape``'s law for other sizes (both as sqrt(R) from
the 1m preset: constant density, 1B -> 190k users x 117k items). The pair
work of the similarity job grows as ``R^2 / n_users`` times the skew measured
on the rate data.

    python benchmarks/distributed_cost_model.py [--ratings 10m,25m] [--out DIR]
    python benchmarks/distributed_cost_model.py --measure-only --rates rates.json
    python benchmarks/distributed_cost_model.py --predict-only --rates rates.json \
        --bandwidth 1.25e9,1.25e10 --latency 1e-4
"""

import argparse
import json
import math

import numpy as np
from _common import finish
from distributed_rates import ITEMSIZE, distinct_pairs, measure

#: Bytes of an index (a factor value's: ``ITEMSIZE``).
INDEX_BYTES = 4
#: The presets the ``presets`` shape law is fitted through: (n_ratings, n_users, n_items).
PRESETS = ((1e6, 6_000, 3_700), (1e7, 70_000, 10_700), (2.5e7, 162_000, 59_000))
BIG_RATINGS, BIG_WORKERS = 1e9, (8, 32, 128)
#: ``distributed.recommend``'s default users per task.
RECOMMEND_BLOCK_USERS = 10_000
JOBS = ("dsgd", "als", "similarity", "recommend")
JOB_NAMES = {"dsgd": "DSGD epoch", "als": "ALS iteration", "similarity": "similarity top-40",
             "recommend": "recommend-all"}


# ----------------------------------------------------------------------------- shapes
def shape_of(n_ratings, law="presets"):
    """(n_users, n_items) for ``n_ratings`` under a shape law (see the module docstring)."""
    if law == "sqrt":
        from fastcf.bench.load import synthetic_shape

        n_users, n_items, _ = synthetic_shape(f"synthetic:{int(n_ratings)}")
        return n_users, n_items
    if law != "presets":
        raise ValueError(f"shape law == {law!r}, must be 'presets' or 'sqrt'.")
    log_r = np.log([p[0] for p in PRESETS])
    out = []
    for column in (1, 2):
        slope, intercept = np.polyfit(log_r, np.log([p[column] for p in PRESETS]), 1)
        out.append(int(round(math.exp(intercept + slope * math.log(n_ratings)))))
    return tuple(out)


def dsgd_grid(workers):
    """``fit_mf``'s default grid: two blocks per worker, at least 2."""
    return max(2, 2 * workers)


def dsgd_tasks_per_epoch(workers, grid=None):
    """Tasks the scheduler runs per DSGD epoch (resident blocks): in each of the g
    strata one per worker and one per (sender, receiver) pair of workers moving
    item blocks, counted as one per item block that changes worker (at most)."""
    grid = dsgd_grid(workers) if grid is None else grid
    return grid * (workers + grid * (workers - 1) / workers)


def dsgd_epoch_bytes(n_items, k, workers, grid=None, itemsize=ITEMSIZE):
    """Bytes the workers send per DSGD epoch with resident user blocks.

    Each change of stratum sends every item block (factors and bias) to the
    worker of the user block it meets next, another worker for (W-1)/W of
    them: ``grid + 1`` changes an epoch, counting the one from the epoch
    before (as ``fit_mf``'s docstring counts them, and Dask's counters show).
    """
    grid = dsgd_grid(workers) if grid is None else grid
    return (grid + 1) * (workers - 1) / workers * n_items * (k + 1) * itemsize


# ------------------------------------------------------------------------- the model
class Network:
    """Per-link bandwidth (bytes/s), per-message latency (s), the measured task overheads.

    The measured latency and overheads are Dask's software costs on loopback;
    ``latency`` (a real network's, per message) is added to them.
    """

    def __init__(self, rates, bandwidth=None, latency=None):
        net, tasks, extra = rates["network"], rates["tasks"], latency or 0.0
        self.bandwidth = bandwidth or net["bytes_per_s"]
        self.latency = net["latency_s"] + extra
        self.round_trip = tasks["round_trip_s"] + 2 * extra
        # a step of dependent tasks: the scheduler's message, the input's transfer
        self.step = tasks["chain_step_s"] + 2 * extra
        self.step_alone = tasks["chain_step_one_worker_s"] + extra
        #: what the scheduler spends on each task, one task after another
        self.per_task = tasks["per_task_s"]

    def send(self, nbytes):
        return self.latency + nbytes / self.bandwidth

    def broadcast(self, nbytes, workers):
        """Seconds to get ``nbytes`` from the client onto ``workers`` workers (Dask's tree)."""
        rounds = math.ceil(math.log(workers, 3) - 1e-9) if workers > 1 else 0
        return self.send(nbytes) + rounds * (self.latency + 2 * nbytes / self.bandwidth)


def _row(compute, parts, net_bytes, worker_bytes, memory):
    """A prediction: compute, the waiting by cause (``parts``), bytes, memory per worker."""
    waiting = sum(parts.values())
    return {"compute_s": compute, "comm_s": waiting, "total_s": compute + waiting,
            "parts": parts, "net_bytes": net_bytes, "worker_bytes": worker_bytes,
            "memory_bytes": memory}


def predict_dsgd(rates, net, n_users, n_items, n_ratings, workers, k):
    g = dsgd_grid(workers)
    compute = n_ratings * rates["sgd"]["s_per_update"] / workers
    received = n_items * (k + 1) * ITEMSIZE / workers * (workers - 1) / workers
    parts = {"barriers": g * (net.step if workers > 1 else net.step_alone),
             "item blocks": (g + 1) * received / net.bandwidth,
             # ~6 W^2 tasks an epoch, every one through the one scheduler
             "scheduler": dsgd_tasks_per_epoch(workers, g) * net.per_task}
    sent = dsgd_epoch_bytes(n_items, k, workers, g)
    memory = (n_ratings * (2 * INDEX_BYTES + ITEMSIZE) + (n_users + 2 * n_items)
              * (k + 1) * ITEMSIZE) / workers
    return _row(compute, parts, sent, sent, memory)


def predict_als(rates, net, n_users, n_items, n_ratings, workers, k, mode="implicit"):
    als = rates["als"][mode]
    compute = net_bytes = worker_bytes = 0.0
    parts = dict.fromkeys(("Gram", "broadcast", "gather", "tasks"), 0.0)
    for rows, other in ((n_users, n_items), (n_items, n_users)):
        shared = other * k * ITEMSIZE + k * k * 8
        solved = rows * k * ITEMSIZE
        compute += (als["s_per_entry"] * n_ratings + als["s_per_row"] * rows) / workers
        parts["Gram"] += rates["gram"]["s_per_row_k2"] * other * k * k  # on the client
        parts["broadcast"] += net.broadcast(shared, workers)
        parts["gather"] += net.send(solved)  # through the client's link
        parts["tasks"] += net.round_trip
        net_bytes += workers * shared + solved
        worker_bytes += (workers - 1) * shared + solved
    memory = 2 * n_ratings * (INDEX_BYTES + ITEMSIZE) / workers + (n_users + n_items) * k \
        * ITEMSIZE
    return _row(compute, parts, net_bytes, worker_bytes, memory)


def predict_similarity(rates, net, n_users, n_items, n_ratings, workers, k):
    sim = rates["similarity"]
    n = n_items
    pairs = sim["skew"] * n_ratings ** 2 / n_users / 2
    data = sim["wire_bytes_per_rating"] * n_ratings
    part = n * (k * 16 + 8)  # a partial top-k: int64 indices, float64 values, counts
    # the pairs split over the blocks; every block keeps (and merges) a list for every row
    compute = (sim["s_per_pair"] * pairs + sim["s_per_distinct_pair"]
               * distinct_pairs(n, pairs)) / workers + sim["s_per_row"] * n
    levels = math.ceil(math.log(workers, 4) - 1e-9) if workers > 1 else 0
    parts = {"prepare": sim["prepare_s_per_rating"] * n_ratings,  # on the client
             "broadcast": net.broadcast(data, workers),
             "merge": levels * (3 * part / net.bandwidth + sim["merge_s_per_value"] * 4 * n * k
                                + net.round_trip),
             "gather": net.send(part) + net.round_trip}
    moved = (workers - 1) * part + part
    return _row(compute, parts, workers * data + moved, (workers - 1) * data + moved,
                data + 2 * part)


def predict_recommend(rates, net, n_users, n_items, n_ratings, workers, n=10):
    rec = rates["recommend"]
    model = rec["model_bytes_per_factor_row"] * (n_users + n_items) \
        + rec["model_bytes_per_rating"] * n_ratings
    result = n_users * n * rec["result_bytes_per_row"]
    compute = n_users * n_items * rec["s_per_score"] / workers
    parts = {"broadcast": net.broadcast(model, workers),
             "gather": net.send(result),  # through the client's link
             "tasks": net.round_trip + math.ceil(n_users / RECOMMEND_BLOCK_USERS) * net.per_task}
    return _row(compute, parts, workers * model + result, (workers - 1) * model + result,
                model + result / workers)


def predict(rates, job, n_users, n_items, n_ratings, workers, net, mode="implicit"):
    """One job's prediction for a shape and a number of workers (see the module docstring)."""
    k = rates["factors"]
    if job == "dsgd":
        return predict_dsgd(rates, net, n_users, n_items, n_ratings, workers, k["mf"])
    if job == "als":
        return predict_als(rates, net, n_users, n_items, n_ratings, workers, k["als"], mode)
    if job == "similarity":
        return predict_similarity(rates, net, n_users, n_items, n_ratings, workers, k["topk"])
    if job == "recommend":
        return predict_recommend(rates, net, n_users, n_items, n_ratings, workers,
                                 k["recommend_n"])
    raise ValueError(f"job == {job!r}, must be one of {JOBS}.")


def scaling_limits(rates, job, shape, net, mode="implicit", max_workers=4096):
    """(crossover W: the fewest workers at which waiting >= compute, the fastest W, the
    largest part of the waiting there)."""
    crossover, fastest, why = None, (math.inf, None), None
    for workers in range(1, max_workers + 1):
        row = predict(rates, job, *shape, workers, net, mode)
        if crossover is None and row["comm_s"] >= row["compute_s"]:
            crossover = workers
            why = max(row["parts"], key=row["parts"].get)
        if row["total_s"] < fastest[0]:
            fastest = (row["total_s"], workers)
    return crossover, fastest[1], why


# ------------------------------------------------------------------------ the report
def measured_figures(row):
    """(seconds, worker bytes) of a distributed_scaling row, per epoch / iteration for fits."""
    import distributed_scaling as scaling

    if row["job"] == scaling.DSGD_JOB:
        return row["dask_epoch_s"], row.get("bytes_per_epoch")
    if row["job"] == scaling.ALS_JOB:
        return row["dask_epoch_s"], row["bytes_sent"] / scaling.ALS_ITERATIONS
    return row["dask_s"], row["bytes_sent"]


def job_of(name):
    import distributed_scaling as scaling

    return {scaling.DSGD_JOB: "dsgd", scaling.ALS_JOB: "als", scaling.SIMILARITY_JOB:
            "similarity", scaling.RECOMMEND_JOB: "recommend"}.get(name)


def check_rows(rates, measured):
    """Predicted beside measured, for every measured (ratings, job, workers)."""
    net = Network(rates)
    shapes = {d["size"]: d for d in measured["data"]}
    out = []
    for row in measured["rows"]:
        shape = shapes[row["ratings"]]
        job = job_of(row["job"])
        if job is None:  # the persisted fits: the model predicts the calls that send the data
            continue
        # the fits train on the training split (80 %)
        n_ratings = shape["train_ratings"] if job in ("dsgd", "als") else shape["n_ratings"]
        guess = predict(rates, job, shape["n_users"], shape["n_items"], n_ratings,
                        row["workers"], net)
        seconds, sent = measured_figures(row)
        out.append({"ratings": row["ratings"], "job": job, "workers": row["workers"],
                    "predicted_s": guess["total_s"], "measured_s": seconds,
                    "predicted_bytes": guess["worker_bytes"], "measured_bytes": sent})
    return out


def big_rows(rates, bandwidths, latency, law, n_ratings=BIG_RATINGS, workers=BIG_WORKERS):
    """The predictions at ``n_ratings`` for each bandwidth and worker count, and the limits."""
    shape = (*shape_of(n_ratings, law), n_ratings)
    modes = ["implicit"] + (["explicit"] if "explicit" in rates["als"] else [])
    rows, limits = [], []
    for bandwidth in bandwidths:
        net = Network(rates, bandwidth, latency)
        for job in JOBS:
            for mode in (modes if job == "als" else ["implicit"]):
                name = JOB_NAMES[job] + (f" ({mode})" if job == "als" else "")
                single = predict(rates, job, *shape, 1, net, mode)["compute_s"]
                for w in workers:
                    row = predict(rates, job, *shape, w, net, mode)
                    rows.append({"bandwidth": bandwidth, "job": name, "workers": w,
                                 "single_s": single, **row})
                crossover, fastest, why = scaling_limits(rates, job, shape, net, mode)
                limits.append({"bandwidth": bandwidth, "job": name, "crossover": crossover,
                               "fastest": fastest, "why": why})
    return shape, rows, limits


def _mb(x):
    return "-" if x is None else f"{x / 1e6:,.1f}"


def _s(x):
    return "-" if x is None else f"{x:,.3g}"


def format_markdown(results):
    rates = results["rates"]
    lines = [f"Rates measured on {rates['data']['size']} ratings "
             f"({rates['data']['n_users']:,} users x {rates['data']['n_items']:,} items), "
             f"1 thread, {rates['cpus']} CPUs, load {rates['load_before']} / "
             f"{rates['load_after']}:", ""]
    als, sim = rates["als"], rates["similarity"]
    lines += [
        f"- SGD (k={rates['sgd']['k']}): {rates['sgd']['updates_per_s']:.3g} updates/s",
        *(f"- ALS {mode} (k={a['k']}): {a['s_per_entry'] * 1e9:.0f} ns per entry + "
          f"{a['s_per_row'] * 1e6:.2f} us per row" for mode, a in als.items()),
        f"- Gram: {rates['gram']['s_per_row_k2'] * 1e12:.0f} ps per row x k^2",
        f"- similarity top-{sim['k']}: {sim['s_per_pair'] * 1e9:.2f} ns per pair visit + "
        f"{sim['s_per_distinct_pair'] * 1e9:.2f} ns per distinct pair + "
        f"{sim['s_per_row'] * 1e6:.2f} us per row per block; "
        f"{sim['wire_bytes_per_rating']:.1f} bytes a rating sent; degree skew {sim['skew']:.2f}",
        f"- recommend-all: {rates['recommend']['scores_per_s']:.3g} scores/s; model "
        f"{rates['recommend']['model_bytes_per_rating']:.1f} bytes a rating + factors",
        f"- loopback: {rates['network']['bytes_per_s'] / 1e9:.2f} GB/s, latency "
        f"{rates['network']['latency_s'] * 1e3:.2f} ms; empty task round trip "
        f"{rates['tasks']['round_trip_s'] * 1e3:.2f} ms; dependent-task step "
        f"{rates['tasks']['chain_step_s'] * 1e3:.2f} ms across workers, "
        f"{rates['tasks']['chain_step_one_worker_s'] * 1e3:.2f} ms on one; "
        f"{rates['tasks']['per_task_s'] * 1e3:.2f} ms of the scheduler's a task", ""]
    if results.get("check"):
        lines += ["Predicted vs measured (DSGD: an epoch, ALS: an iteration, else the call; "
                  "bytes the workers sent, Dask's counters):", "",
                  "| ratings | job | workers | predicted s | measured s | predicted MB | "
                  "measured MB |", "|---|---|---|---|---|---|---|"]
        lines += [f"| {r['ratings']} | {r['job']} | {r['workers']} | {_s(r['predicted_s'])} | "
                  f"{_s(r['measured_s'])} | {_mb(r['predicted_bytes'])} | "
                  f"{_mb(r['measured_bytes'])} |" for r in results["check"]]
        lines += ["", "(Dask counts the bytes of what ``dask.sizeof`` sizes: arrays exactly, a "
                  "model object as a few bytes -- recommend's broadcast model is not in its "
                  "counter; the model's bytes are pickled bytes.)", ""]
    n_users, n_items, n_ratings = results["big_shape"]
    lines += [f"Predicted at {n_ratings:.3g} ratings ({results['shape_law']} shape law: "
              f"{n_users:,} users x {n_items:,} items), latency {results['latency']} s a "
              "message; every worker 1 thread with its own link:", "",
              "| Gbit/s | job | workers | compute s | comm + wait s (of which) | total s | "
              "speedup | GB on the network | GB a worker holds |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in results["big"]:
        parts = ", ".join(f"{name} {_s(v)}" for name, v in r["parts"].items() if v > 0)
        lines.append(f"| {r['bandwidth'] * 8 / 1e9:g} | {r['job']} | {r['workers']} | "
                     f"{_s(r['compute_s'])} | {_s(r['comm_s'])} ({parts}) | {_s(r['total_s'])} | "
                     f"{r['single_s'] / r['total_s']:.1f}x | {r['net_bytes'] / 1e9:,.2f} | "
                     f"{r['memory_bytes'] / 1e9:,.2f} |")
    lines += ["", "Where each job stops scaling (crossover: the fewest workers at which "
              "communication and waiting take as long as compute; fastest: the W of the "
              "least total time, up to 4096):", "",
              "| Gbit/s | job | crossover W | most of the waiting there | fastest W |",
              "|---|---|---|---|---|"]
    lines += [f"| {r['bandwidth'] * 8 / 1e9:g} | {r['job']} | {r['crossover'] or '> 4096'} | "
              f"{r['why'] or '-'} | {r['fastest']} |" for r in results["limits"]]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", default="10m,25m",
                        help="sizes measured and predicted for 1 and 2 workers")
    parser.add_argument("--rate-size", help="the size the rates are measured on "
                        "(default: the first of --ratings)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--measure-only", action="store_true")
    parser.add_argument("--predict-only", action="store_true",
                        help="predict from --rates, measure nothing")
    parser.add_argument("--rates", help="rates JSON: written after measuring, read with "
                        "--predict-only")
    parser.add_argument("--measured", help="a distributed_scaling.py results.json to check "
                        "against (default: run it, unless --predict-only)")
    parser.add_argument("--bandwidth", default="1.25e9,1.25e10",
                        help="bytes/s of a worker's link for the 1B prediction, comma-separated")
    parser.add_argument("--latency", type=float, default=1e-4, help="seconds a message")
    parser.add_argument("--shape-law", default="presets", choices=("presets", "sqrt"))
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    if args.predict_only and args.measure_only:
        parser.error("--predict-only and --measure-only exclude each other")
    if args.predict_only and not args.rates:
        parser.error("--predict-only needs --rates FILE")
    sizes = args.ratings.split(",")
    if args.predict_only:
        with open(args.rates) as fh:
            rates = json.load(fh)
    else:
        rates = measure(args.rate_size or sizes[0], args.repeats)
        if args.rates:
            with open(args.rates, "w") as fh:
                json.dump(rates, fh, indent=2, default=float)
    results = {"rates": rates, "load_before": rates["load_before"], "check": None}
    if args.measured:
        with open(args.measured) as fh:
            measured = json.load(fh)
        # distributed_scaling's results.json, or this script's (which holds one)
        results["check"] = check_rows(rates, measured.get("measured", measured))
    elif not args.predict_only and not args.measure_only:
        import distributed_scaling as scaling

        measured = {"data": [], "rows": []}
        for size in sizes:
            shape, rows = scaling.measure(size, args.repeats)
            measured["data"].append(shape)
            measured["rows"] += rows
        results["measured"] = measured
        results["check"] = check_rows(rates, measured)
    bandwidths = [float(b) for b in args.bandwidth.split(",")]
    results.update(latency=args.latency, shape_law=args.shape_law)
    results["big_shape"], results["big"], results["limits"] = big_rows(
        rates, bandwidths, args.latency, args.shape_law)
    finish(results, format_markdown, args.out)


if __name__ == "__main__":
    main()
