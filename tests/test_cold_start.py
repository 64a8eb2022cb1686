"""FeatureMapping: the ridge from side features to a factor model's factors."""

import copy

import numpy as np
import pytest
import scipy.sparse as sp

import fastcf
from fastcf import FeatureMapping, Interactions, NotFittedError

N_GROUPS, PER_GROUP, N_USERS, N_COLD = 4, 12, 80, 4
N_WARM = N_GROUPS * PER_GROUP
N_ITEMS = N_WARM + N_COLD
#: Features: a one-hot group (4 columns), then two noise columns.
N_FEATURES = N_GROUPS + 2


def _group_data():
    """Users who each like one group of items; the last N_COLD items (one per group) have
    no interaction. Liked items are rated 5, a few others 1 (MF sees a contrast)."""
    rng = np.random.default_rng(0)
    item_group = np.concatenate([np.repeat(np.arange(N_GROUPS), PER_GROUP),
                                 np.arange(N_COLD) % N_GROUPS])
    user_group = np.arange(N_USERS) % N_GROUPS
    rows, cols, vals = [], [], []
    for u in range(N_USERS):
        liked = rng.choice(np.flatnonzero(item_group[:N_WARM] == user_group[u]), 8,
                           replace=False)
        other = rng.choice(np.flatnonzero(item_group[:N_WARM] != user_group[u]), 3,
                           replace=False)
        rows += [u] * 11
        cols += list(liked) + list(other)
        vals += [5.0] * 8 + [1.0] * 3
    matrix = sp.csr_matrix((vals, (rows, cols)), shape=(N_USERS, N_ITEMS))
    features = np.zeros((N_ITEMS, N_FEATURES))
    features[np.arange(N_ITEMS), item_group] = 1.0
    features[:, N_GROUPS:] = rng.normal(size=(N_ITEMS, 2))
    user_features = np.zeros((N_USERS, N_GROUPS + 1))
    user_features[np.arange(N_USERS), user_group] = 1.0
    user_features[:, -1] = rng.normal(size=N_USERS)
    return matrix, features, user_features, item_group, user_group


@pytest.fixture(scope="module")
def groups():
    return _group_data()


@pytest.fixture(scope="module")
def data(groups):
    return Interactions.from_csr(groups[0])


MODELS = {
    "MF": lambda: fastcf.MatrixFactorization(factors=6, epochs=40, lr=0.02, seed=0),
    "FunkSVD": lambda: fastcf.MatrixFactorization(factors=6, epochs=40, lr=0.02, biased=False,
                                                  clip=False, seed=0),
    "ALS": lambda: fastcf.ALS(factors=6, iterations=8, seed=0),
    "BPR": lambda: fastcf.BPR(factors=6, iterations=60, lr=0.05, seed=0, schedule="serial"),
    "Hybrid": lambda: fastcf.HybridFactorization(factors=6, epochs=30, loss="warp",
                                                 schedule="serial", seed=0),
}


@pytest.fixture(scope="module")
def fitted(data):
    return {name: make().fit(data) for name, make in MODELS.items()}


def _closed_form(x, targets, reg, intercept=True):
    """The ridge on dense arrays, by np.linalg.solve: (W, b)."""
    mean_x = x.mean(axis=0) if intercept else np.zeros(x.shape[1])
    mean_f = targets.mean(axis=0) if intercept else np.zeros(targets.shape[1])
    xc, fc = x - mean_x, targets - mean_f
    coef = np.linalg.solve(xc.T @ xc + reg * np.eye(x.shape[1]), xc.T @ fc)
    return coef, mean_f - mean_x @ coef


def _item_targets(model):
    _, vectors, _, offset, fallback = model._ranking_factors()
    columns = [vectors] + ([] if offset is None else [offset[:, None]]) + [fallback[:, None]]
    return np.hstack([np.asarray(c, np.float64) for c in columns])


# ------------------------------------------------------------ the closed form
@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("solver", ["dense", "lsqr"])
@pytest.mark.parametrize("intercept", [True, False])
def test_item_mapping_is_the_closed_form_ridge(fitted, groups, name, solver, intercept):
    model, features = fitted[name], groups[1]
    mapping = FeatureMapping(reg=0.5, solver=solver, fit_intercept=intercept,
                             tol=1e-14).fit(model, sp.csr_matrix(features))
    coef, b = _closed_form(features[:N_WARM], _item_targets(model)[:N_WARM], 0.5, intercept)
    np.testing.assert_allclose(mapping.coef_, coef, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(mapping.intercept_, b, rtol=1e-7, atol=1e-9)
    assert mapping.solver_ == solver and mapping.n_fit_rows_ == N_WARM
    vectors, offsets = mapping.transform(features[N_WARM:])
    assert vectors.dtype == model._ranking_factors()[1].dtype
    mapped = features[N_WARM:] @ coef + b
    np.testing.assert_allclose(vectors, mapped[:, :6], rtol=1e-5, atol=1e-5)
    if offsets is None:
        assert name in ("ALS", "FunkSVD", "Hybrid")
    else:
        np.testing.assert_allclose(offsets, mapped[:, 6], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["MF", "ALS"])
def test_user_mapping_is_the_closed_form_ridge(fitted, groups, name):
    model, user_features = fitted[name], groups[2]
    mapping = FeatureMapping(reg=2.0, axis="user").fit(model, user_features)
    vectors, _, offset, _, _ = model._ranking_factors()
    targets = np.hstack([vectors.astype(np.float64)] + (
        [] if offset is None else [offset.astype(np.float64)[:, None]]))
    coef, b = _closed_form(user_features, targets, 2.0)
    np.testing.assert_allclose(mapping.coef_, coef, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(mapping.intercept_, b, rtol=1e-7, atol=1e-9)


def test_auto_solver_is_dense_for_few_features(fitted, groups):
    mapping = FeatureMapping().fit(fitted["ALS"], groups[1])
    assert mapping.solver_ == "dense" and mapping.n_features_ == N_FEATURES


# ------------------------------------------------------- cold items rank high
@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_cold_item_like_the_liked_ones_ranks_first(fitted, groups, name):
    """Among the cold items (one per group), each user's first is their group's."""
    model, features, _, item_group, user_group = fitted[name], *groups[1:]
    mapping = FeatureMapping(reg=0.1).fit(model, features)
    cold = features[N_WARM:]
    items, scores = mapping.recommend(model, cold, n=N_COLD)
    assert items.shape == (N_USERS, N_COLD) and np.all(np.diff(scores, axis=1) <= 0)
    hit = item_group[N_WARM + items[:, 0]] == user_group
    assert hit.mean() >= 0.9
    np.testing.assert_allclose(np.sort(mapping.score(model, cold), axis=1)[:, ::-1], scores,
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["MF", "ALS", "BPR"])
def test_fill_gives_the_catalogues_cold_items_the_mapped_factors(fitted, groups, name):
    model, features = fitted[name], groups[1]
    before = model._ranking_factors()[1].copy()
    mapping = FeatureMapping(reg=0.1).fit(model, features)
    filled = mapping.fill(model, features)
    np.testing.assert_array_equal(model._ranking_factors()[1], before)  # model untouched
    cold_ids = model.item_ids_[N_WARM:]
    items, scores = filled.recommend(model.user_ids_, N_COLD, candidates=cold_ids)
    mapped_items, mapped_scores = mapping.recommend(model, features[N_WARM:], n=N_COLD)
    np.testing.assert_allclose(scores, mapped_scores, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(items[:, 0], cold_ids[mapped_items[:, 0]])
    # warm items keep their factors
    np.testing.assert_array_equal(filled._ranking_factors()[1][:N_WARM], before[:N_WARM])


def test_fill_of_user_factors_goes_through_mfs_bias(fitted, groups, data):
    """MF's user offset is mean + b_u: fill writes b_u so the offset is the mapped one."""
    cold_user = sp.vstack([groups[0], sp.csr_matrix((1, N_ITEMS))]).tocsr()
    model = MODELS["MF"]().fit(Interactions.from_csr(cold_user))
    user_features = np.vstack([groups[2], np.eye(1, N_GROUPS + 1)])
    mapping = FeatureMapping(axis="user").fit(model, user_features)
    filled = mapping.fill(model, user_features)
    vectors, offsets = mapping.transform(user_features[-1:])
    user_vectors, _, user_offset, _, _ = filled._ranking_factors()
    np.testing.assert_allclose(user_vectors[-1], vectors[0], rtol=1e-6)
    np.testing.assert_allclose(user_offset[-1], offsets[0], rtol=1e-5)


def test_user_axis_recommends_the_model_items_for_new_users(fitted, groups):
    model, _, user_features, item_group, _ = fitted["ALS"], *groups[1:]
    mapping = FeatureMapping(axis="user", reg=0.1).fit(model, user_features)
    new = np.zeros((N_GROUPS, N_GROUPS + 1))
    new[np.arange(N_GROUPS), np.arange(N_GROUPS)] = 1.0
    items, scores = mapping.recommend(model, new, n=5)
    assert np.all(item_group[items] == np.arange(N_GROUPS)[:, None])
    candidates = model.item_ids_[:10]
    assert mapping.score(model, new, ids=candidates).shape == (N_GROUPS, 10)
    some, _ = mapping.recommend(model, new, n=3, ids=candidates)
    assert np.isin(some, candidates).all()


def test_unknown_users_get_the_mapped_fallback(fitted, groups):
    model, features = fitted["MF"], groups[1]
    mapping = FeatureMapping().fit(model, features)
    cold = features[N_WARM:]
    scores = mapping.score(model, cold, ids=[0, "nobody"])
    fallback = (cold @ mapping.coef_ + mapping.intercept_)[:, -1]
    np.testing.assert_allclose(scores[1], fallback, rtol=1e-6)
    items, top = mapping.recommend(model, cold, n=2, ids=[0, "nobody"])
    np.testing.assert_allclose(top[1], np.sort(fallback)[::-1][:2], rtol=1e-5)


# ------------------------------------------------------------------ errors
def test_bad_parameters(fitted, groups):
    model, features = fitted["ALS"], groups[1]
    with pytest.raises(ValueError, match="reg == 0.0, must be > 0"):
        FeatureMapping(reg=0).fit(model, features)
    with pytest.raises(ValueError, match="axis == 'items'"):
        FeatureMapping(axis="items").fit(model, features)
    with pytest.raises(TypeError, match="fit_intercept must be a bool"):
        FeatureMapping(fit_intercept=1).fit(model, features)
    with pytest.raises(ValueError, match="solver == 'qr'"):
        FeatureMapping(solver="qr").fit(model, features)
    with pytest.raises(ValueError, match="tol == -1.0"):
        FeatureMapping(tol=-1.0).fit(model, features)
    with pytest.raises(ValueError, match="max_iter == 0"):
        FeatureMapping(max_iter=0).fit(model, features)
    assert "reg=1.0" in repr(FeatureMapping())


def test_bad_models(fitted, groups, data):
    features = groups[1]
    with pytest.raises(TypeError, match="must be a fitted fastcf model"):
        FeatureMapping().fit("ALS", features)
    with pytest.raises(NotFittedError, match="not fitted"):
        FeatureMapping().fit(fastcf.ALS(), features)
    with pytest.raises(TypeError, match="Popularity has no factors"):
        FeatureMapping().fit(fastcf.Popularity().fit(data), features)
    # Interactions always hold an entry; a model partial-fitted on nothing is the only way
    # to have no item with interactions, so the seen lists are emptied by hand
    empty = copy.deepcopy(fitted["ALS"])
    empty.seen_indptr_ = np.zeros(N_USERS + 1, np.int64)
    empty.seen_indices_ = np.zeros(0, np.int64)
    with pytest.raises(ValueError, match="no item with interactions"):
        FeatureMapping().fit(empty, features)


def test_bad_features(fitted, groups):
    model, features = fitted["ALS"], groups[1]
    with pytest.raises(ValueError, match="has 3 rows but the model has 52 items"):
        FeatureMapping().fit(model, features[:3])
    nan = features.copy()
    nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="1 NaN or inf values"):
        FeatureMapping().fit(model, nan)
    with pytest.raises(ValueError, match=r"shape \(52, 0\)"):
        FeatureMapping().fit(model, sp.csr_matrix((N_ITEMS, 0)))
    with pytest.raises(ValueError, match="must be 2-d"):
        FeatureMapping().fit(model, features[:, 0])
    with pytest.raises(TypeError, match="must be a real number dtype"):
        FeatureMapping().fit(model, features.astype(str))
    with pytest.raises(TypeError, match="must be a fastcf.Features, a scipy sparse"):
        FeatureMapping().fit(model, features.tolist())


def test_transform_errors(fitted, groups):
    model, features = fitted["ALS"], groups[1]
    with pytest.raises(NotFittedError, match="FeatureMapping is not fitted"):
        FeatureMapping().transform(features)
    mapping = FeatureMapping().fit(model, features)
    with pytest.raises(ValueError, match="features has 5 columns, the mapping was fitted on 6"):
        mapping.transform(features[:, :5])
    with pytest.raises(ValueError, match="fitted on a ALS with 6 factors"):
        mapping.score(fitted["MF"], features)
    with pytest.raises(ValueError, match="n == 0"):
        mapping.recommend(model, features, n=0)
    users = FeatureMapping(axis="user").fit(model, groups[2])
    with pytest.raises(ValueError, match="unknown item"):
        users.score(model, groups[2][:2], ids=["no such item"])


def test_fill_refuses_models_that_compute_their_vectors(groups, data, fitted):
    model = fastcf.SVDpp(factors=3, epochs=2).fit(data)
    mapping = FeatureMapping(axis="user").fit(model, groups[2])
    with pytest.raises(ValueError, match="SVDpp computes its user vectors"):
        mapping.fill(model, groups[2])
    hybrid = fitted["Hybrid"]  # it scores featured items from their features already
    with pytest.raises(ValueError, match="HybridFactorization computes its item vectors"):
        FeatureMapping().fit(hybrid, groups[1]).fill(hybrid, groups[1])


# --------------------------------------------------------- fastcf.Features
@pytest.fixture(scope="module")
def catalogue(groups):
    """Warm interactions under string ids; the cold items join through with_features."""
    matrix, features = groups[0], groups[1]
    item_ids = np.array([f"i{j:02d}" for j in range(N_ITEMS)])
    warm = Interactions.from_csr(matrix[:, :N_WARM], item_ids=item_ids[:N_WARM])
    names = [f"group={g}" for g in range(N_GROUPS)] + ["noise0", "noise1"]
    order = np.random.default_rng(1).permutation(N_ITEMS)  # rows in any order
    item_features = fastcf.Features(features[order], ids=item_ids[order], names=names,
                                    dtype=np.float64)
    return warm.with_features(item_features=item_features, new_ids="add"), item_features


def test_features_are_aligned_by_id(catalogue, groups):
    data, item_features = catalogue
    assert data.n_items == N_ITEMS
    model = MODELS["ALS"]().fit(data)
    by_features = FeatureMapping().fit(model, item_features)
    by_matrix = FeatureMapping().fit(model, item_features.align(model.item_ids_))
    np.testing.assert_allclose(by_features.coef_, by_matrix.coef_, rtol=1e-12)
    assert by_features.n_fit_rows_ == N_WARM
    cold = item_features.reindex(model.item_ids_[N_WARM:])
    items, _ = by_features.recommend(model, cold, n=2)
    assert np.isin(items, model.item_ids_[N_WARM:]).all()
    filled = by_features.fill(model, data.item_features)
    top, _ = filled.recommend(model.user_ids_, 1, candidates=model.item_ids_[N_WARM:])
    np.testing.assert_array_equal(top[:, 0], items[:, 0])


def test_features_errors(catalogue):
    data, item_features = catalogue
    model = MODELS["ALS"]().fit(data)
    mapping = FeatureMapping().fit(model, item_features)
    renamed = fastcf.Features(item_features.matrix, item_features.ids,
                              names=["x"] + list(item_features.names[1:]))
    with pytest.raises(ValueError, match="features column 0 is 'x', the mapping was fitted "
                                         "with 'group=0'"):
        mapping.transform(renamed)
    strangers = fastcf.Features(item_features.matrix, ids=np.arange(N_ITEMS))
    with pytest.raises(ValueError, match="share no id with the model's items"):
        FeatureMapping().fit(model, strangers)


class _DoubledBias(fastcf.MatrixFactorization):
    """Ranks with twice its stored item bias: an offset fill cannot write."""

    def _ranking_factors(self):
        users, items, user_offset, item_offset, fallback = super()._ranking_factors()
        return users, items, user_offset, 2 * item_offset, fallback


class _Clipped(fastcf.ALS):
    """Ranks with its stored item factors clipped: fill's write does not come back."""

    def _ranking_factors(self):
        users, items, _, _, fallback = super()._ranking_factors()
        return users, np.clip(items, -10.0, 10.0), None, None, fallback


def test_fill_checks_what_the_model_ranks_with(groups, data):
    features = groups[1]
    doubled = _DoubledBias(factors=3, epochs=5, seed=0).fit(data)
    with pytest.raises(ValueError, match="_DoubledBias computes its item offsets"):
        FeatureMapping().fit(doubled, features).fill(doubled, features)
    clipped = _Clipped(factors=3, iterations=2, seed=0).fit(data)
    mapping = FeatureMapping().fit(clipped, features)
    mapping.intercept_ = mapping.intercept_ + 100.0  # mapped factors beyond the clip
    with pytest.raises(ValueError, match="_Clipped does not rank with the factors written"):
        mapping.fill(clipped, features)
