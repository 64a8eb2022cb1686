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
