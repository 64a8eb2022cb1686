"""The extras of a benchmark run: learning curves, and fit time by threads and by data size."""

import os

import numpy as np

from .algorithms import make_model
from .timing import warm_median_time

#: The parallel fits measured for scaling (MF's parallel schedule: the default
#: serial one runs on one thread whatever n_threads says).
SCALING_ALGORITHMS = {"mf": {"schedule": "blocked"}, "itemsim_pearson": {}}
SCALING_FRACTIONS = (0.25, 0.5, 1.0)


def learning_curves(algorithms, train, test, n_threads):
    """Per-epoch test RMSE of the iterative rating models (an extra, untimed fit)."""
    curves = {}
    for name in ("mf", "mlp"):
        if name in algorithms:
            model = make_model(name, n_threads).fit(train, validation=test)
            curves[name] = [e["validation_rmse"] for e in model.history_]
    return curves


def thread_counts(n_threads):
    """1, the powers of two below the top count, and the top count (``n_threads`` or all CPUs)."""
    top = n_threads or os.cpu_count() or 1
    return sorted({1, *(2 ** i for i in range(1, 8) if 2 ** i < top), top})


def _scaling_fit(name, data, n_threads):
    model = make_model(name, n_threads)
    if SCALING_ALGORITHMS[name]:
        model.set_params(**SCALING_ALGORITHMS[name])
    return model.fit(data)


def fit_scaling(algorithms, train, n_threads, repeats, seed):
    """Fit seconds by thread count and by training-data fraction.

    Each point is warmed up by its own untimed fit (a thread count or a data
    size can reach kernels that another point does not); ``"jit_s"`` holds, per
    algorithm, the seconds Numba spent compiling in those warm-ups.
    """
    out = {"threads": {}, "data": {}, "jit_s": {}}
    for name, params in SCALING_ALGORITHMS.items():
        if name not in algorithms:
            continue
        label = name + "".join(f" ({v})" for v in params.values())
        jit_s = 0.0

        def point(data, threads, name=name):
            nonlocal jit_s
            seconds, _, compiling = warm_median_time(
                lambda: _scaling_fit(name, data, threads), repeats)
            jit_s += compiling
            return seconds

        out["threads"][label] = {str(t): point(train, t) for t in thread_counts(n_threads)}
        rng = np.random.default_rng(seed)
        sizes = {}
        for fraction in SCALING_FRACTIONS:
            part = train if fraction == 1.0 else train.take(
                np.sort(rng.choice(train.nnz, int(fraction * train.nnz), replace=False)))
            sizes[str(part.nnz)] = point(part, n_threads)
        out["data"][label] = sizes
        out["jit_s"][label] = jit_s
    return out
