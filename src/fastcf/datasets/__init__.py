"""Data sets: MovieLens files and downloads, a synthetic generator, and a reader of any
interactions file.

- :mod:`~fastcf.datasets.movielens`: :func:`read_movielens_frame` /
  :func:`load_movielens` read the rating files GroupLens ships (``u.data``,
  ``ratings.dat``, ``ratings.csv``); :func:`fetch_movielens` downloads,
  verifies (SHA-256) and caches the official zips.
- :mod:`~fastcf.datasets.movielens_features`: :func:`read_movielens_features`
  reads the user / item attributes (``u.user``, ``u.item``, ``users.dat``,
  ``movies.dat``, ``movies.csv``) as :class:`~fastcf.Features`.
- :mod:`~fastcf.datasets.synthetic`: :func:`make_ratings` draws a
  MovieLens-like explicit data set of any size from a planted model.
- :mod:`~fastcf.datasets.reader`: :func:`read_interactions` reads a user's own
  csv / tsv / parquet file, sniffing the separator, the header and the
  columns, and saying what it assumed (:func:`sniff_interactions`).
"""

from .movielens import (
    MOVIELENS_DATASETS,
    RATINGS_FILES,
    DownloadError,
    fetch_movielens,
    get_data_home,
    is_movielens,
    load_movielens,
    read_movielens_frame,
)
from .movielens_features import read_movielens_features
from .reader import FileLayout, read_interactions, sniff_interactions
from .synthetic import TIME_WINDOW, make_ratings, max_user_ratings

__all__ = [
    "MOVIELENS_DATASETS",
    "RATINGS_FILES",
    "TIME_WINDOW",
    "DownloadError",
    "FileLayout",
    "fetch_movielens",
    "get_data_home",
    "is_movielens",
    "load_movielens",
    "make_ratings",
    "max_user_ratings",
    "read_interactions",
    "read_movielens_features",
    "read_movielens_frame",
    "sniff_interactions",
]
