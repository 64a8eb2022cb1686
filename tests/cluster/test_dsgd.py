"""distributed.fit_mf (DSGD with resident blocks): a plain loop's model, bit for bit."""

import numpy as np
import pytest

import fastcf
from fastcf import distributed
from fastcf.distributed import dsgd
from fastcf.kernels.mf import run_sgd_epoch, run_shuffle_ratings
from fastcf.split import random_split

from ._helpers import kill_a_worker_mid_job

dask_distributed = pytest.importorskip("dask.distributed")

PARAMS = ("user_factors_", "item_factors_", "user_bias_", "item_bias_")


def assert_same_model(got, want):
    for name in PARAMS:
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    assert [e["train_rmse"] for e in got.history_] == [e["train_rmse"] for e in want.history_]


def dsgd_twin(model, data, grid):
    """DSGD as one loop in this process: the model ``fit_mf`` must give, bit for bit.

    The model's own initialisation (``fit`` with a schedule that records its
    arguments), then: users and items dealt into ``grid`` blocks by two seeded
    permutations; per epoch a permutation of the strata shifts and a seed per
    cell; stratum ``s`` runs cells ``(b, (b + s) mod grid)``, each an SGD pass
    over its ratings by (user, item) -- or, with ``cell_order="shuffled"``,
    shuffled by its seed -- on its user and item blocks.
    """
    class Twin(fastcf.schedules.Schedule):
        def start(self, users, items, ratings, n_users, n_items, rng):
            g = self.g = max(1, min(grid, n_users, n_items))
            self.user_ids, self.item_ids = [], []
            for n, ids in ((n_users, self.user_ids), (n_items, self.item_ids)):
                block = np.empty(n, dtype=np.int64)
                block[rng.permutation(n)] = np.arange(n) * g // n
                ids.extend(np.flatnonzero(block == b) for b in range(g))
            self.cells = {}
            for b, us in enumerate(self.user_ids):
                for i, its in enumerate(self.item_ids):
                    keep = np.isin(users, us) & np.isin(items, its)
                    order = np.lexsort((items[keep], users[keep]))
                    u, it, r = users[keep][order], items[keep][order], ratings[keep][order]
                    self.cells[b, i] = (np.searchsorted(us, u).astype(np.int32),
                                        np.searchsorted(its, it).astype(np.int32), r)

        def epoch(self, mu, ub, ib, uf, itf, lr, reg, biased, rng):
            g, loss = self.g, 0
            shifts, seeds = rng.permutation(g), rng.integers(2**63, size=(g, g))
            for shift in shifts:
                for b in range(g):
                    i = (b + shift) % g
                    u, it, r = (a.copy() for a in self.cells[b, i])
                    if model.cell_order == "shuffled":
                        run_shuffle_ratings(u, it, r, int(seeds[b, i]))
                    us, its = self.user_ids[b], self.item_ids[i]
                    p, bu, q, bi = uf[us], ub[us], itf[its], ib[its]
                    loss += run_sgd_epoch(u, it, r, mu, bu, bi, p, q, lr, reg, biased)
                    uf[us], ub[us], itf[its], ib[its] = p, bu, q, bi
            return float(loss)

    return model.fit(data, schedule=Twin())


def model(**params):
    return fastcf.MatrixFactorization(**{"factors": 8, "epochs": 3, "seed": 1, **params})


@pytest.mark.parametrize("grid, cell_order", [(4, "sorted"), (3, "shuffled"), (5, "sorted"),
                                              (1, "sorted")])
def test_dsgd_is_the_plain_loop_whatever_the_workers(client, data, grid, cell_order):
    want = dsgd_twin(model(cell_order=cell_order), data, grid)
    assert_same_model(distributed.fit_mf(model(cell_order=cell_order), data, grid=grid), want)
    assert_same_model(distributed.fit_mf(model(cell_order=cell_order), data, grid=grid,
                                         client=client, gather_every=2), want)


def test_dsgd_on_one_worker(client, data, monkeypatch):
    want = dsgd_twin(model(), data, 3)
    one = [sorted(client.scheduler_info()["workers"])[0]]
    monkeypatch.setattr(dsgd, "_addresses", lambda executor: one)
    assert_same_model(distributed.fit_mf(model(), data, grid=3, client=client), want)


def test_dsgd_is_as_accurate_as_blocked(client, data):
    train, test = random_split(data, 0.2, seed=0)

    def accurate():
        return model(factors=16, epochs=12, lr=0.01, seed=3)

    on_cluster = distributed.fit_mf(accurate(), train, client=client, grid=4, validation=test)
    here = distributed.fit_mf(accurate(), train, grid=4, validation=test)
    assert_same_model(on_cluster, here)
    assert [e["validation_rmse"] for e in on_cluster.history_] == \
        [e["validation_rmse"] for e in here.history_]
    # validation gathers the factors every epoch: the same model as without it
    assert_same_model(distributed.fit_mf(accurate(), train, client=client, grid=4), here)
    blocked = accurate().set_params(schedule="blocked").fit(train, validation=test)
    dsgd_rmse = on_cluster.history_[-1]["validation_rmse"]
    assert abs(dsgd_rmse - blocked.history_[-1]["validation_rmse"]) < 0.005
    assert dsgd_rmse < on_cluster.history_[0]["validation_rmse"]  # it learns
    # DSGD was that fit's schedule only: the model's next fit runs its own again
    leftover = distributed.fit_mf(accurate(), train, grid=3).fit(train)
    assert np.array_equal(leftover.user_factors_, accurate().fit(train).user_factors_)


def test_a_persisted_handle_keeps_the_cells(client, data, monkeypatch):
    handle = distributed.persist(data, client)
    want = distributed.fit_mf(model(), data, grid=4, client=client)
    scattered = []
    scatter = type(handle._executor).scatter
    monkeypatch.setattr(type(handle._executor), "scatter", lambda self, objs, **kw: (
        scattered.append(len(objs)), scatter(self, objs, **kw))[1])
    assert_same_model(distributed.fit_mf(model(), handle, grid=4), want)
    assert sum(scattered) == 16 + 2  # the cells, then each worker's blocks
    layout, = handle._layouts.values()
    scattered.clear()
    other = distributed.fit_mf(model(lr=0.01), handle, grid=4, client=client)
    assert scattered == [1, 1]  # the blocks only: the cells are the layout's
    assert_same_model(other, distributed.fit_mf(model(lr=0.01), data, grid=4))
    assert list(handle._layouts.values()) == [layout]
    distributed.fit_mf(model(seed=2), handle, grid=4)  # other blocks: another layout
    assert len(handle._layouts) == 2


def test_bytes_per_epoch_are_the_item_blocks(client):
    data = fastcf.make_ratings(4000, 300, 30_000, seed=1)  # users would weigh 13x more
    fit = model(factors=32, epochs=4)
    distributed.fit_mf(fit, data, grid=4, client=client)  # the cells placed: not counted
    before = sum(dsgd.transferred_bytes(client).values())
    distributed.fit_mf(fit, data, grid=4, client=client)
    sent = sum(dsgd.transferred_bytes(client).values()) - before
    block_bytes = (32 + 1) * 4  # a row of factors and its bias, float32
    gathered = (data.n_users + data.n_items) * block_bytes  # once, at the end
    # per epoch each of the g stratum changes moves an item block with odds about
    # (W - 1) / W, and the first stratum's blocks come from the epoch before
    per_epoch = (4 + 1) * (2 - 1) / 2 * data.n_items * block_bytes
    assert 0.5 * per_epoch < (sent - gathered) / 4 < 1.5 * per_epoch + 10_000


def test_a_worker_killed_mid_dsgd_changes_nothing(client, data, tmp_path):
    want = distributed.fit_mf(model(epochs=4), data, grid=6)
    # held at its first stratum: the killed worker takes the only copy of its rating
    # cells (scattered before the first epoch, sent again from here) and of its blocks
    got, removed = kill_a_worker_mid_job(client, lambda: distributed.fit_mf(
        model(epochs=4), data, grid=6, client=client), ["dsgd._dsgd_stratum"],
        str(tmp_path / "dsgd"))
    assert_same_model(got, want)
    assert any(key.startswith("_dsgd_stratum-") for key in removed["processing-tasks"])
    assert removed["lost-scattered-tasks"]


def test_bad_input(data):
    with pytest.raises(ValueError, match="gather_every == 0"):
        distributed.fit_mf(model(), data, gather_every=0)
    with pytest.raises(TypeError, match="Interactions or a Persisted"):
        distributed.fit_mf(model(), data.to_frame())
