"""Interactions from Dask DataFrames."""

from ..data import Interactions
from ._cluster import _executor
from .persist import Persisted

__all__ = ["from_dask"]


def from_dask(frame, user="user", item="item", rating=None, timestamp=None, *, client=None,
              **kwargs):
    """An :class:`~fastcf.Interactions` from a Dask DataFrame (e.g. Parquet / CSV shards).

    The named columns are computed (read) into this process, then built as
    ``Interactions.from_frame`` would (same arguments); side information is
    attached afterwards with ``Interactions.with_features``.

    With ``client``, the columns are read by that cluster's workers and the
    result is kept on it: a :class:`~fastcf.distributed.Persisted` (the same
    as ``distributed.persist(from_dask(frame, ...), client)``), as Dask's own
    ``client.persist(frame)`` keeps a frame there -- pass it to every job,
    without ``client``, and each sends its layout of the data once. Without
    ``client``: an ``Interactions`` (read with Dask's default scheduler).
    """
    import dask.dataframe as dd

    if not isinstance(frame, dd.DataFrame):
        raise TypeError(f"frame must be a dask.dataframe.DataFrame, got {type(frame).__name__}.")
    columns = [c for c in (user, item, rating, timestamp) if c is not None]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"frame has no column {missing}; its columns: {list(frame.columns)}.")
    if client is None:
        return Interactions.from_frame(frame[columns].compute(), user=user, item=item,
                                       rating=rating, timestamp=timestamp, **kwargs)
    executor = _executor(client)
    read = frame[columns].compute(scheduler=executor.client)
    return Persisted(Interactions.from_frame(read, user=user, item=item, rating=rating,
                                             timestamp=timestamp, **kwargs), executor)
