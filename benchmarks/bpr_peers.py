"""Bayesian Personalised Ranking: fastcf ``BPR`` beside implicit's and cornac's.

Measurements
    (a) speed (``--part speed``): ``fastcf.make_ratings(60_000, 8_000,
        1_740_000, seed=0)`` as binary interactions (every rating a positive),
        2 threads, ``--factors`` (64) factors, float32. Samples/s = nnz per
        epoch / epoch seconds, the best epoch of ``--repeats`` fits of
        ``--epochs`` epochs: fastcf ``BPR(schedule=...)`` for each schedule
        and backend (``history_[e]["seconds"]``; serial is one thread), and
        implicit's ``implicit.cpu.bpr.BayesianPersonalizedRanking(factors,
        num_threads=2)`` (fit wall time / epochs; it samples nnz pairs an epoch
        too). Both in this run; the machine is shared, so each row also gives
        samples per CPU second of the process (``time.process_time``), a
        figure other processes disturb less. Target: fastcf >= 5x implicit.
    (b) accuracy (``--part accuracy``): DESIGN.md's ranking protocol on
        ML-100K (``--ml100k``, its u.data): ``fastcf.split.user_split(data,
        0.25, seed=s)`` for s in ``--seeds``, every rating an interaction, the
        catalogue of the training items ranked for each test user with their
        training items excluded, top 10; NDCG@10 and P@10 (fastcf.metrics,
        test items unknown to training count as relevant and unreachable for
        every library). Rows: cornac ``BPR(k=200, max_iter=100,
        learning_rate=0.01, lambda_reg=0.001, seed=s)`` (the table's
        settings), fastcf ``BPR`` at the same settings (``factors=200,
        iterations=100, lr=0.01, reg=0.001, seed=s``) and at ``--best``
        settings, implicit BPR (100 factors, its defaults, ``random_state=s``).
        Target: fastcf >= cornac at the same settings.

Run: ``PYTHONPATH=src python benchmarks/bpr_peers.py --part speed`` (or
``accuracy``, or ``all``); ``--out DIR`` writes results.json / results.md.
"""

import argparse
import os
import time

import numpy as np
import scipy.sparse as sp
from _common import finish, load_average

import fastcf
from fastcf import BPR, Interactions
from fastcf.metrics import ndcg_at_k, precision_at_k
from fastcf.split import user_split

TABLE = {"factors": 200, "iterations": 100, "lr": 0.01, "reg": 0.001}


def _binary(data):
    """``data``'s pairs as implicit Interactions, and as a float32 CSR for implicit."""
    by_user = data.by_user
    csr = sp.csr_matrix((np.ones(data.nnz, np.float32), by_user.indices.copy(),
                         by_user.indptr.copy()), shape=(data.n_users, data.n_items))
    return Interactions.from_csr(csr, implicit=True), csr


def _rates(nnz, wall, cpu):
    return {"samples_per_s": nnz / wall, "samples_per_cpu_s": nnz / cpu}


def speed(args):
    data = fastcf.make_ratings(60_000, 8_000, 1_740_000, seed=0)
    inter, csr = _binary(data)
    k, rows = args.factors, []
    BPR(factors=k, iterations=1, seed=0).fit(_binary(fastcf.make_ratings(50, 40, 400))[0])
    for backend in args.backends:
        for schedule in ("hogwild", "blocked", "serial"):
            best = None
            for r in range(args.repeats):
                model = BPR(factors=k, iterations=args.epochs, schedule=schedule,
                            n_threads=2, backend=backend, seed=r)
                cpu = time.process_time()
                model.fit(inter)
                cpu = time.process_time() - cpu
                epoch = min(h["seconds"] for h in model.history_)
                rate = _rates(inter.nnz, epoch, cpu / args.epochs)
                if best is None or rate["samples_per_s"] > best["samples_per_s"]:
                    best = rate
            rows.append({"library": "fastcf", "row": f"{schedule} ({backend})", **best,
                         "load": load_average()})
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    best = None
    for r in range(args.repeats):
        model = BayesianPersonalizedRanking(factors=k, num_threads=2, iterations=args.epochs,
                                            random_state=r)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        model.fit(csr, show_progress=False)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        rate = _rates(inter.nnz, wall / args.epochs, cpu / args.epochs)
        if best is None or rate["samples_per_s"] > best["samples_per_s"]:
            best = rate
    rows.append({"library": "implicit", "row": "BayesianPersonalizedRanking", **best,
                 "load": load_average()})
    peer = rows[-1]
    for row in rows:
        row["x_implicit"] = row["samples_per_s"] / peer["samples_per_s"]
        row["x_implicit_cpu"] = row["samples_per_cpu_s"] / peer["samples_per_cpu_s"]
    return rows


def _relevant(train, test):
    """Test items per test user as a CSR over the training items (extra columns for
    test items unknown to training: relevant, never recommendable)."""
    frame = test.to_frame()
    users = train.user_index(frame["user"].to_numpy(), strict=False)
    items = train.item_index(frame["item"].to_numpy(), strict=False)
    unknown = items < 0
    _, extra = np.unique(frame["item"].to_numpy()[unknown], return_inverse=True)
    items[unknown] = train.n_items + extra
    keep = users >= 0
    shape = (train.n_users, train.n_items + int(unknown.sum()) + 1)
    return sp.csr_matrix((np.ones(keep.sum()), (users[keep], items[keep])), shape=shape)


def _score(top, relevant):
    rows = np.flatnonzero(np.diff(relevant.indptr) > 0)
    rel = relevant[rows]
    return ndcg_at_k(top[rows], rel, 10), precision_at_k(top[rows], rel, 10)


def _top_from_scores(scores, train_csr):
    scores = scores.copy()
    scores[train_csr.nonzero()] = -np.inf
    return np.argsort(-scores, axis=1, kind="stable")[:, :10]


def _fastcf(train, params, seed):
    model = BPR(seed=seed, n_threads=2, **params).fit(train)
    top, _ = model.recommend(train.user_ids, n=10)
    return train.item_index(top.ravel()).reshape(top.shape)


def _cornac(train, csr, seed):
    import cornac

    triples = [(str(u), str(i), 1.0) for u, i in zip(*csr.nonzero())]
    dataset = cornac.data.Dataset.from_uir(triples, seed=seed)
    model = cornac.models.BPR(k=200, max_iter=100, learning_rate=0.01, lambda_reg=0.001,
                              seed=seed, verbose=False).fit(dataset)
    user_order = np.array([dataset.uid_map[str(u)] for u in range(csr.shape[0])])
    item_order = np.array([dataset.iid_map[str(i)] for i in range(csr.shape[1])])
    scores = (model.u_factors[user_order] @ model.i_factors[item_order].T +
              model.i_biases[item_order][None, :])
    return _top_from_scores(scores, csr)


def _implicit(csr, seed):
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    model = BayesianPersonalizedRanking(factors=100, num_threads=2, random_state=seed)
    model.fit(csr, show_progress=False)
    scores = model.user_factors @ model.item_factors.T
    return _top_from_scores(scores, csr)


def accuracy(args):
    data = fastcf.load_movielens(args.ml100k)
    runs = {"cornac BPR (table settings)": [], "fastcf BPR (table settings)": [],
            "implicit BPR (100 factors)": []}
    best = dict(TABLE, **dict(kv.split("=") for kv in args.best)) if args.best else None
    if best:
        best = {k: (int(v) if k in ("factors", "iterations", "blocks") else
                    v if k == "schedule" else float(v)) for k, v in best.items()}
        runs[f"fastcf BPR {best}"] = []
    for seed in args.seeds:
        train_full, test = user_split(data, 0.25, seed=seed)
        train = Interactions.from_frame(train_full.to_frame()[["user", "item"]])
        csr = sp.csr_matrix((np.ones(train.nnz, np.float32), train.by_user.indices.copy(),
                             train.by_user.indptr.copy()), shape=(train.n_users, train.n_items))
        relevant = _relevant(train, test)
        for name in runs:
            start = time.perf_counter()
            if name.startswith("cornac"):
                top = _cornac(train, csr, seed)
            elif name.startswith("implicit"):
                top = _implicit(csr, seed)
            else:
                top = _fastcf(train, TABLE if "table" in name else best, seed)
            ndcg, precision = _score(top, relevant)
            runs[name].append((ndcg, precision, time.perf_counter() - start))
            print(f"seed {seed} {name}: NDCG@10 {ndcg:.4f} P@10 {precision:.4f}", flush=True)
    return [{"row": name, "ndcg@10": float(np.mean([r[0] for r in values])),
             "ndcg_sd": float(np.std([r[0] for r in values])),
             "p@10": float(np.mean([r[1] for r in values])),
             "fit_s": float(np.mean([r[2] for r in values]))} for name, values in runs.items()]


def _markdown(results):
    lines = [f"load before: {results['load_before']}, after: {results['load_after']}"]
    if results.get("speed"):
        lines += ["", "| library | row | M samples/s | x implicit | M samples/CPU s | "
                  "x implicit (CPU) |", "|---|---|---|---|---|---|"]
        for r in results["speed"]:
            lines.append(f"| {r['library']} | {r['row']} | {r['samples_per_s'] / 1e6:.1f} | "
                         f"{r['x_implicit']:.2f} | {r['samples_per_cpu_s'] / 1e6:.1f} | "
                         f"{r['x_implicit_cpu']:.2f} |")
    if results.get("accuracy"):
        lines += ["", "| row | NDCG@10 (sd) | P@10 | s / fit |", "|---|---|---|---|"]
        for r in results["accuracy"]:
            lines.append(f"| {r['row']} | {r['ndcg@10']:.4f} ({r['ndcg_sd']:.4f}) | "
                         f"{r['p@10']:.4f} | {r['fit_s']:.1f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("speed", "accuracy", "all"), default="all")
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["cython", "numba"])
    parser.add_argument("--ml100k", default="/work/shared/data/ml-100k/u.data")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--best", nargs="*", default=[],
                        help="fastcf settings of an extra row, as name=value")
    parser.add_argument("--out")
    args = parser.parse_args()
    results = {"load_before": load_average(), "cpus": os.cpu_count()}
    if args.part in ("speed", "all"):
        results["speed"] = speed(args)
    if args.part in ("accuracy", "all"):
        results["accuracy"] = accuracy(args)
    finish(results, _markdown, args.out)


if __name__ == "__main__":
    main()
