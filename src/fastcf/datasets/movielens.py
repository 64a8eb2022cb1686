"""MovieLens: readers of the rating files GroupLens ships and a checked downloader.

- :func:`read_movielens_frame` / :func:`load_movielens` read the three rating
  file formats GroupLens has shipped (``u.data``, ``ratings.dat``,
  ``ratings.csv``), detected from the file's first line; ``side_features=True``
  adds the user / item attributes (:mod:`.movielens_features`).
- :func:`fetch_movielens` downloads, verifies (SHA-256) and caches the
  official zips.
"""

import hashlib
import logging
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from .._config import DATA_HOME_ENV
from .._validation import check_bool, check_value_dtype
from ..data import Interactions
from ._text import head_lines, is_int
from .movielens_features import read_movielens_features

logger = logging.getLogger(__name__)

__all__ = [
    "MOVIELENS_DATASETS",
    "RATINGS_FILES",
    "DownloadError",
    "fetch_movielens",
    "get_data_home",
    "is_movielens",
    "load_movielens",
    "read_movielens_frame",
]

# =============================================================== MovieLens files

#: Rating file names looked for, in this order, when ``path`` is a directory.
RATINGS_FILES = ("u.data", "ratings.dat", "ratings.csv")
_COLUMNS = ["user", "item", "rating", "timestamp"]
_DTYPES = {"user": np.int64, "item": np.int64, "rating": np.float64, "timestamp": np.int64}
_CSV_HEADER = ["userid", "movieid", "rating", "timestamp"]
_EXPECTED = ("tab-separated 'user item rating timestamp' lines (u.data, u1.base, ...), "
             "'user::item::rating::timestamp' lines (ratings.dat) or CSV with the header "
             "'userId,movieId,rating,timestamp' (ratings.csv)")


def _detect_format(path):
    """``"tab"``, ``"dat"``, ``"csv"`` or ``"csv-noheader"`` from the first line."""
    lines = head_lines(path, 1)
    if not lines:
        raise ValueError(f"{path} is empty; expected {_EXPECTED}.")
    line = lines[0]
    if "::" in line:
        fields = line.split("::")
        if len(fields) == 4 and is_int(fields[0]) and is_int(fields[1]):
            return "dat"
    elif "\t" in line:
        fields = line.split("\t")
        if len(fields) == 4 and is_int(fields[0]) and is_int(fields[1]):
            return "tab"
    elif "," in line:
        fields = [f.strip() for f in line.split(",")]
        if [f.lower() for f in fields] == _CSV_HEADER:
            return "csv"
        if len(fields) == 4 and is_int(fields[0]) and is_int(fields[1]):
            return "csv-noheader"
        missing = [name for name in _CSV_HEADER if name not in [f.lower() for f in fields]]
        if not is_int(fields[0]) and 0 < len(missing) < len(_CSV_HEADER):  # a header
            raise ValueError(f"{path} is not a MovieLens ratings file: its CSV header {fields} "
                             f"lacks the column(s) {missing}; expected {_EXPECTED}.")
    raise ValueError(f"{path} is not a MovieLens ratings file: its first line is {line[:80]!r}; "
                     f"expected {_EXPECTED}.")


def _ratings_file(path):
    """The ratings file ``path`` names: itself, or a known file in it or one level down."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; expected a MovieLens ratings file "
                                f"or a directory containing one of {RATINGS_FILES}.")
    if not path.is_dir():
        return path
    # Extracted zips put the files one level down (ml-100k/ml-100k/u.data).
    for folder in [path, *sorted(p for p in path.iterdir() if p.is_dir())]:
        for name in RATINGS_FILES:
            if (folder / name).is_file():
                return folder / name
    raise ValueError(f"directory {path} contains none of {RATINGS_FILES} (nor do its "
                     "subdirectories); pass the ratings file itself.")


def is_movielens(path):
    """True if :func:`read_movielens_frame` recognises ``path``.

    A directory holding a MovieLens ratings file (directly or one level
    down), or a file whose first line has one of the MovieLens layouts.
    Never raises for a file it does not recognise: False.
    """
    try:
        _detect_format(_ratings_file(path))
    except (OSError, ValueError):
        return False
    return True


def read_movielens_frame(path):
    """Read a MovieLens ratings file into a DataFrame.

    The format is detected from the first line, so renamed files and the
    ML-100K splits (``u1.base``, ``ua.test``, ...) work:

    - ``u.data`` (ML-100K): ``user<TAB>item<TAB>rating<TAB>timestamp``, no header;
    - ``ratings.dat`` (ML-1M, ML-10M): ``user::item::rating::timestamp``;
    - ``ratings.csv`` (ML-20M, ML-25M, ml-latest): header
      ``userId,movieId,rating,timestamp``.

    Parameters
    ----------
    path : str or os.PathLike
        A ratings file, or a directory holding ``u.data``, ``ratings.dat`` or
        ``ratings.csv`` (in that order of preference), directly or in a
        subdirectory.

    Returns
    -------
    pandas.DataFrame
        Columns ``user`` (int64), ``item`` (int64), ``rating`` (float64) and
        ``timestamp`` (int64 seconds since the epoch), one row per rating, in
        file order.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        A directory without a ratings file, an unrecognised format, or a line
        that does not parse.
    """
    path = _ratings_file(path)
    fmt = _detect_format(path)
    # The C parser only: engine="python" is ~10x slower on ML-25M. "::" is
    # read as ":" with an empty column between fields, dropped by usecols.
    if fmt == "dat":
        kwargs = {"sep": ":", "header": None, "usecols": [0, 2, 4, 6],
                  "names": ["user", "_a", "item", "_b", "rating", "_c", "timestamp"]}
    elif fmt == "tab":
        kwargs = {"sep": "\t", "header": None, "names": _COLUMNS}
    else:
        kwargs = {"sep": ",", "header": 0 if fmt == "csv" else None, "names": _COLUMNS}
    try:
        frame = pd.read_csv(path, engine="c", dtype=_DTYPES, **kwargs)
    except (ValueError, OverflowError) as exc:  # pandas' ParserError is a ValueError
        raise ValueError(f"{path} looks like a MovieLens {fmt!r} file but does not parse: "
                         f"{exc}") from exc
    if frame.empty:
        raise ValueError(f"{path} has a header but no ratings.")
    return frame[_COLUMNS]


def load_movielens(path, *, dtype=np.float64, side_features=False):
    """Load a MovieLens ratings file as :class:`~fastcf.data.Interactions`.

    Parameters
    ----------
    path : str or os.PathLike
        A ratings file or a directory holding one (see
        :func:`read_movielens_frame` for the formats).
    dtype : {numpy.float32, numpy.float64}
        Dtype of the stored ratings.
    side_features : bool
        Also read the user / item attributes next to the ratings file
        (:func:`~fastcf.datasets.read_movielens_features`: ``u.user`` /
        ``u.item``, ``users.dat`` / ``movies.dat``, ``movies.csv``) into
        ``user_features`` / ``item_features``. Rows of users and items
        without ratings (movies nobody rated, the users and items a split
        file such as ``u1.base`` leaves out) are dropped; to keep them as a
        cold-start catalogue, call ``read_movielens_features`` and
        ``data.with_features(..., new_ids="add")``.

    Returns
    -------
    Interactions
        Explicit ratings with timestamps; user and item ids are MovieLens'
        integer ids (sorted).

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`read_movielens_frame` (and :func:`read_movielens_features`
        when ``side_features``: a folder without side files is an error);
        ValueError also for duplicate (user, item) pairs.
    TypeError
        ``dtype`` is not float32 or float64.
    """
    dtype = check_value_dtype(dtype)
    side_features = check_bool("side_features", side_features)
    ratings = _ratings_file(path)
    frame = read_movielens_frame(ratings)
    data = Interactions.from_frame(frame, user="user", item="item", rating="rating",
                                   timestamp="timestamp", dtype=dtype)
    if not side_features:
        return data
    users, items = read_movielens_features(ratings.parent)
    return data.with_features(None if users is None else users.reindex(data.user_ids),
                              None if items is None else items.reindex(data.item_ids))


# ============================================================ MovieLens download

_URL = "https://files.grouplens.org/datasets/movielens/{name}.zip"


class _MovieLensZip(NamedTuple):
    folder: str  # top-level folder inside the zip
    ratings: str  # ratings file inside that folder
    sha256: str | None  # None: only check that the zip opens


#: The downloadable MovieLens data sets. SHA-256 of the official zips as
#: recorded by TensorFlow Datasets' url_checksums/movielens.txt (ml-10m: as
#: pinned by several independent projects next to GroupLens' published MD5).
MOVIELENS_DATASETS = {
    "ml-100k": _MovieLensZip(
        "ml-100k", "u.data",
        "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229"),
    "ml-1m": _MovieLensZip(
        "ml-1m", "ratings.dat",
        "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20"),
    "ml-10m": _MovieLensZip(
        "ml-10M100K", "ratings.dat",
        "813c411ccb6122564edfe752e7f80c4dcc5aa25fa94c93622f6877a7ba252862"),
    "ml-20m": _MovieLensZip(
        "ml-20m", "ratings.csv",
        "96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3"),
    "ml-25m": _MovieLensZip(
        "ml-25m", "ratings.csv",
        "8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa"),
    "ml-latest-small": _MovieLensZip(
        "ml-latest-small", "ratings.csv",
        "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436"),
}


class DownloadError(OSError):
    """A data set could not be downloaded (offline, server down, HTTP error)."""


def get_data_home(data_home=None):
    """The cache directory of :func:`fetch_movielens` (created if missing).

    ``data_home`` if given, else the environment variable ``FASTCF_DATA``,
    else ``~/fastcf_data``.
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or Path("~") / "fastcf_data"
    home = Path(data_home).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


def _download(url, dest):
    """Stream ``url`` into the file ``dest`` (tests replace this function)."""
    from tqdm.auto import tqdm

    with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=Path(dest).name,
                  disable=None) as bar:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                bar.update(len(chunk))


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _verify_zip(zip_path, expected):
    """Check ``zip_path`` against ``expected`` (or that it opens); remove it if bad."""
    if expected is not None:
        actual = _sha256(zip_path)
        if actual != expected:
            zip_path.unlink()
            raise ValueError(
                f"{zip_path} has SHA-256 {actual}, expected {expected}; the file was corrupt "
                "or is not the official one and has been removed. Call fetch_movielens again "
                f"to download it anew, or put a good copy at {zip_path}."
            )
    if not zipfile.is_zipfile(zip_path):
        zip_path.unlink()
        raise ValueError(f"{zip_path} is not a zip file; it has been removed.")


def fetch_movielens(name="ml-100k", data_home=None, *, dtype=np.float64, side_features=False):
    """Download (once) a MovieLens data set from GroupLens and load its ratings.

    The zip ``https://files.grouplens.org/datasets/movielens/{name}.zip`` is
    downloaded into the cache directory, its SHA-256 checked against the
    value pinned in :data:`MOVIELENS_DATASETS`, extracted there, and removed.
    Later calls find the extracted ratings file and do not download again. A
    zip put in the cache directory by hand (``<data_home>/<name>.zip``) is
    verified and used instead of downloading. Every known data set has a
    pinned checksum; a data set registered with ``sha256=None`` would only be
    checked to open as a zip.

    Please respect the GroupLens licence (research use, no redistribution),
    given in the README of each zip.

    Parameters
    ----------
    name : {"ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-latest-small"}
    data_home : str or os.PathLike, optional
        Cache directory; default ``$FASTCF_DATA``, else ``~/fastcf_data``.
    dtype : {numpy.float32, numpy.float64}
        Dtype of the stored ratings.
    side_features : bool
        As in :func:`load_movielens`.

    Returns
    -------
    Interactions
        As :func:`load_movielens` of the extracted ratings file.

    Raises
    ------
    ValueError
        Unknown ``name``; checksum mismatch (the bad zip is removed).
    DownloadError
        The download failed (for example offline); the message says where to
        put a zip fetched by other means. A subclass of OSError.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}.")
    if name not in MOVIELENS_DATASETS:
        raise ValueError(f"name == {name!r}, must be one of {tuple(MOVIELENS_DATASETS)}.")
    dtype = check_value_dtype(dtype)
    spec = MOVIELENS_DATASETS[name]
    home = get_data_home(data_home)
    ratings = home / spec.folder / spec.ratings
    if not ratings.is_file():
        zip_path = home / f"{name}.zip"
        if not zip_path.is_file():
            url = _URL.format(name=name)
            partial = home / f"{name}.zip.part"
            logger.info("downloading %s to %s", url, zip_path)
            try:
                _download(url, partial)
            except (urllib.error.URLError, OSError) as exc:
                partial.unlink(missing_ok=True)
                raise DownloadError(
                    f"could not download {url} ({exc}). You seem to be offline or the server "
                    f"is unreachable: download the zip by other means and put it at {zip_path}, "
                    "then call fetch_movielens again."
                ) from exc
            partial.replace(zip_path)
        _verify_zip(zip_path, spec.sha256)
        _extract(zip_path, home, spec.folder)
        zip_path.unlink()
        if not ratings.is_file():
            raise ValueError(f"{zip_path} did not contain {spec.folder}/{spec.ratings}.")
    return load_movielens(ratings, dtype=dtype, side_features=side_features)


def _extract(zip_path, home, folder):
    """Extract into a scratch directory first, so a half-extracted folder never
    passes for a cached one."""
    scratch = home / f".{folder}.extracting"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(scratch)  # extractall drops absolute paths and ".." parts
        target = home / folder
        if (scratch / folder).is_dir():
            shutil.rmtree(target, ignore_errors=True)
            (scratch / folder).replace(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
