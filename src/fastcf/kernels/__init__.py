"""Kernel functions on raw CSR arrays, for people who use fastcf as a backend.

The functions here are checked wrappers; the compiled kernels behind them
(``*_nb`` modules for Numba, ``_*.pyx`` extensions for Cython) are private.
Importing this package registers every implementation with ``_backends``.
"""

import importlib

from .. import _backends
from ..reference import adam as _adam_reference
from ..reference import baseline as _baseline_reference
from ..reference import mf as _mf_reference
from ..reference import neighbors as _neighbors_reference
from ..reference import scoring as _scoring_reference
from ..reference import similarity as _similarity_reference
from ..reference import topk as _topk_reference
from . import adam_nb, baseline_nb, mf_nb, neighbors_nb, scoring_nb, similarity_nb, topk_nb
from .adam import FAMILY as _SPARSE_ADAM
from .baseline import FAMILY as _BIAS_SWEEP
from .baseline import bias_sweep
from .mf import FAMILY as _SGD_EPOCH
from .mf import FAMILY_BLOCKED as _SGD_BLOCKED
from .mf import FAMILY_HOGWILD as _SGD_HOGWILD
from .mf import FAMILY_SHUFFLE as _SHUFFLE_RATINGS
from .mf import sgd_epoch
from .neighbors import FAMILY as _NEIGHBORHOOD_SUMS
from .neighbors import neighborhood_sums
from .pairwise import DENSE as _SIM_DENSE
from .pairwise import TOPK as _SIM_TOPK
from .pairwise import similarity, similarity_to
from .scoring import FAMILY as _SCORED_TOPK
from .scoring import scored_topk
from .topk import FAMILY as _TOPK
from .topk import topk


def _cython(module, name):
    """A function of a Cython extension, or None when it was not built."""
    try:
        return getattr(importlib.import_module(f"{__name__}.{module}"), name)
    except ImportError:
        return None


def _cpu_has(*features):
    """Whether this CPU has every named feature (LLVM's names, as Numba sees them)."""
    from llvmlite import binding

    host = binding.get_host_cpu_features()
    return all(host.get(feature, False) for feature in features)


def _mf_build():
    """The build of the Cython MF kernels for this CPU: ``_mf_avx2`` where setup.py
    made it and the CPU has AVX2 and FMA (~1.2-1.4x faster epochs), else ``_mf``."""
    if _cpu_has("avx2", "fma") and _cython("_mf_avx2", "sgd_epoch") is not None:
        return "_mf_avx2"
    return "_mf"


#: Which build of ``_mf.pxi`` the "cython" backend runs (``show_config`` reports it).
MF_CYTHON_BUILD = _mf_build()


# family: (numba, cython, reference). The similarity reference works on raw
# rows (dict loops), so kernels.pairwise calls it with its own convention.
_IMPLEMENTATIONS = {
    _BIAS_SWEEP: (baseline_nb.bias_sweep, _cython("_baseline", "bias_sweep"),
                  _baseline_reference.bias_sweep),
    _TOPK: (topk_nb.topk, _cython("_topk", "topk"), _topk_reference.topk),
    _SIM_DENSE: (similarity_nb.similarity_dense, _cython("_similarity", "similarity_dense"),
                 _similarity_reference.similarity),
    _SIM_TOPK: (similarity_nb.similarity_topk, _cython("_similarity", "similarity_topk"),
                _similarity_reference.similarity),
    _NEIGHBORHOOD_SUMS: (neighbors_nb.neighborhood_sums,
                         _cython("_neighbors", "neighborhood_sums"),
                         _neighbors_reference.neighborhood_sums),
    _SCORED_TOPK: (scoring_nb.scored_topk, _cython("_scoring", "scored_topk"),
                   _scoring_reference.scored_topk),
    _SGD_EPOCH: (mf_nb.sgd_epoch, _cython(MF_CYTHON_BUILD, "sgd_epoch"),
                 _mf_reference.sgd_epoch),
    _SGD_BLOCKED: (mf_nb.sgd_epoch_blocked, _cython(MF_CYTHON_BUILD, "sgd_epoch_blocked"),
                   _mf_reference.sgd_epoch_blocked),
    _SGD_HOGWILD: (mf_nb.sgd_epoch_hogwild, _cython(MF_CYTHON_BUILD, "sgd_epoch_hogwild"),
                   _mf_reference.sgd_epoch_hogwild),
    _SHUFFLE_RATINGS: (mf_nb.shuffle_ratings, _cython(MF_CYTHON_BUILD, "shuffle_ratings"),
                       _mf_reference.shuffle_ratings),
    _SPARSE_ADAM: (adam_nb.sparse_adam_update, _cython("_adam", "sparse_adam_update"),
                   _adam_reference.sparse_adam_update),
}
for _family, (_numba, _cy, _ref) in _IMPLEMENTATIONS.items():
    _backends.register(_family, "numba", _numba)
    _backends.register(_family, "reference", _ref)
    if _cy is not None:
        _backends.register(_family, "cython", _cy)

# "auto" order where benchmarks/ measured a winner (2 cores, same run):
# - topk, (1024 x 20k) float32 block, k=10: Cython 4.3 ms vs Numba 4.8 ms (2 threads),
#   7.5 vs 8.5 ms (1 thread), and no JIT cost on a first recommend;
# - similarity, item-item top-40 on 1.74M ratings: Cython 0.38 s vs Numba 0.74 s
#   (pearson), 0.25 vs 0.47 s (cosine_all): its finalisation screens pairs
#   against the heap floor without sqrt or division, and prefetches;
# - neighborhood_sums, 20k predictions on synthetic:100k (2 threads): Cython
#   0.045 / 0.031 s vs Numba 0.051 / 0.048 s (item-based / user-based);
# - scored_topk, ItemKNN top-10 of 60k users (1.74M ratings, 40 neighbours per
#   item, 2 threads): Cython 0.43 s vs Numba 0.63 s.
# - the SGD epochs, when the Cython MF kernels are the AVX2 build (mf_peers.py,
#   k=100 float32, 1.39M ratings, M updates/s Cython vs Numba): serial 20.1 vs
#   16.4, blocked 22.7 vs 19.7 (1 thread) and 45.4 vs 36.0 (2 threads), hogwild
#   45.3 vs 38.5 (2 threads): gcc's AVX2 + FMA loops beat LLVM's here.
# The default order (Numba first) stays for
# - bias_sweep: Numba 1.34 ms vs Cython 1.47 ms (2 threads);
# - the SGD epochs with the plain (SSE2) Cython build: serial Numba 16.7 vs
#   Cython 15.6 M updates/s, blocked 1 thread 19.9 vs 17.0 (same setting).
_CYTHON_FIRST = [_TOPK, _SIM_DENSE, _SIM_TOPK, _NEIGHBORHOOD_SUMS, _SCORED_TOPK]
if MF_CYTHON_BUILD == "_mf_avx2":
    _CYTHON_FIRST += [_SGD_EPOCH, _SGD_BLOCKED, _SGD_HOGWILD, _SHUFFLE_RATINGS]
for _family in _CYTHON_FIRST:
    _backends.set_auto_preference(_family, ("cython", "numba", "reference"))

__all__ = ["bias_sweep", "neighborhood_sums", "scored_topk", "sgd_epoch", "similarity",
           "similarity_to", "topk"]
