# distutils: extra_compile_args = -fno-math-errno -fno-trapping-math -fassociative-math -fno-signed-zeros
"""Cython twin of ``bpr_nb``: epochs of Bayesian Personalised Ranking.

The same driver (rounds of cells, OpenMP threads over the cells of a round),
the same SplitMix64 shuffles and negative draws, the same step (factor rows
prefetched ahead, arithmetic in the factors' dtype) as the Numba kernel (see
its module docstring). Compiled with reassociation allowed (the distutils
line above), as ``_mf`` is, so that gcc vectorises the dot product; results
equal the reference within rounding.
"""

include "_bpr.pxi"
