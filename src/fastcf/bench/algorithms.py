"""What the benchmark runs on the fastcf side: the algorithms and their hyper-parameters."""

from ..baseline import BaselineOnly

K = 40  # neighbours of the kNN and similarity rows
N = 10  # length of the recommendation lists

#: The kNN configurations benchmarked: Surprise's default KNNBasic (user), the
#: item-based KNNWithMeans / pearson that DESIGN.md quotes on ML-100k, the
#: item-item cosine top-N of implicit's CosineRecommender, and LensKit's
#: item-item (centred cosine, item means, 20 neighbours, positive similarities).
KNN_CONFIGS = {
    "userknn": {"axis": "user", "similarity": "msd", "mode": "basic", "k": K},
    "itemknn": {"axis": "item", "similarity": "pearson", "mode": "means", "k": K},
    "itemknn_cosine": {"axis": "item", "similarity": "cosine_all", "mode": "basic", "k": K},
    "itemknn_centered": {"axis": "item", "similarity": "adjusted_cosine", "mode": "means",
                         "k": 20, "min_sim": 1e-6},
}

#: Biased MF with Surprise SVD's defaults (factors, epochs, lr, reg, init).
MF_PARAMS = {"factors": 100, "epochs": 20, "lr": 0.005, "reg": 0.02, "init_std": 0.1}
#: SVD++ with Surprise SVDpp's defaults.
SVDPP_PARAMS = {"factors": 20, "epochs": 20, "lr": 0.007, "reg": 0.02, "init_std": 0.1}
#: The seed MLP (embedding 32 + 32, layers 64-32-1, batch 256, Adam 1e-3), and
#: NeuMF with He et al.'s defaults; few epochs so that the default run stays short.
MLP_PARAMS = {"embedding_dim": 32, "hidden": (64, 32), "epochs": 5, "batch_size": 256,
              "lr": 1e-3}
NEUMF_PARAMS = {"factors": 8, "embedding_dim": 32, "hidden": (64, 32, 16, 8), "epochs": 3,
                "batch_size": 256, "lr": 1e-3, "n_negatives": 4}

#: The implicit-feedback rows at their peers' settings (``bench.ranking``'s notes):
#: implicit's ALS and BM25Recommender(K + 1: it counts the item itself); Steck's EASE.
ALS_PARAMS = {"factors": 64, "reg": 0.01, "alpha": 1.0, "iterations": 15}
#: cornac's BPR at Microsoft Recommenders' settings (k 200, 100 iterations, lr 0.01,
#: lambda 0.001); implicit's BPR row (100 factors, its defaults) is compared with it too.
BPR_PARAMS = {"factors": 200, "iterations": 100, "lr": 0.01, "reg": 0.001}
ITEMKNN_BM25_PARAMS = {"k": K, "similarity": "dot", "weighting": "bm25"}
EASE_PARAMS = {"reg": 500.0}

#: Similarity-only rows: algorithm -> kind (item-item, top-K).
SIMILARITY_KINDS = {"itemsim_pearson": "pearson", "itemsim_cosine": "cosine_all"}
FASTCF_ALGORITHMS = ("baseline", "userknn", "itemknn", "itemknn_cosine", "itemknn_centered",
                     "mf", "svdpp", "nmf", "normal", "coclustering", "slopeone", "mlp",
                     "neumf", "itemsim_pearson", "itemsim_cosine")
#: Models of implicit feedback: no RMSE; sampled HR@10 / NDCG@10 beside the full ranking.
IMPLICIT_ALGORITHMS = {"neumf"}
#: Algorithms whose top-N lists are scored (P@10, NDCG@10 over the ranked test users).
RANKED_ALGORITHMS = {"baseline", "userknn", "itemknn", "itemknn_cosine", "itemknn_centered",
                     "mf", "svdpp", "nmf", "normal", "coclustering", "mlp", "neumf"}


class _Similarity:
    """``fastcf.similarity(train, kind, axis="item", k=K)`` as a fit-only "model"."""

    def __init__(self, kind, n_threads):
        self.kind, self.n_threads = kind, n_threads

    def fit(self, data):
        from ..similarity import similarity

        k = min(K, data.n_items - 1)  # tiny data: every other item
        self.result_ = similarity(data, kind=self.kind, axis="item", k=k,
                                  n_threads=self.n_threads)
        return self


def make_model(name, n_threads):
    """A fresh fastcf model (or similarity job) for algorithm ``name``."""
    from ..knn import ItemKNN, UserKNN
    from ..mf import MatrixFactorization
    from ..mlp import MLPRecommender
    from ..neumf import NeuMF

    if name == "baseline":
        return BaselineOnly(n_threads=n_threads)
    if name in KNN_CONFIGS:
        config = dict(KNN_CONFIGS[name])
        cls = UserKNN if config.pop("axis") == "user" else ItemKNN
        return cls(**config, n_threads=n_threads)
    if name == "mf":
        return MatrixFactorization(**MF_PARAMS, n_threads=n_threads)
    if name == "coclustering":  # Surprise's CoClustering defaults (3 x 3 clusters, 20 epochs)
        return _fastcf("CoClustering", n_threads=n_threads)
    if name in ("nmf", "normal"):  # Surprise's NMF / NormalPredictor, its defaults
        return _fastcf("NMF" if name == "nmf" else "NormalPredictor", n_threads=n_threads)
    if name == "svdpp":
        return _fastcf("SVDpp", **SVDPP_PARAMS, n_threads=n_threads)
    if name == "mlp":
        return MLPRecommender(**MLP_PARAMS, n_threads=n_threads)
    if name == "neumf":
        return NeuMF(**NEUMF_PARAMS, n_threads=n_threads)
    if name == "slopeone":
        return _fastcf("SlopeOne", n_threads=n_threads)
    return _Similarity(SIMILARITY_KINDS[name], n_threads)


def _fastcf(name, **params):
    """A fresh ``fastcf.<name>(**params)`` (the library imported when a row runs)."""
    import fastcf

    return getattr(fastcf, name)(**params)


#: The fastcf rows of the ranking protocol (``fastcf.bench.ranking``): name ->
#: factory(n_threads, seed) of a fresh model. A new model is one line here; a
#: peer row of the same name is compared with it.
RANKING_PROTOCOL_ALGORITHMS = {
    "popularity": lambda n_threads, seed: _fastcf("Popularity", n_threads=n_threads),
    "itemknn_cosine": lambda n_threads, seed: make_model("itemknn_cosine", n_threads),
    "itemknn_bm25": lambda n_threads, seed: _fastcf("ItemKNN", **ITEMKNN_BM25_PARAMS,
                                                    n_threads=n_threads),
    "als": lambda n_threads, seed: _fastcf("ALS", **ALS_PARAMS, n_threads=n_threads, seed=seed),
    "bpr": lambda n_threads, seed: _fastcf("BPR", **BPR_PARAMS, n_threads=n_threads, seed=seed),
    "ease": lambda n_threads, seed: _fastcf("EASE", **EASE_PARAMS, n_threads=n_threads),
    "neumf": lambda n_threads, seed: _fastcf("NeuMF", **NEUMF_PARAMS, n_threads=n_threads,
                                             seed=seed),
}


def _scores():
    from ..metrics import catalogue_coverage, ndcg_at_k, precision_at_k, recall_at_k

    return {"precision": lambda rec, rel, n_items: precision_at_k(rec, rel, N),
            "ndcg": lambda rec, rel, n_items: ndcg_at_k(rec, rel, N),
            "recall": lambda rec, rel, n_items: recall_at_k(rec, rel, N),
            "coverage": lambda rec, rel, n_items: catalogue_coverage(rec, n_items)}


def ranking(train, test, metrics=("precision", "ndcg")):
    """(internal users ranked, list length, score(recommended internal items) -> metrics).

    Every library's top-N lists are scored by this one function, on the same
    users and relevant items: ``score`` takes the (users, N) internal item
    indices (-1: padding) and returns ``metrics`` (from precision, ndcg,
    recall, coverage; at N) and ``n_ranked``.
    """
    from ..evaluation import _ranked_users_relevant

    users, relevant = _ranked_users_relevant(train, test)
    scores = _scores()

    def score(recommended):
        out = {name: scores[name](recommended, relevant, train.n_items) for name in metrics}
        return {**out, "n_ranked": len(users)}

    return users, N, score
