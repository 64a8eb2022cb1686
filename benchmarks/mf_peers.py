"""Matrix factorization by SGD: fastcf ``MatrixFactorization`` beside LIBMF, cornac and Surprise.

Data: ``fastcf.make_ratings(60_000, 8_000, 1_740_000, seed=0)`` (``--scale``
shrinks every dimension), split by ``fastcf.split.random_split(data, 0.2,
seed=0)``. Every library trains on the same train ratings; its data
preparation (fastcf ``Interactions``, LIBMF's text file, cornac's
``Dataset``, Surprise's ``Trainset``) is built untimed. Test RMSE is taken on
the same test pairs for every library: those whose user and item both occur
in train; predictions clipped to the train rating range.

Hyper-parameters (fastcf, cornac, Surprise): k=100 factors, 20 epochs,
learning rate 0.005, regularisation 0.02 (every parameter), factors drawn
from N(0, 0.1^2), biased model.

Measurements
    (a) synthetic data, training speed and test RMSE:
        - fastcf ``MatrixFactorization(dtype=float32, schedule=...)`` for each
          backend of ``--backends`` (numba, cython): serial (1 thread),
          blocked (1 and 2 threads), hogwild (2 threads). Median of
          ``--repeats`` fresh fits. Two times per fit: the training epochs
          (sum of ``history_[e]["seconds"]``) and the whole ``fit`` wall time
          (with the float32 copy, factor initialisation, the blocked layout);
          updates/s = n_train x 20 / epoch seconds. The kernels are warmed up
          first on tiny data (Numba JIT compile or cache load, untimed,
          reported apart).
        - LIBMF ``mf-train`` (``--libmf PATH``; a binary built with AVX:
          fetch github.com/cjlin1/libmf, in its Makefile switch DFLAG to
          ``-DUSEAVX`` and add ``-mavx`` to CXXFLAGS, ``make``): ``-k 100 -l2
          0.02 -l1 0 -r 0.1 -s S --quiet`` for S = 1 and 2 threads, timed with
          ``-t 20`` and with ``-t 1`` (median of ``--repeats`` each);
          updates/s = 19 x n_train / (time(t=20) - time(t=1)), so reading the
          text file, setting up and writing the model are excluded. A speed
          figure: LIBMF has no biases and its own adaptive learning-rate
          schedule (initial eta ``-r``, its default 0.1), so its model is not
          the others'. Its test RMSE (``mf-predict``) is reported for
          information.
        - cornac ``MF(k=100, max_iter=20, learning_rate=0.005,
          lambda_reg=0.02, use_bias=True, early_stop=False, seed=0)``: a
          given seed makes cornac train on 1 thread; a second row with
          ``seed=None, num_threads=2`` (its lock-free ``prange``). cornac's
          own initialisation has std 0.01 fixed, so both get N(0, 0.1^2)
          factors through ``init_params``. cornac's SGD visits the
          ratings in the order of its ``Dataset`` every epoch (no shuffle):
          it is built from the train triples shuffled once. The 1-thread row
          is ``--repeats`` fits with seeds 0, 1, ... (initial factors, shuffle
          and ``Dataset`` seed), its time their median, its RMSE their mean;
          the 2-thread row one fit. Test predictions by its
          ``score(user_idx, item_idx)``.
        - Surprise ``SVD(n_factors=100, n_epochs=20, lr_all=0.005,
          reg_all=0.02, init_std_dev=0.1, random_state=0)``: one fit.
        Peers' updates/s = n_train x 20 / fit seconds.
        fastcf's ``--repeats`` fits use seeds 0, 1, ... too: times are their
        median, test RMSE their mean (one seed's RMSE moves by +-0.001 here,
        more than the gap between the libraries, so single runs decide
        nothing).
        Targets: fastcf single thread >= 1.0x LIBMF 1-thread updates/s;
        fastcf 2 threads (blocked, hogwild) >= 1.7x fastcf serial updates/s
        (same backend) and >= LIBMF 2-thread updates/s; fastcf mean test RMSE
        no worse than cornac's (1 thread, same seeds) beyond 2 standard errors
        of the difference (the two train the same model with the same
        updates; the per-seed RMSEs are printed).
    (b) MovieLens 100K folds u1..u5 (``--ml100k``): mean test RMSE of fastcf
        ``MatrixFactorization`` (hyper-parameters above, float32, serial)
        beside Surprise ``SVD`` (same); every test pair, unknown ids falling
        back as in Surprise, both clipped to 1..5. Target: fastcf mean RMSE
        <= Surprise's.

Run with fastcf and the peers (the ``[bench]`` extra) installed::

    python benchmarks/mf_peers.py [--scale 1.0] [--repeats 3] [--backends numba,cython] \\
        [--libmf PATH/mf-train] [--skip-cornac] [--skip-surprise] \\
        [--ml100k DIR | --skip-ml100k] [--out DIR]
"""

import argparse
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import (
    finish,
    load_average,
    peak_rss_mb,
    synthetic_data,
)

import fastcf
from fastcf import Interactions, MatrixFactorization
from fastcf.datasets import read_movielens_frame
from fastcf.metrics import rmse
from fastcf.split import random_split

FACTORS, EPOCHS, LR, REG, INIT_STD = 100, 20, 0.005, 0.02, 0.1
LIBMF_ETA = 0.1  # LIBMF's default initial learning rate (its schedule is adaptive)
TINY = (50, 40, 400)  # make_ratings shape of the warm-up
#: (schedule, threads) of the fastcf rows.
CONFIGS = (("serial", 1), ("blocked", 1), ("blocked", 2), ("hogwild", 2))
SPEEDUP_TARGET = 1.7
LIBMF_BUILD = ("fetch github.com/cjlin1/libmf, in its Makefile switch DFLAG to -DUSEAVX and "
               "add -mavx to CXXFLAGS, run make, then pass --libmf PATH/mf-train")
DEFAULT_ML100K = "/work/shared/data/ml-100k"


def mf_params():
    return {"factors": FACTORS, "epochs": EPOCHS, "lr": LR, "reg": REG, "init_std": INIT_STD,
            "biased": True, "dtype": np.float32, "seed": 0}


# ----------------------------------------------------------------------- data
def load_split(scale):
    """Train Interactions, its frame, the shared known test pairs and a description."""
    data, description = synthetic_data(scale)
    train, test = random_split(data, 0.2, seed=0)
    frame = test.to_frame()
    users, items = frame["user"].to_numpy(), frame["item"].to_numpy()
    known = (train.user_index(users, strict=False) >= 0) & \
        (train.item_index(items, strict=False) >= 0)
    pairs = (users[known], items[known], frame["rating"].to_numpy(np.float64)[known])
    description += (f"; random_split(0.2, seed=0): {train.nnz:,} train ratings, "
                    f"{test.nnz:,} test ratings of which {int(known.sum()):,} with a user and "
                    f"an item seen in train (the test pairs of every library)")
    return train, train.to_frame(), pairs, description


def clip(est, low, high):
    return np.clip(np.asarray(est, dtype=np.float64), low, high)


# --------------------------------------------------------------------- fastcf
def warm_up(backend):
    """Fit every (schedule, threads) once on tiny data: JIT compile / cache load, untimed."""
    tiny = fastcf.make_ratings(*TINY, seed=1)
    start = time.perf_counter()
    for schedule, threads in CONFIGS:
        params = {**mf_params(), "factors": 4, "epochs": 2}
        model = MatrixFactorization(**params, schedule=schedule, backend=backend,
                                    n_threads=threads).fit(tiny)
        model.predict(tiny.user_ids[:5], tiny.item_ids[:5])
    return time.perf_counter() - start


def measure_fastcf(train, pairs, backend, schedule, threads, repeats):
    """Median epoch / wall seconds over ``repeats`` fits (seeds 0, 1, ...), mean test RMSE."""
    epoch_times, wall_times, rmses = [], [], []
    for seed in range(repeats):
        model = MatrixFactorization(**{**mf_params(), "seed": seed}, schedule=schedule,
                                    backend=backend, n_threads=threads)
        start = time.perf_counter()
        model.fit(train)
        wall_times.append(time.perf_counter() - start)
        epoch_times.append(sum(e["seconds"] for e in model.history_))
        rmses.append(rmse(pairs[2], model.predict(pairs[0], pairs[1])))
    return {"epochs_s": float(np.median(epoch_times)), "wall_s": float(np.median(wall_times)),
            "rmse": float(np.mean(rmses)), "rmse_all": rmses,
            "epochs_s_all": epoch_times, "wall_s_all": wall_times,
            "train_rmse_last_epoch": model.history_[-1]["train_rmse"]}


# ---------------------------------------------------------------------- LIBMF
def _run(cmd):
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): "
                           f"{proc.stderr.strip() or proc.stdout.strip()}")
    return seconds, proc.stdout


def _supports_quiet(binary):
    proc = subprocess.run([binary], capture_output=True, text=True)
    return "--quiet" in proc.stdout + proc.stderr


def measure_libmf(binary, train, pairs, repeats, threads_list=(1, 2)):
    """LIBMF training speed per thread count (19 iterations: t=20 minus t=1) + test RMSE."""
    binary = os.path.abspath(binary)
    predict = os.path.join(os.path.dirname(binary), "mf-predict")
    quiet = ["--quiet"] if _supports_quiet(binary) else []
    low, high = train.rating_range
    n_train = train.nnz
    tmp = tempfile.mkdtemp(prefix="fastcf_mf_libmf_")
    out = {"binary": binary, "quiet": bool(quiet), "rows": []}
    try:
        import pandas as pd

        train_txt, test_txt = os.path.join(tmp, "train.txt"), os.path.join(tmp, "test.txt")
        start = time.perf_counter()
        pd.DataFrame({"u": train.entry_users(), "i": train.by_user.indices,
                      "r": train.by_user.data}).to_csv(train_txt, sep=" ", header=False,
                                                       index=False)
        out["write_train_s"] = time.perf_counter() - start
        pd.DataFrame({"u": train.user_index(pairs[0]), "i": train.item_index(pairs[1]),
                      "r": pairs[2]}).to_csv(test_txt, sep=" ", header=False, index=False)
        for threads in threads_list:
            def train_cmd(iters, model, threads=threads):
                return [binary, "-k", str(FACTORS), "-t", str(iters), "-l2", str(REG),
                        "-l1", "0", "-r", str(LIBMF_ETA), "-s", str(threads), *quiet,
                        train_txt, model]

            model = os.path.join(tmp, f"model_s{threads}")
            t20 = [_run(train_cmd(EPOCHS, model))[0] for _ in range(repeats)]
            t1 = [_run(train_cmd(1, os.path.join(tmp, "model_t1")))[0] for _ in range(repeats)]
            t20_m, t1_m = float(np.median(t20)), float(np.median(t1))
            train_s = t20_m - t1_m  # EPOCHS - 1 iterations
            row = {"threads": threads, "t20_s": t20_m, "t1_s": t1_m, "t20_all": t20,
                   "t1_all": t1, "iterations_s": train_s,
                   "epochs_s": train_s * EPOCHS / (EPOCHS - 1),
                   "updates_per_s": (EPOCHS - 1) * n_train / train_s if train_s > 0 else
                   float("nan")}
            if os.path.exists(predict):
                pred_txt = os.path.join(tmp, f"pred_s{threads}.txt")
                _, text = _run([predict, "-e", "0", test_txt, model, pred_txt])
                found = re.search(r"RMSE\s*=\s*([0-9.eE+-]+)", text)
                row["rmse_printed"] = float(found.group(1)) if found else None
                est = np.loadtxt(pred_txt, dtype=np.float64, ndmin=1)
                row["rmse"] = rmse(pairs[2], clip(est, low, high))
                row["rmse_unclipped"] = rmse(pairs[2], est)
            out["rows"].append(row)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


# --------------------------------------------------------------------- cornac
def measure_cornac(train, frame, pairs, repeats):
    import cornac

    low, high = train.rating_range

    def fit(seed, threads):
        rng = np.random.default_rng(0 if seed is None else seed)
        order = rng.permutation(len(frame))
        triples = list(zip(frame["user"].to_numpy()[order].tolist(),
                           frame["item"].to_numpy()[order].tolist(),
                           frame["rating"].to_numpy(np.float64)[order].tolist()))
        dataset = cornac.data.Dataset.from_uir(triples, seed=0 if seed is None else seed)
        del triples
        u0 = rng.normal(0.0, INIT_STD, (dataset.num_users, FACTORS)).astype(np.float32)
        v0 = rng.normal(0.0, INIT_STD, (dataset.num_items, FACTORS)).astype(np.float32)
        uid = np.array([dataset.uid_map[u] for u in pairs[0].tolist()], dtype=np.int64)
        iid = np.array([dataset.iid_map[i] for i in pairs[1].tolist()], dtype=np.int64)
        model = cornac.models.MF(k=FACTORS, max_iter=EPOCHS, learning_rate=LR, lambda_reg=REG,
                                 use_bias=True, early_stop=False, verbose=False, seed=seed,
                                 num_threads=threads, init_params={"U": u0, "V": v0})
        start = time.perf_counter()
        model.fit(dataset)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        est = np.fromiter((model.score(u, i) for u, i in zip(uid.tolist(), iid.tolist())),
                          dtype=np.float64, count=len(uid))
        return {"threads": model.num_threads, "fit_s": fit_s,
                "score_s": time.perf_counter() - start,
                "rmse": rmse(pairs[2], clip(est, low, high))}

    seeded = [fit(seed, 1) for seed in range(repeats)]
    rows = [{"threads": 1, "setting": f"seeds 0..{repeats - 1}",
             "fit_s": float(np.median([r["fit_s"] for r in seeded])),
             "fit_s_all": [r["fit_s"] for r in seeded],
             "rmse": float(np.mean([r["rmse"] for r in seeded])),
             "rmse_all": [r["rmse"] for r in seeded]},
            {**fit(None, 2), "setting": "seed=None"}]
    return {"version": cornac.__version__, "rows": rows}


# ------------------------------------------------------------------- Surprise
def surprise_trainset(frame, rating_scale):
    import surprise

    reader = surprise.Reader(rating_scale=rating_scale)
    return surprise.Dataset.load_from_df(frame[["user", "item", "rating"]],
                                         reader).build_full_trainset()


def surprise_svd():
    import surprise

    return surprise.SVD(n_factors=FACTORS, n_epochs=EPOCHS, lr_all=LR, reg_all=REG,
                        init_std_dev=INIT_STD, biased=True, random_state=0)


def measure_surprise(train, frame, pairs):
    trainset = surprise_trainset(frame, train.rating_range)
    algo = surprise_svd()
    start = time.perf_counter()
    algo.fit(trainset)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    est = np.array([algo.predict(u, i).est for u, i in zip(pairs[0].tolist(),
                                                            pairs[1].tolist())])
    return {"threads": 1, "fit_s": fit_s, "predict_s": time.perf_counter() - start,
            "rmse": rmse(pairs[2], est)}


# ------------------------------------------------------------------ synthetic
def measure_synthetic(args):
    train, frame, pairs, description = load_split(args.scale)
    n_train = train.nnz
    updates = n_train * EPOCHS
    res = {"data": description, "n_train": n_train, "n_test_pairs": len(pairs[2]),
           "warm_up_s": {}, "rows": []}
    for backend in args.backends:
        res["warm_up_s"][backend] = warm_up(backend)
    for backend in args.backends:
        for schedule, threads in CONFIGS:
            m = measure_fastcf(train, pairs, backend, schedule, threads, args.repeats)
            res["rows"].append({"library": f"fastcf {backend}", "backend": backend,
                                "setting": schedule, "threads": threads, **m,
                                "updates_per_s": updates / m["epochs_s"],
                                "fastcf": True})
            print(f"  fastcf {backend} {schedule} {threads}t: epochs {m['epochs_s']:.3f} s, "
                  f"wall {m['wall_s']:.3f} s, RMSE {m['rmse']:.4f}", flush=True)
    libmf = None
    if args.libmf:
        libmf = measure_libmf(args.libmf, train, pairs, args.repeats)
        for r in libmf["rows"]:
            res["rows"].append({"library": "LIBMF", "setting": f"-r {LIBMF_ETA:g} (adaptive), "
                                "no biases", "threads": r["threads"],
                                "epochs_s": r["epochs_s"], "wall_s": r["t20_s"],
                                "updates_per_s": r["updates_per_s"], "rmse": r.get("rmse"),
                                "libmf": r})
            print(f"  LIBMF {r['threads']}t: t=20 {r['t20_s']:.3f} s, t=1 {r['t1_s']:.3f} s",
                  flush=True)
    res["libmf"] = libmf
    if not args.skip_cornac:
        cornac_res = measure_cornac(train, frame, pairs, args.repeats)
        res["cornac_version"] = cornac_res["version"]
        for r in cornac_res["rows"]:
            res["rows"].append({"library": "cornac MF", "setting": r["setting"],
                                "threads": r["threads"], "epochs_s": None,
                                "wall_s": r["fit_s"], "updates_per_s": updates / r["fit_s"],
                                "rmse": r["rmse"], "cornac": r})
            print(f"  cornac {r['threads']}t: fit {r['fit_s']:.3f} s", flush=True)
    if not args.skip_surprise:
        s = measure_surprise(train, frame, pairs)
        res["rows"].append({"library": "Surprise SVD", "setting": "random_state=0",
                            "threads": 1, "epochs_s": None, "wall_s": s["fit_s"],
                            "updates_per_s": updates / s["fit_s"], "rmse": s["rmse"],
                            "surprise": s})
        print(f"  Surprise: fit {s['fit_s']:.3f} s", flush=True)
    add_ratios_and_targets(res)
    return res


def _find(rows, library, **where):
    for r in rows:
        if r["library"] == library and all(r.get(k) == v for k, v in where.items()):
            return r
    return None


def rmse_gap(ours, theirs):
    """(mean difference, 2 standard errors of it) of two libraries' per-seed RMSEs.

    Both train the same model by the same SGD; only their random streams
    differ, so a single seed's RMSE moves more than the libraries do.
    """
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    se = np.sqrt(ours.var(ddof=1) / len(ours) + theirs.var(ddof=1) / len(theirs)) \
        if min(len(ours), len(theirs)) > 1 else 0.0
    return float(ours.mean() - theirs.mean()), float(2 * se)


def add_ratios_and_targets(res):
    rows = res["rows"]
    libmf1 = _find(rows, "LIBMF", threads=1)
    libmf2 = _find(rows, "LIBMF", threads=2)
    cornac1 = _find(rows, "cornac MF", threads=1)
    serial = {r["backend"]: r for r in rows if r.get("fastcf") and r["setting"] == "serial"}
    blocked1 = {r["backend"]: r for r in rows
                if r.get("fastcf") and r["setting"] == "blocked" and r["threads"] == 1}
    reference_serial = serial.get("numba") or next(iter(serial.values()), None)
    targets = []
    for r in rows:
        r["vs_libmf1"] = r["updates_per_s"] / libmf1["updates_per_s"] if libmf1 else None
        ref = serial.get(r.get("backend")) or reference_serial
        r["vs_serial"] = r["updates_per_s"] / ref["updates_per_s"] if ref else None
        if not r.get("fastcf"):
            continue
        name = f"fastcf {r['backend']} {r['setting']} {r['threads']} thread(s)"
        if r["threads"] == 1 and libmf1:
            targets.append({"target": f"{name}: updates/s >= 1.0x LIBMF 1 thread",
                            "value": f"{r['vs_libmf1']:.2f}x", "met": r["vs_libmf1"] >= 1.0})
        if r["threads"] == 2:
            b1 = blocked1.get(r["backend"])
            scaling = (f"; vs blocked 1 thread {r['updates_per_s'] / b1['updates_per_s']:.2f}x"
                       if b1 else "")
            targets.append({"target": f"{name}: updates/s >= {SPEEDUP_TARGET}x fastcf serial "
                                      f"({r['backend']}, 1 thread)",
                            "value": f"{r['vs_serial']:.2f}x{scaling}",
                            "met": r["vs_serial"] >= SPEEDUP_TARGET})
            if libmf2:
                ratio = r["updates_per_s"] / libmf2["updates_per_s"]
                targets.append({"target": f"{name}: updates/s >= LIBMF 2 threads",
                                "value": f"{ratio:.2f}x", "met": ratio >= 1.0})
        if cornac1:
            diff, noise = rmse_gap(r["rmse_all"], cornac1["cornac"]["rmse_all"])
            targets.append({"target": f"{name}: mean test RMSE no worse than cornac MF's "
                                      "(1 thread, same seeds) beyond 2 standard errors",
                            "value": f"{r['rmse']:.5f} vs {cornac1['rmse']:.5f} (difference "
                                     f"{diff:+.5f}, 2 SE {noise:.5f})",
                            "met": diff <= noise})
    res["targets"] = targets


# -------------------------------------------------------------------- ML-100K
def measure_ml100k(folder):
    folder = Path(folder)
    folds = []
    for fold in range(1, 6):
        base = read_movielens_frame(folder / f"u{fold}.base")
        test = read_movielens_frame(folder / f"u{fold}.test")
        train = Interactions.from_frame(base, rating="rating")
        users, items = test["user"].to_numpy(), test["item"].to_numpy()
        truth = test["rating"].to_numpy(np.float64)
        model = MatrixFactorization(**mf_params(), schedule="serial", n_threads=1)
        start = time.perf_counter()
        model.fit(train)
        fit_f = time.perf_counter() - start
        est_f = model.predict(users, items)
        trainset = surprise_trainset(base, (1, 5))
        algo = surprise_svd()
        start = time.perf_counter()
        algo.fit(trainset)
        fit_s = time.perf_counter() - start
        est_s = np.array([algo.predict(u, i).est for u, i in zip(users.tolist(),
                                                                  items.tolist())])
        folds.append({"fold": f"u{fold}", "n_test": len(truth),
                      "fastcf_rmse": rmse(truth, clip(est_f, 1, 5)),
                      "surprise_rmse": rmse(truth, clip(est_s, 1, 5)),
                      "fastcf_fit_s": fit_f, "surprise_fit_s": fit_s})
        print(f"  ml-100k u{fold}: RMSE fastcf {folds[-1]['fastcf_rmse']:.4f}, Surprise "
              f"{folds[-1]['surprise_rmse']:.4f}", flush=True)
    mean_f = float(np.mean([f["fastcf_rmse"] for f in folds]))
    mean_s = float(np.mean([f["surprise_rmse"] for f in folds]))
    return {"folder": str(folder), "folds": folds, "fastcf_mean_rmse": mean_f,
            "surprise_mean_rmse": mean_s, "met": mean_f <= mean_s}


# ------------------------------------------------------------------- report
def _met(ok):
    return "met" if ok else "NOT met"


def _f(value, fmt):
    return "—" if value is None else format(value, fmt)


def _ratio(value):
    return "—" if value is None else f"{value:.2f}x"


def _note(r):
    if r.get("fastcf"):
        spread = f"; RMSE of the seeds {', '.join(f'{v:.4f}' for v in r['rmse_all'])}"
        return f"epoch s of the runs: {', '.join(f'{t:.2f}' for t in r['epochs_s_all'])}{spread}"
    if r["library"] == "LIBMF":
        m = r["libmf"]
        text = (f"t=20 {m['t20_s']:.3f} s, t=1 {m['t1_s']:.3f} s (wall, medians); epochs s = "
                f"(t20 - t1) x 20/19")
        if m.get("rmse") is not None:
            text += (f"; RMSE unclipped {m['rmse_unclipped']:.4f} (mf-predict: "
                     f"{_f(m.get('rmse_printed'), '.4f')})")
        return text
    if r["library"] == "cornac MF":
        m = r["cornac"]
        if "rmse_all" in m:
            return (f"fit s of the seeds: {', '.join(f'{t:.2f}' for t in m['fit_s_all'])}; "
                    f"RMSE of the seeds {', '.join(f'{v:.4f}' for v in m['rmse_all'])}; "
                    "no per-epoch shuffle (triples shuffled once)")
        return "one fit; no per-epoch shuffle (triples shuffled once)"
    return "one fit"


def format_markdown(results):
    syn = results["synthetic"]
    warm = ", ".join(f"{b} {s:.2f} s" for b, s in syn["warm_up_s"].items())
    lines = [f"Data: {syn['data']}.", "",
             f"Hyper-parameters (fastcf, cornac, Surprise): k={FACTORS}, {EPOCHS} epochs, "
             f"lr {LR}, reg {REG}, init N(0, {INIT_STD}^2), biased; fastcf float32, seeds 0.."
             f"{results['repeats'] - 1}: median times and mean test RMSE of "
             f"{results['repeats']} fits (kernels warmed up first on tiny data, untimed: "
             f"{warm}). Load average before / after: {results['load_before']} / "
             f"{results['load_after']}; peak RSS of this process {results['peak_rss_mb']:.0f} "
             "MB.", "",
             "(a) synthetic: training speed and test RMSE", "",
             "| library | schedule / setting | threads | epochs s | fit wall s | "
             "M updates/s | vs LIBMF 1 thread | vs fastcf serial | test RMSE | notes |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in syn["rows"]:
        lines.append(f"| {r['library']} | {r['setting']} | {r['threads']} | "
                     f"{_f(r['epochs_s'], '.3f')} | {r['wall_s']:.3f} | "
                     f"{r['updates_per_s'] / 1e6:.2f} | {_ratio(r['vs_libmf1'])} | "
                     f"{_ratio(r['vs_serial'])} | {_f(r['rmse'], '.4f')} | {_note(r)} |")
    lines += ["", f"updates/s = n_train ({syn['n_train']:,}) x {EPOCHS} / time. fastcf: the "
              "time is the training epochs (sum of history_[e]['seconds']); its fit wall time "
              "(float32 copy, initial factors, blocked layout, epochs) is shown beside it. "
              "LIBMF: 19 x n_train / (time(-t 20) - time(-t 1)), wall times of mf-train, so "
              "reading the text file, setup and writing the model are excluded; its learning "
              f"rate is its own adaptive schedule (initial -r {LIBMF_ETA:g}, its default) and "
              "its model has no biases: a speed figure, its RMSE for information. cornac and "
              "Surprise: the fit wall time. 'vs fastcf serial': fastcf rows against the serial "
              "1-thread run of the same backend, peers against fastcf numba serial. Test RMSE "
              f"on the same {syn['n_test_pairs']:,} test pairs, predictions clipped to the "
              "train rating range; fastcf and cornac (1 thread): the mean over the seeds."]
    if syn["libmf"] is None:
        lines += ["", f"LIBMF skipped (no --libmf): to include it, {LIBMF_BUILD}."]
    lines += ["", "Targets:", ""]
    for t in syn["targets"]:
        lines.append(f"- {t['target']}: {t['value']} -- {_met(t['met'])}")
    if not syn["targets"]:
        lines.append("- none evaluated (LIBMF and cornac skipped)")
    ml = results.get("ml100k")
    lines += ["", "(b) MovieLens 100K folds u1..u5: test RMSE (every test pair, clipped to "
              "1..5), one fit each", ""]
    if ml is None:
        lines.append("skipped")
    elif ml.get("error"):
        lines.append(f"skipped: {ml['error']}")
    else:
        lines += ["| fold | test ratings | fastcf RMSE | Surprise SVD RMSE | fastcf fit s | "
                  "Surprise fit s |", "|---|---|---|---|---|---|"]
        for f in ml["folds"]:
            lines.append(f"| {f['fold']} | {f['n_test']:,} | {f['fastcf_rmse']:.4f} | "
                         f"{f['surprise_rmse']:.4f} | {f['fastcf_fit_s']:.3f} | "
                         f"{f['surprise_fit_s']:.3f} |")
        lines += [f"| mean | | {ml['fastcf_mean_rmse']:.4f} | {ml['surprise_mean_rmse']:.4f} "
                  "| | |", "",
                  f"fastcf MatrixFactorization (float32, serial, backend auto, seed 0) vs "
                  f"Surprise SVD (random_state=0), same hyper-parameters. Target fastcf mean "
                  f"RMSE <= Surprise's: {ml['fastcf_mean_rmse']:.4f} vs "
                  f"{ml['surprise_mean_rmse']:.4f} -- {_met(ml['met'])}"]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply the (users, items, ratings) shape by this factor "
                             "(0.05 for a quick run)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="fastcf fits (and LIBMF runs) per figure; the median is reported")
    parser.add_argument("--backends", default="numba,cython",
                        help="comma-separated fastcf backends to time")
    parser.add_argument("--libmf", default=None,
                        help=f"path of LIBMF's mf-train (skipped without it; to build: "
                             f"{LIBMF_BUILD})")
    parser.add_argument("--skip-cornac", action="store_true")
    parser.add_argument("--skip-surprise", action="store_true")
    parser.add_argument("--ml100k", default=DEFAULT_ML100K,
                        help="MovieLens 100K folder with u1..u5.base/.test")
    parser.add_argument("--skip-ml100k", action="store_true")
    parser.add_argument("--out", help="directory for results.json and results.md")
    args = parser.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    return args


def main(argv=None):
    args = parse_args(argv)
    load_before = load_average()
    synthetic = measure_synthetic(args)
    ml100k = None
    if not args.skip_ml100k:
        if args.skip_surprise:
            ml100k = {"error": "needs Surprise (--skip-surprise given)"}
        elif not (Path(args.ml100k) / "u1.base").is_file():
            ml100k = {"error": f"no u1.base in {args.ml100k} (--ml100k)"}
        else:
            ml100k = measure_ml100k(args.ml100k)
    results = {"repeats": args.repeats, "scale": args.scale, "synthetic": synthetic,
               "ml100k": ml100k, "load_before": load_before, "peak_rss_mb": peak_rss_mb()}
    finish(results, format_markdown, args.out)


if __name__ == "__main__":
    main()
