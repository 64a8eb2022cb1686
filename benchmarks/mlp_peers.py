"""Neural models: fastcf ``MLPRecommender`` and ``NeuMF`` (NumPy) beside the same in PyTorch.

Two sections, each of which can be skipped (``--skip-mlp``, ``--skip-neumf``).

MLP rating model
----------------

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
      ``n_threads`` says (``fastcf._config.SINGLE_THREAD_BATCH_CELLS``): a fit
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

Targets, both on the same pair (fastcf as users get it, ``sparse_adam=True``,
against PyTorch as it is usually written, (A) dense Adam): samples/s >= 2x
at the same threads, and |mean test RMSE fastcf - PyTorch| <= 0.01 at equal
epochs. The like-for-like optimiser pairs (fastcf dense vs (A), fastcf
sparse vs (B)) are reported beside them. At 20 epochs every model over-fits
and one seed moves the RMSE by ~0.01, so the per-epoch curves matter more
than the last-epoch gap.

NeuMF (implicit feedback, He et al. 2017)
----------------------------------------

Data: all of MovieLens 100K (``u.data`` in ``--ml100k``, read with
``read_movielens_frame``, ``Interactions.from_frame(frame, rating="rating",
timestamp="timestamp")``; every rating is a positive), split by
``fastcf.split.leave_one_out(data, by="time")``: every user's latest
interaction is its test item, the rest train (items seen only in test are
dropped from train, so their test pairs are not scored). Both libraries train
on the same positives, fastcf's internal indices in ``train.by_user`` order.

Model (both libraries): GMF branch (user and item embeddings of size 8,
element-wise product) and MLP branch (user and item embeddings of size 32,
concatenated -> Linear(64, 64) -> ReLU -> 32 -> ReLU -> 16 -> ReLU -> 8 ->
ReLU), concatenated -> Linear(16, 1) logit; embeddings N(0, 0.01^2), the
Linear layers ``torch.nn.Linear``'s default initialisation. Binary
cross-entropy on the logits (batch mean), Adam lr 1e-3, mini-batches of 256;
every epoch draws 4 negatives per training interaction, uniform over the
items the user has no training interaction with
(``fastcf.sampling.sample_negatives``, seeded), and shuffles positives and
negatives together. ``--neumf-epochs`` epochs, float32.

Rows (``--repeats`` fits each, seeds 0, 1, ..., interleaved seed by seed;
``--threads`` threads):
    - fastcf ``NeuMF(factors=8, embedding_dim=32, hidden=(64, 32, 16, 8),
      epochs=E, batch_size=256, lr=1e-3, n_negatives=4, embedding_std=0.01,
      n_threads=T, seed=s)``, its default ``sparse_adam=True`` (lazy Adam on
      the embedding rows a batch touched). Timed: ``history_[e]["seconds"]``
      summed over the epochs -- each epoch's negative sampling, shuffle,
      batch gathers, forward, backward and Adam; samples/s = the summed
      ``history_[e]["samples"]`` (positives + negatives) / that sum. The BLAS
      threads in effect while training are read as for the MLP (batches this
      small train on one). One untimed tiny fit first.
    - PyTorch: the same model as a ``torch.nn.Module`` (four ``nn.Embedding``
      with ``nn.init.normal_(w, 0, 0.01)``, five ``nn.Linear``),
      ``torch.manual_seed(s)``, ``torch.set_num_threads(T)``, dense
      embeddings and ``torch.optim.Adam(model.parameters(), lr=1e-3)`` (the
      usual way), ``F.binary_cross_entropy_with_logits``. Each epoch's
      negatives and order come from the same numpy code as fastcf's
      (``sample_negatives``, then ``Generator.permutation``) on a
      ``numpy.random.default_rng(s)`` of its own (the same procedure and cost,
      not the same draws: fastcf's generator also initialises its weights).
      Timed with ``time.perf_counter`` around each epoch -- the negative
      sampling and shuffle (included on both sides, as fastcf's seconds
      include them), the permuted epoch tensors, then per batch forward,
      loss, zero_grad, backward, step and the loss read back with
      ``.item()``. 20 untimed batches on a throw-away model before every fit.

Evaluation (leave-one-out, sampled): each test (user, item) whose user and
item are in train is ranked among itself and 99 negatives drawn uniformly
from the items the user has in neither train nor test. The candidate lists
are drawn ONCE (seed 0) exactly as ``fastcf.evaluation.sampled_hit_rate_ndcg``
draws them, and both libraries' predicted probabilities are ranked on the
same lists with that function's rule: rank = the number of negatives scored
>= the test item, hit = rank < 10, gain = 1 / log2(rank + 2). For every
fastcf fit ``sampled_hit_rate_ndcg(model, train, test, k=10, n_negatives=99,
seed=0)`` is computed too and must give the same numbers (the report says
whether it did). Reported per row: median samples/s over the seeds, mean
HR@10 and NDCG@10 and those of each seed, and HR@10 / training loss by epoch
(evaluated outside the epoch timing).

Targets: |mean HR@10 fastcf - PyTorch| <= 0.01 and |mean NDCG@10 fastcf -
PyTorch| <= 0.01 at equal epochs; fastcf NeuMF samples/s > PyTorch's at the
same threads setting.

Run with fastcf and PyTorch (the ``[bench]`` extra) installed::

    python benchmarks/mlp_peers.py [--ml100k DIR] [--epochs 20] [--neumf-epochs 20] \\
        [--threads 2] [--repeats 3] [--skip-mlp | --skip-neumf] [--out DIR]
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

from fastcf import Interactions, MLPRecommender, NeuMF
from fastcf.bench.peers.torch import torch_mlp_module, torch_neumf_module
from fastcf.datasets import read_movielens_frame
from fastcf.evaluation import sampled_candidates, sampled_hit_rate_ndcg
from fastcf.metrics import hit_rate_ndcg_of_candidates, rmse
from fastcf.sampling import sample_negatives
from fastcf.split import leave_one_out

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
#: NeuMF: GMF factors, MLP-branch embedding size, MLP-branch layers, embedding std,
#: negatives per training interaction and epoch
NEUMF_FACTORS, NEUMF_DIM, NEUMF_HIDDEN, NEUMF_STD, NEUMF_NEGATIVES = 8, 32, (64, 32, 16, 8), \
    0.01, 4
EVAL_K, EVAL_NEGATIVES, EVAL_SEED = 10, 99, 0  # HR@k / NDCG@k among 1 + 99 candidates
HR_TARGET = 0.01  # |mean HR@10 (and NDCG@10) fastcf - PyTorch|
NEUMF_CURVE_EPOCHS = (1, 2, 5, 10, 15, 20)
#: (row key, library, Adam kind)
NEUMF_ROWS = (("fastcf", "fastcf", "lazy (sparse_adam=True)"),
              ("torch", "PyTorch", "Adam, dense embeddings"))
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
    return torch_mlp_module(torch, n_users, n_items, EMBEDDING_DIM, HIDDEN, EMBEDDING_STD,
                            global_mean, sparse=sparse)


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
    # The accuracy target pairs the same two models as the speed target (fastcf as
    # users get it, PyTorch as people write it); the like-for-like optimiser pairs
    # are shown beside it.
    gaps = {}
    for ours, theirs, label in ((fast, torch_dense, "fastcf sparse_adam=True vs (A)"),
                                (fast_dense, torch_dense, "fastcf dense vs (A)"),
                                (fast, torch_sparse, "fastcf sparse vs (B)")):
        diff, noise = rmse_gap(ours["rmse_all"], theirs["rmse_all"])
        res[f"rmse_diff_{ours['key']}_{theirs['key']}"] = diff
        gaps[label] = (ours, theirs, diff, noise)
    ours, theirs, diff, noise = gaps["fastcf sparse_adam=True vs (A)"]
    others = "; ".join(f"{label}: {d:+.4f} (2 SE {n:.4f})"
                       for label, (_, _, d, n) in gaps.items()
                       if label != "fastcf sparse_adam=True vs (A)")
    targets.append({"target": f"|test RMSE fastcf - PyTorch| <= {RMSE_TARGET:g} at equal "
                              f"epochs ({res['epochs']}): fastcf sparse_adam=True vs PyTorch "
                              "(A), the pair of the speed target",
                    "value": f"{ours['rmse']:.4f} - {theirs['rmse']:.4f} = {diff:+.4f} (2 SE "
                             f"of the difference over the seeds {noise:.4f}; for information, "
                             f"like for like: {others})",
                    "met": abs(diff) <= RMSE_TARGET})
    res["targets"] = targets


# ---------------------------------------------------------------------- NeuMF
class LooSplit(NamedTuple):
    """Leave-one-out split of ML-100K, the shared training arrays and the candidate lists."""

    train: Interactions
    test: Interactions
    users: np.ndarray  # int64 internal user of every training interaction (by_user order)
    items: np.ndarray  # int64 internal item
    indptr: np.ndarray  # train.by_user.indptr: each user's positives (for the negatives)
    eval_users: np.ndarray  # int64 internal user of every scored test pair
    candidates: np.ndarray  # int64 internal items (n pairs, 1 + EVAL_NEGATIVES); column 0: test
    n_test: int  # test pairs before dropping those train does not know
    description: str


def load_ml100k_loo(folder):
    """``LooSplit`` of ``u.data`` in ``folder`` (latest interaction of every user to test)."""
    frame = read_movielens_frame(Path(folder) / "u.data")
    data = Interactions.from_frame(frame, rating="rating", timestamp="timestamp")
    split = leave_one_out(data, by="time")
    train, test = split.train, split.test
    by_user = train.by_user
    users = np.repeat(np.arange(train.n_users, dtype=np.int64), np.diff(by_user.indptr))
    items = np.asarray(by_user.indices, dtype=np.int64)
    eval_users, candidates = sampled_candidates(train, test, n_negatives=EVAL_NEGATIVES,
                                                seed=EVAL_SEED)
    description = (f"MovieLens 100K {folder}/u.data, every rating a positive, "
                   f"leave_one_out(by=\"time\"): {train.nnz:,} train interactions, "
                   f"{train.n_users:,} users x {train.n_items:,} items; {test.nnz:,} test "
                   f"pairs (each user's latest), {len(eval_users):,} with an item seen in train "
                   f"scored among 1 + {EVAL_NEGATIVES} candidates (negatives drawn once, seed "
                   f"{EVAL_SEED})")
    return LooSplit(train, test, users, items, np.asarray(by_user.indptr, dtype=np.int64),
                    eval_users, candidates, int(test.nnz), description)


def hit_rate_ndcg(scores, k=EVAL_K):
    """(HR@k, NDCG@k) of candidate scores, column 0 the test item (fastcf.metrics' rule)."""
    return hit_rate_ndcg_of_candidates(scores, k)


def neumf_model(epochs, threads, seed):
    return NeuMF(factors=NEUMF_FACTORS, embedding_dim=NEUMF_DIM, hidden=NEUMF_HIDDEN,
                 epochs=epochs, batch_size=BATCH_SIZE, lr=LR, n_negatives=NEUMF_NEGATIVES,
                 embedding_std=NEUMF_STD, n_threads=threads, seed=seed)


def warm_up_fastcf_neumf(loo, threads):
    """One tiny NeuMF fit + predict, untimed (on the first ``TINY`` train interactions)."""
    tiny = Interactions.from_frame(loo.train.to_frame().iloc[:TINY], rating="rating")
    start = time.perf_counter()
    model = neumf_model(2, threads, 0).fit(tiny)
    model.predict(tiny.user_ids[:5], tiny.item_ids[:5])
    return time.perf_counter() - start


def fastcf_candidate_scores(model, loo):
    """fastcf's probabilities of the candidate lists, through ``predict`` (external ids)."""
    n_candidates = loo.candidates.shape[1]
    users = loo.train.user_ids[np.repeat(loo.eval_users, n_candidates)]
    items = loo.train.item_ids[loo.candidates.ravel()]
    return model.predict(users, items).reshape(loo.candidates.shape)


def sparse_adam_backend():
    """The backend ``backend="auto"`` picks for fastcf's lazy Adam kernel (None: unknown)."""
    try:
        from fastcf.kernels import _registry, adam

        return _registry.get_kernel(adam.FAMILY, "auto")[1]
    except (ImportError, AttributeError, ValueError):
        return None


def train_fastcf_neumf(loo, epochs, threads, seed):
    """One fastcf NeuMF fit: training-epoch throughput, fit wall time, HR@10 / NDCG@10."""
    model = neumf_model(epochs, threads, seed)
    blas_threads, hr_curve = [], []

    def hr_by_epoch(entry):  # after the epoch's seconds are taken
        hr_curve.append(hit_rate_ndcg(fastcf_candidate_scores(model, loo))[0])

    start = time.perf_counter()
    model.fit(loo.train, callbacks=[blas_threads_probe(blas_threads), hr_by_epoch])
    wall = time.perf_counter() - start
    history = model.history_
    seconds = [e["seconds"] for e in history]
    samples = [e["samples"] for e in history]
    hr, ndcg = hit_rate_ndcg(fastcf_candidate_scores(model, loo))
    check = sampled_hit_rate_ndcg(model, loo.train, loo.test, k=EVAL_K,
                                  n_negatives=EVAL_NEGATIVES, seed=EVAL_SEED)
    return {"seed": seed, "samples_per_s": throughput(samples, seconds),
            "epochs_s": float(np.sum(seconds)), "wall_s": wall, "epoch_s": seconds,
            "samples_per_epoch": int(samples[0]), "hr": hr, "ndcg": ndcg,
            "sampled_hit_rate_ndcg": list(check),
            "check_max_abs_diff": float(max(abs(hr - check[0]), abs(ndcg - check[1]))),
            "loss_curve": [e["train_loss"] for e in history], "hr_curve": hr_curve,
            "blas_threads_training": blas_threads[0]}


def torch_neumf(torch, n_users, n_items):
    """fastcf's NeuMF as a ``torch.nn.Module`` (initialised from the global RNG)."""
    return torch_neumf_module(torch, n_users, n_items, NEUMF_FACTORS, NEUMF_DIM, NEUMF_HIDDEN,
                              NEUMF_STD)


def torch_neumf_batch(torch, model, optimizer, users, items, labels):
    """One training step; the batch's mean binary cross-entropy (a float)."""
    loss = torch.nn.functional.binary_cross_entropy_with_logits(model(users, items), labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def neumf_epoch_examples(loo, all_users, labels, rng):
    """An epoch's (users, items, labels), shuffled: the positives and fresh negatives, drawn
    by the numpy code fastcf's NeuMF runs (``sample_negatives``, then a permutation)."""
    negatives = sample_negatives(loo.users, loo.indptr, loo.items, loo.train.n_items,
                                 NEUMF_NEGATIVES, rng)
    order = rng.permutation(len(all_users))
    return all_users[order], np.concatenate([loo.items, negatives])[order], labels[order]


def torch_neumf_data(loo):
    """(users of every example, labels): the positives then ``NEUMF_NEGATIVES`` per positive."""
    all_users = np.concatenate([loo.users, np.repeat(loo.users, NEUMF_NEGATIVES)])
    labels = np.concatenate([np.ones(len(loo.users), np.float32),
                             np.zeros(len(loo.users) * NEUMF_NEGATIVES, np.float32)])
    return all_users, labels


def warm_up_torch_neumf(torch, loo, batches=WARM_UP_BATCHES):
    """``batches`` steps on a throw-away NeuMF (untimed); its seconds."""
    all_users, labels = torch_neumf_data(loo)
    start = time.perf_counter()
    users, items, labels = (torch.from_numpy(a) for a in neumf_epoch_examples(
        loo, all_users, labels, np.random.default_rng(12345)))
    model = torch_neumf(torch, loo.train.n_users, loo.train.n_items)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    for b in range(batches):
        part = slice(b * BATCH_SIZE, (b + 1) * BATCH_SIZE)
        torch_neumf_batch(torch, model, optimizer, users[part], items[part], labels[part])
    torch_candidate_scores(torch, model, loo)
    return time.perf_counter() - start


def torch_candidate_scores(torch, model, loo):
    """PyTorch's probabilities of the candidate lists, under no_grad."""
    users = torch.from_numpy(np.repeat(loo.eval_users, loo.candidates.shape[1]))
    items = torch.from_numpy(loo.candidates.ravel())
    with torch.no_grad():
        scores = torch.sigmoid(model(users, items))
    return scores.double().numpy().reshape(loo.candidates.shape)


def train_torch_neumf(torch, loo, epochs, threads, seed):
    """One PyTorch NeuMF fit (after an untimed warm-up): as ``train_fastcf_neumf``."""
    torch.set_num_threads(threads)
    warm_s = warm_up_torch_neumf(torch, loo)
    all_users, all_labels = torch_neumf_data(loo)
    n = len(all_labels)
    start_wall = time.perf_counter()
    torch.manual_seed(seed)
    model = torch_neumf(torch, loo.train.n_users, loo.train.n_items)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    rng = np.random.default_rng(seed)
    seconds, loss_curve, hr_curve = [], [], []
    for _ in range(epochs):
        start = time.perf_counter()
        users, items, labels = (torch.from_numpy(a) for a in neumf_epoch_examples(
            loo, all_users, all_labels, rng))
        total = 0.0
        for first in range(0, n, BATCH_SIZE):
            part = slice(first, first + BATCH_SIZE)
            total += torch_neumf_batch(torch, model, optimizer, users[part], items[part],
                                       labels[part]) * len(labels[part])
        seconds.append(time.perf_counter() - start)
        loss_curve.append(total / n)
        hr_curve.append(hit_rate_ndcg(torch_candidate_scores(torch, model, loo))[0])
    wall = time.perf_counter() - start_wall
    hr, ndcg = hit_rate_ndcg(torch_candidate_scores(torch, model, loo))
    return {"seed": seed, "samples_per_s": throughput([n] * epochs, seconds),
            "epochs_s": float(np.sum(seconds)), "wall_s": wall, "epoch_s": seconds,
            "samples_per_epoch": n, "hr": hr, "ndcg": ndcg, "loss_curve": loss_curve,
            "hr_curve": hr_curve, "warm_up_s": warm_s}


def summarise_neumf(key, library, adam, runs, threads):
    hrs, ndcgs = [r["hr"] for r in runs], [r["ndcg"] for r in runs]
    return {"key": key, "library": library, "adam": adam, "threads": threads,
            "samples_per_s": float(np.median([r["samples_per_s"] for r in runs])),
            "epochs_s": float(np.median([r["epochs_s"] for r in runs])),
            "wall_s": float(np.median([r["wall_s"] for r in runs])),
            "hr": float(np.mean(hrs)), "hr_all": hrs,
            "ndcg": float(np.mean(ndcgs)), "ndcg_all": ndcgs,
            "hr_curve_mean": np.mean([r["hr_curve"] for r in runs], axis=0).tolist(),
            "loss_curve_mean": np.mean([r["loss_curve"] for r in runs], axis=0).tolist(),
            "runs": runs}


def measure_neumf(torch, folder, epochs, threads, repeats):
    """fastcf NeuMF and PyTorch NeuMF (``NEUMF_ROWS``), seeds interleaved; targets."""
    loo = load_ml100k_loo(folder)
    print(loo.description, flush=True)
    res = {"data": loo.description,
           "model": f"GMF embeddings {NEUMF_FACTORS} + MLP embeddings {NEUMF_DIM} x 2 -> "
                    f"{' -> '.join(str(h) for h in NEUMF_HIDDEN)} (ReLU), joined -> 1 logit; "
                    f"embeddings N(0, {NEUMF_STD}^2), BCE, Adam lr {LR:g}, batch "
                    f"{BATCH_SIZE}, {NEUMF_NEGATIVES} negatives per positive every epoch",
           "epochs": epochs, "threads": threads, "repeats": repeats,
           "n_train": int(loo.train.nnz), "n_test": loo.n_test,
           "n_scored": len(loo.eval_users),
           "fastcf_warm_up_s": warm_up_fastcf_neumf(loo, threads),
           "fastcf_sparse_adam_backend": sparse_adam_backend()}
    runs = {key: [] for key, *_ in NEUMF_ROWS}
    for seed in range(repeats):
        for key, library, _ in NEUMF_ROWS:
            if library == "fastcf":
                run = train_fastcf_neumf(loo, epochs, threads, seed)
            else:
                run = train_torch_neumf(torch, loo, epochs, threads, seed)
            runs[key].append(run)
            print(f"  seed {seed} NeuMF {key}: {run['samples_per_s']:,.0f} samples/s (epochs "
                  f"{run['epochs_s']:.2f} s, wall {run['wall_s']:.2f} s), HR@{EVAL_K} "
                  f"{run['hr']:.4f}, NDCG@{EVAL_K} {run['ndcg']:.4f}", flush=True)
    res["rows"] = [summarise_neumf(key, library, adam, runs[key], threads)
                   for key, library, adam in NEUMF_ROWS]
    res["check_max_abs_diff"] = max(r["check_max_abs_diff"] for r in runs["fastcf"])
    add_neumf_targets(res)
    return res


def add_neumf_targets(res):
    rows = {r["key"]: r for r in res["rows"]}
    fast, peer = rows["fastcf"], rows["torch"]
    for r in res["rows"]:
        r["vs_torch"] = r["samples_per_s"] / peer["samples_per_s"]
    gaps = {}
    for metric in ("hr", "ndcg"):
        gaps[metric] = rmse_gap(fast[f"{metric}_all"], peer[f"{metric}_all"])
        res[f"{metric}_diff"] = gaps[metric][0]
    def noise(m):
        if res["repeats"] < 2:
            return "one seed: no spread"
        return f"2 SE of the difference over the seeds {gaps[m][1]:.4f}"

    values = "; ".join(f"{name}@{EVAL_K} {fast[m]:.4f} - {peer[m]:.4f} = {gaps[m][0]:+.4f} "
                       f"({noise(m)})" for m, name in (("hr", "HR"), ("ndcg", "NDCG")))
    res["targets"] = [
        {"target": f"fastcf NeuMF HR@{EVAL_K} and NDCG@{EVAL_K} within {HR_TARGET:g} of "
                   f"PyTorch's (equal epochs: {res['epochs']})",
         "value": values,
         "met": all(abs(gap[0]) <= HR_TARGET for gap in gaps.values())},
        {"target": f"fastcf NeuMF faster than PyTorch (samples/s, same threads: "
                   f"{res['threads']})",
         "value": f"{fast['vs_torch']:.2f}x ({fast['samples_per_s']:,.0f} vs "
                  f"{peer['samples_per_s']:,.0f} samples/s)",
         "met": fast["samples_per_s"] > peer["samples_per_s"]}]


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
    return "\n".join(lines + _target_lines(res["targets"]))


def _target_lines(targets):
    return ["", "Targets:", ""] + [f"- {t['target']}: {t['value']} -- {_met(t['met'])}"
                                   for t in targets]


def format_neumf(res):
    lines = [f"Data: {res['data']}.", "",
             f"Model: {res['model']}; {res['epochs']} epochs, {res['threads']} thread(s), "
             f"seeds 0..{res['repeats'] - 1} (median samples/s, mean HR@{EVAL_K} and "
             f"NDCG@{EVAL_K}). fastcf untimed warm-up fit {res['fastcf_warm_up_s']:.2f} s "
             "(compiles its kernels if not cached); its lazy Adam kernel runs on the "
             f"{res.get('fastcf_sparse_adam_backend') or 'unknown'} backend (backend=\"auto\").",
             "",
             f"| library | Adam | threads | epochs s | fit wall s | samples/s | vs PyTorch "
             f"| HR@{EVAL_K} | NDCG@{EVAL_K} | HR@{EVAL_K} of the seeds | NDCG@{EVAL_K} of the "
             "seeds | notes |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["rows"]:
        seconds = ", ".join(f"{x['epochs_s']:.2f}" for x in r["runs"])
        lines.append(f"| {r['library']} | {r['adam']} | {_threads(r)} | {r['epochs_s']:.2f} | "
                     f"{r['wall_s']:.2f} | {r['samples_per_s']:,.0f} | {r['vs_torch']:.2f}x | "
                     f"{r['hr']:.4f} | {r['ndcg']:.4f} | "
                     f"{', '.join(f'{v:.4f}' for v in r['hr_all'])} | "
                     f"{', '.join(f'{v:.4f}' for v in r['ndcg_all'])} | epochs s of the seeds "
                     f"{seconds}; last-epoch train loss (last seed) "
                     f"{r['runs'][-1]['loss_curve'][-1]:.4f} |")
    warm = [x["warm_up_s"] for r in res["rows"] for x in r["runs"] if "warm_up_s" in x]
    samples = res["rows"][0]["runs"][0]["samples_per_epoch"]
    check = res["check_max_abs_diff"]
    check_text = ("equal to" if check == 0 else f"NOT equal to (max |difference| {check:.2g})")
    lines += ["", f"samples/s = samples per epoch ({samples:,}: {res['n_train']:,} positives "
              f"+ {NEUMF_NEGATIVES} negatives each) x epochs / the summed training seconds of "
              "the epochs, negative sampling and shuffle included on both sides (fastcf: "
              "history_[e]['seconds'], PyTorch: perf_counter around each epoch); median over "
              "the seeds, and the epochs s column is the median too. Fit wall s: fastcf's "
              "whole fit, PyTorch from the model's construction on, both with the per-epoch "
              f"HR@{EVAL_K} (PyTorch without its warm-up: {WARM_UP_BATCHES} batches on a "
              f"throw-away model before every fit, {min(warm):.2f}..{max(warm):.2f} s). "
              f"HR@{EVAL_K} / NDCG@{EVAL_K}: the {res['n_scored']:,} test pairs (of "
              f"{res['n_test']:,}) whose item is in train, each ranked among the same 1 + "
              f"{EVAL_NEGATIVES} candidates for both libraries (negatives drawn once, seed "
              f"{EVAL_SEED}); fastcf's figures are {check_text} "
              f"fastcf.evaluation.sampled_hit_rate_ndcg(model, train, test, k={EVAL_K}, "
              f"n_negatives={EVAL_NEGATIVES}, seed={EVAL_SEED}) for every fit.", ""]
    epochs = [e for e in NEUMF_CURVE_EPOCHS if e <= res["epochs"]]
    if res["epochs"] not in epochs:
        epochs.append(res["epochs"])
    lines += [f"HR@{EVAL_K} and training loss by epoch (mean over the seeds; evaluated "
              "outside the epoch timing):", "",
              "| library | " + " | ".join(f"epoch {e}" for e in epochs) + " |",
              "|---|" + "---|" * len(epochs)]
    for r in res["rows"]:
        for name, curve in ((f"HR@{EVAL_K}", r["hr_curve_mean"]),
                            ("train loss", r["loss_curve_mean"])):
            lines.append(f"| {r['library']} {name} | "
                         + " | ".join(f"{curve[e - 1]:.4f}" for e in epochs) + " |")
    return "\n".join(lines + _target_lines(res["targets"]))


def format_markdown(results):
    lines = [f"Load average before / after: {results['load_before']} / "
             f"{results['load_after']}; peak RSS of this process "
             f"{results['peak_rss_mb']:.0f} MB. PyTorch {results['torch']['version']} "
             f"({results['torch']['parallel']})."]
    if "mlp" in results:
        lines += ["", "MLP rating model: fastcf MLPRecommender vs PyTorch", "",
                  f"Data: {results['data']}.", "", format_mlp(results["mlp"])]
    if "neumf" in results:
        lines += ["", "NeuMF (implicit feedback, leave-one-out): fastcf NeuMF vs PyTorch", "",
                  format_neumf(results["neumf"])]
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
                        help=f"MovieLens 100K folder: {FOLD}.base and {FOLD}.test (MLP), "
                             "u.data (NeuMF)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs of the MLP section")
    parser.add_argument("--neumf-epochs", type=int, default=20,
                        help="epochs of the NeuMF section")
    parser.add_argument("--skip-mlp", action="store_true",
                        help="run only the NeuMF section")
    parser.add_argument("--skip-neumf", action="store_true", help="run only the MLP section")
    parser.add_argument("--threads", type=int, default=2,
                        help="fastcf n_threads (BLAS) and torch.set_num_threads")
    parser.add_argument("--repeats", type=int, default=3,
                        help="fits per row, seeds 0..repeats-1 (median samples/s, mean "
                             "RMSE / HR@10 / NDCG@10)")
    parser.add_argument("--out", help="directory for results.json and results.md")
    args = parser.parse_args(argv)
    for name in ("epochs", "neumf_epochs", "threads", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.skip_mlp and args.skip_neumf:
        parser.error("--skip-mlp and --skip-neumf together leave nothing to run")
    needed = ([] if args.skip_mlp else [f"{FOLD}.base", f"{FOLD}.test"]) + \
        ([] if args.skip_neumf else ["u.data"])
    for name in needed:
        if not (Path(args.ml100k) / name).is_file():
            parser.error(f"no {name} in {args.ml100k} (--ml100k)")
    return args


def main(argv=None):
    args = parse_args(argv)
    torch = import_torch()
    load_before = load_average()
    results = {"load_before": load_before, "torch": torch_info(torch, args.threads)}
    if not args.skip_mlp:
        split = load_ml100k(args.ml100k)
        print(split.description, flush=True)
        results["data"] = split.description
        results["mlp"] = measure_mlp(torch, split, args.epochs, args.threads, args.repeats)
    if not args.skip_neumf:
        results["neumf"] = measure_neumf(torch, args.ml100k, args.neumf_epochs, args.threads,
                                         args.repeats)
    results["peak_rss_mb"] = peak_rss_mb()
    results["numba_threading_layer"] = numba_openmp_started()
    finish(results, format_markdown, args.out)


if __name__ == "__main__":
    main()
