"""Numba kernel: the Gram matrix of a sparse matrix (see ``kernels.gram``).

Row ``i`` of the output is built from column ``i`` of ``X``: every row ``u``
that has column ``i`` adds ``x_ui * X_u`` to a float64 accumulator over the
columns, which is then written to ``out[i]`` and cleared. Each ``prange``
iteration owns a chunk of output rows and one accumulator, and every row is
summed in one fixed order (the rows of column ``i`` ascending, each row's
entries in stored order), so the result does not depend on the thread count.
"""

import numba
import numpy as np

from .._config import NUMBA_PARALLEL_JIT

#: Output rows per prange iteration (one accumulator is allocated per chunk).
CHUNK = 16


@numba.njit(**NUMBA_PARALLEL_JIT)
def gram(c_indptr, c_indices, c_data, r_indptr, r_indices, r_data, out, upper):
    """Same contract as ``kernels.gram.run_gram`` (arrays already checked)."""
    n_cols = out.shape[0]
    n_chunks = (n_cols + CHUNK - 1) // CHUNK
    for chunk in numba.prange(n_chunks):
        acc = np.zeros(n_cols, dtype=np.float64)
        for i in range(chunk * CHUNK, min(n_cols, (chunk + 1) * CHUNK)):
            first = i if upper else 0
            for a in range(c_indptr[i], c_indptr[i + 1]):
                u = c_indices[a]
                weight = np.float64(c_data[a])
                for b in range(r_indptr[u], r_indptr[u + 1]):
                    j = r_indices[b]
                    if j >= first:
                        acc[j] += weight * np.float64(r_data[b])
            for j in range(first, n_cols):
                out[i, j] = acc[j]
                acc[j] = 0.0
