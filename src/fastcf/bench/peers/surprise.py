"""Surprise (scikit-surprise): BaselineOnly, the KNN classes, SVD, NMF, NormalPredictor,
CoClustering, SlopeOne."""

import logging

import numpy as np

from ..timing import median_time
from ._common import _accuracy, _truth

logger = logging.getLogger(__name__)

#: Surprise's KNN fit builds a dense n x n float64 similarity matrix: past this
#: many bytes it is skipped (and the table says so) rather than run out of memory.
SURPRISE_DENSE_LIMIT = 4 * 1024**3


def surprise_trainset(data):
    """Surprise's trainset of an Interactions (its rating scale from the data)."""
    import surprise

    reader = surprise.Reader(rating_scale=data.rating_range)
    frame = data.to_frame()
    return surprise.Dataset.load_from_df(frame[["user", "item", "rating"]],
                                         reader).build_full_trainset()


def surprise_run(make_algo, train, test, repeats):
    """Time a Surprise algorithm's fit and test on our split."""
    trainset = surprise_trainset(train)

    def fit():
        algo = make_algo()
        algo.fit(trainset)
        return algo

    fit_s, algo = median_time(fit, repeats)
    frame, truth = _truth(test)
    pairs = list(zip(frame["user"], frame["item"], frame["rating"]))
    predict_s, predictions = median_time(lambda: algo.test(pairs), repeats)
    return {"fit_s": fit_s, "predict_s": predict_s,
            **_accuracy(truth, np.array([p.est for p in predictions]))}


def surprise_dense_fits(n):
    if n * n * 8 > SURPRISE_DENSE_LIMIT:
        logger.warning("surprise skipped: its dense %d x %d similarity matrix would need "
                       "%.1f GB", n, n, n * n * 8 / 1e9)
        return False
    return True


def surprise_knn(config, k):
    """Runner for Surprise's KNN class of ``config`` (axis, similarity, mode)."""
    classes = {"basic": "KNNBasic", "means": "KNNWithMeans", "zscore": "KNNWithZScore",
               "baseline": "KNNBaseline"}

    def run(train, test, repeats, n_threads):
        import surprise

        if not surprise_dense_fits(train.n_users if config["axis"] == "user"
                                   else train.n_items):
            return None
        options = {"name": config["similarity"], "user_based": config["axis"] == "user"}
        cls = getattr(surprise, classes[config["mode"]])
        return surprise_run(lambda: cls(k=k, sim_options=options, verbose=False), train, test,
                            repeats)

    return run


def surprise_pearson_item_fit(train, test, repeats, n_threads):
    """KNNBasic(pearson, item-based) fit: the dense item-item Pearson similarity."""
    import surprise

    if not surprise_dense_fits(train.n_items):
        return None
    trainset = surprise_trainset(train)

    def fit():
        algo = surprise.KNNBasic(sim_options={"name": "pearson", "user_based": False},
                                 verbose=False)
        algo.fit(trainset)
        return algo

    return {"fit_s": median_time(fit, repeats)[0]}


def surprise_baseline(train, test, repeats, n_threads):
    import surprise

    options = {"method": "als", "reg_u": 15, "reg_i": 10, "n_epochs": 10}
    return surprise_run(lambda: surprise.BaselineOnly(bsl_options=options, verbose=False),
                        train, test, repeats)


def surprise_svd(params, algorithm="SVD"):
    """Runner for Surprise's ``SVD`` (or ``algorithm``: ``"SVDpp"``) with ``params``."""
    def run(train, test, repeats, n_threads):
        import surprise

        return surprise_run(lambda: getattr(surprise, algorithm)(
            n_factors=params["factors"], n_epochs=params["epochs"], lr_all=params["lr"],
            reg_all=params["reg"], init_std_dev=params["init_std"], random_state=0),
            train, test, repeats)

    return run


def timed_once(runner):
    """``runner`` timed once whatever ``repeats``: Surprise's SVD++ takes ~30 s a fit on
    the default data, and three of them would be a third of the default run."""
    def run(train, test, repeats, n_threads):
        return runner(train, test, 1, n_threads)

    return run


def surprise_default(class_name, **params):
    """Runner for Surprise's ``class_name``: its defaults but for ``params``."""
    def run(train, test, repeats, n_threads):
        import surprise

        return surprise_run(lambda: getattr(surprise, class_name)(**params), train, test,
                            repeats)

    return run
def surprise_slopeone(train, test, repeats, n_threads):
    """SlopeOne: its fit fills two dense n_items x n_items arrays (freq intp, dev float64)."""
    import surprise

    nbytes = 16 * train.n_items ** 2
    if nbytes > SURPRISE_DENSE_LIMIT:
        logger.warning("surprise skipped: SlopeOne's dense %d x %d freq and dev arrays would "
                       "need %.1f GB", train.n_items, train.n_items, nbytes / 1e9)
        return None
    return surprise_run(surprise.SlopeOne, train, test, repeats)
