"""The hybrid factor model: fastcf ``HybridFactorization`` beside LightFM, same run.

Data: ML-100K (``--ml100k``): every rating of u.data an interaction; per user
a seeded 75 % to train, 25 % to test. Features: the identity of every user and
item (first) plus the side files as ``fastcf.datasets.read_movielens_features``
reads them: the item's 19 genre flags (u.item) and the user's age group,
gender and occupation one-hot (u.user, 30 features): the same CSR matrices
(float32, 0/1, rows not normalised) for both libraries.

Per loss (WARP, BPR) and thread count (1, 2): LightFM
``LightFM(no_components=--factors, loss, learning_schedule="adagrad",
learning_rate=0.05, random_state=s)`` and fastcf
``HybridFactorization(factors, loss, lr=0.05, seed=s, n_threads)`` (adagrad,
Hogwild, float32: LightFM's settings; ``negative_sampling="popularity"`` for
BPR, LightFM's BPR sampler), ``--epochs`` epochs each. The epoch time
of LightFM is each ``fit_partial(epochs=1)`` call, fastcf's the time between
two epoch callbacks (the first epoch's includes fastcf's setup), both in CPU
seconds of the process (``time.process_time``: on this machine, shared with
other jobs, wall times of one setting varied 2.5x between runs; CPU time is
what other processes disturb least); the row's figure is the median epoch of
the best of ``--repeats`` fits, and the ratio is LightFM's over fastcf's.
With 2 threads, CPU seconds add both threads' time: the ratio is then one of
the work each does; the wall-time ratio (the median epochs' wall seconds, the
same way) is given beside it. Accuracy of both after the epochs
(the first repeat's models): the whole catalogue scored for each test user with their training items
excluded: AUC (the test items against every other non-training item), P@10
and NDCG@10 (binary relevance, ideal DCG over min(|test|, 10)).

Run: ``PYTHONPATH=src python benchmarks/hybrid_peers.py`` (``--out DIR``
writes results.json / results.md).
"""

import argparse
import functools
import os
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp
from _common import finish, load_average

from fastcf import HybridFactorization, Interactions
from fastcf.datasets import read_movielens_features


def load(path, seed):
    """(train Interactions with features, test CSR, LightFM's matrices)."""
    frame = pd.read_csv(os.path.join(path, "u.data"), sep="\t",
                        names=["user", "item", "rating", "time"])
    people, genres = read_movielens_features(path)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(frame), bool)
    for _, rows in frame.groupby("user").indices.items():
        test[rng.choice(rows, int(round(0.25 * len(rows))), replace=False)] = True
    train = Interactions.from_arrays(frame["user"][~test].to_numpy(),
                                     frame["item"][~test].to_numpy())
    train = train.with_features(people, genres, new_ids="add")
    u = pd.Index(train.user_ids).get_indexer(frame["user"][test].to_numpy())
    i = pd.Index(train.item_ids).get_indexer(frame["item"][test].to_numpy())
    test_csr = sp.csr_matrix((np.ones(len(u)), (u, i)), shape=(train.n_users, train.n_items))
    by_user = train.by_user
    coo = sp.coo_matrix((np.ones(train.nnz, np.float32),
                         (train.entry_users().astype(np.int32),
                          by_user.indices.astype(np.int32))),
                        shape=(train.n_users, train.n_items))

    def rows(side, n):
        return sp.hstack([sp.identity(n, np.float32), side.matrix], format="csr",
                         dtype=np.float32)

    return train, test_csr, (coo, rows(train.user_features, train.n_users),
                             rows(train.item_features, train.n_items))


def accuracy(scores, train, test):
    """(AUC, P@10, NDCG@10) of dense scores, training items excluded."""
    seen = sp.csr_matrix((np.ones(train.nnz), train.by_user.indices, train.by_user.indptr),
                         shape=scores.shape).toarray() > 0
    truth = test.toarray() > 0
    scores = np.where(seen, -np.inf, scores)
    aucs, precisions, ndcgs = [], [], []
    discount = 1.0 / np.log2(np.arange(2, 12))
    for u in np.flatnonzero(truth.any(axis=1)):
        s, rel = scores[u], truth[u]
        order = np.argsort(-s, kind="stable")
        ranks = np.empty(len(s))
        ranks[order] = np.arange(len(s))
        negatives = ~rel & ~seen[u]
        pos_rank = ranks[rel]
        # the fraction of (positive, negative) pairs ranked right
        n_neg_above = np.searchsorted(np.sort(ranks[negatives]), pos_rank)
        aucs.append(1.0 - n_neg_above.mean() / max(negatives.sum(), 1))
        top = rel[order[:10]]
        precisions.append(top.mean())
        ideal = discount[:min(rel.sum(), 10)].sum()
        ndcgs.append((top * discount).sum() / ideal)
    return float(np.mean(aucs)), float(np.mean(precisions)), float(np.mean(ndcgs))


def run_lightfm(matrices, loss, factors, epochs, threads, seed):
    from lightfm import LightFM

    coo, users, items = matrices
    model = LightFM(no_components=factors, loss=loss, learning_schedule="adagrad",
                    learning_rate=0.05, random_state=seed)
    times, walls = [], []
    for _ in range(epochs):
        start, wall = time.process_time(), time.perf_counter()
        model.fit_partial(coo, user_features=users, item_features=items, epochs=1,
                          num_threads=threads)
        times.append(time.process_time() - start)
        walls.append(time.perf_counter() - wall)
    n_users, n_items = coo.shape
    u = np.repeat(np.arange(n_users, dtype=np.int32), n_items)
    i = np.tile(np.arange(n_items, dtype=np.int32), n_users)
    scores = model.predict(u, i, user_features=users, item_features=items,
                           num_threads=threads).reshape(n_users, n_items)
    return times, walls, scores


def run_fastcf(train, loss, factors, epochs, threads, seed, backend="auto"):
    marks = [time.process_time()]
    # LightFM's samplers: uniform negatives for WARP, the items of random entries for BPR
    sampling = "popularity" if loss == "bpr" else "uniform"
    model = HybridFactorization(factors=factors, loss=loss, epochs=epochs, lr=0.05, seed=seed,
                                n_threads=threads, backend=backend, negative_sampling=sampling)
    model.fit(train, callbacks=[lambda entry: marks.append(time.process_time())])
    p, pb = model.user_representations()
    q, qb = model.item_representations()
    scores = p.astype(np.float64) @ q.astype(np.float64).T + pb[:, None] + qb[None, :]
    return list(np.diff(marks)), [h["seconds"] for h in model.history_], scores


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ml100k", default="/work/shared/data/ml-100k")
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--losses", default="warp,bpr")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", default="auto", help="fastcf's backend")
    parser.add_argument("--out")
    args = parser.parse_args()
    train, test, matrices = load(args.ml100k, args.seed)
    results = {"load_before": load_average(), "data": repr(train), "rows": [],
               "settings": vars(args)}
    # compile (and load the caches) before timing
    HybridFactorization(factors=4, epochs=1, n_threads=1).fit(train)
    for loss in args.losses.split(","):
        for threads in (int(t) for t in args.threads.split(",")):
            row = {"loss": loss, "threads": threads}
            fastcf_runner = functools.partial(run_fastcf, backend=args.backend)
            for name, runner, data in (("lightfm", run_lightfm, matrices),
                                       ("fastcf", fastcf_runner, train)):
                medians, wall_medians = [], []
                for repeat in range(args.repeats):
                    times, walls, scores = runner(data, loss, args.factors, args.epochs,
                                                  threads, args.seed)
                    medians.append(float(np.median(times)))
                    wall_medians.append(float(np.median(walls)))
                    if repeat == 0:
                        row[f"{name}_auc"], row[f"{name}_p10"], row[f"{name}_ndcg10"] = \
                            accuracy(scores, train, test)
                row[f"{name}_epoch_s"] = min(medians)
                row[f"{name}_wall_s"] = min(wall_medians)
            row["ratio"] = row["lightfm_epoch_s"] / row["fastcf_epoch_s"]
            row["wall_ratio"] = row["lightfm_wall_s"] / row["fastcf_wall_s"]
            results["rows"].append(row)
            print(row, os.getloadavg(), flush=True)
    finish(results, markdown, args.out)


def markdown(results):
    lines = [f"ML-100K, {results['data']}; load before {results['load_before']}, after "
             f"{results['load_after']}", "",
             "| loss | threads | LightFM CPU s/epoch | fastcf CPU s/epoch | ratio | wall ratio | "
             "AUC LightFM / fastcf | P@10 LightFM / fastcf | NDCG@10 LightFM / fastcf |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results["rows"]:
        lines.append(f"| {r['loss']} | {r['threads']} | {r['lightfm_epoch_s']:.4f} | "
                     f"{r['fastcf_epoch_s']:.4f} | {r['ratio']:.1f}x | {r['wall_ratio']:.1f}x | "
                     f"{r['lightfm_auc']:.3f} / "
                     f"{r['fastcf_auc']:.3f} | {r['lightfm_p10']:.3f} / {r['fastcf_p10']:.3f} | "
                     f"{r['lightfm_ndcg10']:.3f} / {r['fastcf_ndcg10']:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
