"""Train/test splits of :class:`~fastcf.data.Interactions`.

The protocol
------------
Every splitter partitions the *entries* (interactions) of ``data``: each entry
goes to exactly one of train and test, so the two are disjoint and together
are the input. Entries are named by their position in ``data.by_user`` order
(sorted by user, then item); a split returns those positions
(``train_positions``, ``test_positions``, both sorted) together with the two
subsets built by ``data.take(positions)``. Each subset has compact id maps:
it knows only the users and items it holds, so a model fitted on ``train``
never sees an id that only appears in ``test``. Those ids, the cold-start
cases an evaluation must handle (skip, or score with a fallback), are listed
in ``test_only_users`` and ``test_only_items``.

Splitters
---------
=====================  ======================================================
:func:`random_split`   random holdout of entries, over all users at once
:func:`user_split`     random holdout within each user (LensKit's
                       ``SampleFrac`` / ``SampleN``)
:func:`temporal_split` the latest entries (globally, or within each user),
                       or every entry at or after a cutoff time
:func:`kfold`          k disjoint random test folds covering every entry
:func:`leave_one_out`  one entry per user: the latest, or a random one
=====================  ======================================================

Shared rules
------------
- ``test_size`` is a fraction (a float in (0, 1)) or a count (an int >= 1).
  A fraction ``f`` of ``n`` entries is ``round(f * n)`` entries, rounded as
  Python's :func:`round` does (half to even), as LensKit's ``SampleFrac``.
- ``min_train`` (per-user splitters, default 1, any int >= 0): a user whose
  holdout would leave fewer than ``min_train`` entries in train holds out
  less: user ``u`` with ``n_u`` entries puts
  ``max(0, min(wanted_u, n_u - min_train))`` in test. So users with at most
  ``min_train`` entries stay entirely in train. ``min_train=0`` lets a whole
  user move to test (a cold-start user, listed in ``test_only_users``).
- A split whose train or test would be empty raises ValueError
  (``"test would be empty: ..."``) instead of returning it.
- Randomness comes from ``seed`` (an int, None or a ``numpy.random.Generator``):
  the same int gives the same split. A Generator is used as is (and advanced).
- Ties in time are broken by entry position: among entries with the same
  timestamp, the one later in ``by_user`` order counts as later.
- The input is never modified. Everything is vectorised with NumPy (sorts on
  one int64 key at most), so tens of millions of entries split in seconds; the
  cost of building the two subsets is that of :meth:`Interactions.take`.
"""

import datetime
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd

from ._validation import check_bool, check_choice, check_float, check_int, check_random_state
from .data import Interactions

__all__ = ["TrainTest", "kfold", "leave_one_out", "random_split", "temporal_split",
           "user_split"]

LOO_BY = ("time", "random")


@dataclass(frozen=True, eq=False, repr=False)
class TrainTest:
    """One train/test split of an :class:`~fastcf.data.Interactions`.

    Unpacks as ``train, test = split``.

    Attributes
    ----------
    train, test : Interactions
        The two subsets, each with compact id maps (only its own users and
        items).
    test_only_users : ndarray
        External ids of the users that have test entries but no train entry
        (in the input's internal order).
    test_only_items : ndarray
        External ids of the items that have test entries but no train entry.
    train_positions, test_positions : ndarray of int64
        Sorted positions, in the input's ``by_user`` order, of the entries of
        ``train`` and ``test``; disjoint, and together ``arange(data.nnz)``.
        All four arrays are read-only.
    """

    train: Interactions
    test: Interactions
    test_only_users: np.ndarray
    test_only_items: np.ndarray
    train_positions: np.ndarray
    test_positions: np.ndarray

    def __iter__(self):
        yield self.train
        yield self.test

    def __repr__(self):
        return (f"TrainTest(train={self.train.nnz} interactions, test={self.test.nnz} "
                f"interactions, {len(self.test_only_users)} test-only users, "
                f"{len(self.test_only_items)} test-only items)")


# --------------------------------------------------------------------- splitters
def random_split(data, test_size=0.2, *, seed=0):
    """Random holdout of entries over the whole data.

    Exactly ``n_test`` entries, drawn uniformly without replacement from all
    ``data.nnz`` entries, go to test; the rest go to train. ``n_test`` is
    ``round(test_size * data.nnz)`` for a float and ``test_size`` for an int.

    Parameters
    ----------
    data : Interactions
    test_size : float in (0, 1) or int in [1, data.nnz - 1]
        Fraction or number of entries to hold out.
    seed : int, None or numpy.random.Generator

    Returns
    -------
    TrainTest

    Raises
    ------
    TypeError
        ``data`` is not an Interactions, ``test_size`` not an int or float,
        ``seed`` of the wrong type.
    ValueError
        ``test_size`` out of range, or it rounds to 0 (``"test would be
        empty"``) or to ``data.nnz`` (``"train would be empty"``).
    """
    _check_data(data)
    n = data.nnz
    n_test = _global_test_count(test_size, n)
    rng = check_random_state(seed)
    test_mask = np.zeros(n, dtype=bool)
    test_mask[rng.choice(n, size=n_test, replace=False, shuffle=False)] = True
    return _build(data, test_mask)


def user_split(data, test_size=0.2, *, seed=0, min_train=1):
    """Random holdout within each user (LensKit's SampleFrac / SampleN).

    User ``u`` with ``n_u`` entries wants ``w_u = round(test_size * n_u)``
    entries in test (float ``test_size``) or ``w_u = test_size`` (int), and
    holds out ``t_u = max(0, min(w_u, n_u - min_train))`` of them, drawn
    uniformly without replacement from its own entries. Every user therefore
    keeps at least ``min(n_u, min_train)`` entries in train.

    Parameters
    ----------
    data : Interactions
    test_size : float in (0, 1) or int >= 1
        Fraction or number of each user's entries to hold out.
    seed : int, None or numpy.random.Generator
    min_train : int >= 0, default 1
        Fewest entries a user keeps in train (see above); 0 lets whole users
        move to test.

    Returns
    -------
    TrainTest

    Raises
    ------
    TypeError, ValueError
        Bad argument types or values, or an empty train or test.
    """
    _check_data(data)
    test_size = _check_test_size(test_size)
    min_train = check_int("min_train", min_train, min_value=0)
    rng = check_random_state(seed)
    counts = data.user_counts().astype(np.int64)
    n_test = _per_user_counts(test_size, counts, min_train)
    if not n_test.any():
        raise ValueError(_no_user_holds_out(test_size, counts, min_train))
    users = data.entry_users()
    grouped = _group_by_user(rng.permutation(data.nnz), users, data.n_users)
    local = _local_index(data)
    test_mask = np.zeros(data.nnz, dtype=bool)
    test_mask[grouped[local < n_test[users]]] = True
    return _build(data, test_mask, users=users,
                  train_empty="every entry went to test (min_train == 0).")


def temporal_split(data, test_size=None, *, at=None, per_user=False, min_train=None):
    """Hold out the latest entries: globally, within each user, or after a time.

    Entries are ordered by ``(timestamp, position)``: ties in time go by
    ``by_user`` position, so the split is deterministic.

    - Global (default): the last ``n_test`` entries of that order go to test,
      ``n_test = round(test_size * data.nnz)`` (float) or ``test_size`` (int).
      Every test timestamp is then >= every train timestamp.
    - Cutoff (``at=``): entries with ``timestamp >= at`` go to test, the rest
      to train.
    - Per user (``per_user=True``): user ``u`` with ``n_u`` entries holds out
      its last ``t_u = max(0, min(w_u, n_u - min_train))`` entries, with
      ``w_u = round(test_size * n_u)`` (float) or ``test_size`` (int). Within
      each user, every test timestamp is >= every train timestamp.

    Parameters
    ----------
    data : Interactions
        Must have timestamps.
    test_size : float in (0, 1) or int, optional
        Fraction or count to hold out (default 0.2 when ``at`` is not given):
        an int in [1, data.nnz - 1] globally, any int >= 1 per user.
    at : int, float or datetime-like, optional
        Cutoff time (global form only; exclusive with ``test_size``). A
        datetime (``datetime.datetime``, ``numpy.datetime64``,
        ``pandas.Timestamp``; tz-aware ones are converted to UTC) is compared
        in seconds since the epoch, the unit ``Interactions`` stores
        datetime timestamps in.
    per_user : bool, default False
    min_train : int >= 0, optional
        Per-user form only (default 1): fewest entries a user keeps in train.

    Returns
    -------
    TrainTest

    Raises
    ------
    TypeError, ValueError
        Bad argument types or values, arguments that do not go together, no
        timestamps, or an empty train or test.
    """
    _check_data(data)
    check_bool("per_user", per_user)
    _check_timestamps(data, "temporal_split")
    stamps = data.timestamps
    n = data.nnz
    if per_user:
        if at is not None:
            raise ValueError("at is only supported with per_user=False; "
                             "pass test_size for a per-user split.")
        test_size = _check_test_size(0.2 if test_size is None else test_size)
        min_train = check_int("min_train", 1 if min_train is None else min_train, min_value=0)
        counts = data.user_counts().astype(np.int64)
        n_test = _per_user_counts(test_size, counts, min_train)
        if not n_test.any():
            raise ValueError(_no_user_holds_out(test_size, counts, min_train))
        users = data.entry_users()
        grouped = _group_by_user(_time_order(stamps), users, data.n_users)
        local = _local_index(data)
        test_mask = np.zeros(n, dtype=bool)
        test_mask[grouped[local >= (counts - n_test)[users]]] = True
        return _build(data, test_mask, users=users,
                      train_empty="every entry went to test (min_train == 0).")
    if min_train is not None:
        raise ValueError("min_train only applies with per_user=True; the global split "
                         "keeps every entry before the cutoff in train.")
    if at is not None:
        if test_size is not None:
            raise ValueError("give test_size or at, not both.")
        cutoff, shown = _check_at(at, stamps)
        test_mask = stamps >= cutoff
        n_test = int(np.count_nonzero(test_mask))
        if n_test == 0:
            raise ValueError(f"test would be empty: no timestamp is >= at == {shown} "
                             f"(the latest is {stamps.max()}).")
        if n_test == n:
            raise ValueError(f"train would be empty: every timestamp is >= at == {shown} "
                             f"(the earliest is {stamps.min()}).")
        return _build(data, test_mask)
    n_test = _global_test_count(0.2 if test_size is None else test_size, n)
    n_train = n - n_test
    threshold = np.partition(stamps, n_train)[n_train]  # the earliest test time
    test_mask = stamps > threshold
    tied = np.flatnonzero(stamps == threshold)
    test_mask[tied[len(tied) - (n_test - int(np.count_nonzero(test_mask))):]] = True
    return _build(data, test_mask)


def kfold(data, k=5, *, seed=0):
    """Partition the entries into ``k`` random folds; each fold is a test set once.

    A uniformly random permutation of the entries is dealt round-robin into
    ``k`` folds, so fold sizes are ``data.nnz // k`` or one more. Fold ``f``'s
    split has fold ``f`` as test and the other ``k - 1`` folds as train: the
    ``k`` test sets are disjoint and together hold every entry.

    Parameters
    ----------
    data : Interactions
    k : int in [2, data.nnz], default 5
    seed : int, None or numpy.random.Generator

    Returns
    -------
    list of TrainTest
        ``k`` splits, in fold order.

    Raises
    ------
    TypeError, ValueError
        Bad argument types or values.
    """
    _check_data(data)
    n = data.nnz
    if n < 2:
        raise ValueError(f"data has {n} interaction, need >= 2 to split.")
    k = check_int("k", k, min_value=2, max_value=n)
    rng = check_random_state(seed)
    fold = np.empty(n, dtype=np.int64)
    fold[rng.permutation(n)] = np.arange(n, dtype=np.int64) % k
    users = data.entry_users()
    return [_build(data, fold == f, users=users) for f in range(k)]


def leave_one_out(data, *, by="time", seed=0, min_train=1):
    """Hold out one entry of every user with more than ``min_train`` entries.

    Each user with ``n_u > min_train`` entries puts exactly one entry in test:
    its latest (``by="time"``: largest timestamp, ties going to the entry
    later in ``by_user`` order) or one drawn uniformly (``by="random"``).
    Users with ``n_u <= min_train`` stay entirely in train.

    Parameters
    ----------
    data : Interactions
        Must have timestamps when ``by="time"``.
    by : {"time", "random"}, default "time"
    seed : int, None or numpy.random.Generator
        Used by ``by="random"`` only (validated always).
    min_train : int >= 0, default 1
        With 0, users with a single entry move entirely to test.

    Returns
    -------
    TrainTest

    Raises
    ------
    TypeError, ValueError
        Bad argument types or values, no timestamps for ``by="time"``, or an
        empty train or test.
    """
    _check_data(data)
    by = check_choice("by", by, LOO_BY)
    min_train = check_int("min_train", min_train, min_value=0)
    rng = check_random_state(seed)
    if by == "time":
        _check_timestamps(data, 'leave_one_out(by="time")')
    counts = data.user_counts().astype(np.int64)
    starts = data.by_user.indptr[:-1].astype(np.int64)
    chosen = counts > min_train
    if not chosen.any():
        raise ValueError(f"test would be empty: no user has more than min_train == "
                         f"{min_train} interactions (the most is {counts.max()}).")
    if by == "random":
        picked = starts[chosen] + rng.integers(0, counts[chosen])
    else:
        nonempty = counts > 0
        seg = starts[nonempty]  # contiguous segments covering every entry
        stamps = data.timestamps
        latest = np.maximum.reduceat(stamps, seg)
        is_latest = stamps == np.repeat(latest, counts[nonempty])
        candidates = np.where(is_latest, np.arange(data.nnz, dtype=np.int64), -1)
        picked = np.maximum.reduceat(candidates, seg)[chosen[nonempty]]
    test_mask = np.zeros(data.nnz, dtype=bool)
    test_mask[picked] = True
    return _build(data, test_mask,
                  train_empty="every user has exactly one interaction and min_train == 0.")


# ----------------------------------------------------------------------- helpers
def _check_data(data):
    if not isinstance(data, Interactions):
        raise TypeError(f"data must be an Interactions, got {type(data).__name__}.")


def _check_timestamps(data, who):
    if data.timestamps is None:
        raise ValueError(f"{who} needs timestamps, but data has none; build the "
                         "Interactions with a timestamp column.")


def _check_test_size(test_size, *, max_count=None):
    """``test_size`` as an int count (>= 1) or a float fraction in (0, 1)."""
    if isinstance(test_size, Integral) and not isinstance(test_size, bool):
        return check_int("test_size", test_size, min_value=1, max_value=max_count)
    if isinstance(test_size, Real) and not isinstance(test_size, bool):
        return check_float("test_size", test_size, min_value=0, max_value=1,
                           min_inclusive=False, max_inclusive=False)
    raise TypeError(f"test_size must be an int or a float, got {type(test_size).__name__}.")


def _global_test_count(test_size, n):
    """Number of test entries of a global split of ``n`` entries."""
    if n < 2:
        raise ValueError(f"data has {n} interaction, need >= 2 to split.")
    test_size = _check_test_size(test_size, max_count=n - 1)
    if isinstance(test_size, int):
        return test_size
    n_test = round(test_size * n)
    if n_test == 0:
        raise ValueError(f"test would be empty: test_size == {test_size} of {n} "
                         "interactions rounds to 0.")
    if n_test == n:
        raise ValueError(f"train would be empty: test_size == {test_size} of {n} "
                         f"interactions rounds to {n}.")
    return n_test


def _per_user_counts(test_size, counts, min_train):
    """``t_u = max(0, min(w_u, n_u - min_train))`` for every user."""
    if isinstance(test_size, int):
        wanted = np.full(len(counts), test_size, dtype=np.int64)
    else:
        wanted = np.rint(test_size * counts).astype(np.int64)  # == round(), half to even
    return np.clip(np.minimum(wanted, counts - min_train), 0, None)


def _no_user_holds_out(test_size, counts, min_train):
    return (f"test would be empty: no user holds out an interaction with test_size == "
            f"{test_size} and min_train == {min_train} (the most interactions a user has "
            f"is {counts.max()}).")


def _check_at(at, stamps):
    """The cutoff to compare ``stamps`` with, and how to show it in messages."""
    if isinstance(at, (datetime.date, np.datetime64)):
        when = pd.Timestamp(at)
        if when is pd.NaT:
            raise ValueError("at == NaT, must be a valid time.")
        if when.tz is not None:
            when = when.tz_convert(None)
        nanos = when.value
        if stamps.dtype.kind == "f":
            return nanos / 1e9, str(when)
        return -(-nanos // 10**9), str(when)  # integer seconds: ts >= at <=> ts >= ceil(at)
    if isinstance(at, Integral) and not isinstance(at, bool):
        return int(at), str(int(at))
    if isinstance(at, Real) and not isinstance(at, bool):
        at = check_float("at", at)
        return at, str(at)
    raise TypeError(f"at must be a number or a datetime, got {type(at).__name__}.")


def _bits(m):
    """Bits needed to store every int in ``[0, m)``."""
    return max(int(m) - 1, 0).bit_length()


def _time_order(stamps):
    """Entry positions sorted by ``(timestamp, position)``."""
    n = len(stamps)
    pos_bits = _bits(n)
    if stamps.dtype.kind in "iu":
        lo, hi = int(stamps.min()), int(stamps.max())
        if _bits(hi - lo + 1) + pos_bits <= 63:
            # one value sort of a unique int64 key: faster than a stable argsort
            key = stamps.astype(np.int64)  # a copy: stamps are never written
            key -= lo
            key <<= pos_bits
            key |= np.arange(n, dtype=np.int64)
            key.sort()
            key &= (1 << pos_bits) - 1
            return key
    return np.argsort(stamps, kind="stable")


def _group_by_user(order, users, n_users):
    """Positions grouped by user (ascending), each user's in ``order``'s order.

    ``order`` is a permutation of the positions (a random one, or the time
    order); the result has ``data.by_user``'s block layout: user ``u``'s
    entries fill ``indptr[u]:indptr[u + 1]``.
    """
    n = len(order)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n, dtype=np.int64)
    rank_bits = _bits(n)
    if rank_bits + _bits(n_users) > 63:  # pragma: no cover - > 2**63 entries x users
        return np.lexsort((rank, users))
    key = users.astype(np.int64)
    key <<= rank_bits
    key |= rank
    key.sort()
    key &= (1 << rank_bits) - 1
    return order[key]


def _local_index(data):
    """For slot ``j`` of the by_user block layout, ``j - indptr[user of j]``."""
    indptr = data.by_user.indptr.astype(np.int64)
    return np.arange(data.nnz, dtype=np.int64) - np.repeat(indptr[:-1], np.diff(indptr))


def _readonly(array):
    array.flags.writeable = False
    return array


def _build(data, test_mask, *, users=None, train_empty="every entry went to test."):
    """The TrainTest whose test entries are ``test_mask``'s True positions."""
    test_positions = np.flatnonzero(test_mask)
    train_positions = np.flatnonzero(~test_mask)
    if len(test_positions) == 0:  # pragma: no cover - callers raise a precise error first
        raise ValueError("test would be empty: no entry was selected.")
    if len(train_positions) == 0:
        raise ValueError(f"train would be empty: {train_empty}")
    if users is None:
        users = data.entry_users()
    items = data.by_user.indices
    only_users = _only_in_test(users, train_positions, test_positions, data.n_users)
    only_items = _only_in_test(items, train_positions, test_positions, data.n_items)
    return TrainTest(
        train=data.take(train_positions),
        test=data.take(test_positions),
        test_only_users=_readonly(data.user_ids[only_users]),
        test_only_items=_readonly(data.item_ids[only_items]),
        train_positions=_readonly(train_positions.astype(np.int64, copy=False)),
        test_positions=_readonly(test_positions.astype(np.int64, copy=False)),
    )


def _only_in_test(codes, train_positions, test_positions, size):
    """Boolean mask of the codes present at test positions but not train ones."""
    in_train = np.zeros(size, dtype=bool)
    in_train[codes[train_positions]] = True
    in_test = np.zeros(size, dtype=bool)
    in_test[codes[test_positions]] = True
    return in_test & ~in_train
