"""BaselineOnly on the MovieLens 100K folds u1..u5, fastcf beside Surprise.

Accuracy parity (mean RMSE over the five folds, Surprise: 0.9457) and the
fit / predict time ratio, both libraries timed in the same run (median of
``--repeats``). Needs ``scikit-surprise`` (the ``[bench]`` extra) and the
ML-100k folder (``--data``, default ``../shared/data/ml-100k``).

    python benchmarks/baseline_ml100k.py --data ../shared/data/ml-100k
"""

import argparse
import statistics
from pathlib import Path

import numpy as np

from fastcf import BaselineOnly, Interactions
from fastcf.bench.timing import median_time
from fastcf.datasets import read_movielens_frame
from fastcf.metrics import rmse


def run_fold(folder, fold, repeats):
    """RMSEs, max prediction difference and speed-ups of one u<fold> split."""
    import surprise

    base = read_movielens_frame(Path(folder) / f"u{fold}.base")
    test = read_movielens_frame(Path(folder) / f"u{fold}.test")
    train = Interactions.from_frame(base, rating="rating")
    _ = train.by_item  # data preparation untimed on both sides
    fit_f, model = median_time(lambda: BaselineOnly().fit(train), repeats)
    users, items = test["user"].to_numpy(), test["item"].to_numpy()
    pred_f, est_f = median_time(lambda: model.predict(users, items), repeats)

    trainset = surprise.Dataset.load_from_df(
        base[["user", "item", "rating"]], surprise.Reader(rating_scale=(1, 5))
    ).build_full_trainset()

    def fit_surprise():
        algo = surprise.BaselineOnly(bsl_options={"method": "als"}, verbose=False)
        algo.fit(trainset)
        return algo

    fit_s, algo = median_time(fit_surprise, repeats)
    pairs = list(zip(users, items, test["rating"]))
    pred_s, out = median_time(lambda: algo.test(pairs), repeats)
    est_s = np.array([p.est for p in out])
    truth = test["rating"].to_numpy()
    row = (rmse(truth, est_f), rmse(truth, est_s), np.abs(est_f - est_s).max(),
           fit_s / fit_f, pred_s / pred_f)
    print(f"u{fold}: RMSE fastcf {row[0]:.4f}  surprise {row[1]:.4f}  max |diff| {row[2]:.1e}  "
          f"fit {fit_f * 1e3:.1f} ms vs {fit_s * 1e3:.1f} ms ({row[3]:.1f}x)  "
          f"predict {pred_f * 1e3:.1f} ms vs {pred_s * 1e3:.1f} ms ({row[4]:.1f}x)")
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).parents[2] / "shared/data/ml-100k"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = [run_fold(args.data, fold, args.repeats) for fold in range(1, 6)]
    mean = np.mean([r[0] for r in rows])
    print(f"mean RMSE fastcf {mean:.4f}  surprise {np.mean([r[1] for r in rows]):.4f}  "
          f"(DESIGN.md: Surprise 0.9457; |diff| {abs(mean - 0.9457):.4f}, must be <= 0.002)")
    print(f"speed-up vs Surprise, median over folds: fit "
          f"{statistics.median(r[3] for r in rows):.1f}x, predict "
          f"{statistics.median(r[4] for r in rows):.1f}x")


if __name__ == "__main__":
    main()
