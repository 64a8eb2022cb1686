"""DP-SGD matrix factorization's test RMSE against epsilon, beside the non-private models.

ML-100K u1.base -> u1.test (943 users, delta = 1 / 943 ** 1.1) at epsilon 1, 5,
10 and inf, and ``make_ratings(60000, 8000, 1740000)`` split 80/20 at epsilon 5,
each beside ``fastcf.MatrixFactorization`` and ``fastcf.BaselineOnly`` fitted in
the same run. User-level privacy. The hyper-parameters are the ones found best
by a grid on each data set (``ML100K`` and ``USERS_60K`` below; epsilon inf is
then MatrixFactorization(schedule="serial") with the same factors, epochs, lr,
reg).

    python benchmarks/dp_sgd_accuracy.py --data ../shared/data/ml-100k
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np

import fastcf
from fastcf.datasets import read_movielens_frame
from fastcf.metrics import rmse
from fastcf.split import random_split

#: ML-100K (943 users): few factors, few epochs, large batches, a small item step.
ML100K = dict(factors=4, epochs=10, lr=0.02, item_lr=2.0, clip_norm=2.0, sampling_rate=0.2)
#: ... except at epsilon 1, where fewer, smaller steps were better (1.030 vs 1.075).
ML100K_AT = {1.0: dict(epochs=5, item_lr=1.0)}
#: 60k users: the DPMatrixFactorization defaults.
USERS_60K = dict(factors=16, epochs=60, lr=0.05, item_lr=16.0, clip_norm=1.0,
                 sampling_rate=0.1)


def _row(label, model, train, test, start):
    frame = test.to_frame() if not hasattr(test, "columns") else test
    pred = model.predict(frame["user"].to_numpy(), frame["item"].to_numpy())
    print(f"  {label:44s} RMSE {rmse(frame['rating'].to_numpy(), pred):.4f}  "
          f"({time.perf_counter() - start:.1f} s)", flush=True)


def _fit(label, make, train, test):
    start = time.perf_counter()
    _row(label, make().fit(train), train, test, start)


def run(name, train, test, params, epsilons, delta, overrides=None):
    print(f"\n{name}: {train.n_users} users, {len(train.by_user.data)} training ratings; "
          f"loadavg {os.getloadavg()}; DP parameters {params}")
    _fit("BaselineOnly", fastcf.BaselineOnly, train, test)
    _fit("MatrixFactorization (defaults)", fastcf.MatrixFactorization, train, test)
    for epsilon in epsilons:
        kw = {**params, **(overrides or {}).get(epsilon, {})}
        _fit(f"DPMatrixFactorization epsilon={epsilon}", lambda eps=epsilon, kw=kw:
             fastcf.DPMatrixFactorization(epsilon=eps, delta=delta, rating_range=(1, 5),
                                          **kw), train, test)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).parents[2] / "shared/data/ml-100k"))
    parser.add_argument("--only", choices=["ml-100k", "60k"], default=None)
    args = parser.parse_args()
    if args.only != "60k":
        folder = Path(args.data)
        base = read_movielens_frame(folder / "u1.base")
        test = read_movielens_frame(folder / "u1.test")
        train = fastcf.Interactions.from_frame(base, rating="rating")
        run("ML-100K u1", train, test, ML100K, [1.0, 5.0, 10.0, np.inf], 943 ** -1.1,
            ML100K_AT)
    if args.only != "ml-100k":
        data = fastcf.make_ratings(60_000, 8_000, 1_740_000, seed=0)
        train, test = random_split(data, 0.2, seed=0)
        run("make_ratings(60000, 8000, 1740000), 80/20", train, test, USERS_60K, [5.0], None)


if __name__ == "__main__":
    main()
