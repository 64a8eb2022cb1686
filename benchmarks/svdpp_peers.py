"""SVD++: fastcf ``SVDpp`` beside Surprise's ``SVDpp``, fit + test, in the same run.

    python benchmarks/svdpp_peers.py ml100k [--folds 1 2 3 4 5] [--surprise-runs 1]
    python benchmarks/svdpp_peers.py synthetic [--ratings 1000000] [--surprise-epochs 1]

``ml100k``: the folds u<k>.base / u<k>.test of ``--data`` (MovieLens 100K), Surprise
SVDpp's defaults (20 factors, 20 epochs, lr 0.007, reg 0.02); times are fit + test
of the fold (Surprise: ``Dataset.load_from_df``, ``fit``, ``test``; fastcf:
``Interactions.from_frame``, ``fit``, ``predict``), Surprise's the best of
``--surprise-runs``, fastcf's the best of ``--repeats`` after one untimed run
(Numba compile / cache load). RMSE on the fold's test pairs, clipped to [1, 5].
fastcf rows: the default mode (float32, seeded shuffles, serial), each backend,
``schedule="hogwild"`` on 2 threads, and ``surprise_compat=True`` (float64,
Surprise's draws and order for random_state 0: Surprise's RMSE).

``synthetic``: ``make_ratings(6040, 3706, --ratings)`` (ML-1M's shape) split 80/20;
fastcf's fit + predict as above; Surprise SVDpp trained for ``--surprise-epochs``
epochs only (0: skipped; each epoch costs it O(sum_u |N(u)|^2 k)), its time
scaled to 20 epochs and said so.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import best_of, load_average

import fastcf
from fastcf.data import Interactions
from fastcf.split import random_split

NAMES = ["user", "item", "rating", "ts"]
CONFIGS = {
    "fastcf default (float32, serial, auto)": {},
    "fastcf numba": {"backend": "numba"},
    "fastcf cython": {"backend": "cython"},
    "fastcf hogwild, 2 threads": {"schedule": "hogwild", "n_threads": 2},
    "fastcf surprise_compat=True": {"surprise_compat": True, "dtype": np.float64},
}


def _rmse(est, truth):
    return float(np.sqrt(np.mean((np.clip(est, 1, 5) - truth) ** 2)))


def fastcf_run(train, test, **params):
    dtype = params.get("dtype", np.float32)
    data = Interactions.from_frame(train, rating="rating", dtype=dtype)
    model = fastcf.SVDpp(**params).fit(data)
    return _rmse(model.predict(test["user"].to_numpy(), test["item"].to_numpy()),
                 test["rating"].to_numpy())


def surprise_run(train, test, epochs=20):
    import surprise

    dataset = surprise.Dataset.load_from_df(train[["user", "item", "rating"]],
                                            surprise.Reader(rating_scale=(1, 5)))
    algo = surprise.SVDpp(n_epochs=epochs, random_state=0).fit(dataset.build_full_trainset())
    predictions = algo.test(list(test[["user", "item", "rating"]].itertuples(index=False,
                                                                            name=None)))
    return _rmse(np.array([p.est for p in predictions]), test["rating"].to_numpy())


def compare(train, test, surprise_runs, repeats, surprise_epochs=20):
    print(f"load average {load_average()}")
    for params in CONFIGS.values():
        fastcf_run(train, test, **params)  # compile / cache load, untimed
    rows = {}
    if surprise_runs:
        seconds, rmse = best_of(surprise_runs, lambda: surprise_run(train, test, surprise_epochs))
        scaled = seconds * 20 / surprise_epochs
        note = "" if surprise_epochs == 20 else \
            f" ({surprise_epochs} epoch(s) timed, x {20 / surprise_epochs:g})"
        print(f"Surprise SVDpp: {scaled:.2f} s{note}, RMSE {rmse:.4f}")
        rows["surprise"] = scaled
    for name, params in CONFIGS.items():
        seconds, rmse = best_of(repeats, lambda params=params: fastcf_run(train, test,
                                                                          **params))
        ratio = f", {rows['surprise'] / seconds:.0f}x Surprise" if "surprise" in rows else ""
        print(f"{name}: {seconds:.3f} s, RMSE {rmse:.4f}{ratio}")
    print(f"load average {load_average()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("ml100k", "synthetic"))
    parser.add_argument("--data", type=Path, default=Path("../shared/data/ml-100k"))
    parser.add_argument("--folds", type=int, nargs="*", default=[1])
    parser.add_argument("--surprise-runs", type=int, default=1)
    parser.add_argument("--surprise-epochs", type=int, default=1)
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.what == "ml100k":
        for fold in args.folds:
            print(f"--- ML-100k u{fold}")
            train, test = (pd.read_csv(args.data / f"u{fold}.{part}", sep="\t", names=NAMES)
                           for part in ("base", "test"))
            compare(train, test, args.surprise_runs, args.repeats)
        return
    data = fastcf.make_ratings(6040, 3706, args.ratings, seed=0)
    split = random_split(data, 0.2, seed=0)
    train, test = split.train.to_frame(), split.test.to_frame()
    print(f"--- make_ratings(6040, 3706, {args.ratings}): {len(train):,} train, "
          f"{len(test):,} test ratings")
    start = time.perf_counter()
    compare(train, test, args.surprise_runs if args.surprise_epochs else 0, args.repeats,
            max(args.surprise_epochs, 1))
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
