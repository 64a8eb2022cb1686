"""Accuracy against diversity on MovieLens 100K: MMR and DPP re-ranking of fastcf's best models.

Protocol (DESIGN.md, "Ranking protocol"): per user a random 75 % of their
ratings to train and 25 % to test (seeded), every rating an interaction, the
full catalogue minus each user's training items ranked for every test user,
top-10 re-ranked from the model's top-100 (the re-rankers' default 10n);
NDCG@10, P@10, intra-list diversity (ILD: 1 - the mean cosine of the items'
binary training columns over the pairs of a list: one item similarity for
every row, whatever the re-ranker used; and ILD (f), the same with the cosine
of the model's item factors, the re-rankers' own similarity), catalogue
coverage and novelty, by :func:`fastcf.evaluation.rerank_tradeoff`. For each
(model, re-ranker) the table names the settings with the largest ILD and ILD
(f) whose NDCG@10 is within 5 % of the model's own lists (the issue asks for
one raising intra-list diversity by >= 20 %).

Models: the fastcf rows of the ranking table at their settings
(``fastcf.bench.algorithms``): ALS, BPR and EASE. Re-rankers: MMR with the
"auto" similarity (the item factors' cosine; EASE, which has none, the
items' training columns), MMR with ``similarity="interactions"`` (the very
similarity ILD measures), and DPP with the "auto" vectors (the item factors;
EASE a 64-dimensional truncated SVD of the training columns).

Usage::

    python benchmarks/rerank_tradeoff.py --data ../shared/data/ml-100k [--seed 0] \\
        [--models als,bpr,ease] [--threads 2] [--out /tmp/fastcf_rerank_tradeoff]
"""

import argparse
import os
import time

import numpy as np
from _common import finish, load_average

import fastcf
from fastcf.bench import ranking_split
from fastcf.bench.algorithms import RANKING_PROTOCOL_ALGORITHMS
from fastcf.bench.plots import plot_tradeoff
from fastcf.evaluation import rerank_tradeoff
from fastcf.rerank import DPP, MMR
from fastcf.rerank._rerankers import factor_vectors

#: lambda_ (MMR) and theta (DPP) values swept, model order (1) first.
MMR_VALUES = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.0)
DPP_VALUES = (1.0, 0.98, 0.95, 0.9, 0.8, 0.7, 0.5, 0.3, 0.0)
#: The re-rankers compared: label -> (re-ranker, values).
RERANKERS = {"mmr": (MMR(), MMR_VALUES),
             "mmr interactions": (MMR(similarity="interactions"), MMR_VALUES),
             "dpp": (DPP(), DPP_VALUES)}
#: NDCG@10 loss allowed (relative) when picking the most diverse setting.
MAX_NDCG_LOSS = 0.05
METRICS = ("ndcg", "precision", "diversity", "ild_factors", "coverage", "novelty",
           "recommend_s")


def best_setting(table, column):
    """The most diverse setting (by ``column``) within MAX_NDCG_LOSS of the model's NDCG."""
    base = table.loc["none"]
    within = table[(table.index != "none")
                   & (table["ndcg"] >= (1 - MAX_NDCG_LOSS) * base["ndcg"])]
    return within[column].idxmax()


def factor_cosine(model):
    """The cosine of the model's item factors (n_items, n_items), or None."""
    vectors = factor_vectors(model)
    if vectors is None:
        return None
    vectors = vectors.astype(np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return vectors @ vectors.T


def run(data, seed, models, n_threads, candidates):
    train, test = ranking_split(data, seed)
    curves, rows = {}, []
    for name in models:
        started = time.perf_counter()
        model = RANKING_PROTOCOL_ALGORITHMS[name](n_threads, seed).fit(train)
        print(f"{name}: fitted in {time.perf_counter() - started:.1f} s (load "
              f"{load_average()})", flush=True)
        by_factors = factor_cosine(model)
        for label, (reranker, values) in RERANKERS.items():
            reranker = reranker.set_params(candidates=candidates)
            model.recommend(train.user_ids[:2], 10, rerank=reranker)  # JIT compile, untimed
            table = rerank_tradeoff(model, train, test, reranker, values, fit=False)
            table["ild_factors"] = np.nan
            if by_factors is not None:
                table["ild_factors"] = rerank_tradeoff(model, train, test, reranker, values,
                                                       fit=False,
                                                       item_similarity=by_factors)["diversity"]
            curves[f"{name} + {label}"] = table
            best = {column: best_setting(table, column) for column in ("diversity",
                                                                       "ild_factors")
                    if by_factors is not None or column == "diversity"}
            base = table.loc["none"]
            for column, setting in best.items():
                print(f"  {label} ({table.attrs['similarity_used']}): most diverse by "
                      f"{column} within {MAX_NDCG_LOSS:.0%}: {setting}: {column} "
                      f"{table.loc[setting, column] / base[column] - 1:+.1%}, NDCG "
                      f"{table.loc[setting, 'ndcg'] / base['ndcg'] - 1:+.1%}", flush=True)
            for setting, row in table.iterrows():
                rows.append({"model": name, "reranker": label, "setting": setting,
                             "similarity": table.attrs["similarity_used"],
                             "best": [c for c, s in best.items() if s == setting],
                             **{m: float(row[m]) for m in METRICS}})
    return curves, rows, len(train), len(test)


def _relative(value, base):
    return "-" if not np.isfinite(value) else f"{value / base - 1:+.1%}"


def format_markdown(results):
    lines = [f"Data: {results['data']}; ranking protocol (75/25 within users, seed "
             f"{results['seed']}, implicit, top-10 re-ranked from the top-"
             f"{results['candidates']}, training items excluded); train "
             f"{results['train']:,} / test {results['test']:,}; fastcf threads "
             f"{results['n_threads'] or 'all'}; load before {results['load_before']}, after "
             f"{results.get('load_after', '?')}.", "",
             "ILD: 1 - mean cosine of the items' binary training columns over the pairs of "
             "a list (the same for every row and model); ILD (f): the same with the cosine "
             "of the model's item factors. d: relative to the model's own lists (none). "
             "Bold setting: the largest ILD with NDCG@10 within "
             f"{MAX_NDCG_LOSS:.0%} of none; italic: the largest ILD (f) within it.", "",
             "| model | re-ranker | setting | NDCG@10 | d NDCG | P@10 | ILD | d ILD | ILD (f) | "
             "d ILD (f) | coverage | novelty | re-rank s |", "|" + "---|" * 13]
    base = {}
    for row in results["rows"]:
        key = (row["model"], row["reranker"])
        if row["setting"] == "none":
            base[key] = row
        b = base[key]
        setting = row["setting"]
        if "diversity" in row["best"]:
            setting = f"**{setting}**"
        if "ild_factors" in row["best"]:
            setting = f"_{setting}_"
        factors = "-" if not np.isfinite(row["ild_factors"]) else f"{row['ild_factors']:.4f}"
        lines.append(
            f"| {row['model']} | {row['reranker']} | {setting} | {row['ndcg']:.4f} | "
            f"{_relative(row['ndcg'], b['ndcg'])} | {row['precision']:.4f} | "
            f"{row['diversity']:.4f} | {_relative(row['diversity'], b['diversity'])} | "
            f"{factors} | {_relative(row['ild_factors'], b['ild_factors'])} | "
            f"{row['coverage']:.3f} | {row['novelty']:.2f} | {row['recommend_s']:.2f} |")
    lines += ["", "Item similarity used by each re-ranker: " + "; ".join(
        sorted({f"{r['model']} + {r['reranker']}: {r['similarity']}"
                for r in results["rows"]})) + "."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="the ML-100K folder or its u.data")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and the models")
    parser.add_argument("--models", default="als,bpr,ease",
                        help=f"comma-separated, from {', '.join(RANKING_PROTOCOL_ALGORITHMS)}")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--candidates", type=int, default=100,
                        help="items re-ranked to the top-10 (M)")
    parser.add_argument("--out", default="/tmp/fastcf_rerank_tradeoff",
                        help="folder for results.json / results.md / tradeoff.png")
    args = parser.parse_args(argv)
    models = args.models.split(",")
    unknown = sorted(set(models) - set(RANKING_PROTOCOL_ALGORITHMS))
    if unknown:
        parser.error(f"unknown models {unknown}; known: {list(RANKING_PROTOCOL_ALGORITHMS)}")
    data = fastcf.load_movielens(args.data)
    load_before = load_average()
    curves, rows, n_train, n_test = run(data, args.seed, models, args.threads, args.candidates)
    results = {"data": f"{args.data}: {data.nnz:,} ratings, {data.n_users:,} users x "
                       f"{data.n_items:,} items", "seed": args.seed, "train": n_train,
               "test": n_test, "n_threads": args.threads, "load_before": load_before,
               "candidates": args.candidates, "max_ndcg_loss": MAX_NDCG_LOSS, "rows": rows}
    finish(results, format_markdown, args.out)
    os.makedirs(args.out, exist_ok=True)
    path = plot_tradeoff(curves, os.path.join(args.out, "tradeoff.png"),
                         title="ML-100k, ranking protocol: MMR / DPP re-ranking (top-100 -> 10)")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
