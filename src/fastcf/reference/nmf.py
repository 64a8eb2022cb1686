"""Reference twin of the NMF epoch, straight from Surprise's ``NMF.sgd`` loop."""

import numpy as np


def nmf_epoch(indptr, indices, ratings, item_indptr, item_users, item_entries, user_order, pu,
              qi, bu, bi, mu, reg_pu, reg_qi, reg_bu, reg_bi, lr_bu, lr_bi, biased, est,
              user_num, user_den, item_num, item_den):
    k = pu.shape[1]
    user_num[:], user_den[:], item_num[:], item_den[:] = 0.0, 0.0, 0.0, 0.0
    loss = 0.0
    # Surprise's one loop over the ratings: the estimate from the factors of the
    # epoch's start and the biases of the moment, then the sums.
    for u in user_order:
        for e in range(int(indptr[u]), int(indptr[u + 1])):
            i = int(indices[e])
            dot = 0.0
            for f in range(k):
                dot += float(qi[i, f]) * float(pu[u, f])
            estimate = mu + bu[u] + bi[i] + dot if biased else dot
            err = float(ratings[e]) - estimate
            if biased:
                bu[u] += lr_bu * (err - reg_bu * bu[u])
                bi[i] += lr_bi * (err - reg_bi * bi[i])
            est[e] = estimate
            loss += err * err
            for f in range(k):
                user_num[u, f] += qi[i, f] * ratings[e]
                user_den[u, f] += qi[i, f] * estimate
                item_num[i, f] += pu[u, f] * ratings[e]
                item_den[i, f] += pu[u, f] * estimate
    for factors, num, den, counts, reg in (
            (pu, user_num, user_den, np.diff(indptr), reg_pu),
            (qi, item_num, item_den, np.diff(item_indptr), reg_qi)):
        for row in range(len(factors)):
            if counts[row] == 0:
                continue  # no ratings: nothing to fit, the factors stay
            for f in range(k):
                if factors[row, f] != 0:
                    den[row, f] += counts[row] * reg * factors[row, f]
                    factors[row, f] *= num[row, f] / den[row, f]
    return loss
