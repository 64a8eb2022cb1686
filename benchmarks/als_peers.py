"""Implicit-feedback ALS: fastcf ``ALS`` beside implicit's ``AlternatingLeastSquares``.

(a) speed: ``fastcf.make_ratings(60_000, 8_000, 1_740_000, seed=0)`` as binary
    interactions (the values dropped), 2 threads, the same factors, reg,
    alpha and iterations (``--iterations``, default 5). implicit:
    ``implicit.cpu.als.AlternatingLeastSquares(use_gpu=False, num_threads=2)``
    with BLAS limited to 1 thread (threadpoolctl, as implicit asks); fastcf:
    ``ALS(n_threads=2)`` for each backend. Seconds per iteration: the fit's
    wall time / iterations, best of ``--repeats`` fits, kernels warmed up on
    tiny data first. Target: fastcf <= 0.5x implicit at 64 and 128 factors.
(b) accuracy: the ranking protocol of DESIGN.md on ML-100K (``--ml100k``):
    ``fastcf.split.user_split(data, 0.25, seed=s)`` (per user a random 25 %
    of the ratings to test), every rating an interaction, the full catalogue
    ranked with the training items excluded, NDCG@10 and P@10 over the test
    users (``fastcf.metrics``), for seeds 0, 1, 2 of split and model, at 64
    factors, reg 0.01, alpha 1, 15 iterations; then a small grid of fastcf
    settings. Target: fastcf's mean NDCG@10 within 0.005 of implicit's.

    Both libraries weigh an interaction differently at the same ``alpha``:
    fastcf's confidence is ``1 + alpha * r`` (Hu et al.), implicit 0.7's is
    ``alpha * r`` (so implicit's alpha=1 on binary data gives the observed
    cells the weight of the empty ones). The table also shows fastcf at the
    confidence implicit uses where one exists (implicit alpha a = fastcf
    alpha a - 1).

Measured (2 cores shared with other jobs, load average 10-15):
    (b) NDCG@10 / P@10, mean of seeds 0-2: implicit alpha=1 0.3783 / 0.3300, fastcf
    alpha=1 0.3831 / 0.3326; same confidence: implicit alpha=5 0.3761 vs fastcf
    alpha=4 0.3763, implicit alpha=20 0.3319 vs fastcf alpha=19 0.3315. Best fastcf
    setting found: factors=16, reg=1.0, alpha=1.0: 0.4704 / 0.4103 (factors 8 / 12 /
    24 / 32 at reg 0.01: 0.448 / 0.463 / 0.460 / 0.445).
    (a) one sweep, 1 thread, BLAS 1 thread, fastcf Numba / implicit's
    ``least_squares_cg`` in the same run: 64 factors user 0.50, item 0.41; 128
    factors user 0.34-0.60, item 0.59. Whole fits at 2 threads were too noisy
    at that load to quote.

Run: ``PYTHONPATH=src python benchmarks/als_peers.py [--part speed|accuracy|both]``.
"""

import argparse
import os
import time

import numpy as np
import pandas as pd

import fastcf
import fastcf.split
from fastcf.metrics import ndcg_at_k, precision_at_k


def binary(data):
    frame = data.to_frame()
    return fastcf.Interactions.from_frame(frame[["user", "item"]])


def implicit_model(factors, reg, alpha, iterations, seed, threads):
    from implicit.cpu.als import AlternatingLeastSquares

    return AlternatingLeastSquares(factors=factors, regularization=reg, alpha=alpha,
                                   iterations=iterations, random_state=seed,
                                   num_threads=threads, calculate_training_loss=False)


def time_implicit(matrix, factors, iterations, repeats, threads):
    from threadpoolctl import threadpool_limits

    best = np.inf
    with threadpool_limits(1, "blas"):
        for r in range(repeats):
            model = implicit_model(factors, 0.01, 1.0, iterations, r, threads)
            start = time.perf_counter()
            model.fit(matrix, show_progress=False)
            best = min(best, time.perf_counter() - start)
    return best / iterations


def time_fastcf(data, factors, iterations, repeats, threads, backend):
    best = np.inf
    for r in range(repeats):
        model = fastcf.ALS(factors=factors, reg=0.01, alpha=1.0, iterations=iterations,
                           seed=r, n_threads=threads, backend=backend)
        start = time.perf_counter()
        model.fit(data)
        best = min(best, time.perf_counter() - start)
    return best / iterations


def speed(args):
    data = binary(fastcf.make_ratings(60_000, 8_000, 1_740_000, seed=0))
    _ = data.by_item
    matrix = data.by_user.to_scipy().astype(np.float32)
    tiny = binary(fastcf.make_ratings(200, 100, 2000, seed=1))
    for backend in args.backends:  # JIT compile / cache load, untimed
        fastcf.ALS(factors=8, iterations=1, backend=backend, seed=0).fit(tiny)
    print(f"data: {data.n_users} users x {data.n_items} items, {data.nnz:,} interactions; "
          f"{args.threads} threads, {args.iterations} iterations, best of {args.repeats}")
    rows = []
    for factors in args.factors:
        print(f"load average {os.getloadavg()}")
        peer = time_implicit(matrix, factors, args.iterations, args.repeats, args.threads)
        for backend in args.backends:
            ours = time_fastcf(data, factors, args.iterations, args.repeats, args.threads,
                               backend)
            rows.append({"factors": factors, "backend": backend, "fastcf s/it": ours,
                         "implicit s/it": peer, "ratio": ours / peer})
            print(rows[-1], flush=True)
    print(pd.DataFrame(rows).to_string(index=False, float_format="%.3f"))
    print(f"load average {os.getloadavg()}")


def ranking_metrics(top, test, train_users):
    """Mean NDCG@10 and P@10 over the test users (rows of ``top``: external item ids)."""
    truth = test.to_frame().groupby("user")["item"].apply(list)
    users = [u for u in truth.index if u in train_users]
    position = {u: r for r, u in enumerate(train_users)}
    recs = np.array([top[position[u]] for u in users], dtype=np.int64)
    relevant = [np.asarray(truth[u], dtype=np.int64) for u in users]
    return ndcg_at_k(recs, relevant, 10), precision_at_k(recs, relevant, 10)


def load_ml100k(path):
    frame = pd.read_csv(path, sep="\t", names=["user", "item", "rating", "ts"])
    return fastcf.Interactions.from_frame(frame[["user", "item"]])


def accuracy_fastcf(train, test, seed, **params):
    model = fastcf.ALS(seed=seed, n_threads=2, **params).fit(train)
    users = train.user_ids
    top, _ = model.recommend(users, n=10)
    return ranking_metrics(top, test, {u: r for r, u in enumerate(users)})


def accuracy_implicit(train, test, seed, factors, reg, alpha, iterations):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        model = implicit_model(factors, reg, alpha, iterations, seed, 2)
        matrix = train.by_user.to_scipy().astype(np.float32)
        model.fit(matrix, show_progress=False)
        ids, _ = model.recommend(np.arange(train.n_users), matrix, N=10,
                                 filter_already_liked_items=True)
    top = train.item_ids[ids]
    return ranking_metrics(top, test, {u: r for r, u in enumerate(train.user_ids)})


def accuracy(args):
    data = load_ml100k(args.ml100k)
    splits = [fastcf.split.user_split(data, 0.25, seed=s) for s in args.seeds]
    base = {"factors": 64, "reg": 0.01, "iterations": 15}
    rows = []

    def run(name, fn, **params):
        scores = np.array([fn(train, test, seed, **params)
                           for seed, (train, test) in zip(args.seeds, splits)])
        rows.append({"model": name, "NDCG@10": scores[:, 0].mean(),
                     "P@10": scores[:, 1].mean(), "NDCG sd": scores[:, 0].std()})
        print(rows[-1], flush=True)

    run("implicit ALS alpha=1", accuracy_implicit, alpha=1.0, **base)
    run("fastcf ALS alpha=1", accuracy_fastcf, alpha=1.0, **base)
    for alpha in args.alphas:
        run(f"implicit ALS alpha={alpha}", accuracy_implicit, alpha=alpha, **base)
        run(f"fastcf ALS alpha={alpha - 1} (same confidence)", accuracy_fastcf,
            alpha=alpha - 1, **base)
    for factors, reg, alpha in args.grid:
        run(f"fastcf ALS factors={factors} reg={reg} alpha={alpha}", accuracy_fastcf,
            factors=factors, reg=reg, alpha=alpha, iterations=15)
    print(pd.DataFrame(rows).to_string(index=False, float_format="%.4f"))
    print(f"load average {os.getloadavg()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["speed", "accuracy", "both"], default="both")
    parser.add_argument("--factors", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backends", nargs="+", default=["numba", "cython"])
    parser.add_argument("--ml100k", default="/work/shared/data/ml-100k/u.data")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--alphas", type=float, nargs="*", default=[5.0, 20.0])
    parser.add_argument("--grid", type=lambda s: tuple(float(v) if "." in v else int(v)
                                                       for v in s.split(",")), nargs="*",
                        default=[(16, 1.0, 1.0), (16, 0.01, 1.0), (32, 0.01, 1.0),
                                 (64, 1.0, 5.0)])
    args = parser.parse_args()
    if args.part in ("speed", "both"):
        speed(args)
    if args.part in ("accuracy", "both"):
        accuracy(args)


if __name__ == "__main__":
    main()
