"""cornac: MF (its Cython SGD) in the main table, BPR in the ranking protocol."""

import numpy as np

from ..timing import median_time
from ._common import _accuracy, _truth


def cornac_mf(params):
    """cornac's MF (its Cython SGD; one thread when seeded) with the same hyper-parameters."""

    def run(train, test, repeats, n_threads):
        import cornac

        frame = train.to_frame()
        dataset = cornac.data.Dataset.from_uir(
            list(zip(frame["user"].tolist(), frame["item"].tolist(),
                     frame["rating"].astype(float).tolist())), seed=0)
        init = np.random.default_rng(0)
        shape = (dataset.num_users, params["factors"])
        u0 = init.normal(0.0, params["init_std"], shape).astype(np.float32)
        v0 = init.normal(0.0, params["init_std"],
                         (dataset.num_items, shape[1])).astype(np.float32)

        def fit():
            model = cornac.models.MF(  # it trains init_params in place: fresh copies per fit
                k=params["factors"], max_iter=params["epochs"], learning_rate=params["lr"],
                lambda_reg=params["reg"], use_bias=True, early_stop=False, verbose=False,
                seed=0, init_params={"U": u0.copy(), "V": v0.copy()})
            model.fit(dataset)
            return model

        fit_s, model = median_time(fit, repeats)
        test_frame, truth = _truth(test)
        mean = float(frame["rating"].mean())
        pairs = [(dataset.uid_map.get(u), dataset.iid_map.get(i))
                 for u, i in zip(test_frame["user"], test_frame["item"])]

        def predict():
            return np.array([model.score(u, i) if u is not None and i is not None else mean
                             for u, i in pairs])

        predict_s, pred = median_time(predict, repeats)
        return {"fit_s": fit_s, "predict_s": predict_s,
                **_accuracy(truth, np.clip(pred, *train.rating_range))}

    return run


def cornac_bpr(params, ranking):
    """Runner: cornac's BPR fit, then its ``recommend(remove_seen=True)`` per ranked user.

    Seeded, cornac trains on one thread. Its item indices are mapped back to
    the training data's, so that ``ranking``'s score sees the same items as
    fastcf's and implicit's lists.
    """

    def run(train, test, repeats, n_threads, seed=0):
        import cornac

        frame = train.to_frame()
        dataset = cornac.data.Dataset.from_uir(
            list(zip(frame["user"].tolist(), frame["item"].tolist(),
                     [1.0] * len(frame))), seed=seed)

        def fit():
            model = cornac.models.BPR(**params, seed=seed, verbose=False)
            model.fit(dataset)
            return model

        fit_s, model = median_time(fit, repeats)
        users, n, score = ranking(train, test)
        external = train.user_ids[users].tolist()

        def recommend():
            return [model.recommend(user, k=n, remove_seen=True, train_set=dataset)
                    for user in external]

        recommend_s, lists = median_time(recommend, repeats)
        recommended = np.full((len(users), n), -1, dtype=np.int64)
        for row, items in enumerate(lists):
            recommended[row, :len(items)] = train.item_index(np.asarray(items))
        return {"fit_s": fit_s, "recommend_s": recommend_s, **score(recommended)}

    return run
