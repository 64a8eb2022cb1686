"""SlopeOne on the MovieLens 100K folds, fastcf beside Surprise in the same run.

Per fold: RMSE of both, the largest prediction difference, and fit + test
seconds (best of ``--repeats``, as each library's fastest run is the least
disturbed by a shared machine), with the load average. Needs
``scikit-surprise`` and the ML-100k folder.

    python benchmarks/slopeone_ml100k.py --folds 1 --threads 1
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np

from fastcf import Interactions, SlopeOne
from fastcf.datasets import read_movielens_frame
from fastcf.metrics import rmse


def best_time(fn, repeats):
    """(fastest seconds, last result) of ``repeats`` calls."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def run_fold(folder, fold, repeats, n_threads):
    import surprise

    base = read_movielens_frame(Path(folder) / f"u{fold}.base")
    test = read_movielens_frame(Path(folder) / f"u{fold}.test")
    train = Interactions.from_frame(base, rating="rating")
    _ = train.by_item  # data preparation untimed on both sides
    users, items = test["user"].to_numpy(), test["item"].to_numpy()

    def fastcf_run():
        return SlopeOne(n_threads=n_threads).fit(train).predict(users, items)

    fastcf_run()  # JIT / first-touch outside the timing
    t_f, est_f = best_time(fastcf_run, repeats)
    trainset = surprise.Dataset.load_from_df(
        base[["user", "item", "rating"]], surprise.Reader(rating_scale=(1, 5))
    ).build_full_trainset()
    pairs = list(zip(users, items, test["rating"]))

    def surprise_run():
        return surprise.SlopeOne().fit(trainset).test(pairs)

    t_s, out = best_time(surprise_run, repeats)
    est_s = np.array([p.est for p in out])
    truth = test["rating"].to_numpy()
    print(f"u{fold}: RMSE fastcf {rmse(truth, est_f):.5f} surprise {rmse(truth, est_s):.5f} "
          f"max |diff| {np.abs(est_f - est_s).max():.1e}; fit + test fastcf "
          f"{t_f * 1e3:.1f} ms, surprise {t_s * 1e3:.0f} ms: {t_s / t_f:.1f}x "
          f"(load {os.getloadavg()[0]:.1f})")
    return t_s / t_f


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).parents[2] / "shared/data/ml-100k"))
    parser.add_argument("--folds", default="1,2,3,4,5")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    ratios = [run_fold(args.data, int(f), args.repeats, args.threads)
              for f in args.folds.split(",")]
    print(f"speed-up (fit + test) vs Surprise, median over folds: {np.median(ratios):.1f}x")


if __name__ == "__main__":
    main()
