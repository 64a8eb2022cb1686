"""Model files: ``.npz`` arrays plus a JSON header, never pickle.

A model file holds the fitted arrays, the external id maps and a header
``{"format": "fastcf-model", "version": 1, "class": ..., "params": ...}``
stored as UTF-8 bytes under ``__header__``. Loading uses
``numpy.load(allow_pickle=False)``, constructs only classes in
:data:`MODEL_CLASSES` (filled by :func:`register_model`), and checks every
array against the class's :class:`Schema` before the model is built, so a
model file from an untrusted source can neither run code nor hand a compiled
kernel an index out of range.
"""

import json
import os
import secrets
import zipfile
import zlib
from typing import NamedTuple

import numpy as np

from ._config import INDEX_DTYPES, VALUE_DTYPES
from ._validation import check_csr_arrays

FORMAT = "fastcf-model"
VERSION = 1
_HEADER = "__header__"
_IDS = ("user_ids_", "item_ids_")
#: What numpy and zipfile raise for a file that is not a readable .npz: a damaged
#: directory entry can also claim an unknown compression (NotImplementedError),
#: encryption (RuntimeError) or compressed data that is not (zlib.error).
_UNREADABLE = (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError,
               NotImplementedError, RuntimeError, zlib.error)

#: Estimator classes that :func:`load` may construct, by class name.
MODEL_CLASSES = {}


def register_model(cls):
    """Make ``cls`` loadable by :func:`load` under its name; returns ``cls``.

    A name with a leading underscore is a private base class (``_Network``,
    ``_Neighborhood``): it is not registered, as it is no model of its own.
    """
    if not cls.__name__.startswith("_"):
        MODEL_CLASSES[cls.__name__] = cls
    return cls


# ------------------------------------------------------------------- schema
#: What each kind of :class:`Array` accepts: (test of the dtype, its description).
_KINDS = {
    "f": (lambda dtype: dtype in VALUE_DTYPES, "float32 or float64"),
    "i": (lambda dtype: dtype in INDEX_DTYPES, "int32 or int64"),
    "U": (lambda dtype: dtype.kind == "U", "a string"),
}
#: dtype kinds of external ids that ``save`` writes (bool, ints, floats, strings).
_ID_KINDS = "biufUS"


class Array(NamedTuple):
    """One saved array of a model.

    Attributes
    ----------
    kind : {"f", "i", "U"}
        float32 or float64; int32 or int64; a string.
    shape : tuple of int or str
        Its shape, ``len(shape)`` dimensions. A str names a dimension:
        ``n_users`` / ``n_items`` (the id maps), a constructor parameter
        (``factors``), one the schema's ``dims`` function derives, or else the
        first array that has it fixes it; ``"name+1"`` is one more.
    dtype_param : str, optional
        The constructor parameter the dtype must equal (``"dtype"``).
    may_be_empty : bool
        Also accepted with every dimension 0 (a part the model may not need).
    values : tuple of str, optional
        The values a 0-d string may hold.
    """

    kind: str
    shape: tuple = ()
    dtype_param: str = None
    may_be_empty: bool = False
    values: tuple = None


class CSR(NamedTuple):
    """A saved CSR matrix: under the key ``p``, arrays ``p_indptr_``,
    ``p_indices_`` and (with ``data``) ``p_data_``.

    ``rows`` x ``cols`` with ``nnz`` entries (dimension names, as in
    :class:`Array`); indices int32 or int64, both arrays the same dtype; the
    indptr runs from 0 to nnz without decreasing and every index lies in
    ``[0, cols)``, which is what lets a kernel read the matrix without bounds
    checks. ``data`` is the kind of the values (None: no values), and
    ``dtype_param`` as in :class:`Array`.
    """

    rows: str
    cols: str
    nnz: str = "nnz"
    data: str = None
    dtype_param: str = None


class Schema:
    """The arrays a model class saves, with the dtype and shape of each.

    Parameters
    ----------
    fields : dict
        Array name -> :class:`Array`, or key -> :class:`CSR`. Every model also
        saves the items each user saw at fit time, the CSR ``seen``
        (``n_users`` x ``n_items``, ``nnz`` entries).
    dims : callable, optional
        ``dims(model, known, arrays) -> dict``: more named dimensions, from an
        unfitted ``model`` with the file's parameters, the dimensions ``known``
        so far (``n_users``, ``n_items`` and the parameters named in shapes)
        and the arrays (their dtypes and dimensionality already checked).
    defaults : dict, optional
        Array name -> ``default(model)``: the array's value in a file written
        before the class saved it (``model``: unfitted, with the file's
        parameters), so such files still load; None where the file's
        parameters need the array (then it is missing).
    """

    def __init__(self, fields, dims=None, defaults=None):
        self.fields = {**fields, "seen": CSR("n_users", "n_items")}
        self.dims = dims
        self.defaults = dict(defaults or {})
        self.arrays = {}
        for key, field in self.fields.items():
            if isinstance(field, CSR):
                self.arrays[f"{key}_indptr_"] = Array("i", (f"{field.rows}+1",))
                self.arrays[f"{key}_indices_"] = Array("i", (field.nnz,))
                if field.data is not None:
                    self.arrays[f"{key}_data_"] = Array(field.data, (field.nnz,),
                                                        field.dtype_param)
            else:
                self.arrays[key] = field

    @property
    def names(self):
        """Names of the saved arrays (the id maps apart)."""
        return tuple(self.arrays)

    def check(self, model, arrays):
        """Raise ValueError naming the first array that does not fit the schema.

        Parameters
        ----------
        model : Recommender
            An unfitted instance with the parameters the arrays belong to.
        arrays : dict of ndarray
            At least the schema's arrays and the id maps ``user_ids_``,
            ``item_ids_``.
        """
        known = {}
        for name, dim in zip(_IDS, ("n_users", "n_items")):
            ids = arrays[name]
            if ids.ndim != 1 or ids.dtype.kind not in _ID_KINDS:
                raise ValueError(f"{name} has dtype {ids.dtype} and shape {ids.shape}, must be "
                                 "1-d ints, floats or strings.")
            if len(np.unique(ids)) != len(ids):
                raise ValueError(f"{name} holds repeated ids.")
            known[dim] = len(ids)
        params = model.get_params()
        for name, spec in self.arrays.items():
            _check_dtype(name, arrays[name], spec, params)
        names = {_dim(entry)[0] for spec in self.arrays.values() for entry in spec.shape}
        known.update({name: params[name] for name in names if name in params})
        if self.dims is not None:
            known.update(self.dims(model, dict(known), arrays))
        fixed_by = {}
        for name, spec in self.arrays.items():
            _check_shape(name, arrays[name], spec, known, fixed_by)
        for key, field in self.fields.items():
            if isinstance(field, CSR):
                parts = (f"{key}_indptr_", f"{key}_indices_", f"{key}_data_")
                data = arrays[parts[2]] if field.data is not None else None
                try:
                    check_csr_arrays(arrays[parts[0]], arrays[parts[1]], data,
                                     n_cols=known[field.cols], require_data=False,
                                     names=parts)
                except TypeError as exc:
                    raise ValueError(str(exc)) from None


def _dim(entry):
    """(name, offset) of a shape entry: ``"n_users+1"`` -> ("n_users", 1); an int -> (None, it)."""
    if isinstance(entry, int):
        return None, entry
    name, _, offset = entry.partition("+")
    return name, int(offset or 0)


def _check_dtype(name, arr, spec, params):
    """Dtype, dimensionality, values of a string, finiteness of floats."""
    accepts, expected = _KINDS[spec.kind]
    if spec.dtype_param is not None:
        wanted = np.dtype(params[spec.dtype_param])
        accepts = wanted.__eq__
        expected = f"{wanted} ({spec.dtype_param} == {wanted})"
    if not accepts(arr.dtype):
        raise ValueError(f"{name}.dtype == {arr.dtype}, must be {expected}.")
    if arr.ndim != len(spec.shape):
        raise ValueError(f"{name}.ndim == {arr.ndim}, must be {len(spec.shape)}: "
                         f"{_shape_text(spec.shape)}.")
    if spec.values is not None and str(arr) not in spec.values:
        raise ValueError(f"{name} == {str(arr)!r}, must be one of {spec.values}.")
    # min and max propagate NaN and show inf without a temporary the size of arr
    if arr.dtype.kind == "f" and arr.size and not (np.isfinite(arr.min())
                                                    and np.isfinite(arr.max())):
        raise ValueError(f"{name} holds NaN or inf values.")


def _check_shape(name, arr, spec, known, fixed_by):
    """Each named dimension agrees with its value, or is fixed here by its first array."""
    empty = spec.may_be_empty and arr.ndim > 0 and not any(arr.shape)
    expected = []
    for entry, found in zip(spec.shape, arr.shape):
        dim, offset = _dim(entry)
        if dim is not None and dim not in known and not empty:
            known[dim], fixed_by[dim] = found - offset, name
        expected.append(offset + known.get(dim, 0) if dim is not None else offset)
    if empty or tuple(expected) == arr.shape:
        return
    sources = ", ".join(f"{dim} from {fixed_by[dim]}" for dim in
                        dict.fromkeys(_dim(e)[0] for e in spec.shape) if dim in fixed_by)
    raise ValueError(
        f"{name}.shape == {arr.shape}, must be {_shape_text(spec.shape)} == "
        f"{tuple(expected)}{' or empty' if spec.may_be_empty else ''}"
        f"{f' ({sources})' if sources else ''}.")


def _shape_text(shape):
    return "(" + ", ".join(str(e) for e in shape) + ("," if len(shape) == 1 else "") + ")"


# ------------------------------------------------------------- save / load
def _json_param(name, value):
    """A constructor parameter as JSON (dtypes by name, tuples as lists)."""
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    if isinstance(value, tuple):
        return [_json_param(name, v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str, list, dict)):
        return value
    raise ValueError(f"parameter {name}={value!r} cannot be saved (not JSON-serialisable).")


def _ids_array(ids, name):
    """External ids as an array numpy can store without pickle."""
    ids = np.asarray(ids)
    if ids.dtype.kind in "biufUS":
        return ids
    values = ids.tolist()
    if all(isinstance(v, str) for v in values):
        return np.array(values, dtype=str)
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    kinds = sorted({type(v).__name__ for v in values})
    raise ValueError(f"{name} of type {kinds} cannot be saved without pickle; "
                     "use int or str ids.")


def save(model, path):
    """Write a fitted fastcf model to ``path`` (the exact path, no suffix added).

    Parameters
    ----------
    model : Recommender
        A fitted fastcf estimator (of a class in :data:`MODEL_CLASSES`).
    path : str or os.PathLike

    Raises
    ------
    ValueError
        The fitted arrays do not fit the class's schema (e.g. a parameter
        that sets a shape was changed by ``set_params`` after ``fit``): the
        file would not load.
    """
    cls = type(model)
    if MODEL_CLASSES.get(cls.__name__) is not cls:
        raise TypeError(f"model must be a fastcf estimator, got {cls.__name__}.")
    arrays = {name: np.asarray(value) for name, value in model._get_state().items()}
    for name in _IDS:
        arrays[name] = _ids_array(getattr(model, name), name)
    params = model.get_params()
    header = {
        "format": FORMAT,
        "version": VERSION,
        "class": cls.__name__,
        "params": {k: _json_param(k, v) for k, v in params.items()},
    }
    try:  # what load would refuse is not written
        cls._state_schema.check(cls(**params), arrays)
    except ValueError as exc:
        raise ValueError(f"this {cls.__name__} cannot be saved: its fitted arrays do not "
                         f"match its parameters: {exc}") from None
    arrays[_HEADER] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    # Write beside the target, then rename: a crash never leaves half a model. Created
    # with mode 0o666 (mkstemp's is 0o600), so the umask sets the model file's
    # permissions as it does for any file the user creates.
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load(path):
    """Read a model written by ``model.save(path)``.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        The file is truncated, not a fastcf model, from a newer format
        version, names a class fastcf does not know, or holds arrays that do
        not fit the class's schema (missing, extra, of another dtype or
        shape, inconsistent with each other or with the id maps, NaN or inf).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no model file at {path!r}.")
    try:
        npz = np.load(path, allow_pickle=False)
    except _UNREADABLE as exc:
        raise ValueError(f"{path!r} is not a fastcf model file (truncated or foreign): "
                         f"{exc}") from exc
    if not isinstance(npz, np.lib.npyio.NpzFile):  # a .npy file: one bare array
        raise ValueError(f"{path!r} is not a fastcf model file: it holds a single .npy "
                         "array, not an .npz archive.")
    try:
        with npz:
            arrays = {name: npz[name] for name in npz.files}
    except _UNREADABLE as exc:
        raise ValueError(f"{path!r} is not a fastcf model file (truncated or foreign): "
                         f"{exc}") from exc
    if _HEADER not in arrays:
        raise ValueError(f"{path!r} is not a fastcf model file: it has no header.")
    try:
        header = json.loads(arrays.pop(_HEADER).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path!r} is not a fastcf model file: unreadable header.") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{path!r} is not a fastcf model file: wrong format marker.")
    version = header.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"{path!r} has format version {version!r}, not a version fastcf "
                         f"ever wrote (an int from 1 to {VERSION}).")
    if version > VERSION:
        raise ValueError(f"{path!r} has format version {version!r}; this fastcf "
                         f"reads versions <= {VERSION}. Upgrade fastcf.")
    cls = MODEL_CLASSES.get(header.get("class"))
    if cls is None:
        raise ValueError(f"{path!r} holds an unknown model class {header.get('class')!r}; "
                         f"known: {sorted(MODEL_CLASSES)}.")
    try:
        model = cls(**header.get("params", {}))
        model._check_params()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path!r} holds invalid parameters: {exc}") from exc
    expected = (*cls._state_schema.names, *_IDS)
    for name, default in cls._state_schema.defaults.items():
        value = default(model) if name not in arrays else None
        if value is not None:
            arrays[name] = np.asarray(value)
    missing = [name for name in expected if name not in arrays]
    if missing:
        raise ValueError(f"{path!r} is incomplete: missing arrays {missing}.")
    # A file holds exactly its class's arrays: one more means it was altered, or
    # written by a fastcf whose format this one does not know.
    extra = sorted(set(arrays) - set(expected))
    if extra:
        raise ValueError(f"{path!r} is corrupted: it holds arrays {extra}, which a "
                         f"{cls.__name__} model file does not have.")
    try:
        cls._state_schema.check(model, arrays)
    except ValueError as exc:
        raise ValueError(f"{path!r} is corrupted: {exc}") from None
    model._set_state(arrays, arrays["user_ids_"], arrays["item_ids_"])
    return model
