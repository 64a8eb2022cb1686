"""What the peer-comparison scripts in benchmarks/ share.

Imported by the scripts (which run with benchmarks/ on sys.path): the
synthetic data set of DESIGN.md's figures and its (user, item, rating) frame
for the peers; library versions, this process's peak memory, the machine's
load and the command line recorded beside the figures; results.json +
results.md written the same way.
"""

import json
import os
import platform
import resource
import sys
import time

import fastcf

PEERS = ("scikit-surprise", "implicit", "lenskit", "cornac", "torch")
#: The shape of DESIGN.md's reference figures (n_users, n_items, n_ratings).
SYNTHETIC_SHAPE = (60_000, 8_000, 1_740_000)


def synthetic_data(scale=1.0, seed=0):
    """``(Interactions, description)``: make_ratings at ``scale`` x SYNTHETIC_SHAPE."""
    n_users, n_items, n_ratings = (max(int(n * scale), 1) for n in SYNTHETIC_SHAPE)
    data = fastcf.make_ratings(n_users, n_items, n_ratings, seed=seed)
    _ = data.by_item  # data preparation is untimed, for us as for the peers
    return data, (f"synthetic make_ratings({n_users}, {n_items}, {n_ratings}, seed={seed}): "
                  f"{data.nnz:,} ratings, {data.n_users:,} users x {data.n_items:,} items")


def ratings_frame(data):
    """(user, item, rating) with fastcf's internal indices as the ids."""
    import pandas as pd

    return pd.DataFrame({"user": data.entry_users(), "item": data.by_user.indices,
                         "rating": data.by_user.data})


def versions(libraries=("numba", "numpy", "scipy") + PEERS):
    """Versions of Python, fastcf (and where it was imported from) and ``libraries``."""
    import importlib.metadata as md

    out = {"python": platform.python_version(), "fastcf": fastcf.__version__,
           "fastcf_path": os.path.dirname(fastcf.__file__)}
    for name in libraries:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def best_of(repeats, fn):
    """(the fastest of ``repeats`` timed calls of ``fn``, in seconds; the last call's result)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def load_average():
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def peak_rss_mb():
    """This process's peak RSS in MB: VmHWM, the high-water mark of its own memory map.

    ``getrusage(RUSAGE_SELF).ru_maxrss`` is not used as the figure: Linux keeps
    it across fork and exec, so a child started by a big parent reports the
    parent's peak (measured: a child of a 311 MB parent reads 311 MB).
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def size_arguments(description, argv=None):
    """``--ratings`` (a ``fastcf benchmark`` size), ``--repeats``, ``--out`` from ``argv``."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--ratings", default="10m", help="a fastcf benchmark size: 10m, 1m...")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out")
    return parser.parse_args(argv)


def finish(results, format_markdown, out=None):
    """Stamp ``results`` (versions, load after, command), print the table, write ``out``."""
    results.update({"versions": versions(), "load_after": load_average(),
                    "command": " ".join([os.path.basename(sys.executable)] + sys.argv)})
    text = format_markdown(results)
    print(text)
    if out:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "results.json"), "w") as fh:
            json.dump(results, fh, indent=2, default=float)
        with open(os.path.join(out, "results.md"), "w") as fh:
            fh.write(text + "\n")
    return text
