"""Top-10 for every user with ItemKNN / UserKNN: fastcf beside implicit and LensKit.

Data: ``fastcf.make_ratings(60_000, 8_000, 1_740_000, seed=0)`` (``--scale``
shrinks every dimension). Every library gets the same ratings; its data
preparation (fastcf ``Interactions`` with its by-item view, implicit's
float32 user x item CSR, LensKit's ``Dataset``) is built untimed. Each figure
is the median of ``--repeats`` runs; every run fits a fresh model and times
its first ``recommend``, so work that is done lazily on the first call
(fastcf builds each item's top-k list there) is counted.

Measurements
    (a) item-based top-10 for every user, K neighbours per item (``--k``, 40):
        - fastcf ``ItemKNN(k=K, similarity="cosine_all", mode="basic")``:
          ``fit`` and ``recommend(all user ids, n=10)`` timed apart
          (exclude_seen). Its ``recommend`` scores
          :math:`\\sum_{j \\in I(u)} r_{uj} s(j, i)` over each rated item's K
          most similar items -- implicit's ``ItemItemRecommender`` rule.
          With 8,000 items the fit keeps the dense item x item matrix
          (512 MB, under fastcf's dense budget); the same model with
          ``max_neighbors=K`` (only each item's top K kept at fit, as
          implicit does) is timed beside it.
        - implicit ``CosineRecommender(K=K + 1)``: ``fit(user_items)`` and
          ``recommend(all user indices, user_items, N=10,
          filter_already_liked_items=True)``. implicit's top-K list of an item
          includes the item itself (similarity 1): K + 1 keeps K neighbours,
          the lists fastcf's k=K uses; the item itself only adds to the
          scores of items the user rated, which both filter out. implicit
          0.7.3 fits with ``num_threads`` threads but its batched
          ``ItemItemRecommender.recommend`` is a Python loop over the users
          (``implicit.utils._batch_call``), single-threaded whatever
          ``num_threads`` says.
        - LensKit ``ItemKNNScorer(max_nbrs=K, save_nbrs=K, feedback="explicit")``
          in ``lenskit.pipeline.topn_pipeline(scorer, n=10)``: ``pipeline.train``
          and ``lenskit.batch.recommend(pipeline, users, n=10, n_jobs=1)``
          (in-process; LensKit's threads set to ``--threads``). It scores a
          different rule (weighted average of item-mean-centred ratings over
          the target's K most similar rated items, centred cosine): a timing
          beside the others, not the same ranking. Its batch inference runs the
          pipeline once per user; it is timed on a random subset of
          ``--lenskit-users`` users (seed 0) and the all-users figure is
          extrapolated linearly (labelled so).
        - Agreement of fastcf's top-10 with implicit's for ``--check-users``
          random users (seed 0): identical item sets, mean overlap, and rows
          equal up to ties (sorted scores within a relative 1e-4 -- implicit
          works in float32 -- and every item scored clearly above the 10th
          score present in both).
    (b) user-based top-10 for every user, in a fresh subprocess:
        ``UserKNN(k=K, similarity="pearson", mode="basic")`` ``fit`` +
        ``recommend(all users, n=10)``; time and peak RSS (VmHWM of
        /proc/self/status, target < 2 GB). A dense 60,000^2 float64 user x
        user matrix would be 28.8 GB: fastcf's fit keeps no n x n matrix
        (storage "on_the_fly") and recommend computes each user's top-K
        similar users (sparse) before scoring.

Run with fastcf and the peers (the ``[bench]`` extra) installed::

    python benchmarks/knn_recommend_peers.py [--scale 1.0] [--k 40] [--threads 2] \\
        [--repeats 3] [--lenskit-users 2000] [--check-users 200] [--skip-lenskit] \\
        [--skip-user-user] [--out DIR]
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
from _common import (
    finish,
    load_average,
    peak_rss_mb,
    ratings_frame,
    synthetic_data,
)

import fastcf
from fastcf import ItemKNN, UserKNN
from fastcf.bench.peers.implicit import implicit_cosine, implicit_fit, implicit_user_items

N = 10  # recommendations per user
TINY = (50, 40, 400)  # make_ratings shape of the warm-up
SCORE_RTOL = 1e-4  # implicit scores in float32
RSS_TARGET_MB = 2048


# ----------------------------------------------------------------------- data
def load_data(scale, seed=0):
    return synthetic_data(scale, seed)


def warm_up(cls, n_threads, **params):
    """Fit + recommend once on tiny data: Numba JIT compile / cache load, untimed."""
    tiny = fastcf.make_ratings(*TINY, seed=1)
    start = time.perf_counter()
    model = cls(backend="auto", n_threads=n_threads, **params).fit(tiny)
    model.recommend(tiny.user_ids, n=N)
    return time.perf_counter() - start


def time_fit_recommend(make_model, fit, recommend, repeats):
    """Median fit and first-recommend seconds over ``repeats`` fresh models (+ last outputs)."""
    fit_times, rec_times, model, recs = [], [], None, None
    for _ in range(repeats):
        start = time.perf_counter()
        model = make_model()
        fit(model)
        fit_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        recs = recommend(model)
        rec_times.append(time.perf_counter() - start)
    return float(np.median(fit_times)), float(np.median(rec_times)), model, recs


# --------------------------------------------------------------- (a) item-based
def measure_fastcf_item(data, args, **extra):
    users = data.user_ids
    fit_s, rec_s, model, (items, scores) = time_fit_recommend(
        lambda: ItemKNN(k=args.k, similarity="cosine_all", mode="basic", backend=args.backend,
                        n_threads=args.threads, **extra),
        lambda m: m.fit(data), lambda m: m.recommend(users, n=N), args.repeats)
    start = time.perf_counter()
    model.recommend(users, n=N)  # again: each item's top-k list is cached now
    again_s = time.perf_counter() - start
    return {"fit_s": fit_s, "recommend_s": rec_s, "recommend_again_s": again_s,
            "storage": str(model.storage_)}, model.item_index(items.ravel()).reshape(
                items.shape), scores


def measure_implicit(data, args):
    user_items = implicit_user_items(data)
    userids = np.arange(data.n_users, dtype=np.int32)
    fit_s, rec_s, _, (ids, scores) = time_fit_recommend(
        lambda: implicit_cosine(args.k, args.threads), lambda m: implicit_fit(m, user_items),
        lambda m: m.recommend(userids, user_items, N=N, filter_already_liked_items=True),
        args.repeats)
    return {"fit_s": fit_s, "recommend_s": rec_s}, ids, scores


def measure_lenskit(data, args):
    import lenskit.parallel
    from lenskit.batch import recommend
    from lenskit.data import from_interactions_df
    from lenskit.knn import ItemKNNScorer
    from lenskit.pipeline import topn_pipeline

    lenskit.parallel.initialize(processes=1, threads=args.threads,
                                backend_threads=args.threads)
    dataset = from_interactions_df(ratings_frame(data), user_col="user", item_col="item",
                                   rating_col="rating")
    dataset.interactions().matrix().scipy("rating", layout="coo")  # build its caches untimed
    rng = np.random.default_rng(0)
    n_sub = data.n_users if args.lenskit_users <= 0 else min(args.lenskit_users, data.n_users)
    subset = np.sort(rng.choice(data.n_users, size=n_sub, replace=False)).tolist()

    def make():
        scorer = ItemKNNScorer(max_nbrs=args.k, save_nbrs=args.k, feedback="explicit")
        return topn_pipeline(scorer, n=N)

    fit_s, rec_s, _, recs = time_fit_recommend(
        make, lambda p: p.train(dataset),
        lambda p: recommend(p, subset, n=N, n_jobs=1), args.repeats)
    return {"fit_s": fit_s, "recommend_subset_s": rec_s, "subset_users": n_sub,
            "recommend_s": rec_s * data.n_users / n_sub, "extrapolated": n_sub < data.n_users,
            "lists": len(recs)}


def _valid(ids, scores):
    """Entries that are real recommendations (not padding)."""
    scores = np.asarray(scores, dtype=np.float64)
    keep = (np.asarray(ids) >= 0) & np.isfinite(scores) & (scores > np.finfo(np.float32).min)
    return np.asarray(ids)[keep], scores[keep]


def agreement(fast_idx, fast_val, imp_idx, imp_val, users):
    """Compare fastcf's top-N with implicit's for ``users`` (rows), allowing ties."""
    same_set, tie_ok, overlaps, examples, zero_filled = 0, 0, [], [], 0
    for u in users:
        f_idx, f_val = _valid(fast_idx[u], fast_val[u])
        i_idx, i_val = _valid(imp_idx[u], imp_val[u])
        zero_filled += int(np.any(f_val <= 0))
        # fastcf fills a short list with zero-score items, implicit pads: compare scored items
        f_idx, f_val = f_idx[f_val > 0], f_val[f_val > 0]
        i_idx, i_val = i_idx[i_val > 0], i_val[i_val > 0]
        fs, is_ = set(f_idx.tolist()), set(i_idx.tolist())
        same = fs == is_
        same_set += same
        m = max(len(fs), len(is_))
        overlaps.append(len(fs & is_) / m if m else 1.0)
        ok = same
        if not same and len(f_idx) == len(i_idx) and len(f_idx):
            fv, iv = np.sort(f_val)[::-1], np.sort(i_val)[::-1]
            boundary = fv[-1] * (1 + SCORE_RTOL)
            ok = (np.allclose(fv, iv, rtol=SCORE_RTOL, atol=0)
                  and set(f_idx[f_val > boundary].tolist()) <= is_
                  and set(i_idx[i_val > boundary].tolist()) <= fs)
        tie_ok += bool(ok)
        if not ok and len(examples) < 5:
            examples.append({"user": int(u), "fastcf": list(zip(f_idx.tolist(), f_val.tolist())),
                             "implicit": list(zip(i_idx.tolist(), i_val.tolist()))})
    return {"users": len(users), "identical_sets": same_set, "equal_up_to_ties": tie_ok,
            "mean_overlap": float(np.mean(overlaps)), "fastcf_zero_score_fill": zero_filled,
            "examples": examples}


def measure_item_based(data, args):
    warm_s = warm_up(ItemKNN, args.threads, k=5, similarity="cosine_all", mode="basic")
    warm_up(ItemKNN, args.threads, k=5, similarity="cosine_all", mode="basic", max_neighbors=5)
    rows = []
    fast, f_idx, f_val = measure_fastcf_item(data, args)
    rows.append({"library": "fastcf ItemKNN", "threads": args.threads, **fast,
                 "note": f"storage {fast['storage']}; recommend again (top-k lists cached) "
                         f"{fast['recommend_again_s']:.3f} s"})
    fast_m, _, _ = measure_fastcf_item(data, args, max_neighbors=args.k)
    rows.append({"library": f"fastcf ItemKNN max_neighbors={args.k}", "threads": args.threads,
                 **fast_m, "note": f"storage {fast_m['storage']} (top-{args.k} kept at fit); "
                                   f"recommend again {fast_m['recommend_again_s']:.3f} s"})
    imp, i_idx, i_val = measure_implicit(data, args)
    rows.append({"library": f"implicit CosineRecommender(K={args.k + 1})",
                 "threads": f"fit {args.threads}, recommend 1", **imp,
                 "note": "float32; batched recommend = Python loop over users"})
    if not args.skip_lenskit:
        lk = measure_lenskit(data, args)
        label = (f"extrapolated from {lk['subset_users']:,} random users "
                 f"({lk['recommend_subset_s']:.2f} s)" if lk["extrapolated"] else "all users")
        rows.append({"library": "lenskit ItemKNNScorer (topn_pipeline)",
                     "threads": f"train {args.threads}, batch 1 process", **lk,
                     "note": f"recommend {label}; explicit centred-cosine scoring (different "
                             "rule: timing only)"})
    imp_s = imp["recommend_s"]
    for row in rows:
        row["recommend_vs_implicit"] = imp_s / row["recommend_s"]
        row["fit_vs_implicit"] = imp["fit_s"] / row["fit_s"]
        if row["library"].startswith("fastcf"):
            row["target_met"] = row["recommend_vs_implicit"] >= 1.0
    rng = np.random.default_rng(0)
    check = np.sort(rng.choice(data.n_users, size=min(args.check_users, data.n_users),
                               replace=False))
    agree = agreement(f_idx, f_val, i_idx, i_val, check)
    return {"rows": rows, "agreement": agree, "warm_up_s": warm_s}


# --------------------------------------------------------------- (b) user-based
def child_user_user(args):
    data, _ = load_data(args.scale)
    warm = warm_up(UserKNN, args.threads, k=5, similarity="pearson", mode="basic")
    # the top-k similarity kernel, which an on-the-fly model's recommend runs (untimed)
    warm += warm_up(UserKNN, args.threads, k=5, similarity="pearson", mode="basic",
                    max_neighbors=5)
    before = peak_rss_mb()
    model = UserKNN(k=args.k, similarity="pearson", mode="basic", backend=args.backend,
                    n_threads=args.threads)
    start = time.perf_counter()
    model.fit(data)
    fit_s = time.perf_counter() - start
    after_fit = peak_rss_mb()
    start = time.perf_counter()
    items, scores = model.recommend(data.user_ids, n=N)
    rec_s = time.perf_counter() - start
    print(json.dumps({"fit_s": fit_s, "recommend_s": rec_s, "peak_rss_mb": peak_rss_mb(),
                      "peak_after_fit_mb": after_fit, "rss_before_mb": before,
                      "storage": str(model.storage_), "n_users": data.n_users,
                      "lists": int(items.shape[0]),
                      "short_lists": int(np.isnan(scores).any(axis=1).sum()),
                      "warm_up_s": warm}))


def measure_user_based(args):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "user-user",
           "--scale", str(args.scale), "--k", str(args.k), "--threads", str(args.threads),
           "--backend", args.backend]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return {"error": "\n".join(lines[-15:]) if lines else f"exit code {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------- report
def _met(ok):
    return "met" if ok else "NOT met"


def format_markdown(results):
    a = results["item_based"]
    lines = [f"Data: {results['data']}. K={results['k']}, top-{N} for every user, seen items "
             f"excluded; medians of {results['repeats']} runs (each a fresh fit, then its first "
             f"recommend); data preparation untimed; fastcf backend {results['backend']}, "
             f"{results['threads']} threads, kernels warmed up first on tiny data "
             f"({a['warm_up_s']:.2f} s, untimed). Load average before / after: "
             f"{results['load_before']} / {results['load_after']}.", "",
             "(a) item-based top-10 for all users", "",
             "| library | threads | fit s | recommend s | implicit recommend s / this "
             "(fastcf target >= 1x) | implicit fit s / this | notes |",
             "|---|---|---|---|---|---|---|"]
    for r in a["rows"]:
        target = f" {_met(r['target_met'])}" if "target_met" in r else ""
        lines.append(f"| {r['library']} | {r['threads']} | {r['fit_s']:.3f} | "
                     f"{r['recommend_s']:.3f} | {r['recommend_vs_implicit']:.2f}x{target} | "
                     f"{r['fit_vs_implicit']:.2f}x | {r['note']} |")
    g = a["agreement"]
    lines += ["", f"Agreement of fastcf ItemKNN's top-{N} with implicit's, {g['users']} random "
              f"users (seed 0): identical item sets {g['identical_sets']}/{g['users']}, equal up "
              f"to ties (scores within rtol {SCORE_RTOL:g}) {g['equal_up_to_ties']}/{g['users']}, "
              f"mean overlap {g['mean_overlap']:.4f}; users whose fastcf list has zero-score "
              f"fill-ins (implicit pads instead; compared on scored items) "
              f"{g['fastcf_zero_score_fill']}."]
    for ex in g["examples"]:
        lines.append(f"- user {ex['user']}: fastcf {_pairs(ex['fastcf'])}; implicit "
                     f"{_pairs(ex['implicit'])}")
    b = results.get("user_based")
    lines += ["", "(b) user-based top-10 for all users (fresh subprocess)", ""]
    if b is None:
        lines.append("skipped (--skip-user-user)")
    elif b.get("error"):
        lines.append(f"fastcf UserKNN(k={results['k']}, pearson, basic) FAILED:\n\n```\n"
                     f"{b['error']}\n```")
    else:
        n = b["n_users"]
        lines += ["| library | threads | fit s | recommend s | fit + recommend s | peak RSS MB "
                  "(target < 2048) | notes |", "|---|---|---|---|---|---|---|",
                  f"| fastcf UserKNN(k={results['k']}, pearson, basic) | {results['threads']} | "
                  f"{b['fit_s']:.3f} | {b['recommend_s']:.3f} | "
                  f"{b['fit_s'] + b['recommend_s']:.3f} | {b['peak_rss_mb']:.0f} "
                  f"{_met(b['peak_rss_mb'] < RSS_TARGET_MB)} | {n:,} users; storage "
                  f"{b['storage']}; VmHWM {b['rss_before_mb']:.0f} MB before fit, "
                  f"{b['peak_after_fit_mb']:.0f} MB after fit; one run; "
                  f"{b['short_lists']} lists shorter than {N} |",
                  "", f"A dense {n:,} x {n:,} float64 user x user matrix takes "
                  f"{n * n * 8 / 1e9:.1f} GB"
                  + (": over fastcf's dense budget, so its fit keeps none (similarities are "
                     "computed on the fly; recommend computes each user's top-K similar users, "
                     "sparse)." if b["storage"] == "on_the_fly" else
                     f": within fastcf's dense budget, so its fit keeps it (storage "
                     f"{b['storage']}).")]
    return "\n".join(lines)


def _pairs(pairs):
    return ", ".join(f"{i}:{v:.4g}" for i, v in pairs)




def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="shrink the (users, items, ratings) shape by this factor")
    parser.add_argument("--k", type=int, default=40, help="neighbours (all libraries)")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lenskit-users", type=int, default=2000,
                        help="users LensKit recommends for (random, seed 0; <= 0: all); "
                             "its all-users time is extrapolated from them")
    parser.add_argument("--check-users", type=int, default=200,
                        help="users whose fastcf / implicit top-10 are compared")
    parser.add_argument("--skip-lenskit", action="store_true")
    parser.add_argument("--skip-user-user", action="store_true")
    parser.add_argument("--out", help="directory for results.json and results.md")
    parser.add_argument("--child", choices=["user-user"], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.child == "user-user":
        return child_user_user(args)
    load_before = load_average()
    data, description = load_data(args.scale)
    item_based = measure_item_based(data, args)
    del data
    user_based = None if args.skip_user_user else measure_user_based(args)
    results = {"data": description, "k": args.k, "threads": args.threads,
               "backend": args.backend, "repeats": args.repeats, "item_based": item_based,
               "user_based": user_based, "load_before": load_before}
    finish(results, format_markdown, args.out)


if __name__ == "__main__":
    main()
