"""Surprise's cross-validation iterators (``surprise.model_selection.split``, 1.1.5).

The same folds as Surprise for the same ``random_state``: the same ``RandomState``
calls (``shuffle``, ``permutation``, ``randint``) on the same ``data.raw_ratings``
list, in the same order. ``data`` is any object with Surprise's ``Dataset`` API
(``raw_ratings``, ``construct_trainset``, ``construct_testset``; ``folds_files``
and ``read_ratings`` for :class:`PredefinedKFold`).
"""

import numbers
from collections import defaultdict
from itertools import chain
from math import ceil, floor

import numpy as np

from ...._surprise import surprise_rng


def get_rng(random_state):
    """Surprise's ``get_rng``: None -> NumPy's global RandomState, an int -> a new
    ``RandomState(int)``, a RandomState -> itself."""
    if random_state is None or (isinstance(random_state, (numbers.Integral, np.integer))
                                and not isinstance(random_state, bool)):
        return surprise_rng(random_state)
    if isinstance(random_state, np.random.RandomState):
        return random_state
    raise ValueError("Wrong random state. Expecting None, an int or a numpy RandomState "
                     f"instance, got a {type(random_state)}")


def get_cv(cv):
    """The cross-validation iterator ``cv`` stands for: None -> KFold(5), an int k ->
    KFold(k), an object with ``split`` -> itself."""
    if cv is None:
        return KFold(n_splits=5)
    if isinstance(cv, numbers.Integral):
        return KFold(n_splits=cv)
    if hasattr(cv, "split") and not isinstance(cv, str):
        return cv
    raise ValueError(f"Wrong CV object. Expecting None, an int or CV iterator, got a {type(cv)}")


def _construct(data, raw_trainset, raw_testset):
    return data.construct_trainset(raw_trainset), data.construct_testset(raw_testset)


class KFold:
    """Each of ``n_splits`` folds is a testset once, the others its trainset.

    Parameters
    ----------
    n_splits : int
    random_state : int, RandomState or None
        RNG of the shuffle (None: NumPy's global one; an int: the same folds
        at every ``split``).
    shuffle : bool
        Shuffle the ratings (not in place) before cutting the folds.
    """

    def __init__(self, n_splits=5, random_state=None, shuffle=True):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state

    def split(self, data):
        """Yield ``(trainset, testset)`` for each fold."""
        if self.n_splits > len(data.raw_ratings) or self.n_splits < 2:
            raise ValueError(f"Incorrect value for n_splits={self.n_splits}. Must be >=2 and "
                             f"less than the number of ratings ({len(data.raw_ratings)}).")
        indices = np.arange(len(data.raw_ratings))
        if self.shuffle:
            get_rng(self.random_state).shuffle(indices)
        start, stop = 0, 0
        for fold_i in range(self.n_splits):
            start = stop
            stop += len(indices) // self.n_splits
            if fold_i < len(indices) % self.n_splits:
                stop += 1
            yield _construct(data,
                             [data.raw_ratings[i] for i in chain(indices[:start], indices[stop:])],
                             [data.raw_ratings[i] for i in indices[start:stop]])

    def get_n_folds(self):
        return self.n_splits


class RepeatedKFold:
    """:class:`KFold` ``n_repeats`` times, each with a new shuffle from one RNG."""

    def __init__(self, n_splits=5, n_repeats=10, random_state=None):
        self.n_repeats = n_repeats
        self.random_state = random_state
        self.n_splits = n_splits

    def split(self, data):
        """Yield ``(trainset, testset)`` for each fold of each repetition."""
        rng = get_rng(self.random_state)
        for _ in range(self.n_repeats):
            yield from KFold(n_splits=self.n_splits, random_state=rng, shuffle=True).split(data)

    def get_n_folds(self):
        return self.n_repeats * self.n_splits


class ShuffleSplit:
    """``n_splits`` random (trainset, testset) pairs.

    Parameters
    ----------
    n_splits : int > 0
    test_size, train_size : float, int or None
        A share (float) or a count (int) of the ratings; None: the complement
        of the other.
    random_state : int, RandomState or None
    shuffle : bool
    """

    def __init__(self, n_splits=5, test_size=0.2, train_size=None, random_state=None,
                 shuffle=True):
        if n_splits <= 0:
            raise ValueError(f"n_splits = {n_splits} should be strictly greater than 0.")
        if test_size is not None and test_size <= 0:
            raise ValueError(f"test_size={test_size} should be strictly greater than 0")
        if train_size is not None and train_size <= 0:
            raise ValueError(f"train_size={train_size} should be strictly greater than 0")
        self.n_splits = n_splits
        self.test_size = test_size
        self.train_size = train_size
        self.random_state = random_state
        self.shuffle = shuffle

    def validate_train_test_sizes(self, test_size, train_size, n_ratings):
        """The (train, test) counts, as Surprise computes them (ceil test, floor train)."""
        if test_size is not None and test_size >= n_ratings:
            raise ValueError(f"test_size={test_size} should be less than the number of "
                             f"ratings {n_ratings}")
        if train_size is not None and train_size >= n_ratings:
            raise ValueError(f"train_size={train_size} should be less than the number of "
                             f"ratings {n_ratings}")
        if np.asarray(test_size).dtype.kind == "f":
            test_size = ceil(test_size * n_ratings)
        if train_size is None:
            train_size = n_ratings - test_size
        elif np.asarray(train_size).dtype.kind == "f":
            train_size = floor(train_size * n_ratings)
        if test_size is None:
            test_size = n_ratings - train_size
        if train_size + test_size > n_ratings:
            raise ValueError(f"The sum of train_size and test_size ({train_size + test_size}) "
                             f"should be smaller than the number of ratings {n_ratings}.")
        return int(train_size), int(test_size)

    def split(self, data):
        """Yield ``(trainset, testset)`` ``n_splits`` times."""
        train_size, test_size = self.validate_train_test_sizes(
            self.test_size, self.train_size, len(data.raw_ratings))
        rng = get_rng(self.random_state)
        for _ in range(self.n_splits):
            if self.shuffle:
                permutation = rng.permutation(len(data.raw_ratings))
            else:
                permutation = np.arange(len(data.raw_ratings))
            yield _construct(
                data, [data.raw_ratings[i] for i in permutation[:train_size]],
                [data.raw_ratings[i] for i in permutation[train_size:train_size + test_size]])

    def get_n_folds(self):
        return self.n_splits


def train_test_split(data, test_size=0.2, train_size=None, random_state=None, shuffle=True):
    """One :class:`ShuffleSplit` split: ``(trainset, testset)``."""
    return next(ShuffleSplit(n_splits=1, test_size=test_size, train_size=train_size,
                             random_state=random_state, shuffle=shuffle).split(data))


class LeaveOneOut:
    """Each user with more than ``min_n_ratings`` ratings has one, drawn at random, in the
    testset; ``n_splits`` such splits."""

    def __init__(self, n_splits=5, random_state=None, min_n_ratings=0):
        self.n_splits = n_splits
        self.random_state = random_state
        self.min_n_ratings = min_n_ratings

    def split(self, data):
        """Yield ``(trainset, testset)`` ``n_splits`` times."""
        user_ratings = defaultdict(list)
        for uid, iid, r_ui, _ in data.raw_ratings:
            user_ratings[uid].append((uid, iid, r_ui, None))
        rng = get_rng(self.random_state)
        for _ in range(self.n_splits):
            raw_trainset, raw_testset = [], []
            for ratings in user_ratings.values():
                if len(ratings) > self.min_n_ratings:
                    i = rng.randint(0, len(ratings))
                    raw_testset.append(ratings[i])
                    raw_trainset += [rating for j, rating in enumerate(ratings) if j != i]
            if not raw_trainset:
                raise ValueError("Could not build any trainset. Maybe min_n_ratings is too "
                                 "high?")
            yield _construct(data, raw_trainset, raw_testset)

    def get_n_folds(self):
        return self.n_splits


class PredefinedKFold:
    """The folds of a dataset loaded by ``Dataset.load_from_folds``: one per
    (train file, test file)."""

    def split(self, data):
        """Yield ``(trainset, testset)`` for each pair of ``data.folds_files``."""
        self.n_splits = len(data.folds_files)
        for train_file, test_file in data.folds_files:
            yield _construct(data, data.read_ratings(train_file), data.read_ratings(test_file))

    def get_n_folds(self):
        return self.n_splits
