# distutils: extra_compile_args = -fno-math-errno -fno-trapping-math -fassociative-math -fno-signed-zeros
"""``_mf`` compiled for x86-64 CPUs with AVX2 and FMA (setup.py adds the flags).

The same source (``_mf.pxi``); ``kernels`` imports this build instead of
``_mf`` when the CPU has both features: gcc then updates 8 float32 factors
per instruction with fused multiply-adds instead of 4 with SSE2 (k=100
float32, 1 thread: serial 18.0 vs 15.4, blocked 23.5 vs 16.6 M updates/s).
"""

include "_mf.pxi"
