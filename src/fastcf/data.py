"""``Interactions``: the user x item data every fastcf model consumes.

It holds the interactions twice, as CSR by user and CSR by item (both with
sorted indices), maps any hashable external ids to dense internal indices and
back, and keeps optional timestamps. Ratings are float32 or float64; implicit
data (no rating column) is first-class and stores ones.
"""

from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._config import DEFAULT_DTYPE
from ._validation import check_choice, check_value_dtype, describe_unknown
from .features import NEW_ID_POLICIES, attach, remap_csr

DUPLICATE_POLICIES = ("error", "last", "mean", "sum")


class CSR(NamedTuple):
    """The three arrays of a CSR matrix plus its shape (kernels take these)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    shape: tuple

    def to_scipy(self):
        """The same matrix as a ``scipy.sparse.csr_matrix`` (shares memory)."""
        return sp.csr_matrix((self.data, self.indices, self.indptr), shape=self.shape, copy=False)


class Orientation(NamedTuple):
    """The rows of one axis of an :class:`Interactions` (see ``Interactions.orientation``)."""

    rows: CSR  # users x items for "user", items x users for "item"
    n_cols: int
    #: The other orientation as a transpose of ``rows``: ``(indptr, indices, order,
    #: where)`` with ``order[p]`` the ``rows`` entry at its position ``p`` and
    #: ``where[e]`` the position of ``rows`` entry ``e`` in it.
    transposed: tuple


def _readonly(array):
    array.flags.writeable = False
    return array


def index_dtype_for(*sizes):
    return np.int32 if max(sizes) < np.iinfo(np.int32).max else np.int64


def _factorize_ids(values, name):
    """Dense codes for ``values``; the unique ids are sorted when they sort."""
    if not isinstance(values, (np.ndarray, pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
        values = pd.Series(values)  # lists etc.: infer a dtype without stringifying ints
    codes, uniques = pd.factorize(values, sort=False)
    missing = codes < 0
    if missing.any():
        raise ValueError(
            f"{name} contain {int(missing.sum())} missing ids (first at row "
            f"{int(np.argmax(missing))}); drop or fill them first."
        )
    uniques = np.asarray(uniques)
    try:
        order = np.argsort(uniques, kind="stable")
    except TypeError:  # ids of mixed, unorderable types: keep first-seen order
        return codes, uniques
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[codes], uniques[order]


def _check_id_array(ids, n, name):
    ids = np.asarray(ids)
    if ids.ndim != 1 or len(ids) != n:
        raise ValueError(f"{name} has shape {ids.shape}, must be ({n},).")
    index = pd.Index(ids)
    if index.hasnans:
        raise ValueError(f"{name} contain missing ids.")
    if not index.is_unique:
        raise ValueError(f"{name} contain {int(index.duplicated().sum())} repeated ids.")
    return ids.copy()


def _as_ratings(values, name, what):
    if isinstance(values, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)) and (
            pd.api.types.is_numeric_dtype(values.dtype)
            and not pd.api.types.is_bool_dtype(values.dtype)):
        values = values.to_numpy(dtype=np.float64, na_value=np.nan)  # nullable Int64, Float64
    arr = np.asarray(values)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}.")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"{name} contain {int(bad.sum())} NaN/inf values (first at {what} "
            f"{int(np.argmax(bad))}); drop or fill them first."
        )
    return arr


def _as_timestamps(values, name, what):
    """Timestamps as int64 seconds (datetimes, integers) or float64."""
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.DatetimeIndex(values)
        if stamps.tz is not None:
            stamps = stamps.tz_convert(None)
        missing = np.asarray(stamps.isna())
        if missing.any():
            raise ValueError(
                f"{name} contain {int(missing.sum())} missing times (first at {what} "
                f"{int(np.argmax(missing))})."
            )
        return stamps.to_numpy().astype("datetime64[s]").astype(np.int64)
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        _as_ratings(arr, name, what)
        return arr.astype(np.float64)
    raise TypeError(f"{name} must be numeric or datetime, got dtype {arr.dtype}.")


class Interactions:
    """User x item interactions with id maps, CSR by user and CSR by item.

    Build one with :meth:`from_frame`, :meth:`from_arrays` or :meth:`from_csr`
    (or get one from :func:`fastcf.datasets.make_ratings`); the constructor
    itself trusts its arguments and is for fastcf's own use. An
    ``Interactions`` is immutable: its arrays are read-only.

    Attributes
    ----------
    by_user : CSR
        Shape (n_users, n_items); ``data`` holds the ratings (ones when implicit).
    by_item : CSR
        Shape (n_items, n_users), built on first use.
    timestamps : ndarray of shape (nnz,) or None
        Aligned with ``by_user`` entries.
    input_order : ndarray of int64, shape (nnz,)
        For each ``by_user`` entry, a key that sorts the entries in the order
        of the input they were built from (the frame's or arrays' rows, the COO
        entries of a matrix; a combined duplicate counts at its last row): the
        input rows themselves, or ``arange(nnz)`` when the input came in
        ``by_user`` order. Subsets (:meth:`take`, the splits) keep their
        entries' keys, so the input's order survives them; Surprise's
        algorithms visit ratings in that order (:mod:`fastcf._surprise`).
    user_ids, item_ids : ndarray
        External ids in internal order (sorted when the ids are sortable).
    implicit : bool
        True when there is no rating column.
    user_features, item_features : Features or None
        Side information set by :meth:`with_features`: one row per user
        (item) in internal order (``ids`` equal to ``user_ids`` /
        ``item_ids``); :meth:`take` and the splits keep it.
    """

    def __init__(self, indptr, indices, values, user_ids, item_ids, timestamps=None,
                 implicit=False, input_rows=None):
        n_users, n_items = len(user_ids), len(item_ids)
        # None: the input was already in by_user order (no array kept for it)
        self._input_rows = None if input_rows is None else _readonly(input_rows)
        self.by_user = CSR(_readonly(indptr), _readonly(indices), _readonly(values),
                           (n_users, n_items))
        self.user_ids = _readonly(user_ids)
        self.item_ids = _readonly(item_ids)
        self.timestamps = None if timestamps is None else _readonly(timestamps)
        self.implicit = bool(implicit)
        self._by_item = None
        self._item_order = None
        self._user_order = None
        self._user_lookup = None
        self._item_lookup = None
        self.user_features = None
        self.item_features = None

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_frame(cls, df, user="user", item="item", rating=None, timestamp=None, *,
                   dtype=DEFAULT_DTYPE, duplicates="error"):
        """Build from a DataFrame with one row per interaction.

        Parameters
        ----------
        df : pandas.DataFrame
        user, item : str
            Column names of the (hashable) user and item ids.
        rating : str, optional
            Column of numeric ratings; without it the data is implicit.
        timestamp : str, optional
            Column of numeric or datetime times (stored as int64 seconds).
        dtype : {float32, float64}
            Dtype of the stored ratings.
        duplicates : {"error", "last", "mean", "sum"}
            What to do with repeated (user, item) pairs; "mean" and "sum"
            keep the latest timestamp.

        Raises
        ------
        TypeError
            ``df`` is not a DataFrame, or a column has the wrong type.
        ValueError
            Missing column, empty frame, missing ids, NaN/inf ratings, duplicates.
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}.")
        columns = {"user": user, "item": item, "rating": rating, "timestamp": timestamp}
        for role, col in columns.items():
            if col is not None and col not in df.columns:
                raise ValueError(f"{role} column {col!r} not in the frame's columns "
                                 f"{list(df.columns)}.")
        return cls.from_arrays(
            df[user],
            df[item],
            None if rating is None else df[rating],
            None if timestamp is None else df[timestamp],
            dtype=dtype,
            duplicates=duplicates,
            _names=(f"column {user!r}", f"column {item!r}", f"column {rating!r}",
                    f"column {timestamp!r}"),
        )

    @classmethod
    def from_arrays(cls, users, items, ratings=None, timestamps=None, *,
                    dtype=DEFAULT_DTYPE, duplicates="error", _names=None):
        """Build from parallel 1-d arrays (one entry per interaction).

        Parameters are as in :meth:`from_frame`; ``ratings=None`` means implicit.
        """
        names = _names or ("users", "items", "ratings", "timestamps")
        dtype = check_value_dtype(dtype)
        check_choice("duplicates", duplicates, DUPLICATE_POLICIES)
        arrays = [users, items, ratings, timestamps]
        lengths = []
        for name, arr in zip(names, arrays):
            if arr is None:
                continue
            if np.ndim(arr) != 1:
                raise ValueError(f"{name} must be 1-d, got {np.ndim(arr)} dimensions.")
            lengths.append((name, len(arr)))
        for name, length in lengths[1:]:
            if length != lengths[0][1]:
                raise ValueError(f"{lengths[0][0]} has {lengths[0][1]} entries but {name} has "
                                 f"{length}; they must match.")
        if lengths[0][1] == 0:
            raise ValueError("no interactions: the input is empty.")
        user_codes, user_ids = _factorize_ids(users, names[0])
        item_codes, item_ids = _factorize_ids(items, names[1])
        values = None if ratings is None else _as_ratings(ratings, names[2], "row")
        stamps = None if timestamps is None else _as_timestamps(timestamps, names[3], "row")
        return cls._from_codes(user_codes, item_codes, values, stamps, user_ids, item_ids,
                               dtype=dtype, duplicates=duplicates, what="row")

    @classmethod
    def from_csr(cls, matrix, user_ids=None, item_ids=None, *, implicit=False,
                 dtype=DEFAULT_DTYPE, duplicates="error"):
        """Build from a users x items scipy sparse matrix.

        Every stored entry is an interaction (explicit zeros included); empty
        rows and columns are kept as users and items without interactions.

        Parameters
        ----------
        matrix : scipy.sparse matrix or array, shape (n_users, n_items)
        user_ids, item_ids : array-like, optional
            External ids of the rows and columns; default ``arange``.
        implicit : bool
            Ignore the stored values and treat the data as implicit.
        dtype, duplicates
            As in :meth:`from_frame`.
        """
        if not sp.issparse(matrix):
            raise TypeError(f"matrix must be a scipy sparse matrix, got {type(matrix).__name__}.")
        dtype = check_value_dtype(dtype)
        check_choice("duplicates", duplicates, DUPLICATE_POLICIES)
        if matrix.ndim != 2:
            raise ValueError(f"matrix must be 2-d, got {matrix.ndim} dimensions.")
        n_users, n_items = matrix.shape
        if matrix.nnz == 0:
            raise ValueError("no interactions: the matrix has no stored entries.")
        user_ids = np.arange(n_users) if user_ids is None else _check_id_array(
            user_ids, n_users, "user_ids")
        item_ids = np.arange(n_items) if item_ids is None else _check_id_array(
            item_ids, n_items, "item_ids")
        coo = sp.coo_matrix(matrix)  # a fresh object; its arrays are only read below
        values = None if implicit else _as_ratings(coo.data, "matrix data", "entry")
        return cls._from_codes(coo.row, coo.col, values, None, user_ids, item_ids,
                               dtype=dtype, duplicates=duplicates, what="entry")

    @classmethod
    def _from_codes(cls, users, items, values, timestamps, user_ids, item_ids, *,
                    dtype=DEFAULT_DTYPE, duplicates="error", what="row", input_rows=None):
        """Canonicalise coded entries (sort by user then item, resolve duplicates).

        ``input_rows`` (default: the entries' positions) is each entry's row in
        the original input. Never writes into its inputs: every array it keeps
        is a fresh one.
        """
        n_users, n_items = len(user_ids), len(item_ids)
        key = np.asarray(users, dtype=np.int64) * n_items + np.asarray(items, dtype=np.int64)
        if len(key) > 1 and not np.all(key[1:] > key[:-1]):
            order = np.argsort(key, kind="stable")
            key = key[order]
        else:
            order = None
        repeated = key[1:] == key[:-1]
        n_repeated = int(np.count_nonzero(repeated))
        implicit = values is None
        values = np.ones(len(key), dtype=dtype) if implicit else np.asarray(values)
        if order is not None:
            values = values[order]
            timestamps = None if timestamps is None else timestamps[order]
            input_rows = order if input_rows is None else np.asarray(input_rows)[order]
        elif input_rows is not None:
            input_rows = np.asarray(input_rows)
        if n_repeated:
            if duplicates == "error":
                positions = np.arange(len(key)) if order is None else order
                first = int(positions[1:][repeated].min())
                raise ValueError(
                    f"{n_repeated} duplicate (user, item) pairs (first repeat at {what} {first}); "
                    "pass duplicates='last', 'mean' or 'sum' to combine them."
                )
            starts = np.flatnonzero(np.r_[True, ~repeated])
            last = np.r_[starts[1:] - 1, len(key) - 1]
            if input_rows is None:
                input_rows = np.arange(len(key), dtype=np.int64)
            input_rows = np.maximum.reduceat(input_rows, starts)
            if duplicates == "last":
                values = values[last]
                timestamps = None if timestamps is None else timestamps[last]
            else:
                with np.errstate(over="ignore"):  # an inf sum is refused below
                    sums = np.add.reduceat(values.astype(np.float64), starts)
                if duplicates == "mean":
                    sums /= np.diff(np.r_[starts, len(key)])
                values = sums
                if timestamps is not None:
                    timestamps = np.maximum.reduceat(timestamps, starts)
            key = key[starts]
        index_dtype = index_dtype_for(n_users, n_items, len(key))
        row = key // n_items
        indices = (key - row * n_items).astype(index_dtype)
        indptr = np.zeros(n_users + 1, dtype=index_dtype)
        np.cumsum(np.bincount(row, minlength=n_users), out=indptr[1:])
        with np.errstate(over="ignore"):
            values = np.array(values, dtype=dtype)  # always a fresh, owned copy
        if not implicit and not np.isfinite(values).all():
            # finite input (checked before) that overflows the storage dtype, or sums to inf
            hint = " or pass dtype=np.float64" if np.dtype(dtype) != np.float64 else ""
            raise ValueError(f"{int((~np.isfinite(values)).sum())} ratings overflow "
                             f"{np.dtype(dtype).name} to inf; rescale them{hint}.")
        if timestamps is not None:
            timestamps = np.array(timestamps)
        if input_rows is not None:
            input_rows = np.array(input_rows, dtype=np.int64)
            if np.all(input_rows[1:] > input_rows[:-1]):
                input_rows = None  # the input's order is by_user order
        return cls(indptr, indices, values, np.asarray(user_ids).copy(),
                   np.asarray(item_ids).copy(), timestamps, implicit, input_rows)

    # ---------------------------------------------------------------- properties
    @property
    def n_users(self):
        return self.by_user.shape[0]

    @property
    def n_items(self):
        return self.by_user.shape[1]

    @property
    def nnz(self):
        """Number of interactions."""
        return len(self.by_user.indices)

    def __len__(self):
        return self.nnz

    @property
    def dtype(self):
        """Dtype of the stored ratings (float32 or float64)."""
        return self.by_user.data.dtype

    @property
    def ratings(self):
        """Ratings in ``by_user`` order (ones when implicit)."""
        return self.by_user.data

    @property
    def global_mean(self):
        """Mean rating, accumulated in float64."""
        return float(np.mean(self.by_user.data, dtype=np.float64))

    @property
    def rating_range(self):
        """``(min, max)`` of the ratings."""
        data = self.by_user.data
        return float(data.min()), float(data.max())

    @property
    def input_order(self):
        """Input-order key of each ``by_user`` entry (see the class docstring)."""
        if self._input_rows is None:
            return np.arange(self.nnz, dtype=np.int64)
        return self._input_rows

    @property
    def by_item(self):
        """CSR by item, shape (n_items, n_users), users sorted within each item."""
        if self._by_item is None:
            self._build_by_item()
        return self._by_item

    @property
    def item_order(self):
        """For each ``by_item`` entry, its position in ``by_user`` order."""
        if self._item_order is None:
            self._build_by_item()
        return self._item_order

    @property
    def user_order(self):
        """Position in ``by_item`` order of each ``by_user`` entry (``item_order`` inverted)."""
        if self._user_order is None:
            inverse = np.empty(self.nnz, dtype=np.int64)
            inverse[self.item_order] = np.arange(self.nnz, dtype=np.int64)
            self._user_order = _readonly(inverse)
        return self._user_order

    def _build_by_item(self):
        indptr, indices, _, shape = self.by_user
        positions = np.arange(self.nnz, dtype=np.int64)
        # scipy's CSR->CSC conversion is a stable counting sort, so the users
        # in each item come out sorted and ``positions`` maps entries back.
        csc = sp.csr_matrix((positions, indices, indptr), shape=shape).tocsc()
        order = csc.data
        index_dtype = indices.dtype
        self._item_order = _readonly(order)
        self._by_item = CSR(_readonly(csc.indptr.astype(index_dtype)),
                            _readonly(csc.indices.astype(index_dtype)),
                            _readonly(self.by_user.data[order]), (shape[1], shape[0]))

    def orientation(self, axis):
        """The rows of ``axis`` ("user" or "item") and their transpose, both kept.

        The transpose is the other orientation, read off the stored CSRs and
        entry orders (no counting sort: it costs ~15% of an item-item top-k).
        """
        check_choice("axis", axis, ("user", "item"))
        if axis == "user":
            return Orientation(self.by_user, self.n_items,
                               (self.by_item.indptr, self.by_item.indices, self.item_order,
                                self.user_order))
        return Orientation(self.by_item, self.n_users,
                           (self.by_user.indptr, self.by_user.indices, self.user_order,
                            self.item_order))

    def entry_users(self):
        """Internal user index of every entry, in ``by_user`` order."""
        indptr = self.by_user.indptr
        return np.repeat(np.arange(self.n_users, dtype=indptr.dtype), np.diff(indptr))

    def user_counts(self):
        """Number of interactions of each user."""
        return np.diff(self.by_user.indptr)

    def item_counts(self):
        """Number of interactions of each item."""
        return np.bincount(self.by_user.indices, minlength=self.n_items)

    # ------------------------------------------------------------------- id maps
    def user_index(self, ids, *, strict=True):
        """Internal indices of external user ``ids``.

        Parameters
        ----------
        ids : array-like of external ids
        strict : bool
            If True an unknown id raises ValueError; if False it maps to -1.

        Returns
        -------
        ndarray of int64, shape (len(ids),)
        """
        if self._user_lookup is None:
            self._user_lookup = pd.Index(self.user_ids)
        return _lookup(self._user_lookup, ids, "user", strict)

    def item_index(self, ids, *, strict=True):
        """Internal indices of external item ``ids`` (see :meth:`user_index`)."""
        if self._item_lookup is None:
            self._item_lookup = pd.Index(self.item_ids)
        return _lookup(self._item_lookup, ids, "item", strict)

    # ------------------------------------------------------------------- subsets
    def take(self, positions, *, compact=True):
        """A new ``Interactions`` holding the entries at ``positions``.

        Parameters
        ----------
        positions : array of int
            Entry positions in ``by_user`` order (each at most once).
        compact : bool
            Drop users and items left without interactions (their relative
            order is kept); if False, keep the full id maps.
        """
        positions = np.asarray(positions, dtype=np.int64)
        if len(positions) == 0:
            raise ValueError("no interactions: the subset is empty.")
        steps = np.diff(positions)
        if np.any(steps <= 0):
            positions = np.sort(positions)
            steps = np.diff(positions)
        if positions[0] < 0 or positions[-1] >= self.nnz or np.any(steps == 0):
            raise ValueError(f"positions must be distinct and lie in [0, {self.nnz}).")
        users = self.entry_users()[positions]
        items = self.by_user.indices[positions]
        user_ids, item_ids = self.user_ids, self.item_ids
        user_features, item_features = self.user_features, self.item_features
        if compact:
            users, user_ids, kept = _compact(users, user_ids)
            user_features = None if user_features is None else user_features.take(kept)
            items, item_ids, kept = _compact(items, item_ids)
            item_features = None if item_features is None else item_features.take(kept)
        stamps = None if self.timestamps is None else self.timestamps[positions]
        values = None if self.implicit else self.by_user.data[positions]
        rows = None if self._input_rows is None else self._input_rows[positions]
        out = type(self)._from_codes(users, items, values, stamps, user_ids, item_ids,
                                     dtype=self.dtype, input_rows=rows)
        out.user_features, out.item_features = user_features, item_features
        return out

    def with_features(self, user_features=None, item_features=None, *, new_ids="error"):
        """The same interactions carrying side information.

        Parameters
        ----------
        user_features, item_features : Features, optional
            Rows matched to ``user_ids`` / ``item_ids`` by id; an id without a
            row gets an all-zero row. None: no features on that axis (pass
            ``data.user_features`` to keep the current ones).
        new_ids : {"error", "add"}
            Feature ids that are not users (items) here: "error" raises
            ValueError naming them; "add" adds them as users (items) without
            interactions, the cold-start catalogue (ids stay sorted when they
            were; internal indices renumbered).

        Returns
        -------
        Interactions
            The same entries (ratings, timestamps, ``input_order``), with
            ``user_features`` / ``item_features`` whose ``ids`` equal
            ``user_ids`` / ``item_ids``.
        """
        check_choice("new_ids", new_ids, NEW_ID_POLICIES)
        user_ids, user_map, user_features = attach(self.user_ids, user_features, "user", new_ids)
        item_ids, item_map, item_features = attach(self.item_ids, item_features, "item", new_ids)
        index_dtype = index_dtype_for(len(user_ids), len(item_ids), self.nnz)
        indptr, indices = remap_csr(self.by_user.indptr, self.by_user.indices, len(user_ids),
                                    user_map, item_map, index_dtype)
        out = type(self)(indptr, indices, self.by_user.data, user_ids, item_ids,
                         self.timestamps, self.implicit, self._input_rows)
        if user_map is None and item_map is None:  # same layout: share the item view
            out._by_item, out._item_order = self._by_item, self._item_order
            out._user_order = self._user_order
        out.user_features, out.item_features = user_features, item_features
        return out

    def to_frame(self):
        """One row per interaction: ``user``, ``item``, ``rating`` (explicit data
        only) and ``timestamp`` (when present), with external ids. Features are
        not in it: see ``user_features.to_frame()`` / ``item_features.to_frame()``."""
        frame = {"user": self.user_ids[self.entry_users()],
                 "item": self.item_ids[self.by_user.indices]}
        if not self.implicit:
            frame["rating"] = self.by_user.data
        if self.timestamps is not None:
            frame["timestamp"] = self.timestamps
        return pd.DataFrame(frame)

    def __repr__(self):
        kind = "implicit" if self.implicit else f"ratings {self.dtype}"
        stamps = ", timestamps" if self.timestamps is not None else ""
        for axis, features in (("user", self.user_features), ("item", self.item_features)):
            if features is not None:
                stamps += f", {features.n_features} {axis} features"
        return (f"Interactions({self.n_users} users x {self.n_items} items, "
                f"{self.nnz} interactions, {kind}{stamps})")


def _compact(codes, ids):
    """Drop ids without codes, renumbering the rest in order: O(n), no sort (also
    returns the positions of the ids kept)."""
    present = np.bincount(codes, minlength=len(ids)) > 0
    new_code = np.cumsum(present) - 1
    kept = np.flatnonzero(present)
    return new_code[codes], ids[kept], kept


def _lookup(index, ids, kind, strict):
    ids = np.asarray(ids)
    if ids.ndim == 0:
        ids = ids.reshape(1)
    if ids.ndim != 1:
        raise ValueError(f"{kind} ids must be 1-d, got {ids.ndim} dimensions.")
    found = index.get_indexer(ids).astype(np.int64)
    if strict:
        unknown = found < 0
        if unknown.any():
            raise ValueError(describe_unknown(ids, unknown, kind) + ".")
    return found
