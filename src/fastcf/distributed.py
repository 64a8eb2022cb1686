"""fastcf on a Dask cluster: similarity top-k, batch recommendation and DSGD.

The same kernels as on one machine, run as Dask tasks (``dask.distributed``;
install with ``pip install "fastcf[dask]"``). Every function takes
``client``: a ``dask.distributed.Client``, a scheduler address such as
``"tcp://scheduler:8786"``, or None -- then the same tasks run here, one after
the other (``recommend``: on Dask's local threads), with the same result.

Tasks are pure (each copies what it updates) and every intermediate future
is held to the end of its job: a worker lost mid-job costs its running tasks
and the results it held, which Dask computes again elsewhere with the same
answer. An input lost with it (scattered data has no recipe) is scattered
again from this process and the job run again, with the same answer.
"""

import operator
import os

import numpy as np

from ._parallel import resolve_n_threads
from ._validation import check_choice, check_int
from .base import Recommender
from .data import Interactions
from .kernels.mf import run_sgd_epoch, run_shuffle_ratings
from .kernels.similarity import (
    check_options,
    merge_topk,
    narrowed,
    prepare,
    topk_partial,
    topk_to_csr,
)
from .mf import MatrixFactorization
from .schedules import Schedule
from .similarity import AXES, _as_interactions, fitted_baselines

__all__ = ["fit_mf", "from_dask", "recommend", "similarity_topk"]


# ------------------------------------------------------------------- clients
class _Here:
    """The no-cluster executor: runs each task at once, in this process."""

    n_workers = 1

    def retrying(self, job):
        return job()

    def submit(self, fn, *args, **kwargs):
        return fn(*args)

    def scatter(self, data, broadcast=False):
        return data

    def scatter_one(self, obj, broadcast=False):
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
        self.in_job = False
        #: key of an input scattered outside a job -> [its current future, the object]
        self.kept = {}

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

    def submit(self, fn, *args):
        args = [self.kept[arg.key][0] if isinstance(arg, self.future_type)
                and arg.key in self.kept else arg for arg in args]
        return self.client.submit(fn, *args, pure=False)

    def scatter(self, data, broadcast=False):
        """One future per object of the list ``data`` (on every worker with ``broadcast``)."""
        futures = self.client.scatter(data, broadcast=broadcast, hash=False)
        if not self.in_job:  # a retried job scatters its own inputs again itself
            self.kept.update((future.key, [future, obj]) for future, obj in zip(futures, data))
        return futures

    def scatter_one(self, obj, broadcast=False):
        """``obj`` as one future (scatter would split a tuple or list into many)."""
        return self.scatter([obj], broadcast=broadcast)[0]

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


# ----------------------------------------------------------- similarity top-k
def _for_the_wire(prepared):
    """``prepared`` with its two biggest arrays narrowed where that is exact.

    The query values go as float32 when every one is exactly a float32 and
    the transpose positions as int32 when they fit: 200 MB instead of 280 for
    10M ratings, the bytes that make most of what a 1-worker job adds to the
    kernel's time.
    """
    t_after = prepared.t_after
    if len(t_after) and t_after.max() < 2**31:
        t_after = t_after.astype(np.int32)
    return prepared._replace(q_data=narrowed(prepared.q_data), t_after=t_after)


def _similarity_block(wired, k, start, stop, backend, n_threads):
    """Partial top-k of every row from the pairs of rows [start, stop) (a task)."""
    # the kernels' dtypes back (exact: see _for_the_wire)
    prepared = wired._replace(q_data=np.asarray(wired.q_data, dtype=np.float64),
                              t_after=np.asarray(wired.t_after, dtype=np.int64))
    return topk_partial(prepared, k, (start, stop), backend, n_threads)


def _merge(k, *parts):
    return merge_topk(parts, k)


def _row_blocks(prepared, n_blocks, block_rows):
    """Row ranges: ``block_rows`` rows each, or ``n_blocks`` of about equal pair work."""
    n = prepared.n_q
    if block_rows is not None:
        return [(s, min(s + block_rows, n)) for s in range(0, n, block_rows)]
    q_indptr, q_indices = prepared.q_indptr, prepared.q_indices
    t_indptr, t_after = prepared.t_indptr, prepared.t_after
    # row q visits, for each of its entries, the rest of that transposed row
    work = np.asarray(t_indptr)[np.asarray(q_indices) + 1] - t_after - 1
    rows = np.repeat(np.arange(n), np.diff(q_indptr))
    cumulative = np.concatenate([[0], np.cumsum(np.bincount(rows, weights=work, minlength=n))])
    cuts = np.searchsorted(cumulative, np.linspace(0, cumulative[-1], n_blocks + 1)[1:-1])
    edges = np.unique(np.concatenate([[0], np.clip(cuts, 0, n), [n]]))
    return list(zip(edges[:-1], edges[1:]))


def similarity_topk(x, kind="pearson", axis="item", k=40, *, client=None, block_rows=None,
                    min_support=1, shrinkage=None, min_sim=None, dtype=np.float64,
                    backend="auto", n_threads=None, out_dir=None):
    """:func:`fastcf.similarity` with ``k``, its rows split into tasks; the same CSR, exactly.

    Each task runs the self-similarity kernel for one block of rows: the pairs
    (q, j > q) with q in the block, each offered to both rows, keeping a
    partial top-k of every row (O(n k) memory, never n x n). The partial lists
    merge (a tree of tasks) into the top-k of the union -- every pair is in
    exactly one block -- which is the single-machine result bit for bit.

    Parameters
    ----------
    x, kind, axis, k, min_support, shrinkage, min_sim, dtype, backend
        As :func:`fastcf.similarity` (``k`` required; backend numba or cython).
    client : dask.distributed.Client, str or None
    block_rows : int > 0, optional
        Rows per task. Default: one task per worker, of about equal work
        (low rows visit more pairs); more blocks cost more in total.
    n_threads : int, optional
        Threads of each task's kernel.
    out_dir : str, optional
        Write the result as npz shards (``part-00000.npz``..., each with the
        CSR arrays of a row range and its ``row_start``) from the workers and
        return their paths instead of the CSR.

    Returns
    -------
    fastcf.data.CSR, or list of str with ``out_dir``
    """
    data = _as_interactions(x)
    check_choice("axis", axis, AXES)
    check_choice("backend", backend, ("auto", "numba", "cython"))
    if block_rows is not None:
        block_rows = check_int("block_rows", block_rows, min_value=1)
    if k is None:
        raise ValueError("k is required: the distributed similarity is top-k only.")
    rows, n_cols, transposed = data.orientation(axis)
    n = rows.shape[0]
    k, min_support, shrinkage, min_sim, dtype = check_options(
        kind, k, n, min_support, shrinkage, min_sim, dtype, self_similarity=True)
    n_threads = resolve_n_threads(n_threads)
    executor = _executor(client)
    baselines = None
    if kind == "pearson_baseline":
        baselines = fitted_baselines(data, axis, backend, n_threads)
    csr = (rows.indptr, rows.indices, rows.data)
    prepared = prepare(kind, csr, csr, n_cols, np.arange(n), min_support, shrinkage, min_sim,
                       baselines, transposed)
    # one block per worker: each block restarts the kernel's candidate floors, so
    # more blocks cost more (10M ratings: 2 blocks 6.45 s, 1 block 5.48 s)
    blocks = _row_blocks(prepared, executor.n_workers, block_rows)
    wired = _for_the_wire(prepared)
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
    return executor.retrying(lambda: _similarity_job(executor, wired, k, blocks, backend,
                                                     n_threads, n, dtype, out_dir))


def _similarity_job(executor, wired, k, blocks, backend, n_threads, n, dtype, out_dir):
    shared = executor.scatter_one(wired, broadcast=True)
    parts = [executor.submit(_similarity_block, shared, k, start, stop, backend, n_threads)
             for start, stop in blocks]
    held = list(parts)  # to the end: a merge lost with a worker is recomputed from its parts
    while len(parts) > 1:  # a tree of merges, a few parts each
        parts = [executor.submit(_merge, k, *parts[i:i + 4]) for i in range(0, len(parts), 4)]
        held += parts
    if out_dir is None:
        top_idx, top_val, top_cnt = executor.gather(parts[0])
        return topk_to_csr(top_idx, top_val, top_cnt, n, dtype)
    edges = np.linspace(0, n, len(blocks) + 1).astype(np.int64)
    shards = [executor.submit(_write_shard, parts[0], int(edges[i]), int(edges[i + 1]), n,
                              dtype, os.path.join(out_dir, f"part-{i:05d}.npz"))
              for i in range(len(blocks))]
    return executor.gather(shards)


def _write_shard(merged, start, stop, n, dtype, path):
    top_idx, top_val, top_cnt = merged
    part = topk_to_csr(top_idx[start:stop], top_val[start:stop], top_cnt[start:stop],
                                n, dtype)
    np.savez(path, indptr=part.indptr, indices=part.indices, data=part.data, row_start=start,
             n_rows=stop - start, n_cols=n)
    return path


# ------------------------------------------------------------ recommendation
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


# ----------------------------------------------------------------------- DSGD
def _dsgd_cell(cell, user_block, item_block, mu, lr, reg, biased, seed, backend):
    """One DSGD step: an SGD pass over one grid cell's ratings (a task; inputs untouched)."""
    users, items, ratings = cell
    if seed is not None:  # cell_order="shuffled": a fresh seeded order
        users, items, ratings = users.copy(), items.copy(), ratings.copy()
        run_shuffle_ratings(users, items, ratings, seed, backend=backend)
    p, bu = (a.copy() for a in user_block)
    q, bi = (a.copy() for a in item_block)
    loss = run_sgd_epoch(users, items, ratings, mu, bu, bi, p, q, lr, reg, biased,
                         backend=backend)
    return (p, bu), (q, bi), loss


class _DSGD(Schedule):
    """DSGD (Gemulla et al., 2011) as a MatrixFactorization schedule (:mod:`fastcf.schedules`).

    Users and items are dealt into ``grid`` blocks by a seeded permutation;
    the ratings of cell (u, i) are stored once per cell (local indices, by user
    as LIBMF visits them). An epoch runs ``grid`` strata in a seeded order,
    stratum s being the cells (b, (b + s) mod grid): no two share a user or an
    item block, so they run as parallel tasks; the factor blocks a task returns
    feed the next stratum's tasks wherever they run.
    """

    def __init__(self, executor, grid, backend, shuffled):
        self.executor, self.grid, self.backend, self.shuffled = executor, grid, backend, shuffled

    def start(self, users, items, ratings, n_users, n_items, rng):
        g = self.grid = max(1, min(self.grid, n_users, n_items))
        user_block = np.empty(n_users, dtype=np.int64)
        user_block[rng.permutation(n_users)] = np.arange(n_users) * g // n_users
        item_block = np.empty(n_items, dtype=np.int64)
        item_block[rng.permutation(n_items)] = np.arange(n_items) * g // n_items
        self.user_ids = [np.flatnonzero(user_block == b) for b in range(g)]
        self.item_ids = [np.flatnonzero(item_block == b) for b in range(g)]
        local_user, local_item = np.empty(n_users, np.int64), np.empty(n_items, np.int64)
        for ids in self.user_ids:
            local_user[ids] = np.arange(len(ids))
        for ids in self.item_ids:
            local_item[ids] = np.arange(len(ids))
        cell = user_block[users] * g + item_block[items]
        order = np.lexsort((local_item[items], local_user[users], cell))
        bounds = np.searchsorted(cell[order], np.arange(g * g + 1))
        index_dtype = np.int32 if max(n_users, n_items) < 2**31 else np.int64
        cells = []
        for c in range(g * g):
            at = order[bounds[c]:bounds[c + 1]]
            cells.append((local_user[users[at]].astype(index_dtype),
                          local_item[items[at]].astype(index_dtype), ratings[at].copy()))
        self.cells = self.executor.scatter(cells, broadcast=True)

    def epoch(self, mu, user_bias, item_bias, user_factors, item_factors, lr, reg, biased,
              rng):
        g = self.grid
        shifts = rng.permutation(g)
        seeds = rng.integers(2**63, size=(g, g))
        users, items, losses = self.executor.retrying(lambda: self._strata(
            mu, user_bias, item_bias, user_factors, item_factors, lr, reg, biased, shifts,
            seeds))
        # written back only once the whole epoch is in: a retried epoch starts as this one
        for ids, (p, bu) in zip(self.user_ids, users):
            user_factors[ids], user_bias[ids] = p, bu
        for ids, (q, bi) in zip(self.item_ids, items):
            item_factors[ids], item_bias[ids] = q, bi
        return float(sum(losses))

    def _strata(self, mu, user_bias, item_bias, user_factors, item_factors, lr, reg, biased,
                shifts, seeds):
        ex, g = self.executor, self.grid
        # scattered by every attempt of the epoch (it runs inside retrying): a worker
        # lost with the only copy of a block costs an attempt, not the fit
        user_parts = ex.scatter([(user_factors[ids], user_bias[ids]) for ids in self.user_ids],
                                broadcast=True)
        item_parts = ex.scatter([(item_factors[ids], item_bias[ids]) for ids in self.item_ids],
                                broadcast=True)
        # Every step's future is held to the end of the epoch: a block lost with a
        # worker is recomputed from its step, which needs the steps before it.
        losses, steps = [], []
        for shift in shifts:
            for b in range(g):
                i = (b + shift) % g
                seed = int(seeds[b, i]) if self.shuffled else None
                step = ex.submit(_dsgd_cell, self.cells[b * g + i], user_parts[b],
                                 item_parts[i], mu, lr, reg, biased, seed, self.backend)
                steps += [step, user_parts[b], item_parts[i]]
                user_parts[b] = ex.submit(operator.getitem, step, 0)
                item_parts[i] = ex.submit(operator.getitem, step, 1)
                losses.append(ex.submit(operator.getitem, step, 2))
        return ex.gather(user_parts), ex.gather(item_parts), ex.gather(losses)


def fit_mf(model, data, *, client=None, grid=None, validation=None):
    """Fit a :class:`~fastcf.MatrixFactorization` by distributed SGD (DSGD); returns it.

    ``model.fit(data, validation=validation, schedule=<a DSGD schedule>)``: the
    model's hyper-parameters, initialisation and history are those of its own
    ``fit``; only the epochs run as DSGD strata on the cluster (see
    :class:`_DSGD`). Reproducible for a seed and a grid, whatever the number
    of workers. Its schedule parameter is not used; ``cell_order`` is.

    Parameters
    ----------
    model : MatrixFactorization
    data : Interactions
    client : dask.distributed.Client, str or None
    grid : int > 0, optional
        Blocks per side of the rating grid (default: 2 per worker, at least 2).
    validation : Interactions, optional
        As in ``MatrixFactorization.fit`` (per-epoch RMSE; patience).
    """
    if not isinstance(model, MatrixFactorization):
        raise TypeError(f"model must be a MatrixFactorization, got {type(model).__name__}.")
    if not isinstance(data, Interactions):
        raise TypeError(f"data must be an Interactions, got {type(data).__name__}.")
    executor = _executor(client)
    grid = max(2, 2 * executor.n_workers) if grid is None else check_int("grid", grid,
                                                                          min_value=1)
    schedule = _DSGD(executor, grid, model.backend, model.cell_order == "shuffled")
    return model.fit(data, validation=validation, schedule=schedule)


# ---------------------------------------------------------------------- input
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
