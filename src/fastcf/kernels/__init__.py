"""Kernel functions on raw CSR arrays, for people who use fastcf as a backend.

The functions here are checked wrappers; the compiled kernels behind them
(``*_nb`` modules for Numba, ``_*.pyx`` extensions for Cython) are private.
Each family's wrapper module (``kernels/<family>.py``) registers its Numba,
Cython and reference implementations with ``kernels._registry`` when imported.
"""

from . import adam  # noqa: F401 (registers the lazy Adam family)
from .baseline import bias_sgd, bias_sweep
from .gram import gram
from .mf import MF_CYTHON_BUILD, sgd_epoch  # noqa: F401 (MF_CYTHON_BUILD: show_config)
from .neighbors import neighborhood_sums
from .scoring import scored_topk
from .similarity import similarity, similarity_to
from .topk import factor_topk, topk

__all__ = ["bias_sgd", "bias_sweep", "factor_topk", "gram", "neighborhood_sums", "scored_topk",
           "sgd_epoch", "similarity", "similarity_to", "topk"]

