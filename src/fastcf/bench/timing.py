"""How the benchmark times a call: the median of repeated runs, after an untimed warm-up.

Numba compiles a kernel the first time it meets a type signature, and which
kernels a call reaches can depend on the data (a small batch runs a
single-threaded path, a schedule its own epoch kernel, a dtype its own
specialisation). A warm-up on other data can therefore leave a kernel to be
compiled inside a timed run. :func:`warm_median_time` warms up with the very
call it then times (same model, data, backend, dtype, schedule and thread
count), so that the timed runs are steady state, and reports the seconds Numba
spent compiling during the warm-up apart.
"""

import time
from dataclasses import dataclass, field

import numpy as np
from numba.core import event


def _timed_call(fn):
    """``(seconds, result)`` of one call of ``fn``: every timed region of the benchmark."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median_time(fn, repeats):
    """``(median seconds over repeats calls of fn, the last result)``."""
    times, result = [], None
    for _ in range(repeats):
        seconds, result = _timed_call(fn)
        times.append(seconds)
    return float(np.median(times)), result


def compile_seconds(fn):
    """``(seconds Numba spent compiling during one call of fn, its result)``.

    Counts the outermost ``numba:compile`` events only (a kernel compiled
    while compiling its caller is not counted twice); a kernel loaded from
    Numba's on-disk cache is not a compilation and adds nothing.
    """
    spent = []
    with event.install_timer("numba:compile", spent.append):
        result = fn()
    return (spent[0] if spent else 0.0), result


def _warm_up(fn):
    """Call ``fn`` once, untimed; the seconds Numba spent compiling in it."""
    return compile_seconds(fn)[0]


def warm_median_time(fn, repeats):
    """``(median seconds, last result, JIT seconds)`` of ``fn``, warmed up first.

    ``fn`` is called once untimed (its result dropped before the timed runs),
    then ``repeats`` times timed; the JIT seconds are those Numba spent
    compiling during the untimed call.
    """
    jit_s = _warm_up(fn)
    seconds, result = median_time(fn, repeats)
    return seconds, result, jit_s


@dataclass
class TimedRow:
    """What every line of a benchmark table holds (NaN: not measured); the tables'
    rows add their metrics."""

    algorithm: str
    library: str
    fit_s: float
    recommend_s: float = float("nan")
    jit_s: float = float("nan")
    n_ranked: int = 0
    speedup: dict = field(default_factory=dict)  # peer -> {"fit": x, "recommend": x, ...}


def speedups(rows, what):
    """Fill each fastcf row's ``speedup``: peer -> {w: peer's ``w_s`` / fastcf's ``w_s``}
    for each ``w`` of ``what`` both measured, against every peer row of its algorithm."""
    for row in rows:
        if row.library != "fastcf":
            continue
        for peer in rows:
            if peer.algorithm != row.algorithm or peer.library == "fastcf":
                continue
            ratios = {}
            for name in what:
                ours, theirs = getattr(row, f"{name}_s"), getattr(peer, f"{name}_s")
                if np.isfinite(ours) and np.isfinite(theirs) and ours > 0:
                    ratios[name] = theirs / ours
            row.speedup[peer.library] = ratios
