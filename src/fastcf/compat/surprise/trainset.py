"""The :class:`Trainset`: Surprise's training set, backed by arrays.

Surprise numbers users and items by first appearance (*inner ids*) and keeps
each user's ratings (``ur``) and each item's (``ir``) in load order. Here the
ratings are kept as arrays in load order; ``ur``, ``ir`` and the inner-to-raw
maps are built on first use, and :attr:`Trainset.interactions` is the
:class:`fastcf.Interactions` the algorithms fit, whose user and item ids are
the inner ids (so a fitted model's arrays are in Surprise's inner-id order).
"""

import warnings
from collections import defaultdict

import numpy as np
import pandas as pd

from ...data import Interactions
from .utils import gc_paused

__all__ = ["Trainset"]

#: Users per block of ``build_anti_testset``'s boolean mask (memory: block x n_items bytes).
_ANTI_BLOCK_CELLS = 1 << 24


def _codes(ids, name):
    """Inner ids (first-appearance codes) of raw ``ids`` and the raw id of each code."""
    if not isinstance(ids, np.ndarray):
        # an object array keeps each id's Python type (ints stay ints, "1" stays "1")
        ids = np.fromiter(ids, dtype=object, count=len(ids))
    codes, uniques = pd.factorize(ids, sort=False)
    if len(codes) and codes.min() < 0:
        raise ValueError(f"{name} ids contain {int(np.sum(codes < 0))} missing values "
                         "(None / NaN); drop or fill them first.")
    return codes.astype(np.int64), np.asarray(uniques)


def _lookup(mapping, key, message):
    try:
        return mapping[key]
    except (KeyError, TypeError):  # TypeError: an unhashable key
        raise ValueError(message) from None


class Trainset:
    """A training set: the ratings with Surprise's inner ids and orders.

    Build one with :meth:`DatasetAutoFolds.build_full_trainset`,
    :meth:`Dataset.construct_trainset` or a cross-validation iterator; the
    constructor takes Surprise's arguments (dicts ``ur`` / ``ir`` and the
    raw-to-inner maps) for code that builds one by hand.

    Attributes
    ----------
    ur, ir : defaultdict of list
        Per user inner id, its ``(item inner id, rating)`` pairs in load
        order; per item, its ``(user inner id, rating)`` pairs (built on first
        access).
    n_users, n_items, n_ratings : int
    rating_scale : tuple
        The reader's ``(lowest, highest)``; predictions are clipped to it.
    global_mean : float
        The mean of all ratings (summed in ``all_ratings()`` order, as Surprise).
    interactions : fastcf.Interactions
        The ratings for fastcf's models (float64, load order kept in
        ``input_order``); ids are the inner ids.
    """

    def __init__(self, ur, ir, n_users, n_items, n_ratings, rating_scale, raw2inner_id_users,
                 raw2inner_id_items):
        users = np.array([u for u, ratings in ur.items() for _ in ratings], dtype=np.int64)
        items = np.array([i for ratings in ur.values() for i, _ in ratings], dtype=np.int64)
        ratings = np.array([r for ratings in ur.values() for _, r in ratings], dtype=np.float64)
        raw_users = np.empty(n_users, dtype=object)
        raw_users[list(raw2inner_id_users.values())] = list(raw2inner_id_users.keys())
        raw_items = np.empty(n_items, dtype=object)
        raw_items[list(raw2inner_id_items.values())] = list(raw2inner_id_items.keys())
        self._setup(users, items, ratings, raw_users, raw_items, rating_scale)
        self._raw2inner_id_users = raw2inner_id_users
        self._raw2inner_id_items = raw2inner_id_items
        self._ur, self._ir = ur, ir
        self.n_ratings = n_ratings

    @classmethod
    def _from_raw(cls, users, items, ratings, rating_scale):
        """A trainset of parallel raw ``users``, ``items`` (any hashable ids) and
        ``ratings``, in load order."""
        self = cls.__new__(cls)
        user_codes, raw_users = _codes(users, "user")
        item_codes, raw_items = _codes(items, "item")
        self._setup(user_codes, item_codes, np.asarray(ratings, dtype=np.float64), raw_users,
                    raw_items, rating_scale)
        self._raw2inner_id_users = dict(zip(raw_users.tolist(), range(len(raw_users))))
        self._raw2inner_id_items = dict(zip(raw_items.tolist(), range(len(raw_items))))
        return self

    def _setup(self, users, items, ratings, raw_users, raw_items, rating_scale):
        self._users, self._items, self._ratings = users, items, ratings
        self._raw_users, self._raw_items = raw_users, raw_items
        self.n_users, self.n_items = len(raw_users), len(raw_items)
        self.n_ratings = len(ratings)
        self.rating_scale = rating_scale
        self._ur = self._ir = None
        self._global_mean = None
        self._inner2raw_id_users = None
        self._inner2raw_id_items = None
        self._interactions = None
        self._all_order = None

    # ------------------------------------------------------------------ views
    @property
    def ur(self):
        if self._ur is None:
            self._ur = self._grouped(self._users, self._items, self.n_users)
        return self._ur

    @ur.setter
    def ur(self, value):
        self._ur = value

    @property
    def ir(self):
        if self._ir is None:
            self._ir = self._grouped(self._items, self._users, self.n_items)
        return self._ir

    @ir.setter
    def ir(self, value):
        self._ir = value

    def _grouped(self, keys, others, n):
        with gc_paused():
            return self._grouped_lists(keys, others, n)

    def _grouped_lists(self, keys, others, n):
        order = np.argsort(keys, kind="stable")
        pairs = list(zip(others[order].tolist(), self._ratings[order].tolist()))
        bounds = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys, minlength=n), out=bounds[1:])
        grouped = defaultdict(list)
        for key, (start, stop) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist())):
            grouped[key] = pairs[start:stop]
        return grouped

    def _all_ratings_order(self):
        if self._all_order is None:
            self._all_order = np.argsort(self._users, kind="stable")
        return self._all_order

    @property
    def global_mean(self):
        if self._global_mean is None:
            self._global_mean = np.mean(self._ratings[self._all_ratings_order()])
        return self._global_mean

    @property
    def interactions(self):
        if self._interactions is None:
            data = Interactions.from_arrays(self._users, self._items, self._ratings,
                                            dtype=np.float64, duplicates="last")
            if data.nnz < self.n_ratings:
                warnings.warn(
                    f"{self.n_ratings - data.nnz} repeated (user, item) ratings: fastcf's "
                    "models keep the last of each (Surprise trains on every copy); ur, ir and "
                    "all_ratings keep them all.", UserWarning, stacklevel=3)
            self._interactions = data
        return self._interactions

    # -------------------------------------------------------------- id maps
    def knows_user(self, uid):
        """Whether inner id ``uid`` is a user of the trainset."""
        return isinstance(uid, (int, np.integer)) and 0 <= uid < self.n_users

    def knows_item(self, iid):
        """Whether inner id ``iid`` is an item of the trainset."""
        return isinstance(iid, (int, np.integer)) and 0 <= iid < self.n_items

    def to_inner_uid(self, ruid):
        """The inner id of raw user id ``ruid``; ValueError if it is not in the trainset."""
        return _lookup(self._raw2inner_id_users, ruid, f"User {ruid} is not part of the trainset.")

    def to_inner_iid(self, riid):
        """The inner id of raw item id ``riid``; ValueError if it is not in the trainset."""
        return _lookup(self._raw2inner_id_items, riid, f"Item {riid} is not part of the trainset.")

    def to_raw_uid(self, iuid):
        """The raw id of user inner id ``iuid``; ValueError if it is none."""
        if self._inner2raw_id_users is None:
            self._inner2raw_id_users = dict(enumerate(self._raw_users.tolist()))
        return _lookup(self._inner2raw_id_users, iuid, f"{iuid} is not a valid inner id.")

    def to_raw_iid(self, iiid):
        """The raw id of item inner id ``iiid``; ValueError if it is none."""
        if self._inner2raw_id_items is None:
            self._inner2raw_id_items = dict(enumerate(self._raw_items.tolist()))
        return _lookup(self._inner2raw_id_items, iiid, f"{iiid} is not a valid inner id.")

    def _inner_ids(self, raw, axis):
        """Inner ids of a sequence of raw ids (-1: not in the trainset), vectorised."""
        known = self._raw_users if axis == "user" else self._raw_items
        raw = pd.Index(np.asarray(raw, dtype=object) if not isinstance(raw, np.ndarray)
                       else raw)
        try:
            return pd.Index(known).get_indexer(raw).astype(np.int64)
        except (TypeError, pd.errors.InvalidIndexError):
            lookup = self._raw2inner_id_users if axis == "user" else self._raw2inner_id_items
            return np.array([lookup.get(r, -1) for r in raw], dtype=np.int64)

    # ----------------------------------------------------------- iterations
    def all_ratings(self):
        """Iterate over ``(user inner id, item inner id, rating)``: users by inner id,
        each user's ratings in load order."""
        order = self._all_ratings_order()
        return zip(self._users[order].tolist(), self._items[order].tolist(),
                   self._ratings[order].tolist())

    def all_users(self):
        """The user inner ids, ``range(n_users)``."""
        return range(self.n_users)

    def all_items(self):
        """The item inner ids, ``range(n_items)``."""
        return range(self.n_items)

    def build_testset(self):
        """Every rating as ``(raw uid, raw iid, rating)``, in ``all_ratings()`` order."""
        order = self._all_ratings_order()
        with gc_paused():
            return list(zip(self._raw_users[self._users[order]].tolist(),
                            self._raw_items[self._items[order]].tolist(),
                            self._ratings[order].tolist()))

    def build_anti_testset(self, fill=None):
        """Every (known user, known item) pair without a rating, as ``(raw uid, raw iid, fill)``.

        Users by inner id, each user's items by inner id. ``fill`` None is the
        global mean.
        """
        fill = self.global_mean if fill is None else float(fill)
        raw_items = self._raw_items.tolist()
        out = []
        block = max(1, _ANTI_BLOCK_CELLS // max(1, self.n_items))
        for start in range(0, self.n_users, block):
            stop = min(start + block, self.n_users)
            unrated = np.ones((stop - start, self.n_items), dtype=bool)
            mine = (self._users >= start) & (self._users < stop)
            unrated[self._users[mine] - start, self._items[mine]] = False
            rows, cols = np.nonzero(unrated)
            users = self._raw_users[rows + start].tolist()
            with gc_paused():
                out.extend(zip(users, (raw_items[c] for c in cols.tolist()),
                               [fill] * len(users)))
        return out
