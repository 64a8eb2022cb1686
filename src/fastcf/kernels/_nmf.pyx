# distutils: extra_compile_args = -fno-math-errno -fno-trapping-math -fassociative-math -fno-signed-zeros
"""Cython twin of ``nmf_nb``: one epoch of NMF's multiplicative updates.

Each user's and each item's sums are made by one OpenMP thread in a fixed
order, so the result does not depend on the thread count. Reassociation is
allowed (the distutils line above) so that gcc vectorises the dot products,
as Numba's fastmath does.
"""

from cython.parallel cimport prange
from libc.stdint cimport int32_t, int64_t

ctypedef fused index_t:
    int32_t
    int64_t


cdef inline double _dot(const double[:, ::1] pu, const double[:, ::1] qi, Py_ssize_t u,
                        Py_ssize_t i) noexcept nogil:
    cdef Py_ssize_t f
    cdef double dot = 0.0
    for f in range(pu.shape[1]):
        dot = dot + qi[i, f] * pu[u, f]
    return dot


cdef inline void _update_row(double[:, ::1] factors, const double[:, ::1] num,
                             double[:, ::1] den, Py_ssize_t row, Py_ssize_t count,
                             double reg) noexcept nogil:
    """Surprise's update of one row's factors from its sums (rows without ratings kept)."""
    cdef Py_ssize_t f
    if count == 0:
        return
    for f in range(factors.shape[1]):
        if factors[row, f] != 0.0:
            den[row, f] = den[row, f] + count * reg * factors[row, f]
            factors[row, f] = factors[row, f] * (num[row, f] / den[row, f])


def nmf_epoch(const index_t[::1] indptr, const index_t[::1] indices, const double[::1] ratings,
              const index_t[::1] item_indptr, const index_t[::1] item_users,
              const index_t[::1] item_entries, const index_t[::1] user_order,
              double[:, ::1] pu, double[:, ::1] qi, double[::1] bu, double[::1] bi, double mu,
              double reg_pu, double reg_qi, double reg_bu, double reg_bi, double lr_bu,
              double lr_bi, bint biased, double[::1] est, double[:, ::1] user_num,
              double[:, ::1] user_den, double[:, ::1] item_num, double[:, ::1] item_den,
              int n_threads):
    cdef Py_ssize_t n_users = pu.shape[0], n_items = qi.shape[0], k = pu.shape[1]
    cdef Py_ssize_t u, i, e, p, f, position
    cdef double r, estimate, err, loss = 0.0
    with nogil:
        if biased:
            for u in prange(n_users, num_threads=n_threads, schedule="static"):
                for e in range(indptr[u], indptr[u + 1]):
                    est[e] = _dot(pu, qi, u, indices[e])
            # the biases move rating by rating, in visiting order: one thread
            for position in range(user_order.shape[0]):
                u = user_order[position]
                for e in range(indptr[u], indptr[u + 1]):
                    i = indices[e]
                    estimate = mu + bu[u] + bi[i] + est[e]
                    err = ratings[e] - estimate
                    bu[u] += lr_bu * (err - reg_bu * bu[u])
                    bi[i] += lr_bi * (err - reg_bi * bi[i])
                    est[e] = estimate
        # The user sums read qi and the item sums pu as they were when the epoch
        # began: the items are updated only after every user sum, the users after
        # every item sum. "x = x + ..." (not "+=") keeps Cython from making a
        # cross-iteration reduction of a variable.
        for u in prange(n_users, num_threads=n_threads, schedule="static"):
            for f in range(k):
                user_num[u, f] = 0.0
                user_den[u, f] = 0.0
            for e in range(indptr[u], indptr[u + 1]):
                i = indices[e]
                if not biased:
                    est[e] = _dot(pu, qi, u, i)
                r = ratings[e]
                estimate = est[e]
                for f in range(k):
                    user_num[u, f] = user_num[u, f] + qi[i, f] * r
                    user_den[u, f] = user_den[u, f] + qi[i, f] * estimate
        for i in prange(n_items, num_threads=n_threads, schedule="static"):
            for f in range(k):
                item_num[i, f] = 0.0
                item_den[i, f] = 0.0
            for p in range(item_indptr[i], item_indptr[i + 1]):
                u = item_users[p]
                e = item_entries[p]
                r = ratings[e]
                estimate = est[e]
                for f in range(k):
                    item_num[i, f] = item_num[i, f] + pu[u, f] * r
                    item_den[i, f] = item_den[i, f] + pu[u, f] * estimate
            _update_row(qi, item_num, item_den, i, item_indptr[i + 1] - item_indptr[i], reg_qi)
        for u in prange(n_users, num_threads=n_threads, schedule="static"):
            _update_row(pu, user_num, user_den, u, indptr[u + 1] - indptr[u], reg_pu)
        for position in range(user_order.shape[0]):
            u = user_order[position]
            for e in range(indptr[u], indptr[u + 1]):
                err = ratings[e] - est[e]
                loss += err * err
    return loss
