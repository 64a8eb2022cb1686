"""MovieLens side information: the user and item files GroupLens ships, as ``Features``.

- ML-100K: ``u.user`` (``id|age|gender|occupation|zip``) and ``u.item``
  (``id|title|release date|video release date|IMDb URL|`` then 19 genre flags),
  with ``u.genre`` / ``u.occupation`` naming the genres and occupations when
  present; '|'-separated, latin-1.
- ML-1M: ``users.dat`` (``id::gender::age code::occupation code::zip``) and
  ``movies.dat`` (``id::title::genre|genre``); ML-10M has ``movies.dat`` only.
- ML-20M, ML-25M, ml-latest: ``movies.csv`` (``movieId,title,genres``); they have
  no user attributes.

Users get one-hot ``age=`` buckets (ML-1M's seven, ML-100K's ages put in the same
buckets so both data sets share the names), ``gender=`` and ``occupation=``
(optionally ``zip=`` prefixes); items get ``genre=`` flags (optionally the
release ``decade=``). Everything is 0/1: a raw age or year would outweigh the
flags in a model that sums feature embeddings weighted by their values.
"""

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_bool, check_int, check_value_dtype
from ..features import Features

__all__ = ["ML1M_AGES", "ML1M_OCCUPATIONS", "SIDE_FILES", "read_movielens_features"]

#: The side files looked for, per data set family: (users file, items file).
SIDE_FILES = (("u.user", "u.item"), ("users.dat", "movies.dat"), (None, "movies.csv"))

#: ML-1M's age codes and what they stand for (its README).
ML1M_AGES = {1: "Under 18", 18: "18-24", 25: "25-34", 35: "35-44", 45: "45-49", 50: "50-55",
             56: "56+"}
#: ML-1M's occupation codes (its README).
ML1M_OCCUPATIONS = (
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
    "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer")
#: ML-100K's genres in flag order, used when the folder has no ``u.genre``.
ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western")
_AGE_LABELS = list(ML1M_AGES.values())
_AGE_BOUNDS = np.array(list(ML1M_AGES)[1:])  # an age below 18 -> bucket 0, 18..24 -> 1, ...
_YEAR = re.compile(r"\((\d{4})[^()]*\)\s*$")  # "Toy Story (1995)", "Babylon 5 (1994-1998)"


def _lines(path):
    """``(line number, line)`` of the non-blank lines; UTF-8, else latin-1 (ML-100K, ML-1M)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return [(n, line) for n, line in enumerate(text.lstrip("\ufeff").splitlines(), 1)
            if line.strip()]


def _int(path, n, field, what):
    text = field.strip()
    if not (text.isdigit() or (text[:1] == "-" and text[1:].isdigit())):
        raise ValueError(f"{path}, line {n}: {what} {field!r} is not an integer.")
    return int(text)


def _fields(path, n, line, sep, count, layout):
    fields = line.rstrip("\r\n").split(sep)
    if len(fields) != count:
        raise ValueError(f"{path}, line {n}: expected {count} {sep!r}-separated fields "
                         f"({layout}), got {len(fields)}.")
    return fields


def _named_list(path, what):
    """The names of ``u.genre`` / ``u.occupation`` (``name|index`` or one name a line)."""
    names = []
    for n, line in _lines(path):
        name, _, index = line.partition("|")
        if index and _int(path, n, index, "index") != len(names):
            raise ValueError(f"{path}, line {n}: {what} index {index.strip()} out of order "
                             f"(expected {len(names)}).")
        names.append(name.strip())
    if not names:
        raise ValueError(f"{path} is empty; expected one {what} a line.")
    return names


def _decade(year):
    return None if year is None else f"{year // 10 * 10}s"


def _title_year(title):
    match = _YEAR.search(title)
    return int(match.group(1)) if match else None


def _checked_frame(rows, columns, path):
    frame = pd.DataFrame(rows, columns=columns)
    repeated = frame[columns[0]].duplicated()
    if repeated.any():
        first = frame[columns[0]][repeated].iloc[0]
        raise ValueError(f"{path}: id {first} appears on more than one line.")
    if frame.empty:
        raise ValueError(f"{path} has no records.")
    return frame


# ------------------------------------------------------------------------ users
def _users_100k(path, occupations, zip_digits):
    layout = "user id|age|gender|occupation|zip code"
    rows = []
    for n, line in _lines(path):
        uid, age, gender, occupation, zipcode = _fields(path, n, line, "|", 5, layout)
        age = _int(path, n, age, "age")
        if age < 0:
            raise ValueError(f"{path}, line {n}: age {age} is negative.")
        occupation = occupation.strip()
        if occupations is not None and occupation not in occupations:
            raise ValueError(f"{path}, line {n}: occupation {occupation!r} is not listed in "
                             "u.occupation.")
        rows.append((_int(path, n, uid, "user id"), _AGE_LABELS[np.searchsorted(
            _AGE_BOUNDS, age, side="right")], gender.strip(), occupation, zipcode.strip()))
    return _user_frame(rows, path, occupations, zip_digits)


def _users_1m(path, zip_digits):
    layout = "UserID::Gender::Age::Occupation::Zip-code"
    rows = []
    for n, line in _lines(path):
        uid, gender, age, occupation, zipcode = _fields(path, n, line, "::", 5, layout)
        age, occupation = _int(path, n, age, "age code"), _int(path, n, occupation,
                                                                "occupation code")
        if age not in ML1M_AGES:
            raise ValueError(f"{path}, line {n}: age code {age} is not one of "
                             f"{sorted(ML1M_AGES)}.")
        if not 0 <= occupation < len(ML1M_OCCUPATIONS):
            raise ValueError(f"{path}, line {n}: occupation code {occupation} is not in "
                             f"[0, {len(ML1M_OCCUPATIONS)}).")
        rows.append((_int(path, n, uid, "user id"), ML1M_AGES[age], gender.strip(),
                     ML1M_OCCUPATIONS[occupation], zipcode.strip()))
    return _user_frame(rows, path, ML1M_OCCUPATIONS, zip_digits)


def _user_frame(rows, path, occupations, zip_digits):
    frame = _checked_frame(rows, ["user", "age", "gender", "occupation", "zip"], path)
    frame["age"] = pd.Categorical(frame["age"], categories=_AGE_LABELS)
    if occupations is not None:
        frame["occupation"] = pd.Categorical(frame["occupation"], categories=list(occupations))
    if zip_digits:
        frame["zip"] = frame["zip"].str[:zip_digits].str.upper()
    else:
        frame = frame.drop(columns="zip")
    return frame


# ------------------------------------------------------------------------ items
def _items_100k(path, genres, decades):
    layout = f"movie id|title|release date|video release date|IMDb URL|{len(genres)} genre flags"
    rows = []
    for n, line in _lines(path):
        fields = _fields(path, n, line, "|", 5 + len(genres), layout)
        flags = fields[5:]
        bad = [f for f in flags if f.strip() not in ("0", "1")]
        if bad:
            raise ValueError(f"{path}, line {n}: genre flag {bad[0]!r} is not 0 or 1.")
        release = re.search(r"(\d{4})\s*$", fields[2])
        year = int(release.group(1)) if release else _title_year(fields[1])
        rows.append((_int(path, n, fields[0], "movie id"),
                     "|".join(g for g, f in zip(genres, flags) if f.strip() == "1"),
                     _decade(year)))
    return _item_frame(rows, path, decades)


def _items_dat(path, decades):
    rows = []
    for n, line in _lines(path):
        fields = line.split("::")
        if len(fields) < 3:
            raise ValueError(f"{path}, line {n}: expected 3 '::'-separated fields "
                             f"(MovieID::Title::Genres), got {len(fields)}.")
        title = "::".join(fields[1:-1])
        rows.append((_int(path, n, fields[0], "movie id"), fields[-1].strip(),
                     _decade(_title_year(title))))
    return _item_frame(rows, path, decades)


def _items_csv(path, decades):
    lines = _lines(path)
    if not lines or [f.strip().lower() for f in lines[0][1].split(",")] != [
            "movieid", "title", "genres"]:
        raise ValueError(f"{path}: expected the header 'movieId,title,genres'.")
    rows = []
    for (n, _), fields in zip(lines[1:], csv.reader(line for _, line in lines[1:])):
        if len(fields) != 3:
            raise ValueError(f"{path}, line {n}: expected 3 comma-separated fields "
                             f"(movieId,title,genres), got {len(fields)}.")
        rows.append((_int(path, n, fields[0], "movieId"), fields[2].strip(),
                     _decade(_title_year(fields[1]))))
    return _item_frame(rows, path, decades)


def _item_frame(rows, path, decades):
    frame = _checked_frame(rows, ["item", "genre", "decade"], path)
    return frame if decades else frame.drop(columns="decade")


# ----------------------------------------------------------------------- public
def _side_folder(path):
    """The folder of ``path`` (itself, or one level down) that holds side files."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; expected a MovieLens folder.")
    if not path.is_dir():
        path = path.parent
    names = [name for pair in SIDE_FILES for name in pair if name is not None]
    # Extracted zips put the files one level down (ml-100k/ml-100k/u.item).
    for folder in [path, *sorted(p for p in path.iterdir() if p.is_dir())]:
        if any((folder / name).is_file() for name in names):
            return folder
    raise ValueError(f"{path} holds no MovieLens side file ({', '.join(names)}), nor do its "
                     "subdirectories.")


def read_movielens_features(path, *, decades=False, zip_digits=0, dtype=np.float32):
    """Read the user and item attributes of a MovieLens folder.

    Parameters
    ----------
    path : str or os.PathLike
        A MovieLens folder (or a file in it, such as its ratings file); its
        side files may also be one level down.
    decades : bool
        Add the release decade of each movie (``decade=1990s``; from the
        release date of ``u.item``, else the year in the title; none when
        neither has one).
    zip_digits : int
        Add the first ``zip_digits`` characters of each user's zip code
        (``zip=9``); 0 (the default) leaves the zip codes out.
    dtype : {numpy.float32, numpy.float64}

    Returns
    -------
    (user_features, item_features) : (Features or None, Features or None)
        Ids are MovieLens' integer ids; None where the folder has no such
        file (ML-10M, ML-20M, ML-25M and ml-latest have no user file).

        - users: ``age=`` (ML-1M's buckets: ``Under 18``, ``18-24``, ...,
          ``56+``, every bucket a column), ``gender=F`` / ``gender=M``,
          ``occupation=`` (the names of ``u.occupation`` in its order, or
          ML-1M's 21 names; without ``u.occupation``, the names found,
          sorted), then ``zip=`` if asked;
        - items: ``genre=`` (sorted; ``u.genre`` names ML-100K's flags when
          present), then ``decade=`` if asked.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        No side file; a line that does not parse (the message names the
        file and the line); an id on two lines.
    """
    decades = check_bool("decades", decades)
    zip_digits = check_int("zip_digits", zip_digits, min_value=0)
    dtype = check_value_dtype(dtype)
    folder = _side_folder(path)
    users = items = None
    if (folder / "u.user").is_file():
        occupations = (_named_list(folder / "u.occupation", "occupation")
                       if (folder / "u.occupation").is_file() else None)
        users = _users_100k(folder / "u.user", occupations, zip_digits)
    elif (folder / "users.dat").is_file():
        users = _users_1m(folder / "users.dat", zip_digits)
    if (folder / "u.item").is_file():
        genres = (_named_list(folder / "u.genre", "genre") if (folder / "u.genre").is_file()
                  else ML100K_GENRES)
        items = _items_100k(folder / "u.item", genres, decades)
    elif (folder / "movies.dat").is_file():
        items = _items_dat(folder / "movies.dat", decades)
    elif (folder / "movies.csv").is_file():
        items = _items_csv(folder / "movies.csv", decades)
    features = []
    for frame, key in ((users, "user"), (items, "item")):
        features.append(None if frame is None else Features.from_frame(
            frame, key, categorical=[c for c in frame.columns if c != key],
            sep={"genre": "|"} if key == "item" else None, dtype=dtype))
    return tuple(features)
