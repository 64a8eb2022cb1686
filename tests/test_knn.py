"""UserKNN / ItemKNN: backends against the reference, storage modes, recommend, fold-in,
persistence and bad input. (Parity with Surprise itself is in test_knn_parity.py; the
kernels they run are tested in tests/kernels/.)"""

import numpy as np
import pandas as pd
import pytest
from conftest import DTYPES, make_frame

import fastcf
from fastcf import Interactions, ItemKNN, UserKNN
from fastcf import _neighborhood as knn_module

COMPILED = ["numba", "cython"]
MODELS = [UserKNN, ItemKNN]
MODES = ["basic", "means", "zscore", "baseline"]


# -------------------------------------------------------------- estimators
@pytest.fixture(scope="module")
def data():
    return Interactions.from_frame(make_frame(n_users=40, n_items=25, density=0.35, seed=8),
                                   rating="rating")


@pytest.fixture(scope="module")
def pairs(data):
    rng = np.random.default_rng(9)
    users = data.user_ids[rng.integers(0, data.n_users, 200)]
    items = data.item_ids[rng.integers(0, data.n_items, 200)]
    return users, items


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("dtype", DTYPES)
def test_backends_match_reference(data, pairs, cls, mode, backend, dtype):
    options = {"k": 5, "min_k": 2, "similarity": "pearson", "mode": mode, "dtype": dtype}
    want = cls(backend="reference", **options).fit(data).predict(*pairs)
    got = cls(backend=backend, **options).fit(data).predict(*pairs)
    np.testing.assert_allclose(got, want, rtol=1e-9 if dtype == np.float64 else 1e-4,
                               atol=0 if dtype == np.float64 else 1e-4)


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("backend", COMPILED)
def test_thread_count_is_bit_identical(data, pairs, cls, backend):
    one = cls(similarity="cosine", backend=backend, n_threads=1).fit(data).predict(*pairs)
    two = cls(similarity="cosine", backend=backend, n_threads=2).fit(data).predict(*pairs)
    assert np.array_equal(one, two)


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("similarity", ["pearson", "pearson_baseline", "msd"])
def test_on_the_fly_similarity_equals_the_dense_matrix(data, pairs, cls, similarity,
                                                       monkeypatch):
    dense = cls(similarity=similarity, mode="means").fit(data)
    monkeypatch.setattr(knn_module, "DENSE_SIMILARITY_BUDGET", 0)
    monkeypatch.setattr(knn_module, "KNN_BLOCK_BYTES", 64)  # many small blocks
    fly = cls(similarity=similarity, mode="means").fit(data)
    assert str(dense.storage_) == "dense" and str(fly.storage_) == "on_the_fly"
    np.testing.assert_allclose(fly.predict(*pairs), dense.predict(*pairs), rtol=1e-12)
    users = data.user_ids[:8]
    np.testing.assert_array_equal(fly.recommend(users, 5)[0], dense.recommend(users, 5)[0])


@pytest.mark.parametrize("cls", MODELS)
def test_max_neighbors_keeps_the_top_m_per_row(data, pairs, cls):
    n = data.n_users if cls is UserKNN else data.n_items
    full = cls(similarity="pearson", k=10).fit(data)
    every = cls(similarity="pearson", k=10, max_neighbors=n - 1).fit(data)
    np.testing.assert_allclose(every.predict(*pairs), full.predict(*pairs), rtol=1e-12)
    few = cls(similarity="pearson", k=10, max_neighbors=3).fit(data)
    assert np.all(np.diff(few.nbr_indptr_) <= 3)
    details = few.predict_details(*pairs)
    assert details["actual_k"].max() <= 3 + 1  # its 3 neighbours, and itself on a seen pair


def _brute_force_knn(model, data, user, item, k, min_k):
    """Surprise's KNNWithMeans for one pair, from the model's own similarities."""
    x, y = (user, item) if model._axis == "user" else (item, user)
    x_csr = data.by_user if model._axis == "user" else data.by_item
    y_csr = data.by_item if model._axis == "user" else data.by_user
    means = [x_csr.data[x_csr.indptr[r]:x_csr.indptr[r + 1]].mean()
             for r in range(x_csr.shape[0])]
    cands = []
    for e in range(y_csr.indptr[y], y_csr.indptr[y + 1]):
        x2, r = y_csr.indices[e], y_csr.data[e]
        cands.append((model.sim_[x, x2], x2, r))
    cands.sort(key=lambda t: (-t[0], t[1]))
    top = [c for c in cands[:k] if c[0] > 0]
    if len(top) < min_k:
        return means[x]
    return means[x] + sum(s * (r - means[x2]) for s, x2, r in top) / sum(s for s, _, _ in top)


@pytest.mark.parametrize("cls", MODELS)
def test_means_mode_matches_a_brute_force_computation(data, cls):
    model = cls(similarity="cosine", mode="means", k=4, min_k=2, clip=False).fit(data)
    for u in range(0, data.n_users, 7):
        for i in range(0, data.n_items, 5):
            want = _brute_force_knn(model, data, u, i, 4, 2)
            got = model.predict(data.user_ids[u], data.item_ids[i])[0]
            assert got == pytest.approx(want, rel=1e-12)


# --------------------------------------------------------------- recommend
@pytest.mark.parametrize("cls", MODELS)
def test_recommend_excludes_seen_sorted_deterministic(data, cls):
    model = cls(similarity="cosine", k=6).fit(data)
    users = data.user_ids
    items, scores = model.recommend(users, 8)
    again, _ = model.recommend(users, 8)
    np.testing.assert_array_equal(items, again)
    for r in range(len(users)):
        seen = set(data.item_ids[data.by_user.indices[data.by_user.indptr[r]:
                                                      data.by_user.indptr[r + 1]]])
        valid = ~np.isnan(scores[r])
        assert not seen & set(items[r][valid])
        assert np.all(np.diff(scores[r][valid]) <= 0)
        assert len(set(items[r][valid])) == valid.sum()
    included, _ = model.recommend(users[:3], 8, exclude_seen=False)
    assert included.shape == (3, 8)


def _sum_scores(sim, model, data):
    """The ranking score by definition, from dense similarities ``sim`` of the targets."""
    n = sim.shape[0]
    lists = np.zeros((n, n))
    for x in range(n):
        row = sim[x].copy()
        row[x] = -np.inf
        order = sorted(range(n), key=lambda j: (-row[j], j))[:model.k]
        for j in order:
            if row[j] > 0:
                lists[x, j] = row[j]
    ratings = data.by_user.to_scipy().toarray()
    return lists @ ratings if model._axis == "user" else ratings @ lists


# pearson ranks by its similarities shrunk by 100 (predict: unshrunk) unless told otherwise;
# cosine_all and a given shrinkage rank by the model's own
@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("options, ranked_shrinkage", [
    ({"similarity": "pearson"}, 100.0), ({"similarity": "pearson", "rank_shrinkage": 0}, 0.0),
    ({"similarity": "pearson", "shrinkage": 5}, 5.0),
    ({"similarity": "msd", "rank_shrinkage": 20}, 20.0),
    ({"similarity": "cosine_all"}, 0.0), ({"similarity": "jaccard"}, 0.0)])
def test_recommend_scores_are_the_neighbourhood_sums(data, cls, options, ranked_shrinkage):
    model = cls(k=5, **options).fit(data)
    sim = fastcf.similarity(data, options["similarity"], model._axis, shrinkage=ranked_shrinkage)
    want = _sum_scores(sim, model, data)
    items, scores = model.recommend(data.user_ids, data.n_items, exclude_seen=False)
    for r in range(data.n_users):
        np.testing.assert_allclose(scores[r], np.sort(want[r])[::-1], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(want[r][model.item_index(items[r])], scores[r],
                                   rtol=1e-12, atol=1e-12)
    # predict is Surprise's: the model's own similarities, never the ranking's
    plain = cls(k=5, **{**options, "rank_shrinkage": None}).fit(data)
    users, items = data.user_ids[:10], data.item_ids[:10]
    np.testing.assert_array_equal(model.predict(users, items), plain.predict(users, items))


@pytest.mark.parametrize("cls", MODELS)
def test_recommend_unknown_users_get_popular_items_and_are_reported(data, cls):
    model = cls().fit(data)
    items, scores, unknown = model.recommend(["nobody", data.user_ids[0]], 3,
                                             return_unknown=True)
    assert unknown.tolist() == [True, False]
    popularity = np.diff(data.by_item.indptr)
    best = sorted(range(data.n_items), key=lambda i: (-popularity[i], i))[:3]
    np.testing.assert_array_equal(items[0], data.item_ids[best])


@pytest.mark.parametrize("cls", MODELS)
def test_recommend_candidates(data, cls):
    model = cls().fit(data)
    candidates = data.item_ids[[2, 5, 9, 11]]
    items, scores = model.recommend(data.user_ids[:5], 10, candidates=candidates,
                                    exclude_seen=False)
    assert items.shape == (5, 4) and set(items.ravel()) <= set(candidates)
    with pytest.raises(ValueError, match="unknown candidate item"):
        model.recommend(data.user_ids[:2], 3, candidates=[-999])
    with pytest.raises(ValueError, match="n == 0"):
        model.recommend(data.user_ids[:2], 0)


def _restricted(items, scores, candidates, width):
    """The first ``width`` entries of full rankings whose item is a candidate (NaN padded)."""
    out_items = np.zeros((len(items), width), dtype=items.dtype)
    out_scores = np.full((len(items), width), np.nan)
    for r in range(len(items)):
        keep = np.isin(items[r], candidates) & ~np.isnan(scores[r])
        kept = min(width, int(keep.sum()))
        out_items[r, :kept] = items[r][keep][:kept]
        out_scores[r, :kept] = scores[r][keep][:kept]
    return out_items, out_scores


def _assert_same_lists(got, want):
    valid = ~np.isnan(want[1])
    np.testing.assert_array_equal(np.isnan(got[1]), ~valid)
    np.testing.assert_array_equal(got[0][valid], want[0][valid])
    np.testing.assert_array_equal(got[1][valid], want[1][valid])  # bit for bit


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("backend", ["numba", "cython", "reference"])
@pytest.mark.parametrize("similarity, mode, storage", [
    ("pearson", "means", "dense"), ("cosine_all", "basic", "neighbors"),
    ("pearson_baseline", "baseline", "on_the_fly"), ("msd", "basic", "dense")])
def test_candidates_rank_as_the_fused_kernel(data, cls, backend, similarity, mode, storage,
                                             monkeypatch):
    """``recommend(candidates=)`` scores dense blocks (scipy products + topk) while plain
    ``recommend`` runs the fused scored_topk kernel: the two give the same lists, bit
    for bit -- the full fused ranking restricted to the candidates."""
    if storage == "on_the_fly":
        monkeypatch.setattr(knn_module, "DENSE_SIMILARITY_BUDGET", 0)
    model = cls(k=6, similarity=similarity, mode=mode, backend=backend,
                max_neighbors=8 if storage == "neighbors" else None).fit(data)
    assert str(model.storage_) == storage
    users = np.concatenate([data.user_ids, ["nobody"]])
    full = model.recommend(users, n=data.n_items)
    for candidates, n in ((data.item_ids, 7), (data.item_ids[::3], 4), (data.item_ids[:2], 5)):
        for exclude_seen in (True, False):
            want = _restricted(*model.recommend(users, n=data.n_items,
                                                exclude_seen=exclude_seen),
                               candidates, min(n, len(candidates)))
            got = model.recommend(users, n=n, candidates=candidates, exclude_seen=exclude_seen)
            _assert_same_lists(got, want)
    _assert_same_lists(model.recommend(users, n=5, candidates=data.item_ids),
                       (full[0][:, :5], full[1][:, :5]))
    ratings = [{data.item_ids[0]: 5.0, data.item_ids[3]: 2.0}, {data.item_ids[7]: 4.0}]
    new_full = model.recommend_new(ratings, n=data.n_items)
    got = model.recommend_new(ratings, n=3, candidates=data.item_ids[1::2])
    _assert_same_lists(got, _restricted(*new_full, data.item_ids[1::2], 3))


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("similarity, mode, fitted", [
    ("pearson", "means", False), ("msd", "zscore", False), ("cosine", "basic", False),
    ("pearson", "baseline", True), ("pearson_baseline", "means", True)])
def test_biases_are_fitted_only_where_the_model_uses_them(data, pairs, cls, similarity, mode,
                                                          fitted, monkeypatch):
    calls = []

    def counting(*args, **kwargs):
        calls.append(1)
        return fit_biases(*args, **kwargs)

    from fastcf.baseline import fit_biases
    monkeypatch.setattr(knn_module, "fit_biases", counting)
    model = cls(k=5, similarity=similarity, mode=mode).fit(data)
    assert len(calls) == int(fitted)
    sizes = (len(model.user_bias_), len(model.item_bias_))
    assert sizes == ((data.n_users, data.n_items) if fitted else (0, 0))
    # and every path that could read them runs without them
    model.predict(*pairs)
    model.predict_details(*pairs)
    model.recommend(data.user_ids[:4], 3)
    ratings = {data.item_ids[0]: 5.0, data.item_ids[4]: 1.0}
    model.predict_new(ratings, data.item_ids[:6])
    model.recommend_new(ratings, n=3)


@pytest.mark.parametrize("cls", MODELS)
def test_similar_rows(data, cls):
    model = cls(similarity="pearson").fit(data)
    ids = data.user_ids[:4] if cls is UserKNN else data.item_ids[:4]
    similar = model.similar_users if cls is UserKNN else model.similar_items
    found, sims = similar(ids, 3)
    index = model.user_index if cls is UserKNN else model.item_index
    for row, x in enumerate(index(ids)):
        dense = model.sim_[x].copy()
        dense[x] = -np.inf
        best = sorted(range(len(dense)), key=lambda j: (-dense[j], j))[:3]
        np.testing.assert_array_equal(index(found[row]), best)
        np.testing.assert_allclose(sims[row], dense[best])
    with pytest.raises(ValueError, match="unknown"):
        similar(["nope"] if cls is UserKNN else [-1], 3)


# ----------------------------------------------------------------- fold-in
def _without_user(frame, user):
    return frame[frame["user"] != user], frame[frame["user"] == user]


@pytest.mark.parametrize("mode", ["basic", "means", "zscore"])
@pytest.mark.parametrize("similarity", ["pearson", "cosine", "msd"])
def test_user_fold_in_equals_a_refit(mode, similarity):
    frame = make_frame(n_users=40, n_items=25, density=0.35, seed=8)
    frame = frame[frame["user"] != "u000"]  # a constant user would move the overall sigma
    target = "u007"
    rest, own = _without_user(frame, target)
    base = UserKNN(similarity=similarity, mode=mode, k=6, clip=False).fit(
        Interactions.from_frame(rest, rating="rating"))
    full = UserKNN(similarity=similarity, mode=mode, k=6, clip=False).fit(
        Interactions.from_frame(frame, rating="rating"))
    unrated = sorted(set(frame["item"]) - set(own["item"]))
    ratings = dict(zip(own["item"], own["rating"]))
    np.testing.assert_allclose(base.predict_new(ratings, unrated),
                               full.predict([target] * len(unrated), unrated), rtol=1e-9)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("similarity", ["pearson", "pearson_baseline"])
def test_item_fold_in_of_a_training_user_equals_predict(data, mode, similarity):
    model = ItemKNN(similarity=similarity, mode=mode, k=5).fit(data)
    u = 5
    row = slice(data.by_user.indptr[u], data.by_user.indptr[u + 1])
    ratings = dict(zip(data.item_ids[data.by_user.indices[row]], data.by_user.data[row]))
    items = data.item_ids
    np.testing.assert_allclose(model.predict_new(ratings, items),
                               model.predict([data.user_ids[u]] * len(items), items),
                               rtol=1e-9)
    top, _ = model.recommend_new(ratings, 5)
    np.testing.assert_array_equal(top[0], model.recommend([data.user_ids[u]], 5)[0][0])


@pytest.mark.parametrize("cls", MODELS)
def test_fold_in_many_users_and_bad_input(data, cls):
    model = cls(mode="means").fit(data)
    ratings = [{data.item_ids[0]: 4.0, data.item_ids[3]: 2.0}, {data.item_ids[1]: 5.0}]
    out = model.predict_new(ratings, [data.item_ids[:3], data.item_ids[5:6]])
    assert [len(o) for o in out] == [3, 1]
    items, scores = model.recommend_new(ratings, 4)
    assert items.shape == (2, 4)
    assert data.item_ids[0] not in items[0] and data.item_ids[1] not in items[1]
    with pytest.raises(ValueError, match="at least one rating"):
        model.predict_new({}, data.item_ids[:2])
    with pytest.raises(ValueError, match="unknown item"):
        model.predict_new({-5: 3.0}, data.item_ids[:2])
    with pytest.raises(ValueError, match="NaN"):
        model.predict_new({data.item_ids[0]: np.nan}, data.item_ids[:2])
    with pytest.raises(TypeError, match="ratings must be"):
        model.predict_new([(data.item_ids[0], 3.0)], data.item_ids[:2])
    with pytest.raises(ValueError, match="must match"):
        model.predict_new(ratings, [data.item_ids[:3]])
    with pytest.raises(ValueError, match="n == 0"):
        model.recommend_new(ratings, 0)


# ------------------------------------------------------ protocol & errors
@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("storage", ["dense", "neighbors", "on_the_fly"])
def test_save_load_round_trip(data, pairs, cls, storage, tmp_path, monkeypatch):
    if storage == "on_the_fly":
        monkeypatch.setattr(knn_module, "DENSE_SIMILARITY_BUDGET", 0)
    model = cls(similarity="pearson_baseline", mode="baseline",
                max_neighbors=5 if storage == "neighbors" else None).fit(data)
    assert str(model.storage_) == storage
    model.save(tmp_path / "m.npz")
    loaded = fastcf.load(tmp_path / "m.npz")
    assert type(loaded) is cls
    params, saved = model.get_params(), loaded.get_params()
    assert np.dtype(saved.pop("dtype")) == np.dtype(params.pop("dtype")) and saved == params
    np.testing.assert_array_equal(loaded.predict(*pairs), model.predict(*pairs))
    np.testing.assert_array_equal(loaded.recommend(data.user_ids[:5], 4)[0],
                                  model.recommend(data.user_ids[:5], 4)[0])


@pytest.mark.parametrize("cls", MODELS)
def test_unknown_ids_fall_back_and_are_reported(data, cls):
    model = cls(mode="means").fit(data)
    users = np.array([data.user_ids[0], "ghost", data.user_ids[1]])
    items = np.array([data.item_ids[0], data.item_ids[1], 10**6])
    scores, unknown = model.predict(users, items, return_unknown=True)
    assert unknown.users.tolist() == [False, True, False]
    assert unknown.items.tolist() == [False, False, True]
    assert scores[1] == scores[2] == pytest.approx(data.global_mean)
    details = model.predict_details(users, items)
    assert details["was_impossible"].tolist() == [False, True, True]
    with pytest.raises(ValueError, match="unknown user"):
        model.predict(users, items, unknown="raise")


@pytest.mark.parametrize("params, exc, match", [
    ({"k": 0}, ValueError, "k == 0"),
    ({"k": 3, "min_k": 4}, ValueError, "min_k == 4, must be <= 3"),
    ({"mode": "median"}, ValueError, "mode == 'median'"),
    ({"similarity": "euclid"}, ValueError, "similarity == 'euclid'"),
    ({"max_neighbors": 0}, ValueError, "max_neighbors == 0"),
    ({"dtype": np.int32}, TypeError, "dtype"),
    ({"shrinkage": -1.0}, ValueError, "shrinkage"),
    ({"clip": "yes"}, TypeError, "clip must be a bool"),
    ({"backend": "fortran"}, ValueError, "backend == 'fortran'"),
    ({"n_threads": 0}, ValueError, "n_threads"),
])
def test_bad_params(data, params, exc, match):
    with pytest.raises(exc, match=match):
        UserKNN(**params).fit(data)
    with pytest.raises(exc, match=match):
        ItemKNN().set_params(**params)


def test_implicit_data_needs_basic_mode():
    frame = make_frame(seed=2)
    data = Interactions.from_frame(frame[["user", "item"]])
    with pytest.raises(ValueError, match="needs explicit ratings"):
        ItemKNN(mode="means").fit(data)
    model = ItemKNN(similarity="cosine_all").fit(data)
    items, _ = model.recommend(data.user_ids[:3], 2)
    assert items.shape == (3, 2)


def test_predict_details_frame(data, pairs):
    details = UserKNN(mode="basic", min_k=3).fit(data).predict_details(*pairs)
    assert isinstance(details, pd.DataFrame)
    assert list(details.columns) == ["user", "item", "est", "actual_k", "was_impossible",
                                     "unknown_user", "unknown_item"]
    impossible = details["was_impossible"].to_numpy()
    assert np.all(details["actual_k"].to_numpy()[impossible] == -1)
    assert np.all(details["actual_k"].to_numpy()[~impossible] >= 3)


# ------------------------------------------------------ surprise_compat
@pytest.mark.parametrize("cls, rows, pair", [
    # ItemKNN: "b" and "a" are equally similar to "t"; user "u" rated "b" first.
    (ItemKNN, [("v", "t", 3.0), ("v", "a", 3.0), ("v", "b", 3.0), ("u", "b", 5.0),
               ("u", "a", 1.0)], ("u", "t")),
    # UserKNN: "b" and "a" are equally similar to "u"; item "i" was rated by "b" first.
    (UserKNN, [("u", "c", 3.0), ("b", "i", 5.0), ("a", "i", 1.0), ("a", "c", 3.0),
               ("b", "c", 3.0)], ("u", "i")),
])
def test_surprise_compat_keeps_the_tied_neighbour_loaded_first(cls, rows, pair, tmp_path):
    users, items, ratings = map(list, zip(*rows))
    data = Interactions.from_arrays(users, items, ratings, dtype=np.float64)
    options = {"k": 1, "similarity": "msd", "mode": "basic"}
    # fastcf's own rule keeps the lower sorted index ("a"), Surprise's the first loaded ("b")
    assert cls(**options).fit(data).predict([pair[0]], [pair[1]]).tolist() == [1.0]
    model = cls(surprise_compat=True, **options).fit(data)
    details = model.predict_details([pair[0]], [pair[1]])
    assert details["est"].tolist() == [5.0] and details["actual_k"].tolist() == [1]
    model.save(tmp_path / "m.npz")
    assert fastcf.load(tmp_path / "m.npz").predict([pair[0]], [pair[1]]).tolist() == [5.0]


@pytest.mark.parametrize("cls", MODELS)
def test_surprise_compat_changes_only_tie_order(data, pairs, cls):
    default = cls(similarity="pearson", mode="means", k=5).fit(data)
    compat = cls(similarity="pearson", mode="means", k=5, surprise_compat=True).fit(data)
    # only where equal similarities compete for the last places do the modes differ:
    # nowhere in this data (predictions), and recommend sums the same lists
    np.testing.assert_allclose(compat.predict(*pairs), default.predict(*pairs), rtol=1e-12)
    got, want = compat.recommend(data.user_ids[:4], 5), default.recommend(data.user_ids[:4], 5)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)


@pytest.mark.parametrize("cls", MODELS)
def test_baseline_options_reach_the_biases(data, cls):
    from fastcf.baseline import fit_biases

    model = cls(mode="baseline", baseline_method="sgd", baseline_epochs=3, baseline_lr=0.01,
                baseline_reg=0.1).fit(data)
    _, user_bias, item_bias = fit_biases(data, method="sgd", epochs=3, lr=0.01, reg=0.1)
    assert np.array_equal(model.user_bias_, user_bias)
    assert np.array_equal(model.item_bias_, item_bias)
    als = cls(similarity="pearson_baseline", baseline_reg_user=2.0, baseline_reg_item=3.0,
              baseline_epochs=2).fit(data)
    _, user_bias, _ = fit_biases(data, reg_user=2.0, reg_item=3.0, epochs=2)
    assert np.array_equal(als.user_bias_, user_bias)


@pytest.mark.parametrize("params, exc, match", [
    ({"surprise_compat": True, "dtype": np.float32}, ValueError,
     "surprise_compat=True compares similarities in float64.*pass dtype=np.float64"),
    ({"surprise_compat": 1}, TypeError, "surprise_compat must be a bool"),
    ({"baseline_method": "als2"}, ValueError, "baseline_method == 'als2'"),
    ({"baseline_epochs": 0}, ValueError, "baseline_epochs == 0, must be >= 1"),
    ({"baseline_reg_user": -1.0}, ValueError, "baseline_reg_user == -1.0, must be >= 0.0"),
    ({"baseline_lr": -1.0}, ValueError, "baseline_lr == -1.0, must be > 0.0"),
])
def test_bad_surprise_and_baseline_params(data, params, exc, match):
    with pytest.raises(exc, match=match):
        ItemKNN(**params).fit(data)
