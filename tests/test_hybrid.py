"""HybridFactorization: the identity case equals BPR / MatrixFactorization, features
carry preference to items and users without interactions, new rows, save / load,
errors. (The shared estimator contract is in test_contract.py.)"""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import DTYPES

import fastcf
from fastcf import Features, HybridFactorization, Interactions


@pytest.fixture(scope="module")
def ratings():
    return fastcf.make_ratings(60, 40, 900, seed=7)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", ["numba", "cython", "reference"])
def test_identity_bpr_is_fastcfs_bpr(ratings, dtype, backend):
    bpr = fastcf.BPR(factors=6, lr=0.05, reg=0.01, iterations=3, seed=5, schedule="serial",
                     dtype=dtype, backend=backend).fit(ratings)
    ours = HybridFactorization(factors=6, loss="bpr", epochs=3, lr=0.05, reg_user=0.01,
                               reg_item=0.01, learning_schedule="sgd", schedule="serial",
                               seed=5, dtype=dtype, backend=backend).fit(ratings)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for a, b in ((bpr.user_factors_, ours.user_embeddings_),
                 (bpr.item_factors_, ours.item_embeddings_), (bpr.item_bias_, ours.item_biases_)):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    assert not ours.user_biases_.any()
    users = ratings.user_ids[:5]
    np.testing.assert_array_equal(bpr.recommend(users, 5)[0], ours.recommend(users, 5)[0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", ["numba", "cython", "reference"])
def test_identity_squared_is_fastcfs_matrix_factorization(ratings, dtype, backend):
    mf = fastcf.MatrixFactorization(factors=6, epochs=3, lr=0.01, reg=0.03, seed=5,
                                    dtype=dtype, backend=backend).fit(ratings)
    ours = HybridFactorization(factors=6, loss="squared", epochs=3, lr=0.01, reg_user=0.03,
                               reg_item=0.03, learning_schedule="sgd", schedule="serial",
                               init_std=0.1, seed=5, dtype=dtype, backend=backend).fit(ratings)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for a, b in ((mf.user_factors_, ours.user_embeddings_), (mf.item_factors_,
                                                              ours.item_embeddings_),
                 (mf.user_bias_, ours.user_biases_), (mf.item_bias_, ours.item_biases_)):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    assert ours.global_mean_ == mf.global_mean_
    users, items = ratings.user_ids[[0, 1, 2]], ratings.item_ids[[3, 4, 5]]
    # MF clips to the rating range; the hybrid does not
    np.testing.assert_allclose(np.clip(ours.predict(users, items), *ratings.rating_range),
                               mf.predict(users, items), rtol=1e-4)
    assert ours.history_[-1]["train_rmse"] == pytest.approx(mf.history_[-1]["train_rmse"],
                                                            rel=1e-5)


# ---------------------------------------------------------- features carry taste
@pytest.fixture(scope="module")
def taste():
    """Two kinds of users and items (feature "kind=a" / "kind=b"): each user has only
    items of their kind. Four items (two of each kind) and two users have features
    but no interactions."""
    rng = np.random.default_rng(0)
    n_users, n_items = 40, 30
    user_kind, item_kind = np.arange(n_users) % 2, np.arange(n_items) % 2
    rows, cols = [], []
    for u in range(n_users - 2):
        mine = np.flatnonzero(item_kind[:n_items - 4] == user_kind[u])
        picks = rng.choice(mine, 6, replace=False)
        rows += [u] * len(picks)
        cols += picks.tolist()
    data = Interactions.from_arrays(np.array(rows), np.array(cols))
    names = ["kind=a", "kind=b"]
    users = Features(np.eye(2)[user_kind], np.arange(n_users), names)
    items = Features(np.eye(2)[item_kind], np.arange(n_items), names)
    return data.with_features(users, items, new_ids="add"), user_kind, item_kind


@pytest.mark.parametrize("loss", ["warp", "bpr"])
def test_a_cold_item_with_the_users_feature_ranks_above_one_without(taste, loss):
    data, user_kind, item_kind = taste
    model = HybridFactorization(factors=8, loss=loss, epochs=40, lr=0.05, seed=1,
                                schedule="serial").fit(data)
    cold = np.arange(26, 30)  # no interactions: ranked by their features alone
    scores = model.predict_new(users=np.arange(38), item_features=items_of(data, cold))
    same = item_kind[cold][None, :] == user_kind[:38][:, None]
    # every warm user scores the cold items of their kind above those of the other kind
    assert (scores[same].reshape(38, 2).min(axis=1) >
            scores[~same].reshape(38, 2).max(axis=1)).all()
    # and recommend, over the catalogue, puts its cold items of their kind first among cold
    top, _ = model.recommend(np.arange(38), 30)
    for u in range(38):
        order = [i for i in top[u] if i in cold]
        assert set(order[:2]) == set(cold[item_kind[cold] == user_kind[u]])


def items_of(data, ids):
    """The data's item feature rows of ``ids`` (a Features)."""
    return data.item_features.reindex(ids)


def test_a_user_without_interactions_is_recommended_by_features(taste):
    data, user_kind, item_kind = taste
    model = HybridFactorization(factors=8, loss="warp", epochs=40, seed=1,
                                schedule="serial").fit(data)
    for user in (38, 39):  # in the catalogue, no interactions
        top, _ = model.recommend([user], 10)
        assert (item_kind[top[0]] == user_kind[user]).mean() >= 0.9
    new = Features(np.eye(2), ["new_a", "new_b"], ["kind=a", "kind=b"])
    top, scores = model.recommend_new(new, 10)
    assert (item_kind[top[0]] == 0).mean() >= 0.9 and (item_kind[top[1]] == 1).mean() >= 0.9
    assert (np.diff(scores, axis=1) <= 0).all()
    # a matrix with the columns in the model's order gives the same
    np.testing.assert_allclose(model.predict_new(np.eye(2)), model.predict_new(new))
    # columns matched by name
    swapped = Features(np.eye(2)[:, ::-1], ["x", "y"], ["kind=b", "kind=a"])
    np.testing.assert_allclose(model.predict_new(swapped), model.predict_new(new))


def test_representations_sum_the_feature_embeddings(taste):
    data, _, _ = taste
    model = HybridFactorization(factors=4, epochs=2, seed=0).fit(data)
    vectors, biases = model.item_representations()
    rows = sp.hstack([sp.identity(data.n_items), data.item_features.matrix]).tocsr()
    np.testing.assert_allclose(vectors, rows @ model.item_embeddings_, rtol=1e-6)
    np.testing.assert_allclose(biases, rows @ model.item_biases_, rtol=1e-6, atol=1e-7)
    new_vectors, _ = model.item_representations(np.array([[1.0, 0.5]]))
    np.testing.assert_allclose(new_vectors[0], model.item_embeddings_[-2] +
                               0.5 * model.item_embeddings_[-1], rtol=1e-6)
    scores = model.predict(data.user_ids[:3], data.item_ids[:3])
    p, pb = model.user_representations()
    want = np.einsum("ij,ij->i", p[:3], vectors[:3]) + pb[:3] + biases[:3]
    np.testing.assert_allclose(scores, want, rtol=1e-5)


def test_features_alone_without_identity(taste):
    data, user_kind, item_kind = taste
    model = HybridFactorization(factors=4, loss="warp", epochs=30, identity=False, seed=1,
                                schedule="serial").fit(data)
    assert model.item_embeddings_.shape == (2, 4)  # one row per side feature
    top, _ = model.recommend([0, 1], 4)
    assert (item_kind[top[0]] == user_kind[0]).all() and (item_kind[top[1]] == user_kind[1]).all()


# ------------------------------------------------------------ schedules, state
def test_serial_does_not_depend_on_the_thread_count(taste):
    data, _, _ = taste
    one = HybridFactorization(factors=4, epochs=3, schedule="serial", n_threads=1).fit(data)
    two = HybridFactorization(factors=4, epochs=3, schedule="serial", n_threads=2).fit(data)
    np.testing.assert_array_equal(one.item_embeddings_, two.item_embeddings_)
    np.testing.assert_array_equal(one.user_embeddings_, two.user_embeddings_)


def test_popularity_sampling_draws_popular_negatives(ratings):
    """LightFM's BPR sampler: a popular item is more often a negative, so its bias ends
    lower than with uniform draws."""
    counts = np.bincount(ratings.by_user.indices, minlength=ratings.n_items)
    popular = np.argsort(-counts)[:5]
    fits = {how: HybridFactorization(factors=4, loss="bpr", epochs=5, schedule="serial",
                                     negative_sampling=how, seed=3).fit(ratings)
            for how in ("uniform", "popularity")}
    gap = fits["uniform"].item_biases_[popular] - fits["popularity"].item_biases_[popular]
    assert gap.mean() > 0


@pytest.mark.parametrize("loss", ["warp", "bpr", "squared"])
def test_hogwild_trains(ratings, loss):
    model = HybridFactorization(factors=4, loss=loss, epochs=4, blocks=5, n_threads=2,
                                lr=0.02).fit(ratings)
    assert len(model.history_) == 4 and np.isfinite(model.item_embeddings_).all()
    start = HybridFactorization(factors=4, loss=loss, epochs=1, blocks=5).fit(ratings)
    assert not np.allclose(model.item_embeddings_, start.item_embeddings_)


def test_save_and_load_give_the_same_model(taste, tmp_path):
    data, _, _ = taste
    model = HybridFactorization(factors=4, epochs=3, seed=2).fit(data)
    model.save(tmp_path / "hybrid.npz")
    loaded = fastcf.load(tmp_path / "hybrid.npz")
    users, items = data.user_ids, data.item_ids
    np.testing.assert_array_equal(model.predict(users[:9], items[:9]),
                                  loaded.predict(users[:9], items[:9]))
    for a, b in zip(model.recommend(users, 5), loaded.recommend(users, 5)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.predict_new(np.eye(2)), loaded.predict_new(np.eye(2)))
    assert list(loaded.item_feature_names_) == ["kind=a", "kind=b"]


def test_callbacks_can_stop_training(ratings):
    seen = []
    model = HybridFactorization(factors=4, epochs=10).fit(
        ratings, callbacks=[lambda entry: seen.append(entry["epoch"]) or len(seen) == 2])
    assert seen == [0, 1] and len(model.history_) == 2


def test_a_diverging_fit_says_so(ratings):
    with pytest.raises(fastcf.TrainingDiverged, match="lower the learning rate"):
        HybridFactorization(factors=4, loss="squared", learning_schedule="sgd", lr=50.0,
                            epochs=3).fit(ratings)


# --------------------------------------------------------------------- errors
@pytest.mark.parametrize("params, error, match", [
    ({"factors": 0}, ValueError, "factors == 0"),
    ({"loss": "logistic"}, ValueError, "loss"),
    ({"epochs": 0}, ValueError, "epochs"),
    ({"lr": 0.0}, ValueError, "lr"),
    ({"reg_user": -1.0}, ValueError, "reg_user"),
    ({"reg_item": -1.0}, ValueError, "reg_item"),
    ({"identity": 1}, TypeError, "identity"),
    ({"learning_schedule": "adadelta"}, ValueError, "learning_schedule"),
    ({"max_sampled": 0}, ValueError, "max_sampled"),
    ({"dtype": np.int32}, TypeError, "dtype"),
    ({"backend": "gpu"}, ValueError, "backend"),
    ({"n_threads": 0}, ValueError, "n_threads"),
    ({"seed": -1}, ValueError, "seed"),
    ({"schedule": "blocked"}, ValueError, "schedule"),
    ({"blocks": 0}, ValueError, "blocks"),
    ({"init_std": -0.1}, ValueError, "init_std"),
    ({"negative_sampling": "hard"}, ValueError, "negative_sampling"),
    ({"verbose": "yes"}, TypeError, "verbose"),
])
def test_bad_parameters_are_refused(ratings, params, error, match):
    with pytest.raises(error, match=match):
        HybridFactorization(**params).fit(ratings)


def test_bad_data_is_refused(ratings, taste):
    implicit = Interactions.from_arrays([0, 1], [1, 0])
    with pytest.raises(ValueError, match="explicit ratings"):
        HybridFactorization(loss="squared").fit(implicit)
    with pytest.raises(ValueError, match="identity=False needs user features"):
        HybridFactorization(identity=False).fit(ratings)
    data, _, _ = taste
    shuffled = data.with_features(data.user_features, data.item_features)
    shuffled.item_features = data.item_features.take(np.arange(data.n_items)[::-1].copy())
    with pytest.raises(ValueError, match="item feature rows do not match the item ids"):
        HybridFactorization(epochs=1).fit(shuffled)
    shuffled.item_features = object()
    with pytest.raises(TypeError, match="must be a fastcf.Features"):
        HybridFactorization(epochs=1).fit(shuffled)
    with pytest.raises(ValueError, match="every item"), \
            pytest.warns(UserWarning, match="1 users interacted with every item"):
        HybridFactorization(epochs=1).fit(Interactions.from_arrays([0, 0], [0, 1]))


def test_bad_new_rows_are_refused(ratings, taste):
    data, _, _ = taste
    model = HybridFactorization(factors=4, epochs=1).fit(data)
    with pytest.raises(ValueError, match="NaN or inf"):
        model.predict_new(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="empty feature matrix"):
        model.predict_new(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="has 3 columns, must have the model's 2"):
        model.predict_new(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"missing \['kind=b'\], unknown \['kind=c'\]"):
        model.predict_new(Features(np.eye(2), [0, 1], ["kind=a", "kind=c"]))
    with pytest.raises(TypeError, match="a scipy sparse matrix or a 2-d ndarray"):
        model.predict_new([[1.0, 0.0]])
    with pytest.raises(ValueError, match="needs user_features or item_features"):
        model.predict_new()
    with pytest.raises(ValueError, match="not both"):
        model.predict_new(np.eye(2), users=[0])
    with pytest.raises(ValueError, match=r"unknown item ids \[999\]"):
        model.predict_new(np.eye(2), items=[0, 999])
    plain = HybridFactorization(factors=4, epochs=1).fit(ratings)
    with pytest.raises(ValueError, match="fitted without user side features"):
        plain.recommend_new(np.eye(2))
    with pytest.raises(fastcf.NotFittedError):
        HybridFactorization().predict_new(np.eye(2))
