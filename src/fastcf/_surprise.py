"""Surprise's view of an :class:`~fastcf.data.Interactions`: inner ids and orders.

Surprise numbers users and items by first appearance in the ratings as loaded
(its *inner ids*), keeps each user's ratings (``trainset.ur``) and each item's
(``trainset.ir``) in load order, and its SGD algorithms visit
``trainset.all_ratings()``: users by inner id, each user's ratings in load
order. Random initialisations are drawn with ``numpy.random.RandomState(seed)``
in inner-id order. A fastcf model's ``surprise_compat=True`` mode uses this
module to reproduce those orders from ``Interactions.input_order``, so its
predictions equal Surprise's for the same ``random_state``.
"""

from typing import NamedTuple

import numpy as np

__all__ = ["SurpriseOrder", "surprise_order", "surprise_rng"]


class SurpriseOrder(NamedTuple):
    """Surprise's orders of the entries of an ``Interactions`` (all int64).

    Entries are named by their position in ``by_user`` order.
    """

    #: (n_users,) Surprise's inner id of each fastcf user; (n_items,) of each item.
    user_inner: np.ndarray
    item_inner: np.ndarray
    #: (n_users,) the fastcf user of each inner id (``user_inner`` inverted); items alike.
    inner_users: np.ndarray
    inner_items: np.ndarray
    #: (nnz,) the entries in ``trainset.all_ratings()`` order.
    all_ratings: np.ndarray
    #: (nnz,) the entries by fastcf user, each user's in load order (``trainset.ur``):
    #: user ``u``'s are ``user_entries[by_user.indptr[u]:by_user.indptr[u + 1]]``.
    user_entries: np.ndarray
    #: (nnz,) the entries by fastcf item, each item's in load order (``trainset.ir``):
    #: item ``i``'s are ``item_entries[by_item.indptr[i]:by_item.indptr[i + 1]]``.
    item_entries: np.ndarray


def _first_seen_rank(codes, rows, n):
    """Rank of each code by the first row it appears in (codes without rows last)."""
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, codes, rows)
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(n, dtype=np.int64)
    return rank


def surprise_order(data):
    """Surprise's inner ids and rating orders for ``data`` (see :class:`SurpriseOrder`)."""
    rows = data.input_order
    users = data.entry_users().astype(np.int64)
    items = data.by_user.indices.astype(np.int64)
    user_inner = _first_seen_rank(users, rows, data.n_users)
    item_inner = _first_seen_rank(items, rows, data.n_items)
    return SurpriseOrder(
        user_inner=user_inner,
        item_inner=item_inner,
        inner_users=np.argsort(user_inner),
        inner_items=np.argsort(item_inner),
        all_ratings=np.lexsort((rows, user_inner[users])),
        user_entries=np.lexsort((rows, users)),
        item_entries=np.lexsort((rows, items)),
    )


def surprise_rng(seed):
    """The generator Surprise's ``get_rng(random_state)`` returns for an int or None.

    None is NumPy's global ``RandomState``, as in Surprise.
    """
    if seed is None:
        return np.random.mtrand._rand
    return np.random.RandomState(seed)
