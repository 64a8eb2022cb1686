"""Cython twin of ``gram_nb``: the Gram matrix of a sparse matrix.

One OpenMP thread per output row (handed out dynamically), each thread with
its own float64 accumulator over the columns; every row is summed in one fixed
order, so the result does not depend on the thread count. The steps are those
of the Numba kernel, described in its module docstring.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.stdint cimport int64_t
from libc.stdlib cimport calloc, free


def gram(const int64_t[::1] c_indptr, const int64_t[::1] c_indices, const double[::1] c_data,
         const int64_t[::1] r_indptr, const int64_t[::1] r_indices, const double[::1] r_data,
         floating[:, ::1] out, bint upper, int n_threads):
    """Same contract as ``kernels.gram.run_gram`` (arrays already checked)."""
    cdef Py_ssize_t n_cols = out.shape[0]
    cdef Py_ssize_t i, a, b, j, u, first
    cdef double weight
    cdef double* acc = NULL
    cdef int failed = 0
    cdef int* failed_flag = &failed   # written through: a plain assignment would be thread-private
    cdef bint bad = False
    # O(1) guards against writing out of bounds; the wrapper validates the rest.
    if out.shape[1] != n_cols or c_indptr.shape[0] != n_cols + 1:
        raise ValueError("out must be (n_cols, n_cols) and c_indptr have n_cols + 1 entries.")
    if c_indices.shape[0] != c_data.shape[0] or r_indices.shape[0] != r_data.shape[0]:
        raise ValueError("indices and data lengths differ.")
    if n_cols == 0:
        return
    if n_threads < 1:
        n_threads = 1
    with nogil, parallel(num_threads=n_threads):
        acc = <double*>calloc(n_cols, sizeof(double))
        bad = acc == NULL
        if bad:
            failed_flag[0] = 1
        for i in prange(n_cols, schedule="dynamic", chunksize=4):
            if bad:
                continue
            first = i if upper else 0
            for a in range(c_indptr[i], c_indptr[i + 1]):
                u = c_indices[a]
                weight = c_data[a]
                for b in range(r_indptr[u], r_indptr[u + 1]):
                    j = r_indices[b]
                    if j >= first:
                        acc[j] = acc[j] + weight * r_data[b]
            for j in range(first, n_cols):
                out[i, j] = <floating>acc[j]
                acc[j] = 0.0
        free(acc)
    if failed:
        raise MemoryError(f"could not allocate the per-thread accumulator for n_cols == {n_cols}.")
