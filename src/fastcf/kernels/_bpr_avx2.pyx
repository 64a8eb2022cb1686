# distutils: extra_compile_args = -fno-math-errno -fno-trapping-math -fassociative-math -fno-signed-zeros
"""``_bpr`` compiled for x86-64 CPUs with AVX2 and FMA (setup.py adds the flags);
``kernels.bpr`` imports it instead of ``_bpr`` on a CPU that has both."""

include "_bpr.pxi"
