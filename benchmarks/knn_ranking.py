"""Top-10 from the kNN models at their default parameters, beside popularity (issue 15).

The ranking protocol of DESIGN.md: ML-100K ``u.data``, every rating an
interaction; ``fastcf.split.user_split(data, 0.25, seed=s)`` (per user a random
25 % to test); every test user ranks the full catalogue with their training
items excluded; NDCG@10 (binary relevance, log2 discount) and P@10 averaged
over the test users (``fastcf.metrics``, the functions ``fastcf.evaluate``
uses). Popularity ranks the items by their training count.

Measurements
    (a) sweep, ``--sweep-seeds`` splits (default 1): ``UserKNN`` and ``ItemKNN``
        for every similarity x mode, each at its defaults otherwise (as a new
        user would write it; implicit data only takes ``mode="basic"``, these
        are ratings so every mode runs), with the ranking defaults of this
        fastcf and with ``rank_shrinkage=0`` (the ranking by the similarities
        ``predict`` uses, fastcf before issue 15's change).
    (b) final table, ``--seeds`` splits (default 3, mean and min over them):
        the defaults of every kNN similarity (mode "basic"; the mode does not
        enter the ranking), implicit's three item-item recommenders as
        ``ItemKNN`` (``k=19`` is implicit's ``K=20``), and
        ``MatrixFactorization()``, ``BaselineOnly()``, ``MLPRecommender()``
        at their defaults, each beside popularity. With ``--implicit`` (when
        implicit is installed) its ``CosineRecommender`` / ``TFIDFRecommender``
        / ``BM25Recommender`` (K=20) run on the same splits, for the same
        numbers.

Run::

    python benchmarks/knn_ranking.py [--data /work/shared/data/ml-100k/u.data] \\
        [--seeds 3] [--sweep-seeds 1] [--threads 2] [--skip-sweep] [--skip-others] \\
        [--implicit] [--out DIR]
"""

import argparse
import os
import sys
import time

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common  # noqa: E402

import fastcf  # noqa: E402
from fastcf import metrics  # noqa: E402
from fastcf.datasets import load_movielens  # noqa: E402
from fastcf.evaluation import _ranked_users_relevant, recommended_indices  # noqa: E402
from fastcf.kernels.similarity import NAMES  # noqa: E402
from fastcf.split import user_split  # noqa: E402

MODES = ("basic", "means", "zscore", "baseline")
K = 10


class Protocol:
    """One seeded split: the test users, their relevant items, the scoring."""

    def __init__(self, data, seed):
        split = user_split(data, 0.25, seed=seed)
        self.train, self.test = split.train, split.test
        self.users, self.relevant = _ranked_users_relevant(self.train, self.test)

    def metrics(self, recommended):
        return {"ndcg": float(metrics.ndcg_at_k(recommended, self.relevant, K)),
                "precision": float(metrics.precision_at_k(recommended, self.relevant, K))}

    def popularity(self):
        by_user = self.train.by_user
        counts = np.diff(self.train.by_item.indptr).astype(np.float64)
        scores = np.repeat(counts[None, :], len(self.users), axis=0)
        for row, u in enumerate(self.users):
            scores[row, by_user.indices[by_user.indptr[u]:by_user.indptr[u + 1]]] = -np.inf
        return self.metrics(np.argsort(-scores, axis=1, kind="stable")[:, :K])

    def model(self, model):
        start = time.perf_counter()
        model.fit(self.train)
        items, scores = model.recommend(model.user_ids_[self.users], K)
        out = self.metrics(recommended_indices(model, items, scores))
        out["seconds"] = time.perf_counter() - start
        return out

    def implicit(self, name):
        """implicit's item-item recommender ``name`` (K=20) on the same split."""
        from implicit import nearest_neighbours

        by_user = self.train.by_user
        user_items = sp.csr_matrix((by_user.data.astype(np.float64), by_user.indices,
                                    by_user.indptr), shape=(self.train.n_users,
                                                            self.train.n_items))
        start = time.perf_counter()
        model = getattr(nearest_neighbours, name)(K=20)
        model.fit(user_items, show_progress=False)
        ids, scores = model.recommend(self.users, user_items[self.users], N=K)
        ids = np.where(scores > -1e38, ids, -1)
        out = self.metrics(ids)
        out["seconds"] = time.perf_counter() - start
        return out


def sweep(protocols, threads):
    rows = []
    for cls in (fastcf.UserKNN, fastcf.ItemKNN):
        for similarity in NAMES:
            for mode in MODES:
                row = {"model": cls.__name__, "similarity": similarity, "mode": mode}
                for label, extra in (("default", {}), ("unshrunk", {"rank_shrinkage": 0.0})):
                    runs = [p.model(cls(similarity=similarity, mode=mode, n_threads=threads,
                                        **extra)) for p in protocols]
                    row[label] = float(np.mean([r["ndcg"] for r in runs]))
                    row[label + "_p"] = float(np.mean([r["precision"] for r in runs]))
                rows.append(row)
                print(f"  {row['model']} {similarity} {mode}: NDCG@10 {row['default']:.4f} "
                      f"(unshrunk {row['unshrunk']:.4f})", file=sys.stderr, flush=True)
    return rows


def final(protocols, threads, others, with_implicit):
    entries = [(f"{cls.__name__}(similarity={s!r})",
                lambda cls=cls, s=s: cls(similarity=s, n_threads=threads))
               for cls in (fastcf.UserKNN, fastcf.ItemKNN) for s in NAMES]
    entries += [
        ("ItemKNN(k=19, similarity='cosine_all') = implicit Cosine K=20",
         lambda: fastcf.ItemKNN(k=19, similarity="cosine_all", n_threads=threads)),
        ("ItemKNN(k=19, similarity='cosine_all', weighting='tfidf') = TFIDF K=20",
         lambda: fastcf.ItemKNN(k=19, similarity="cosine_all", weighting="tfidf",
                                n_threads=threads)),
        ("ItemKNN(k=19, similarity='dot', weighting='bm25') = BM25 K=20",
         lambda: fastcf.ItemKNN(k=19, similarity="dot", weighting="bm25", n_threads=threads)),
    ]
    if others:
        entries += [("MatrixFactorization()", lambda: fastcf.MatrixFactorization()),
                    ("BaselineOnly()", lambda: fastcf.BaselineOnly()),
                    ("MLPRecommender()", lambda: fastcf.MLPRecommender())]
    rows = [{"model": "popularity", "runs": [p.popularity() for p in protocols]}]
    for name, make in entries:
        rows.append({"model": name, "runs": [p.model(make()) for p in protocols]})
        print(f"  {name}: NDCG@10 {np.mean([r['ndcg'] for r in rows[-1]['runs']]):.4f}",
              file=sys.stderr, flush=True)
    if with_implicit:
        for name in ("CosineRecommender", "TFIDFRecommender", "BM25Recommender"):
            rows.append({"model": f"implicit {name}(K=20)",
                         "runs": [p.implicit(name) for p in protocols]})
    for row in rows:
        for metric in ("ndcg", "precision"):
            values = [r[metric] for r in row["runs"]]
            row[metric], row[metric + "_min"] = float(np.mean(values)), float(np.min(values))
    return rows


def format_markdown(results):
    lines = [f"# kNN ranking at default parameters vs popularity (ML-100K, {results['data']})",
             "", f"load before: {results['load_before']}, after: {results['load_after']}", ""]
    if results.get("sweep"):
        lines += [f"## (a) every similarity x mode, NDCG@10 / P@10, seeds "
                  f"{results['sweep_seeds']}; popularity {results['sweep_popularity']:.4f}", "",
                  "| model | similarity | mode | NDCG@10 | P@10 | unshrunk NDCG@10 | "
                  "unshrunk P@10 | beats popularity |", "|---|---|---|---|---|---|---|---|"]
        for r in results["sweep"]:
            beats = "yes" if r["default"] > results["sweep_popularity"] else "**no**"
            lines.append(f"| {r['model']} | {r['similarity']} | {r['mode']} | {r['default']:.4f} "
                         f"| {r['default_p']:.4f} | {r['unshrunk']:.4f} | {r['unshrunk_p']:.4f} "
                         f"| {beats} |")
        lines.append("")
    lines += [f"## (b) defaults, seeds {results['seeds']} (mean, min over seeds)", "",
              "| model | NDCG@10 | min | P@10 | min | fit + recommend s (mean) |",
              "|---|---|---|---|---|---|"]
    for r in results["final"]:
        seconds = np.mean([x.get("seconds", np.nan) for x in r["runs"]])
        lines.append(f"| {r['model']} | {r['ndcg']:.4f} | {r['ndcg_min']:.4f} | "
                     f"{r['precision']:.4f} | {r['precision_min']:.4f} | {seconds:.2f} |")
    lines += ["", f"command: `{results['command']}`"]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/work/shared/data/ml-100k/u.data")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sweep-seeds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--skip-others", action="store_true",
                        help="leave out MatrixFactorization, BaselineOnly, MLPRecommender")
    parser.add_argument("--implicit", action="store_true",
                        help="run implicit's item-item recommenders on the same splits")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    data = load_movielens(args.data)
    results = {"data": f"{data.nnz:,} ratings, {data.n_users} users x {data.n_items} items",
               "load_before": _common.load_average(), "seeds": list(range(args.seeds))}
    if not args.skip_sweep:
        protocols = [Protocol(data, s) for s in range(args.sweep_seeds)]
        results["sweep_seeds"] = list(range(args.sweep_seeds))
        results["sweep_popularity"] = float(np.mean([p.popularity()["ndcg"]
                                                     for p in protocols]))
        results["sweep"] = sweep(protocols, args.threads)
    protocols = [Protocol(data, s) for s in range(args.seeds)]
    results["final"] = final(protocols, args.threads, not args.skip_others, args.implicit)
    _common.finish(results, format_markdown, args.out)


if __name__ == "__main__":
    main()
