"""Interactions from a user's own file: delimited text (csv, tsv, gzip-compressed too) or parquet.

:func:`sniff_interactions` looks at the file and decides how to read it (format,
separator, header line, which column is the user, the item, the rating and the
timestamp), returning a :class:`FileLayout` that says what it assumed and why;
:func:`read_interactions` does that, logs the assumptions (INFO, logger
``fastcf.datasets.reader``) and reads the file.
"""

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._config import DEFAULT_DTYPE, SNIFF_LINES
from .._validation import check_bool, check_choice, check_value_dtype
from ..data import DUPLICATE_POLICIES, Interactions
from ._text import (
    WHITESPACE,
    head_lines,
    is_gzip,
    is_number,
    show_sep,
    sniff_sep,
    split_fields,
)

logger = logging.getLogger(__name__)

__all__ = ["FORMATS", "ROLES", "FileLayout", "read_interactions", "sniff_interactions"]

#: What a column can be.
ROLES = ("user", "item", "rating", "timestamp")
#: File formats read.
FORMATS = ("csv", "tsv", "parquet")
#: Header names recognised for each role, compared lower-cased with everything
#: but letters and digits removed (``user_id``, ``userId`` and ``User ID`` are ``userid``).
ALIASES = {
    "user": ("user", "userid", "uid", "u", "users", "username", "customer", "customerid",
             "visitorid", "reviewerid"),
    "item": ("item", "itemid", "iid", "i", "items", "movie", "movieid", "product",
             "productid", "asin", "track", "trackid", "song", "songid", "book", "bookid"),
    "rating": ("rating", "ratings", "score", "value", "stars", "rate", "r", "preference",
               "overall"),
    "timestamp": ("timestamp", "ts", "time", "t", "date", "datetime", "unixtime",
                  "unixreviewtime"),
}
_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet",
             ".pq": "parquet"}
_PARQUET_MAGIC = b"PAR1"


def _normalise(name):
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _role_of(name):
    key = _normalise(name)
    return next((role for role, names in ALIASES.items() if key in names), None)


@dataclass(frozen=True)
class FileLayout:
    """How a file of interactions is read, and why each choice was made.

    Attributes
    ----------
    path : pathlib.Path
    format : {"csv", "tsv", "parquet"}
    compressed : bool
        Gzip-compressed text.
    sep : str or None
        Field separator of a text file (``r"\\s+"``: runs of whitespace).
    header : bool
        The text file's first line names its columns (always True for parquet).
    names : tuple
        The file's columns: header names, or positions 0, 1, ... without a header.
    columns : dict
        Role (``"user"``, ``"item"``, ``"rating"``, ``"timestamp"``) -> entry
        of ``names``; no ``"rating"`` means implicit data.
    reasons : dict
        Choice (``"format"``, ``"sep"``, ``"header"``, ``"columns"``) -> why.
    """

    path: Path
    format: str
    compressed: bool
    sep: str | None
    header: bool
    names: tuple
    columns: dict
    reasons: dict

    @property
    def implicit(self):
        """True when no column holds ratings: every interaction counts 1."""
        return "rating" not in self.columns

    def describe(self):
        """One line saying how the file is read and why: what a reader should check."""
        fmt = self.format + (", gzip-compressed" if self.compressed else "")
        parts = [f"format {fmt} ({self.reasons['format']})"]
        if self.format != "parquet":
            parts.append(f"separator {show_sep(self.sep)} ({self.reasons['sep']})")
            parts.append(("a header line" if self.header else "no header line")
                         + f" ({self.reasons['header']})")
        shown = ", ".join(f"{role} = {_show_column(col, self.header)}"
                          for role, col in self.columns.items())
        parts.append(f"columns {shown} ({self.reasons['columns']})")
        ignored = [_show_column(c, self.header) for c in self.names
                   if c not in self.columns.values()]
        if ignored:
            parts.append("ignored " + ", ".join(ignored))
        if self.implicit:
            parts.append("no rating column: implicit data, every interaction counts 1")
        return f"{self.path.name}: " + "; ".join(parts) + "."

    def read(self, *, dtype=DEFAULT_DTYPE, duplicates="error"):
        """Read the file as this layout says.

        Parameters
        ----------
        dtype, duplicates
            As in :meth:`fastcf.data.Interactions.from_frame`.

        Returns
        -------
        Interactions

        Raises
        ------
        ValueError
            A row that does not parse, a missing id, a rating that is not a
            number (or NaN / inf), a timestamp that is neither a number nor a
            date, a file without rows, duplicate (user, item) pairs.
        ImportError
            A parquet file and neither pyarrow nor fastparquet installed.
        """
        dtype = check_value_dtype(dtype)  # before reading a large file, not after
        check_choice("duplicates", duplicates, DUPLICATE_POLICIES)
        if self.format == "parquet":
            raw = pd.read_parquet(self.path, engine=_parquet_engine(),
                                  columns=list(self.columns.values()))
            raw.columns = [self.names.index(c) for c in raw.columns]
        else:
            raw = self._read_text()
        if raw.empty:
            raise ValueError(f"{self.path} has no rows"
                             + (" below its header." if self.header else "."))
        frame = pd.DataFrame({role: _checked(raw[self.names.index(col)], role, col, self)
                              for role, col in self.columns.items()})
        return Interactions.from_frame(
            frame, user="user", item="item", rating=None if self.implicit else "rating",
            timestamp="timestamp" if "timestamp" in self.columns else None, dtype=dtype,
            duplicates=duplicates)

    def _read_text(self):
        """The columns in use, labelled by position (header names may repeat or carry
        spaces that the sniffed names do not)."""
        sep = self.sep
        kwargs = {"sep": sep, "header": 0 if self.header else None,
                  "names": range(len(self.names)),
                  "usecols": sorted(self.names.index(c) for c in self.columns.values()),
                  "compression": "gzip" if self.compressed else None,
                  "encoding": "utf-8-sig", "skipinitialspace": True,
                  # the C parser takes one character or \s+; "::" needs the python one
                  "engine": "python" if len(sep) > 1 and sep != WHITESPACE else "c"}
        try:
            return pd.read_csv(self.path, **kwargs)
        except (ValueError, OverflowError) as exc:  # pandas' ParserError is a ValueError
            raise ValueError(f"{self.path} does not parse as {self.format} with separator "
                             f"{show_sep(sep)}: {exc}") from exc


def _show_column(column, header):
    return repr(column) if header else f"column {column + 1}"


def _first_bad(mask):
    return int(np.argmax(mask)) + 1


def _checked(values, role, column, layout):
    """``values`` of ``role`` checked: no missing id, numeric finite ratings, times."""
    where = f"{layout.path}: the {role} column ({_show_column(column, layout.header)})"
    missing = values.isna().to_numpy()
    if missing.any():
        raise ValueError(f"{where} is empty or NaN in {int(missing.sum())} rows (first at "
                         f"data row {_first_bad(missing)}).")
    if role in ("user", "item"):
        return values
    if role == "rating" or pd.api.types.is_numeric_dtype(values.dtype):
        numbers = pd.to_numeric(values, errors="coerce")
        bad = numbers.isna().to_numpy()
        if bad.any():
            row = _first_bad(bad)
            raise ValueError(f"{where} holds {values.iloc[row - 1]!r} at data row {row}, "
                             "not a number.")
        infinite = ~np.isfinite(numbers.to_numpy(dtype=np.float64))
        if infinite.any():
            raise ValueError(f"{where} holds {int(infinite.sum())} infinite values (first at "
                             f"data row {_first_bad(infinite)}).")
        return numbers
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    times = pd.to_datetime(values, errors="coerce", format="mixed")
    bad = times.isna().to_numpy()
    if bad.any():
        row = _first_bad(bad)
        raise ValueError(f"{where} holds {values.iloc[row - 1]!r} at data row {row}, neither "
                         "a number nor a date.")
    return times


def _parquet_engine():
    for engine in ("pyarrow", "fastparquet"):
        try:
            __import__(engine)
        except ImportError:
            continue
        return engine
    raise ImportError("reading parquet files needs pyarrow (or fastparquet), which is not "
                      "installed: pip install pyarrow.")


def _parquet_names(path, engine):
    if engine == "pyarrow":
        import pyarrow.parquet as pq

        return tuple(pq.read_schema(path).names)
    import fastparquet

    return tuple(fastparquet.ParquetFile(path).columns)


def _sniff_header(rows, columns):
    """``(header, why)`` from the first rows' fields."""
    first, rest = rows[0], rows[1:]
    named = [f for f in first if _role_of(f)]
    if named:
        return True, f"sniffed: its first line names {named[0]!r}"
    if isinstance(columns, dict) and any(isinstance(c, str) for c in columns.values()):
        return True, "columns= names header columns"
    if not any(is_number(f) for f in first):  # a line of data with ids only may hold no number
        for j, field in enumerate(first):
            below = [row[j] for row in rest if j < len(row)]
            if below and all(is_number(v) for v in below):
                return True, f"sniffed: its first line is text above numbers ({field!r})"
    return False, "sniffed: the first line holds data"


def _detect_format(path, suffixes):
    """``(format, compressed, why)`` from the suffix, else the first bytes."""
    compressed = is_gzip(path)
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in _SUFFIXES:
        return _SUFFIXES[suffixes[-1]], compressed, f"from the suffix {suffixes[-1]!r}"
    with open(path, "rb") as f:
        if f.read(4) == _PARQUET_MAGIC:
            return "parquet", False, "its first bytes are parquet's"
    return None, compressed, "sniffed from its content"


def _resolve_columns(columns, names, header, path, implicit):
    """Role -> column (an entry of ``names``) and why, with ``implicit`` applied."""
    mapping, why = _match_columns(columns, names, header, path)
    if implicit and "rating" in mapping:
        del mapping["rating"]
        why += "; rating column dropped (implicit=True)"
    elif implicit is False and "rating" not in mapping:
        raise ValueError(f"{path}: no rating column among {list(names)}; implicit=False needs "
                         "one: say which it is with columns=.")
    return mapping, why


def _match_columns(columns, names, header, path):
    if columns is None:
        if header:
            found = {}
            for name in names:
                role = _role_of(name)
                if role is not None and role not in found:
                    found[role] = name
            for role in ("user", "item"):
                if role not in found:
                    raise ValueError(
                        f"{path}: no {role} column among {list(names)} (usual names: "
                        f"{', '.join(ALIASES[role][:4])}); say which it is with columns=, "
                        f"e.g. columns={{'user': {names[0]!r}, 'item': {names[-1]!r}}}.")
            return {role: found[role] for role in ROLES if role in found}, "matched by name"
        if not 2 <= len(names) <= 4:
            raise ValueError(f"{path} has {len(names)} columns and no header line; say which is "
                             "which with columns=, e.g. columns=['user', 'item', 'rating', None, "
                             "'timestamp'] (None: a column to skip).")
        return dict(zip(ROLES, names)), f"{len(names)} columns without header: by position"
    if isinstance(columns, (list, tuple)):
        if len(columns) > len(names):
            raise ValueError(f"columns lists {len(columns)} columns but {path} has "
                             f"{len(names)}.")
        mapping = {}
        for position, role in enumerate(columns):
            if role is None:
                continue
            if role not in ROLES:
                raise ValueError(f"columns[{position}] == {role!r}, must be one of {ROLES} "
                                 "or None.")
            if role in mapping:
                raise ValueError(f"columns names the {role} column twice.")
            mapping[role] = names[position]
    elif isinstance(columns, dict):
        mapping = {}
        for role, column in columns.items():
            if role not in ROLES:
                raise ValueError(f"columns has the key {role!r}, must be one of {ROLES}.")
            if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
                if not 0 <= column < len(names):
                    raise ValueError(f"columns[{role!r}] == {column}, must lie in "
                                     f"[0, {len(names)}) (positions count from 0).")
                mapping[role] = names[column]
            elif isinstance(column, str):
                if not header or column not in names:
                    raise ValueError(f"columns[{role!r}] == {column!r} is not a column of "
                                     f"{path} (its columns: "
                                     f"{list(names) if header else 'no header line'}).")
                mapping[role] = column
            else:
                raise TypeError(f"columns[{role!r}] must be a column name (str) or position "
                                f"(int), got {type(column).__name__}.")
        if header:  # the roles not given are still matched by name
            for name in names:
                role = _role_of(name)
                if role is not None and role not in mapping and name not in mapping.values():
                    mapping[role] = name
    else:
        raise TypeError("columns must be a list of roles or a dict {role: column}, got "
                        f"{type(columns).__name__}.")
    for role in ("user", "item"):
        if role not in mapping:
            raise ValueError(f"columns gives no {role} column; user and item are required.")
    taken = list(mapping.values())
    if len(set(taken)) != len(taken):
        raise ValueError(f"columns puts two roles on one column: {mapping}.")
    return {role: mapping[role] for role in ROLES if role in mapping}, "as given"


def sniff_interactions(path, *, sep=None, columns=None, header=None, format=None,
                       implicit=None):
    """Decide how :func:`read_interactions` reads ``path``, without reading it all.

    Parameters are those of :func:`read_interactions`.

    Returns
    -------
    FileLayout
        The decisions, with :meth:`FileLayout.describe` saying what was
        assumed and :meth:`FileLayout.read` reading the file.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}.")
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist.")
    if path.is_dir():
        raise ValueError(f"{path} is a directory; pass the file of interactions itself.")
    if format is not None:
        check_choice("format", format, FORMATS)
    if header is not None:
        header = check_bool("header", header)
    if sep is not None and (not isinstance(sep, str) or not sep):
        raise TypeError(f"sep must be a non-empty str, got {sep!r}.")
    if implicit is not None:
        implicit = check_bool("implicit", implicit)

    if format is None:
        format, compressed, format_why = _detect_format(path, [s.lower() for s in path.suffixes])
    else:
        compressed, format_why = format != "parquet" and is_gzip(path), "given"
    if format == "parquet":
        if sep is not None or header is False:
            raise ValueError(f"{path} is parquet: its columns are named, so sep= and "
                             "header=False do not apply.")
        names = _parquet_names(path, _parquet_engine())
        if not names:
            raise ValueError(f"{path} has no columns.")
        mapping, columns_why = _resolve_columns(columns, names, True, path, implicit)
        return FileLayout(path, "parquet", False, None, True, names, mapping,
                          {"format": format_why, "columns": columns_why})

    lines = head_lines(path, SNIFF_LINES, compressed=compressed)
    if not lines:
        raise ValueError(f"{path} is empty.")
    if sep is not None:
        sep_why = "given"
    elif format == "tsv":
        sep, sep_why = "\t", "tsv"
    else:
        sep, sep_why = sniff_sep(lines, path), "sniffed"
    if format is None:
        format = "tsv" if sep == "\t" else "csv"
    rows = [split_fields(line, sep) for line in lines]
    if header is None:
        header, header_why = _sniff_header(rows, columns)
    else:
        header_why = "given"
    names = tuple(f.strip() for f in rows[0]) if header else tuple(range(len(rows[0])))
    mapping, columns_why = _resolve_columns(columns, names, header, path, implicit)
    return FileLayout(path, format, compressed, sep, header, names, mapping,
                      {"format": format_why, "sep": sep_why, "header": header_why,
                       "columns": columns_why})


def read_interactions(path, *, sep=None, columns=None, header=None, format=None,
                      implicit=None, dtype=DEFAULT_DTYPE, duplicates="error"):
    """Read user-item interactions from a csv, tsv or parquet file.

    What is not given is sniffed from the file, and what was assumed is logged
    (INFO, logger ``fastcf.datasets.reader``; :func:`sniff_interactions`
    returns it without reading the file):

    - the format, from the suffix (``.csv``, ``.tsv``, ``.tab``, ``.parquet``,
      ``.pq``, each optionally followed by ``.gz``), else from the content;
    - the separator, the first of tab, comma, semicolon, ``|``, ``::`` and
      whitespace that splits the first lines into the same number of fields;
    - a header line: the first line names a known column, or holds text
      above numbers;
    - the columns: with a header, by name (``user``, ``user_id``, ``userId``,
      ``uid``; ``item``, ``item_id``, ``movieId``, ``iid``; ``rating``,
      ``score``, ``value``; ``timestamp``, ``ts``, ``time``; case and
      punctuation ignored); without one, by position: user, item, then
      rating and timestamp when there are 3 or 4 columns. Two columns are
      implicit data.

    Parameters
    ----------
    path : str or os.PathLike
    sep : str, optional
        Field separator of a text file (``r"\\s+"`` for runs of whitespace).
    columns : list or dict, optional
        A list gives the role of each column in order, ``None`` for a column
        to skip: ``["user", "item", None, "rating"]``. A dict maps roles to
        column names or 0-based positions: ``{"user": "uid", "rating": 3}``;
        with a header, the roles it leaves out are still matched by name.
    header : bool, optional
        Whether the first line of a text file names the columns.
    format : {"csv", "tsv", "parquet"}, optional
    implicit : bool, optional
        None: implicit exactly when there is no rating column. True: ignore
        any rating column. False: require one.
    dtype : {numpy.float32, numpy.float64}
        Dtype of the stored ratings.
    duplicates : {"error", "last", "mean", "sum"}
        What to do with repeated (user, item) pairs, as in
        :meth:`fastcf.data.Interactions.from_frame`.

    Returns
    -------
    Interactions
        Ids as read (integers when every id is one, else strings); timestamps
        as int64 seconds (dates are converted).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    TypeError
        An argument of the wrong type.
    ValueError
        An unknown ``format``; an empty file; no separator found; no user or
        item column found (or one ``columns`` names that does not exist); a
        line that does not parse; a missing id; a rating that is not a
        number, NaN or inf; duplicate pairs with ``duplicates="error"``.
    ImportError
        A parquet file and neither pyarrow nor fastparquet installed.

    Examples
    --------
    >>> data = read_interactions("ratings.tsv")  # doctest: +SKIP
    >>> data = read_interactions("clicks.csv", columns={"user": "visitor",
    ...                                                 "item": "page"})  # doctest: +SKIP
    """
    layout = sniff_interactions(path, sep=sep, columns=columns, header=header, format=format,
                                implicit=implicit)
    logger.info("reading %s", layout.describe())
    return layout.read(dtype=dtype, duplicates=duplicates)

