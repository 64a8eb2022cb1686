"""Every Surprise algorithm on the MovieLens 100K folds u1..u5: Surprise beside fastcf.

The same code runs twice, once with ``import surprise`` and once with
``from fastcf.compat import surprise``: exactly what a Surprise user runs
before and after changing that import. Each algorithm is built with
Surprise's defaults (``random_state=0`` where it takes one, so that the
predictions can be compared one by one), fitted on ``uN.base`` and tested on
``uN.test``::

    data = surprise.Dataset.load_from_folds(folds, reader=surprise.Reader("ml-100k"))
    for trainset, testset in surprise.model_selection.PredefinedKFold().split(data):
        algo.fit(trainset); predictions = algo.test(testset)

Protocol
    - Untimed: reading the files and building each fold's trainset and
      testset (``PredefinedKFold.split``), on both sides; one warm-up fit +
      test of every fastcf algorithm on fold u1 (Numba's JIT compile or cache
      load), whose duration is reported.
    - Timed, per fold: ``algo.fit(trainset)`` + ``algo.test(testset)``, best
      of ``--repeats`` for fastcf and of ``--surprise-repeats`` (default 1:
      Surprise's SVD++ takes ~15 s a fold) for Surprise.
    - Reported per algorithm: RMSE and MAE (``accuracy.rmse`` / ``mae`` of
      the predictions, averaged over the folds) of both, the largest per
      prediction |difference| of the estimates (``max |d est|``: the
      ``surprise_compat`` promise is 1e-6), the fit + test seconds summed
      over the folds, and the ratio Surprise s / fastcf s (targets: >= 20x,
      >= 50x for SVD++).

``--scale N`` runs instead one 80/20 split of ``make_ratings`` with N
ratings (ML-100K's shape scaled up: users and items grow as sqrt(N)), read
through ``Dataset.load_from_df`` on both sides (``--surprise-skip`` names
algorithms whose Surprise run is not attempted, e.g. SVDpp: Surprise's own
README reports 34 min 55 s for SVD++ on ML-1M).

    python benchmarks/surprise_ml100k.py --data ../shared/data/ml-100k [--folds 1-5]
        [--algorithms SVD,SVDpp] [--repeats 3] [--surprise-repeats 1] [--out DIR]
    python benchmarks/surprise_ml100k.py --scale 1000000 \
        --algorithms SVD,SVDpp,SlopeOne,CoClustering --surprise-skip SVDpp
"""

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import finish, load_average  # noqa: E402

#: Every Surprise algorithm, with the arguments of the run (Surprise's defaults
#: otherwise); the kNN rows are Surprise's defaults (k 40, MSD, user-based) plus
#: the item-based pearson KNNWithMeans DESIGN.md quotes.
ALGORITHMS = {
    "NormalPredictor": ("NormalPredictor", {}),
    "BaselineOnly": ("BaselineOnly", {}),
    "BaselineOnly(sgd)": ("BaselineOnly", {"bsl_options": {"method": "sgd"}}),
    "KNNBasic": ("KNNBasic", {}),
    "KNNWithMeans": ("KNNWithMeans", {}),
    "KNNWithMeans(item pearson)": ("KNNWithMeans", {"sim_options": {"name": "pearson",
                                                                     "user_based": False}}),
    "KNNWithZScore": ("KNNWithZScore", {}),
    "KNNBaseline": ("KNNBaseline", {}),
    "SVD": ("SVD", {"random_state": 0}),
    "SVDpp": ("SVDpp", {"random_state": 0}),
    "NMF": ("NMF", {"random_state": 0}),
    "SlopeOne": ("SlopeOne", {}),
    "CoClustering": ("CoClustering", {"random_state": 0}),
}


def libraries():
    import surprise

    from fastcf.compat import surprise as fastcf_surprise

    return {"surprise": surprise, "fastcf": fastcf_surprise}


def fold_sets(module, data_dir, folds):
    """[(trainset, testset)] of the folds, built with ``module``'s API (untimed)."""
    files = [(str(Path(data_dir) / f"u{k}.base"), str(Path(data_dir) / f"u{k}.test"))
             for k in folds]
    data = module.Dataset.load_from_folds(files, reader=module.Reader("ml-100k"))
    return list(module.model_selection.PredefinedKFold().split(data))


def scaled_sets(module, n_ratings, seed=0):
    """One 80/20 split of make_ratings(n_ratings) in ML-100K's shape, via load_from_df."""
    import fastcf

    scale = math.sqrt(n_ratings / 100_000)
    data = fastcf.make_ratings(int(943 * scale), int(1682 * scale), n_ratings, seed=seed)
    frame = data.to_frame()
    frame["rating"] = np.clip(np.round(frame["rating"]), 1, 5)
    test = np.random.default_rng(seed).random(len(frame)) < 0.2
    reader = module.Reader(rating_scale=(1, 5))
    train = module.Dataset.load_from_df(frame.loc[~test, ["user", "item", "rating"]], reader)
    testset = list(frame.loc[test, ["user", "item", "rating"]].itertuples(index=False, name=None))
    return [(train.build_full_trainset(), testset)]


def run(module, class_name, params, sets, repeats):
    """(seconds summed over the sets, [predictions per set])."""
    total, predictions = 0.0, []
    for trainset, testset in sets:
        best = math.inf
        for _ in range(repeats):
            algo = getattr(module, class_name)(**params)
            start = time.perf_counter()
            algo.fit(trainset)
            out = algo.test(testset)
            best = min(best, time.perf_counter() - start)
        total += best
        predictions.append(out)
    return total, predictions


def accuracy(module, predictions):
    rmse = np.mean([module.accuracy.rmse(p, verbose=False) for p in predictions])
    mae = np.mean([module.accuracy.mae(p, verbose=False) for p in predictions])
    return float(rmse), float(mae)


def max_difference(ours, theirs):
    """Largest |est difference| over predictions of the same (uid, iid) pairs."""
    worst = 0.0
    for a, b in zip(ours, theirs):
        est_a = np.array([p.est for p in a])
        est_b = np.array([p.est for p in b])
        assert [(p.uid, p.iid) for p in a] == [(p.uid, p.iid) for p in b]
        worst = max(worst, float(np.max(np.abs(est_a - est_b))))
    return worst


def format_markdown(results):
    lines = [f"# Surprise's algorithms: {results['data']}", "",
             f"load average before {results['load_before']}, after {results['load_after']}; "
             f"fastcf warm-up {results['warm_up_s']:.1f} s", "",
             "| algorithm | RMSE Surprise | RMSE fastcf | MAE Surprise | MAE fastcf | "
             "max \\|d est\\| | Surprise s | fastcf s | speed-up |",
             "|---|---|---|---|---|---|---|---|---|"]
    def show(row, key, fmt):
        return "-" if row.get(key) is None else format(row[key], fmt)

    for row in results["rows"]:
        lines.append(
            f"| {row['algorithm']} | {show(row, 'surprise_rmse', '.4f')} | "
            f"{row['fastcf_rmse']:.4f} | {show(row, 'surprise_mae', '.4f')} | "
            f"{row['fastcf_mae']:.4f} | {show(row, 'max_diff', '.1e')} | "
            f"{show(row, 'surprise_s', '.2f')} | {row['fastcf_s']:.3f} | "
            f"{show(row, 'speedup', '.1f')}x |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared"
                                              / "data" / "ml-100k"))
    parser.add_argument("--folds", default="1-5", help="e.g. 1-5 or 1,3")
    parser.add_argument("--scale", type=int, default=None,
                        help="ratings of a make_ratings run instead of the ML-100K folds")
    parser.add_argument("--algorithms", default=",".join(ALGORITHMS))
    parser.add_argument("--surprise-skip", default="", help="algorithms not run with Surprise")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--surprise-repeats", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    names = [a for a in args.algorithms.split(",") if a]
    unknown = sorted(set(names) - set(ALGORITHMS))
    if unknown:
        parser.error(f"unknown algorithms {unknown}; known: {list(ALGORITHMS)}")
    skip = set(filter(None, args.surprise_skip.split(",")))
    if "-" in args.folds:
        low, high = map(int, args.folds.split("-"))
        folds = list(range(low, high + 1))
    else:
        folds = [int(k) for k in args.folds.split(",")]

    modules = libraries()
    load_before = load_average()
    if args.scale:
        sets = {lib: scaled_sets(m, args.scale) for lib, m in modules.items()}
        description = f"make_ratings, {args.scale:,} ratings, one 80/20 split"
    else:
        sets = {lib: fold_sets(m, args.data, folds) for lib, m in modules.items()}
        description = f"MovieLens 100K folds {', '.join(f'u{k}' for k in folds)}"

    start = time.perf_counter()
    for name in names:  # the warm-up: JIT compile or cache load, untimed
        run(modules["fastcf"], *ALGORITHMS[name], sets["fastcf"][:1], 1)
    warm_up = time.perf_counter() - start

    rows = []
    for name in names:
        class_name, params = ALGORITHMS[name]
        row = {"algorithm": name}
        fastcf_s, ours = run(modules["fastcf"], class_name, params, sets["fastcf"], args.repeats)
        row["fastcf_s"] = fastcf_s
        row["fastcf_rmse"], row["fastcf_mae"] = accuracy(modules["fastcf"], ours)
        if name not in skip:
            surprise_s, theirs = run(modules["surprise"], class_name, params, sets["surprise"],
                                     args.surprise_repeats)
            row["surprise_s"] = surprise_s
            row["surprise_rmse"], row["surprise_mae"] = accuracy(modules["surprise"], theirs)
            row["speedup"] = surprise_s / fastcf_s
            if class_name != "NormalPredictor":  # random draws: compared in distribution only
                row["max_diff"] = max_difference(ours, theirs)
        rows.append(row)
        print(f"{name}: fastcf {fastcf_s:.3f} s, surprise {row.get('surprise_s', math.nan):.2f} s",
              file=sys.stderr)
    finish({"data": description, "rows": rows, "load_before": load_before,
            "warm_up_s": warm_up}, format_markdown, args.out)


if __name__ == "__main__":
    main()
