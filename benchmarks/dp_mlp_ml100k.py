"""DPMLPRecommender on MovieLens 100K u1.base / u1.test: training speed and RMSE against epsilon.

Two tables, one run (the load average printed before and after):

- speed: training samples/s (the sum of ``history_[e]["samples"]`` over the
  sum of ``history_[e]["seconds"]``) of ``MLPRecommender`` and of
  ``DPMLPRecommender(epsilon=1)`` with the same architecture (embeddings
  32 + 32, hidden 64-32), best of ``--repeats`` fits each, interleaved, both
  on ``--threads`` threads; the ratio is the figure (absolute rates on a
  shared machine are noise). A DP sample is a sampled user's rating: the step
  also computes the per-user norms, clips and draws the noise.
- RMSE on u1.test (unknown pairs predicted as the model's fallback, clipped
  to 1..5) of DPMLPRecommender at user-level epsilon in ``--epsilons``
  (delta = 1 / 943 ** 1.1), the mean and spread over ``--seeds`` seeds,
  beside MLPRecommender (its defaults: lr 1e-3, 20 epochs; and with 5
  epochs, its best on this fold) and BaselineOnly.

    python benchmarks/dp_mlp_ml100k.py --data ../shared/data/ml-100k
"""

import argparse
import math
from pathlib import Path

import numpy as np
from _common import load_average

import fastcf
from fastcf.datasets import load_movielens

ARCHITECTURE = {"embedding_dim": 32, "hidden": (64, 32)}


def rate(model):
    """Training samples per second of a fitted model (its epochs' own timing)."""
    return (sum(h["samples"] for h in model.history_)
            / sum(h["seconds"] for h in model.history_))


def rmse(model, test):
    frame = test.to_frame()
    pred = model.predict(frame["user"], frame["item"])
    return float(np.sqrt(np.mean((pred - frame["rating"].to_numpy()) ** 2)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).parents[2] / "shared/data/ml-100k"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epsilons", type=float, nargs="*", default=[1.0, 5.0, 10.0, math.inf])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--sampling-rate", type=float, default=0.05)
    parser.add_argument("--clip-norm", type=float, default=1.0)
    parser.add_argument("--max-ratings", type=int, default=None)
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    train = load_movielens(Path(args.data) / "u1.base")
    test = load_movielens(Path(args.data) / "u1.test")
    delta = train.n_users ** -1.1
    private = {**ARCHITECTURE, "rating_range": (1, 5), "sampling_rate": args.sampling_rate,
               "clip_norm": args.clip_norm, "max_ratings": args.max_ratings,
               "n_threads": args.threads}
    print(f"load average before: {load_average()}; n_users {train.n_users}, delta {delta:.3g}")

    if not args.skip_speed:
        # same number of samples for both: 10 epochs of ratings each
        plain, dp = [], []
        for seed in range(args.repeats):
            plain.append(rate(fastcf.MLPRecommender(**ARCHITECTURE, epochs=10, seed=seed,
                                                    n_threads=args.threads).fit(train)))
            dp.append(rate(fastcf.DPMLPRecommender(**private, epochs=10, epsilon=1.0,
                                                   lr=args.lr, seed=seed).fit(train)))
        print(f"\n| training (ML-100K u1.base, {args.threads} thread(s)) | samples/s (best of "
              f"{args.repeats}) | vs MLPRecommender |\n|---|---:|---:|")
        print(f"| MLPRecommender (batch 256) | {max(plain):,.0f} | 1.00 |")
        print(f"| DPMLPRecommender (epsilon 1, q {args.sampling_rate}) | {max(dp):,.0f} | "
              f"{max(dp) / max(plain):.2f} |")

    rows = []
    for epsilon in args.epsilons:
        scores, report = [], None
        for seed in range(args.seeds):
            model = fastcf.DPMLPRecommender(**private, epochs=args.epochs, lr=args.lr,
                                            epsilon=epsilon, seed=seed).fit(train)
            scores.append(rmse(model, test))
            report = model.privacy_report_
        rows.append((f"DPMLPRecommender epsilon {epsilon:g}", scores,
                     f"z {report['noise_multiplier']:.3f}, {report['steps']} steps, "
                     f"spent {report['epsilon']:.3f}"))
    for epochs in (20, 5):
        scores = [rmse(fastcf.MLPRecommender(**ARCHITECTURE, epochs=epochs, seed=seed,
                                             n_threads=args.threads).fit(train), test)
                  for seed in range(args.seeds)]
        rows.append((f"MLPRecommender (lr 1e-3, {epochs} epochs)", scores, "non-private"))
    rows.append(("BaselineOnly", [rmse(fastcf.BaselineOnly().fit(train), test)], "non-private"))
    print(f"\n| model (u1.base -> u1.test, delta {delta:.2g}; DP: lr {args.lr:g}, "
          f"{args.epochs} epochs, q {args.sampling_rate}, clip {args.clip_norm:g}, "
          f"max_ratings {args.max_ratings}) | RMSE mean | min-max over seeds | note |")
    print("|---|---:|---|---|")
    for name, scores, note in rows:
        print(f"| {name} | {np.mean(scores):.4f} | {min(scores):.4f}-{max(scores):.4f} | "
              f"{note} |")
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    main()
