"""Re-rank every user's top-100 to a top-10: fastcf's MMR and DPP kernels beside NumPy.

Measurements
    ``make_ratings(60_000, 8_000, 1_740_000, seed=0)``; a 64-factor float32
    ``fastcf.ALS`` (3 iterations: the vectors only need to be realistic, the
    fit is untimed) gives each user's top-100 unseen items
    (``fastcf.kernels.factor_topk``), their scores, and the 64-d item
    vectors. Timed, each the best of ``--repeats`` runs, on 1 and 2 threads,
    per backend (numba, cython):
    ``fastcf.rerank.mmr(cand, scores, VectorSimilarity(item_vectors), 10, 0.5)``,
    ``fastcf.rerank.dpp(cand, scores, item_vectors, 10, theta=0.5)`` and with
    ``window=5``, all 60k users, the checks of the public functions included.
    Same run, the same work in vectorised NumPy (batches of 2,000 users: the
    candidates' vectors gathered, one batched product per pick, argmax over the
    batch; BLAS on ``--threads`` threads) on all users, and the reference twins
    (the naive greedy loops) on ``--reference-users`` users, extrapolated to
    all (labelled so). Agreement: the share of users whose NumPy and fastcf
    lists are equal. The load average is printed before and after.

    python benchmarks/rerank_speed.py [--threads 2] [--repeats 3] [--reference-users 100]
"""

import argparse
import os
from functools import partial

import numpy as np
from _common import best_of, load_average

import fastcf
from fastcf.kernels import factor_topk
from fastcf.kernels._registry import available_backends
from fastcf.rerank import VectorSimilarity, dpp, mmr

BATCH = 2_000


def candidates(n_candidates=100):
    data = fastcf.make_ratings(60_000, 8_000, 1_740_000, seed=0, dtype=np.float32)
    model = fastcf.ALS(factors=64, iterations=3, dtype=np.float32).fit(data)
    seen = data.by_user
    cand, scores = factor_topk(model.user_factors_, model.item_factors_, n_candidates,
                               exclude=(seen.indptr, seen.indices))
    return cand, scores, model.item_factors_


def numpy_mmr(cand, scores, unit, n, lambda_):
    """MMR over a batch at a time: each pick's similarities by one batched product."""
    out = np.empty((len(cand), n), dtype=np.int64)
    for start in range(0, len(cand), BATCH):
        c, s = cand[start:start + BATCH], scores[start:start + BATCH].astype(np.float64)
        x = unit[c].astype(np.float64)  # (B, M, d)
        rows = np.arange(len(c))
        base = lambda_ * s
        max_sim = np.full(s.shape, -np.inf)
        pick = np.argmax(s, axis=1)
        for step in range(n):
            out[start + rows, step] = c[rows, pick]
            base[rows, pick] = -np.inf
            if step + 1 == n:
                break
            sim = np.einsum("bmd,bd->bm", x, x[rows, pick])
            np.maximum(max_sim, sim, out=max_sim)
            pick = np.argmax(base - (1 - lambda_) * max_sim, axis=1)
    return out


def numpy_dpp(cand, scores, vectors, n, theta):
    """Chen et al.'s Algorithm 1 over a batch at a time (no epsilon stop: the 64-d
    vectors never run out of rank in 10 picks)."""
    out = np.empty((len(cand), n), dtype=np.int64)
    for start in range(0, len(cand), BATCH):
        c, s = cand[start:start + BATCH], scores[start:start + BATCH].astype(np.float64)
        x = vectors[c].astype(np.float64)
        x /= np.linalg.norm(x, axis=2, keepdims=True)
        rows = np.arange(len(c))
        d2 = np.ones(s.shape)
        cis = np.zeros((len(c), n, s.shape[1]))
        picked = np.zeros(s.shape, dtype=bool)
        for k in range(n):
            with np.errstate(divide="ignore", invalid="ignore"):
                gain = np.where(picked, -np.inf, theta * s + (1 - theta) * np.log(d2))
            j = np.argmax(gain, axis=1)
            out[start + rows, k] = c[rows, j]
            picked[rows, j] = True
            if k + 1 == n:
                break
            sim = np.einsum("bmd,bd->bm", x, x[rows, j])
            e = sim - np.einsum("bt,btm->bm", cis[rows, :k, j], cis[:, :k])
            e /= np.sqrt(d2[rows, j])[:, None]
            cis[:, k] = e
            d2 -= e * e
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference-users", type=int, default=100)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    cand, scores, vectors = candidates()
    sim = VectorSimilarity(vectors)
    n_users = len(cand)
    print(f"{n_users} users, top-{cand.shape[1]} -> top-10, {vectors.shape[1]}-d "
          f"{vectors.dtype} item vectors; load average {load_average()}")
    runs = {
        "MMR lambda 0.5": lambda **kw: mmr(cand, scores, sim, 10, 0.5, **kw),
        "DPP theta 0.5": lambda **kw: dpp(cand, scores, vectors, 10, 0.5, **kw),
        "DPP theta 0.5 window 5": lambda **kw: dpp(cand, scores, vectors, 10, 0.5, 5, **kw),
    }
    backends = [b for b in ("numba", "cython") if available_backends()[b]]
    results = {}
    for label, run in runs.items():
        for backend in backends:
            run(backend=backend, n_threads=1)  # JIT compile outside the timing
            for threads in sorted({1, args.threads}):
                seconds, out = best_of(args.repeats,
                                       partial(run, backend=backend, n_threads=threads))
                results[label, backend, threads] = (seconds, out)
                print(f"{label:24s} {backend:7s} {threads} threads  {seconds:7.3f} s", flush=True)
    with threadpool_limits(args.threads, user_api="blas"):
        numpy_runs = {"MMR lambda 0.5": lambda: numpy_mmr(cand, scores, sim.vectors, 10, 0.5),
                      "DPP theta 0.5": lambda: numpy_dpp(cand, scores, vectors, 10, 0.5)}
        for label, run in numpy_runs.items():
            seconds, out = best_of(args.repeats, run)
            fast_seconds, fast = results[label, "numba", args.threads]
            agree = np.mean((out == fast).all(axis=1))
            print(f"{label:24s} NumPy   {args.threads} threads  {seconds:7.3f} s  "
                  f"(numba {seconds / fast_seconds:.1f}x faster; same lists for "
                  f"{agree:.2%} of users)", flush=True)
    few = slice(0, args.reference_users)
    for label, run in (("MMR lambda 0.5", lambda: mmr(cand[few], scores[few], sim, 10, 0.5,
                                                      backend="reference")),
                       ("DPP theta 0.5", lambda: dpp(cand[few], scores[few], vectors, 10, 0.5,
                                                     backend="reference"))):
        seconds, _ = best_of(1, run)
        whole = seconds * n_users / args.reference_users
        fast_seconds = results[label, "numba", args.threads][0]
        print(f"{label:24s} reference (naive loops) on {args.reference_users} users: "
              f"{seconds:.2f} s, extrapolated to {n_users}: {whole:.0f} s "
              f"({whole / fast_seconds:,.0f}x numba on {args.threads} threads)", flush=True)
    print(f"load average after: {load_average()}; cores {os.cpu_count()}")


if __name__ == "__main__":
    main()
