"""The executors the distributed jobs submit to: a Dask cluster, or this process.

Tasks are pure (each copies what it updates) and every intermediate future
is held to the end of its job: a worker lost mid-job costs its running tasks
and the results it held, which Dask computes again elsewhere with the same
answer. An input lost with it (scattered data has no recipe) is scattered
again from this process and the job run again, with the same answer.
"""

import threading


class _Here:
    """The no-cluster executor: runs each task at once, in this process."""

    n_workers = 1

    def retrying(self, job):
        return job()

    def submit(self, fn, *args, **kwargs):
        return fn(*args)

    def scatter(self, data, broadcast=False, worker=None):
        return data

    def scatter_one(self, obj, broadcast=False, worker=None):
        return obj

    def gather(self, futures):
        return futures


class _Cluster:
    """A ``dask.distributed.Client`` behind the executor interface.

    Dask's active memory manager drops the extra replicas of a broadcast
    within seconds, so a lost worker can take the only copy of an input. A
    job whose futures Dask cancelled for it is run again (:meth:`retrying`),
    which scatters the inputs it scatters itself again; the inputs scattered
    outside a job (once for many jobs, e.g. DSGD's rating cells) are kept here
    and scattered again from this process when lost, so the tasks submitted
    afterwards read the new copy.
    """

    #: Whole-job attempts when Dask cancels a job's futures (a lost input).
    ATTEMPTS = 3

    def __init__(self, client):
        from distributed import Future
        from distributed.client import CancelledError, FutureCancelledError

        self.client = client
        self.n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        self.cancelled = (CancelledError, FutureCancelledError)
        self.future_type = Future
        self._local = threading.local()  # in_job: per thread, as jobs may run in several
        #: key of an input scattered outside a job -> [its current future, the object]
        self.kept = {}

    @property
    def in_job(self):
        """True inside :meth:`retrying` in this thread: what it scatters is not kept."""
        return getattr(self._local, "in_job", False)

    @in_job.setter
    def in_job(self, value):
        self._local.in_job = value

    def retrying(self, job):
        """``job()``, run again (pure: the same answer) if Dask cancelled its futures."""
        for attempt in range(self.ATTEMPTS):
            self.in_job = True
            try:
                return job()
            except self.cancelled:
                if attempt == self.ATTEMPTS - 1:
                    raise
            finally:
                self.in_job = False
            self._scatter_lost()

    def _scatter_lost(self):
        """Scatter again each kept input of which no worker holds a copy."""
        # asked by key: Client.who_has refuses the futures Dask cancelled
        held = self.client.sync(self.client.scheduler.who_has,
                                keys=[future.key for future, _ in self.kept.values()])
        lost = [entry for entry in self.kept.values() if not held.get(entry[0].key)]
        if lost:
            futures = self.client.scatter([obj for _, obj in lost], broadcast=True, hash=False)
            for entry, future in zip(lost, futures):
                entry[0] = future

    def submit(self, fn, *args, worker=None):
        """``fn(*args)`` as a task (on the worker of address ``worker`` while it lives)."""
        args = [self.kept[arg.key][0] if isinstance(arg, self.future_type)
                and arg.key in self.kept else arg for arg in args]
        if worker is None:
            return self.client.submit(fn, *args, pure=False)
        # a loose restriction: once that worker is lost the task runs on another
        return self.client.submit(fn, *args, pure=False, workers=[worker],
                                  allow_other_workers=True)

    def scatter(self, data, broadcast=False, worker=None):
        """One future per object of the list ``data`` (on every worker with
        ``broadcast``, else on the worker of address ``worker`` if given)."""
        try:
            futures = self.client.scatter(data, broadcast=broadcast, hash=False,
                                          workers=None if worker is None else [worker])
        except KeyError:  # that worker is gone (the scheduler knows it no more): any will do
            futures = self.client.scatter(data, broadcast=broadcast, hash=False)
        if not self.in_job:  # a retried job scatters its own inputs again itself
            self.kept.update((future.key, [future, obj]) for future, obj in zip(futures, data))
        return futures

    def scatter_one(self, obj, broadcast=False, worker=None):
        """``obj`` as one future (scatter would split a tuple or list into many)."""
        return self.scatter([obj], broadcast=broadcast, worker=worker)[0]

    def gather(self, futures):
        return self.client.gather(futures)


#: Seconds to wait for a scheduler given by address.
CONNECT_TIMEOUT = 10


def _executor(client):
    """The executor for ``client`` (None, a Client, or a scheduler address)."""
    if client is None:
        return _Here()
    try:
        from dask.distributed import Client
    except ImportError:
        raise ImportError("fastcf.distributed needs dask.distributed: pip install "
                          "'fastcf[dask]'.") from None
    if isinstance(client, str):
        try:
            client = Client(client, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(f"cannot reach the Dask scheduler at {client!r} (within "
                                  f"{CONNECT_TIMEOUT} s): {exc}") from None
    if not isinstance(client, Client):
        raise TypeError(f"client must be a dask.distributed.Client, a scheduler address or "
                        f"None, got {type(client).__name__}.")
    return _Cluster(client)


def is_cluster(executor):
    """True for a Dask cluster's executor (False: the tasks run in this process)."""
    return isinstance(executor, _Cluster)
