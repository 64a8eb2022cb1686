"""Backend registry: which implementation of a kernel family runs.

Each kernel family (for example ``"baseline_sweep"``) has up to three
implementations registered under ``"numba"``, ``"cython"`` and ``"reference"``.
Public functions ask :func:`get_kernel` for one; ``backend="auto"`` takes the
family's measured preference, or else the first available backend in
``_config.AUTO_BACKEND_ORDER``.
"""

import numba

from ._config import AUTO_BACKEND_ORDER
from ._parallel import numba_threads

BACKENDS = ("numba", "cython", "reference")

_REGISTRY = {}
_AUTO_PREFERENCE = {}


def register(family, backend, kernel):
    """Register ``kernel`` as ``backend``'s implementation of ``family``."""
    if backend not in BACKENDS:
        raise ValueError(f"backend == {backend!r}, must be one of {BACKENDS}.")
    _REGISTRY.setdefault(family, {})[backend] = kernel


def set_auto_preference(family, order):
    """Record the backend order that benchmarks showed fastest for ``family``."""
    _AUTO_PREFERENCE[family] = tuple(order)


def cython_status():
    """``(available, reason)`` of the compiled Cython extension."""
    try:
        from .kernels import _openmp  # noqa: F401
    except ImportError as exc:
        return False, f"Cython extension not built ({exc})"
    return True, "built"


def available_backends():
    """Mapping backend name -> bool, whether it can run on this install."""
    return {"numba": True, "cython": cython_status()[0], "reference": True}


def check_backend(backend):
    """Validate a ``backend=`` argument (type and value) and return it."""
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a str, got {type(backend).__name__}.")
    if backend != "auto" and backend not in BACKENDS:
        raise ValueError(f"backend == {backend!r}, must be one of {('auto',) + BACKENDS}.")
    return backend


def get_kernel(family, backend="auto"):
    """Return ``(kernel, backend_name)`` for ``family``.

    Raises
    ------
    ValueError
        Unknown backend or family, or a backend that is not available here
        (for example ``"cython"`` when the extension was not compiled).
    """
    check_backend(backend)
    kernels = _REGISTRY.get(family)
    if not kernels:
        raise ValueError(f"no kernel family named {family!r}; known: {sorted(_REGISTRY)}.")
    available = available_backends()
    if backend == "auto":
        for name in _AUTO_PREFERENCE.get(family, AUTO_BACKEND_ORDER):
            if name in kernels and available[name]:
                return kernels[name], name
        raise ValueError(f"no available backend implements {family!r}.")
    if not available[backend]:
        raise ValueError(f"backend == {backend!r} is not available: {cython_status()[1]}.")
    if backend not in kernels:
        raise ValueError(f"backend {backend!r} has no {family!r} kernel.")
    return kernels[backend], backend


def run(kernel, name, args, n_threads, *, numba_takes_threads=False, numba_chunksize=0):
    """Call ``kernel`` (backend ``name``) on ``args`` with ``n_threads`` threads.

    Numba kernels run inside :func:`numba_threads` (and get the clipped count
    as a last argument when ``numba_takes_threads``), their ``prange`` loops
    handing out ``numba_chunksize`` iterations at a time when it is given
    (0: Numba's default, one equal share a thread); Cython kernels always take
    the count last; reference kernels run as they are.
    """
    if name == "numba":
        # Set here, not inside the kernel: a jitted set_parallel_chunksize cannot be cached.
        with numba_threads(n_threads) as n, numba.parallel_chunksize(numba_chunksize):
            return kernel(*args, n) if numba_takes_threads else kernel(*args)
    if name == "cython":
        return kernel(*args, n_threads)
    return kernel(*args)
