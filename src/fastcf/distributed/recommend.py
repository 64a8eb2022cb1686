"""Batch recommendation on a Dask cluster: users partitioned into tasks.

The model is scattered to the workers once per fitted state: the copy is
kept (per model and client, as long as the model lives) under a token of
the model's class, parameters and fitted arrays (their bytes, hashed), and
a later call sends nothing if the token is the same. A refit -- even of the
same Python object, even in place -- changes the arrays, hence the token:
the new state is scattered and the old copy freed, by construction never
reused.
"""

import threading
import weakref

import numpy as np

from .._validation import check_int
from ..base import Recommender
from ._cluster import _executor

__all__ = ["recommend"]

#: model -> {client id: (token of its fitted state, the future of its scattered copy)}
_scattered = weakref.WeakKeyDictionary()
_scattered_lock = threading.Lock()


def _recommend_block(model, users, n, exclude_seen):
    return model.recommend_frame(users, n, exclude_seen=exclude_seen)


def fitted_token(model):
    """A token of everything ``model``'s answers depend on: its class, parameters, fitted arrays.

    The arrays are those ``save`` writes (``_get_state``, the ids) and the
    seen CSR ``recommend`` excludes, each once; their bytes are hashed
    (``dask.base.tokenize``: SHA-1, about 0.5 s per GB here, several times
    faster with ``xxhash`` or ``cityhash`` installed), so two tokens are equal
    only for the same fitted state -- also after ``partial_fit``, which
    updates the arrays in place.
    """
    from dask.base import tokenize

    state = dict(model._get_state())
    for name in ("user_ids_", "item_ids_", "seen_indptr_", "seen_indices_"):
        if name not in state and hasattr(model, name):
            state[name] = getattr(model, name)
    return tokenize(type(model).__module__, type(model).__qualname__, model.get_params(),
                    sorted(state.items()))


def _model_on(executor, model):
    """The future of ``model`` scattered to every worker: the kept copy if its state is the same."""
    token = fitted_token(model)
    client = executor.client
    with _scattered_lock:
        copies = _scattered.setdefault(model, {})
        kept = copies.get(client.id)
        # a copy lost with its workers (or of a closed client) is sent again
        if kept is not None and kept[0] == token and kept[1].status == "finished":
            return kept[1]
        future = executor.scatter_one(model, broadcast=True)
        copies[client.id] = (token, future)  # the previous state's copy is freed
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
        each call, which sends the model each time).
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
    if client is not None:
        model = _model_on(_executor(client), model)
    blocks = [users[s:s + block_users] for s in range(0, len(users), block_users)]
    parts = [dask.delayed(_recommend_block, pure=True)(model, block, n, exclude_seen)
             for block in blocks]
    return dd.from_delayed(parts, meta=meta, verify_meta=False)
