"""``_dp_sgd`` compiled for x86-64 CPUs with AVX2 and FMA (setup.py adds the flags).

The same source (``_dp_sgd.pxi``); ``kernels.dp_sgd`` imports this build instead
of ``_dp_sgd`` when the CPU has both features (8 float32 lanes per instruction
and fused multiply-adds instead of 4 with SSE2).
"""

include "_dp_sgd.pxi"
