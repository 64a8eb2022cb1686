"""``fastcf.show_config()``: what this install is and what it can run."""

import platform
import sys

import numba
import numpy as np

from ._parallel import resolve_n_threads
from .kernels import _registry


def _numba_threading_layer():
    """The layer Numba actually picked (known only after a parallel kernel ran)."""
    from .kernels import bias_sweep

    one = np.array([0, 1], dtype=np.int32)
    bias_sweep(one, np.array([0], dtype=np.int32), np.ones(1), 0.0, np.zeros(1), 1.0,
               backend="numba", n_threads=1)
    try:
        return numba.threading_layer()
    except ValueError:
        return "unknown"


def config_info():
    """The configuration as a dict (see :func:`show_config`)."""
    import pandas
    import scipy

    from . import __version__

    cython_ok, cython_reason = _registry.cython_status()
    openmp, omp_threads, mf_build = False, 1, "none"
    if cython_ok:
        from .kernels import _openmp
        from .kernels.mf import MF_CYTHON_BUILD

        openmp, omp_threads = _openmp.openmp_enabled(), _openmp.openmp_max_threads()
        mf_build = MF_CYTHON_BUILD
    return {
        "fastcf": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pandas.__version__,
        "numba": numba.__version__,
        "backends": _registry.available_backends(),
        "cython_build": cython_reason if cython_ok else f"absent: {cython_reason}",
        "cython_openmp": openmp,
        "openmp_max_threads": omp_threads,
        "cython_mf_build": mf_build,
        "numba_threading_layer": _numba_threading_layer(),
        "numba_num_threads": numba.config.NUMBA_NUM_THREADS,
        "default_n_threads": resolve_n_threads(None),
    }


def show_config(file=None):
    """Print versions, available backends, threading and OpenMP status.

    Returns the same information as a dict.
    """
    info = config_info()
    width = max(map(len, info))
    lines = []
    for key, value in info.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in value.items())
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        lines.append(f"{key:<{width}}  {value}")
    print("\n".join(lines), file=file or sys.stdout)
    return info
