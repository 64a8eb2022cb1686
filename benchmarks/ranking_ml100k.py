"""The ranking protocol on MovieLens 100K over several seeds: fastcf and its peers, same run.

Protocol (DESIGN.md, "Ranking protocol"; the one of Microsoft Recommenders'
ML-100k table): per user a random 75 % of their ratings to train and 25 % to
test, every rating an interaction, the full catalogue ranked for every test
user with their training items excluded, top-10; NDCG@10, P@10, recall@10
and catalogue coverage computed by fastcf's metric functions on every
library's lists. Each seed is the seed of the split and of every model.

The rows are fastcf.bench's: every model registered in
``fastcf.bench.RANKING_PROTOCOL_ALGORITHMS`` (a new model appears here when
it is registered there) and every peer runner of ``fastcf.bench.ranking``
(implicit ALS / BPR / cosine / BM25 item-kNN, cornac BPR) whose library is
installed. Printed: mean +- sample sd over the seeds per row, beside the
published NDCG@10 of Microsoft Recommenders' table.

Usage::

    python benchmarks/ranking_ml100k.py --data ../shared/data/ml-100k \\
        [--seeds 0,1,2] [--algorithms popularity,als] [--peers auto] [--threads 2] \\
        [--repeats 1] [--out DIR]
"""

import argparse
import time

import numpy as np
from _common import finish, load_average

import fastcf
from fastcf.bench import RANKING_METRICS, installed_peers, ranking_names, ranking_split
from fastcf.bench.ranking import ranking_jobs, run_ranking_job

#: Microsoft Recommenders' ML-100k table (NDCG@10), the protocol's published figures.
PUBLISHED_NDCG = {"BiVAE": 0.475, "cornac BPR": 0.442, "LightGCN": 0.420, "NCF": 0.396,
                  "SAR": 0.382}
#: Columns of the table: the metrics, then the seconds.
COLUMNS = (*RANKING_METRICS, "fit_s", "recommend_s")
LABELS = {"ndcg": "NDCG@10", "precision": "P@10", "recall": "recall@10",
          "coverage": "coverage", "fit_s": "fit s", "recommend_s": "recommend s"}


def run(data, seeds, names, peers, n_threads, repeats):
    """Rows per (algorithm, library): the value of each column at every seed."""
    table = {}
    for seed in seeds:
        train, test = ranking_split(data, seed)
        for algorithm, library in ranking_jobs(names, peers):
            started = time.perf_counter()
            row = run_ranking_job(algorithm, library, train, test, n_threads, repeats, seed)
            if row is None:
                continue
            print(f"seed {seed} {algorithm} / {library}: NDCG@10 {row.ndcg:.4f}, P@10 "
                  f"{row.precision:.4f} ({time.perf_counter() - started:.1f} s, load "
                  f"{load_average()})", flush=True)
            cells = table.setdefault((algorithm, library), {c: [] for c in COLUMNS})
            for column in COLUMNS:
                cells[column].append(float(getattr(row, column)))
    return table, len(train), len(test)


def summary(table):
    """JSON-able rows: mean and sample sd over the seeds of every column."""
    rows = []
    for (algorithm, library), cells in table.items():
        row = {"algorithm": algorithm, "library": library, "seeds": len(cells["ndcg"])}
        for column, values in cells.items():
            values = np.asarray(values)
            row[column] = float(values.mean())
            row[f"{column}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        rows.append(row)
    return rows


def format_markdown(results):
    head = " | ".join(LABELS[c] for c in COLUMNS)
    lines = [f"Data: {results['data']}; ranking protocol (75/25 within users, implicit, "
             f"top-10, training items excluded); seeds {results['seeds']} (split and "
             f"model); train {results['train']:,} / test {results['test']:,} per split; "
             f"fastcf threads {results['n_threads'] or 'all'}; load before "
             f"{results['load_before']}, after {results.get('load_after', '?')}.", "",
             f"| algorithm | library | {head} |", "|" + "---|" * (len(COLUMNS) + 2)]
    for row in sorted(results["rows"], key=lambda r: -r["ndcg"]):
        cells = " | ".join(f"{row[c]:.4f} ± {row[c + '_sd']:.4f}" if c in RANKING_METRICS
                           else f"{row[c]:.3f} ± {row[c + '_sd']:.3f}" for c in COLUMNS)
        lines.append(f"| {row['algorithm']} | {row['library']} | {cells} |")
    lines += ["", "Published on the same protocol (Microsoft Recommenders, ML-100k, "
              "NDCG@10): " + ", ".join(f"{name} {value:.3f}"
                                       for name, value in PUBLISHED_NDCG.items()) + "."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="the ML-100K folder or its u.data")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (>= 3)")
    parser.add_argument("--algorithms", default=None,
                        help=f"comma-separated rows, from {', '.join(ranking_names())} "
                             "(default: all)")
    parser.add_argument("--peers", default="auto",
                        help="auto (every installed peer), none, or a comma-separated list")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per figure")
    parser.add_argument("--out", default=None, help="folder for results.json / results.md")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    names = ranking_names() if args.algorithms is None else args.algorithms.split(",")
    unknown = sorted(set(names) - set(ranking_names()))
    if unknown:
        parser.error(f"unknown rows {unknown}; known: {ranking_names()}")
    peers = {"auto": installed_peers(), "none": []}.get(args.peers, args.peers.split(","))
    data = fastcf.load_movielens(args.data)
    load_before = load_average()
    table, n_train, n_test = run(data, seeds, names, peers, args.threads, args.repeats)
    results = {"data": f"{args.data}: {data.nnz:,} ratings, {data.n_users:,} users x "
                       f"{data.n_items:,} items", "seeds": seeds, "train": n_train,
               "test": n_test, "n_threads": args.threads, "load_before": load_before,
               "published_ndcg": PUBLISHED_NDCG, "rows": summary(table)}
    finish(results, format_markdown, args.out)


if __name__ == "__main__":
    main()
