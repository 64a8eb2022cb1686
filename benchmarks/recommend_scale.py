"""Top-10 for every user from a 64-factor model: fastcf beside implicit's ALS recommend.

Measurements
    (a) ``make_ratings(60_000, 8_000, 1_740_000, seed=0)`` as binary
        interactions (the seen items to exclude). Random 64-factor float32
        user and item factors (seed 0, std 0.1; the recommend path is what is
        timed, not training) are set on a fastcf ``MatrixFactorization``
        (FunkSVD, so the score is the plain dot product, as implicit's) and on
        an implicit ``AlternatingLeastSquares``; timed:
        fastcf ``recommend(all user ids, n=10)`` (seen items excluded) and
        implicit ``recommend(all user indices, user_items, N=10,
        filter_already_liked_items=True)``, both on ``--threads`` threads.
        implicit is run with BLAS limited to one thread, as it asks (its
        batches run their products on its own threads; with BLAS left at 2
        threads it took 27.9 s instead of 6.3 s here). Agreement: the share of
        users whose fastcf and implicit top-10 item sets are equal.
    (b) ``--big``: ``make_ratings(162_541, 59_047, 25_000_000, seed=0)`` (cached
        as arrays under ``--cache``, default /tmp, never in the repository), a
        biased float32 MF with random factors, ``recommend(all users, n=10)``:
        seconds and the process's peak RSS before and after it (the score
        matrix would be 38 GB in float32; the path keeps a slab per thread);
        beside it, in the same run, the generic path every model without
        ``_ranking_factors`` takes (float64 ``_score_block`` blocks + ``topk``,
        MF's path before ``factor_topk``) on ``--generic-users`` users,
        extrapolated to all of them (labelled so).

Every figure is the best of ``--repeats`` runs; the load average is printed
before and after.

    python benchmarks/recommend_scale.py [--threads 2] [--repeats 3] [--big] \\
        [--generic-users 5000] [--cache /tmp] [--out DIR]
"""

import argparse
import os

import numpy as np
from _common import best_of, finish, load_average, peak_rss_mb

import fastcf

FACTORS = 64


def random_mf(data, biased, seed=0):
    """A fitted-looking MatrixFactorization of ``data`` with random float32 factors."""
    rng = np.random.default_rng(seed)
    model = fastcf.MatrixFactorization(factors=FACTORS, epochs=1, biased=biased)
    model.fit(data)
    model.user_factors_ = (0.1 * rng.standard_normal((data.n_users, FACTORS))).astype(np.float32)
    model.item_factors_ = (0.1 * rng.standard_normal((data.n_items, FACTORS))).astype(np.float32)
    if biased:
        model.user_bias_ = (0.1 * rng.standard_normal(data.n_users)).astype(np.float32)
        model.item_bias_ = (0.1 * rng.standard_normal(data.n_items)).astype(np.float32)
    return model



def compare_with_implicit(threads, repeats):
    import scipy.sparse as sp
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    data = fastcf.make_ratings(60_000, 8_000, 1_740_000, seed=0)
    model = random_mf(data, biased=False).set_params(n_threads=threads)
    csr = data.by_user
    user_items = sp.csr_matrix((np.ones(len(csr.indices), np.float32), csr.indices, csr.indptr),
                               shape=(data.n_users, data.n_items))
    peer = AlternatingLeastSquares(factors=FACTORS, num_threads=threads, random_state=0)
    peer.user_factors, peer.item_factors = model.user_factors_, model.item_factors_
    users = np.arange(data.n_users)

    def implicit_recommend():
        with threadpool_limits(1, "blas"):
            return peer.recommend(users, user_items, N=10, filter_already_liked_items=True)

    model.recommend(data.user_ids[:10], 10)  # JIT / BLAS warm-up outside the timing
    implicit_recommend()
    ours, (items, _) = best_of(repeats, lambda: model.recommend(data.user_ids, 10))
    theirs, (peer_items, _) = best_of(repeats, implicit_recommend)
    same = np.mean([set(a) == set(b) for a, b in zip(model.item_index(items.ravel()).reshape(
        items.shape), peer_items)])
    return {"fastcf_s": ours, "implicit_s": theirs, "ratio": ours / theirs,
            "same_top10_sets": float(same)}


def cached_big_data(cache):
    path = os.path.join(cache, "fastcf_make_ratings_162541_59047_25M_seed0.npz")
    if not os.path.exists(path):
        data = fastcf.make_ratings(162_541, 59_047, 25_000_000, seed=0)
        csr = data.by_user
        np.savez(path, indptr=csr.indptr, indices=csr.indices, ratings=csr.data)
    with np.load(path) as npz:
        indptr, indices, ratings = npz["indptr"], npz["indices"], npz["ratings"]
    users = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    return fastcf.Interactions.from_arrays(users, indices, ratings)


def big(threads, repeats, cache, generic_users):
    data = cached_big_data(cache)
    model = random_mf(data, biased=True).set_params(n_threads=threads)
    model.recommend(data.user_ids[:10], 10)
    rss_before = peak_rss_mb()
    seconds, _ = best_of(repeats, lambda: model.recommend(data.user_ids, 10))
    rss_after = peak_rss_mb()
    some = np.arange(min(generic_users, data.n_users))
    generic, _ = best_of(repeats, lambda: model._rank_by_blocks(some, 10, True, None))
    return {"fastcf_s": seconds, "peak_rss_before_mb": rss_before, "peak_rss_after_mb": rss_after,
            "generic_extrapolated_s": generic * data.n_users / len(some),
            "generic_users": len(some)}


def markdown(results):
    lines = [f"load average before: {results['load_before']}, after: {results['load_after']}",
             f"threads: {results['threads']}, best of {results['repeats']}", ""]
    a = results["all_users_60k"]
    lines += ["| top-10 for all users | fastcf | implicit ALS | ratio | same top-10 sets |",
              "|---|---|---|---|---|",
              f"| 60k x 8k, 64 f | {a['fastcf_s']:.3f} s | {a['implicit_s']:.3f} s | "
              f"{a['ratio']:.3f} | {a['same_top10_sets']:.3f} |"]
    if "big" in results:
        b = results["big"]
        lines += ["", f"162k x 59k, 64 f (biased MF): {b['fastcf_s']:.2f} s; peak RSS "
                  f"{b['peak_rss_before_mb']:.0f} MB before recommend, "
                  f"{b['peak_rss_after_mb']:.0f} MB after; the generic block path "
                  f"{b['generic_extrapolated_s']:.1f} s (extrapolated from "
                  f"{b['generic_users']} users), ratio "
                  f"{b['fastcf_s'] / b['generic_extrapolated_s']:.3f}"]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--big", action="store_true")
    parser.add_argument("--cache", default="/tmp")
    parser.add_argument("--generic-users", type=int, default=5000)
    parser.add_argument("--out")
    args = parser.parse_args()
    results = {"load_before": load_average(), "threads": args.threads, "repeats": args.repeats}
    results["all_users_60k"] = compare_with_implicit(args.threads, args.repeats)
    if args.big:
        results["big"] = big(args.threads, args.repeats, args.cache, args.generic_users)
    finish(results, markdown, args.out)


if __name__ == "__main__":
    main()
