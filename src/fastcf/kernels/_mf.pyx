# distutils: extra_compile_args = -fno-math-errno -fno-trapping-math -fassociative-math -fno-signed-zeros
"""Cython twin of ``mf_nb``: SGD epochs of biased matrix factorization.

The same three schedules, the same update (``_run_steps``: ratings streamed in
array order, factor rows prefetched ahead, dot product and updates in the
factors' dtype, loss in float64) and the same SplitMix64 shuffles of the
rating arrays, rounds and cells as the Numba kernels (see their module
docstring), with OpenMP threads over the cells of a round (blocked) or the
chunks of the ratings (hogwild).

This module and its AVX2 build ``_mf_avx2`` (the body of both is ``_mf.pxi``)
alone are compiled with reassociation allowed (the distutils line above), as
Numba's fastmath does: gcc then vectorises the dot product (5.2 vs
3.4 M updates/s serial, k=100 float32). Results stay deterministic and equal
the reference within rounding, not bit for bit.
"""

include "_mf.pxi"
