"""Write ``tests/fixtures/surprise_knn.npz``: Surprise's k-NN predictions.

The parity tests for fastcf's UserKNN/ItemKNN hold them to scikit-surprise's
KNNBasic, KNNWithMeans, KNNWithZScore and KNNBaseline without needing it
installed; this script, which does need it (the ``[bench]`` extra), makes the
fixture they load. Re-run it only when the fixture's content should change:

    python benchmarks/make_surprise_knn_fixture.py [--out tests/fixtures/surprise_knn.npz]

The ratings are ``make_frame()`` of ``make_surprise_fixture.py`` (60 users, 40
items, 695 ratings 1..5; user 25 has a single rating, user 17's ratings are all
3, item 20 has a single rating, item 5's ratings are all 4), given to Surprise
sorted by (user, item): then every ``yr[y]`` list runs in ascending raw id, and
Surprise's tie rule below (earlier in ``yr[y]`` wins) is fastcf's (lower
internal index wins), so tied neighbourhoods agree too.
Every algorithm is built with Surprise's defaults apart from ``k``, ``min_k``
and ``sim_options={"name": sim, "user_based": axis == "user"}``: min_support
1, pearson_baseline shrinkage 100, and (for pearson_baseline and for
KNNBaseline) the default ``bsl_options={}``, i.e. ALS baselines with reg_u 15,
reg_i 10, 10 epochs. The rating scale is (1, 5).

Surprise 1.1.5 semantics (``prediction_algorithms/knns.py``, ``algo_base.py``)
-------------------------------------------------------------------------------
Notation: with ``user_based`` x is the user u and y the item i, else x = i and
y = u. ``sim`` is the dense n_x by n_x matrix; its diagonal is 1 for every
measure (set unconditionally, even for a constant row under pearson).
``xr``/``yr`` are ``trainset.ur``/``ir`` (or swapped): for each inner id the
list of (other inner id, rating) in the order the ratings were given to
Surprise (row order of the data frame). Inner ids are order of first
appearance in that same row order.

``predict(uid, iid, r_ui=None, clip=True)``:
  1. raw -> inner ids; an unknown raw id becomes the string ``"UKN__<raw>"``
     (so ``trainset.knows_user``/``knows_item`` is False for it).
  2. ``est = estimate(u, i)``; if it is a tuple, ``est, details = est``;
     ``details["was_impossible"] = False``.
     If ``estimate`` raises ``PredictionImpossible(reason)``:
     ``est = default_prediction()`` = ``trainset.global_mean`` (mean of all
     ratings), ``details = {"was_impossible": True, "reason": reason}``
     (no ``actual_k``).
  3. if ``clip``: ``est = max(lo, min(hi, est))`` with ``(lo, hi) =
     trainset.rating_scale``. Clipping applies to every path (also the
     default prediction and KNNBaseline's bare baseline).

Neighbour selection (all four algorithms, only when u and i are both known):
  candidates = ``[(x2, sim[x, x2], r) for (x2, r) in yr[y]]`` -- every x2
  that rated y, INCLUDING x itself when (u, i) is a training pair (with
  sim[x, x] = 1 and its own rating). Then
  ``heapq.nlargest(k, candidates, key=sim)``, which equals
  ``sorted(candidates, key=sim, reverse=True)[:k]``: a stable sort, so among
  equal similarities the candidate EARLIER in ``yr[y]`` (rated earlier in the
  data order) wins. Only then is ``sim > 0`` applied: non-positive
  similarities among the top k are skipped, never replaced by lower ones (so
  the kept set is "the top k of the positive-similarity candidates" with the
  same tie order). ``actual_k`` = number of kept (positive) neighbours, <= k.
  Sums accumulate in descending-similarity order; ``sum_sim``,
  ``sum_ratings``, ``actual_k`` start as Python int 0.

KNNBasic:
  unknown u or i -> PredictionImpossible("User and/or item is unknown.").
  ``actual_k < min_k`` -> PredictionImpossible("Not enough neighbors.").
  est = sum(sim * r) / sum(sim); details = {"actual_k": actual_k}.
  (With min_k = 0 and no positive neighbour, 0 / 0 raises an uncaught
  ZeroDivisionError -- not exercised here.)
KNNWithMeans:
  unknown u or i -> PredictionImpossible -> global mean.
  mu_x = mean of x's ratings (np.mean over xr[x]).
  est = mu_x + sum(sim * (r - mu_x2)) / sum(sim); if actual_k < min_k the
  numerator is set to 0 (est = mu_x, NOT impossible); if no positive
  neighbour at all the ZeroDivisionError is swallowed (est = mu_x).
  was_impossible is False and actual_k is reported in both fallback cases.
KNNWithZScore:
  as KNNWithMeans with sigma_x = np.std (population, ddof 0) of x's ratings,
  replaced by the overall sigma (np.std of all ratings) when it is exactly 0;
  est = mu_x + (sum(sim * (r - mu_x2) / sigma_x2) / sum(sim)) * sigma_x;
  same min_k / zero-sum fallback to mu_x.
KNNBaseline:
  b_ui = global_mean + bu[u] (if u known) + bi[i] (if i known).
  unknown u or i -> returns the bare float b_ui: NOT impossible
  (was_impossible False, no actual_k, no reason), est = partial baseline.
  Otherwise est = b_ui + sum(sim * (r - b_x2y)) / sum(sim) with
  b_x2y = global_mean + bx[x2] + by[y] (the neighbour's baseline on the same
  y); same min_k / zero-sum fallback to b_ui (not impossible).
  Baselines are ALS with the default bsl_options for every sim.

Stored arrays
-------------
users, items, ratings
    The ratings in the order given to Surprise (int64, int64, float64).
user_order, item_order
    Raw ids in Surprise's inner-id order.
query_uid, query_iid
    Raw ids of the query pairs (int64); unknown ids are absent from the data.
query_kind
    Unicode label per query: train, known_not_train, single_user,
    constant_user, single_item, constant_item, unknown_user, unknown_item,
    unknown_both.
query_in_train
    Whether (uid, iid) is a training rating (bool).
{mode}_{sim}_{axis}_k{k}_mink{min_k}_{field}
    mode in basic, means, zscore, baseline (KNNBasic, KNNWithMeans,
    KNNWithZScore, KNNBaseline); sim in pearson, cosine, msd,
    pearson_baseline; axis in user, item; (k, min_k) in (40, 1), (5, 3).
    field: est_raw (``predict(..., clip=False).est``), est_clipped
    (``clip=True``), was_impossible (bool), actual_k
    (``details.get("actual_k", -1)``, int64), tie_sensitive (bool: this
    script's re-implementation of the rules above gives a different est, by
    more than 1e-9, when equal similarities are broken the other way, i.e.
    the result depends on the tie order described above).
global_mean, bu, bi
    Surprise's global mean and ALS baselines (inner order).
surprise_version
    The version that made the file.

Before writing, the script re-implements the rules above from ``algo.sim``
and the trainset and asserts they reproduce every Surprise prediction
(est to 1e-12, was_impossible, actual_k), so the description is checked.
"""

import argparse
import importlib.util
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE.parents[0] / "tests" / "fixtures" / "surprise_knn.npz"
MODES = ("basic", "means", "zscore", "baseline")
SIMS = ("pearson", "cosine", "msd", "pearson_baseline")
AXES = ("user", "item")
CONFIGS = ((40, 1), (5, 3))


def _load_similarity_fixture_script():
    """make_surprise_fixture.py as a module: its data set and its trainset helper."""
    spec = importlib.util.spec_from_file_location(
        "_make_surprise_fixture", HERE / "make_surprise_fixture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_queries(frame, seed=11):
    """Query pairs (uid, iid, kind) covering ordinary and edge cases, deduplicated."""
    rng = np.random.default_rng(seed)
    users = np.unique(frame["user"].to_numpy())
    items = np.unique(frame["item"].to_numpy())
    train = set(zip(frame["user"].tolist(), frame["item"].tolist()))
    by_user = frame.groupby("user")["rating"]
    by_item = frame.groupby("item")["rating"]
    single_user = by_user.size().index[by_user.size() == 1][0]
    constant_user = by_user.std().index[(by_user.std() == 0) & (by_user.size() > 1)][0]
    single_item = by_item.size().index[by_item.size() == 1][0]
    constant_item = by_item.std().index[(by_item.std() == 0) & (by_item.size() > 1)][0]
    unknown_user, unknown_item = int(users.max()) + 1000, int(items.max()) + 1000

    queries = []
    rows = rng.choice(len(frame), size=60, replace=False)
    queries += [(frame["user"].iat[r], frame["item"].iat[r], "train") for r in rows]
    absent = [(u, i) for u in users for i in items if (u, i) not in train]
    picks = rng.choice(len(absent), size=60, replace=False)
    queries += [(*absent[p], "known_not_train") for p in picks]
    # the single-rating user: its own item plus others
    own = frame.loc[frame["user"] == single_user, "item"].tolist()
    others = rng.choice([i for i in items if i not in own], size=5, replace=False)
    queries += [(single_user, i, "single_user") for i in own + list(others)]
    queries += [(constant_user, i, "constant_user")
                for i in rng.choice(items, size=5, replace=False)]
    queries += [(u, single_item, "single_item")
                for u in rng.choice(users, size=12, replace=False)]
    queries += [(u, constant_item, "constant_item")
                for u in rng.choice(users, size=6, replace=False)]
    queries += [(unknown_user, i, "unknown_user") for i in rng.choice(items, 3, replace=False)]
    queries += [(u, unknown_item, "unknown_item") for u in rng.choice(users, 3, replace=False)]
    queries += [(unknown_user, unknown_item, "unknown_both"),
                (unknown_user + 1, unknown_item + 1, "unknown_both")]
    seen, out = set(), []
    for u, i, kind in queries:
        if (int(u), int(i)) not in seen:
            seen.add((int(u), int(i)))
            out.append((int(u), int(i), kind))
    uid = np.array([q[0] for q in out], dtype=np.int64)
    iid = np.array([q[1] for q in out], dtype=np.int64)
    kind = np.array([q[2] for q in out])
    in_train = np.array([(u, i) in train for u, i, _ in out], dtype=bool)
    return uid, iid, kind, in_train


def _reimplemented(algo, mode, uid, iid, flip_ties=False):
    """Surprise's prediction per the module docstring: (est, was_impossible, actual_k)."""
    ts = algo.trainset
    ub = algo.sim_options["user_based"]
    u = ts._raw2inner_id_users.get(uid)
    i = ts._raw2inner_id_items.get(iid)
    mu = ts.global_mean
    if u is None or i is None:
        if mode != "baseline":
            return mu, True, -1
        est = mu
        if u is not None:
            est += algo.bu[u]
        if i is not None:
            est += algo.bi[i]
        return est, False, -1
    x, y = (u, i) if ub else (i, u)
    yr = ts.ir if ub else ts.ur
    cands = [(x2, algo.sim[x, x2], r) for (x2, r) in yr[y]]
    if flip_ties:
        cands = cands[::-1]
    top = sorted(cands, key=lambda t: t[1], reverse=True)[:algo.k]
    sum_sim = sum_ratings = actual_k = 0
    for x2, s, r in top:
        if s > 0:
            sum_sim += s
            actual_k += 1
            if mode == "basic":
                sum_ratings += s * r
            elif mode == "means":
                sum_ratings += s * (r - algo.means[x2])
            elif mode == "zscore":
                sum_ratings += s * (r - algo.means[x2]) / algo.sigmas[x2]
            else:
                sum_ratings += s * (r - (mu + algo.bx[x2] + algo.by[y]))
    if mode == "basic":
        if actual_k < algo.min_k:
            return mu, True, -1
        return sum_ratings / sum_sim, False, actual_k
    if actual_k < algo.min_k:
        sum_ratings = 0
    est = {"means": lambda: algo.means[x], "zscore": lambda: algo.means[x],
           "baseline": lambda: mu + algo.bu[u] + algo.bi[i]}[mode]()
    if sum_sim != 0:
        scale = algo.sigmas[x] if mode == "zscore" else 1.0
        est += sum_ratings / sum_sim * scale
    return est, False, actual_k


def main(argv=None):
    import surprise

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    # Sorted by (user, item): Surprise's yr[y] lists then run in ascending raw
    # id, so its tie rule (earlier in yr[y] wins) is fastcf's (lower index wins).
    similarity_fixture = _load_similarity_fixture_script()
    frame = similarity_fixture.make_frame().sort_values(["user", "item"], kind="stable")
    frame = frame.reset_index(drop=True)
    trainset, arrays = similarity_fixture.surprise_trainset(frame)
    qu, qi, kind, in_train = make_queries(frame)
    arrays.update({
        "query_uid": qu, "query_iid": qi, "query_kind": kind, "query_in_train": in_train,
    })
    classes = {"basic": surprise.KNNBasic, "means": surprise.KNNWithMeans,
               "zscore": surprise.KNNWithZScore, "baseline": surprise.KNNBaseline}
    summary = []
    for mode in MODES:
        for sim in SIMS:
            for axis in AXES:
                for k, min_k in CONFIGS:
                    algo = classes[mode](k=k, min_k=min_k, verbose=False,
                                         sim_options={"name": sim,
                                                      "user_based": axis == "user"})
                    algo.fit(trainset)
                    if not np.all(np.isfinite(algo.sim)):
                        raise RuntimeError(f"{mode}/{sim}/{axis}: non-finite similarities")
                    raw = [algo.predict(int(u), int(i), clip=False) for u, i in zip(qu, qi)]
                    clipped = [algo.predict(int(u), int(i), clip=True) for u, i in zip(qu, qi)]
                    est = np.array([p.est for p in raw], dtype=np.float64)
                    imp = np.array([p.details["was_impossible"] for p in raw], dtype=bool)
                    ak = np.array([p.details.get("actual_k", -1) for p in raw], dtype=np.int64)
                    tie = np.zeros(len(qu), dtype=bool)
                    for n, (u, i) in enumerate(zip(qu.tolist(), qi.tolist())):
                        mine = _reimplemented(algo, mode, u, i)
                        if not (abs(mine[0] - est[n]) <= 1e-12 and mine[1] == imp[n]
                                and mine[2] == ak[n]):
                            raise AssertionError(f"{mode}/{sim}/{axis}/k{k}: query {n} "
                                                 f"({u}, {i}): {mine} vs {raw[n]}")
                        flipped = _reimplemented(algo, mode, u, i, flip_ties=True)
                        tie[n] = abs(flipped[0] - mine[0]) > 1e-9
                    key = f"{mode}_{sim}_{axis}_k{k}_mink{min_k}"
                    arrays[f"{key}_est_raw"] = est
                    arrays[f"{key}_est_clipped"] = np.array([p.est for p in clipped],
                                                            dtype=np.float64)
                    arrays[f"{key}_was_impossible"] = imp
                    arrays[f"{key}_actual_k"] = ak
                    arrays[f"{key}_tie_sensitive"] = tie
                    known = ak >= 0
                    summary.append((key, int(imp.sum()), int((known & (ak < min_k)).sum()),
                                    int((est != arrays[f"{key}_est_clipped"]).sum()),
                                    int(tie.sum())))
                    if mode == "baseline" and "bu" not in arrays:
                        arrays["bu"] = np.asarray(algo.bu, dtype=np.float64)
                        arrays["bi"] = np.asarray(algo.bi, dtype=np.float64)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"{'config':<44} impossible below_min_k clipped tie_sensitive")
    for key, n_imp, n_low, n_clip, n_tie in summary:
        print(f"{key:<44} {n_imp:10d} {n_low:11d} {n_clip:7d} {n_tie:13d}")
    print(f"wrote {args.out}: {len(frame)} ratings, {trainset.n_users} users, "
          f"{trainset.n_items} items, {len(qu)} queries (Surprise {surprise.__version__})")


if __name__ == "__main__":
    main()
