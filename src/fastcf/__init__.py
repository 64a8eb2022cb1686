"""fastcf: fast collaborative filtering on Numba and Cython kernels."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fastcf")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

from .data import Interactions

__all__ = ["Interactions", "__version__"]
