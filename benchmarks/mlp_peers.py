"""Neural rating models: fastcf ``MLPRecommender`` (NumPy) beside the same model in PyTorch.

Data: MovieLens 100K fold u1 (``--ml100k``; ``u1.base`` 80,000 train
ratings, ``u1.test`` 20,000 test ratings). fastcf's ``Interactions`` is built
from ``u1.base`` (untimed) and both libraries train on exactly the same
arrays, in the same order: user index, item index (fastcf's internal 0-based
indices, from ``train.by_user``) and rating (float32). The test pairs are
mapped to the internal indices once.

Model (both libraries): user and item embeddings of size 32, N(0, 0.1^2),
concatenated -> Linear(64, 64) -> ReLU -> Linear(64, 32) -> ReLU ->
Linear(32, 1); the Linear layers get ``torch.nn.Linear``'s default
initialisation (weight and bias U(-1/sqrt(n_in), 1/sqrt(n_in))), then the
output bias is set to the training mean rating. MSE loss, Adam (lr 1e-3,
betas (0.9, 0.999), eps 1e-8, no weight decay), mini-batches of 256 in a
fresh seeded random order every epoch, ``--epochs`` epochs, float32.

Rows (every row is ``--repeats`` fits, seeds 0, 1, ...; all on ``--threads``
threads):
    - fastcf ``MLPRecommender(embedding_dim=32, hidden=(64, 32), epochs=E,
      batch_size=256, lr=1e-3, n_threads=T, seed=s)`` with
      ``sparse_adam=True`` (its default: lazy Adam on the embedding rows a
      batch touched) and with ``sparse_adam=False`` (exact dense Adam).
      ``n_threads`` limits the BLAS threads (threadpoolctl); fastcf trains
      batches this small (256 x 64 cells) on one BLAS thread whatever
      ``n_threads`` says (``fastcf.mlp.SINGLE_THREAD_BATCH_CELLS``): a fit
      callback reads the BLAS threads in effect after the first epoch and the
      table shows them beside the setting. Fitted with
      ``validation=`` the u1.test ratings, which records a per-epoch test RMSE
      outside the epoch timing. Timed: the training epochs, the sum of
      ``history_[e]["seconds"]`` (each epoch's permutation, batch gathers,
      forward, backward, Adam; not the validation); samples/s = sum of
      ``history_[e]["samples"]`` / that sum. Its whole ``fit`` wall time
      (with the float32 copy, initialisation and the per-epoch validation)
      is recorded beside it. One untimed tiny fit first (BLAS start-up).
    - PyTorch, the same architecture as a ``torch.nn.Module`` (two
      ``nn.Embedding``, three ``nn.Linear``), ``nn.init.normal_(w, 0, 0.1)``
      on the embeddings, the output bias filled with the training mean,
      ``torch.set_num_threads(T)``, ``torch.manual_seed(s)``,
      ``F.mse_loss``, each epoch's order from ``torch.randperm`` with a
      ``torch.Generator`` seeded by s. (A) dense embeddings and
      ``torch.optim.Adam(model.parameters(), lr=1e-3)`` -- the usual way;
      (B) ``nn.Embedding(..., sparse=True)``, ``torch.optim.SparseAdam`` on
      the two embeddings and ``Adam`` on the rest -- the lazy Adam of
      fastcf's default. Timed with ``time.perf_counter`` around each epoch's
      training loop (randperm, batch gathers, forward, loss, zero_grad,
      backward, optimiser steps, the batch loss read back with ``.item()``
      as fastcf computes its training loss), summed over the epochs; the
      per-epoch test RMSE is taken after the clock stops. Before every fit,
      20 untimed batches on a throw-away model with the same optimisers
      (PyTorch's one-off set-up: thread pool, allocator, dispatch caches).
    The fits are interleaved seed by seed (seed 0 of every row, then seed
    1, ...), so a change in the machine's load falls on every row alike.
    No parallel Numba code runs in the process (its OpenMP thread pool beside
    PyTorch's made PyTorch's 2-thread training ~10x slower); the report
    warns if it did.

Test RMSE: every u1.test rating; a pair whose user or item is not in
u1.base is predicted as the training mean; predictions clipped to the
training rating range (1..5); fastcf through ``predict`` (external ids),
PyTorch under ``torch.no_grad()``. Reported per row: median samples/s over
the seeds, mean test RMSE and the RMSE of each seed; the per-epoch curve
(pairs known to train only, as fastcf's ``validation_rmse``) at a few epochs.

Targets: fastcf (``sparse_adam=True``) samples/s >= 2x PyTorch (A, dense
Adam) at the same threads; |mean test RMSE fastcf - PyTorch| <= 0.01 at
equal epochs, for the same kind of Adam: fastcf ``sparse_adam=True`` against
(B) and ``sparse_adam=False`` against (A).

Run with fastcf and PyTorch (the ``[bench]`` extra) installed::

    python benchmarks/mlp_peers.py [--ml100k DIR] [--epochs 20] [--threads 2] \\
        [--repeats 3] [--out DIR]
"""

import argparse
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
from _common import (
    finish,
    load_average,
    peak_rss_mb,
)

from fastcf import Interactions, MLPRecommender
from fastcf.datasets import read_movielens_frame
from fastcf.metrics import rmse

DEFAULT_ML100K = "/work/shared/data/ml-100k"
FOLD = "u1"
EMBEDDING_DIM, HIDDEN, BATCH_SIZE, LR, EMBEDDING_STD = 32, (64, 32), 256, 1e-3, 0.1
WARM_UP_BATCHES = 20  # untimed PyTorch batches before every fit
TINY = 2_000  # ratings (the first of u1.base) of fastcf's untimed warm-up fit
SPEED_TARGET = 2.0  # fastcf samples/s over PyTorch dense Adam
RMSE_TARGET = 0.01  # |mean test RMSE fastcf - PyTorch|
CURVE_EPOCHS = (1, 2, 5, 10, 15, 20)  # per-epoch test RMSE shown at these epochs (if run)
#: (row key, library, Adam kind, fastcf sparse_adam / PyTorch sparse embeddings)
MLP_ROWS = (("fastcf_sparse", "fastcf", "lazy (sparse_adam=True)", True),
            ("fastcf_dense", "fastcf", "dense (sparse_adam=False)", False),
            ("torch_dense", "PyTorch", "(A) Adam, dense embeddings", False),
            ("torch_sparse", "PyTorch", "(B) SparseAdam + Adam, sparse embeddings", True))
TORCH_HINT = ("install it (pip install torch; it is in the [bench] extra: "
              "pip install \".[bench]\"), or run this script with the Python of the "
              "environment that has it")


# ----------------------------------------------------------------------- data
class Split(NamedTuple):
    """Train set, the shared training arrays and the test pairs of both libraries."""

    train: Interactions
    test: Interactions  # fastcf's per-epoch validation
    users: np.ndarray  # int64 internal user index of every training rating
    items: np.ndarray  # int64 internal item index
    ratings: np.ndarray  # float32
    test_user_ids: np.ndarray  # external ids (fastcf predict)
    test_item_ids: np.ndarray
    test_users: np.ndarray  # internal index, -1 if not in train
    test_items: np.ndarray
    truth: np.ndarray  # float64
    description: str


def load_ml100k(folder, fold=FOLD):
    """``Split`` of ``{fold}.base`` / ``{fold}.test`` of MovieLens 100K in ``folder``."""
    folder = Path(folder)
    base = read_movielens_frame(folder / f"{fold}.base")
    test_frame = read_movielens_frame(folder / f"{fold}.test")
    train = Interactions.from_frame(base, rating="rating")
    test = Interactions.from_frame(test_frame, rating="rating")
    by_user = train.by_user
    users = np.repeat(np.arange(train.n_users, dtype=np.int64), np.diff(by_user.indptr))
    items = np.asarray(by_user.indices, dtype=np.int64)
    ratings = np.asarray(by_user.data, dtype=np.float32)
    user_ids, item_ids = test_frame["user"].to_numpy(), test_frame["item"].to_numpy()
    test_users = np.asarray(train.user_index(user_ids, strict=False), dtype=np.int64)
    test_items = np.asarray(train.item_index(item_ids, strict=False), dtype=np.int64)
    known = int(((test_users >= 0) & (test_items >= 0)).sum())
    low, high = train.rating_range
    description = (f"MovieLens 100K {folder}/{fold}.base: {train.nnz:,} train ratings, "
                   f"{train.n_users:,} users x {train.n_items:,} items, mean "
                   f"{train.global_mean:.4f}, range {low:g}..{high:g}; {fold}.test: "
                   f"{len(test_frame):,} test ratings, {known:,} with a user and an item seen "
                   "in train")
    return Split(train, test, users, items, ratings, user_ids, item_ids, test_users,
                 test_items, test_frame["rating"].to_numpy(np.float64), description)


def fallback_and_clip(split, users, items, predict_known):
    """Test predictions: ``predict_known`` on known pairs, the training mean elsewhere, clipped."""
    known = (users >= 0) & (items >= 0)
    est = np.full(len(users), float(split.train.global_mean))
    est[known] = predict_known(users[known], items[known])
    low, high = split.train.rating_range
    return np.clip(est, low, high)


def throughput(samples, seconds):
    return float(np.sum(samples) / np.sum(seconds))


# --------------------------------------------------------------------- fastcf
def fastcf_model(epochs, threads, seed, sparse_adam):
    return MLPRecommender(embedding_dim=EMBEDDING_DIM, hidden=HIDDEN, epochs=epochs,
                          batch_size=BATCH_SIZE, lr=LR, sparse_adam=sparse_adam,
                          embedding_std=EMBEDDING_STD, n_threads=threads, seed=seed)


def warm_up_fastcf(split, threads):
    """One tiny fit + predict per Adam kind, untimed (BLAS thread start-up); its seconds.

    On the first ``TINY`` ratings of the train set, not ``fastcf.make_ratings``
    data: that runs Numba parallel code (see ``numba_openmp_started``).
    """
    tiny = Interactions.from_frame(split.train.to_frame().iloc[:TINY], rating="rating")
    start = time.perf_counter()
    for sparse_adam in (True, False):
        model = fastcf_model(2, threads, 0, sparse_adam).fit(tiny)
        model.predict(tiny.user_ids[:5], tiny.item_ids[:5])
    return time.perf_counter() - start


def blas_threads_probe(record):
    """A fit callback noting, after the first epoch, the BLAS thread counts then in effect.

    fastcf may train on fewer BLAS threads than ``n_threads`` (small batches:
    one); the callback runs inside its training thread limit, after the
    epoch's seconds are taken.
    """
    def callback(entry):
        if not record:
            try:
                from threadpoolctl import threadpool_info
            except ImportError:
                record.append(None)
                return
            record.append(sorted({info["num_threads"] for info in threadpool_info()
                                  if info["user_api"] == "blas"}))

    return callback


def train_fastcf(split, epochs, threads, seed, sparse_adam):
    """One fastcf fit: training-epoch throughput, fit wall time, test RMSE, curve."""
    model = fastcf_model(epochs, threads, seed, sparse_adam)
    blas_threads = []
    start = time.perf_counter()
    model.fit(split.train, validation=split.test, callbacks=[blas_threads_probe(blas_threads)])
    wall = time.perf_counter() - start
    history = model.history_
    seconds = [e["seconds"] for e in history]
    samples = [e["samples"] for e in history]
    est = model.predict(split.test_user_ids, split.test_item_ids)
    low, high = split.train.rating_range
    est = np.clip(np.asarray(est, dtype=np.float64), low, high)
    return {"seed": seed, "samples_per_s": throughput(samples, seconds),
            "epochs_s": float(np.sum(seconds)), "wall_s": wall,
            "epoch_s": seconds, "rmse": rmse(split.truth, est),
            "train_rmse_last_epoch": history[-1]["train_rmse"],
            "curve": [e["validation_rmse"] for e in history],
            "blas_threads_training": blas_threads[0]}


def numba_openmp_started():
    """Numba's threading layer if it has started in this process, else None.

    Numba's ``omp`` layer runs on the system's libgomp, PyTorch on the libgomp
    of its wheel; once both thread pools exist, PyTorch's 2-thread training
    here ran ~10x slower (measured on 2 cores: 26k instead of 260k samples/s;
    1 thread unaffected). fastcf's MLP code runs no Numba, but
    ``fastcf.make_ratings`` does: this script must not call it.
    """
    numba = sys.modules.get("numba")
    if numba is None:
        return None
    try:
        return numba.threading_layer()
    except ValueError:  # no parallel Numba code has run
        return None


# -------------------------------------------------------------------- PyTorch
def import_torch():
    """``torch``, or exit with a message saying how to get it."""
    try:
        import torch
    except ImportError as exc:
        raise SystemExit(f"mlp_peers.py: PyTorch is needed for the peer rows but this Python "
                         f"({sys.executable}) cannot import it ({exc}); {TORCH_HINT}.") from None
    return torch


def torch_mlp(torch, n_users, n_items, sparse, global_mean):
    """The fastcf architecture as a ``torch.nn.Module`` (initialised from the global RNG)."""
    nn = torch.nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.user = nn.Embedding(n_users, EMBEDDING_DIM, sparse=sparse)
            self.item = nn.Embedding(n_items, EMBEDDING_DIM, sparse=sparse)
            widths = [2 * EMBEDDING_DIM, *HIDDEN, 1]
            self.layers = nn.ModuleList(nn.Linear(n_in, n_out)
                                        for n_in, n_out in zip(widths[:-1], widths[1:]))
            nn.init.normal_(self.user.weight, 0.0, EMBEDDING_STD)
            nn.init.normal_(self.item.weight, 0.0, EMBEDDING_STD)
            with torch.no_grad():
                self.layers[-1].bias.fill_(float(global_mean))

        def forward(self, users, items):
            x = torch.cat([self.user(users), self.item(items)], dim=1)
            for layer in self.layers[:-1]:
                x = torch.relu(layer(x))
            return self.layers[-1](x).squeeze(1)

    return MLP()


def torch_optimizers(torch, model, sparse):
    if not sparse:
        return [torch.optim.Adam(model.parameters(), lr=LR)]
    embeddings = [model.user.weight, model.item.weight]
    return [torch.optim.SparseAdam(embeddings, lr=LR),
            torch.optim.Adam(model.layers.parameters(), lr=LR)]


def torch_batch(torch, model, optimizers, users, items, ratings):
    """One training step; the batch's mean squared error (a float)."""
    loss = torch.nn.functional.mse_loss(model(users, items), ratings)
    for optimizer in optimizers:
        optimizer.zero_grad(set_to_none=True)
    loss.backward()
    for optimizer in optimizers:
        optimizer.step()
    return loss.item()


def torch_tensors(torch, split):
    return (torch.from_numpy(split.users), torch.from_numpy(split.items),
            torch.from_numpy(split.ratings))


def warm_up_torch(torch, split, sparse, batches=WARM_UP_BATCHES):
    """``batches`` steps on a throw-away model (untimed); its seconds."""
    users, items, ratings = torch_tensors(torch, split)
    start = time.perf_counter()
    model = torch_mlp(torch, split.train.n_users, split.train.n_items, sparse,
                      split.train.global_mean)
    optimizers = torch_optimizers(torch, model, sparse)
    order = torch.randperm(len(ratings), generator=torch.Generator().manual_seed(12345))
    for b in range(batches):
        idx = order[b * BATCH_SIZE:(b + 1) * BATCH_SIZE]
        torch_batch(torch, model, optimizers, users[idx], items[idx], ratings[idx])
    with torch.no_grad():
        model(users[:BATCH_SIZE], items[:BATCH_SIZE])
    return time.perf_counter() - start


def torch_predict(torch, model, split, users, items):
    """Clipped test predictions (training mean for unknown pairs), under no_grad."""
    def known(u, i):
        with torch.no_grad():
            return model(torch.from_numpy(u), torch.from_numpy(i)).double().numpy()

    return fallback_and_clip(split, users, items, known)


def train_torch(torch, split, epochs, threads, seed, sparse):
    """One PyTorch fit (after an untimed warm-up): as ``train_fastcf``."""
    torch.set_num_threads(threads)
    warm_s = warm_up_torch(torch, split, sparse)
    users, items, ratings = torch_tensors(torch, split)
    n = len(ratings)
    known = (split.test_users >= 0) & (split.test_items >= 0)
    start_wall = time.perf_counter()
    torch.manual_seed(seed)
    model = torch_mlp(torch, split.train.n_users, split.train.n_items, sparse,
                      split.train.global_mean)
    optimizers = torch_optimizers(torch, model, sparse)
    generator = torch.Generator().manual_seed(seed)
    seconds, curve, train_rmse = [], [], None
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for first in range(0, n, BATCH_SIZE):
            idx = order[first:first + BATCH_SIZE]
            total += torch_batch(torch, model, optimizers, users[idx], items[idx],
                                 ratings[idx]) * len(idx)
        seconds.append(time.perf_counter() - start)
        train_rmse = float(np.sqrt(total / n))
        est = torch_predict(torch, model, split, split.test_users[known],
                            split.test_items[known])
        curve.append(rmse(split.truth[known], est))
    wall = time.perf_counter() - start_wall
    est = torch_predict(torch, model, split, split.test_users, split.test_items)
    return {"seed": seed, "samples_per_s": throughput([n] * epochs, seconds),
            "epochs_s": float(np.sum(seconds)), "wall_s": wall, "epoch_s": seconds,
            "rmse": rmse(split.truth, est), "train_rmse_last_epoch": train_rmse,
            "curve": curve, "warm_up_s": warm_s}


# ---------------------------------------------------------------- measurement
def summarise(key, library, adam, runs, threads):
    rmses = [r["rmse"] for r in runs]
    return {"key": key, "library": library, "adam": adam, "threads": threads,
            "samples_per_s": float(np.median([r["samples_per_s"] for r in runs])),
            "epochs_s": float(np.median([r["epochs_s"] for r in runs])),
            "wall_s": float(np.median([r["wall_s"] for r in runs])),
            "rmse": float(np.mean(rmses)), "rmse_all": rmses,
            "curve_mean": np.mean([r["curve"] for r in runs], axis=0).tolist(),
            "runs": runs}


def measure_mlp(torch, split, epochs, threads, repeats):
    """Every row of ``MLP_ROWS``, seeds 0..repeats-1 interleaved; ratios and targets."""
    res = {"model": f"embeddings {EMBEDDING_DIM} (N(0, {EMBEDDING_STD}^2)) x 2 -> "
                    f"{' -> '.join(str(h) for h in HIDDEN)} (ReLU) -> 1, MSE, Adam lr {LR:g}, "
                    f"batch {BATCH_SIZE}",
           "epochs": epochs, "threads": threads, "repeats": repeats,
           "n_train": len(split.ratings), "n_test": len(split.truth),
           "fastcf_warm_up_s": warm_up_fastcf(split, threads)}
    runs = {key: [] for key, *_ in MLP_ROWS}
    for seed in range(repeats):
        for key, library, _, sparse in MLP_ROWS:
            if library == "fastcf":
                run = train_fastcf(split, epochs, threads, seed, sparse)
            else:
                run = train_torch(torch, split, epochs, threads, seed, sparse)
            runs[key].append(run)
            print(f"  seed {seed} {key}: {run['samples_per_s']:,.0f} samples/s (epochs "
                  f"{run['epochs_s']:.2f} s, wall {run['wall_s']:.2f} s), test RMSE "
                  f"{run['rmse']:.4f}", flush=True)
    res["rows"] = [summarise(key, library, adam, runs[key], threads)
                   for key, library, adam, _ in MLP_ROWS]
    add_ratios_and_targets(res)
    return res


def rmse_gap(ours, theirs):
    """(mean difference, 2 standard errors of it) of two rows' per-seed RMSEs."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    se = np.sqrt(ours.var(ddof=1) / len(ours) + theirs.var(ddof=1) / len(theirs)) \
        if min(len(ours), len(theirs)) > 1 else 0.0
    return float(ours.mean() - theirs.mean()), float(2 * se)


def add_ratios_and_targets(res):
    rows = {r["key"]: r for r in res["rows"]}
    torch_dense, torch_sparse = rows["torch_dense"], rows["torch_sparse"]
    for r in res["rows"]:
        r["vs_torch_dense"] = r["samples_per_s"] / torch_dense["samples_per_s"]
        r["vs_torch_sparse"] = r["samples_per_s"] / torch_sparse["samples_per_s"]
    fast, fast_dense = rows["fastcf_sparse"], rows["fastcf_dense"]
    threads = res["threads"]
    targets = [{"target": f"fastcf MLP throughput >= {SPEED_TARGET:g}x PyTorch (same threads, "
                          f"dense Adam): fastcf sparse_adam=True vs PyTorch (A), {threads} "
                          "thread(s)",
                "value": f"{fast['vs_torch_dense']:.2f}x ({fast['samples_per_s']:,.0f} vs "
                         f"{torch_dense['samples_per_s']:,.0f} samples/s; for information, "
                         f"like for like: fastcf dense vs (A) "
                         f"{fast_dense['vs_torch_dense']:.2f}x, fastcf sparse vs (B) "
                         f"{fast['vs_torch_sparse']:.2f}x)",
                "met": fast["vs_torch_dense"] >= SPEED_TARGET}]
    for ours, theirs, label in ((fast, torch_sparse, "fastcf sparse_adam=True vs PyTorch (B) "
                                 "SparseAdam"),
                                (fast_dense, torch_dense, "fastcf sparse_adam=False vs "
                                 "PyTorch (A) dense Adam")):
        diff, noise = rmse_gap(ours["rmse_all"], theirs["rmse_all"])
        key = "rmse_diff_" + ours["key"]
        res[key] = diff
        targets.append({"target": f"|test RMSE fastcf - PyTorch| <= {RMSE_TARGET:g} at equal "
                                  f"epochs ({res['epochs']}): {label}",
                        "value": f"{ours['rmse']:.4f} - {theirs['rmse']:.4f} = {diff:+.4f} "
                                 f"(2 SE of the difference over the seeds {noise:.4f})",
                        "met": abs(diff) <= RMSE_TARGET})
    res["targets"] = targets


# ------------------------------------------------------------------- report
def _met(ok):
    return "met" if ok else "NOT met"


def _threads(r):
    """The threads setting, and fastcf's BLAS threads while training where they differ."""
    seen = {tuple(x["blas_threads_training"]) for x in r["runs"]
            if x.get("blas_threads_training")}
    if not seen or seen == {(r["threads"],)}:
        return str(r["threads"])
    used = "/".join(",".join(str(n) for n in t) for t in sorted(seen))
    return f"{r['threads']} (BLAS {used} while training)"


def _seconds_note(r):
    seconds = ", ".join(f"{x['epochs_s']:.2f}" for x in r["runs"])
    return (f"epochs s of the seeds {seconds}; last-epoch train RMSE (last seed) "
            f"{r['runs'][-1]['train_rmse_last_epoch']:.4f}")


def format_mlp(res):
    lines = [f"Model: {res['model']}; {res['epochs']} epochs, {res['threads']} thread(s), "
             f"seeds 0..{res['repeats'] - 1} (median samples/s, mean test RMSE). fastcf "
             f"untimed warm-up fit {res['fastcf_warm_up_s']:.2f} s.", "",
             "| library | Adam | threads | epochs s | fit wall s | samples/s | vs PyTorch (A) "
             "| vs PyTorch (B) | test RMSE | RMSE of the seeds | notes |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["rows"]:
        lines.append(f"| {r['library']} | {r['adam']} | {_threads(r)} | {r['epochs_s']:.2f} | "
                     f"{r['wall_s']:.2f} | {r['samples_per_s']:,.0f} | "
                     f"{r['vs_torch_dense']:.2f}x | {r['vs_torch_sparse']:.2f}x | "
                     f"{r['rmse']:.4f} | {', '.join(f'{v:.4f}' for v in r['rmse_all'])} | "
                     f"{_seconds_note(r)} |")
    warm = [x["warm_up_s"] for r in res["rows"] for x in r["runs"] if "warm_up_s" in x]
    lines += ["", f"samples/s = n_train ({res['n_train']:,}) x epochs / the summed training "
              "seconds of the epochs (fastcf: history_[e]['seconds'], PyTorch: perf_counter "
              "around each epoch's loop); median over the seeds, and the epochs s column is "
              "the median too. Fit wall s: fastcf's whole fit (with initialisation and the "
              "per-epoch validation); PyTorch from the model's construction to the last "
              "epoch's test RMSE (with the per-epoch validation, without the warm-up: "
              f"{WARM_UP_BATCHES} batches on a throw-away model before every fit, "
              f"{min(warm):.2f}..{max(warm):.2f} s). Test RMSE on all {res['n_test']:,} "
              "test ratings (unknown user or item: the training mean), clipped to the "
              "training rating range.", ""]
    epochs = [e for e in CURVE_EPOCHS if e <= res["epochs"]]
    if res["epochs"] not in epochs:
        epochs.append(res["epochs"])
    lines += ["Test RMSE by epoch (mean over the seeds; test pairs whose user and item are in "
              "train, as fastcf's validation_rmse):", "",
              "| library | Adam | " + " | ".join(f"epoch {e}" for e in epochs) + " |",
              "|---|---|" + "---|" * len(epochs)]
    for r in res["rows"]:
        lines.append(f"| {r['library']} | {r['adam']} | "
                     + " | ".join(f"{r['curve_mean'][e - 1]:.4f}" for e in epochs) + " |")
    lines += ["", "Targets:", ""]
    for t in res["targets"]:
        lines.append(f"- {t['target']}: {t['value']} -- {_met(t['met'])}")
    return "\n".join(lines)


def format_markdown(results):
    lines = [f"Data: {results['data']}.", "",
             f"Load average before / after: {results['load_before']} / "
             f"{results['load_after']}; peak RSS of this process "
             f"{results['peak_rss_mb']:.0f} MB. PyTorch {results['torch']['version']} "
             f"({results['torch']['parallel']}).", "",
             "MLP rating model: fastcf MLPRecommender vs PyTorch", "",
             format_mlp(results["mlp"])]
    if results.get("numba_threading_layer"):
        lines += ["", f"WARNING: Numba's {results['numba_threading_layer']} threading layer "
                  "started in this process: its thread pool beside PyTorch's slows PyTorch's "
                  "multi-threaded training several-fold, so the PyTorch figures are not "
                  "valid."]
    return "\n".join(lines)


def torch_info(torch, threads):
    torch.set_num_threads(threads)
    return {"version": torch.__version__, "num_threads": torch.get_num_threads(),
            "parallel": f"{torch.get_num_threads()} intra-op threads, "
                        f"{torch.get_num_interop_threads()} inter-op"}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ml100k", default=DEFAULT_ML100K,
                        help=f"MovieLens 100K folder with {FOLD}.base and {FOLD}.test")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2,
                        help="fastcf n_threads (BLAS) and torch.set_num_threads")
    parser.add_argument("--repeats", type=int, default=3,
                        help="fits per row, seeds 0..repeats-1 (median samples/s, mean RMSE)")
    parser.add_argument("--out", help="directory for results.json and results.md")
    args = parser.parse_args(argv)
    for name in ("epochs", "threads", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    if not (Path(args.ml100k) / f"{FOLD}.base").is_file():
        parser.error(f"no {FOLD}.base in {args.ml100k} (--ml100k)")
    return args


def main(argv=None):
    args = parse_args(argv)
    torch = import_torch()
    load_before = load_average()
    split = load_ml100k(args.ml100k)
    print(split.description, flush=True)
    results = {"data": split.description, "load_before": load_before,
               "torch": torch_info(torch, args.threads)}
    results["mlp"] = measure_mlp(torch, split, args.epochs, args.threads, args.repeats)
    results["peak_rss_mb"] = peak_rss_mb()
    results["numba_threading_layer"] = numba_openmp_started()
    finish(results, format_markdown, args.out)


if __name__ == "__main__":
    main()
