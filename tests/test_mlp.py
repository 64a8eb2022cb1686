"""MLPRecommender: the batched step against the per-sample reference and finite
differences, training (reproducible, learns, sparse vs dense Adam), fallbacks,
recommend, persistence and bad input."""

import numpy as np
import pytest
from conftest import central_difference

import fastcf
from fastcf import MLPRecommender
from fastcf.mlp import TrainingDiverged
from fastcf.nn import SparseGrad, mse_loss
from fastcf.reference.mlp import loss_and_grads
from fastcf.split import random_split


@pytest.fixture(scope="module")
def planted():
    """Ratings from make_ratings' planted low-rank model, split 80/20."""
    data = fastcf.make_ratings(300, 200, 12_000, seed=3)
    return random_split(data, 0.2, seed=0)


def _tiny_model(train, dtype=np.float64, hidden=(5, 3)):
    model = MLPRecommender(embedding_dim=3, hidden=hidden, dtype=dtype, embedding_std=0.5,
                           seed=1)
    model._build(train.n_users, train.n_items, np.random.default_rng(1))
    return model


def _batch(train, size=12, seed=0):
    frame = train.to_frame().sample(size, random_state=seed)
    users = train.user_index(frame["user"].to_numpy())
    items = train.item_index(frame["item"].to_numpy())
    return users, items, frame["rating"].to_numpy(np.float64)


def _dense_grads(grads, model):
    out = {}
    for name, g in grads.items():
        if isinstance(g, SparseGrad):
            rows = model._user_emb.weight if name == "user_embedding" else model._item_emb.weight
            g = g.to_dense(len(rows))
        out[name] = np.asarray(g, dtype=np.float64)
    return out


@pytest.mark.parametrize("hidden", [(5, 3), (4,)])
def test_batched_step_equals_the_per_sample_reference(planted, hidden):
    train, _ = planted
    model = _tiny_model(train, hidden=hidden)
    users, items, ratings = _batch(train)
    loss, grad = mse_loss(model._forward(users, items), ratings)
    grads = _dense_grads(model._backward(grad), model)
    layers = [(layer.weight, layer.bias) for layer in model._dense_layers()]
    want_loss, want = loss_and_grads(model._user_emb.weight, model._item_emb.weight, layers,
                                     users, items, ratings)
    assert loss == pytest.approx(want_loss, rel=1e-12)
    assert set(grads) == set(want)
    for name in want:
        np.testing.assert_allclose(grads[name], np.array(want[name]), rtol=1e-10, atol=1e-13,
                                   err_msg=name)


def test_whole_model_gradient_matches_finite_differences(planted):
    train, _ = planted
    model = _tiny_model(train)
    users, items, ratings = _batch(train, size=8, seed=1)
    _, grad = mse_loss(model._forward(users, items), ratings)
    grads = _dense_grads(model._backward(grad), model)
    params = model._named_params()

    def loss():
        return mse_loss(model._forward(users, items), ratings)[0]

    for name, param in params.items():
        # every entry of the layers; for the tables, the rows the batch touched and one it did not
        if name.endswith("embedding"):
            rows = np.unique(users if name.startswith("user") else items)
            untouched = np.setdiff1d(np.arange(len(param)), rows)[:1]
            entries = [(r, c) for r in np.concatenate([rows, untouched])
                       for c in range(param.shape[1])]
        else:
            entries = list(np.ndindex(param.shape))
        for idx in entries[:60] if len(entries) > 60 else entries:
            idx = tuple(int(v) for v in np.atleast_1d(idx))
            assert grads[name][idx] == pytest.approx(central_difference(loss, param, idx),
                                                     rel=1e-5, abs=1e-9), (name, idx)


def test_training_is_reproducible_and_seeded(planted):
    train, _ = planted
    options = {"embedding_dim": 4, "hidden": (8,), "epochs": 2, "batch_size": 64}
    one = MLPRecommender(seed=5, **options).fit(train)
    two = MLPRecommender(seed=5, **options).fit(train)
    other = MLPRecommender(seed=6, **options).fit(train)
    assert np.array_equal(one.user_embedding_, two.user_embedding_)
    assert np.array_equal(one.dense_params_, two.dense_params_)
    assert not np.array_equal(one.dense_params_, other.dense_params_)


def test_results_do_not_depend_on_n_threads(planted):
    train, _ = planted
    options = {"embedding_dim": 4, "hidden": (8,), "epochs": 2, "batch_size": 64, "seed": 2}
    one = MLPRecommender(n_threads=1, **options).fit(train)
    two = MLPRecommender(n_threads=2, **options).fit(train)
    np.testing.assert_array_equal(one.dense_params_, two.dense_params_)
    np.testing.assert_array_equal(one.user_embedding_, two.user_embedding_)


@pytest.mark.parametrize("backend", ["numba", "cython", "reference"])
def test_backends_train_the_same_model(planted, backend):
    train, _ = planted
    options = {"embedding_dim": 3, "hidden": (4,), "epochs": 1, "batch_size": 512,
               "dtype": np.float64, "seed": 3}
    ref = MLPRecommender(backend="numba", **options).fit(train)
    other = MLPRecommender(backend=backend, **options).fit(train)
    np.testing.assert_allclose(other.user_embedding_, ref.user_embedding_, rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(other.dense_params_, ref.dense_params_, rtol=1e-10, atol=1e-12)


def test_full_batch_sparse_and_dense_adam_agree(planted):
    # one batch holding every rating touches every user and item at every step
    train, _ = planted
    options = {"embedding_dim": 3, "hidden": (4,), "epochs": 3, "batch_size": train.nnz,
               "dtype": np.float64, "seed": 3}
    lazy = MLPRecommender(sparse_adam=True, **options).fit(train)
    dense = MLPRecommender(sparse_adam=False, **options).fit(train)
    np.testing.assert_allclose(lazy.user_embedding_, dense.user_embedding_, rtol=1e-12)
    np.testing.assert_allclose(lazy.dense_params_, dense.dense_params_, rtol=1e-12)


def test_learns_better_than_the_baseline():
    # enough ratings per user (~80) for the interactions to be learnable
    train, test = random_split(fastcf.make_ratings(500, 300, 50_000, seed=3), 0.2, seed=0)
    frame = test.to_frame()
    truth = frame["rating"].to_numpy()
    model = MLPRecommender(embedding_dim=16, hidden=(32, 16), epochs=10, lr=3e-3, seed=0)
    model.fit(train, validation=test)
    baseline = fastcf.BaselineOnly().fit(train)
    mlp_rmse = np.sqrt(np.mean((model.predict(frame["user"], frame["item"]) - truth) ** 2))
    bl_rmse = np.sqrt(np.mean((baseline.predict(frame["user"], frame["item"]) - truth) ** 2))
    assert mlp_rmse < bl_rmse - 0.02
    history = [h["validation_rmse"] for h in model.history_]
    assert history[-1] < history[0]


def test_validation_early_stopping_and_callbacks(planted):
    train, test = planted
    seen = []
    model = MLPRecommender(embedding_dim=4, hidden=(8,), epochs=30, lr=0.05, patience=2)
    model.fit(train, validation=test, callbacks=[lambda entry: seen.append(entry["epoch"])])
    assert len(model.history_) < 30 and seen == [h["epoch"] for h in model.history_]
    best = min(h["validation_rmse"] for h in model.history_)
    assert model.history_[model.best_epoch_]["validation_rmse"] == best
    frame = test.to_frame()
    known = np.isin(frame["user"], train.user_ids) & np.isin(frame["item"], train.item_ids)
    rmse = np.sqrt(np.mean((model.predict(frame["user"][known], frame["item"][known])
                            - frame["rating"][known]) ** 2))
    assert rmse == pytest.approx(best, rel=1e-6)
    stopped = MLPRecommender(embedding_dim=4, hidden=(8,), epochs=10)
    stopped.fit(train, callbacks=[lambda entry: entry["epoch"] == 1])
    assert len(stopped.history_) == 2


def test_unknown_ids_fall_back_and_recommend_excludes_seen(planted):
    train, _ = planted
    model = MLPRecommender(embedding_dim=4, hidden=(8,), epochs=2).fit(train)
    nobody = train.user_ids.max() + 1000
    scores, unknown = model.predict([train.user_ids[0], nobody],
                                    [train.item_ids[0], train.item_ids[0]], return_unknown=True)
    assert unknown.users.tolist() == [False, True]
    assert scores[1] == pytest.approx(train.global_mean)
    items, top = model.recommend([train.user_ids[0], nobody], n=5)
    seen = set(train.item_ids[train.by_user.indices[train.by_user.indptr[0]:
                                                    train.by_user.indptr[1]]])
    assert not seen & set(items[0])
    assert np.all(np.diff(top, axis=1) <= 0)
    # recommend's scores are the model's (unclipped) predictions
    model.clip = False
    np.testing.assert_allclose(model.predict([train.user_ids[0]] * 5, items[0]), top[0],
                               rtol=1e-5)


def test_divergence_stops_with_the_epoch_named(planted):
    train, _ = planted
    with pytest.raises(TrainingDiverged, match="diverged at epoch"):
        MLPRecommender(embedding_dim=4, hidden=(8,), epochs=5, lr=1e30).fit(train)


@pytest.mark.parametrize("params, exc, match", [
    ({"hidden": ()}, ValueError, "non-empty"),
    ({"hidden": (8, 0)}, ValueError, "hidden layer width"),
    ({"embedding_dim": 0}, ValueError, "embedding_dim"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"lr": 0.0}, ValueError, "lr"),
    ({"lr": -1e-3}, ValueError, "lr"),
    ({"epochs": 0}, ValueError, "epochs"),
    ({"sparse_adam": "yes"}, TypeError, "sparse_adam"),
    ({"n_threads": 0}, ValueError, "n_threads"),
    ({"backend": "gpu"}, ValueError, "backend"),
])
def test_bad_params(planted, params, exc, match):
    train, _ = planted
    with pytest.raises(exc, match=match):
        MLPRecommender(**params).fit(train)


def test_bad_data(planted):
    train, _ = planted
    with pytest.raises(TypeError, match="Interactions"):
        MLPRecommender().fit(train.to_frame())
    implicit = fastcf.Interactions.from_arrays([0, 1], [0, 1])
    with pytest.raises(ValueError, match="implicit"):
        MLPRecommender().fit(implicit)
    with pytest.raises(ValueError, match="patience needs a validation"):
        MLPRecommender(patience=2).fit(train)


def test_names_that_moved_still_import_with_a_warning():
    import fastcf.mlp
    import fastcf.neumf
    import fastcf.sampling

    with pytest.warns(DeprecationWarning, match="mlp.NeuMF is deprecated; use fastcf.neumf.NeuMF"):
        from fastcf.mlp import NeuMF
    assert NeuMF is fastcf.NeuMF is fastcf.neumf.NeuMF
    with pytest.warns(DeprecationWarning, match="use fastcf.sampling.sample_negatives"):
        assert fastcf.mlp.sample_negatives is fastcf.sampling.sample_negatives
    with pytest.raises(AttributeError, match="has no attribute 'GMF'"):
        fastcf.mlp.GMF  # noqa: B018
