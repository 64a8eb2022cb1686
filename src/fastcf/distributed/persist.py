"""Data kept on a Dask cluster across calls: :func:`persist` and its handle.

A job given a :class:`Persisted` instead of an :class:`~fastcf.Interactions`
lays out on the workers what it needs (DSGD's rating cells, ALS's row
blocks, similarity's prepared rows...) the first time, and every later job
needing the same layout reuses it without sending the data again. The data
of a handle cannot change (an ``Interactions``' arrays are read-only), so its
layouts never go stale: new data is a new ``Interactions``, persisted as a
new handle with a new identity.
"""

import itertools
import threading

from ..data import Interactions
from ._cluster import _Cluster, _executor

__all__ = ["Persisted", "persist"]

_identities = itertools.count(1)


class Persisted:
    """An :class:`~fastcf.Interactions` kept on a Dask cluster (see :func:`persist`).

    Pass it wherever a ``fastcf.distributed`` function takes data (then
    without ``client``, or with the handle's own). ``data`` is the
    Interactions, ``client`` the ``dask.distributed.Client`` it lives on,
    ``identity`` a number no other handle of this process has.
    """

    def __init__(self, data, executor):
        self.data = data
        self.identity = next(_identities)
        self._executor = executor
        self._layouts = {}
        self._lock = threading.Lock()

    @property
    def client(self):
        return self._executor.client

    def layout(self, key, build):
        """The layout ``key`` of the data on the cluster, built once by ``build()``.

        ``key`` is a hashable naming the layout and every parameter it depends
        on; ``build()`` scatters it (with the handle's executor, outside any
        job, so a copy lost with a worker is scattered again) and returns what
        the jobs need (futures, and any small arrays of this process).
        """
        with self._lock:
            if key not in self._layouts:
                self._layouts[key] = build()
            return self._layouts[key]

    def release(self):
        """Forget every layout: the workers free what no other future holds."""
        with self._lock:
            self._layouts.clear()

    def __repr__(self):
        return (f"Persisted(identity={self.identity}, {self.data.n_users} users x "
                f"{self.data.n_items} items, {self.data.nnz} interactions, "
                f"{len(self._layouts)} layout(s))")


def persist(data, client):
    """``data`` kept on the Dask cluster of ``client`` across calls; returns a :class:`Persisted`.

    Parameters
    ----------
    data : Interactions
    client : dask.distributed.Client or str
        A client or a scheduler address (not None: there is no cluster to
        keep the data on).
    """
    if not isinstance(data, Interactions):
        raise TypeError(f"data must be an Interactions, got {type(data).__name__}.")
    if client is None:
        raise ValueError("client is required: persist keeps data on a Dask cluster.")
    return Persisted(data, _executor(client))


def resolve(data, client):
    """``(executor, the Interactions, the Persisted or None)`` for a job's ``data`` and ``client``.

    A :class:`Persisted` brings its own executor: ``client`` must then be None
    or the handle's own client.
    """
    if isinstance(data, Persisted):
        if client is not None and client is not data.client:
            raise ValueError("data is persisted on another client than the one given: pass "
                             "client=None (the handle's own) or persist it on this one.")
        return data._executor, data.data, data
    return _executor(client), data, None


def is_cluster(executor):
    """True for a Dask cluster's executor (False: the tasks run in this process)."""
    return isinstance(executor, _Cluster)
