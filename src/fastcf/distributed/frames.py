"""Interactions from Dask DataFrames."""

from ..data import Interactions

__all__ = ["from_dask"]


def from_dask(frame, user="user", item="item", rating=None, timestamp=None, **kwargs):
    """An :class:`~fastcf.Interactions` from a Dask DataFrame (e.g. Parquet / CSV shards).

    The named columns are computed (read) into this process, then built as
    ``Interactions.from_frame`` would (same arguments); side information is
    attached afterwards with ``Interactions.with_features``.
    """
    import dask.dataframe as dd

    if not isinstance(frame, dd.DataFrame):
        raise TypeError(f"frame must be a dask.dataframe.DataFrame, got {type(frame).__name__}.")
    columns = [c for c in (user, item, rating, timestamp) if c is not None]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"frame has no column {missing}; its columns: {list(frame.columns)}.")
    return Interactions.from_frame(frame[columns].compute(), user=user, item=item, rating=rating,
                                   timestamp=timestamp, **kwargs)
