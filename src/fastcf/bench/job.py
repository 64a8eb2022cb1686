"""The benchmark job behind ``fastcf benchmark``.

Protocol (DESIGN.md): one split, every algorithm and every installed peer on
the same data with the same hyper-parameters in the same run; each time is the
median of ``repeats`` runs; every timed fastcf call is warmed up first by the
same call, untimed, and the seconds Numba spent compiling in the warm-ups are
reported apart (:mod:`fastcf.bench.timing`); speed is quoted as a ratio
against the peer.
"""

import logging
import os
import time
from dataclasses import asdict, dataclass

import numpy as np

from .._parallel import resolve_n_threads
from .._validation import check_int
from ..metrics import mae, rmse
from .algorithms import (
    FASTCF_ALGORITHMS,
    IMPLICIT_ALGORITHMS,
    KNN_CONFIGS,
    MF_PARAMS,
    MLP_PARAMS,
    NEUMF_PARAMS,
    SIMILARITY_KINDS,
    SVDPP_PARAMS,
    K,
    N,
    make_model,
    ranking,
)
from .load import DEFAULT_DATA, load_data
from .ranking import ranking_jobs, ranking_names, ranking_results, ranking_split, run_ranking_job
from .rerank import run_rerank_tradeoff
from .scaling import fit_scaling, learning_curves
from .timing import TimedRow, speedups, warm_median_time

logger = logging.getLogger(__name__)


@dataclass
class Row(TimedRow):
    """One line of the results table (NaN: not measured for this algorithm / library)."""

    predict_s: float = float("nan")
    rmse: float = float("nan")
    mae: float = float("nan")
    precision: float = float("nan")  # full ranking, top-10, test items relevant
    ndcg: float = float("nan")
    hit_rate_sampled: float = float("nan")  # implicit models: 1 + 99 sampled candidates
    ndcg_sampled: float = float("nan")
    n_test: int = 0

    @property
    def predictions_per_s(self):
        ok = self.predict_s > 0 and np.isfinite(self.predict_s)
        return self.n_test / self.predict_s if ok else float("nan")


def _run_fastcf(name, train, test, n_threads, repeats):
    """The row of fastcf's ``name``: every timed call warmed up by itself first."""
    from ..evaluation import recommended_indices, sampled_hit_rate_ndcg

    jit_s = []

    def timed(fn):
        seconds, result, compiling = warm_median_time(fn, repeats)
        jit_s.append(compiling)
        return seconds, result

    fit_s, model = timed(lambda: make_model(name, n_threads).fit(train))
    row = Row(name, "fastcf", fit_s)
    if name not in SIMILARITY_KINDS:
        test_frame = test.to_frame()
        users, items = test_frame["user"].to_numpy(), test_frame["item"].to_numpy()
        row.predict_s, pred = timed(lambda: model.predict(users, items))
        row.n_test = len(users)
        if name in IMPLICIT_ALGORITHMS:
            row.hit_rate_sampled, row.ndcg_sampled = sampled_hit_rate_ndcg(
                model, train, test, k=N, n_negatives=99)
        else:
            truth = test_frame["rating"].to_numpy()
            row.rmse, row.mae = rmse(truth, pred), mae(truth, pred)
        ranked, n, score = ranking(train, test)
        row.recommend_s, (rec_items, rec_scores) = timed(
            lambda: model.recommend(train.user_ids[ranked], n))
        recommended = recommended_indices(model, rec_items, rec_scores)
        for key, value in score(recommended).items():
            setattr(row, key, value)
    row.jit_s = float(sum(jit_s))
    return row


# ------------------------------------------------------------------ peers
def _peer_runners():
    """algorithm -> {peer library: runner(train, test, repeats, n_threads) -> dict or None}."""
    from .peers import cornac, implicit, lenskit, surprise, torch

    return {
        "baseline": {"surprise": surprise.surprise_baseline},
        "userknn": {"surprise": surprise.surprise_knn(KNN_CONFIGS["userknn"], K)},
        "itemknn": {"surprise": surprise.surprise_knn(KNN_CONFIGS["itemknn"], K)},
        "itemknn_cosine": {"implicit": implicit.implicit_cosine_recommend(K, ranking)},
        "itemknn_centered": {"lenskit": lenskit.lenskit_itemknn(20, 1e-6)},
        "mf": {"surprise": surprise.surprise_svd(MF_PARAMS), "cornac": cornac.cornac_mf(MF_PARAMS)},
        "coclustering": {"surprise": surprise.surprise_default("CoClustering", random_state=0)},
        "nmf": {"surprise": surprise.surprise_default("NMF", random_state=0)},
        "normal": {"surprise": surprise.surprise_default("NormalPredictor")},
        "svdpp": {"surprise": surprise.timed_once(surprise.surprise_svd(SVDPP_PARAMS,
                                                                          "SVDpp"))},
        "mlp": {"torch": torch.torch_model("mlp", MLP_PARAMS)},
        "neumf": {"torch": torch.torch_model("neumf", NEUMF_PARAMS)},
        "itemsim_pearson": {"surprise": surprise.surprise_pearson_item_fit,
                            "implicit": implicit.implicit_cosine_fit(K)},
        "itemsim_cosine": {"implicit": implicit.implicit_cosine_fit(K)},
        "slopeone": {"surprise": surprise.surprise_slopeone},
    }


PEER_MODULES = {"surprise": "surprise", "implicit": "implicit", "lenskit": "lenskit",
                "cornac": "cornac", "torch": "torch"}
#: What each peer row runs, for the notes under the table.
PEER_NOTES = {
    "surprise": "Surprise: BaselineOnly (ALS), KNNBasic / KNNWithMeans, SVD, SVDpp, NMF, "
                "NormalPredictor, CoClustering, SlopeOne (defaults; SVDpp timed once, not the "
                "median of the repeats); KNNBasic(pearson, item) fit for itemsim_pearson (a "
                "dense similarity, one thread)",
    "implicit": "implicit: CosineRecommender(K=41) (the item itself + 40), fit and "
                "recommend(filter_already_liked_items=True)",
    "lenskit": "LensKit: ItemKNNScorer(max_nbrs=20, save_nbrs=None, min_sim=1e-6, explicit) "
               "in a predict pipeline without fallback (the training mean where it cannot "
               "score)",
    "cornac": "cornac: MF (its Cython SGD, seeded: one thread), the same initial factors",
    "torch": "PyTorch: the same network, Adam, batches and epochs, in a fresh process "
             "(beside Numba's OpenMP pool it runs ~10x slower)",
}


def installed_peers():
    """Peer libraries importable here."""
    import importlib.util

    return [name for name, module in PEER_MODULES.items()
            if importlib.util.find_spec(module) is not None]


def _resolve_peers(peers):
    if peers == "none":
        return []
    if peers == "auto":
        return installed_peers()
    wanted = [p.strip() for p in peers.split(",") if p.strip()]
    unknown = [p for p in wanted if p not in PEER_MODULES]
    if unknown:
        raise ValueError(f"peers {unknown} unknown; known: {sorted(PEER_MODULES)}.")
    missing = [p for p in wanted if p not in installed_peers()]
    if missing:
        raise ValueError(f"peers {missing} are not installed; pip install 'fastcf[bench]'.")
    return wanted


# ---------------------------------------------------------------------- driver
def run_benchmark(data=DEFAULT_DATA, algorithms=None, peers="auto", n_threads=None,
                  repeats=3, seed=0, test_size=0.2, progress=True, scaling=True,
                  ranking=True, ranking_repeats=1, rerank=False):
    """Run the benchmark and return its results as a dict (see ``format_markdown``).

    Parameters
    ----------
    data : str
        ``synthetic:<size>`` or a MovieLens file or folder (:func:`load_data`).
    algorithms : list of str, optional
        From :data:`FASTCF_ALGORITHMS` (the main table) and the ranking
        table's rows (:func:`fastcf.bench.ranking.ranking_names`); default all.
    peers : str
        ``"auto"`` (every installed peer), ``"none"`` or a comma-separated list.
    n_threads : int, optional
        Threads for fastcf (default all).
    repeats : int >= 1
        Timed runs per figure, after one untimed warm-up run (fastcf); the
        median is reported.
    seed : int
        Seed of the synthetic data and of the split.
    test_size : float
        Share of the ratings held out.
    progress : bool
        Show a progress bar.
    scaling : bool
        Also measure the learning curves and the thread / data-size scaling.
    ranking : bool
        Also run the ranking protocol (:mod:`fastcf.bench.ranking`: top-10
        from implicit feedback, a split within users) on the same data: the
        ``"ranking"`` entry of the results.
    ranking_repeats : int >= 1
        Timed runs per figure of the ranking table (after the warm-up, for
        fastcf). One by default: that table is about accuracy, and NeuMF's
        and cornac's fits would take most of the default run's time.
    rerank : bool
        Also measure accuracy against diversity on the ranking split
        (:mod:`fastcf.bench.rerank`: ALS re-ranked by MMR and DPP sweeps): the
        ``"rerank"`` entry of the results. Off by default.
    """
    from tqdm.auto import tqdm

    from ..split import random_split

    repeats = check_int("repeats", repeats, min_value=1)
    ranking_repeats = check_int("ranking_repeats", ranking_repeats, min_value=1)
    if n_threads is not None:
        resolve_n_threads(n_threads)  # refused before any work, not by the first model
    known = list(dict.fromkeys([*FASTCF_ALGORITHMS, *ranking_names()]))
    selected = known if algorithms is None else list(algorithms)
    unknown = [a for a in selected if a not in known]
    if unknown:
        raise ValueError(f"algorithms {unknown} unknown; known: {known}.")
    algorithms = [a for a in selected if a in FASTCF_ALGORITHMS]
    peer_names = _resolve_peers(peers)
    runners = _peer_runners() if peer_names else {}
    interactions, description = load_data(data, seed=seed, warm_up=True)
    train, test = random_split(interactions, test_size, seed=seed)
    _ = train.by_item  # data preparation is not timed (Surprise's trainset is built untimed too)
    jobs = [(a, "fastcf") for a in algorithms]
    jobs += [(a, p) for a in algorithms for p in peer_names if p in runners.get(a, {})]
    ranked = ranking_jobs(selected, peer_names) if ranking else []
    if ranked or rerank:
        rank_train, rank_test = ranking_split(interactions, seed)
    jobs += [(a, ("ranking", p)) for a, p in ranked]
    jobs += [("rerank", "fastcf")] if rerank else []
    jobs += [("curves", "fastcf"), ("scaling", "fastcf")] if scaling else []
    rows, ranking_rows, curves, scaled, tradeoff = [], [], {}, {}, None
    for algorithm, library in tqdm(jobs, desc="benchmark", disable=not progress):
        logger.info("running %s / %s", algorithm, library)
        started = time.perf_counter()
        if isinstance(library, tuple):
            row = run_ranking_job(algorithm, library[1], rank_train, rank_test, n_threads,
                                  ranking_repeats, seed)
            if row is not None:
                ranking_rows.append(row)
        elif algorithm == "rerank":
            tradeoff = run_rerank_tradeoff(rank_train, rank_test, n_threads, seed)
        elif algorithm == "curves":
            curves = learning_curves(algorithms, train, test, n_threads)
        elif algorithm == "scaling":
            scaled = fit_scaling(algorithms, train, n_threads, repeats, seed)
        elif library == "fastcf":
            rows.append(_run_fastcf(algorithm, train, test, n_threads, repeats))
        else:
            fields = runners[algorithm][library](train, test, repeats, n_threads)
            if fields is not None:
                rows.append(Row(algorithm, library, n_test=test.nnz, **fields))
        logger.info("%s / %s took %.1f s", algorithm, library, time.perf_counter() - started)
    speedups(rows, ("fit", "predict", "recommend"))
    return {
        "data": description,
        "train": len(train),
        "test": len(test),
        "repeats": repeats,
        "n_threads": n_threads,
        "machine": _machine(),
        "peers": peer_names,
        "rows": [{**asdict(r), "predictions_per_s": r.predictions_per_s} for r in rows],
        "learning_curves": curves,
        "scaling": scaled,
        "ranking": ranking_results(ranking_rows, rank_train, rank_test, seed,
                                   ranking_repeats) if ranked else None,
        "rerank": tradeoff,
    }


def _machine():
    import platform

    return {"cpus": os.cpu_count(), "machine": platform.machine(),
            "python": platform.python_version(), "system": platform.system()}
