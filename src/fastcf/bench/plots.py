"""PNG plots of ``fastcf benchmark`` results (matplotlib is optional: skipped with a note)."""

import os

import numpy as np

NOTE_NO_MATPLOTLIB = ("plots skipped: matplotlib is not installed (pip install matplotlib, "
                      "or 'fastcf[bench]').")


def _times(ax, rows):
    """Fit seconds per algorithm, one bar per library (log scale)."""
    algorithms = list(dict.fromkeys(r["algorithm"] for r in rows))
    libraries = list(dict.fromkeys(r["library"] for r in rows))
    width = 0.8 / len(libraries)
    for j, library in enumerate(libraries):
        seconds = [next((r["fit_s"] for r in rows
                         if r["algorithm"] == a and r["library"] == library), np.nan)
                   for a in algorithms]
        ax.barh(np.arange(len(algorithms)) + j * width, seconds, width, label=library)
    ax.set_yticks(np.arange(len(algorithms)) + 0.4 - width / 2, algorithms)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("fit seconds (log scale; median)")
    ax.legend(fontsize="small")


def _curves(ax, curves):
    for name, values in curves.items():
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test RMSE")
    ax.legend()


def _scaling(ax, by, xlabel):
    for name, points in by.items():
        x = [float(v) for v in points]
        ax.plot(x, list(points.values()), marker="o", label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("fit seconds")
    ax.legend()


def write_plots(results, out_dir):
    """Write the PNGs that the results support; ``(file names, note or None)``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return [], NOTE_NO_MATPLOTLIB
    plots = []
    scaling = results.get("scaling") or {}
    jobs = [("times.png", "Fit time per algorithm, fastcf and peers",
             lambda ax: _times(ax, results["rows"]), bool(results["rows"])),
            ("learning_curves.png", "Learning curves (test RMSE per epoch)",
             lambda ax: _curves(ax, results.get("learning_curves") or {}),
             bool(results.get("learning_curves"))),
            ("scaling_threads.png", "Scaling with threads",
             lambda ax: _scaling(ax, scaling.get("threads", {}), "threads"),
             bool(scaling.get("threads"))),
            ("scaling_data.png", "Scaling with data size",
             lambda ax: _scaling(ax, scaling.get("data", {}), "training ratings"),
             bool(scaling.get("data")))]
    if results.get("rerank"):  # a figure of two panels of its own
        from .rerank import rerank_frames

        plot_tradeoff(rerank_frames(results["rerank"]), os.path.join(out_dir,
                      "rerank_tradeoff.png"), title="Re-ranking: accuracy against diversity")
        plots.append("rerank_tradeoff.png")
    for name, title, draw, has_data in jobs:
        if not has_data:
            continue
        fig, ax = plt.subplots(figsize=(8, 5))
        draw(ax)
        ax.set_title(title)
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, name), dpi=100)
        plt.close(fig)
        plots.append(name)
    return plots, None


def plot_tradeoff(tables, path, title=None):
    """Write the accuracy / diversity trade-off of :func:`fastcf.evaluation.rerank_tradeoff`.

    ``tables``: one table or a dict label -> table (one curve each). Left
    panel NDCG@k against intra-list diversity (each point a setting, the
    model's own lists circled), right panel catalogue coverage against the
    swept parameter. Raises ImportError, saying how to install it, without
    matplotlib.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("the trade-off plot needs matplotlib (pip install matplotlib, or "
                          "'fastcf[bench]').") from None
    if not isinstance(tables, dict):
        tables = {tables.attrs.get("reranker", "re-ranked"): tables}
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for label, table in tables.items():
        swept = table[~np.isnan(table["parameter"].to_numpy(dtype=float))]
        line, = left.plot(swept["diversity"], swept["ndcg"], marker="o", label=label)
        for _, row in swept.iterrows():
            left.annotate(f"{row['parameter']:g}", (row["diversity"], row["ndcg"]),
                          textcoords="offset points", xytext=(4, 4), fontsize="x-small")
        if "none" in table.index:
            base = table.loc["none"]
            left.scatter([base["diversity"]], [base["ndcg"]], s=120, facecolors="none",
                         edgecolors=line.get_color())
            right.axhline(base["coverage"], color=line.get_color(), linestyle=":")
        right.plot(swept["parameter"], swept["coverage"], marker="o", label=label,
                   color=line.get_color())
    k = next(iter(tables.values())).attrs.get("k", 10)
    left.set_xlabel("intra-list diversity (1 - mean cosine of the items' training columns)")
    left.set_ylabel(f"NDCG@{k}")
    left.set_title("accuracy against diversity (circle: no re-ranking)", fontsize="small")
    left.legend(fontsize="small")
    right.set_xlabel("lambda_ (MMR) / theta (DPP): 1 = relevance only")
    right.set_ylabel("catalogue coverage")
    right.set_title("coverage (dotted: no re-ranking)", fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
