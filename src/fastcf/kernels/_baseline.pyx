"""Cython twins of ``baseline_nb``: an ALS half-sweep and an SGD epoch of the bias model."""

from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int32_t, int64_t

ctypedef fused index_t:
    int32_t
    int64_t


def bias_sweep(const index_t[::1] indptr, const index_t[::1] indices,
               const floating[::1] data, double mu, const double[::1] other_bias,
               double reg, double[::1] out, int n_threads):
    cdef Py_ssize_t row, j, n_rows = indptr.shape[0] - 1
    cdef double total
    with nogil:
        for row in prange(n_rows, num_threads=n_threads, schedule="static"):
            # "total = total + ..." (not "+=") keeps total thread-private:
            # Cython would turn an in-place add into a cross-row reduction.
            total = 0.0
            for j in range(indptr[row], indptr[row + 1]):
                total = total + (data[j] - mu - other_bias[indices[j]])
            out[row] = total / (reg + (indptr[row + 1] - indptr[row]))


def bias_sgd(const index_t[::1] users, const index_t[::1] items, const floating[::1] ratings,
             double mu, double[::1] user_bias, double[::1] item_bias, double lr, double reg):
    cdef Py_ssize_t t, u, i
    cdef double err
    with nogil:
        for t in range(ratings.shape[0]):
            u, i = users[t], items[t]
            err = ratings[t] - (mu + user_bias[u] + item_bias[i])
            user_bias[u] += lr * (err - reg * user_bias[u])
            item_bias[i] += lr * (err - reg * item_bias[i])
