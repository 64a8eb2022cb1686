"""The results of a benchmark run as Markdown, JSON and PNG files."""

import json
import os

import numpy as np

from .job import PEER_NOTES
from .ranking import RANKING_PEER_NOTES
from .rerank import rerank_markdown


def _fmt(value, digits=4):
    return "-" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def format_markdown(results):
    """The results table as Markdown."""
    columns = ("algorithm | library | RMSE | MAE | P@10 | NDCG@10 | HR@10 (s) | NDCG@10 (s) | "
               "fit s | predict s | recommend s | predictions/s | JIT s | speed-up vs peer "
               "(fit / predict / recommend)")
    machine = results.get("machine", {})
    lines = [f"Data: {results['data']}; train {results['train']:,}, test {results['test']:,}; "
             f"times are medians of {results['repeats']} runs, each fastcf time after an "
             "untimed warm-up run of the same call; data preparation untimed; "
             f"{machine.get('cpus', '?')} CPUs, fastcf threads: "
             f"{results['n_threads'] or 'all'}.", "",
             "| " + columns + " |", "|" + "---|" * (columns.count("|") + 1)]
    for r in results["rows"]:
        speedups = _speedups(r, ("fit", "predict", "recommend"))
        metrics = " | ".join(_fmt(r[m]) for m in ("rmse", "mae", "precision", "ndcg",
                                                   "hit_rate_sampled", "ndcg_sampled"))
        times = " | ".join(_fmt(r[t]) for t in ("fit_s", "predict_s", "recommend_s"))
        rate = r["predictions_per_s"]
        rate = "-" if not np.isfinite(rate) else f"{rate:,.0f}"
        lines.append(f"| {r['algorithm']} | {r['library']} | {metrics} | {times} | {rate} | "
                     f"{_fmt(r['jit_s'], 2)} | {speedups} |")
    lines += ["", "P@10 / NDCG@10: full ranking of all items (training items excluded) for "
              "every test user the training data knows, its test items relevant. HR@10 (s) / "
              "NDCG@10 (s): the sampled protocol (each test pair among 99 sampled negatives), "
              "for implicit-feedback models only; not comparable with full-ranking figures. "
              "itemsim_*: item-item top-40 similarity only (fit = the similarity). JIT s: "
              "the seconds Numba spent compiling during the row's untimed warm-ups (0.00 when "
              "every kernel came from its on-disk cache)."]
    for peer in results["peers"]:
        lines.append(f"- {PEER_NOTES[peer]}")
    if not results["peers"]:
        lines += ["", "No peer library ran (install them with `pip install 'fastcf[bench]'`)."]
    lines += _ranking_markdown(results.get("ranking"))
    lines += rerank_markdown(results.get("rerank"))
    scaling = results.get("scaling") or {}
    for name, by_threads in scaling.get("threads", {}).items():
        lines.append(f"- {name} fit s by threads: " + ", ".join(
            f"{t}: {s:.3f}" for t, s in by_threads.items()))
    for name, by_size in scaling.get("data", {}).items():
        lines.append(f"- {name} fit s by training ratings: " + ", ".join(
            f"{int(n):,}: {s:.3f}" for n, s in by_size.items()))
    for name, jit_s in scaling.get("jit_s", {}).items():
        lines.append(f"- {name} JIT s in the untimed warm-ups of the scaling runs: {jit_s:.2f}")
    return "\n".join(lines)


def _speedups(row, what):
    return "; ".join(
        f"{peer}: " + " / ".join(f"{row['speedup'][peer][w]:.1f}x" if w in row["speedup"][peer]
                                 else "-" for w in what)
        for peer in row["speedup"]) or "-"


def _ranking_markdown(ranking):
    """The ranking protocol's table (lines), or nothing when it did not run."""
    if not ranking:
        return []
    n = ranking["n"]
    columns = (f"algorithm | library | NDCG@{n} | P@{n} | recall@{n} | coverage | fit s | "
               "recommend s | JIT s | speed-up vs peer (fit / recommend)")
    lines = ["", f"Ranking protocol (top-{n} from implicit feedback): each user's entries "
             f"split {1 - ranking['test_size']:.0%} train / {ranking['test_size']:.0%} test "
             f"(seed {ranking['seed']}; train {ranking['train']:,}, test "
             f"{ranking['test']:,}), every entry an interaction, the full catalogue ranked "
             "for every test user with their training items excluded.", "",
             "| " + columns + " |", "|" + "---|" * (columns.count("|") + 1)]
    for r in ranking["rows"]:
        metrics = " | ".join(_fmt(r[m]) for m in ("ndcg", "precision", "recall", "coverage"))
        times = " | ".join(_fmt(r[t]) for t in ("fit_s", "recommend_s"))
        lines.append(f"| {r['algorithm']} | {r['library']} | {metrics} | {times} | "
                     f"{_fmt(r['jit_s'], 2)} | {_speedups(r, ('fit', 'recommend'))} |")
    ranked = {r["n_ranked"] for r in ranking["rows"]}
    runs = ("one timed run" if ranking["repeats"] == 1
            else f"the median of {ranking['repeats']} timed runs")
    lines += ["", f"Users ranked: {', '.join(f'{u:,}' for u in sorted(ranked))}; the metrics "
              "of every library computed by fastcf's metric functions on its lists; "
              f"recommend s: top-{n} for all of them; each time {runs} (fastcf's after an "
              "untimed warm-up run of the same call)."]
    peers = {r["library"] for r in ranking["rows"]}
    lines += [f"- {note}" for peer, note in RANKING_PEER_NOTES.items() if peer in peers]
    return lines


def write_results(results, out_dir):
    """Write ``results.json``, ``results.md`` and the plots into ``out_dir``.

    Returns the names of the files written, and a note when the plots were
    skipped (matplotlib is optional).
    """
    from .plots import write_plots

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as fh:
        json.dump(results, fh, indent=2, default=float)
    with open(os.path.join(out_dir, "results.md"), "w") as fh:
        fh.write(format_markdown(results) + "\n")
    plots, note = write_plots(results, out_dir)
    return ["results.json", "results.md", *plots], note
