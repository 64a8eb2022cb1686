"""Cython twin of ``dp_sgd_nb``: DP-SGD steps of matrix factorization.

The same three loops (the batch's users in parallel, OpenMP dynamic schedule;
then ``n_threads`` contiguous item ranges, each summing the batch's clipped
contributions into its own rows in batch order and stepping them) and the same
eight-partial-sum dot product as the Numba kernels (see their module
docstring): 1 and N threads give the same bits.

The body is ``_dp_sgd.pxi``, also compiled as ``_dp_sgd_avx2`` (AVX2 and FMA,
setup.py adds the flags) for the CPUs that have them.
"""

include "_dp_sgd.pxi"
