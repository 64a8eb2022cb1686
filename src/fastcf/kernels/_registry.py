"""Which implementation of a kernel family runs.

Each kernel family (for example ``"bias_sweep"``) has up to three
implementations, ``"numba"``, ``"cython"`` and ``"reference"``, registered by
the family's own wrapper module (``kernels/<family>.py``) when it is imported,
together with the order ``backend="auto"`` tries them in. The wrappers ask
:func:`get_kernel` for one and call it through :func:`run`.
"""

import importlib

import numba

from .._config import AUTO_BACKEND_ORDER
from .._parallel import numba_threads

BACKENDS = ("numba", "cython", "reference")

_REGISTRY = {}
_AUTO_PREFERENCE = {}

# Each Cython extension that could not be imported: "not built" (setup.py had no
# working C compiler, or FASTCF_NO_CYTHON=1) or the error of one that does not load.
_CYTHON_MISSING = {}

CYTHON_NOT_BUILT = (
    "not compiled when fastcf was installed (no working C compiler then, or "
    "FASTCF_NO_CYTHON=1); every model runs on Numba. To add it, install a C compiler "
    "and reinstall fastcf")


def cython_kernel(module, name, *, optional=False):
    """Function ``name`` of the Cython extension ``fastcf.kernels.<module>``, or None
    when that extension was not built (an install without a C compiler).

    ``optional``: an extra build (``_mf_avx2``) whose absence leaves the Cython
    backend available (:func:`cython_status`).
    """
    full_name = f"{__package__}.{module}"
    try:
        return getattr(importlib.import_module(full_name), name)
    except ImportError as exc:
        if not optional:
            not_built = isinstance(exc, ModuleNotFoundError) and exc.name == full_name
            _CYTHON_MISSING[module] = "not built" if not_built else str(exc)
        return None


# Not a kernel, but show_config reads it whenever the backend counts as built.
cython_kernel("_openmp", "openmp_enabled")


def register(family, *, numba, reference, cython=None, auto=None):
    """Register the implementations of ``family`` (``cython`` None: not built).

    ``auto``: the backend order ``backend="auto"`` tries for this family, where
    a benchmark measured one faster (give the measurement beside the call);
    None keeps ``_config.AUTO_BACKEND_ORDER``.
    """
    implementations = {"numba": numba, "reference": reference}
    if cython is not None:
        implementations["cython"] = cython
    _REGISTRY[family] = implementations
    if auto is not None:
        set_auto_preference(family, auto)


def set_auto_preference(family, order):
    """Record the backend order that benchmarks showed fastest for ``family``."""
    order = tuple(order)
    unknown = [name for name in order if name not in BACKENDS]
    if unknown:
        raise ValueError(f"backend == {unknown[0]!r}, must be one of {BACKENDS}.")
    _AUTO_PREFERENCE[family] = order


def cython_status():
    """``(available, reason)`` of the compiled Cython extensions.

    The backend is available when every extension a family asked for imports
    (setup.py builds all of them or none): ``(True, "built")``; otherwise the
    reason says whether they were not built or do not load.
    """
    broken = {module: why for module, why in _CYTHON_MISSING.items() if why != "not built"}
    if broken:
        details = "; ".join(f"{module}: {why}" for module, why in sorted(broken.items()))
        return False, (f"installed but does not load ({details}); every model runs on Numba. "
                       "Reinstall fastcf to rebuild it")
    if _CYTHON_MISSING:
        return False, CYTHON_NOT_BUILT
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
