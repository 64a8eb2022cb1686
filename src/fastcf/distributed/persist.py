"""Data kept on a Dask cluster across calls: :func:`persist` and its handle.

A job given a :class:`Persisted` instead of an :class:`~fastcf.Interactions`
lays out on the workers what it needs (DSGD's rating cells, ALS's row
blocks, similarity's prepared rows, a search's folds...) the first time, and
every later job needing the same layout reuses it without computing or
sending it again::

    data = distributed.persist(fastcf.make_ratings(...), client)  # or from_dask(..., client=)
    nbrs = distributed.similarity_topk(data, "pearson", k=40)      # lays out the rows, sends them
    more = distributed.similarity_topk(data, "pearson", k=80)      # reuses them: nothing sent
    model = distributed.fit_mf(fastcf.MatrixFactorization(), data)
    search = model_selection.grid_search(fastcf.BaselineOnly, grid, data, folds=5)

A layout is named by its job and every parameter it depends on (see
:meth:`Persisted.layout`): a call with another value of one of them lays out
anew (and keeps both). The data of a handle cannot change (an
``Interactions``' arrays are read-only), so its layouts never go stale: new
data is a new ``Interactions``, persisted as a new handle with a new
identity. Nothing is sent by :func:`persist` itself: each layout is sent by
the first job that needs it. :meth:`Persisted.release` (or dropping the
handle) frees them on the workers.

A layout's copies lost with a worker are sent again from this process (the
handle keeps what it sent: this process holds a copy of every layout until
``release``), so a job on a handle survives a lost worker with the same
answer, as one without.
"""

import itertools
import threading

from ..data import Interactions
from ._cluster import _executor

__all__ = ["Persisted", "persist"]

_identities = itertools.count(1)


class Persisted:
    """An :class:`~fastcf.Interactions` kept on a Dask cluster (see :func:`persist`).

    Pass it wherever a ``fastcf.distributed`` function or a search
    (``fastcf.grid_search`` / ``random_search``) takes data, then without
    ``client`` or with the handle's own. ``data`` is the Interactions,
    ``client`` the ``dask.distributed.Client`` it lives on, ``identity`` a
    number no other handle of this process has (a new handle of the same data
    has a new one).
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

    @property
    def layouts(self):
        """The keys of the layouts on the cluster now, in the order they were built."""
        with self._lock:
            return list(self._layouts)

    def layout(self, key, build):
        """The layout ``key`` of the data on the cluster, built once by ``build()``.

        ``key`` is a hashable naming the layout and every parameter it depends
        on; ``build()`` scatters it (with the handle's executor, outside any
        job, so a copy lost with a worker is scattered again) and returns what
        the jobs need (futures, and any small arrays of this process). A
        ``build()`` that raises leaves nothing behind: the next call builds.
        """
        with self._lock:
            if key not in self._layouts:
                kept = getattr(self._executor, "kept", {})
                before = set(kept)
                try:
                    self._layouts[key] = build()
                except BaseException:
                    for name in set(kept) - before:  # what it had sent before it failed
                        del kept[name]
                    raise
            return self._layouts[key]

    def release(self):
        """Forget every layout: the workers free what no other future holds.

        The handle stays usable: the next job lays out (and sends) its data
        again. Not to be called while a job on the handle runs.
        """
        with self._lock:
            self._layouts.clear()
            # the executor keeps what it scattered, to scatter it again if lost
            getattr(self._executor, "kept", {}).clear()

    def __repr__(self):
        return (f"Persisted(identity={self.identity}, {self.data.n_users} users x "
                f"{self.data.n_items} items, {self.data.nnz} interactions, "
                f"{len(self._layouts)} layout(s))")


def persist(data, client):
    """``data`` kept on the Dask cluster of ``client`` across calls; returns a :class:`Persisted`.

    Every call returns a new handle (a new ``identity``, no layouts yet):
    persist the data once and pass the handle to every job.

    Parameters
    ----------
    data : Interactions
    client : dask.distributed.Client or str
        A client or a scheduler address (not None: there is no cluster to
        keep the data on).
    """
    if isinstance(data, Persisted):
        raise TypeError("data is already a Persisted: pass the handle itself to the jobs.")
    if not isinstance(data, Interactions):
        hint = ""
        if type(data).__module__.startswith(("dask.", "dask_expr")):
            hint = " (for a Dask DataFrame: distributed.from_dask(frame, ..., client=client))"
        raise TypeError(f"data must be an Interactions, got {type(data).__name__}{hint}.")
    if client is None:
        raise ValueError("client is required: persist keeps data on a Dask cluster.")
    return Persisted(data, _executor(client))


def _same_client(client, own):
    """Whether ``client`` (a Client or a scheduler address) names the Client ``own``."""
    if isinstance(client, str):
        return client == own.scheduler.address
    return client is own


def resolve(data, client):
    """``(executor, the Interactions, the Persisted or None)`` for a job's ``data`` and ``client``.

    A :class:`Persisted` brings its own executor: ``client`` must then be None
    or the handle's own client (or its scheduler's address).
    """
    if isinstance(data, Persisted):
        if client is not None and not _same_client(client, data.client):
            raise ValueError("data is persisted on another client than the one given: pass "
                             "client=None (the handle's own) or persist it on this one.")
        return data._executor, data.data, data
    return _executor(client), data, None

