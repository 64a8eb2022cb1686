"""DSGD (distributed SGD matrix factorization) on a Dask cluster."""

import operator

import numpy as np

from .._validation import check_int
from ..data import Interactions
from ..kernels.mf import run_sgd_epoch, run_shuffle_ratings
from ..mf import MatrixFactorization
from ..schedules import Schedule
from ._cluster import _executor

__all__ = ["fit_mf"]


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


