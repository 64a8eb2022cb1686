"""fastcf.nn: every layer and loss against central finite differences (float64),
the embedding's sparse gradient, and Adam: sparse vs dense, and against its
formula written out (its compiled lazy update: tests/kernels/test_adam.py)."""

import numpy as np
import pytest
from conftest import central_difference

from fastcf.nn import (
    Adam,
    Dense,
    Embedding,
    ReLU,
    SparseGrad,
    bce_with_logits_loss,
    mse_loss,
    sum_rows_by_index,
)


def numeric_grad(f, x):
    """Central finite differences of the scalar f() with respect to every entry of x."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        grad[idx] = central_difference(f, x, idx)
    return grad


def test_dense_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    layer = Dense(5, 3, rng, np.float64)
    x = rng.normal(size=(4, 5))
    weights = rng.normal(size=(4, 3))  # loss = sum(weights * y): d loss / d y = weights

    def loss():
        return float(np.sum(weights * layer.forward(x)))

    loss()
    dx = layer.backward(weights)
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(layer.grads["weight"], numeric_grad(loss, layer.weight),
                               rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(layer.grads["bias"], numeric_grad(loss, layer.bias), rtol=1e-5,
                               atol=1e-8)


def test_relu_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    layer = ReLU()
    x = rng.normal(size=(6, 4))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink
    weights = rng.normal(size=(6, 4))

    def loss():
        return float(np.sum(weights * layer.forward(x.copy())))  # forward works in place

    loss()
    np.testing.assert_allclose(layer.backward(weights.copy()), numeric_grad(loss, x),
                               rtol=1e-5, atol=1e-8)


def test_embedding_gradient_sums_repeated_rows():
    rng = np.random.default_rng(2)
    layer = Embedding(7, 3, rng, np.float64, std=1.0)
    index = np.array([4, 1, 4, 6, 1, 4])
    weights = rng.normal(size=(6, 3))

    def loss():
        return float(np.sum(weights * layer.forward(index)))

    loss()
    layer.backward(weights)
    grad = layer.grads["weight"]
    assert isinstance(grad, SparseGrad)
    assert grad.rows.tolist() == [1, 4, 6]
    np.testing.assert_allclose(grad.to_dense(7), numeric_grad(loss, layer.weight), rtol=1e-5,
                               atol=1e-8)
    dense = np.zeros((7, 3))
    np.add.at(dense, index, weights)
    np.testing.assert_allclose(grad.to_dense(7), dense, rtol=1e-12)


def test_sum_rows_by_index_keeps_batch_order_within_a_row():
    rows, sums = sum_rows_by_index(np.array([2, 0, 2]), np.array([[1.0], [5.0], [3.0]]))
    assert rows.tolist() == [0, 2] and sums[:, 0].tolist() == [5.0, 4.0]


def test_losses_match_finite_differences():
    rng = np.random.default_rng(3)
    pred = rng.normal(size=8)
    target = rng.normal(size=8)
    loss, grad = mse_loss(pred, target)
    assert loss == pytest.approx(np.mean((pred - target) ** 2))
    np.testing.assert_allclose(grad, numeric_grad(lambda: mse_loss(pred, target)[0], pred),
                               rtol=1e-5, atol=1e-9)
    labels = (rng.random(8) < 0.5).astype(np.float64)
    logits = rng.normal(scale=3, size=8)
    loss, grad = bce_with_logits_loss(logits, labels)
    p = 1 / (1 + np.exp(-logits))
    assert loss == pytest.approx(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))
    np.testing.assert_allclose(
        grad, numeric_grad(lambda: bce_with_logits_loss(logits, labels)[0], logits),
        rtol=1e-5, atol=1e-9)


def test_bce_is_finite_for_huge_logits():
    loss, grad = bce_with_logits_loss(np.array([800.0, -800.0]), np.array([0.0, 1.0]))
    assert np.isfinite(loss) and loss == pytest.approx(800.0)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_dense_adam_follows_the_formula(weight_decay):
    rng = np.random.default_rng(4)
    start = rng.normal(size=(5, 3))
    grads = [rng.normal(size=(5, 3)) for _ in range(4)]
    param = start.copy()
    adam = Adam({"w": param}, lr=0.01, weight_decay=weight_decay)
    for g in grads:
        adam.step({"w": g})
    m = np.zeros_like(start)
    v = np.zeros_like(start)
    want = start.copy()
    for t, g in enumerate(grads, start=1):
        g = g + weight_decay * want
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        want = want - 0.01 / (1 - 0.9 ** t) * m / (np.sqrt(v) / np.sqrt(1 - 0.999 ** t) + 1e-8)
    np.testing.assert_allclose(param, want, rtol=1e-12)


def test_sparse_adam_with_dense_option_equals_adam_on_the_dense_gradient():
    rng = np.random.default_rng(5)
    start = rng.normal(size=(6, 2))
    steps = [SparseGrad(np.array([0, 3]), rng.normal(size=(2, 2))),
             SparseGrad(np.array([3, 5]), rng.normal(size=(2, 2)))]
    lazy_off = start.copy()
    Adam({"e": lazy_off}, lr=0.1, sparse=False).step({"e": steps[0]})
    dense = start.copy()
    Adam({"e": dense}, lr=0.1).step({"e": steps[0].to_dense(6)})
    np.testing.assert_array_equal(lazy_off, dense)
    a, b = start.copy(), start.copy()
    adam_a, adam_b = Adam({"e": a}, lr=0.1, sparse=False), Adam({"e": b}, lr=0.1)
    for g in steps:
        adam_a.step({"e": g})
        adam_b.step({"e": g.to_dense(6)})
    np.testing.assert_array_equal(a, b)


def test_sparse_adam_agrees_with_dense_where_it_must_and_leaves_untouched_rows():
    rng = np.random.default_rng(6)
    start = rng.normal(size=(6, 2))
    first = SparseGrad(np.array([1, 2]), rng.normal(size=(2, 2)))
    lazy, dense = start.copy(), start.copy()
    adam_lazy, adam_dense = Adam({"e": lazy}, lr=0.1), Adam({"e": dense}, lr=0.1, sparse=False)
    adam_lazy.step({"e": first})
    adam_dense.step({"e": first})
    # first step: untouched rows have zero moments in both, so the two agree exactly
    np.testing.assert_allclose(lazy, dense, rtol=1e-15)
    # every row touched every step: the same again
    full = SparseGrad(np.arange(6), rng.normal(size=(6, 2)))
    adam_lazy.step({"e": full})
    adam_dense.step({"e": full})
    np.testing.assert_allclose(lazy, dense, rtol=1e-15)
    # a step touching row 0 only: lazy Adam leaves the others exactly where they are,
    # dense Adam still moves them along their decaying momentum
    before = lazy.copy()
    partial = SparseGrad(np.array([0]), rng.normal(size=(1, 2)))
    adam_lazy.step({"e": partial})
    adam_dense.step({"e": partial})
    np.testing.assert_array_equal(lazy[1:], before[1:])
    assert not np.allclose(dense[1:], before[1:])
