"""fastcf's Surprise modes beside Surprise on a MovieLens 100K fold: time and agreement.

For BaselineOnly (ALS, SGD), KNNWithMeans (item-based Pearson) and SVD (Surprise's
defaults), times fit + predicting the test pairs for Surprise, fastcf with
``surprise_compat=True`` (where the model has it) and fastcf's default mode, in one
run (best of ``--repeats``, after one untimed warm-up that compiles the kernels),
and reports the ratios, each RMSE and the largest difference between the Surprise
mode's predictions and Surprise's. fastcf runs on one thread, as Surprise does.
Needs ``scikit-surprise`` and the ML-100k folder.

    python benchmarks/surprise_modes_ml100k.py --data ../shared/data/ml-100k --fold 1
"""

import argparse
import functools
from pathlib import Path

import numpy as np
from _common import best_of, load_average

import fastcf
from fastcf import Interactions
from fastcf.datasets import read_movielens_frame
from fastcf.metrics import rmse

#: name -> (Surprise class, its parameters, fastcf Surprise mode, fastcf default)
ALGORITHMS = {
    "BaselineOnly als": ("BaselineOnly", {"bsl_options": {"method": "als"}},
                         lambda: fastcf.BaselineOnly(n_threads=1), None),
    "BaselineOnly sgd": ("BaselineOnly", {"bsl_options": {"method": "sgd"}},
                         lambda: fastcf.BaselineOnly(method="sgd", n_threads=1), None),
    "KNNWithMeans item pearson": (
        "KNNWithMeans", {"sim_options": {"name": "pearson", "user_based": False}},
        lambda: fastcf.ItemKNN(similarity="pearson", mode="means", surprise_compat=True,
                               n_threads=1),
        lambda: fastcf.ItemKNN(similarity="pearson", mode="means", n_threads=1)),
    "SVD": ("SVD", {"random_state": 0},
            lambda: fastcf.MatrixFactorization(dtype=np.float64, surprise_compat=True, seed=0,
                                               n_threads=1),
            lambda: fastcf.MatrixFactorization(seed=0, n_threads=1)),
}


def main():
    import surprise

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).parents[2] / "shared/data/ml-100k"))
    parser.add_argument("--fold", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    base = read_movielens_frame(Path(args.data) / f"u{args.fold}.base")
    test = read_movielens_frame(Path(args.data) / f"u{args.fold}.test")
    train = Interactions.from_frame(base, rating="rating", dtype=np.float64)
    _ = train.by_item  # data preparation untimed on both sides
    trainset = surprise.Dataset.load_from_df(
        base[["user", "item", "rating"]], surprise.Reader(rating_scale=(1, 5))
    ).build_full_trainset()
    users, items, truth = (test[c].to_numpy() for c in ("user", "item", "rating"))
    pairs = list(zip(users, items, truth))

    def run_fastcf(make):
        return make().fit(train).predict(users, items)

    def run_surprise(name, params):
        algo = getattr(surprise, name)(verbose=False, **params) if name != "SVD" else \
            surprise.SVD(**params)
        algo.fit(trainset)
        return np.array([p.est for p in algo.test(pairs)])

    print(f"ML-100K u{args.fold}: fit + predict {len(pairs)} pairs, best of {args.repeats}; "
          f"load average {load_average()}")
    for label, (name, params, compat, default) in ALGORITHMS.items():
        s_time, s_est = best_of(args.repeats, functools.partial(run_surprise, name, params))
        run_fastcf(compat)  # compile
        c_time, c_est = best_of(args.repeats, functools.partial(run_fastcf, compat))
        line = (f"{label:27s} Surprise {s_time:7.3f} s  RMSE {rmse(truth, s_est):.4f} | "
                f"surprise mode {c_time:6.3f} s ({s_time / c_time:5.1f}x) max |diff| "
                f"{np.abs(c_est - s_est).max():.1e}")
        if default is not None:
            run_fastcf(default)
            d_time, d_est = best_of(args.repeats, functools.partial(run_fastcf, default))
            line += (f" | default {d_time:6.3f} s ({s_time / d_time:5.1f}x) "
                     f"RMSE {rmse(truth, d_est):.4f}")
        print(line)


if __name__ == "__main__":
    main()
