"""``Features``: side information (user or item attributes) as data.

A :class:`Features` is a sparse matrix with one row per external id and one
named column per feature (a genre flag, an age bucket, a price), stored as a
canonical, read-only scipy CSR. ``Interactions.with_features`` attaches one
per axis, aligned to the interactions' ids; the functions at the end of this
module do that alignment (and the id remapping when new ids are added), so
``data.py`` only calls them.
"""

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._validation import check_value_dtype

__all__ = ["NEW_ID_POLICIES", "Features"]

#: What ``Interactions.with_features`` does with feature ids the interactions lack.
NEW_ID_POLICIES = ("error", "add")
#: How many offending ids an error message names.
_SHOWN = 5


def _readonly(array):
    array.flags.writeable = False
    return array


def _show(values):
    """``'a', 'b', 'c' and 4 more`` for an error message."""
    shown = ", ".join(repr(v.item() if isinstance(v, np.generic) else v)
                      for v in values[:_SHOWN])
    more = len(values) - _SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def _as_id_array(ids, name="ids"):
    """``ids`` as a fresh 1-d array (ints stay ints: lists go through pandas)."""
    if ids is None or isinstance(ids, (str, bytes)) or np.ndim(ids) == 0:
        raise TypeError(f"{name} must be a 1-d array-like of ids, got {type(ids).__name__}.")
    if isinstance(ids, np.ndarray):
        if ids.ndim != 1:
            raise ValueError(f"{name} must be 1-d, got {ids.ndim} dimensions.")
        return ids.copy()
    if isinstance(ids, (pd.Series, pd.Index)):
        return ids.to_numpy(copy=True)
    if np.ndim(ids) != 1:
        raise ValueError(f"{name} must be 1-d, got {np.ndim(ids)} dimensions.")
    return pd.Index(list(ids)).to_numpy(copy=True)


def _check_unique_ids(ids, name="ids"):
    index = pd.Index(ids)
    if index.hasnans:
        raise ValueError(f"{name} contain {int(index.isna().sum())} missing ids "
                         f"(first at row {int(np.argmax(index.isna()))}).")
    if not index.is_unique:
        repeated = index[index.duplicated()].unique().to_numpy()
        raise ValueError(f"{name} contain {len(repeated)} repeated ids: {_show(repeated)}.")
    return index


def _check_names(names, n_features):
    if names is None:
        return tuple(f"f{j}" for j in range(n_features))
    if isinstance(names, (str, bytes)) or np.ndim(names) != 1:
        raise TypeError(f"names must be a 1-d sequence of str, got {type(names).__name__}.")
    names = tuple(names)
    if len(names) != n_features:
        raise ValueError(f"names has {len(names)} entries but the matrix has {n_features} "
                         "columns; they must match.")
    bad = [type(n).__name__ for n in names if not isinstance(n, str)]
    if bad:
        raise TypeError(f"names must all be str, got {len(bad)} of type {bad[0]}.")
    repeated = pd.Index(names)[pd.Index(names).duplicated()].unique().to_numpy()
    if len(repeated):
        raise ValueError(f"names contain {len(repeated)} repeated names: {_show(repeated)}.")
    return names


def _check_finite(values, what):
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"{what} contains {int(bad.sum())} NaN/inf values; drop or fill "
                         "them first.")


def _as_csr(matrix, dtype):
    """A fresh canonical CSR of ``dtype`` (sorted indices, duplicates summed, no zeros)."""
    if sp.issparse(matrix):
        kind = matrix.dtype.kind
    elif isinstance(matrix, np.ndarray):
        kind = matrix.dtype.kind
    else:
        raise TypeError("matrix must be a scipy sparse matrix or a 2-d numpy array, got "
                        f"{type(matrix).__name__} (a DataFrame: use Features.from_frame).")
    if kind not in "biuf":
        raise TypeError(f"matrix must be numeric, got dtype {matrix.dtype}.")
    if matrix.ndim != 2:
        raise ValueError(f"matrix must be 2-d, got {matrix.ndim} dimensions.")
    if 0 in matrix.shape:
        raise ValueError(f"matrix has shape {matrix.shape}: a feature matrix needs at least "
                         "one row and one column.")
    if sp.issparse(matrix):
        csr = sp.csr_matrix(matrix, copy=True)  # a copy: the canonical form is made in place
        _check_finite(csr.data, "matrix")
    else:
        _check_finite(matrix, "matrix")
        csr = sp.csr_matrix(matrix)
    with np.errstate(over="ignore"):
        csr = csr.astype(dtype)
        csr.sum_duplicates()
    if not np.isfinite(csr.data).all():
        raise ValueError(f"matrix values overflow {np.dtype(dtype).name} to inf; rescale them.")
    csr.eliminate_zeros()
    return csr


def _freeze(csr):
    for array in (csr.data, csr.indices, csr.indptr):
        _readonly(array)
    return csr


def take_rows(csr, rows):
    """The rows ``rows`` of ``csr`` as a new CSR; a row index of -1 gives an all-zero row."""
    rows = np.asarray(rows, dtype=np.int64)
    indptr = csr.indptr
    present = rows >= 0
    starts = np.where(present, indptr[:-1][rows], 0)
    lengths = np.where(present, np.diff(indptr)[rows], 0)
    out_indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out_indptr[1:])
    offsets = np.arange(out_indptr[-1], dtype=np.int64) - np.repeat(out_indptr[:-1], lengths)
    source = np.repeat(starts, lengths) + offsets
    return sp.csr_matrix((csr.data[source], csr.indices[source], out_indptr),
                         shape=(len(rows), csr.shape[1]))


class Features:
    """Side information: a sparse matrix with one row per id and named columns.

    Parameters
    ----------
    matrix : scipy sparse matrix or ndarray, shape (n_rows, n_features)
        Feature values (bool, int or float). Copied, never modified.
    ids : array-like, shape (n_rows,)
        The external id (user or item) of each row; unique.
    names : sequence of str, optional
        One unique name per column; default ``"f0", "f1", ...``.
    dtype : {numpy.float32, numpy.float64}
        Dtype of the stored values.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix, shape (n_rows, n_features)
        Canonical (sorted indices, no duplicates, no explicit zeros); its
        arrays are read-only.
    ids : ndarray, shape (n_rows,)
        Read-only.
    names : tuple of str
    n_features : int

    Raises
    ------
    ValueError
        NaN/inf values, no rows or no columns, repeated or missing ids,
        repeated names, ``ids`` / ``names`` lengths that do not match the
        matrix.
    TypeError
        ``matrix`` not a sparse matrix or ndarray or not numeric, ``ids`` not
        1-d array-like, names not str, a ``dtype`` other than float32/float64.

    Examples
    --------
    >>> import numpy as np
    >>> f = Features(np.array([[1, 0], [0, 1]]), ids=[10, 20], names=["genre=A", "genre=B"])
    >>> f.align([20, 30]).toarray()
    array([[0., 1.],
           [0., 0.]], dtype=float32)
    """

    def __init__(self, matrix, ids, names=None, *, dtype=np.float32):
        dtype = check_value_dtype(dtype)
        csr = _as_csr(matrix, dtype)
        ids = _as_id_array(ids)
        if len(ids) != csr.shape[0]:
            raise ValueError(f"ids has {len(ids)} entries but the matrix has {csr.shape[0]} "
                             "rows; they must match.")
        index = _check_unique_ids(ids)
        self._set(csr, ids, _check_names(names, csr.shape[1]), index)

    def _set(self, csr, ids, names, index=None):
        self.matrix = _freeze(csr)
        self.ids = _readonly(ids)
        self.names = names
        self._index = index

    @classmethod
    def _trusted(cls, csr, ids, names):
        """A ``Features`` from parts already checked (fastcf's own use)."""
        out = cls.__new__(cls)
        out._set(csr, ids, names)
        return out

    # ---------------------------------------------------------------- builders
    @classmethod
    def from_frame(cls, df, id, columns=None, *, categorical=None, sep=None,
                   dtype=np.float32):
        """Build from a DataFrame with one row per id.

        Numeric columns become one feature each (named like the column);
        categorical columns become one 0/1 feature per value, named
        ``"column=value"`` (values in sorted order; for a pandas Categorical,
        one per category in the categories' order, unused ones included); a
        missing categorical value sets none of them.

        Parameters
        ----------
        df : pandas.DataFrame
        id : column label
            The column of ids (unique).
        columns : list of column labels, optional
            The feature columns; default every column except ``id``.
        categorical : list of column labels, optional
            The columns to one-hot encode; default the non-numeric ones
            (object, string, category). Bool columns count as numeric (0/1).
        sep : str or dict, optional
            Split the values of the categorical columns (every one for a
            str, the named ones for a dict ``{column: sep}``) on ``sep``:
            a multi-valued cell such as ``"Action|Comedy"`` sets several
            features.
        dtype : {numpy.float32, numpy.float64}

        Returns
        -------
        Features
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}.")
        dtype = check_value_dtype(dtype)
        if id not in df.columns:
            raise ValueError(f"df has no column {id!r}; its columns: {list(df.columns)}.")
        columns = [c for c in df.columns if c != id] if columns is None else list(columns)
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ValueError(f"df has no column {missing}; its columns: {list(df.columns)}.")
        if not columns:
            raise ValueError("no feature columns: df has only the id column.")
        if categorical is None:
            categorical = [c for c in columns if not _is_numeric(df[c])]
        else:
            categorical = list(categorical)
            stray = [c for c in categorical if c not in columns]
            if stray:
                raise ValueError(f"categorical names {stray}, which are not feature columns "
                                 f"{columns}.")
        seps = _column_seps(sep, categorical)
        blocks, names = [], []
        for column in columns:
            if column in categorical:
                block, values = _one_hot(df[column], seps.get(column))
                names += [f"{column}={value}" for value in values]
            else:
                block = _numeric_column(df[column], column)
                names.append(str(column))
            blocks.append(block)
        return cls(sp.hstack(blocks, format="csr"), df[id].to_numpy(), names, dtype=dtype)

    # ------------------------------------------------------------- properties
    @property
    def n_features(self):
        return self.matrix.shape[1]

    @property
    def shape(self):
        """``(n_rows, n_features)``."""
        return self.matrix.shape

    @property
    def dtype(self):
        return self.matrix.dtype

    def __len__(self):
        return self.matrix.shape[0]

    def _lookup(self):
        if self._index is None:
            self._index = pd.Index(self.ids)
        return self._index

    # -------------------------------------------------------------- selection
    def positions(self, ids):
        """The row of each of ``ids`` (int64), -1 for an id without a row."""
        ids = _as_id_array(ids)
        return self._lookup().get_indexer(ids).astype(np.int64)

    def align(self, ids):
        """The feature rows of ``ids``, in that order, as a new CSR matrix.

        Parameters
        ----------
        ids : array-like, shape (n,)
            External ids; an id without a row gets an all-zero row.

        Returns
        -------
        scipy.sparse.csr_matrix, shape (n, n_features)
        """
        return take_rows(self.matrix, self.positions(ids))

    def reindex(self, ids):
        """A ``Features`` with exactly the rows of ``ids`` (unique), in that order;
        ids without a row get an all-zero row."""
        ids = _as_id_array(ids)
        index = _check_unique_ids(ids)
        out = type(self)._trusted(take_rows(self.matrix, self.positions(ids)), ids, self.names)
        out._index = index
        return out

    def take(self, rows):
        """A ``Features`` of the rows at positions ``rows`` (distinct, in that order)."""
        rows = np.asarray(rows)
        if rows.ndim != 1 or rows.dtype.kind not in "iu":
            raise TypeError(f"rows must be a 1-d integer array, got {rows.dtype} with "
                            f"{rows.ndim} dimensions.")
        if len(rows) and (rows.min() < 0 or rows.max() >= len(self)):
            raise ValueError(f"rows must lie in [0, {len(self)}).")
        if len(np.unique(rows)) != len(rows):
            raise ValueError("rows must be distinct.")
        return type(self)._trusted(take_rows(self.matrix, rows), self.ids[rows].copy(),
                                   self.names)

    # ------------------------------------------------------------ comparisons
    def equals(self, other):
        """True if ``other`` is a ``Features`` with the same ids, names, dtype and values."""
        return (isinstance(other, Features) and self.shape == other.shape
                and self.dtype == other.dtype and self.names == other.names
                and np.array_equal(self.ids, other.ids)
                and (self.matrix != other.matrix).nnz == 0)

    def to_frame(self):
        """The features as a DataFrame (sparse columns), indexed by id."""
        frame = pd.DataFrame.sparse.from_spmatrix(self.matrix, index=self.ids,
                                                  columns=list(self.names))
        frame.index.name = "id"
        return frame

    def __repr__(self):
        names = ", ".join(self.names[:4]) + (", ..." if self.n_features > 4 else "")
        return (f"Features({len(self)} ids x {self.n_features} features, "
                f"{self.matrix.nnz} non-zero, {self.dtype}; {names})")


# ------------------------------------------------------------------ from_frame
def _is_numeric(series):
    return pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(
        series.dtype)


def _column_seps(sep, categorical):
    if sep is None:
        return {}
    if isinstance(sep, str):
        return dict.fromkeys(categorical, sep)
    if isinstance(sep, dict):
        stray = [c for c in sep if c not in categorical]
        if stray:
            raise ValueError(f"sep names {stray}, which are not categorical columns "
                             f"{categorical}.")
        return dict(sep)
    raise TypeError(f"sep must be a str, a dict or None, got {type(sep).__name__}.")


def _numeric_column(series, column):
    if not _is_numeric(series):
        raise TypeError(f"column {column!r} has dtype {series.dtype}: not numeric; pass it "
                        "in categorical= to one-hot encode it.")
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"column {column!r} contains {int(bad.sum())} NaN/inf values (first "
                         f"at row {int(np.argmax(bad))}); drop or fill them first.")
    return sp.csr_matrix(values.reshape(-1, 1))


def _one_hot(series, sep):
    """(0/1 CSR with one column per distinct value, the values sorted when they sort;
    a pandas Categorical without ``sep``: one column per category, in their order)."""
    if isinstance(series.dtype, pd.CategoricalDtype) and sep is None:
        codes = series.cat.codes.to_numpy().astype(np.int64)
        rows = np.flatnonzero(codes >= 0)
        block = sp.csr_matrix((np.ones(len(rows)), (rows, codes[rows])),
                              shape=(len(codes), len(series.cat.categories)))
        return block, series.cat.categories.to_numpy(dtype=object)
    values = series.astype(object).where(series.notna(), None).to_numpy()
    rows, cells = [], []
    for row, value in enumerate(values):
        if value is None:
            continue
        parts = str(value).split(sep) if sep is not None else [value]
        for part in dict.fromkeys(parts):  # a value repeated within a cell counts once
            if part != "":
                rows.append(row)
                cells.append(part)
    codes, uniques = pd.factorize(pd.Series(cells, dtype=object), sort=False)
    uniques = np.asarray(uniques, dtype=object)
    try:
        order = np.argsort(uniques, kind="stable")
    except TypeError:  # values of mixed, unorderable types: first-seen order
        order = np.arange(len(uniques))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    block = sp.csr_matrix((np.ones(len(rows)), (np.asarray(rows, dtype=np.int64), rank[codes])),
                          shape=(len(values), len(uniques)))
    return block, uniques[order]


# ------------------------------------------------------- attaching to Interactions
def _merge_ids(known, extra):
    """``(ids, code_map)``: ``known`` and the new ``extra`` ids together, ``code_map[i]``
    the new position of ``known[i]`` (increasing, so CSR indices stay sorted).

    The result is sorted when ``known`` is sorted and all ids sort; otherwise the
    new ids go after the known ones (sorted among themselves when they sort).
    """
    combined = pd.Index(known).append(pd.Index(extra)).to_numpy()
    try:
        order = np.argsort(combined, kind="stable")
        known_sorted = bool(np.all(combined[:len(known)][1:] >= combined[:len(known)][:-1]))
    except TypeError:
        order, known_sorted = None, False
    if known_sorted:
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return combined[order], rank[:len(known)]
    try:
        extra = extra[np.argsort(extra, kind="stable")]
    except TypeError:
        pass
    ids = pd.Index(known).append(pd.Index(extra)).to_numpy()
    return ids, np.arange(len(known), dtype=np.int64)


def attach(known_ids, features, kind, new_ids):
    """Align ``features`` to the ``kind`` ids of an ``Interactions``.

    Returns ``(ids, code_map, aligned)``: the axis' ids (grown by the feature
    ids it lacked when ``new_ids="add"``), the new index of each old one (None
    when unchanged), and the ``Features`` with one row per id in that order.
    """
    if features is None:
        return known_ids, None, None
    if not isinstance(features, Features):
        raise TypeError(f"{kind}_features must be a fastcf.Features, got "
                        f"{type(features).__name__}.")
    unknown = pd.Index(known_ids).get_indexer(features.ids) < 0
    code_map = None
    if unknown.any():
        extra = features.ids[unknown]
        if new_ids == "error":
            raise ValueError(
                f"{kind}_features has {len(extra)} {kind} ids without interactions: "
                f"{_show(extra)}; pass new_ids='add' to add them as {kind}s without "
                "interactions (or drop their rows).")
        known_ids, code_map = _merge_ids(known_ids, extra)
    if np.array_equal(features.ids, known_ids):
        return known_ids, code_map, features
    return known_ids, code_map, features.reindex(known_ids)


def remap_csr(indptr, indices, n_rows, row_map, col_map, index_dtype):
    """CSR arrays with row ``r`` moved to ``row_map[r]`` (empty rows in between) and
    column ``c`` renamed ``col_map[c]``; both maps increasing, so the order holds."""
    if row_map is not None:
        counts = np.zeros(n_rows, dtype=np.int64)
        counts[row_map] = np.diff(indptr)
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
    if col_map is not None:
        indices = col_map[indices]
    # copy=False: unchanged arrays are shared (they are read-only)
    return indptr.astype(index_dtype, copy=False), indices.astype(index_dtype, copy=False)
