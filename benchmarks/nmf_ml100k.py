"""NMF and NormalPredictor on MovieLens 100K's u1.base / u1.test, fastcf beside Surprise.

Surprise's defaults on both sides (NMF: 15 factors, 50 epochs, unbiased, and the
biased variant); fastcf in its own mode and in ``surprise_compat`` mode. The
figure is fit + test (Surprise's ``algo.test`` on the test pairs, fastcf's
``predict``), best of ``--repeats`` runs, both libraries timed in the same run;
RMSE beside. Needs ``scikit-surprise`` (the ``[bench]`` extra) and the ML-100k
folder (``--data``).

    python benchmarks/nmf_ml100k.py --data ../shared/data/ml-100k
"""

import argparse
from pathlib import Path

import numpy as np
from _common import best_of, load_average

import fastcf
from fastcf.datasets import read_movielens_frame
from fastcf.metrics import rmse

#: row -> (Surprise class, its parameters, the fastcf model's factory)
ROWS = {
    "NMF": ("NMF", {"random_state": 0}, lambda **kw: fastcf.NMF(seed=0, **kw)),
    "NMF biased": ("NMF", {"biased": True, "random_state": 0},
                   lambda **kw: fastcf.NMF(biased=True, seed=0, **kw)),
    "NormalPredictor": ("NormalPredictor", {}, lambda **kw: fastcf.NormalPredictor(**kw)),
}


def main():
    import surprise

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).parents[2] / "shared/data/ml-100k"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rows", nargs="*", choices=sorted(ROWS), default=sorted(ROWS))
    args = parser.parse_args()
    base = read_movielens_frame(Path(args.data) / "u1.base")
    test = read_movielens_frame(Path(args.data) / "u1.test")
    train = fastcf.Interactions.from_frame(base, rating="rating")
    _ = train.by_item  # data preparation untimed on both sides
    users, items, truth = (test[c].to_numpy() for c in ("user", "item", "rating"))
    trainset = surprise.Dataset.load_from_df(
        base[["user", "item", "rating"]], surprise.Reader(rating_scale=(1, 5))
    ).build_full_trainset()
    pairs = list(zip(users, items, truth))
    print(f"load average before: {load_average()}")
    for row in args.rows:
        class_name, params, make = ROWS[row]

        def run_surprise(class_name=class_name, params=params):
            algo = getattr(surprise, class_name)(**params)
            algo.fit(trainset)
            return np.array([p.est for p in algo.test(pairs)])

        results = {"surprise": best_of(args.repeats, run_surprise)}
        for mode, kw in (("fastcf", {}), ("fastcf surprise_compat", {"surprise_compat": True})):
            make(**kw).fit(train).predict(users, items)  # JIT / cache load outside the timing
            results[mode] = best_of(
                args.repeats, lambda kw=kw, make=make: make(**kw).fit(train).predict(users, items))
        seconds = results["surprise"][0]
        print(f"{row}: " + "  ".join(
            f"{mode} {t * 1e3:.1f} ms RMSE {rmse(truth, est):.4f} ({seconds / t:.1f}x)"
            for mode, (t, est) in results.items()))
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
