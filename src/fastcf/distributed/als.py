"""Distributed ALS on a Dask cluster: :func:`fit_als`."""

import functools
import itertools

from .._parallel import resolve_n_threads
from .._validation import check_int
from ..als import _CSR, ALS
from ..data import Interactions
from ._cluster import is_cluster
from .persist import Persisted, resolve

__all__ = ["fit_als"]

#: Seconds fit_als waits for a worker when the cluster has none.
WAIT_FOR_WORKERS = 60


def _solve_block(solver_model, rows, inputs, factors, solver, n_threads):
    """One row block of an ALS half-step (a task; inputs untouched): the block's
    ``factors`` solved from its ``rows`` with ``inputs = (other, shared)`` frozen."""
    other, shared = inputs
    factors = factors.copy()
    solver_model._solve_rows(rows, other, shared, factors, solver, n_threads)
    return factors


def _row_block(csr, lo, hi):
    """Rows ``lo:hi`` of ``csr`` as a :class:`~fastcf.als._CSR` of its own (views of
    its entries: sending a block pickles only them)."""
    start, stop = int(csr.indptr[lo]), int(csr.indptr[hi])
    return _CSR(csr.indptr[lo:hi + 1] - csr.indptr[lo], csr.indices[start:stop],
                csr.data[start:stop])


class _ClusterSweeps:
    """The half-steps of :meth:`fastcf.ALS.fit` as one task per row block (``model._sweeps``).

    ``start`` cuts each side's CSR at ``model._split_points`` (where blocks
    solved alone give the bits of the whole sweep) into ``n_blocks`` blocks
    and sends each once to one worker, where it stays (block ``b`` on worker
    ``b mod W``); with a :class:`Persisted` the blocks stay across fits. Each
    ``sweep`` computes ``model._shared(other)`` here, sends ``other`` and it
    once (to every worker with ``broadcast``, else to one, the others
    fetching it), runs every block's task on its worker, and gathers the solved
    blocks into ``factors``. A block's solved factors stay where they were
    computed as the warm start of its next half-step; they are sent from here
    only at the first half-step of a side, or when a half-step is run again.
    """

    def __init__(self, model, executor, handle, n_blocks, broadcast):
        self.model, self.executor, self.handle = model, executor, handle
        self.n_blocks, self.broadcast = n_blocks, broadcast
        # what the tasks need of the model: its parameters, not its fitted arrays
        self.solver_model = type(model)(**model.get_params())
        self.layouts, self.resident = {}, {}
        if is_cluster(executor):
            self._see_workers()
        else:
            self.addresses = [None]
            self.n_threads = {None: resolve_n_threads(model.n_threads)}

    def _see_workers(self):
        """The workers there are now (asked of the scheduler: the client's view lags)."""
        client = self.executor.client
        if not client.nthreads():  # e.g. lost them all, or an adaptive cluster at zero
            try:
                client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS)
            except TimeoutError:
                raise RuntimeError(f"the Dask cluster has no worker (none joined within "
                                   f"{WAIT_FOR_WORKERS} s): fit_als needs at least one.") from None
        self.n_threads = {address: max(1, int(n)) for address, n in client.nthreads().items()}
        self.addresses = sorted(self.n_threads)

    def start(self, by_user, by_item):
        for side, csr in (("user", by_user), ("item", by_item)):
            points = self.model._split_points(csr.indptr, self.n_blocks)
            key = ("als-rows", side, tuple(points.tolist()), csr.data.dtype.str,
                   csr.indices.dtype.str, getattr(self.model, "implicit", True))
            build = functools.partial(self._place, csr, points)
            self.layouts[side] = build() if self.handle is None else \
                self.handle.layout(key, build)

    def _place(self, csr, points):
        """Each row block of ``csr`` (cut at ``points``) sent to its worker: the layout
        ``(points, block futures, worker of each block)``."""
        n = len(points) - 1
        where = [self.addresses[b % len(self.addresses)] for b in range(n)]
        blocks = [None] * n
        for address in self.addresses:
            mine = [b for b in range(n) if where[b] == address]
            if not mine:
                continue
            futures = self.executor.scatter(
                [_row_block(csr, points[b], points[b + 1]) for b in mine], worker=address)
            for b, future in zip(mine, futures):
                blocks[b] = future
        return points, blocks, where

    def sweep(self, side, other, factors):
        shared = self.model._shared(other)
        attempts = itertools.count()
        solved = self.executor.retrying(
            lambda: self._half_step(side, other, shared, factors, next(attempts)))
        points = self.layouts[side][0]
        # written only once the whole half-step is in: a retried one starts as this one
        for b, block in enumerate(solved):
            factors[points[b]:points[b + 1]] = block

    def _half_step(self, side, other, shared, factors, attempt):
        ex = self.executor
        points, blocks, where = self.layouts[side]
        if attempt:  # a worker was lost: its blocks go to the workers there are now
            self._move_off_lost()
        inputs = ex.scatter_one((other, shared), broadcast=self.broadcast)
        warm = self.resident.get(side) if attempt == 0 else None
        if warm is None:  # sent from here (the first half-step of the side, or a rerun)
            warm = [ex.scatter_one(factors[points[b]:points[b + 1]], worker=where[b])
                    for b in range(len(blocks))]
        tasks = [ex.submit(_solve_block, self.solver_model, blocks[b], inputs, warm[b],
                           self.model.solver, self.n_threads.get(where[b], 1),
                           worker=where[b])
                 for b in range(len(blocks))]
        solved = ex.gather(tasks)
        if is_cluster(ex):
            self.resident[side] = tasks
        return solved

    def _move_off_lost(self):
        """Give the blocks of workers that are gone to the workers there are now."""
        self._see_workers()
        for _, _, where in self.layouts.values():
            for b, address in enumerate(where):
                if address not in self.n_threads:
                    where[b] = self.addresses[b % len(self.addresses)]


def fit_als(model, data, *, client=None, blocks=None, broadcast=False, callbacks=(),
            compute_loss=False):
    r"""Fit a :class:`~fastcf.ALS` with its half-steps run by row blocks on a cluster; returns it.

    ``model.fit(data, callbacks=callbacks, compute_loss=compute_loss)``: the
    model's hyper-parameters, initialisation, history, callbacks and
    divergence checks are those of its own ``fit``; only the half-steps run
    on the cluster, each as one task per block of rows. The rows are cut
    where ALS's own sweep cuts its chunks (``ALS._split_points``), so the
    factors are identical, bit for bit, to ``model.fit(data)`` on one
    machine for the same seed, whatever the cluster and ``blocks``
    (implicit ALS and explicit ALS-WR alike; the loss of ``compute_loss`` is
    computed here).

    Each block of ratings (by user and by item) is sent once to one worker
    and stays there for the whole fit (and across fits with a
    :class:`~fastcf.distributed.Persisted`: a second ``fit_als`` of the same
    handle, e.g. with another ``reg``, sends no rating again). Per
    half-step the frozen side and what its rows share (implicit: ``YtY +
    reg I``, computed once here) reach every worker, and each worker's solved rows
    come back; a block's solved rows also stay on its worker as the warm
    start of its next solve. Bytes sent per iteration:

    .. math::

        \approx (n_{users} + n_{items}) \, k \, \mathrm{itemsize} \, (W + 1)

    for ``W`` workers (the frozen side to each, the solved side back).

    Parameters
    ----------
    model : ALS
    data : Interactions or Persisted
    client : dask.distributed.Client, str or None
        None: the tasks run here, one after the other (or the handle's own
        client for a Persisted).
    blocks : int > 0, optional
        Row blocks per side (at most one per chunk of ALS's sweep). Default:
        one per worker.
    broadcast : bool
        Send the frozen side from here to every worker (True), or to one
        worker, the others fetching it from there (False, the default: the
        client sends it once; on a LocalCluster, where a broadcast goes
        through the scheduler, 40 ms instead of 170-360 ms for 70k x 64
        float32).
    callbacks, compute_loss
        As in :meth:`fastcf.ALS.fit`.
    """
    if not isinstance(model, ALS):
        raise TypeError(f"model must be an ALS, got {type(model).__name__}.")
    if not isinstance(data, (Interactions, Persisted)):
        raise TypeError(f"data must be an Interactions or a Persisted, got "
                        f"{type(data).__name__}.")
    if blocks is not None:
        blocks = check_int("blocks", blocks, min_value=1)
    executor, interactions, handle = resolve(data, client)
    n_blocks = executor.n_workers if blocks is None else blocks
    had_own = "_sweeps" in model.__dict__
    previous = model.__dict__.get("_sweeps")
    model._sweeps = _ClusterSweeps(model, executor, handle, n_blocks, broadcast)
    try:
        return model.fit(interactions, callbacks=callbacks, compute_loss=compute_loss)
    finally:
        if had_own:
            model._sweeps = previous
        else:
            del model._sweeps
