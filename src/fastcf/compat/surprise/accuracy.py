"""Accuracy of a list of predictions: ``rmse``, ``mse``, ``mae``, ``fcp`` (Surprise's).

Each takes the :class:`Prediction` list ``test`` returns (any
``(uid, iid, r_ui, est, details)`` tuples), raises ValueError when it is
empty, and prints its value when ``verbose``. Values equal Surprise's bit for
bit (same arithmetic, same order), computed on arrays.
"""

from operator import itemgetter

import numpy as np
import pandas as pd

__all__ = ["fcp", "mae", "mse", "rmse"]

#: Rows of one user's pair comparisons at a time in ``fcp``.
_FCP_BLOCK = 1024


def _squared_errors(predictions):
    true_r, est = _columns(predictions)
    return (true_r - est) ** 2


def _columns(predictions):
    if not predictions:
        raise ValueError("Prediction list is empty.")
    n = len(predictions)
    true_r = np.fromiter(map(itemgetter(2), predictions), dtype=np.float64, count=n)
    est = np.fromiter(map(itemgetter(3), predictions), dtype=np.float64, count=n)
    return true_r, est


def rmse(predictions, verbose=True):
    r"""Root mean squared error, :math:`\sqrt{\frac{1}{|\hat R|} \sum (r_{ui} - \hat r_{ui})^2}`."""
    rmse_ = np.sqrt(np.mean(_squared_errors(predictions)))
    if verbose:
        print(f"RMSE: {rmse_:1.4f}")
    return rmse_


def mse(predictions, verbose=True):
    r"""Mean squared error, :math:`\frac{1}{|\hat R|} \sum (r_{ui} - \hat r_{ui})^2`."""
    mse_ = np.mean(_squared_errors(predictions))
    if verbose:
        print(f"MSE: {mse_:1.4f}")
    return mse_


def mae(predictions, verbose=True):
    r"""Mean absolute error, :math:`\frac{1}{|\hat R|} \sum |r_{ui} - \hat r_{ui}|`."""
    true_r, est = _columns(predictions)
    mae_ = np.mean(np.abs(true_r - est))
    if verbose:
        print(f"MAE:  {mae_:1.4f}")
    return mae_


def fcp(predictions, verbose=True):
    """Fraction of concordant pairs (Koren & Sill 2011, section 5.2).

    Per user, the pairs of predictions ordered as their true ratings are
    (concordant, :math:`n_c`) or not (:math:`n_d`); the means of :math:`n_c`
    and :math:`n_d` over the users that have any (Surprise's averaging) give
    :math:`n_c / (n_c + n_d)`.

    Raises
    ------
    ValueError
        Empty predictions, or no pair of predictions of one user with
        different true ratings.
    """
    true_r, est = _columns(predictions)
    users, _ = pd.factorize(pd.Series([p[0] for p in predictions], dtype=object))
    order = np.argsort(users, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(users))]
    nc, nd = [], []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        rows = order[start:stop]
        r, e = true_r[rows], est[rows]
        concordant = discordant = 0
        for first in range(0, len(rows), _FCP_BLOCK):  # bounded memory for long lists
            ri, ei = r[first:first + _FCP_BLOCK, None], e[first:first + _FCP_BLOCK, None]
            concordant += int(np.count_nonzero((ei > e) & (ri > r)))
            discordant += int(np.count_nonzero((ei >= e) & (ri < r)))
        if concordant:
            nc.append(concordant)
        if discordant:
            nd.append(discordant)
    nc_mean = np.mean(nc) if nc else 0
    nd_mean = np.mean(nd) if nd else 0
    if nc_mean + nd_mean == 0:
        raise ValueError("cannot compute fcp on this list of prediction. Does every user have "
                         "at least two predictions?")
    fcp_ = nc_mean / (nc_mean + nd_mean)
    if verbose:
        print(f"FCP:  {fcp_:1.4f}")
    return fcp_
