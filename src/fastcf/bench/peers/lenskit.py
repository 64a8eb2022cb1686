"""LensKit: ItemKNNScorer in a predict pipeline."""

import numpy as np

from ..timing import median_time
from ._common import _accuracy, _truth


def lenskit_itemknn(k, min_sim):
    """Runner: LensKit's ItemKNNScorer (explicit: centred cosine, item-mean based)."""

    def run(train, test, repeats, n_threads):
        import lenskit.parallel
        from lenskit.batch import predict
        from lenskit.data import from_interactions_df
        from lenskit.knn import ItemKNNScorer
        from lenskit.pipeline import predict_pipeline

        if n_threads:
            try:  # once per process, before training
                lenskit.parallel.initialize(processes=1, threads=n_threads,
                                            backend_threads=n_threads)
            except Exception:  # noqa: BLE001 - already initialised in this process
                pass
        frame = train.to_frame()
        dataset = from_interactions_df(frame[["user", "item", "rating"]], user_col="user",
                                       item_col="item", rating_col="rating")
        dataset.interactions().matrix().scipy("rating", layout="coo")  # caches, untimed

        def fit():
            # save_nbrs=None keeps every positive similarity, as ItemKNN does: with
            # save_nbrs=k a user often has none of an item's k saved neighbours
            # (23% of the test pairs unscored on synthetic:100k)
            pipeline = predict_pipeline(ItemKNNScorer(max_nbrs=k, save_nbrs=None,
                                                      min_sim=min_sim, feedback="explicit"),
                                        fallback=False)
            pipeline.train(dataset)
            return pipeline

        fit_s, pipeline = median_time(fit, repeats)
        test_frame, truth = _truth(test)
        pairs = test_frame.rename(columns={"user": "user_id", "item": "item_id"})[
            ["user_id", "item_id"]]
        predict_s, result = median_time(lambda: predict(pipeline, pairs, n_jobs=1), repeats)
        scored = result.to_df()
        est = pairs.merge(scored, on=["user_id", "item_id"], how="left")["score"].to_numpy()
        # no usable neighbour (or an unknown user / item): the training mean
        est = np.where(np.isfinite(est), est, float(frame["rating"].mean()))
        return {"fit_s": fit_s, "predict_s": predict_s,
                **_accuracy(truth, np.clip(est, *train.rating_range))}

    return run
