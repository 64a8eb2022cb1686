"""The ranking protocol of ``fastcf benchmark``: top-10 from implicit feedback, its own table.

Protocol (DESIGN.md, "Ranking protocol"; Microsoft Recommenders' ML-100k
table): per user a random 75 % of their entries to train and 25 % to test
(:func:`fastcf.split.user_split`, seeded), every entry an interaction (the
ratings dropped), the full catalogue ranked for every test user the training
data knows with their training items excluded, top-10; NDCG@10, P@10,
recall@10 and catalogue coverage computed by fastcf's metric functions on
every library's lists (:func:`fastcf.bench.algorithms.ranking`). Fit and
recommend seconds are medians of ``repeats`` runs; each fastcf call is warmed
up by itself first (JIT seconds apart), as in the main table.
"""

from dataclasses import asdict, dataclass
from functools import partial

from .algorithms import RANKING_PROTOCOL_ALGORITHMS, K, N, ranking
from .timing import TimedRow, speedups, warm_median_time

#: Share of each user's entries held out.
RANKING_TEST_SIZE = 0.25
#: What the table reports, at N (10).
RANKING_METRICS = ("ndcg", "precision", "recall", "coverage")
#: The peers' hyper-parameters (Microsoft Recommenders' table for cornac's BPR).
IMPLICIT_ALS_PARAMS = {"factors": 64, "regularization": 0.01, "alpha": 1.0, "iterations": 15}
#: implicit's BPR at the settings of cornac's (and fastcf's bpr row), so the three compare.
IMPLICIT_BPR_PARAMS = {"factors": 200, "iterations": 100, "learning_rate": 0.01,
                       "regularization": 0.001}
CORNAC_BPR_PARAMS = {"k": 200, "max_iter": 100, "learning_rate": 0.01, "lambda_reg": 0.001}
#: What each peer runs in this table, for the notes under it.
RANKING_PEER_NOTES = {
    "implicit": "implicit (CPU): AlternatingLeastSquares(factors=64, regularization=0.01, "
                "alpha=1, iterations=15) as als, BayesianPersonalizedRanking(factors=200, "
                "iterations=100, learning_rate=0.01, regularization=0.001) as "
                f"bpr, CosineRecommender(K={K + 1}) and BM25Recommender(K={K + 1}, K1=1.2, "
                "B=0.75) as itemknn_cosine / itemknn_bm25; recommend(filter_already_liked_"
                "items=True) for all ranked users at once",
    "cornac": "cornac: BPR(k=200, max_iter=100, learning_rate=0.01, lambda_reg=0.001) as bpr "
              "(seeded: one thread); recommend(remove_seen=True) user by user",
}


@dataclass
class RankingRow(TimedRow):
    """One line of the ranking table (NaN: not measured)."""

    ndcg: float = float("nan")
    precision: float = float("nan")
    recall: float = float("nan")
    coverage: float = float("nan")


def ranking_peer_runners():
    """algorithm -> {peer: runner(train, test, repeats, n_threads, seed) -> dict}."""
    from .peers import cornac, implicit

    scorer = partial(ranking, metrics=RANKING_METRICS)
    return {
        "als": {"implicit": implicit.implicit_als_recommend(IMPLICIT_ALS_PARAMS, scorer)},
        "bpr": {"implicit": implicit.implicit_bpr_recommend(IMPLICIT_BPR_PARAMS, scorer),
                "cornac": cornac.cornac_bpr(CORNAC_BPR_PARAMS, scorer)},
        "itemknn_cosine": {"implicit": implicit.implicit_cosine_recommend(K, scorer)},
        "itemknn_bm25": {"implicit": implicit.implicit_bm25_recommend(K, scorer)},
    }


def ranking_names():
    """Every row name of the ranking table: fastcf's, then the peers' own."""
    names = list(RANKING_PROTOCOL_ALGORITHMS)
    return names + [name for name in ranking_peer_runners() if name not in names]


def ranking_split(data, seed=0):
    """``(train, test)`` of the protocol: implicit copies of ``data`` (side features kept),
    split within users."""
    from ..data import Interactions
    from ..split import user_split

    if not data.implicit:
        data = Interactions.from_csr(data.by_user.to_scipy(), data.user_ids, data.item_ids,
                                     implicit=True).with_features(data.user_features,
                                                                  data.item_features)
    train, test = user_split(data, RANKING_TEST_SIZE, seed=seed)
    _ = train.by_item  # data preparation is not timed
    return train, test


def run_fastcf_ranking(name, train, test, n_threads=None, repeats=1, seed=0):
    """The ranking row of fastcf's ``name``: fit, then top-N for every ranked test user."""
    from ..evaluation import recommended_indices

    make = RANKING_PROTOCOL_ALGORITHMS[name]
    fit_s, model, fit_jit = warm_median_time(lambda: make(n_threads, seed).fit(train), repeats)
    users, n, score = ranking(train, test, RANKING_METRICS)
    ids = train.user_ids[users]
    recommend_s, (items, scores), recommend_jit = warm_median_time(
        lambda: model.recommend(ids, n), repeats)
    return RankingRow(name, "fastcf", fit_s, recommend_s=recommend_s,
                      jit_s=fit_jit + recommend_jit,
                      **score(recommended_indices(model, items, scores)))


def ranking_jobs(names, peers):
    """The (algorithm, library) pairs to run for the row ``names`` and the ``peers``."""
    runners = ranking_peer_runners() if peers else {}
    jobs = [(name, "fastcf") for name in names if name in RANKING_PROTOCOL_ALGORITHMS]
    return jobs + [(name, peer) for name in names for peer in peers
                   if peer in runners.get(name, {})]


def run_ranking_job(algorithm, library, train, test, n_threads=None, repeats=1, seed=0):
    """One row of the ranking table (None when the peer declined)."""
    if library == "fastcf":
        return run_fastcf_ranking(algorithm, train, test, n_threads, repeats, seed)
    fields = ranking_peer_runners()[algorithm][library](train, test, repeats, n_threads,
                                                         seed=seed)
    return None if fields is None else RankingRow(algorithm, library, **fields)


def ranking_results(rows, train, test, seed, repeats):
    """The ranking part of a benchmark's results (a dict for JSON and the report)."""
    speedups(rows, ("fit", "recommend"))
    return {"train": len(train), "test": len(test), "seed": seed, "repeats": repeats,
            "test_size": RANKING_TEST_SIZE, "n": N, "rows": [asdict(r) for r in rows]}
