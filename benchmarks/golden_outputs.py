"""Every numeric output of fastcf's public API on small seeded data, as one npz.

For restructurings that must not move a single number: run it on the code
before and after the change (same machine, same environment), then compare:

    python benchmarks/golden_outputs.py write before.npz     # on the old code
    python benchmarks/golden_outputs.py write after.npz      # on the new code
    python benchmarks/golden_outputs.py compare before.npz after.npz

It covers every similarity kind x axis x backend, every kNN mode x similarity
(predict, details, recommend with and without candidates, fold-in, similar
items), MF for every schedule x dtype x backend (history, factors, fold-in,
partial_fit), the neural models, evaluate / cross_validate, the metrics, the
splits, make_ratings, ML-100K u1 (when ``FASTCF_ML100K`` names its folder) and
the Dask paths without a cluster. Timings (history "seconds", evaluate's
"*_s") are left out; everything else is compared bit for bit (NaN equal to
NaN, dtypes equal). The file depends on the machine (the AVX2 Cython build,
BLAS): compare only files written here.
"""

import os
import sys
import warnings

import numpy as np
import pandas as pd

import fastcf
from fastcf import distributed, kernels, metrics
from fastcf.datasets import load_movielens, make_ratings
from fastcf.evaluation import cross_validate, evaluate, sampled_hit_rate_ndcg
from fastcf.split import kfold, leave_one_out, random_split, temporal_split, user_split

ML100K = os.environ.get("FASTCF_ML100K")
OUT = {}


def put(key, value):
    if key in OUT:
        raise KeyError(key)
    if isinstance(value, pd.DataFrame):
        for column in value.columns:
            put(f"{key}.{column}", value[column].to_numpy())
        return
    if isinstance(value, pd.Series):
        put(f"{key}.index", np.asarray(value.index.astype(str)))
        put(f"{key}.values", value.to_numpy())
        return
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], np.ndarray):
        for j, v in enumerate(value):
            put(f"{key}[{j}]", v)
        return
    if hasattr(value, "indptr") and hasattr(value, "indices"):
        put(f"{key}.indptr", np.asarray(value.indptr))
        put(f"{key}.indices", np.asarray(value.indices))
        put(f"{key}.data", np.asarray(value.data))
        return
    arr = np.asarray(value)
    if arr.dtype == object:
        arr = arr.astype(str)
    OUT[key] = arr


def history(key, model):
    for j, entry in enumerate(model.history_):
        for name, value in entry.items():
            if name != "seconds":
                put(f"{key}.history[{j}].{name}", value)
    if hasattr(model, "best_epoch_"):
        put(f"{key}.best_epoch", model.best_epoch_)


def data_sets():
    explicit = make_ratings(n_users=120, n_items=90, n_ratings=2500, seed=0, timestamps=True)
    frame = explicit.to_frame().drop(columns="timestamp")
    frame["user"] = "u" + frame["user"].astype(str)
    stringy = fastcf.Interactions.from_frame(frame, rating="rating")
    implicit = fastcf.Interactions.from_frame(frame[["user", "item"]])
    return explicit, stringy, implicit


def model_outputs(key, model, train, test, *, recommend_only=False):
    frame = test.to_frame()
    users, items = frame["user"].to_numpy(), frame["item"].to_numpy()
    ghosts = np.concatenate([train.user_ids[:5], np.array(["ghost"] * 2, dtype=object)
                             if train.user_ids.dtype == object else np.array([-7, -8])])
    if not recommend_only:
        put(f"{key}.predict", model.predict(users, items))
    put(f"{key}.recommend", model.recommend(ghosts, n=7))
    put(f"{key}.recommend_all", model.recommend(train.user_ids, n=5))
    put(f"{key}.recommend_keep_seen", model.recommend(train.user_ids[:20], n=5,
                                                      exclude_seen=False))
    put(f"{key}.recommend_candidates", model.recommend(train.user_ids[:20], n=4,
                                                       candidates=train.item_ids[::3]))
    put(f"{key}.recommend_frame", model.recommend_frame(train.user_ids[:6], n=3))


def fold_in(key, model, train):
    by_user = train.by_user
    ratings = []
    for u in (0, 3, 8):
        cols = by_user.indices[by_user.indptr[u]:by_user.indptr[u + 1]]
        vals = by_user.data[by_user.indptr[u]:by_user.indptr[u + 1]]
        ratings.append({train.item_ids[c]: float(v) for c, v in zip(cols[:6], vals[:6])})
    items = [train.item_ids[10:20], train.item_ids[:4], train.item_ids[30:33]]
    kwargs = {"steps": 2} if isinstance(model, fastcf.MatrixFactorization) else {}
    put(f"{key}.predict_new", model.predict_new(ratings, items, **kwargs))
    put(f"{key}.recommend_new", model.recommend_new(ratings, n=6, **kwargs))
    put(f"{key}.recommend_new_candidates", model.recommend_new(
        ratings, n=3, candidates=train.item_ids[::2], **kwargs))


def similarities(explicit, backends):
    kinds = ["pearson", "pearson_baseline", "cosine", "cosine_all", "adjusted_cosine", "msd",
             "jaccard"]
    for backend in backends:
        for kind in kinds:
            for axis in ("user", "item"):
                base = f"sim.{backend}.{kind}.{axis}"
                put(f"{base}.dense", fastcf.similarity(explicit, kind, axis, backend=backend))
                put(f"{base}.top", fastcf.similarity(explicit, kind, axis, k=8,
                                                     backend=backend, dtype=np.float32))
                put(f"{base}.opts", fastcf.similarity(explicit, kind, axis, k=5, min_support=3,
                                                      shrinkage=10, min_sim=0.1,
                                                      backend=backend))
            queries = [{3: 4.0, 5: 2.0, 9: 5.0}, {1: 1.0, 2: 5.0}]
            put(f"sim.{backend}.{kind}.to", fastcf.similarity_to(
                explicit, queries, kind, "user", backend=backend))
            put(f"sim.{backend}.{kind}.to_top", fastcf.similarity_to(
                explicit, queries, kind, "user", k=4, backend=backend))
        x = explicit.by_user
        put(f"kernels.{backend}.similarity", kernels.similarity(
            x.indptr, x.indices, x.data, explicit.n_items, "pearson", k=6, backend=backend))
        rng = np.random.default_rng(1)
        scores = rng.random((40, 60)).round(2)
        put(f"kernels.{backend}.topk", kernels.topk(scores, 5, backend=backend))
        exclude = (np.arange(0, 81, 2, dtype=np.int64), np.tile(np.arange(0, 60, 30), 40))
        put(f"kernels.{backend}.topk_exclude", kernels.topk(scores, 5, exclude,
                                                            backend=backend))
        put(f"kernels.{backend}.bias_sweep", kernels.bias_sweep(
            x.indptr, x.indices, x.data, 3.5, np.linspace(-1, 1, explicit.n_items), 15.0,
            backend=backend))


def knn_models(explicit, stringy, backends):
    train, test = random_split(stringy, test_size=0.2, seed=1)
    for backend in backends:
        for cls in (fastcf.UserKNN, fastcf.ItemKNN):
            for mode in ("basic", "means", "zscore", "baseline"):
                for sim in ("msd", "pearson", "pearson_baseline", "cosine_all"):
                    model = cls(k=10, similarity=sim, mode=mode, backend=backend,
                                n_threads=2).fit(train)
                    key = f"{cls.__name__}.{backend}.{mode}.{sim}"
                    model_outputs(key, model, train, test)
                    frame = test.to_frame()
                    put(f"{key}.details", model.predict_details(frame["user"], frame["item"]))
                    fold_in(key, model, train)
                    if cls is fastcf.ItemKNN:
                        put(f"{key}.similar", model.similar_items(train.item_ids[:5], n=4))
                    else:
                        put(f"{key}.similar", model.similar_users(train.user_ids[:5], n=4))
            model = cls(k=10, similarity="pearson", mode="means", max_neighbors=15,
                        backend=backend).fit(train)
            key = f"{cls.__name__}.{backend}.max_neighbors"
            model_outputs(key, model, train, test)
            fold_in(key, model, train)
    implicit_train = fastcf.Interactions.from_frame(train.to_frame()[["user", "item"]])
    model = fastcf.ItemKNN(k=10, similarity="cosine_all").fit(implicit_train)
    model_outputs("ItemKNN.implicit", model, implicit_train, test, recommend_only=True)


def mf_models(stringy, backends):
    train, test = random_split(stringy, test_size=0.2, seed=2)
    for backend in backends:
        for dtype in (np.float32, np.float64):
            for schedule, threads in (("serial", 1), ("blocked", 1), ("blocked", 2),
                                      ("hogwild", 1)):
                for cell_order in ("sorted", "shuffled"):
                    if schedule == "serial" and cell_order == "shuffled":
                        continue
                    model = fastcf.MatrixFactorization(
                        factors=8, epochs=4, dtype=dtype, schedule=schedule, blocks=4,
                        cell_order=cell_order, backend=backend, n_threads=threads, seed=3)
                    model.fit(train, validation=test)
                    key = f"MF.{backend}.{np.dtype(dtype).name}.{schedule}{threads}.{cell_order}"
                    history(key, model)
                    model_outputs(key, model, train, test)
                    for name in ("user_factors_", "item_factors_", "user_bias_", "item_bias_"):
                        put(f"{key}.{name}", getattr(model, name))
        model = fastcf.MatrixFactorization(factors=6, epochs=30, lr=0.02, patience=2,
                                           backend=backend, biased=False, lr_decay=0.9, seed=4)
        model.fit(train, validation=test, callbacks=[lambda e: e["epoch"] >= 12])
        key = f"MF.{backend}.funk_patience"
        history(key, model)
        model_outputs(key, model, train, test)
        fold_in(key, model, train)
        put(f"{key}.similar", model.similar_items(train.item_ids[:5], n=4))
        more = fastcf.Interactions.from_frame(pd.DataFrame({
            "user": ["new1", "new1", train.user_ids[0]], "item": [train.item_ids[0], 999,
                                                                 train.item_ids[1]],
            "rating": [4.0, 3.0, 5.0]}), rating="rating")
        model.partial_fit(more, epochs=2)
        model_outputs(f"{key}.partial", model, train, test)
        put(f"{key}.partial.factors", model.user_factors_)


def neural_models(stringy, implicit):
    train, test = random_split(stringy, test_size=0.2, seed=3)
    for backend in ("numba", "cython", "reference"):
        model = fastcf.MLPRecommender(embedding_dim=8, hidden=(16, 8), epochs=6, patience=2,
                                      batch_size=64, n_threads=1, backend=backend, seed=1)
        model.fit(train, validation=test)
        key = f"MLP.{backend}"
        history(key, model)
        model_outputs(key, model, train, test)
        model = fastcf.MLPRecommender(embedding_dim=8, hidden=(8,), epochs=2, n_threads=1,
                                      sparse_adam=False, dtype=np.float64, backend=backend)
        model.fit(train)
        model_outputs(f"{key}.dense_adam", model, train, test)
        model = fastcf.NeuMF(factors=4, embedding_dim=8, hidden=(16, 8), epochs=2, n_threads=1,
                             backend=backend, seed=2).fit(implicit)
        key = f"NeuMF.{backend}"
        history(key, model)
        model_outputs(key, model, implicit, test)
        put(f"{key}.sampled", sampled_hit_rate_ndcg(model, implicit, test, k=5,
                                                    n_negatives=20, seed=0))


def evaluation(explicit):
    train, test = random_split(explicit, test_size=0.25, seed=4)
    for name, model in (("baseline", fastcf.BaselineOnly()),
                        ("itemknn", fastcf.ItemKNN(k=10, similarity="pearson", mode="means")),
                        ("mf", fastcf.MatrixFactorization(factors=6, epochs=3, seed=0))):
        result = evaluate(model, train, test, k=5)
        put(f"evaluate.{name}", result[[i for i in result.index if not i.endswith("_s")]])
    table = cross_validate(lambda: fastcf.BaselineOnly(), explicit, folds=3)
    put("cross_validate", table[[c for c in table.columns if not c.endswith("_s")]])
    items, _ = fastcf.MatrixFactorization(factors=6, epochs=3).fit(train).recommend(
        train.user_ids, n=5)
    rec = train.item_index(items.ravel()).reshape(items.shape)
    rel = [test.item_index(test.to_frame().query("user == @u")["item"].to_numpy())
           for u in train.user_ids]
    rel = [train.item_index(test.item_ids[r]) for r in rel]
    for fn in (metrics.precision_at_k, metrics.recall_at_k, metrics.ndcg_at_k,
               metrics.map_at_k, metrics.hit_rate_at_k):
        put(f"metrics.{fn.__name__}", fn(rec, rel, 5, per_user=True))
    put("metrics.mrr", metrics.mrr(rec, rel, per_user=True))
    pop = np.diff(train.by_item.indptr).astype(float)
    put("metrics.coverage", metrics.catalogue_coverage(rec, train.n_items))
    put("metrics.novelty", metrics.novelty(rec, pop, train.n_users, per_user=True))
    put("metrics.popularity_bias", metrics.popularity_bias(rec, pop, per_user=True))
    rng = np.random.default_rng(0)
    scores = rng.random((train.n_users, train.n_items))
    import scipy.sparse as sp
    relevant = sp.csr_matrix((np.ones(20), (np.arange(20), np.arange(20) * 3)),
                             shape=(train.n_users, train.n_items))
    put("metrics.auc", metrics.auc(scores, relevant, per_user=True))
    sim = fastcf.similarity(train, "cosine_all", "item")
    put("metrics.diversity", metrics.intra_list_diversity(rec, sim, per_user=True))
    put("metrics.rmse", metrics.rmse([1.0, 2.0, 3.5], [1.5, 2.0, 3.0]))


def splits(explicit):
    for name, parts in (("random", random_split(explicit, 0.3, seed=5)),
                        ("user", user_split(explicit, 0.3, seed=5)),
                        ("temporal", temporal_split(explicit, 0.3)),
                        ("loo", leave_one_out(explicit, seed=5))):
        put(f"split.{name}.train", parts.train.to_frame())
        put(f"split.{name}.test", parts.test.to_frame())
    for j, fold in enumerate(kfold(explicit, 3, seed=1)):
        put(f"split.kfold{j}.test", fold.test.to_frame())


def synthetic():
    data = make_ratings(n_users=500, n_items=300, n_ratings=20_000, seed=7, timestamps=True)
    put("make_ratings", data.to_frame())
    put("make_ratings.f32", make_ratings(n_users=50, n_items=40, n_ratings=500, seed=1,
                                         dtype=np.float32).to_frame())


def movielens():
    if not ML100K:
        return
    data = load_movielens(f"{ML100K}/u1.base")
    test = load_movielens(f"{ML100K}/u1.test")
    put("ml100k.frame", data.to_frame().iloc[::97])
    model = fastcf.ItemKNN(k=40, similarity="pearson_baseline", mode="baseline").fit(data)
    frame = test.to_frame()
    put("ml100k.knn_baseline", model.predict(frame["user"], frame["item"]))
    model = fastcf.MatrixFactorization(factors=20, epochs=3, schedule="blocked",
                                       n_threads=2).fit(data)
    put("ml100k.mf", model.predict(frame["user"], frame["item"]))


def dask_paths(explicit):
    put("distributed.similarity", distributed.similarity_topk(explicit, "pearson", "item", k=6))
    put("distributed.similarity_blocks", distributed.similarity_topk(
        explicit, "cosine_all", "user", k=6, block_rows=17))
    model = fastcf.MatrixFactorization(factors=6, epochs=3, seed=0)
    distributed.fit_mf(model, explicit, grid=3)
    history("distributed.fit_mf", model)
    put("distributed.fit_mf.factors", model.user_factors_)
    put("distributed.recommend", distributed.recommend(model, n=4, block_users=50).compute())


def write(path):
    warnings.simplefilter("ignore")
    backends = ["numba", "cython"]
    explicit, stringy, implicit = data_sets()
    synthetic()
    splits(explicit)
    similarities(explicit, backends)
    similarities(make_ratings(n_users=25, n_items=20, n_ratings=200, seed=9), ["reference"])
    knn_models(explicit, stringy, backends)
    mf_models(stringy, backends + ["reference"])
    neural_models(stringy, implicit)
    evaluation(explicit)
    movielens()
    dask_paths(explicit)
    base = fastcf.BaselineOnly().fit(stringy)
    model_outputs("baseline", base, stringy, stringy)
    np.savez_compressed(path, **OUT)
    print(f"{len(OUT)} arrays -> {path}")


def compare(a, b):
    with np.load(a) as x, np.load(b) as y:
        keys_a, keys_b = set(x.files), set(y.files)
        bad = 0
        for key in sorted(keys_a ^ keys_b):
            print(f"only in {'first' if key in keys_a else 'second'}: {key}")
            bad += 1
        for key in sorted(keys_a & keys_b):
            u, v = x[key], y[key]
            same = u.dtype == v.dtype and u.shape == v.shape and (
                np.array_equal(u, v, equal_nan=u.dtype.kind in "fc"))
            if not same:
                bad += 1
                print(f"DIFFERS: {key} {u.dtype}{u.shape} vs {v.dtype}{v.shape}")
        print(f"{len(keys_a & keys_b)} arrays compared, {bad} differences")
        return bad


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        sys.exit(1 if compare(sys.argv[2], sys.argv[3]) else 0)
