# distutils: extra_compile_args = -fno-math-errno -fno-trapping-math -fassociative-math -fno-signed-zeros
"""Cython twin of ``hybrid_nb``: epochs of the hybrid (LightFM-style) factor model.

The same driver (chunks handed to OpenMP threads one at a time), the same
SplitMix64 shuffles and negative draws, the same steps (representations in
per-chunk scratch, arithmetic in the embeddings' dtype) as the Numba kernel
(see its module docstring). Compiled with reassociation allowed (the distutils
line above), as ``_mf`` and ``_bpr`` are, so that gcc vectorises the row
loops; results equal the reference within rounding. ``_hybrid_avx2`` is the same
source (``_hybrid.pxi``) built for CPUs with AVX2 and FMA.
"""

include "_hybrid.pxi"
