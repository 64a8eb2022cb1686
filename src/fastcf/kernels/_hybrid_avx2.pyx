# distutils: extra_compile_args = -fno-math-errno -fno-trapping-math -fassociative-math -fno-signed-zeros
"""``_hybrid`` compiled for x86-64 CPUs with AVX2 and FMA (setup.py adds the flags);
``kernels.hybrid`` imports it instead of ``_hybrid`` on a CPU that has both."""

include "_hybrid.pxi"
