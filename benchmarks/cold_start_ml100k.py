"""Item cold start on MovieLens 100K: feature mapping, the hybrid model and LightFM, same run.

Protocol (cold). The items of ``u.data`` are shuffled (numpy
``default_rng(seed)``) and 20 % of them (336 of 1682) held out with all
their ratings; the training data is the rest, every rating an interaction,
and ``Interactions.with_features(..., new_ids="add")`` puts the held-out
items back into its catalogue as items with features and no interaction.
Every user who rated a held-out item ranks the held-out items only (the
warm items are not candidates; nothing is excluded, as nobody has seen a
cold item in training). Relevance is binary: the user rated the item (any
rating). Per user u with relevant set R_u among the C cold items and scores
s_u over them:

- AUC_u = the share of (relevant, non-relevant) pairs of cold items ordered
  right (ties 1/2), ``fastcf.metrics.auc``;
- NDCG@10_u = sum over the first 10 positions i (0-based) holding a relevant
  item of 1/log2(i + 2), divided by the same sum over min(10, |R_u|)
  positions (``fastcf.metrics.ndcg_at_k``; the top 10 by descending score,
  ties by item position);

both averaged over those users, then over the seeds of the hold-out.

Side features (``fastcf.datasets.read_movielens_features``): items the 19
genre flags of ``u.item`` and the release decade, one-hot; users one-hot age
bucket, gender and occupation of ``u.user``.

Rows:

- popularity from features: the cold items have no popularity; each gets the
  mean number of training ratings of the warm items with the same feature
  row, or, where no warm item has that row, the mean over its features f of
  the mean popularity of the warm items that have f. One ranking for all.
- ``FeatureMapping`` (ridge, reg 1, Gantner et al. 2010) on MF (ratings),
  ALS and BPR (interactions), the cold items scored with the mapped factors;
  the time is the model's fit plus the mapping's.
- ``HybridFactorization`` and LightFM (lightfm-next) with the same loss,
  factors, epochs, learning rate, schedule (adagrad), ``max_sampled`` and 2
  threads: items described by their features only ("features"), or by their
  own id plus their features ("id + features"); users by their id, or by
  their id plus their features ("+ user features").

Protocol (warm): DESIGN.md's ranking protocol (per user 75 % of the ratings
to train, 25 % to test, the full catalogue ranked with the training items
excluded, NDCG@10 and P@10): the hybrid model and LightFM without features
(ids only) and with them.

Fit seconds are the best of ``--repeats`` runs (fastcf's models are fitted
once before the timing so Numba's compilation is not counted); the load
average is printed beside the table, as the machine is shared.

Usage::

    python benchmarks/cold_start_ml100k.py --data ../shared/data/ml-100k \\
        [--seeds 0,1,2] [--repeats 3] [--threads 2] [--factors 64] [--epochs 30] [--out DIR]
"""

import argparse
import time
from functools import partial

import numpy as np
import scipy.sparse as sp
from _common import best_of, finish, load_average

import fastcf
from fastcf.bench import ranking_split
from fastcf.bench.algorithms import ranking
from fastcf.datasets import read_movielens_features
from fastcf.metrics import auc, ndcg_at_k

#: Share of the items held out with all their ratings.
COLD_SHARE = 0.2
#: List length of NDCG.
N = 10
#: The ridge penalty of the mapping rows.
MAPPING_REG = 1.0
#: The hybrid / LightFM settings shared by both libraries (LightFM's defaults but
#: the factors and epochs, which the command line sets).
HYBRID_SETTINGS = {"lr": 0.05, "learning_schedule": "adagrad", "max_sampled": 10}


# ------------------------------------------------------------------- the data
def load(path):
    """(ratings, user features, item features) of the ML-100k folder."""
    data = fastcf.load_movielens(path)
    user_features, item_features = read_movielens_features(path, decades=True)
    return data, user_features, item_features


def implicit(data):
    """The same entries and features with every rating an interaction."""
    out = fastcf.Interactions.from_csr(data.by_user.to_scipy(), data.user_ids, data.item_ids,
                                       implicit=True)
    return out.with_features(data.user_features, data.item_features)


def cold_split(data, user_features, item_features, seed):
    """(train with the cold items in its catalogue, cold item positions in train, relevant
    CSR (train users x cold items))."""
    rng = np.random.default_rng(seed)
    cold_ids = np.sort(rng.choice(data.item_ids, round(COLD_SHARE * data.n_items),
                                  replace=False))
    entry_cold = np.isin(data.item_ids, cold_ids)[data.by_user.indices]
    # the cold items leave with their ratings and come back as a catalogue of features
    train = data.take(np.flatnonzero(~entry_cold)).with_features(
        user_features, item_features, new_ids="add")
    cold_cols = train.item_index(cold_ids)
    column_of = np.full(train.n_items, -1)
    column_of[cold_cols] = np.arange(len(cold_cols))
    users = train.user_index(data.user_ids[data.entry_users()[entry_cold]])
    items = column_of[train.item_index(data.item_ids[data.by_user.indices[entry_cold]])]
    relevant = sp.csr_matrix((np.ones(len(users)), (users, items)),
                             shape=(train.n_users, len(cold_cols)))
    return train, cold_cols, relevant


def cold_metrics(scores, relevant):
    """{"auc", "ndcg"} of dense scores (train users x cold items)."""
    top = np.argsort(-scores, axis=1, kind="stable")[:, :N]
    return {"auc": float(auc(scores, relevant)), "ndcg": float(ndcg_at_k(top, relevant, N))}


def factor_scores(model, cold_cols):
    """Every user's scores of the cold items from a factor model's ranking factors."""
    user_vectors, item_vectors, user_offset, item_offset, _ = model._ranking_factors()
    scores = user_vectors.astype(np.float64) @ item_vectors[cold_cols].T.astype(np.float64)
    if user_offset is not None:
        scores += user_offset.astype(np.float64)[:, None]
    if item_offset is not None:
        scores += item_offset[cold_cols].astype(np.float64)
    return scores


# ------------------------------------------------------------------- the rows
def popularity_from_features(train, cold_cols):
    """Predicted popularity of the cold items (module docstring): one score row."""
    counts = train.item_counts().astype(np.float64)
    x = train.item_features.matrix.tocsr()
    warm = np.flatnonzero(counts > 0)
    keys = {}
    for i in warm:
        keys.setdefault(tuple(x.indices[x.indptr[i]:x.indptr[i + 1]]), []).append(counts[i])
    has = x[warm].T.tocsr()  # feature -> the warm items with it
    per_feature = np.array([counts[warm][has.indices[has.indptr[f]:has.indptr[f + 1]]].mean()
                            if has.indptr[f + 1] > has.indptr[f] else 0.0
                            for f in range(x.shape[1])])
    predicted = np.empty(len(cold_cols))
    for j, i in enumerate(cold_cols):
        row = x.indices[x.indptr[i]:x.indptr[i + 1]]
        same = keys.get(tuple(row))
        predicted[j] = np.mean(same) if same else (per_feature[row].mean() if len(row) else 0.0)
    return np.tile(predicted, (train.n_users, 1))


def mapping_rows(explicit, implicit_train, cold_cols, args, seed):
    """FeatureMapping on MF, ALS and BPR: (name, fit seconds, scores)."""
    models = {
        "MF": (explicit, lambda: fastcf.MatrixFactorization(
            factors=args.factors, epochs=20, seed=seed, n_threads=args.threads)),
        "ALS": (implicit_train, lambda: fastcf.ALS(
            factors=args.factors, reg=0.01, alpha=1.0, iterations=15, seed=seed,
            n_threads=args.threads)),
        "BPR": (implicit_train, lambda: fastcf.BPR(
            factors=args.factors, iterations=100, lr=0.01, reg=0.001, seed=seed,
            n_threads=args.threads)),
    }
    rows = []
    for name, (train, make) in models.items():
        make().fit(train)  # Numba's compilation is not timed

        def fit(train=train, make=make):
            model = make().fit(train)
            return model, fastcf.FeatureMapping(reg=MAPPING_REG).fit(model, train.item_features)

        seconds, (model, mapping) = best_of(args.repeats, fit)
        cold = train.item_features.matrix[cold_cols]
        rows.append((f"FeatureMapping on {name}", seconds, mapping.score(model, cold)))
    return rows


def identity_features(ids, prefix):
    """A ``Features`` of one indicator column per id (LightFM's default representation)."""
    return fastcf.Features(sp.identity(len(ids), format="csr"), ids,
                           names=[f"{prefix}{i}" for i in range(len(ids))])


def with_identity(features):
    """[I | features]: each row's own indicator, then its features (for LightFM)."""
    return sp.hstack([sp.identity(len(features), format="csr"), features.matrix]).tocsr()


def writable(features):
    """A features' matrix as a float32 CSR LightFM can take (it refuses read-only arrays)."""
    return sp.csr_matrix(features.matrix, dtype=np.float32, copy=True)


#: The side variants: (label, items get their id, users get their features).
VARIANTS = (("features", False, False), ("id + features", True, False),
            ("id + features + user features", True, True))


def hybrid_rows(train, cold_cols, loss, args, seed, variants=VARIANTS):
    """HybridFactorization and LightFM on the same matrices: (name, seconds, scores)."""
    rows = []
    for label, item_id, user_side in variants:
        users = train.user_features if user_side else None
        items = train.item_features
        if item_id:
            data = train.with_features(users, items)
            hybrid = dict(identity=True)
        else:  # the items' own id left out: users keep theirs as an explicit indicator
            user_matrix = identity_features(train.user_ids, "user=") if users is None else None
            if user_matrix is None:
                raise ValueError("a variant without item ids needs users without features")
            data = train.with_features(user_matrix, items)
            hybrid = dict(identity=False)
        rows.append((f"Hybrid {loss}, {label}",) + fit_hybrid(data, cold_cols, loss, args, seed,
                                                             **hybrid))
        lightfm_items = with_identity(items) if item_id else writable(items)
        lightfm_users = None if users is None else with_identity(users)
        rows.append((f"LightFM {loss}, {label}",) + fit_lightfm(
            train, lightfm_users, lightfm_items, cold_cols, loss, args, seed))
    return rows


def fit_hybrid(data, cold_cols, loss, args, seed, identity):
    def make():
        return fastcf.HybridFactorization(factors=args.factors, loss=loss, epochs=args.epochs,
                                          identity=identity, n_threads=args.threads, seed=seed,
                                          **HYBRID_SETTINGS)

    make().set_params(epochs=1).fit(data)  # Numba's compilation is not timed
    seconds, model = best_of(args.repeats, lambda: make().fit(data))
    return seconds, factor_scores(model, cold_cols)


def lightfm_model(loss, args, seed):
    from lightfm import LightFM

    return LightFM(no_components=args.factors, loss=loss, learning_rate=HYBRID_SETTINGS["lr"],
                   learning_schedule=HYBRID_SETTINGS["learning_schedule"],
                   max_sampled=HYBRID_SETTINGS["max_sampled"], random_state=seed)


def fit_lightfm(train, user_matrix, item_matrix, cold_cols, loss, args, seed):
    interactions = sp.coo_matrix(train.by_user.to_scipy(), dtype=np.float32, copy=True)
    interactions.data[:] = 1.0

    def fit():
        model = lightfm_model(loss, args, seed)
        return model.fit(interactions, user_features=user_matrix, item_features=item_matrix,
                         epochs=args.epochs, num_threads=args.threads)

    seconds, model = best_of(args.repeats, fit)
    return seconds, lightfm_scores(model, user_matrix, item_matrix)[:, cold_cols]


def lightfm_scores(model, user_matrix, item_matrix):
    user_bias, user_vectors = model.get_user_representations(user_matrix)
    item_bias, item_vectors = model.get_item_representations(item_matrix)
    return (user_vectors.astype(np.float64) @ item_vectors.T.astype(np.float64)
            + user_bias[:, None] + item_bias)


# ------------------------------------------------------------------ warm users
#: Warm variants: (label, item features, user features); ids always in.
WARM_VARIANTS = (("ids only", False, False), ("id + item features", True, False),
                 ("id + item + user features", True, True))


def warm_rows(data, loss, args, seed):
    """The ranking protocol for the hybrid model and LightFM without and with features:
    (name, fit seconds, {"ndcg", "precision"})."""
    from fastcf.evaluation import recommended_indices

    train, test = ranking_split(data, seed)
    users, n, score = ranking(train, test, metrics=("ndcg", "precision"))
    seen = train.by_user.to_scipy()
    interactions = sp.coo_matrix(seen, dtype=np.float32, copy=True)
    interactions.data[:] = 1.0
    rows = []
    for label, item_side, user_side in WARM_VARIANTS:
        users_f = train.user_features if user_side else None
        items_f = train.item_features if item_side else None
        fitted = train.with_features(users_f, items_f)

        def make(fitted=fitted):
            return fastcf.HybridFactorization(
                factors=args.factors, loss=loss, epochs=args.epochs, n_threads=args.threads,
                seed=seed, **HYBRID_SETTINGS).fit(fitted)

        seconds, model = best_of(args.repeats, make)
        items, scores = model.recommend(train.user_ids[users], n)
        rows.append((f"Hybrid {loss}, {label}", seconds,
                     score(recommended_indices(model, items, scores))))

        lightfm_users = None if users_f is None else with_identity(users_f)
        lightfm_items = None if items_f is None else with_identity(items_f)

        def fit(users_m=lightfm_users, items_m=lightfm_items):
            return lightfm_model(loss, args, seed).fit(
                interactions, user_features=users_m, item_features=items_m,
                epochs=args.epochs, num_threads=args.threads)

        seconds, model = best_of(args.repeats, fit)
        full = lightfm_scores(model, lightfm_users, lightfm_items)[users]
        full[seen[users].nonzero()] = -np.inf  # the training items are not recommended
        top = np.argsort(-full, axis=1, kind="stable")[:, :n]
        rows.append((f"LightFM {loss}, {label}", seconds, score(top)))
    return rows


# ------------------------------------------------------------------------ main
def run(args):
    data, user_features, item_features = load(args.data)
    print(f"ML-100k: {data.nnz} ratings, {data.n_users} users x {data.n_items} items; "
          f"{user_features.n_features} user features, {item_features.n_features} item "
          f"features; load {load_average()}", flush=True)
    cold, warm = {}, {}
    for seed in args.seeds:
        train, cold_cols, relevant = cold_split(data, user_features, item_features, seed)
        implicit_train = implicit(train)
        print(f"seed {seed}: {len(cold_cols)} cold items, {relevant.nnz} held-out ratings of "
              f"{int((np.diff(relevant.indptr) > 0).sum())} users", flush=True)
        rows = [("popularity from features", *best_of(
            args.repeats, partial(popularity_from_features, implicit_train, cold_cols)))]
        rows += mapping_rows(train, implicit_train, cold_cols, args, seed)
        for loss in args.losses:
            rows += hybrid_rows(implicit_train, cold_cols, loss, args, seed)
        for name, seconds, scores in rows:
            metrics = cold_metrics(scores, relevant)
            print(f"  cold  {name}: AUC {metrics['auc']:.4f}, NDCG@10 {metrics['ndcg']:.4f}, "
                  f"fit {seconds:.2f} s (load {load_average()})", flush=True)
            _record(cold, name, metrics, seconds)
        if args.warm:
            full = implicit(data.with_features(user_features, item_features))
            for loss in args.losses:
                for name, seconds, metrics in warm_rows(full, loss, args, seed):
                    print(f"  warm  {name}: NDCG@10 {metrics['ndcg']:.4f}, P@10 "
                          f"{metrics['precision']:.4f}, fit {seconds:.2f} s (load "
                          f"{load_average()})", flush=True)
                    _record(warm, name, {k: metrics[k] for k in ("ndcg", "precision")},
                            seconds)
    return cold, warm


def _cell(values, digits=4):
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


#: The LightFM row a mapping row's fit is compared with: the most accurate cold one.
MAPPING_PEER = "LightFM warp, features"


def _lightfm_twin(name):
    """The LightFM row a fastcf row is timed against (None for LightFM's own rows)."""
    if name.startswith("Hybrid"):
        return name.replace("Hybrid", "LightFM", 1)
    return MAPPING_PEER if name.startswith("FeatureMapping") else None


LABELS = {"auc": "AUC", "ndcg": "NDCG@10", "precision": "P@10"}


def _table(title, table, metrics):
    """Markdown lines of one table: the metrics, the fit seconds, the speed-up over LightFM."""
    lines = [f"| {title} | " + " | ".join(LABELS[m] for m in metrics)
             + " | fit s | LightFM's fit / this fit |", "|---" * (len(metrics) + 3) + "|"]
    for name, cell in table.items():
        twin = table.get(_lightfm_twin(name))
        speedup = "" if twin is None else _cell(
            np.asarray(twin["fit_s"]) / np.asarray(cell["fit_s"]), 1) + "x"
        values = " | ".join(_cell(cell[m]) for m in metrics)
        lines.append(f"| {name} | {values} | {_cell(cell['fit_s'], 2)} | {speedup} |")
    return lines


def _record(table, name, metrics, seconds):
    """Append one seed's metrics and fit seconds to ``table[name]``."""
    cell = table.setdefault(name, {})
    for key, value in {**metrics, "fit_s": seconds}.items():
        cell.setdefault(key, []).append(float(value))


def markdown(results):
    args = results["settings"]
    lines = [f"Item cold start, ML-100k, {int(COLD_SHARE * 100)} % of the items held out "
             f"(seeds {args['seeds']}), {args['factors']} factors, {args['epochs']} epochs, "
             f"{args['threads']} threads; fit: best of {args['repeats']}; load before "
             f"{results['load_before']}, after {results['load_after']}", "",
             f"LightFM's fit / this fit: a hybrid row's LightFM twin; a mapping row's, "
             f"{MAPPING_PEER} (the model's fit plus the mapping's)", "",
             *_table("cold items", results["cold"], ("auc", "ndcg"))]
    if results["warm"]:
        lines += ["", *_table("warm (ranking protocol)", results["warm"], ("ndcg", "precision"))]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="../shared/data/ml-100k")
    parser.add_argument("--seeds", default="0", help="comma-separated hold-out seeds")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--losses", default="warp,bpr")
    parser.add_argument("--no-warm", dest="warm", action="store_false",
                        help="skip the warm ranking-protocol table")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.losses = args.losses.split(",")
    load_before = load_average()
    started = time.perf_counter()
    cold, warm = run(args)
    results = {"settings": {k: v for k, v in vars(args).items() if k != "out"},
               "load_before": load_before, "cold": cold, "warm": warm,
               "seconds": time.perf_counter() - started}
    finish(results, markdown, args.out)


if __name__ == "__main__":
    main()
