"""NeuMF: gradients against finite differences, negative sampling, training,
predict / recommend, persistence, bad input."""

import numpy as np
import pytest
from conftest import central_difference

import fastcf
from fastcf import NeuMF
from fastcf.evaluation import sampled_hit_rate_ndcg
from fastcf.nn import SparseGrad, bce_with_logits_loss
from fastcf.sampling import sample_negatives
from fastcf.split import leave_one_out


@pytest.fixture(scope="module")
def implicit():
    """Interactions of make_ratings (Zipf popularity, planted tastes), one held out a user."""
    data = fastcf.make_ratings(300, 200, 9_000, seed=4)
    return leave_one_out(data, by="random", seed=0)


def test_whole_model_gradient_matches_finite_differences(implicit):
    train, _ = implicit
    model = NeuMF(factors=3, embedding_dim=3, hidden=(4, 3), dtype=np.float64,
                  embedding_std=0.5)
    model._build(train.n_users, train.n_items, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    users = rng.integers(0, train.n_users, 10)
    items = rng.integers(0, train.n_items, 10)
    labels = (rng.random(10) < 0.5).astype(np.float64)
    _, grad = bce_with_logits_loss(model._forward(users, items), labels)
    grads = model._backward(grad)

    def loss():
        return bce_with_logits_loss(model._forward(users, items), labels)[0]

    for name, param in model._named_params().items():
        g = grads[name]
        if isinstance(g, SparseGrad):
            g = g.to_dense(len(param))
            rows = np.unique(users if "user" in name else items)[:4]
            entries = [(int(r), c) for r in rows for c in range(param.shape[1])]
        else:
            entries = list(np.ndindex(param.shape))[:40]
        for idx in entries:
            assert g[idx] == pytest.approx(central_difference(loss, param, idx), rel=1e-5,
                                           abs=1e-9), (name, idx)


def test_negatives_avoid_positives_and_are_seeded():
    indptr = np.array([0, 3, 4])
    indices = np.array([0, 2, 4, 1])  # user 0 has items 0, 2, 4; user 1 has item 1
    users = np.array([0, 1, 0])
    draws = sample_negatives(users, indptr, indices, 6, 200, np.random.default_rng(0))
    assert draws.shape == (600,)
    assert set(draws[:200]) == {1, 3, 5} and set(draws[400:]) == {1, 3, 5}
    assert set(draws[200:400]) == {0, 2, 3, 4, 5}
    again = sample_negatives(users, indptr, indices, 6, 200, np.random.default_rng(0))
    assert np.array_equal(draws, again)


def test_learns_and_is_reproducible(implicit):
    train, test = implicit
    options = {"factors": 8, "embedding_dim": 16, "hidden": (32, 16), "epochs": 6,
               "lr": 5e-3, "seed": 1}
    model = NeuMF(**options).fit(train)
    losses = [h["train_loss"] for h in model.history_]
    assert losses[-1] < losses[0]
    again = NeuMF(**options).fit(train)
    assert np.array_equal(model.dense_params_, again.dense_params_)
    hr, ndcg = sampled_hit_rate_ndcg(model, train, test, k=10, n_negatives=99, seed=0)
    assert hr > 0.3 and 0 < ndcg <= hr  # random ranking would give HR@10 = 0.1


def test_predict_recommend_and_fallbacks(implicit):
    train, _ = implicit
    model = NeuMF(factors=4, embedding_dim=4, hidden=(8,), epochs=1).fit(train)
    nobody, nothing = train.user_ids.max() + 10, train.item_ids.max() + 10
    scores, unknown = model.predict([train.user_ids[0], nobody, train.user_ids[0]],
                                    [train.item_ids[0], train.item_ids[0], nothing],
                                    return_unknown=True)
    assert unknown.users.tolist() == [False, True, False]
    assert 0 < scores[0] < 1 and 0 < scores[1] < 1 and scores[2] == 0.0
    items, top = model.recommend([train.user_ids[1], nobody], n=5)
    np.testing.assert_allclose(model.predict([train.user_ids[1]] * 5, items[0]), top[0],
                               rtol=1e-5)
    np.testing.assert_allclose(model.predict([nobody] * 5, items[1]), top[1], rtol=1e-5)
    row = train.by_user.indices[train.by_user.indptr[1]:train.by_user.indptr[2]]
    assert not set(train.item_ids[row]) & set(items[0])


@pytest.mark.parametrize("params, match", [
    ({"factors": 0}, "factors"),
    ({"n_negatives": 0}, "n_negatives"),
    ({"hidden": ()}, "non-empty"),
    ({"batch_size": 0}, "batch_size"),
    ({"lr": 0.0}, "lr"),
])
def test_bad_params(implicit, params, match):
    train, _ = implicit
    with pytest.raises(ValueError, match=match):
        NeuMF(**params).fit(train)


def test_a_user_with_every_item_is_refused():
    full = fastcf.Interactions.from_arrays([0, 0, 1], [0, 1, 0])
    with pytest.raises(ValueError, match="every item"):
        NeuMF(epochs=1).fit(full)

