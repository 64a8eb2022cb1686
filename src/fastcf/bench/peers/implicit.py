"""implicit: CosineRecommender (the item-item cosine top-k) in the main table; ALS, BPR,
cosine and BM25 item-kNN in the ranking protocol: fit, then recommend."""

import warnings

import numpy as np
import scipy.sparse as sp

from ..timing import median_time


def implicit_user_items(data):
    """implicit >= 0.5 takes the user x item CSR (float32, int32 indices)."""
    u = data.by_user
    return sp.csr_matrix((u.data.astype(np.float32), u.indices.astype(np.int32),
                          u.indptr.astype(np.int32)), shape=u.shape)


def implicit_cosine(k, n_threads):
    """implicit's CosineRecommender keeping ``k`` neighbours besides the item itself."""
    from implicit.nearest_neighbours import CosineRecommender

    # implicit's top-K includes the item itself (similarity 1): K + 1 keeps k neighbours.
    return CosineRecommender(K=k + 1, num_threads=n_threads or 0)


def implicit_fit(model, user_items):
    from ..._parallel import blas_threads

    # its fit converts its own normalised COO to CSR; and its ALS asks for one BLAS
    # thread (it runs its own threads around small BLAS calls), as its docs advise
    with warnings.catch_warnings(), blas_threads(1):
        warnings.filterwarnings("ignore", message="Method expects CSR input")
        model.fit(user_items, show_progress=False)
    return model


def implicit_cosine_fit(k):
    """Runner: CosineRecommender fit only (the item-item cosine top-k)."""

    def run(train, test, repeats, n_threads):
        user_items = implicit_user_items(train)
        return {"fit_s": median_time(lambda: implicit_fit(implicit_cosine(k, n_threads),
                                                          user_items), repeats)[0]}

    return run


def implicit_recommend(make, ranking):
    """Runner: an implicit model's fit, then top-n for the ranked test users.

    ``make(n_threads, seed)`` builds the model; ``ranking(train, test)`` gives
    (internal users, n, score(recommended) -> dict) so that every library is
    scored on the same users and relevance. implicit's recommend filters each
    user's training items itself (``filter_already_liked_items=True``).
    """

    def run(train, test, repeats, n_threads, seed=0):
        user_items = implicit_user_items(train)
        fit_s, model = median_time(lambda: implicit_fit(make(n_threads, seed), user_items),
                                   repeats)
        users, n, score = ranking(train, test)
        recommend_s, (ids, scores) = median_time(
            lambda: model.recommend(users.astype(np.int32), user_items[users], N=n,
                                    filter_already_liked_items=True), repeats)
        ids = np.where(np.isfinite(scores) & (scores > np.finfo(np.float32).min), ids, -1)
        return {"fit_s": fit_s, "recommend_s": recommend_s, **score(ids.astype(np.int64))}

    return run


def implicit_cosine_recommend(k, ranking):
    """Runner: CosineRecommender (``k`` neighbours) fit, then top-n (see implicit_recommend)."""
    return implicit_recommend(lambda n_threads, seed: implicit_cosine(k, n_threads), ranking)


def implicit_bm25_recommend(k, ranking):
    """Runner: BM25Recommender (K1=1.2, B=0.75, ``k`` neighbours) fit, then top-n."""

    def make(n_threads, seed):
        from implicit.nearest_neighbours import BM25Recommender

        return BM25Recommender(K=k + 1, K1=1.2, B=0.75, num_threads=n_threads or 0)

    return implicit_recommend(make, ranking)


def implicit_als_recommend(params, ranking):
    """Runner: AlternatingLeastSquares(factors, regularization, alpha, iterations), CPU."""

    def make(n_threads, seed):
        from implicit.cpu.als import AlternatingLeastSquares

        from ..._parallel import blas_threads

        with blas_threads(1):  # it checks the BLAS threads here; implicit_fit keeps them 1
            return AlternatingLeastSquares(**params, num_threads=n_threads or 0,
                                           random_state=seed)

    return implicit_recommend(make, ranking)


def implicit_bpr_recommend(params, ranking):
    """Runner: BayesianPersonalizedRanking(factors, ...), CPU."""

    def make(n_threads, seed):
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        return BayesianPersonalizedRanking(**params, num_threads=n_threads or 0,
                                           random_state=seed)

    return implicit_recommend(make, ranking)
