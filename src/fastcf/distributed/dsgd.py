"""DSGD (distributed SGD matrix factorization) on a Dask cluster, with resident blocks.

Users and items are dealt into ``grid`` blocks each (a seeded permutation),
the ratings into the ``grid x grid`` cells (user block, item block). User
block ``b`` -- its rating cells ``(b, *)``, its user factors and biases -- lives
on one worker for the whole fit (worker ``b mod W`` of the ``W`` workers):
the cells are scattered there once (once per :class:`~fastcf.distributed.Persisted`
handle and layout), and the factors stay there from stratum to stratum and
from epoch to epoch. An epoch runs ``grid`` strata; in stratum ``s`` user block
``b`` meets item block ``(b + s) mod grid``, so only item blocks move between
workers: each change of stratum moves a block with odds about ``(W - 1) / W``,
about ``(grid + 1) * (W - 1) / W * n_items * (factors + 1) * itemsize`` bytes an
epoch (the first stratum's blocks come from the epoch before;
:func:`transferred_bytes` reads Dask's own counters). Each worker
runs one task a stratum (all its cells of the stratum). The factors come back
to this process only after the last epoch, after every epoch when a
validation set is given (the model scores it), and every ``gather_every`` epochs.

Same model as the single loop over the cells (``_DSGD``), bit for bit, for a
seed and a grid, whatever the number of workers. A lost worker costs the
epochs since the factors last came back: they are run again from there
(tasks are pure; the rating cells it held are scattered again), with the same
answer.
"""

import hashlib

import numpy as np

from .._validation import check_int
from ..data import Interactions, index_dtype_for
from ..kernels.mf import run_sgd_epoch, run_shuffle_ratings
from ..mf import MatrixFactorization
from ..schedules import Schedule
from ._cluster import is_cluster
from .persist import resolve

__all__ = ["fit_mf", "transferred_bytes"]


def _dsgd_stratum(spec, state, *inputs):
    """One worker's cells of one stratum (a task; its inputs untouched).

    ``state`` is the worker's previous output ``(user blocks, losses, item
    blocks)``; ``inputs`` are the cells (users, items, ratings: local indices),
    then tuples of item blocks sent by other workers. Cell ``j`` updates user
    block ``j`` of ``state`` and the item block ``spec``'s source ``j`` names:
    ``(part, slot)``, block ``slot`` of ``state``'s item blocks (``part < 0``) or
    of the tuple ``part`` of the others.
    Returns the new ``(user blocks, losses, item blocks)``, item block ``j``
    the one cell ``j`` updated; ``losses`` gets ``(stratum, user block, loss)``
    per cell (on those of the epoch's earlier strata unless the stratum is
    its first).
    """
    sources, seeds, labels, first, mu, lr, reg, biased, backend = spec
    cells, others = inputs[:len(sources)], inputs[len(sources):]
    user_blocks, item_blocks = [], []
    losses = [] if first else list(state[1])
    for j, ((users, items, ratings), source) in enumerate(zip(cells, sources)):
        if seeds[j] is not None:  # cell_order="shuffled": a fresh seeded order
            users, items, ratings = users.copy(), items.copy(), ratings.copy()
            run_shuffle_ratings(users, items, ratings, seeds[j], backend=backend)
        p, bu = (a.copy() for a in state[0][j])
        part, slot = source
        q, bi = (a.copy() for a in (state[2] if part < 0 else others[part])[slot])
        loss = run_sgd_epoch(users, items, ratings, mu, bu, bi, p, q, lr, reg, biased,
                             backend=backend)
        user_blocks.append((p, bu))
        item_blocks.append((q, bi))
        losses.append((*labels[j], loss))
    return tuple(user_blocks), losses, tuple(item_blocks)


def _item_blocks(state, slots):
    """The item blocks ``slots`` of a worker's state (a task: only they then move)."""
    return tuple(state[2][slot] for slot in slots)


def _losses(state):
    """The losses of a worker's state (a task: the factors stay where they are)."""
    return state[1]


def _cells(users, items, ratings, user_block, item_block, local_user, local_item, g):
    """The ratings of each of the g x g cells, by local user then local item (LIBMF's order).

    ``cells[b * g + i]`` holds cell (b, i): ``(users, items, ratings)``, local
    indices (views into three arrays sorted by cell).
    """
    by_user = np.diff(users)
    if not (by_user >= 0).all() or not (np.diff(items)[by_user == 0] > 0).all():
        order = np.lexsort((items, users))
        users, items, ratings = users[order], items[order], ratings[order]
    # ratings in (user, item) order: a stable sort by cell alone gives (cell, user, item);
    # 16-bit cell numbers sort by radix, in linear time
    code = np.uint16 if g * g <= 2**16 else np.int64
    cell = (user_block.astype(code) * code(g))[users]
    cell += item_block.astype(code)[items]
    order = np.argsort(cell, kind="stable")
    bounds = np.zeros(g * g + 1, dtype=np.int64)
    np.cumsum(np.bincount(cell, minlength=g * g), out=bounds[1:])
    users, items, ratings = local_user[users[order]], local_item[items[order]], ratings[order]
    return [(users[a:z], items[a:z], ratings[a:z]) for a, z in zip(bounds[:-1], bounds[1:])]


class _DSGD(Schedule):
    """DSGD (Gemulla et al., 2011) as a MatrixFactorization schedule (:mod:`fastcf.schedules`).

    ``start`` deals users and items into blocks (two seeded permutations) and
    places the cells; each ``epoch`` draws the strata order (a permutation of
    the ``grid`` shifts) and a seed per cell, and runs the strata on the
    resident blocks (see the module docstring). The factors are written back
    into the model's arrays after the fit's last epoch (``n_epochs``) and
    every ``gather_every`` epochs.
    """

    def __init__(self, executor, grid, backend, shuffled, *, n_epochs, gather_every,
                 handle=None):
        self.executor, self.grid, self.backend, self.shuffled = executor, grid, backend, shuffled
        self.n_epochs, self.gather_every, self.handle = n_epochs, gather_every, handle

    def start(self, users, items, ratings, n_users, n_items, rng):
        g = self.grid = max(1, min(self.grid, n_users, n_items))
        user_perm, item_perm = rng.permutation(n_users), rng.permutation(n_items)
        user_block = np.empty(n_users, dtype=np.int64)
        user_block[user_perm] = np.arange(n_users) * g // n_users
        item_block = np.empty(n_items, dtype=np.int64)
        item_block[item_perm] = np.arange(n_items) * g // n_items
        # ids of a block ascending: a local index keeps the global order
        self.user_ids = np.split(np.argsort(user_block, kind="stable"),
                                 np.cumsum(np.bincount(user_block, minlength=g))[:-1])
        self.item_ids = np.split(np.argsort(item_block, kind="stable"),
                                 np.cumsum(np.bincount(item_block, minlength=g))[:-1])
        addresses = _addresses(self.executor)[:g]
        #: the user blocks of each worker, and its address (None: no cluster)
        self.owned = [list(range(w, g, len(addresses))) for w in range(len(addresses))]
        self.addresses = addresses
        index_dtype = index_dtype_for(n_users, n_items)

        def build():
            local_user = np.empty(n_users, index_dtype)
            local_item = np.empty(n_items, index_dtype)
            for ids in self.user_ids:
                local_user[ids] = np.arange(len(ids))
            for ids in self.item_ids:
                local_item[ids] = np.arange(len(ids))
            cells = _cells(users, items, ratings, user_block, item_block, local_user,
                           local_item, g)
            placed = [None] * (g * g)
            for blocks, address in zip(self.owned, self.addresses):
                mine = [b * g + i for b in blocks for i in range(g)]
                for c, future in zip(mine, self.executor.scatter(
                        [cells[c] for c in mine], worker=address)):
                    placed[c] = future
            return placed

        if self.handle is None:
            self.cells = build()
        else:
            digest = hashlib.blake2b(user_perm.tobytes() + item_perm.tobytes()).hexdigest()
            self.cells = self.handle.layout(
                ("dsgd-cells", g, digest, np.dtype(index_dtype).str, ratings.dtype.str,
                 tuple(self.addresses)), build)
        self._state, self._pending, self._epochs = None, [], 0

    def epoch(self, mu, user_bias, item_bias, user_factors, item_factors, lr, reg, biased,
              rng):
        g = self.grid
        self._pending.append((rng.permutation(g), rng.integers(2**63, size=(g, g)), mu,
                              tuple(lr), tuple(reg), biased))
        self._epochs += 1
        back = self._epochs >= self.n_epochs or self._epochs % self.gather_every == 0
        arrays = (user_bias, item_bias, user_factors, item_factors)
        losses, states = self.executor.retrying(lambda: self._run(arrays, back))
        if back:
            self._write_back(states, arrays)
            self._pending.clear()  # the model's arrays are now where a retry starts
        # summed in the order of the loop over strata and user blocks
        return float(sum(loss for _, _, loss in sorted(losses)))

    def _run(self, arrays, back):
        """Submit the pending epochs' strata; ``(last epoch's losses, gathered states)``."""
        ex = self.executor
        try:
            if self._state is None:  # start (again) from the model's arrays
                self._state = self._place(arrays)
                for epoch in self._pending[:-1]:
                    self._submit_epoch(*epoch)
            self._submit_epoch(*self._pending[-1])
            states = self._state[0]
            if back:
                states = ex.gather(states)
                return [entry for state in states for entry in state[1]], states
            losses = ex.gather([ex.submit(_losses, state, worker=address)
                                for state, address in zip(states, self.addresses)])
            return [entry for part in losses for entry in part], None
        except BaseException:
            # a lost input (Dask cancelled the futures): the resident state may be
            # gone; the retry places the arrays again and runs the pending epochs
            self._state = None
            raise

    def _place(self, arrays):
        """The model's arrays as each worker's initial state (item block b beside user block b)."""
        user_bias, item_bias, user_factors, item_factors = arrays
        # a worker lost since (a retry): its blocks go wherever Dask puts them
        alive = set(_addresses(self.executor))
        self.addresses = [a if a in alive else None for a in self.addresses]
        states = [self.executor.scatter_one(
            (tuple((user_factors[self.user_ids[b]], user_bias[self.user_ids[b]])
                   for b in blocks), [],
             tuple((item_factors[self.item_ids[b]], item_bias[self.item_ids[b]])
                   for b in blocks)), worker=address)
            for blocks, address in zip(self.owned, self.addresses)]
        where = [None] * self.grid
        for w, blocks in enumerate(self.owned):
            for slot, b in enumerate(blocks):
                where[b] = (w, slot)
        return states, where

    def _submit_epoch(self, shifts, seeds, mu, lr, reg, biased):
        """Submit one epoch's strata on the resident state (``self._state``, replaced)."""
        ex, g = self.executor, self.grid
        states, where = self._state
        for stratum, shift in enumerate(shifts):
            # what each worker sends each other worker: one task per pair, submitted
            # first so that it runs before the sender's next stratum (Dask runs the
            # older of two ready tasks first)
            wanted = {}
            for w, blocks in enumerate(self.owned):
                for b in blocks:
                    held_by, slot = where[(b + shift) % g]
                    if held_by != w:
                        wanted.setdefault((held_by, w), []).append(slot)
            sent = {pair: ex.submit(_item_blocks, states[pair[0]], tuple(slots),
                                    worker=self.addresses[pair[0]])
                    for pair, slots in wanted.items()}
            moved, after = [None] * g, []
            for w, (blocks, address) in enumerate(zip(self.owned, self.addresses)):
                cells, sources, others, cell_seeds, labels = [], [], [], [], []
                for j, b in enumerate(blocks):
                    i = (b + shift) % g
                    held_by, slot = where[i]
                    if held_by == w:
                        sources.append((-1, slot))
                    else:
                        pair = held_by, w
                        if pair not in others:
                            others.append(pair)
                        sources.append((others.index(pair), wanted[pair].index(slot)))
                    cells.append(self.cells[b * g + i])
                    cell_seeds.append(int(seeds[b, i]) if self.shuffled else None)
                    labels.append((stratum, b))
                    moved[i] = (w, j)
                spec = (tuple(sources), tuple(cell_seeds), tuple(labels), stratum == 0, mu, lr,
                        reg, biased, self.backend)
                after.append(ex.submit(_dsgd_stratum, spec, states[w], *cells,
                                       *(sent[pair] for pair in others), worker=address))
            states, where = after, moved
        self._state = states, where

    def _write_back(self, states, arrays):
        user_bias, item_bias, user_factors, item_factors = arrays
        where = self._state[1]
        for blocks, state in zip(self.owned, states):
            for b, (p, bu) in zip(blocks, state[0]):
                user_factors[self.user_ids[b]], user_bias[self.user_ids[b]] = p, bu
        for i, (w, slot) in enumerate(where):
            q, bi = states[w][2][slot]
            item_factors[self.item_ids[i]], item_bias[self.item_ids[i]] = q, bi


def _addresses(executor):
    """The workers' addresses (sorted), or ``[None]`` for this process."""
    if not is_cluster(executor):
        return [None]
    return sorted(executor.client.scheduler_info()["workers"]) or [None]


def transferred_bytes(client):
    """Bytes each worker has sent to others so far: ``{address: bytes}`` (Dask's counters).

    ``Worker.transfer_outgoing_bytes_total``: the data the worker sent to
    other workers (and to the scheduler or a client gathering). The difference
    of two readings around a fit, divided by its epochs, is the bytes per epoch.
    """
    return client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total)


def fit_mf(model, data, *, client=None, grid=None, validation=None, gather_every=None):
    """Fit a :class:`~fastcf.MatrixFactorization` by distributed SGD (DSGD); returns it.

    ``model.fit(data, validation=validation, schedule=<a DSGD schedule>)``: the
    model's hyper-parameters, initialisation and history are those of its own
    ``fit``; only the epochs run as DSGD strata on the cluster, on blocks
    resident on the workers (see the module docstring). Reproducible for a
    seed and a grid, whatever the number of workers. Its schedule parameter
    is not used; ``cell_order`` is.

    Parameters
    ----------
    model : MatrixFactorization
    data : Interactions or Persisted
        A :class:`~fastcf.distributed.Persisted` keeps the rating cells on the
        cluster for later fits with the same grid and seed.
    client : dask.distributed.Client, str or None
    grid : int > 0, optional
        Blocks per side of the rating grid (default: 2 per worker, at least 2).
    validation : Interactions, optional
        As in ``MatrixFactorization.fit`` (per-epoch RMSE; patience): the
        factors then come back from the workers after every epoch.
    gather_every : int > 0, optional
        Bring the factors back every this many epochs (default: after the
        last one only, or every epoch with ``validation``): a worker lost
        mid-fit then costs at most that many epochs again.
    """
    if not isinstance(model, MatrixFactorization):
        raise TypeError(f"model must be a MatrixFactorization, got {type(model).__name__}.")
    executor, data, handle = resolve(data, client)
    if not isinstance(data, Interactions):
        raise TypeError(f"data must be an Interactions or a Persisted, got "
                        f"{type(data).__name__}.")
    if grid is None:
        grid = max(2, 2 * len(_addresses(executor)))
    else:
        grid = check_int("grid", grid, min_value=1)
    if validation is not None:
        gather_every = 1
    elif gather_every is None:
        gather_every = max(1, model.epochs)
    else:
        gather_every = check_int("gather_every", gather_every, min_value=1)
    schedule = _DSGD(executor, grid, model.backend, model.cell_order == "shuffled",
                     n_epochs=model.epochs, gather_every=gather_every, handle=handle)
    return model.fit(data, validation=validation, schedule=schedule)
