"""Batch recommendation on a Dask cluster: users partitioned into tasks."""

import numpy as np

from .._validation import check_int
from ..base import Recommender
from ._cluster import _executor

__all__ = ["recommend"]


def _recommend_block(model, users, n, exclude_seen):
    return model.recommend_frame(users, n, exclude_seen=exclude_seen)


def recommend(model, users=None, n=10, *, client=None, block_users=10_000, exclude_seen=True):
    """``model.recommend_frame`` for many users, users partitioned across workers.

    The model is sent to the workers once (scattered to each); every block of
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
        None: Dask's default (local threads) scheduler.
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
        model = _executor(client).scatter_one(model, broadcast=True)
    blocks = [users[s:s + block_users] for s in range(0, len(users), block_users)]
    parts = [dask.delayed(_recommend_block, pure=True)(model, block, n, exclude_seen)
             for block in blocks]
    return dd.from_delayed(parts, meta=meta, verify_meta=False)


