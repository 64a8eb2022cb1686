"""``check_*`` helpers shared by every public entry point.

Messages follow one form: ``"k == 0, must be >= 1."`` — the name, the value
given, and what is allowed. ValueError for bad values and shapes, TypeError for
wrong types.
"""

import os
import warnings
from numbers import Integral, Real

import numpy as np

from . import _config
from ._config import INDEX_DTYPES, VALUE_DTYPES


def check_int(name, value, *, min_value=None, max_value=None):
    """Return ``value`` as a Python int, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}.")
    value = int(value)
    if min_value is not None and value < min_value:
        raise ValueError(f"{name} == {value}, must be >= {min_value}.")
    if max_value is not None and value > max_value:
        raise ValueError(f"{name} == {value}, must be <= {max_value}.")
    return value


def check_float(name, value, *, min_value=None, max_value=None, min_inclusive=True,
                max_inclusive=True):
    """Return ``value`` as a finite Python float within bounds, or raise."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}.")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} == {value}, must be finite.")
    if min_value is not None:
        if value < min_value or (value == min_value and not min_inclusive):
            op = ">=" if min_inclusive else ">"
            raise ValueError(f"{name} == {value}, must be {op} {min_value}.")
    if max_value is not None:
        if value > max_value or (value == max_value and not max_inclusive):
            op = "<=" if max_inclusive else "<"
            raise ValueError(f"{name} == {value}, must be {op} {max_value}.")
    return value


def check_bool(name, value):
    """Return ``value`` as a Python bool if it is one (numpy's included), else TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}.")
    return bool(value)


def check_choice(name, value, choices):
    """Return ``value`` if it is one of ``choices``, else raise."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}.")
    if value not in choices:
        raise ValueError(f"{name} == {value!r}, must be one of {tuple(choices)}.")
    return value


def check_value_dtype(dtype, name="dtype"):
    """Return ``np.dtype(dtype)`` if it is float32 or float64, else TypeError."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{name} == {dtype!r} is not a dtype, must be float32 or float64.") from exc
    if resolved not in VALUE_DTYPES:
        raise TypeError(f"{name} == {resolved}, must be float32 or float64.")
    return resolved


def check_random_state(seed, name="seed"):
    """Return a ``numpy.random.Generator`` for an int seed or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, Integral) and not isinstance(seed, bool)):
        if seed is not None and seed < 0:
            raise ValueError(f"{name} == {seed}, must be >= 0.")
        return np.random.default_rng(seed)
    raise TypeError(f"{name} must be an int, None or a numpy Generator, got {type(seed).__name__}.")


def check_rating_values(name, values):
    """``values`` (a list of ratings, e.g. a dict's values) as float64.

    TypeError names the first one that is not a real number: strings, bools,
    None and complex numbers are refused, never converted.
    """
    for value in values:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
            raise TypeError(f"{name} must hold real numbers, got {value!r} "
                            f"({type(value).__name__}).")
    return np.asarray(values, dtype=np.float64)


def describe_unknown(ids, mask, kind):
    """``"3 unknown user ids (first: 'bob')"`` for the ids where ``mask`` is True."""
    first = ids[np.argmax(mask)]
    if isinstance(first, np.generic):
        first = first.item()
    return f"{int(np.count_nonzero(mask))} unknown {kind} ids (first: {first!r})"


def as_contiguous(name, array, stacklevel=3):
    """C-contiguous view of ``array``; copies (with a warning) only if it must.

    ``stacklevel`` 3 points the warning at the caller of the function that
    called this one (the user's call of a public function).
    """
    if array.flags.c_contiguous:
        return array
    warnings.warn(f"{name} is not C-contiguous; copying it.", stacklevel=stacklevel)
    return np.ascontiguousarray(array)


def check_value_matrix(name, array):
    """A float32/float64 2-d numpy array, made C-contiguous (with a warning) if it is not."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(array).__name__}.")
    if array.dtype not in VALUE_DTYPES:
        raise TypeError(f"{name}.dtype == {array.dtype}, must be float32 or float64.")
    if array.ndim != 2:
        raise ValueError(f"{name}.ndim == {array.ndim}, must be 2.")
    return as_contiguous(name, array, stacklevel=4)


def check_rating_indices(users, items, n_ratings, n_users, n_items):
    """``users``, ``items`` as arrays of one int32/int64 dtype, each of length
    ``n_ratings`` with values in ``[0, n_users)`` / ``[0, n_items)``, else raise."""
    users, items = np.asarray(users), np.asarray(items)
    for name, arr, upper in (("users", users, n_users), ("items", items, n_items)):
        if arr.dtype not in INDEX_DTYPES or arr.ndim != 1:
            raise TypeError(f"{name} must be a 1-d int32/int64 array, got {arr.dtype} with "
                            f"ndim {arr.ndim}.")
        if len(arr) != n_ratings:
            raise ValueError(f"len({name}) == {len(arr)} but len(ratings) == {n_ratings}; "
                             "they must match.")
        if len(arr) and (arr.min() < 0 or arr.max() >= upper):
            raise ValueError(f"{name} must lie in [0, {upper}).")
    return users, items.astype(users.dtype, copy=False)


def check_csr_arrays(indptr, indices, data, n_cols=None, *, require_data=True,
                     names=("indptr", "indices", "data")):
    """Validate the three arrays of a CSR matrix for a kernel.

    Parameters
    ----------
    indptr : ndarray of int32 or int64, shape (n_rows + 1,)
    indices : ndarray of the same dtype as ``indptr``, shape (nnz,)
    data : ndarray of float32 or float64, shape (nnz,), or None when not required
    n_cols : int, optional
        When given, every index must lie in ``[0, n_cols)``.
    names : tuple of 3 str
        What the messages call the three arrays (the caller's parameter names,
        e.g. ``("w_indptr", "w_indices", "w_data")``).

    Returns
    -------
    indptr, indices, data
        C-contiguous (copied with a warning when they were not).
    """
    ptr_name, idx_name, data_name = names
    arrays = {ptr_name: indptr, idx_name: indices}
    if require_data or data is not None:
        arrays[data_name] = data
    for name, arr in arrays.items():
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"{name} must be a numpy array, got {type(arr).__name__}.")
        if arr.ndim != 1:
            raise ValueError(f"{name}.ndim == {arr.ndim}, must be 1.")
    for name in (ptr_name, idx_name):
        if arrays[name].dtype not in INDEX_DTYPES:
            raise TypeError(f"{name}.dtype == {arrays[name].dtype}, must be int32 or int64.")
    if indptr.dtype != indices.dtype:
        raise TypeError(f"{ptr_name}.dtype == {indptr.dtype} but {idx_name}.dtype == "
                        f"{indices.dtype}; they must match.")
    has_data = data_name in arrays
    if has_data and data.dtype not in VALUE_DTYPES:
        raise TypeError(f"{data_name}.dtype == {data.dtype}, must be float32 or float64.")
    if len(indptr) == 0 or indptr[0] != 0:
        raise ValueError(f"{ptr_name} must start with 0.")
    if indptr[-1] != len(indices):
        raise ValueError(f"{ptr_name}[-1] == {indptr[-1]} but len({idx_name}) == "
                         f"{len(indices)}.")
    if has_data and len(data) != len(indices):
        raise ValueError(f"len({data_name}) == {len(data)} but len({idx_name}) == "
                         f"{len(indices)}.")
    if np.any(np.diff(indptr) < 0):
        raise ValueError(f"{ptr_name} must be non-decreasing.")
    if len(indices) and n_cols is not None:
        lo, hi = indices.min(), indices.max()
        if lo < 0 or hi >= n_cols:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{idx_name} contain {bad}, must lie in [0, {n_cols}).")
    out = [as_contiguous(ptr_name, indptr), as_contiguous(idx_name, indices)]
    out.append(as_contiguous(data_name, data) if has_data else None)
    return tuple(out)


def physical_memory():
    """Bytes of physical memory of this machine, or None where it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX (Windows)
        pass
    try:
        import ctypes

        class _Status(ctypes.Structure):
            _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong),
                        ("total", ctypes.c_ulonglong), ("available", ctypes.c_ulonglong),
                        ("page_total", ctypes.c_ulonglong), ("page_free", ctypes.c_ulonglong),
                        ("virtual_total", ctypes.c_ulonglong),
                        ("virtual_free", ctypes.c_ulonglong), ("extended", ctypes.c_ulonglong)]

        status = _Status()
        status.length = ctypes.sizeof(_Status)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
            return int(status.total)
    except (AttributeError, OSError):
        pass
    return None


def format_bytes(n):
    """``n`` bytes for a message: '512 B', '3.2 MiB', '364.0 TiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return None  # not reached


def check_memory(nbytes, what, **parameter):
    """Refuse, before allocating it, a working set larger than the memory limit.

    ``nbytes``: the estimate (a Python int, so no overflow); ``what``: what
    would be allocated; ``parameter``: the one ``name=value`` that sets its size
    (named in the message). The limit is ``_config.MEMORY_LIMIT``, by default
    this machine's physical memory.
    """
    limit = _config.MEMORY_LIMIT if _config.MEMORY_LIMIT is not None else physical_memory()
    if limit is None or nbytes <= limit:
        return
    (name, value), = parameter.items()
    raise ValueError(f"{name} == {value!r}: {what} would need {format_bytes(nbytes)}, more than "
                     f"the {format_bytes(limit)} of memory here; lower {name}.")
