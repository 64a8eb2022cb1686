"""``Dataset``: loading ratings (Surprise's :mod:`surprise.dataset`).

Load with :meth:`Dataset.load_builtin`, :meth:`Dataset.load_from_file`,
:meth:`Dataset.load_from_folds` or :meth:`Dataset.load_from_df`. A loaded
data set keeps ``raw_ratings``, Surprise's list of ``(user, item, rating,
timestamp)`` tuples in file order, which the cross-validation iterators split
and :meth:`Dataset.construct_trainset` turns into a :class:`Trainset`.
Files are parsed by pandas (a plain line-by-line parse where pandas cannot).
"""

import csv
import io
import itertools
import os
import sys
import warnings

import numpy as np
import pandas as pd

from .builtin_datasets import _builtin, download_builtin_dataset
from .reader import Reader
from .trainset import Trainset
from .utils import gc_paused

__all__ = ["Dataset", "DatasetAutoFolds", "DatasetUserFolds"]

#: Stands in for a multi-character separator when pandas parses a file.
_UNIT_SEP = "\x1f"


def _check_scale(ratings, rating_scale, where):
    """Warn about ratings outside the reader's scale (Surprise keeps them silently)."""
    ratings = np.asarray(ratings, dtype=np.float64)
    low, high = rating_scale
    outside = (ratings < low) | (ratings > high)
    if outside.any():
        first = int(np.argmax(outside))
        warnings.warn(
            f"{int(outside.sum())} ratings of {where} are outside rating_scale {rating_scale} "
            f"(first: {ratings[first]} at rating {first}); they are kept as Surprise keeps them, "
            "but predictions are clipped to the scale: set the Reader's rating_scale to the "
            "data's.", UserWarning, stacklevel=4)


def _split(raw_ratings):
    """Parallel (users, items, ratings) of a list of ``(user, item, rating, ...)`` tuples."""
    if not raw_ratings:
        raise ValueError("no ratings: the data set is empty.")
    try:  # comprehensions: ~50x faster than zip(*raw_ratings) on 100k tuples
        users = [t[0] for t in raw_ratings]
        items = [t[1] for t in raw_ratings]
        ratings = [t[2] for t in raw_ratings]
    except (IndexError, TypeError):
        raise ValueError("each rating must be a (user, item, rating, timestamp) tuple.") \
            from None
    try:
        ratings = np.array(ratings, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("ratings must be numbers; check the order of the columns "
                         "(user, item, rating).") from None
    return users, items, ratings


class Dataset:
    """Base class of the loaded data sets: use one of the ``load_*`` class methods."""

    def __init__(self, reader):
        self.reader = reader

    @classmethod
    def load_builtin(cls, name="ml-100k", prompt=True):
        """Load built-in data set ``name`` ("ml-100k", "ml-1m" or "jester").

        A copy under :func:`get_dataset_dir` is read; if there is none, it is
        downloaded (after asking, when ``prompt``), checked against its pinned
        SHA-256 and extracted there.
        """
        dataset = _builtin(name)
        if not os.path.isfile(dataset.path):
            answered = not prompt
            while not answered:
                print(f"Dataset {name} could not be found. Do you want to download it? [Y/n] ",
                      end="")
                choice = input().lower()
                if choice in ("yes", "y", ""):
                    answered = True
                elif choice in ("no", "n"):
                    print("Ok then, I'm out!")
                    sys.exit()
            download_builtin_dataset(name)
        return cls.load_from_file(file_path=dataset.path,
                                  reader=Reader(**dataset.reader_params))

    @classmethod
    def load_from_file(cls, file_path, reader):
        """Load all the ratings of one file (split them with ``model_selection``)."""
        return DatasetAutoFolds(ratings_file=file_path, reader=reader)

    @classmethod
    def load_from_folds(cls, folds_files, reader):
        """Load predefined folds: ``folds_files`` lists ``(train_file, test_file)`` pairs."""
        return DatasetUserFolds(folds_files=folds_files, reader=reader)

    @classmethod
    def load_from_df(cls, df, reader):
        """Load a DataFrame of three columns: user ids, item ids, ratings (in that order)."""
        return DatasetAutoFolds(reader=reader, df=df)

    def read_ratings(self, file_name):
        """The ``(user, item, rating, timestamp)`` tuples of ``file_name``, in file order."""
        path = os.path.expanduser(file_name)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"ratings file {file_name!r} does not exist.")
        try:
            users, items, ratings, stamps = self._read_frame(path)
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError):
            # pandas refuses ragged lines Surprise's split accepts: parse as Surprise does,
            # whose errors then name the line.
            with open(path) as f:
                return [self.reader.parse_line(line)
                        for line in itertools.islice(f, self.reader.skip_lines, None)]
        _check_scale(ratings, self.reader.rating_scale, f"file {file_name!r}")
        with gc_paused():
            return list(zip(users, items, ratings.tolist(),
                            stamps if stamps is not None else itertools.repeat(None)))

    def _read_frame(self, path):
        """(users, items, ratings, timestamps) of a ratings file, parsed by pandas' C parser.

        Raises ValueError (the caller then parses as Surprise does) where the
        parse could differ from Surprise's ``str.split``: short lines, a
        separator stand-in in the text.
        """
        reader = self.reader
        sep = reader.sep
        with open(path) as f:
            text = f.read()
        options = dict(header=None, dtype=str, keep_default_na=False, na_filter=False,
                       skiprows=reader.skip_lines, quoting=csv.QUOTE_NONE)
        if sep is None:
            options.update(sep=r"\s+")
            strip = False  # fields split on whitespace hold none
        else:
            strip = any(c in text for c in " \t\r\v\f" if c != sep)
            if len(sep) == 1:
                options.update(sep=sep)
            else:
                # pandas' C parser takes one-character separators only (its Python engine
                # is ~10x slower): ML-1M's "::" becomes a control character.
                if _UNIT_SEP in text:
                    raise ValueError("separator stand-in present")
                text = text.replace(sep, _UNIT_SEP)
                options.update(sep=_UNIT_SEP)
        frame = pd.read_csv(io.StringIO(text), **options)
        if frame.shape[1] <= max(reader.indexes):
            raise ValueError("short lines")
        # pandas reads a short line's missing fields as "", as empty ones: count separators.
        # No line has more than the widest (pandas refuses those), so as many separators
        # as lines x (columns - 1) means every line has them all.
        if sep is None:
            short = (frame.iloc[:, reader.indexes] == "").any(axis=None)  # never empty else
        else:
            body = 0
            for _ in range(reader.skip_lines):
                body = text.find("\n", body) + 1 or len(text)
            short = text.count(options["sep"], body) != len(frame) * (frame.shape[1] - 1)
        del text
        if short:
            raise ValueError("short lines")
        columns = [frame.iloc[:, k].tolist() for k in reader.indexes]
        if strip:  # a comprehension strips ~8x faster than Series.str.strip
            columns = [[field.strip() for field in column] for column in columns]
        ratings = np.array(columns[2], dtype=np.float64)
        stamps = columns[3] if reader.with_timestamp else None
        return columns[0], columns[1], ratings, stamps

    def construct_trainset(self, raw_trainset):
        """A :class:`Trainset` of a list of ``(user, item, rating, timestamp)`` tuples."""
        users, items, ratings = _split(raw_trainset)
        return Trainset._from_raw(users, items, ratings, self.reader.rating_scale)

    def construct_testset(self, raw_testset):
        """The ``(user, item, rating)`` triples of ``(user, item, rating, timestamp)`` tuples."""
        return [(ruid, riid, r_ui) for (ruid, riid, r_ui, _) in raw_testset]


class DatasetUserFolds(Dataset):
    """A data set of predefined folds (``folds_files``: ``(train_file, test_file)`` pairs).

    Raises
    ------
    ValueError
        A fold that is not a pair of files, or a file that does not exist.
    """

    def __init__(self, folds_files=None, reader=None):
        Dataset.__init__(self, reader)
        if folds_files is None:
            raise ValueError("folds_files must list (train_file, test_file) pairs.")
        self.folds_files = folds_files
        for k, fold in enumerate(self.folds_files):
            if isinstance(fold, (str, bytes, os.PathLike)) or len(fold) != 2:
                raise ValueError(f"folds_files[{k}] == {fold!r}, must be a (train_file, "
                                 "test_file) pair.")
            for f in fold:
                if not os.path.isfile(os.path.expanduser(f)):
                    raise ValueError(f"File {f} does not exist.")


class DatasetAutoFolds(Dataset):
    """A data set of one list of ratings (from a file or a DataFrame), to be split."""

    def __init__(self, ratings_file=None, reader=None, df=None):
        Dataset.__init__(self, reader)
        self.has_been_split = False
        if ratings_file is not None:
            self.ratings_file = ratings_file
            self.raw_ratings = self.read_ratings(self.ratings_file)
        elif df is not None:
            if not isinstance(df, pd.DataFrame):
                raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}.")
            if df.shape[1] != 3:
                raise ValueError(f"df has {df.shape[1]} columns, must have 3: user ids, item "
                                 "ids and ratings, in this order.")
            self.df = df
            try:
                ratings = df.iloc[:, 2].to_numpy(dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"the third column of df ({df.columns[2]!r}) must hold the "
                                 "ratings as numbers; the columns are user, item, rating, in "
                                 "this order.") from None
            _check_scale(ratings, reader.rating_scale, "df")
            with gc_paused():
                self.raw_ratings = list(zip(df.iloc[:, 0].tolist(), df.iloc[:, 1].tolist(),
                                            ratings.tolist(), itertools.repeat(None)))
        else:
            raise ValueError("Must specify ratings file or dataframe.")

    def build_full_trainset(self):
        """The :class:`Trainset` of all the ratings (no split)."""
        return self.construct_trainset(self.raw_ratings)
