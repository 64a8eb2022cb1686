"""Input checks shared by the metrics, and the per-user reduction they all end with."""

import warnings

import numpy as np
import scipy.sparse as sp

from ..data import CSR


def _check_pair(y_true, y_pred):
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; "
                         "they must be equal and 1-d.")
    if len(y_true) == 0:
        raise ValueError("y_true is empty, must hold at least one rating.")
    for name, arr in (("y_true", y_true), ("y_pred", y_pred)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(f"{name} contains {int(bad.sum())} NaN/inf values (first at "
                             f"{int(np.argmax(bad))}).")
    return y_true, y_pred


_INT64_MAX = np.iinfo(np.int64).max


def _check_recommended(recommended):
    """(int64 copy of ``recommended``, mask of its non-padding entries)."""
    try:
        arr = np.asarray(recommended)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"recommended could not be read as a 2-d array: {exc}") from exc
    if arr.dtype.kind not in "iu":
        raise TypeError(f"recommended.dtype == {arr.dtype}, must be an integer dtype "
                        "(internal item indices, -1 for padding).")
    if arr.ndim != 2:
        raise ValueError(f"recommended.ndim == {arr.ndim}, must be 2 (n_users, list length).")
    if arr.dtype.kind == "u" and arr.size and arr.max() > _INT64_MAX:
        raise ValueError(f"recommended contains {arr.max()}, too large for an item index.")
    arr = arr.astype(np.int64)  # a copy: the caller's array is never touched
    if arr.size and arr.min() < -1:
        raise ValueError(f"recommended contains {arr.min()}, must hold item indices >= 0 "
                         "(or -1 for padding).")
    pad = arr == -1
    early = pad[:, :-1] & ~pad[:, 1:]
    if early.any():
        row = int(np.flatnonzero(early.any(axis=1))[0])
        raise ValueError(f"recommended row {row} has padding (-1) before an item; padding may "
                         "only end a list.")
    if arr.shape[1] > 1:
        ordered = np.sort(arr, axis=1)
        repeat = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
        if repeat.any():
            row = int(np.flatnonzero(repeat.any(axis=1))[0])
            item = int(ordered[row, 1:][repeat[row]][0])
            raise ValueError(f"recommended row {row} repeats item {item}; an item may appear "
                             "at most once in a list.")
    return arr, ~pad


def _check_item_range(name, arr, n_items, what):
    if arr.size and arr.max() >= n_items:
        raise ValueError(f"{name} contains item {int(arr.max())}, must lie in [0, {n_items}) "
                         f"({what}).")


def _check_real(name, arr):
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name}.dtype == {arr.dtype}, must be a real (integer or float) dtype.")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{name} contains {int(bad.sum())} NaN/inf values (first at "
                         f"{tuple(int(i) for i in np.argwhere(bad)[0])}).")


def _check_scores(scores, name, copy=True):
    """``scores`` as a 2-d real, finite array: a float64 copy, or as given if not ``copy``."""
    arr = np.asarray(scores)
    if arr.ndim != 2:
        raise ValueError(f"{name}.ndim == {arr.ndim}, must be 2.")
    _check_real(name, arr)
    return arr.astype(np.float64) if copy else arr


def _csr_parts(name, x):
    """Validated (indptr, indices, data, shape) of a :class:`fastcf.data.CSR`."""
    indptr, indices, data, shape = x
    try:
        n_rows, n_cols = (int(v) for v in shape)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}.shape == {shape!r}, must be a pair of ints.") from exc
    for part, arr in (("indptr", indptr), ("indices", indices)):
        if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise TypeError(f"{name}.{part} must be a 1-d integer numpy array.")
    if len(indptr) != n_rows + 1 or indptr[0] != 0 or indptr[-1] != len(indices) or np.any(
            np.diff(indptr) < 0):
        raise ValueError(f"{name}.indptr must be non-decreasing, of length shape[0] + 1 == "
                         f"{n_rows + 1}, from 0 to len(indices) == {len(indices)}.")
    if len(indices) and (indices.min() < 0 or indices.max() >= n_cols):
        raise ValueError(f"{name}.indices must lie in [0, {n_cols}).")
    return indptr, indices, data, (n_rows, n_cols)


def _entries(x, name, n_rows, n_cols=None):
    """The distinct (row, item) pairs of a relevant-style input, sorted by (row, item).

    Returns (rows, cols, width): int64 arrays and the number of columns of a
    matrix input (None for a sequence of id arrays). With ``n_cols`` given,
    a matrix must have that many columns and every id must be below it.
    """
    if sp.issparse(x):
        if x.ndim != 2:
            raise ValueError(f"{name} is a {x.ndim}-d sparse array, must be 2-d.")
        coo = x.tocoo()
        rows, cols, shape = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.shape
        width = int(shape[1])
    elif isinstance(x, CSR):
        indptr, indices, _, shape = _csr_parts(name, x)
        rows = np.repeat(np.arange(shape[0], dtype=np.int64), np.diff(indptr))
        cols, width = indices.astype(np.int64), shape[1]
    elif isinstance(x, np.ndarray) and x.ndim != 1:
        raise TypeError(f"{name} is a {x.ndim}-d numpy array; pass a scipy.sparse matrix "
                        "(stored entries = items) or a sequence of 1-d item-id arrays, one "
                        "per user (e.g. list(array) for one id list per row).")
    elif isinstance(x, (str, bytes)) or not hasattr(x, "__len__") or not hasattr(
            x, "__getitem__"):
        raise TypeError(f"{name} must be a scipy.sparse matrix, a fastcf.data.CSR or a "
                        f"sequence of 1-d integer arrays, got {type(x).__name__}.")
    else:
        arrays = [np.asarray(row) for row in x]
        for user, arr in enumerate(arrays):
            if arr.ndim != 1:
                raise ValueError(f"{name}[{user}].ndim == {arr.ndim}, must be 1 (the user's "
                                 "item ids).")
            if arr.size and arr.dtype.kind not in "iu":
                raise TypeError(f"{name}[{user}].dtype == {arr.dtype}, must be an integer "
                                "dtype (item ids).")
        lengths = np.array([arr.size for arr in arrays], dtype=np.int64)
        rows = np.repeat(np.arange(len(arrays), dtype=np.int64), lengths)
        filled = [arr for arr in arrays if arr.size]
        cols = (np.concatenate(filled).astype(np.int64) if filled
                else np.zeros(0, dtype=np.int64))
        if cols.size and cols.min() < 0:
            raise ValueError(f"{name} contains item {int(cols.min())}, must hold item ids >= 0.")
        shape, width = (len(arrays), None), None
    if shape[0] != n_rows:
        raise ValueError(f"{name} has {shape[0]} rows but there are {n_rows} users; they must "
                         "match.")
    if n_cols is not None:
        if width is not None and width != n_cols:
            raise ValueError(f"{name} has {width} columns but there are {n_cols} items; they "
                             "must match.")
        _check_item_range(name, cols, n_cols, "the number of items")
    span = int(cols.max()) + 1 if cols.size else 1
    _check_key_span(n_rows, span)
    keys = _sorted_unique(rows * span + cols)
    return keys // span, keys % span, width


def _sorted_unique(keys):
    """``np.unique(keys)``, without the sort when ``keys`` is already sorted (canonical CSR)."""
    if keys.size > 1 and np.any(keys[1:] <= keys[:-1]):
        keys = np.sort(keys)
        return keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    return keys


def _check_key_span(n_rows, span):
    if n_rows * span > _INT64_MAX:
        raise ValueError(f"{n_rows} users x {span} items is too large for int64 keys.")


def _result(values, counts, per_user, why):
    """Per-user values (NaN where the user does not count) or their mean."""
    values = np.where(counts, values, np.nan).astype(np.float64)
    if per_user:
        return values
    if not counts.any():
        warnings.warn(f"no user counts ({why}); the mean is NaN.", RuntimeWarning,
                      stacklevel=3)
        return float("nan")
    return float(np.mean(values[counts]))
