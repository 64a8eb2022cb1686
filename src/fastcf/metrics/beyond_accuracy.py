"""Beyond-accuracy metrics: what is recommended rather than how well.

:func:`catalogue_coverage`, :func:`novelty`, :func:`popularity_bias`,
:func:`intra_list_diversity`. The conventions of ``recommended`` and
``per_user`` are those of :mod:`fastcf.metrics`.
"""

import numpy as np
import scipy.sparse as sp

from .._config import METRIC_BLOCK_ENTRIES
from .._validation import check_bool, check_int
from ..data import CSR
from ._checks import _check_item_range, _check_real, _check_recommended, _csr_parts, _result


def catalogue_coverage(recommended, n_items):
    r"""Catalogue coverage: the share of the catalogue recommended to anyone.

    .. math::

        \mathrm{coverage} = \frac{|\bigcup_u \mathrm{rec}_u|}{n_{items}}

    Parameters
    ----------
    recommended : array-like of int, shape (n_users, L)
        As for :func:`precision_at_k`; padding is ignored.
    n_items : int >= 1
        Catalogue size; every recommended item must lie in ``[0, n_items)``.

    Returns
    -------
    float
    """
    n_items = check_int("n_items", n_items, min_value=1)
    rec, valid = _check_recommended(recommended)
    _check_item_range("recommended", rec, n_items, "n_items")
    return np.unique(rec[valid]).size / n_items


def _check_popularity(item_popularity):
    arr = np.asarray(item_popularity)
    if arr.ndim != 1:
        raise ValueError(f"item_popularity.ndim == {arr.ndim}, must be 1 (one count per item).")
    _check_real("item_popularity", arr)
    if arr.size and arr.min() < 0:
        raise ValueError(f"item_popularity contains {arr.min()} (item "
                         f"{int(np.argmin(arr))}), must be >= 0.")
    return arr.astype(np.float64)


def _list_mean(recommended, item_values, per_user):
    """Mean of ``item_values`` over each non-empty list, or the mean of those means."""
    rec, valid = _check_recommended(recommended)
    _check_item_range("recommended", rec, item_values.size, "len(item_popularity)")
    length = valid.sum(axis=1)
    total = np.where(valid, item_values[np.where(valid, rec, 0)] if item_values.size else 0.0,
                     0.0).sum(axis=1)
    return _result(total / np.maximum(length, 1), length > 0, per_user,
                   "every recommendation list is empty")


def novelty(recommended, item_popularity, n_users, *, per_user=False):
    r"""Novelty: the mean self-information of the recommended items.

    .. math::

        \mathrm{nov}(i) = -\log_2 \frac{\max(\mathrm{pop}_i, 1)}{n_{users}},
        \qquad
        \mathrm{nov}_u = \frac{1}{|\mathrm{rec}_u|} \sum_{i \in \mathrm{rec}_u} \mathrm{nov}(i)

    An item with popularity 0 is treated as popularity 1 (self-information
    :math:`\log_2 n_{users}`): an item nobody interacted with is at least as
    novel as one seen once, and the logarithm stays finite.

    Parameters
    ----------
    recommended : array-like of int, shape (n_users_rec, L)
        As for :func:`precision_at_k`; padding is ignored.
    item_popularity : array-like of real, shape (n_items,)
        Number of training users who interacted with each item (e.g.
        ``Interactions.item_counts()``); ``0 <= pop <= n_users``.
    n_users : int >= 1
        Number of training users.
    per_user : bool

    Returns
    -------
    float, or ndarray of float64, shape (n_users_rec,)
        The mean of :math:`\mathrm{nov}_u` over users with a non-empty list
        (NaN and a ``RuntimeWarning`` when every list is empty), or each
        user's value (NaN for an empty list).
    """
    per_user = check_bool("per_user", per_user)
    n_users = check_int("n_users", n_users, min_value=1)
    popularity = _check_popularity(item_popularity)
    if popularity.size and popularity.max() > n_users:
        raise ValueError(f"item_popularity contains {popularity.max()} (item "
                         f"{int(np.argmax(popularity))}), must be <= n_users == {n_users}.")
    information = -np.log2(np.maximum(popularity, 1.0) / n_users)
    return _list_mean(recommended, information, per_user)


def popularity_bias(recommended, item_popularity, *, per_user=False):
    r"""Average popularity of the recommended items.

    .. math::

        \mathrm{pb}_u = \frac{1}{|\mathrm{rec}_u|} \sum_{i \in \mathrm{rec}_u} \mathrm{pop}_i

    Parameters
    ----------
    recommended : array-like of int, shape (n_users, L)
        As for :func:`precision_at_k`; padding is ignored.
    item_popularity : array-like of real >= 0, shape (n_items,)
        E.g. each item's number of training interactions.
    per_user : bool

    Returns
    -------
    float, or ndarray of float64, shape (n_users,)
        Mean over users with a non-empty list (NaN and a ``RuntimeWarning``
        when there is none), or each user's value (NaN for an empty list).
    """
    per_user = check_bool("per_user", per_user)
    return _list_mean(recommended, _check_popularity(item_popularity), per_user)


def _check_similarity(item_similarity):
    """A dense 2-d array (read as is) or an off-diagonal float64 scipy CSR copy."""
    name = "item_similarity"
    if isinstance(item_similarity, CSR) or sp.issparse(item_similarity):
        if isinstance(item_similarity, CSR):
            indptr, indices, data, shape = _csr_parts(name, item_similarity)
            data = np.asarray(data)
            if data.ndim != 1 or len(data) != len(indices):
                raise ValueError(f"{name}.data must be 1-d, as long as {name}.indices.")
            rows = np.repeat(np.arange(shape[0], dtype=np.int64), np.diff(indptr))
            cols = indices.astype(np.int64)
        else:
            if item_similarity.ndim != 2:
                raise ValueError(f"{name} is a {item_similarity.ndim}-d sparse array, must be 2-d.")
            coo = item_similarity.tocoo()
            rows, cols, data, shape = coo.row, coo.col, coo.data, coo.shape
        if shape[0] != shape[1]:
            raise ValueError(f"{name}.shape == {tuple(shape)}, must be square (n_items, n_items).")
        _check_real(f"{name}.data", data)
        off = rows != cols
        matrix = sp.csr_matrix((data[off].astype(np.float64), (rows[off], cols[off])),
                               shape=shape)  # a new matrix: repeated entries summed
        return matrix, shape[0]
    arr = np.asarray(item_similarity)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name}.shape == {arr.shape}, must be square (n_items, n_items).")
    _check_real(name, arr)
    return arr, arr.shape[0]


def intra_list_diversity(recommended, item_similarity, *, per_user=False):
    r"""Intra-list diversity: mean dissimilarity of the pairs of items in a list.

    .. math::

        \mathrm{ILD}_u = \frac{1}{\binom{n_u}{2}} \sum_{\{i, j\} \subseteq \mathrm{rec}_u}
            \left(1 - \frac{s_{ij} + s_{ji}}{2}\right)
        = 1 - \frac{1}{n_u (n_u - 1)} \sum_{i \ne j \in \mathrm{rec}_u} s_{ij}

    over the unordered pairs of distinct items of the user's list (length
    :math:`n_u`, padding ignored). The similarity matrix is read at both
    :math:`[i, j]` and :math:`[j, i]` and the two averaged, so an asymmetric
    matrix (e.g. each item's top-k neighbours) gives an answer that does not
    depend on the order of the list. Values are used as given: similarities
    outside [0, 1] (e.g. negative Pearson) give ILD outside [0, 1].

    Parameters
    ----------
    recommended : array-like of int, shape (n_users, L)
        As for :func:`precision_at_k`.
    item_similarity : ndarray (n_items, n_items), scipy.sparse matrix or fastcf.data.CSR
        Dense, or sparse with missing entries meaning similarity 0 (e.g. the
        top-k neighbours from ``fastcf.similarity(data, axis="item", k=...)``).
        The diagonal is never read.
    per_user : bool

    Returns
    -------
    float, or ndarray of float64, shape (n_users,)
        Mean over users whose list holds at least 2 items (NaN and a
        ``RuntimeWarning`` when none does), or each user's value (NaN for
        lists of fewer than 2 items).
    """
    per_user = check_bool("per_user", per_user)
    similarity, n_items = _check_similarity(item_similarity)
    rec, valid = _check_recommended(recommended)
    _check_item_range("recommended", rec, n_items, "item_similarity.shape[0]")
    n_users, length = rec.shape
    size = valid.sum(axis=1)
    items = np.where(valid, rec, 0)
    if sp.issparse(similarity):
        lists = sp.csr_matrix((np.ones(int(size.sum())), rec[valid],
                               np.concatenate([[0], np.cumsum(size)])), shape=(n_users, n_items))
        total = np.asarray((lists @ similarity).multiply(lists).sum(axis=1),
                           dtype=np.float64).ravel()
    else:
        total = np.zeros(n_users, dtype=np.float64)
        pairs = valid[:, :, None] & valid[:, None, :] & ~np.eye(length, dtype=bool)
        step = max(1, METRIC_BLOCK_ENTRIES // max(length * length, 1))  # blocks of users
        for start in range(0, n_users, step):
            block = similarity[items[start:start + step, :, None],
                               items[start:start + step, None, :]].astype(np.float64)
            total[start:start + step] = np.where(pairs[start:start + step], block,
                                                 0.0).sum(axis=(1, 2))
    return _result(1.0 - total / np.maximum(size * (size - 1), 1), size >= 2, per_user,
                   "no list holds 2 or more items")
