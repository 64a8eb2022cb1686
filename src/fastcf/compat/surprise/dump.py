"""Saving predictions and algorithms: ``dump`` and ``load`` (Surprise's :mod:`surprise.dump`).

Unlike Surprise, no pickle is used, so loading a file from an untrusted
source can run no code: a dump is one ``.npz`` file (read with
``numpy.load(allow_pickle=False)``) holding a JSON header, the predictions as
arrays (ids, true ratings, estimates, ``details`` columns) and, for an
algorithm, its Surprise parameters, its trainset's ratings and its fitted
fastcf model file (:func:`fastcf.persist.save`, itself checked on load). Only
the built-in algorithm classes can be dumped; a custom :class:`AlgoBase`
subclass cannot (it would need pickle).
"""

import json
import os
import tempfile

import numpy as np

from ...persist import load as load_model
from . import prediction_algorithms as algorithms
from .prediction_algorithms.algo_base import EngineAlgo
from .prediction_algorithms.predictions import Prediction, build_predictions
from .trainset import Trainset

__all__ = ["dump", "load"]

FORMAT = "fastcf-surprise-dump"
VERSION = 1
_HEADER = "__header__"
#: The classes ``load`` may build, by name.
ALGORITHMS = {name: getattr(algorithms, name) for name in algorithms.__all__
              if isinstance(getattr(algorithms, name), type)
              and issubclass(getattr(algorithms, name), EngineAlgo)}
_DETAIL_KEYS = {"was_impossible", "reason", "actual_k"}
#: Ids stored as arrays when all of one kind (else as JSON in the header).
_STRINGS, _INTS, _FLOATS = str, (int, np.integer), (float, np.floating)


def _encode(values, name, arrays, header):
    """Store ``values`` (ids or ratings) as an array, or in the header if they mix types."""
    kinds = {type(v) for v in values}
    for types, dtype in ((_STRINGS, str), (_INTS, np.int64), (_FLOATS, np.float64)):
        if all(issubclass(kind, types) and kind is not bool for kind in kinds):
            arrays[name] = np.array(values, dtype=dtype)
            return
    try:
        header[name] = json.loads(json.dumps(list(values)))
    except (TypeError, ValueError):
        raise TypeError(f"cannot dump {name}: its values are neither numbers nor strings.") \
            from None
    if header[name] != list(values) or any(type(a) is not type(b)
                                           for a, b in zip(header[name], values)):
        raise TypeError(f"cannot dump {name}: its values are neither numbers nor strings.")


def _decode(name, arrays, header):
    return header[name] if name in header else arrays[name].tolist()


def _encode_predictions(predictions, arrays, header):
    uids, iids, r_uis, ests, details = ([p[k] for p in predictions] for k in range(5))
    _encode(uids, "uid", arrays, header)
    _encode(iids, "iid", arrays, header)
    arrays["r_ui_missing"] = np.array([r is None for r in r_uis], dtype=bool)
    arrays["r_ui"] = np.array([np.nan if r is None else r for r in r_uis], dtype=np.float64)
    arrays["est"] = np.array(ests, dtype=np.float64)
    standard = all(isinstance(d, dict) and set(d) <= _DETAIL_KEYS and "was_impossible" in d
                   for d in details)
    if standard:
        arrays["was_impossible"] = np.array([d["was_impossible"] for d in details], dtype=bool)
        arrays["actual_k"] = np.array([d.get("actual_k", -1) for d in details], dtype=np.int64)
        arrays["reason"] = np.array([d.get("reason", "") for d in details], dtype=str)
    else:
        _encode_details(details, header)
    header["predictions"] = len(predictions)


def _encode_details(details, header):
    try:
        header["details"] = json.loads(json.dumps(details))
    except (TypeError, ValueError):
        raise TypeError("cannot dump the predictions' details: they are not JSON "
                        "(dicts of numbers and strings).") from None


def _decode_predictions(arrays, header):
    uids, iids = _decode("uid", arrays, header), _decode("iid", arrays, header)
    r_uis = [None if missing else r for missing, r in
             zip(arrays["r_ui_missing"].tolist(), arrays["r_ui"].tolist())]
    if "details" in header:
        return [Prediction(*row) for row in zip(uids, iids, r_uis, arrays["est"].tolist(),
                                                header["details"])]
    return build_predictions(uids, iids, r_uis, arrays["est"], arrays["was_impossible"],
                             arrays["actual_k"], arrays["reason"].tolist())


def _params(algo):
    """The Surprise constructor parameters ``algo`` keeps (JSON values)."""
    import inspect

    params = {}
    signature = inspect.signature(type(algo).__init__).parameters.values()
    names = [p.name for p in signature if p.kind == p.POSITIONAL_OR_KEYWORD]
    if any(p.kind == p.VAR_KEYWORD for p in signature):  # AlgoBase's options, via **kwargs
        names += ["bsl_options", "sim_options"]
    for name in names:
        if name == "self" or name not in algo.__dict__:
            continue
        value = algo.__dict__[name]
        if name == "random_state" and not (value is None or isinstance(value, int)):
            value = None  # a RandomState: the fitted model no longer needs it
        params[name] = value
    try:
        return json.loads(json.dumps(params))
    except (TypeError, ValueError):
        raise TypeError(f"cannot dump this {type(algo).__name__}: its parameters {params} are "
                        "not JSON.") from None


def _encode_algo(algo, arrays, header):
    cls = type(algo)
    if ALGORITHMS.get(cls.__name__) is not cls:
        raise TypeError(f"dump stores the built-in algorithms only ({', '.join(ALGORITHMS)}), "
                        f"not a {cls.__name__}: a custom class would need pickle, which fastcf "
                        "does not use.")
    entry = {"class": cls.__name__, "params": _params(algo), "fitted": False}
    model = algo.__dict__.get("_model")
    if model is not None:
        trainset = algo.trainset
        entry.update(fitted=True, rating_scale=list(trainset.rating_scale))
        _encode(trainset._raw_users.tolist(), "trainset_raw_users", arrays, entry)
        _encode(trainset._raw_items.tolist(), "trainset_raw_items", arrays, entry)
        arrays["trainset_users"] = trainset._users
        arrays["trainset_items"] = trainset._items
        arrays["trainset_ratings"] = trainset._ratings
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.npz")
            model.save(path)
            with open(path, "rb") as f:
                arrays["model"] = np.frombuffer(f.read(), dtype=np.uint8)
    header["algo"] = entry


def _decode_algo(arrays, entry):
    cls = ALGORITHMS.get(entry["class"])
    if cls is None:
        raise ValueError(f"the dump holds an unknown algorithm class {entry['class']!r}.")
    algo = cls(**entry["params"])
    if entry["fitted"]:
        raw_users = np.asarray(_decode("trainset_raw_users", arrays, entry), dtype=object)
        raw_items = np.asarray(_decode("trainset_raw_items", arrays, entry), dtype=object)
        algo.trainset = Trainset._from_raw(raw_users[arrays["trainset_users"]],
                                           raw_items[arrays["trainset_items"]],
                                           arrays["trainset_ratings"],
                                           tuple(entry["rating_scale"]))
        for name in cls._ATTRIBUTES:
            algo.__dict__.pop(name, None)
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.npz")
            with open(path, "wb") as f:
                f.write(arrays["model"].tobytes())
            algo._model = load_model(path)
    return algo


def dump(file_name, predictions=None, algo=None, verbose=0):
    """Write ``predictions`` and / or ``algo`` to ``file_name`` (an ``.npz`` file, no pickle).

    Parameters
    ----------
    file_name : str or os.PathLike
        The exact path written (no suffix is added).
    predictions : list of Prediction, optional
    algo : a built-in algorithm, optional
        Fitted or not; a fitted one keeps its trainset and fastcf model.
    verbose : int
        1 prints where the dump was written.

    Raises
    ------
    TypeError
        ``algo`` is not a built-in algorithm class (a custom ``AlgoBase``
        subclass), or ids / details are not numbers and strings.
    """
    arrays, header = {}, {"format": FORMAT, "version": VERSION, "predictions": None,
                          "algo": None}
    if predictions is not None:
        _encode_predictions(predictions, arrays, header)
    if algo is not None:
        _encode_algo(algo, arrays, header)
    arrays[_HEADER] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    with open(file_name, "wb") as f:
        np.savez(f, **arrays)
    if verbose:
        print("The dump has been saved as file", file_name)


def load(file_name):
    """Read a file :func:`dump` wrote: returns ``(predictions, algo)`` (None where not dumped).

    Raises
    ------
    ValueError
        The file is not such a dump.
    """
    with open(file_name, "rb") as f, np.load(f, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    try:
        header = json.loads(arrays.pop(_HEADER).tobytes().decode("utf-8"))
        if header.get("format") != FORMAT:
            raise KeyError("format")
    except (KeyError, ValueError, UnicodeDecodeError):
        raise ValueError(f"{file_name} is not a dump written by fastcf.compat.surprise.dump.") \
            from None
    if header["version"] > VERSION:
        raise ValueError(f"{file_name} is a dump of version {header['version']}; this fastcf "
                         f"reads up to version {VERSION}.")
    predictions = None if header["predictions"] is None else _decode_predictions(arrays, header)
    algo = None if header["algo"] is None else _decode_algo(arrays, header["algo"])
    return predictions, algo
