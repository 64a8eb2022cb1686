"""Batch recommendation on a Dask cluster: users partitioned into tasks.

The model is scattered to the workers once per fitted state: the copy is
kept (per model and client, as long as the model lives) under a token of
the model's class, parameters and fitted arrays (see :func:`fitted_state`),
and a later call sends nothing if the token is the same. A refit -- even of
the same Python object, even in place -- changes the arrays, hence the
token: the new state is scattered and the old copy freed, by construction
never reused.
"""

import threading
import weakref

import numpy as np

from .._validation import check_int
from ..base import Recommender
from ._cluster import _executor

__all__ = ["recommend"]

#: model -> {client id: (token of its fitted state, the future of its scattered copy,
#: the arrays the token names by identity)}
_scattered = weakref.WeakKeyDictionary()
_scattered_lock = threading.Lock()


def _recommend_block(model, users, n, exclude_seen):
    return model.recommend_frame(users, n, exclude_seen=exclude_seen)


def _immutable(array):
    """Whether ``array`` and every array it views are read-only (an ``Interactions``' are)."""
    while isinstance(array, np.ndarray):
        if array.flags.writeable:
            return False
        array = array.base
    return array is None or isinstance(array, bytes)


def fitted_state(model):
    """``(a token of everything model's answers depend on, the arrays it names by identity)``.

    The token covers the class, the parameters and the fitted arrays: those
    ``save`` writes (``_get_state``, the ids) and the seen CSR ``recommend``
    excludes. A read-only array (to its root: the ids and seen CSR a fit takes
    from its ``Interactions``) cannot change, so it is named by its identity
    -- valid while the array lives: keep the second element as long as the
    token -- and every other array by its bytes (``dask.base.tokenize``:
    SHA-1 here, several times faster with ``xxhash`` installed). Two tokens
    are equal only for the same fitted state, also after ``partial_fit``,
    which updates arrays in place.
    """
    from dask.base import tokenize

    state = dict(model._get_state())
    for name in ("user_ids_", "item_ids_", "seen_indptr_", "seen_indices_"):
        if name not in state and hasattr(model, name):
            state[name] = getattr(model, name)
    pinned, named = [], []
    for name, value in sorted(state.items()):
        if isinstance(value, np.ndarray) and _immutable(value):
            pinned.append(value)
            value = ("read-only array", id(value), value.shape, value.dtype.str)
        named.append((name, value))
    token = tokenize(type(model).__module__, type(model).__qualname__, model.get_params(),
                     named)
    return token, pinned


def _model_on(executor, model):
    """The future of ``model`` scattered to every worker: the kept copy if its state is the same."""
    token, pinned = fitted_state(model)
    client = executor.client
    with _scattered_lock:
        copies = _scattered.setdefault(model, {})
        kept = copies.get(client.id)
        # a copy lost with its workers (or of a closed client) is sent again
        if kept is not None and kept[0] == token and kept[1].status == "finished":
            return kept[1]
        future = executor.scatter_one(model, broadcast=True)
        # the previous state's copy is freed; the arrays the token names by identity live on
        copies[client.id] = (token, future, pinned)
        return future


def recommend(model, users=None, n=10, *, client=None, block_users=10_000, exclude_seen=True):
    """``model.recommend_frame`` for many users, users partitioned across workers.

    The model is sent to the workers once (scattered to each) and kept there
    for the next calls with the same client while its fitted state does not
    change (a token of its parameters and fitted arrays, checked each call:
    a refit model is sent again, never the old copy used). Every block of
    ``block_users`` users is a task. Returns a lazy Dask DataFrame with the
    columns (user, rank, item, score), one partition per block, in the order
    of ``users`` -- ``.compute()`` it, or write it with ``.to_parquet(path)``.
    Its rows equal ``model.recommend_frame(users, n)``.

    Parameters
    ----------
    model : a fitted fastcf estimator
    users : array-like of external user ids, optional
        Default every user the model knows.
    n : int
    client : dask.distributed.Client, str or None
        None: Dask's default (local threads) scheduler. The model's copy is
        kept per Client object (a scheduler address connects a new client
        each call, which sends the model each time and keeps nothing).
    block_users : int > 0
    exclude_seen : bool
    """
    import dask
    import dask.dataframe as dd

    if not isinstance(model, Recommender):
        raise TypeError(f"model must be a fitted fastcf estimator, got {type(model).__name__}.")
    model._check_is_fitted()
    n = check_int("n", n, min_value=1)
    block_users = check_int("block_users", block_users, min_value=1)
    users = model.user_ids_ if users is None else np.asarray(users)
    if users.ndim != 1 or len(users) == 0:
        raise ValueError("users must be a non-empty 1-d array of user ids.")
    meta = _recommend_block(model, users[:1], n, exclude_seen).iloc[:0]
    if isinstance(client, str):  # a client of this call only: nothing to keep the copy for
        model = _executor(client).scatter_one(model, broadcast=True)
    elif client is not None:
        model = _model_on(_executor(client), model)
    blocks = [users[s:s + block_users] for s in range(0, len(users), block_users)]
    parts = [dask.delayed(_recommend_block, pure=True)(model, block, n, exclude_seen)
             for block in blocks]
    return dd.from_delayed(parts, meta=meta, verify_meta=False)
