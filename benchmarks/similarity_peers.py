"""Item-item and user-user similarity: fastcf beside Surprise, implicit and LensKit.

Follows DESIGN.md's benchmark protocol: every library on the same data in the
same run; each figure is the median of ``--repeats`` runs; the peers are timed
on their fit / train call only (their data preparation -- Surprise trainset,
implicit CSR, LensKit Dataset -- is built untimed, as our ``Interactions``
is); thread counts are equal where a peer allows it; Numba's JIT compile
time is measured apart, in a fresh process.

Measurements
    1. item-item ``pearson``, top-40: fastcf per backend vs Surprise
       ``KNNBasic(pearson, item-based)`` fit (a dense similarity, one thread)
       and implicit ``CosineRecommender`` fit; neighbour agreement with
       Surprise's dense matrix for 50 random items.
    2. item-item ``cosine_all``, top-40: fastcf vs implicit
       ``CosineRecommender`` fit; LensKit ``ItemKNNScorer`` train (centered
       cosine) beside it, with fastcf ``adjusted_cosine`` (the same definition)
       for a like-for-like figure; neighbour agreement with both.
    3. user-user ``pearson``, top-40, in a subprocess per backend: time and
       peak RSS (Surprise would need a dense n_users x n_users float64 matrix).
    4. The first ``fastcf.similarity(tiny, k=5, backend="numba")`` call in a
       fresh process (import and data untimed): compile, or cache load.

Run where fastcf and its ``[bench]`` extra (the peers) are installed::

    pip install ".[bench]"
    python benchmarks/similarity_peers.py \\
        [--data synthetic|PATH-to-ml-100k-dir] [--scale 0.1] [--threads 2] [--repeats 3] \\
        [--backends numba,cython] [--skip-user-user] [--out DIR]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import scipy.sparse as sp
from _common import (
    finish,
    load_average,
    peak_rss_mb,
    ratings_frame,
    synthetic_data,
)

import fastcf
from fastcf.bench.peers.implicit import implicit_cosine, implicit_fit, implicit_user_items
from fastcf.bench.peers.surprise import surprise_trainset
from fastcf.bench.timing import median_time

K = 40
N_CHECK = 50  # items whose neighbours are compared with a peer's
TINY = (50, 40, 400)  # make_ratings shape for warm-up and JIT calls


# ----------------------------------------------------------------------- data
def load_data(spec, scale=1.0, seed=0):
    """``(Interactions, description)`` for ``synthetic`` or a MovieLens path."""
    if spec == "synthetic":
        return synthetic_data(scale, seed)
    data = fastcf.load_movielens(spec)
    _ = data.by_item  # data preparation is untimed, for us as for the peers
    return data, (f"{spec}: {data.nnz:,} ratings, {data.n_users:,} users x "
                  f"{data.n_items:,} items")


def warm_up(backends, kinds, n_threads):
    """Compile / load every kernel the timed runs use, on tiny data (untimed)."""
    tiny = fastcf.make_ratings(*TINY, seed=1)
    for backend in backends:
        for kind in kinds:
            for axis in ("item", "user"):
                try:
                    fastcf.similarity(tiny, kind=kind, axis=axis, k=5, backend=backend,
                                      n_threads=n_threads)
                except Exception:  # reported when the real call fails the same way
                    pass


def time_fastcf(data, kind, axis, backends, n_threads, repeats, **options):
    """``{backend: (median seconds, top-k CSR)}``, or ``(nan, error text)`` on failure."""
    out = {}
    for backend in backends:
        try:
            out[backend] = median_time(
                lambda backend=backend: fastcf.similarity(
                    data, kind=kind, axis=axis, k=K, backend=backend, n_threads=n_threads,
                    **options), repeats)
        except Exception as exc:  # e.g. a backend being rebuilt: report it, keep going
            out[backend] = (float("nan"), f"{type(exc).__name__}: {exc}")
    return out


# ------------------------------------------------------------------ agreement
def _reference_top(row_idx, row_val, self_index):
    """A peer's top-K of one row (self dropped): by similarity, ties by index."""
    keep = row_idx != self_index
    row_idx, row_val = row_idx[keep], row_val[keep]
    order = np.lexsort((row_idx, -row_val))[:K]
    return row_idx[order], row_val[order]


def topk_agreement(fast, reference_rows, tol, dense_peer=False):
    """Compare fastcf's top-k rows with a peer's, allowing ties to swap.

    ``reference_rows`` maps a row to the peer's ``(neighbours, similarities)``
    (any order, self allowed). A row agrees when both lists have the same
    length, their sorted similarities match within ``tol``, every neighbour
    strictly above the last similarity (by more than ``tol``) is in both
    lists, and fastcf's similarity to each neighbour the peer also scored
    equals the peer's (this catches a tie block of the wrong items). A dense
    peer (Surprise) gives 0 to pairs with nothing co-rated, which fastcf
    leaves out: there a shorter fastcf row agrees if the peer's extra entries
    are all 0.
    Returns ``(rows agreeing, rows checked, mean neighbour overlap)``.
    """
    agree, overlaps = 0, []
    for row, (ref_idx, ref_val) in reference_rows.items():
        start, stop = fast.indptr[row], fast.indptr[row + 1]
        f_idx, f_val = fast.indices[start:stop], np.asarray(fast.data[start:stop], float)
        ref_idx, ref_val = np.asarray(ref_idx), np.asarray(ref_val, float)
        peer_value = dict(zip(ref_idx.tolist(), ref_val.tolist()))
        same_values = all(abs(peer_value[j] - v) <= tol
                          for j, v in zip(f_idx.tolist(), f_val.tolist()) if j in peer_value)
        r_idx, r_val = _reference_top(ref_idx, ref_val, row)
        m = min(len(f_idx), len(r_idx))
        ok = same_values and (len(f_idx) == len(r_idx) or (
            dense_peer and len(f_idx) < len(r_idx) and np.all(np.abs(r_val[m:]) <= tol)))
        f_idx, f_val, r_idx, r_val = f_idx[:m], f_val[:m], r_idx[:m], r_val[:m]
        if m:
            boundary = f_val[-1]
            sure_f = set(f_idx[f_val > boundary + tol].tolist())
            sure_r = set(r_idx[r_val > boundary + tol].tolist())
            ok = ok and (np.allclose(f_val, r_val, rtol=0, atol=tol)
                         and sure_f <= set(r_idx.tolist()) and sure_r <= set(f_idx.tolist()))
        agree += bool(ok)
        overlaps.append(len(set(f_idx.tolist()) & set(r_idx.tolist())) / m if m else float(ok))
    return agree, len(reference_rows), float(np.mean(overlaps)) if overlaps else float("nan")


def check_rows(data, seed=0):
    """``N_CHECK`` random items that have at least one rating."""
    rated = np.flatnonzero(np.diff(data.by_item.indptr) > 0)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(rated, size=min(N_CHECK, len(rated)), replace=False))


def csr_rows(matrix, rows, col_map=None):
    """``{row: (columns, values)}`` of a scipy CSR peer matrix (optionally renumbered)."""
    matrix = sp.csr_matrix(matrix)
    out = {}
    for row, peer_row in rows.items():
        lo, hi = matrix.indptr[peer_row], matrix.indptr[peer_row + 1]
        cols = matrix.indices[lo:hi]
        out[row] = (cols if col_map is None else col_map[cols], matrix.data[lo:hi])
    return out


# -------------------------------------------------------------------- peers
def fit_surprise_pearson(trainset):
    import surprise

    algo = surprise.KNNBasic(k=K, sim_options={"name": "pearson", "user_based": False},
                             verbose=False)
    algo.fit(trainset)  # computes the dense n_items x n_items similarity
    return algo


def fit_implicit_cosine(user_items, n_threads):
    return implicit_fit(implicit_cosine(K, n_threads), user_items)


def lenskit_dataset(data):
    from lenskit.data import from_interactions_df

    dataset = from_interactions_df(ratings_frame(data), user_col="user", item_col="item",
                                   rating_col="rating")
    dataset.interactions().matrix().scipy("rating", layout="coo")  # build its caches untimed
    return dataset


def init_lenskit_threads(n_threads):
    """LensKit's Rayon pool and backend threads (once per process, before training)."""
    import lenskit.parallel

    lenskit.parallel.initialize(processes=1, threads=n_threads, backend_threads=n_threads)


def fit_lenskit_itemknn(dataset):
    from lenskit.knn import ItemKNNScorer

    # max_nbrs is used when scoring; save_nbrs is what training keeps per item.
    scorer = ItemKNNScorer(max_nbrs=K, save_nbrs=K, feedback="explicit")
    scorer.train(dataset)
    return scorer


# -------------------------------------------------------------- measurements
def _fastcf_rows(work, results, n_threads):
    return [{"work": work, "library": f"fastcf {backend}", "threads": n_threads,
             "seconds": seconds, "error": None if np.isfinite(seconds) else result}
            for backend, (seconds, result) in results.items()]


def _speedups(rows, work, peers):
    """For each fastcf row of ``work``: peer seconds / fastcf seconds."""
    times = {r["library"]: r["seconds"] for r in rows if r["work"] == work}
    for row in rows:
        if row["work"] == work and row["library"].startswith("fastcf"):
            row["speedup"] = {peer: times[peer] / row["seconds"] for peer in peers
                              if peer in times}


def measure_item_pearson(data, args, backends):
    """1. item-item pearson top-40: fastcf vs Surprise KNNBasic and implicit Cosine."""
    work = f"item-item pearson, k={K}"
    fast = time_fastcf(data, "pearson", "item", backends, args.threads, args.repeats)
    rows = _fastcf_rows(work, fast, args.threads)

    trainset = surprise_trainset(data)
    surprise_s, algo = median_time(lambda: fit_surprise_pearson(trainset), args.repeats)
    rows.append({"work": work, "library": "surprise KNNBasic", "threads": 1,
                 "seconds": surprise_s, "note": "dense similarity, single-threaded"})
    user_items = implicit_user_items(data)
    implicit_s, _ = median_time(lambda: fit_implicit_cosine(user_items, args.threads),
                                args.repeats)
    rows.append({"work": work, "library": "implicit CosineRecommender", "threads": args.threads,
                 "seconds": implicit_s, "note": "plain cosine (cosine_all): less work"})
    _speedups(rows, work, ["surprise KNNBasic", "implicit CosineRecommender"])
    for row in rows:
        if row["library"].startswith("fastcf"):
            row["targets"] = {"surprise KNNBasic": 50.0, "implicit CosineRecommender": 1.0}

    # Neighbours of N_CHECK items against Surprise's dense matrix (in fastcf's order).
    items = check_rows(data)
    inner = np.full(data.n_items, -1)
    for inner_id in trainset.all_items():
        inner[int(trainset.to_raw_iid(inner_id))] = inner_id
    known = np.flatnonzero(inner >= 0)
    reference = {int(i): (known, algo.sim[inner[i], inner[known]]) for i in items}
    checks = [_agreement_row(work, f"fastcf {b} vs surprise", fast[b], reference, 1e-9,
                             dense_peer=True) for b in backends]
    del algo
    return rows, checks


def _agreement_row(work, what, fast_result, reference, tol, dense_peer=False):
    seconds, result = fast_result
    if not np.isfinite(seconds):
        return {"work": work, "check": what, "error": result}
    agree, n, overlap = topk_agreement(result, reference, tol, dense_peer)
    return {"work": work, "check": what, "rows_agree": agree, "rows": n, "overlap": overlap,
            "tol": tol}


def measure_item_cosine(data, args, backends):
    """2. item-item cosine_all top-40 vs implicit; LensKit (centered cosine) beside it."""
    work = f"item-item cosine_all, k={K}"
    fast = time_fastcf(data, "cosine_all", "item", backends, args.threads, args.repeats)
    rows = _fastcf_rows(work, fast, args.threads)
    user_items = implicit_user_items(data)
    implicit_s, model = median_time(lambda: fit_implicit_cosine(user_items, args.threads),
                                    args.repeats)
    rows.append({"work": work, "library": "implicit CosineRecommender", "threads": args.threads,
                 "seconds": implicit_s, "note": "float32"})
    _speedups(rows, work, ["implicit CosineRecommender"])
    for row in rows:
        if row["library"].startswith("fastcf"):
            row["targets"] = {"implicit CosineRecommender": 2.0}
    items = check_rows(data)
    reference = csr_rows(model.similarity, {int(i): int(i) for i in items})
    checks = [_agreement_row(work, f"fastcf {b} vs implicit", fast[b], reference, 1e-5)
              for b in backends]

    # LensKit trains a centered (adjusted) cosine, keeping positive similarities only:
    # fastcf adjusted_cosine with min_sim=1e-6 (LensKit's default) is the same work.
    work_lk = f"item-item adjusted_cosine, k={K}"
    fast_lk = time_fastcf(data, "adjusted_cosine", "item", backends, args.threads,
                          args.repeats, min_sim=1e-6)
    rows += _fastcf_rows(work_lk, fast_lk, args.threads)
    dataset = lenskit_dataset(data)
    init_lenskit_threads(args.threads)
    lenskit_s, scorer = median_time(lambda: fit_lenskit_itemknn(dataset), args.repeats)
    rows.append({"work": work_lk, "library": "lenskit ItemKNNScorer", "threads": args.threads,
                 "seconds": lenskit_s, "note": "float32; centered cosine, sims > 1e-6 kept"})
    _speedups(rows, work_lk, ["lenskit ItemKNNScorer"])
    numbers = scorer.items.numbers(items)
    col_ids = np.asarray(scorer.items.ids(), dtype=np.int64)
    reference = csr_rows(scorer.sim_matrix.to_scipy(), dict(zip(items.tolist(), numbers.tolist())),
                         col_map=col_ids)
    checks += [_agreement_row(work_lk, f"fastcf {b} vs lenskit", fast_lk[b], reference, 1e-5)
               for b in backends]
    return rows, checks


def _run_child(args, mode, backend=None):
    """Run this script in a fresh process; return the JSON dict it prints last."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", mode, "--data", args.data,
           "--scale", str(args.scale), "--threads", str(args.threads),
           "--repeats", str(args.repeats)]
    if backend:
        cmd += ["--backends", backend]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip()
                else f"exit code {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_user_user(args, backends):
    """3. user-user pearson top-40, one subprocess per backend (its own peak RSS)."""
    work = f"user-user pearson, k={K}"
    rows = []
    for backend in backends:
        result = _run_child(args, "user-user", backend)
        rows.append({"work": work, "library": f"fastcf {backend}", "threads": args.threads,
                     "seconds": result.get("seconds", float("nan")),
                     "peak_rss_mb": result.get("peak_rss_mb"),
                     "rss_before_mb": result.get("rss_before_mb"),
                     "ru_maxrss_mb": result.get("ru_maxrss_mb"),
                     "n_users": result.get("n_users"), "error": result.get("error"),
                     "targets": {"peak RSS MB <": 2048}})
    return rows




def child_user_user(args):
    data, _ = load_data(args.data, args.scale)
    backend = args.backends.split(",")[0]
    warm_up([backend], ["pearson"], args.threads)
    before = peak_rss_mb()
    seconds, _ = median_time(lambda: fastcf.similarity(
        data, kind="pearson", axis="user", k=K, backend=backend, n_threads=args.threads),
        args.repeats)
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "rss_before_mb": before,
                      "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "n_users": data.n_users}))


def measure_jit(args):
    """4. First numba similarity call in a fresh process, twice (the 2nd has a warm cache)."""
    return [dict(_run_child(args, "jit"), run=run) for run in (1, 2)]


def child_jit(args):
    start = time.perf_counter()
    tiny = fastcf.make_ratings(*TINY, seed=1)
    setup = time.perf_counter() - start
    start = time.perf_counter()
    fastcf.similarity(tiny, k=5, backend="numba", n_threads=args.threads)
    first = time.perf_counter() - start
    start = time.perf_counter()
    fastcf.similarity(tiny, k=5, backend="numba", n_threads=args.threads)
    print(json.dumps({"first_call_s": first, "second_call_s": time.perf_counter() - start,
                      "tiny_data_s": setup}))


# ------------------------------------------------------------------- report
def _fmt_s(seconds):
    return "-" if seconds is None or not np.isfinite(seconds) else f"{seconds:.3f}"


def format_markdown(results):
    lines = [f"Data: {results['data']}. Threads {results['threads']}, medians of "
             f"{results['repeats']} runs, data preparation untimed. Load average before / after: "
             f"{results['load_before']} / {results['load_after']}.", "",
             "| work | library | threads | median s | speed-up (peer s / fastcf s) | notes |",
             "|---|---|---|---|---|---|"]
    for r in results["rows"]:
        speed = ", ".join(
            f"{peer.split()[0]} {ratio:.1f}x"
            + (f" (target >= {r['targets'][peer]:g}x: "
               f"{'met' if ratio >= r['targets'][peer] else 'NOT met'})"
               if peer in r.get("targets", {}) else "")
            for peer, ratio in r.get("speedup", {}).items() if np.isfinite(ratio)) or "-"
        notes = r.get("error") or r.get("note") or ""
        if r.get("peak_rss_mb") is not None:
            notes = (f"{r['n_users']:,} users; peak RSS (VmHWM) {r['peak_rss_mb']:.0f} MB, "
                     f"{r['rss_before_mb']:.0f} MB before the call (target < 2048 MB: "
                     f"{'met' if r['peak_rss_mb'] < 2048 else 'NOT met'}); ru_maxrss "
                     f"{r['ru_maxrss_mb']:.0f} MB includes the parent's peak")
        lines.append(f"| {r['work']} | {r['library']} | {r['threads']} | {_fmt_s(r['seconds'])} "
                     f"| {speed} | {notes} |")
    if results.get("user_user_skipped"):
        lines.append(f"| user-user pearson, k={K} | - | - | - | - | skipped (--skip-user-user) |")
    n_users = results["n_users"]
    dense_gb = n_users ** 2 * 8 / 1e9
    if dense_gb > 8:  # Surprise builds several dense n x n float64 arrays
        lines.append(f"| user-user pearson | surprise | - | - | - | cannot: dense {n_users:,}^2 "
                     f"float64 = {dense_gb:.1f} GB |")
    lines += ["", "Neighbour agreement (top-k of "
              f"{N_CHECK} random items; ties may swap, values within tol):", ""]
    for c in results["checks"]:
        if c.get("error"):
            lines.append(f"- {c['work']}: {c['check']}: {c['error']}")
        else:
            lines.append(f"- {c['work']}: {c['check']}: {c['rows_agree']}/{c['rows']} rows "
                         f"agree, mean neighbour overlap {c['overlap']:.3f} (tol {c['tol']:g})")
    lines += ["", "Numba JIT, first `fastcf.similarity(tiny, k=5, backend='numba')` in a fresh "
              "process (import and tiny data untimed):", ""]
    for j in results["jit"]:
        if j.get("error"):
            lines.append(f"- run {j['run']}: {j['error']}")
        else:
            lines.append(f"- run {j['run']}: first call {j['first_call_s']:.3f} s, second call "
                         f"{j['second_call_s'] * 1e3:.2f} ms (target first call < 1 s with a "
                         f"warm cache: {'met' if j['first_call_s'] < 1 else 'NOT met'})")
    return "\n".join(lines)




def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="synthetic",
                        help="'synthetic' (60k x 8k, 1.74M ratings) or a MovieLens path")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="shrink the synthetic shape (users, items, ratings) by this factor")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backends", default="numba,cython")
    parser.add_argument("--skip-user-user", action="store_true")
    parser.add_argument("--out", help="directory for results.json and results.md")
    parser.add_argument("--child", choices=["user-user", "jit"], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.child == "user-user":
        return child_user_user(args)
    if args.child == "jit":
        return child_jit(args)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    load_before = load_average()
    jit = measure_jit(args)  # first, in fresh processes
    data, description = load_data(args.data, args.scale)
    warm_up(backends, ["pearson", "cosine_all", "adjusted_cosine"], args.threads)
    rows, checks = measure_item_pearson(data, args, backends)
    more_rows, more_checks = measure_item_cosine(data, args, backends)
    rows += more_rows
    checks += more_checks
    if not args.skip_user_user:
        rows += measure_user_user(args, backends)
    results = {"data": description, "threads": args.threads, "repeats": args.repeats,
               "backends": backends, "n_users": data.n_users, "rows": rows, "checks": checks,
               "jit": jit, "user_user_skipped": args.skip_user_user, "load_before": load_before}
    finish(results, format_markdown, args.out)


if __name__ == "__main__":
    main()
