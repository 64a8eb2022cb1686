"""Kernel functions on raw CSR arrays, for people who use fastcf as a backend.

The functions here are checked wrappers; the compiled kernels behind them
(``*_nb`` modules for Numba, ``_*.pyx`` extensions for Cython) are private.
Importing this package registers every implementation with ``_backends``.
"""

from .. import _backends
from ..reference import baseline as _baseline_reference
from . import baseline_nb as _baseline_nb
from .baseline import FAMILY as _BIAS_SWEEP
from .baseline import bias_sweep

_backends.register(_BIAS_SWEEP, "numba", _baseline_nb.bias_sweep)
_backends.register(_BIAS_SWEEP, "reference", _baseline_reference.bias_sweep)
try:
    from . import _baseline as _baseline_cy
except ImportError:  # built without the Cython extensions: "cython" is unavailable
    pass
else:
    _backends.register(_BIAS_SWEEP, "cython", _baseline_cy.bias_sweep)

__all__ = ["bias_sweep"]
