"""The peers' matching algorithms, for ``fastcf benchmark`` and the scripts in benchmarks/.

Each runner takes the benchmark's split (``train``, ``test``: Interactions),
the number of timed ``repeats`` and the thread count, and returns a dict of
the fields of a results row (``fit_s``, ``predict_s`` / ``recommend_s``, and
the accuracy it can be measured on), or None when it cannot run on this data.
The peers are imported only here and only when asked for; their data
preparation (Surprise trainset, implicit CSR, LensKit Dataset, tensors) is
built untimed, as our ``Interactions`` is.
"""

import logging
import time
import warnings

import numpy as np
import scipy.sparse as sp

from .metrics import mae, rmse

logger = logging.getLogger(__name__)

#: Surprise's KNN fit builds a dense n x n float64 similarity matrix: past this
#: many bytes it is skipped (and the table says so) rather than run out of memory.
SURPRISE_DENSE_LIMIT = 4 * 1024**3
#: PyTorch steps on a throw-away model before a timed fit (its one-off set-up).
TORCH_WARM_UP_BATCHES = 20


def median_time(fn, repeats):
    """``(median seconds over repeats calls of fn, the last result)``."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def _truth(test):
    frame = test.to_frame()
    return frame, frame["rating"].to_numpy()


def _accuracy(truth, pred):
    return {"rmse": rmse(truth, pred), "mae": mae(truth, pred)}


# ------------------------------------------------------------------ Surprise
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


def surprise_svd(params):
    def run(train, test, repeats, n_threads):
        import surprise

        return surprise_run(lambda: surprise.SVD(
            n_factors=params["factors"], n_epochs=params["epochs"], lr_all=params["lr"],
            reg_all=params["reg"], init_std_dev=params["init_std"], random_state=0),
            train, test, repeats)

    return run


# -------------------------------------------------------------------- cornac
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


# ------------------------------------------------------------------ implicit
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
    with warnings.catch_warnings():  # its fit converts its own normalised COO to CSR
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


def implicit_cosine_recommend(k, ranking):
    """Runner: CosineRecommender fit, then top-n for the ranked test users.

    ``ranking(train, test)`` gives (internal users, n, score(recommended) -> dict)
    so that both libraries are scored on the same users and relevance.
    """

    def run(train, test, repeats, n_threads):
        user_items = implicit_user_items(train)
        fit_s, model = median_time(lambda: implicit_fit(implicit_cosine(k, n_threads),
                                                        user_items), repeats)
        users, n, score = ranking(train, test)
        recommend_s, (ids, scores) = median_time(
            lambda: model.recommend(users.astype(np.int32), user_items[users], N=n,
                                    filter_already_liked_items=True), repeats)
        ids = np.where(np.isfinite(scores) & (scores > np.finfo(np.float32).min), ids, -1)
        return {"fit_s": fit_s, "recommend_s": recommend_s, **score(ids.astype(np.int64))}

    return run


# ------------------------------------------------------------------- LensKit
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


# ------------------------------------------------------------------- PyTorch
# PyTorch runs in a fresh (spawned) process: beside Numba's OpenMP thread pool,
# which every fastcf run before it has started, PyTorch's 2-thread training ran
# ~10x slower (see README, "Numba and PyTorch in one process").
def torch_mlp_module(torch, n_users, n_items, embedding_dim, hidden, embedding_std,
                     global_mean, sparse=False):
    """fastcf's MLPRecommender architecture as a ``torch.nn.Module`` (global-RNG init)."""
    nn = torch.nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.user = nn.Embedding(n_users, embedding_dim, sparse=sparse)
            self.item = nn.Embedding(n_items, embedding_dim, sparse=sparse)
            widths = [2 * embedding_dim, *hidden, 1]
            self.layers = nn.ModuleList(nn.Linear(n_in, n_out)
                                        for n_in, n_out in zip(widths[:-1], widths[1:]))
            nn.init.normal_(self.user.weight, 0.0, embedding_std)
            nn.init.normal_(self.item.weight, 0.0, embedding_std)
            with torch.no_grad():
                self.layers[-1].bias.fill_(float(global_mean))

        def forward(self, users, items):
            x = torch.cat([self.user(users), self.item(items)], dim=1)
            for layer in self.layers[:-1]:
                x = torch.relu(layer(x))
            return self.layers[-1](x).squeeze(1)

    return MLP()


def torch_neumf_module(torch, n_users, n_items, factors, embedding_dim, hidden, embedding_std):
    """fastcf's NeuMF (GMF + MLP branches, one logit) as a ``torch.nn.Module``."""
    nn = torch.nn

    class NeuMFModule(nn.Module):
        def __init__(self):
            super().__init__()
            self.gmf_user = nn.Embedding(n_users, factors)
            self.gmf_item = nn.Embedding(n_items, factors)
            self.mlp_user = nn.Embedding(n_users, embedding_dim)
            self.mlp_item = nn.Embedding(n_items, embedding_dim)
            widths = [2 * embedding_dim, *hidden]
            self.layers = nn.ModuleList(nn.Linear(n_in, n_out)
                                        for n_in, n_out in zip(widths[:-1], widths[1:]))
            self.output = nn.Linear(factors + hidden[-1], 1)
            for table in (self.gmf_user, self.gmf_item, self.mlp_user, self.mlp_item):
                nn.init.normal_(table.weight, 0.0, embedding_std)

        def forward(self, users, items):
            gmf = self.gmf_user(users) * self.gmf_item(items)
            x = torch.cat([self.mlp_user(users), self.mlp_item(items)], dim=1)
            for layer in self.layers:
                x = torch.relu(layer(x))
            return self.output(torch.cat([gmf, x], dim=1)).squeeze(1)

    return NeuMFModule()


def _torch_steps(torch, model, optimizer, batches, loss_fn, limit=None):
    """One optimiser step per (users, items, targets) batch, at most ``limit`` of them."""
    for b, (users, items, targets) in enumerate(batches):
        if limit is not None and b >= limit:
            break
        loss = loss_fn(model(users, items), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def _torch_child(kind, arrays, params, repeats, n_threads, seed):
    """Runs in the spawned process: fit ``repeats`` times, then score; a result dict."""
    import torch

    torch.set_num_threads(n_threads or torch.get_num_threads())
    n_users, n_items = arrays["n_users"], arrays["n_items"]
    users = torch.from_numpy(arrays["users"])
    items = torch.from_numpy(arrays["items"])
    batch = params["batch_size"]

    if kind == "mlp":
        targets_all = torch.from_numpy(arrays["ratings"])

        def make():
            return torch_mlp_module(torch, n_users, n_items, params["embedding_dim"],
                                    params["hidden"], params.get("embedding_std", 0.1),
                                    arrays["global_mean"])

        def epoch_batches(generator, rng):
            order = torch.randperm(len(targets_all), generator=generator)
            for first in range(0, len(order), batch):
                idx = order[first:first + batch]
                yield users[idx], items[idx], targets_all[idx]

        loss_fn = torch.nn.functional.mse_loss
    else:
        from .sampling import sample_negatives

        n_neg = params["n_negatives"]
        all_users = np.concatenate([arrays["users"], np.repeat(arrays["users"], n_neg)])
        labels = np.concatenate([np.ones(len(arrays["users"]), np.float32),
                                 np.zeros(len(arrays["users"]) * n_neg, np.float32)])

        def make():
            return torch_neumf_module(torch, n_users, n_items, params["factors"],
                                      params["embedding_dim"], params["hidden"],
                                      params.get("embedding_std", 0.01))

        def epoch_batches(generator, rng):
            negatives = sample_negatives(arrays["users"], arrays["indptr"], arrays["items"],
                                         n_items, n_neg, rng)
            order = rng.permutation(len(all_users))
            u = torch.from_numpy(all_users[order])
            i = torch.from_numpy(np.concatenate([arrays["items"], negatives])[order])
            y = torch.from_numpy(labels[order])
            for first in range(0, len(order), batch):
                part = slice(first, first + batch)
                yield u[part], i[part], y[part]

        loss_fn = torch.nn.functional.binary_cross_entropy_with_logits

    # PyTorch's one-off set-up (thread pool, allocator, dispatch caches), untimed
    torch.manual_seed(seed + 12345)
    throw_away = make()
    _torch_steps(torch, throw_away, torch.optim.Adam(throw_away.parameters(), lr=params["lr"]),
                 epoch_batches(torch.Generator().manual_seed(seed + 1),
                               np.random.default_rng(seed + 1)), loss_fn,
                 limit=TORCH_WARM_UP_BATCHES)

    def fit():
        torch.manual_seed(seed)
        model = make()
        optimizer = torch.optim.Adam(model.parameters(), lr=params["lr"])
        generator, rng = torch.Generator().manual_seed(seed), np.random.default_rng(seed)
        for _ in range(params["epochs"]):
            _torch_steps(torch, model, optimizer, epoch_batches(generator, rng), loss_fn)
        return model

    fit_s, model = median_time(fit, repeats)
    if kind == "mlp":
        tu, ti = arrays["test_users"], arrays["test_items"]
        known = (tu >= 0) & (ti >= 0)

        def predict():
            est = np.full(len(tu), arrays["global_mean"], dtype=np.float64)
            with torch.no_grad():
                est[known] = model(torch.from_numpy(tu[known]),
                                   torch.from_numpy(ti[known])).double().numpy()
            return np.clip(est, *arrays["rating_range"])

        predict_s, est = median_time(predict, repeats)
        return {"fit_s": fit_s, "predict_s": predict_s, **_accuracy(arrays["truth"], est)}
    from .metrics import hit_rate_ndcg_of_candidates

    def probabilities(u, i):
        with torch.no_grad():
            return torch.sigmoid(model(torch.from_numpy(u), torch.from_numpy(i))).double().numpy()

    tu, ti = arrays["test_users"], arrays["test_items"]
    known = (tu >= 0) & (ti >= 0)

    def predict():
        est = np.zeros(len(tu))  # unknown pairs: 0, as fastcf's NeuMF gives an unknown item
        est[known] = probabilities(tu[known], ti[known])
        return est

    predict_s, _ = median_time(predict, repeats)
    cand = arrays["candidates"]
    scores = probabilities(np.repeat(arrays["eval_users"], cand.shape[1]),
                           cand.ravel()).reshape(cand.shape)
    hit_rate, ndcg = hit_rate_ndcg_of_candidates(scores, 10)
    return {"fit_s": fit_s, "predict_s": predict_s, "hit_rate_sampled": hit_rate,
            "ndcg_sampled": ndcg}


def _torch_arrays(kind, train, test):
    by_user = train.by_user
    arrays = {"n_users": np.int64(train.n_users), "n_items": np.int64(train.n_items),
              "users": np.repeat(np.arange(train.n_users, dtype=np.int64),
                                 np.diff(by_user.indptr)),
              "items": np.asarray(by_user.indices, dtype=np.int64)}
    frame, truth = _truth(test)
    arrays.update(test_users=train.user_index(frame["user"].to_numpy(), strict=False),
                  test_items=train.item_index(frame["item"].to_numpy(), strict=False))
    if kind == "mlp":
        arrays.update(ratings=np.asarray(by_user.data, dtype=np.float32),
                      global_mean=np.float64(train.global_mean),
                      rating_range=np.array(train.rating_range, dtype=np.float64), truth=truth)
    else:
        from .metrics import sampled_candidates

        eval_users, candidates = sampled_candidates(train, test, n_negatives=99, seed=0)
        arrays.update(indptr=np.asarray(by_user.indptr, dtype=np.int64), eval_users=eval_users,
                      candidates=candidates)
    return arrays


def torch_model(kind, params):
    """Runner: the PyTorch twin of fastcf's ``mlp`` or ``neumf``, in a fresh process.

    The arrays go through an .npz file and the result comes back as JSON on
    stdout: a plain ``python -c`` child, so it works from any caller (no
    ``if __name__ == "__main__"`` needed, as multiprocessing's spawn would).
    """

    def run(train, test, repeats, n_threads):
        import json
        import os
        import subprocess
        import sys
        import tempfile

        import fastcf

        with tempfile.TemporaryDirectory(prefix="fastcf-torch-") as folder:
            path = os.path.join(folder, "arrays.npz")
            np.savez(path, **_torch_arrays(kind, train, test))
            job = json.dumps({"kind": kind, "path": path, "params": params, "repeats": repeats,
                              "n_threads": n_threads, "seed": 0})
            env = dict(os.environ)
            source = os.path.dirname(os.path.dirname(os.path.abspath(fastcf.__file__)))
            env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
            done = subprocess.run(
                [sys.executable, "-c", "import sys; from fastcf._peers import torch_main; "
                 "torch_main(sys.argv[1])", job], capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"the PyTorch {kind} peer failed:\n{done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    return run


def torch_main(job):
    """Entry point of the PyTorch child process: prints the result dict as JSON."""
    import json

    job = json.loads(job)
    with np.load(job["path"]) as npz:
        arrays = {name: npz[name] for name in npz.files}
    for name in ("n_users", "n_items"):
        arrays[name] = int(arrays[name])
    arrays["global_mean"] = float(arrays.get("global_mean", 0.0))
    params = dict(job["params"], hidden=tuple(job["params"]["hidden"]))
    result = _torch_child(job["kind"], arrays, params, job["repeats"], job["n_threads"],
                          job["seed"])
    print(json.dumps({k: float(v) for k, v in result.items()}))
