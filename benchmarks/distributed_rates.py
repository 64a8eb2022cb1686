"""The per-worker rates of ``distributed_cost_model.py``, measured on this machine.

Each on 1 thread, on ``make_ratings`` at a ``fastcf benchmark`` size (see
``distributed_cost_model.py``'s docstring for what each rate is and how the
model uses it); ``measure(size, repeats)`` returns them all as one JSON-able
dict.
"""

import math
import os
import pickle
import sys
import time

import numpy as np
from _common import load_average

#: Bytes of a factor value (float32, the models' default).
ITEMSIZE = 4


def _best(fn, repeats=3):
    """(best seconds of ``repeats`` calls of ``fn``, its last result)."""
    best, out = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def measure_sgd(data, k, repeats):
    """Seconds per SGD update of the MF kernel on one cell of a 2 x 2 grid."""
    from fastcf.kernels.mf import run_sgd_epoch

    rng = np.random.default_rng(0)
    users, items, ratings = data.entry_users(), data.by_user.indices, data.by_user.data
    cell = (rng.random(data.n_users) < 0.5)[users] & (rng.random(data.n_items) < 0.5)[items]
    # a DSGD task's arrays: the cell's ratings by user, indices local to its blocks
    user_ids, users = np.unique(users[cell], return_inverse=True)
    item_ids, items = np.unique(items[cell], return_inverse=True)
    users, items = users.astype(np.int32), items.astype(np.int32)
    ratings = ratings[cell].astype(np.float32)
    p = (rng.standard_normal((len(user_ids), k)) * 0.1).astype(np.float32)
    q = (rng.standard_normal((len(item_ids), k)) * 0.1).astype(np.float32)
    bu, bi = np.zeros(len(user_ids), np.float32), np.zeros(len(item_ids), np.float32)
    mu = float(ratings.mean())

    def epoch():
        return run_sgd_epoch(users, items, ratings, mu, bu, bi, p, q, (0.005,) * 4,
                             (0.02,) * 4, True)

    epoch()  # JIT / cache load
    seconds, _ = _best(epoch, repeats)
    return {"k": k, "cell_ratings": int(cell.sum()), "s_per_update": seconds / cell.sum(),
            "updates_per_s": cell.sum() / seconds}


def measure_als(data, k, mode, repeats):
    """ALS half-step costs, seconds per entry and per row, and the Gram's per row x k^2.

    Timed sweeps (best of ``repeats`` iterations, the Gram's time taken off)
    of fits on the data and on every other user's ratings: four half-steps,
    each reading all its entries and solving its rows, fitted (non-negative
    least squares) as ``a entries + b rows``.
    """
    from scipy.optimize import nnls
    from threadpoolctl import threadpool_limits

    from fastcf import ALS
    from fastcf.als import _Sweeps

    class TimedSweeps(_Sweeps):
        def __init__(self, model):
            super().__init__(model, 1)
            self.seconds = {"user": math.inf, "item": math.inf}

        def sweep(self, side, other, factors):
            start = time.perf_counter()
            super().sweep(side, other, factors)
            self.seconds[side] = min(self.seconds[side], time.perf_counter() - start)

    params = {} if mode == "implicit" else {"implicit": False}
    half = data.take(np.flatnonzero(data.entry_users() % 2 == 0), compact=False)
    equations, times, gram = [], [], []
    for d in (data, half):
        model = ALS(factors=k, iterations=repeats, n_threads=1, seed=0, **params)
        sweeps = model._sweeps = TimedSweeps(model)
        with threadpool_limits(1):
            model.fit(d)
            gram_item, _ = _best(lambda m=model: m._shared(m.item_factors_), repeats)
            gram_user, _ = _best(lambda m=model: m._shared(m.user_factors_), repeats)
        gram.append((gram_item + gram_user) / ((d.n_users + d.n_items) * k * k))
        equations += [(d.nnz, d.n_users), (d.nnz, d.n_items)]
        times += [sweeps.seconds["user"] - gram_item, sweeps.seconds["item"] - gram_user]
    (per_entry, per_row), _ = nnls(np.array(equations, dtype=float), np.array(times))
    return {"k": k, "points": [(*e, t) for e, t in zip(equations, times)],
            "s_per_entry": per_entry, "s_per_row": per_row, "gram_s_per_row_k2": min(gram)}


def has_explicit_als():
    from fastcf import ALS

    return "implicit" in ALS().get_params()


def pair_work(data):
    """Item-item pair work of the top-k kernel: sum over users of d (d - 1) / 2."""
    d = np.diff(data.by_user.indptr).astype(np.float64)
    return float((d * (d - 1) / 2).sum())


def distinct_pairs(n_items, pairs):
    """Expected distinct co-rated item pairs among ``pairs`` pair visits (uniform items).

    The kernel finalises each distinct pair of a row once (its similarity,
    an offer to both rows' lists); with pairs visits spread over the
    n (n - 1) / 2 possible pairs: ``N2 (1 - exp(-pairs / N2))``.
    """
    n2 = n_items * (n_items - 1) / 2
    return n2 * -math.expm1(-pairs / n2) if n2 else 0.0


def _similarity_point(data, k, repeats):
    """(kernel seconds, pairs, distinct pairs, rows, prepare seconds, prepared, partial)."""
    from fastcf.kernels.similarity import check_options, prepare, topk_partial

    rows, n_cols, transposed = data.orientation("item")
    csr = (rows.indptr, rows.indices, rows.data)
    opts = check_options("pearson", k, rows.shape[0], 1, None, None, np.float64, True)
    prepare_s, prepared = _best(lambda: prepare(
        "pearson", csr, csr, n_cols, np.arange(rows.shape[0]), opts.min_support,
        opts.shrinkage, opts.min_sim, None, transposed), repeats)
    topk_partial(prepared, k, n_threads=1)  # JIT / cache load
    seconds, part = _best(lambda: topk_partial(prepared, k, n_threads=1), repeats)
    pairs = pair_work(data)
    return seconds, pairs, distinct_pairs(data.n_items, pairs), data.n_items, prepare_s, \
        prepared, part


def measure_similarity(data, k, repeats):
    """Item-item pearson top-k: seconds per pair visit, per distinct pair, per row and block.

    Three runs of the kernel on one block of every row -- the data, every
    other user (half the pair visits), every other item (a quarter of the
    visits and distinct pairs, half the rows) -- fitted (non-negative least
    squares) as ``a pairs + c distinct + b rows``.
    """
    from scipy.optimize import nnls

    from fastcf.distributed import similarity as dsim
    from fastcf.kernels.similarity import merge_topk

    users, items = data.entry_users(), data.by_user.indices
    subsets = [data, data.take(np.flatnonzero(users % 2 == 0), compact=False),
               data.take(np.flatnonzero(items % 2 == 0))]
    points = [_similarity_point(d, k, repeats) for d in subsets]
    (per_pair, per_distinct, per_row), _ = nnls(np.array([p[1:4] for p in points]),
                                               np.array([p[0] for p in points]))
    seconds, pairs, distinct, _, prepare_s, prepared, part = points[0]
    merge_s, _ = _best(lambda: merge_topk([part, part], k), repeats)
    wire = getattr(dsim, "_for_the_wire", lambda x: x)(prepared)
    d = np.diff(data.by_user.indptr).astype(np.float64)
    return {"k": k, "kernel_s": seconds, "pairs": pairs, "distinct_pairs": distinct,
            "points": [p[:4] for p in points], "s_per_pair": per_pair,
            "s_per_distinct_pair": per_distinct, "s_per_row": per_row,
            "prepare_s_per_rating": prepare_s / data.nnz,
            "merge_s_per_value": merge_s / (2 * data.n_items * k),
            "wire_bytes_per_rating": len(pickle.dumps(wire, protocol=5)) / data.nnz,
            # sum d (d - 1) relative to n_users (R / n_users)^2: how skewed the degrees are
            "skew": float((d * (d - 1)).sum() / (data.nnz ** 2 / data.n_users))}


def measure_recommend(data, k, n, repeats):
    """Recommend-all: seconds per (user, item) score, the model's and a result row's bytes."""
    import fastcf

    model = fastcf.MatrixFactorization(factors=k, epochs=1, n_threads=1).fit(data)
    users = model.user_ids_[: min(len(model.user_ids_), 5_000)]
    model.recommend_frame(users[:10], n)
    seconds, frame = _best(lambda: model.recommend_frame(users, n), repeats)
    model_bytes = len(pickle.dumps(model, protocol=5))
    per_factor_row = (k + 1) * ITEMSIZE
    return {"k": k, "n": n, "s_per_score": seconds / (len(users) * data.n_items),
            "scores_per_s": len(users) * data.n_items / seconds,
            "model_bytes": model_bytes, "model_bytes_per_factor_row": per_factor_row,
            "model_bytes_per_rating": max(model_bytes - per_factor_row
                                          * (data.n_users + data.n_items), 0) / data.nnz,
            "result_bytes_per_row": len(pickle.dumps(frame, protocol=5)) / len(frame)}


def measure_network(repeats, sizes_mb=(1, 4, 16, 64)):
    """Loopback between two 1-thread worker processes: bandwidth, latency, task overheads."""
    from dask.distributed import Client, LocalCluster, wait

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        a, b = sorted(client.scheduler_info()["workers"])

        def round_trip(where):
            return _best(lambda: client.submit(int, 0, workers=[where], pure=False).result(),
                         max(repeats, 20))[0]

        round_trip(b)
        empty = round_trip(b)
        points = []
        for mb in sizes_mb:
            best = math.inf
            for _ in range(repeats):
                made = client.submit(np.ones, mb * 2**20 // 8, workers=[a], pure=False)
                wait(made)
                start = time.perf_counter()
                client.submit(len, made, workers=[b], allow_other_workers=False,
                              pure=False).result()
                best = min(best, time.perf_counter() - start - empty)
                del made
            points.append((mb * 2**20, best))
        slope, intercept = np.polyfit([p[0] for p in points], [p[1] for p in points], 1)

        def chain(places, steps=40):
            start = time.perf_counter()
            x = client.submit(int, 0, workers=[places[0]], pure=False)
            for i in range(steps):
                x = client.submit(max, x, i, workers=[places[(i + 1) % len(places)]],
                                  allow_other_workers=False, pure=False)
            x.result()
            return (time.perf_counter() - start) / (steps + 1)

        chain([a, b])
        step = min(chain([a, b]) for _ in range(repeats))
        step_alone = min(chain([a]) for _ in range(repeats))

        def many(n=400):  # independent empty tasks at once: the scheduler's cost of a task
            start = time.perf_counter()
            wait(client.map(int, range(n), pure=False))
            return (time.perf_counter() - start) / n

        many()
        per_task = min(many() for _ in range(repeats))
    return ({"bytes_per_s": 1 / slope if slope > 0 else math.inf,
             "latency_s": max(intercept, 0.0), "points": points},
            {"round_trip_s": empty, "chain_step_s": step, "chain_step_one_worker_s": step_alone,
             "per_task_s": per_task})


def measure(size, repeats, log=sys.stderr):
    """Every rate, on ``make_ratings`` at a ``fastcf benchmark`` size."""
    import distributed_scaling as scaling

    import fastcf
    from fastcf.bench.load import synthetic_shape

    n_users, n_items, n_ratings = synthetic_shape(f"synthetic:{size}")
    data = fastcf.make_ratings(n_users, n_items, n_ratings, seed=0)
    _ = data.by_item
    rates = {"data": {"size": size, "n_users": data.n_users, "n_items": data.n_items,
                      "n_ratings": data.nnz},
             "cpus": os.cpu_count(), "load_before": load_average(),
             "factors": {"mf": scaling.MF_FACTORS, "als": scaling.ALS_FACTORS,
                         "topk": scaling.K, "recommend": 100, "recommend_n": scaling.N}}
    rates["sgd"] = measure_sgd(data, scaling.MF_FACTORS, repeats)
    print(f"SGD: {rates['sgd']['updates_per_s']:.3g} updates/s", file=log)
    rates["als"] = {"implicit": measure_als(data, scaling.ALS_FACTORS, "implicit", repeats)}
    if has_explicit_als():
        rates["als"]["explicit"] = measure_als(data, scaling.ALS_FACTORS, "explicit", repeats)
    rates["gram"] = {"s_per_row_k2": rates["als"]["implicit"]["gram_s_per_row_k2"]}
    print(f"ALS: {rates['als']}", file=log)
    rates["similarity"] = measure_similarity(data, scaling.K, repeats)
    print(f"similarity: {rates['similarity']}", file=log)
    rates["recommend"] = measure_recommend(data, 100, scaling.N, repeats)
    print(f"recommend: {rates['recommend']}", file=log)
    rates["network"], rates["tasks"] = measure_network(repeats)
    print(f"network: {rates['network']}, tasks: {rates['tasks']}", file=log)
    rates["load_after"] = load_average()
    return rates
