"""DP-SGD matrix factorization's training speed against the non-private SGD kernel's.

Updates per second (ratings visited by an SGD update / seconds of the training
epochs) of ``fastcf.DPMatrixFactorization`` (its time includes the Poisson
sampling of every batch and the (n_items, factors + 1) normal draw of every
step: what a user pays) and of ``fastcf.MatrixFactorization`` (serial on one
thread, blocked on two), same data, factors and dtype, best of ``--repeats``,
in the same run. Also the whole fit's wall time (DP: with the noise
calibration by dp-accounting). The issue asks for DP-SGD within 2x of the
non-private kernel's updates/s.

    python benchmarks/dp_sgd_speed.py --data ../shared/data/ml-100k
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np

import fastcf
from fastcf.datasets import read_movielens_frame


def _best(fit, repeats, per_epoch=None):
    """(best updates/s over the epochs, best whole-fit seconds) of ``repeats`` fits;
    an epoch's updates are its history's ``updates`` (DP) or ``per_epoch``."""
    rates, walls = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        model = fit()
        walls.append(time.perf_counter() - start)
        seconds = sum(entry["seconds"] for entry in model.history_)
        updates = sum(entry["updates"] if per_epoch is None else per_epoch
                      for entry in model.history_)
        rates.append(updates / seconds)
    return max(rates), min(walls)


def bench(name, data, args):
    k, dtype, epochs = args.factors, np.dtype(args.dtype), args.epochs
    n_ratings = len(data.by_user.data)

    def mf(schedule, threads):
        return lambda: fastcf.MatrixFactorization(factors=k, epochs=epochs, dtype=dtype,
                                                  schedule=schedule,
                                                  n_threads=threads).fit(data)

    def dp(threads, rate):
        return lambda: fastcf.DPMatrixFactorization(
            factors=k, epochs=epochs, dtype=dtype, epsilon=args.epsilon, rating_range=(1, 5),
            sampling_rate=rate, n_threads=threads).fit(data)

    mf("serial", 1)()  # JIT compile outside the timing
    dp(1, 0.5)()
    print(f"\n{name}: {data.n_users} users x {data.n_items} items, {n_ratings} ratings, "
          f"factors {k}, {dtype}, {epochs} epochs, loadavg {os.getloadavg()}")
    rows = {"MF serial, 1 thread": _best(mf("serial", 1), args.repeats, n_ratings),
            "MF blocked, 2 threads": _best(mf("blocked", 2), args.repeats, n_ratings)}
    for rate in args.sampling_rates:
        for threads in (1, 2):
            rows[f"DP-SGD q={rate}, {threads} thread{'s' * (threads > 1)}"] = \
                _best(dp(threads, rate), args.repeats)
    serial, blocked = rows["MF serial, 1 thread"][0], rows["MF blocked, 2 threads"][0]
    print(f"{'':32s} {'M updates/s':>12s} {'vs serial':>10s} {'vs blocked':>11s} "
          f"{'fit s':>7s}")
    for label, (rate, wall) in rows.items():
        print(f"{label:32s} {rate / 1e6:12.2f} {rate / serial:10.2f} {rate / blocked:11.2f} "
              f"{wall:7.2f}")
    print(f"loadavg after: {os.getloadavg()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).parents[2] / "shared/data/ml-100k"))
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--epsilon", type=float, default=5.0)
    parser.add_argument("--sampling-rates", type=float, nargs="+", default=[0.05, 0.2, 0.5])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=["ml-100k", "60k"], default=None)
    args = parser.parse_args()
    if args.only != "60k":
        frame = read_movielens_frame(Path(args.data) / "u.data")
        bench("ML-100K", fastcf.Interactions.from_frame(frame, rating="rating"), args)
    if args.only != "ml-100k":
        bench("make_ratings(60000, 8000, 1740000)",
              fastcf.make_ratings(60_000, 8_000, 1_740_000, seed=0), args)


if __name__ == "__main__":
    main()
