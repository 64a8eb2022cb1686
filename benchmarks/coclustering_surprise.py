"""CoClustering beside Surprise's: ML-100k folds and a synthetic 1M-rating run.

Both libraries with Surprise's defaults (3 x 3 clusters, 20 epochs,
``random_state`` = ``seed`` = 0), timed in the same run: fit + test (predict
every test pair), the best of ``--repeats`` runs each. fastcf runs in its
default mode and with ``surprise_compat=True`` (whose predictions must equal
Surprise's: the max difference is printed). Needs ``scikit-surprise`` (the
``[bench]`` extra) and the ML-100k folder.

    python benchmarks/coclustering_surprise.py --folds 1 2 3 4 5
    python benchmarks/coclustering_surprise.py --folds --synthetic 1000000
"""

import argparse
from pathlib import Path

import numpy as np
from _common import best_of, load_average

import fastcf
from fastcf import Interactions
from fastcf.datasets import make_ratings, read_movielens_frame
from fastcf.metrics import rmse
from fastcf.split import random_split


def compare(base, test, repeats, label, n_threads=None, surprise_repeats=None):
    """Print fit + test times, ratios and RMSEs of one train / test pair of frames."""
    import surprise

    train = Interactions.from_frame(base, rating="rating")
    _ = train.by_item  # data preparation untimed on both sides
    users, items = test["user"].to_numpy(), test["item"].to_numpy()
    truth = test["rating"].to_numpy()
    fastcf_runs = {}
    for mode, compat in (("fastcf", False), ("fastcf compat", True)):
        def run(compat=compat):
            model = fastcf.CoClustering(surprise_compat=compat, seed=0,
                                        n_threads=n_threads).fit(train)
            return model.predict(users, items)

        run()  # the JIT compile (or the cache load) outside the timing
        fastcf_runs[mode] = best_of(repeats, run)
    scale = (float(base["rating"].min()), float(base["rating"].max()))
    trainset = surprise.Dataset.load_from_df(
        base[["user", "item", "rating"]], surprise.Reader(rating_scale=scale)
    ).build_full_trainset()
    pairs = list(zip(users, items, truth))

    def run_surprise():
        algo = surprise.CoClustering(random_state=0)
        algo.fit(trainset)
        return np.array([p.est for p in algo.test(pairs)])

    surprise_s, est_s = best_of(surprise_repeats or repeats, run_surprise)
    print(f"{label} (load {load_average()}): Surprise fit+test {surprise_s:.3f} s, "
          f"RMSE {rmse(truth, est_s):.4f}")
    for mode, (seconds, est) in fastcf_runs.items():
        print(f"  {mode}: fit+test {seconds * 1e3:.1f} ms ({surprise_s / seconds:.1f}x), "
              f"RMSE {rmse(truth, est):.4f}, max |est - Surprise's| "
              f"{np.abs(est - est_s).max():.1e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).parents[2] / "shared/data/ml-100k"))
    parser.add_argument("--folds", type=int, nargs="*", default=[1, 2, 3, 4, 5])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--synthetic", type=int, default=0,
                        help="also a make_ratings run of this many ratings (80/20 split)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    for fold in args.folds:
        base = read_movielens_frame(Path(args.data) / f"u{fold}.base")
        test = read_movielens_frame(Path(args.data) / f"u{fold}.test")
        compare(base, test, args.repeats, f"u{fold}", args.threads)
    if args.synthetic:
        n = args.synthetic
        data = make_ratings(max(n // 50, 10), max(n // 200, 10), n, seed=0)
        train, test = random_split(data, 0.2, seed=0)
        test = test.to_frame()
        compare(train.to_frame(), test[test["user"].isin(train.user_ids)], 3,
                f"make_ratings({n:,})", args.threads, surprise_repeats=1)


if __name__ == "__main__":
    main()
