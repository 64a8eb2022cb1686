"""Time :func:`fastcf.datasets.make_ratings` at MovieLens scale.

Reports the first call (Numba compile, or load from the on-disk cache, plus
one run) apart from the steady-state median, as the benchmark protocol asks.

    python benchmarks/bench_make_ratings.py --n-ratings 25_000_000 --repeats 3
"""

import argparse
import statistics
import time

import numpy as np

from fastcf.datasets import make_ratings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-ratings", type=lambda s: int(s.replace("_", "")),
                        default=10_000_000)
    parser.add_argument("--n-users", type=int, default=None,
                        help="default n_ratings // 150 (MovieLens' ratings per user)")
    parser.add_argument("--n-items", type=int, default=None,
                        help="default n_ratings // 400 (MovieLens-25M's ratings per item)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-threads", type=int, default=None)
    parser.add_argument("--timestamps", action="store_true")
    parser.add_argument("--float32", action="store_true")
    args = parser.parse_args(argv)

    n_users = args.n_users or max(1, args.n_ratings // 150)
    n_items = args.n_items or max(2, args.n_ratings // 400)
    kwargs = {"timestamps": args.timestamps, "n_threads": args.n_threads,
              "dtype": np.float32 if args.float32 else np.float64}
    print(f"make_ratings({n_users:_}, {n_items:_}, {args.n_ratings:_}, {kwargs})")

    start = time.perf_counter()
    make_ratings(50, 20, 200, seed=0, **kwargs)
    compile_s = time.perf_counter() - start
    print(f"first call on a tiny set (compile or cache load): {compile_s:.2f} s")

    times = []
    for repeat in range(args.repeats):
        start = time.perf_counter()
        data = make_ratings(n_users, n_items, args.n_ratings, seed=repeat, **kwargs)
        times.append(time.perf_counter() - start)
        print(f"  run {repeat}: {times[-1]:.2f} s")
    median = statistics.median(times)
    stars = np.bincount(data.ratings.astype(np.int64), minlength=6)[1:] / data.nnz
    print(f"made {data.nnz:_} ratings ({data.n_users:_} users x {data.n_items:_} items)")
    print(f"steady state: median {median:.2f} s over {len(times)} runs, "
          f"{data.nnz / median / 1e6:.1f} M ratings/s")
    print("share of 1..5 stars: " + " ".join(f"{s:.3f}" for s in stars)
          + f"; mean {data.global_mean:.3f}")


if __name__ == "__main__":
    main()
