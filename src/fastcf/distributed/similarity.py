"""Similarity top-k on a Dask cluster: row blocks as tasks, merged to the single-machine CSR."""

import os

import numpy as np

from .._parallel import resolve_n_threads
from .._validation import check_choice, check_int
from ..kernels.similarity import (
    check_options,
    merge_topk,
    narrowed,
    prepare,
    topk_partial,
    topk_to_csr,
)
from ..similarity import AXES, _as_interactions, fitted_baselines
from .persist import resolve

__all__ = ["similarity_topk"]


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


def _pair_work(prepared):
    """Cumulative pair work of the rows (n + 1 floats): what splits them into even blocks."""
    n = prepared.n_q
    q_indptr, q_indices = prepared.q_indptr, prepared.q_indices
    t_indptr, t_after = prepared.t_indptr, prepared.t_after
    # row q visits, for each of its entries, the rest of that transposed row
    work = np.asarray(t_indptr)[np.asarray(q_indices) + 1] - t_after - 1
    rows = np.repeat(np.arange(n), np.diff(q_indptr))
    return np.concatenate([[0], np.cumsum(np.bincount(rows, weights=work, minlength=n))])


def _row_blocks(n, cumulative, n_blocks, block_rows):
    """Row ranges: ``block_rows`` rows each, or ``n_blocks`` of about equal pair work."""
    if block_rows is not None:
        return [(s, min(s + block_rows, n)) for s in range(0, n, block_rows)]
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
    x : Interactions, scipy.sparse CSR matrix or Persisted
        As :func:`fastcf.similarity`; or a :class:`~fastcf.distributed.Persisted`,
        whose prepared rows are computed and sent once for every call with the
        same ``kind``, ``axis``, ``min_support``, ``shrinkage``, ``min_sim``
        (and ``backend`` for ``pearson_baseline``), whatever its ``k``,
        ``dtype`` or ``block_rows``.
    kind, axis, k, min_support, shrinkage, min_sim, dtype, backend
        As :func:`fastcf.similarity` (``k`` required; backend numba or cython).
    client : dask.distributed.Client, str or None
        None with a Persisted ``x`` (or its own client).
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
    executor, data, handle = resolve(x, client)
    data = _as_interactions(data)
    check_choice("axis", axis, AXES)
    check_choice("backend", backend, ("auto", "numba", "cython"))
    if block_rows is not None:
        block_rows = check_int("block_rows", block_rows, min_value=1)
    if k is None:
        raise ValueError("k is required: the distributed similarity is top-k only.")
    n = data.orientation(axis)[0].shape[0]
    k, min_support, shrinkage, min_sim, dtype = check_options(
        kind, k, n, min_support, shrinkage, min_sim, dtype, self_similarity=True)
    n_threads = resolve_n_threads(n_threads)

    def lay_out(pair_work=True):
        return _prepared(data, kind, axis, min_support, shrinkage, min_sim, backend, n_threads,
                         pair_work)

    if handle is None:  # sent by the job itself (again if a worker loses it)
        wired, cumulative = lay_out(pair_work=block_rows is None)

        def share():
            return executor.scatter_one(wired, broadcast=True)
    else:
        # what the prepared rows depend on (not k, dtype, block_rows: a call with
        # other values of those reuses them); pearson_baseline's baselines are
        # fitted with the backend
        key = ("similarity-prepared", kind, axis, min_support, shrinkage, min_sim,
               backend if kind == "pearson_baseline" else None)

        def build():
            wired, cumulative = lay_out()
            return executor.scatter_one(wired, broadcast=True), cumulative

        shared, cumulative = handle.layout(key, build)

        def share():
            return shared

    # one block per worker: each block restarts the kernel's candidate floors, so
    # more blocks cost more (10M ratings: 2 blocks 6.45 s, 1 block 5.48 s)
    blocks = _row_blocks(n, cumulative, executor.n_workers, block_rows)
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
    return executor.retrying(lambda: _similarity_job(executor, share, k, blocks, backend,
                                                     n_threads, n, dtype, out_dir))


def _prepared(data, kind, axis, min_support, shrinkage, min_sim, backend, n_threads,
              pair_work):
    """``(the prepared rows as sent to the workers, their cumulative pair work or None)``."""
    rows, n_cols, transposed = data.orientation(axis)
    baselines = None
    if kind == "pearson_baseline":
        baselines = fitted_baselines(data, axis, backend, n_threads)
    csr = (rows.indptr, rows.indices, rows.data)
    prepared = prepare(kind, csr, csr, n_cols, np.arange(rows.shape[0]), min_support,
                       shrinkage, min_sim, baselines, transposed)
    return _for_the_wire(prepared), _pair_work(prepared) if pair_work else None


def _similarity_job(executor, share, k, blocks, backend, n_threads, n, dtype, out_dir):
    shared = share()
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


