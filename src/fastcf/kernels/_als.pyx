# distutils: extra_compile_args = -fno-math-errno -fno-trapping-math -fassociative-math -fno-signed-zeros
"""Cython twin of ``als_nb``: implicit-ALS per-row solves (conjugate gradient or Cholesky).

Each row is solved alone, in the factors' dtype, by one OpenMP thread, so the
result does not depend on the thread count. This module and its AVX2 build
``_als_avx2`` (the body of both is ``_als.pxi``) are compiled with
reassociation allowed (the distutils line above) so that gcc vectorises the
dot products, as Numba's fastmath does.
"""

include "_als.pxi"
