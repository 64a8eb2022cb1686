"""GridSearchCV over SVD's n_epochs x lr_all x reg_all (3 x 3 x 3, 3 folds, RMSE and MAE)
on ML-100k: Surprise's GridSearchCV beside the same code on ``fastcf.compat.surprise``
(the same folds, SVD in its Surprise mode: the same best parameters and scores), and
beside fastcf.model_selection.grid_search on MatrixFactorization with Surprise's SVD
defaults (100 factors, init N(0, 0.1), biased, float64, the serial schedule), the same
n_jobs, in the same run.

    PYTHONPATH=src python benchmarks/gridsearch_peers.py [--n-jobs 1,2] [--repeats 3]

Prints the seconds of each (best of --repeats), their ratio, the best parameters of
each side (they must agree) and os.getloadavg(). The folds differ (Surprise's KFold vs
fastcf.split.kfold, both seeded), so the RMSEs differ in the 3rd decimal.
"""

import argparse
import os
import time

import numpy as np

DATA = "/work/shared/data/ml-100k/u.data"
SURPRISE_GRID = {"n_epochs": [5, 10, 20], "lr_all": [0.002, 0.005, 0.01],
                 "reg_all": [0.02, 0.05, 0.1]}
#: Surprise's parameter -> fastcf's MatrixFactorization parameter.
NAMES = {"n_epochs": "epochs", "lr_all": "lr", "reg_all": "reg"}


def run_surprise(n_jobs, module="surprise"):
    import importlib

    surprise = importlib.import_module(module)
    selection = importlib.import_module(f"{module}.model_selection")
    SVD, Dataset, Reader = surprise.SVD, surprise.Dataset, surprise.Reader
    GridSearchCV, KFold = selection.GridSearchCV, selection.KFold

    data = Dataset.load_from_file(DATA, Reader("ml-100k"))
    grid = {**SURPRISE_GRID, "random_state": [0]}
    start = time.perf_counter()
    search = GridSearchCV(SVD, grid, measures=["rmse", "mae"], cv=KFold(3, random_state=0),
                          n_jobs=n_jobs)
    search.fit(data)
    best = {NAMES[k]: v for k, v in search.best_params["rmse"].items() if k in NAMES}
    return time.perf_counter() - start, best, float(search.best_score["rmse"])


def run_fastcf(n_jobs):
    from fastcf import MatrixFactorization
    from fastcf.datasets import load_movielens
    from fastcf.model_selection import grid_search

    data = load_movielens(DATA)
    grid = {NAMES[k]: v for k, v in SURPRISE_GRID.items()}
    start = time.perf_counter()
    result = grid_search(MatrixFactorization(factors=100, dtype=np.float64), grid, data,
                         folds=3, metrics=["rmse", "mae"], n_jobs=n_jobs, refit=False)
    return time.perf_counter() - start, result.best_params, result.best_score


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jobs", default="1,2", help="comma-separated n_jobs values")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    run_fastcf(1)  # JIT compile (cache load) apart
    runs = (("surprise", run_surprise),
            ("compat", lambda n_jobs: run_surprise(n_jobs, "fastcf.compat.surprise")),
            ("fastcf", run_fastcf))
    for n_jobs in (int(n) for n in args.n_jobs.split(",")):
        print(f"n_jobs={n_jobs}, load average {os.getloadavg()}")
        times = {name: [] for name, _ in runs}
        for _ in range(args.repeats):
            for name, run in runs:
                seconds, best, score = run(n_jobs)
                times[name].append(seconds)
                print(f"  {name:8s} {seconds:7.2f} s  best {best}  rmse {score:.4f}",
                      flush=True)
        best = {name: min(seconds) for name, seconds in times.items()}
        print(f"  best of {args.repeats}: surprise {best['surprise']:.2f} s, compat "
              f"{best['compat']:.2f} s ({best['surprise'] / best['compat']:.1f}x), fastcf "
              f"{best['fastcf']:.2f} s ({best['surprise'] / best['fastcf']:.1f}x); "
              f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
