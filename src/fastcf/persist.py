"""Model files: ``.npz`` arrays plus a JSON header, never pickle.

A model file holds the fitted arrays, the external id maps and a header
``{"format": "fastcf-model", "version": 1, "class": ..., "params": ...}``
stored as UTF-8 bytes under ``__header__``. Loading uses
``numpy.load(allow_pickle=False)`` and constructs only classes in
:data:`MODEL_CLASSES` (filled by :func:`register_model`), so a model file from
an untrusted source cannot run code.
"""

import json
import os
import tempfile
import zipfile
import zlib

import numpy as np

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
        A fitted fastcf estimator.
    path : str or os.PathLike
    """
    if MODEL_CLASSES.get(type(model).__name__) is not type(model):
        raise TypeError(f"model must be a fastcf estimator, got {type(model).__name__}.")
    arrays = {name: np.asarray(value) for name, value in model._get_state().items()}
    for name in _IDS:
        arrays[name] = _ids_array(getattr(model, name), name)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "class": type(model).__name__,
        "params": {k: _json_param(k, v) for k, v in model.get_params().items()},
    }
    arrays[_HEADER] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    # Write beside the target, then rename: a crash never leaves half a model.
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
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
        version, or names a class fastcf does not know.
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
    missing = [n for n in (*cls._state_names, "seen_indptr_", "seen_indices_", *_IDS)
               if n not in arrays]
    if missing:
        raise ValueError(f"{path!r} is incomplete: missing arrays {missing}.")
    _check_state(path, arrays)
    model._set_state(arrays, arrays["user_ids_"], arrays["item_ids_"])
    return model


def _check_state(path, arrays):
    """Refuse state arrays no fitted model holds: the file was altered after ``save``.

    Every fitted array is numeric (or a 0-d string, as a kNN model's ``storage_``),
    its floats are finite, and the seen-items CSR fits the id maps.
    """
    for name, arr in arrays.items():
        if name in _IDS:
            continue
        if arr.dtype.kind not in "biuf" and not (arr.dtype.kind == "U" and arr.ndim == 0):
            raise ValueError(f"{path!r} is corrupted: array {name!r} has dtype {arr.dtype}, "
                             "must be numeric.")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ValueError(f"{path!r} is corrupted: array {name!r} holds NaN or inf values.")
    indptr, indices = arrays["seen_indptr_"], arrays["seen_indices_"]
    if indptr.dtype.kind in "iu" and indices.dtype.kind in "iu":
        indptr, indices = indptr.astype(np.int64), indices.astype(np.int64)
    n_users, n_items = len(arrays["user_ids_"]), len(arrays["item_ids_"])
    try:
        check_csr_arrays(indptr, indices, None, n_cols=n_items, require_data=False,
                         names=("seen_indptr_", "seen_indices_", ""))
        if len(indptr) != n_users + 1:
            raise ValueError(f"len(seen_indptr_) == {len(indptr)}, must be n_users + 1 == "
                             f"{n_users + 1}.")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path!r} is corrupted: {exc}") from None
