r"""A minimal neural-network layer library in NumPy: what the MLP models need, no more.

Every layer keeps what its backward pass needs from the last forward pass
(one batch at a time), and ``backward`` takes the loss gradient of the
layer's output and returns that of its input, keeping its parameters'
gradients (``grads``). Matrix products go to BLAS (``@``); nothing else
here is faster than a loop over a batch needs to be.

- :class:`Embedding`: rows of a table looked up by index. Its gradient is
  sparse: one term a batch entry (:class:`BatchGrad`), which Adam's compiled
  lazy update sums and applies in one pass; summed per distinct row on
  request (:class:`SparseGrad`: a stable sort and ``np.add.reduceat``, not
  the slow ``np.add.at``).
- :class:`Dense`: :math:`y = x W + b`, PyTorch ``nn.Linear``'s initialisation
  (:math:`W, b \sim U(-1/\sqrt{n_{in}}, 1/\sqrt{n_{in}})`).
- :class:`ReLU`.
- :func:`mse_loss`, :func:`bce_with_logits_loss`: (loss, gradient w.r.t. the
  predictions), batch means.
- :class:`Adam` (Kingma & Ba, PyTorch's formulation, ``weight_decay`` as an
  L2 term added to the gradient): dense parameters get the usual update;
  embedding tables either the lazy sparse update (only the touched rows'
  moments and values move, PyTorch ``SparseAdam``'s rule) or, with
  ``sparse=False``, exactly the dense update of the dense gradient.
"""

from typing import NamedTuple

import numpy as np

from .kernels.adam import run_sparse_adam_update


class SparseGrad(NamedTuple):
    """Gradient of an embedding table: ``values[j]`` is the gradient of row ``rows[j]``.

    ``rows`` is sorted and has no repeats; every other row's gradient is zero.
    """

    rows: np.ndarray
    values: np.ndarray

    def to_dense(self, n_rows):
        dense = np.zeros((n_rows, self.values.shape[1]), dtype=self.values.dtype)
        dense[self.rows] = self.values
        return dense


class BatchGrad(NamedTuple):
    """Gradient of an embedding table as one term a batch entry: row ``index[j]``
    gets ``values[j]`` (rows may repeat; their terms add up). What a backward
    pass produces; Adam's lazy update sums and applies it in one compiled pass."""

    index: np.ndarray
    values: np.ndarray

    def summed(self):
        """The same gradient as a :class:`SparseGrad` (distinct rows, sums)."""
        return SparseGrad(*sum_rows_by_index(self.index, self.values))


def sum_rows_by_index(index, values):
    """(distinct sorted indices, summed rows of ``values`` per index).

    A stable sort groups equal indices; ``np.add.reduceat`` sums each group in
    batch order, so the result is deterministic.
    """
    if len(index) == 0:
        return index[:0], values[:0]
    order = np.argsort(index, kind="stable")
    sorted_index = index[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_index[1:] != sorted_index[:-1])))
    return sorted_index[starts], np.add.reduceat(values[order], starts, axis=0)


class Embedding:
    """A table of ``n_rows`` vectors of size ``dim``, initialised N(0, ``std``^2)."""

    def __init__(self, n_rows, dim, rng, dtype=np.float32, std=0.01):
        self.weight = rng.normal(0.0, std, (n_rows, dim)).astype(dtype)
        self.batch_grad = BatchGrad(np.zeros(0, np.int64), np.zeros((0, dim), dtype))

    @property
    def grads(self):
        """The last backward pass's gradient, summed per row (a :class:`SparseGrad`)."""
        return {"weight": self.batch_grad.summed()}

    def forward(self, index):
        self._index = index
        return self.weight[index]

    def backward(self, grad_out):
        self.batch_grad = BatchGrad(np.asarray(self._index, dtype=np.int64), grad_out)


class Dense:
    """Fully connected layer ``x @ weight + bias``; ``weight`` has shape (n_in, n_out).

    ``backward`` writes the parameter gradients into ``grad_weight`` /
    ``grad_bias`` (reused arrays: :func:`share_buffers` can make them, and the
    parameters, views of one flat array that Adam updates in one go).
    """

    def __init__(self, n_in, n_out, rng, dtype=np.float32):
        bound = 1.0 / np.sqrt(n_in)
        self.weight = rng.uniform(-bound, bound, (n_in, n_out)).astype(dtype)
        self.bias = rng.uniform(-bound, bound, n_out).astype(dtype)
        self.grad_weight = np.zeros_like(self.weight)
        self.grad_bias = np.zeros_like(self.bias)

    @property
    def grads(self):
        return {"weight": self.grad_weight, "bias": self.grad_bias}

    def forward(self, x):
        self._x = x
        out = x @ self.weight
        out += self.bias
        return out

    def backward(self, grad_out):
        np.matmul(self._x.T, grad_out, out=self.grad_weight)
        np.sum(grad_out, axis=0, out=self.grad_bias)
        return grad_out @ self.weight.T


def share_buffers(layers):
    """(parameters, gradients): two flat arrays holding every ``Dense`` layer's
    weight and bias, and their gradients, the layers' arrays becoming views."""
    arrays = [(layer, name) for layer in layers for name in ("weight", "bias")]
    size = sum(getattr(layer, name).size for layer, name in arrays)
    params = np.empty(size, dtype=layers[0].weight.dtype)
    grads = np.zeros_like(params)
    offset = 0
    for layer, name in arrays:
        current = getattr(layer, name)
        view = params[offset:offset + current.size].reshape(current.shape)
        view[...] = current
        setattr(layer, name, view)
        setattr(layer, f"grad_{name}", grads[offset:offset + current.size].reshape(current.shape))
        offset += current.size
    return params, grads


class ReLU:
    """max(x, 0); the gradient at 0 is 0 (PyTorch's choice). Works in place on
    the arrays it is given (each is a fresh product of the layer before)."""

    grads = {}

    def forward(self, x):
        self._out = np.maximum(x, 0, out=x)
        return self._out

    def backward(self, grad_out):
        grad_out *= self._out > 0
        return grad_out


def mse_loss(predictions, targets):
    r"""(:math:`\frac1n \sum (p - t)^2`, its gradient w.r.t. ``predictions``)."""
    diff = predictions - targets
    return float(np.mean(diff.astype(np.float64) ** 2)), (2.0 / len(diff)) * diff


def bce_with_logits_loss(logits, targets):
    r"""Binary cross-entropy of :math:`\sigma(z)` against 0/1 targets, batch mean.

    :math:`\ell = \max(z, 0) - z t + \log(1 + e^{-|z|})` (never overflows);
    :math:`\partial \ell / \partial z = (\sigma(z) - t) / n`.
    """
    z = logits.astype(np.float64)
    loss = np.maximum(z, 0) - z * targets + np.log1p(np.exp(-np.abs(z)))
    grad = (sigmoid(z) - targets) / len(z)
    return float(loss.mean()), grad.astype(logits.dtype)


def sigmoid(z):
    """1 / (1 + e^-z) without overflow for large |z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class Adam:
    r"""Adam over named parameter arrays, updated in place.

    With gradient :math:`g` (plus ``weight_decay`` :math:`\times` the parameter),
    step :math:`t`: :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`,
    :math:`v \leftarrow \beta_2 v + (1-\beta_2) g^2`,
    :math:`\theta \leftarrow \theta - \frac{\eta}{1-\beta_1^t}
    \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon}` -- PyTorch ``Adam``.

    A :class:`SparseGrad` or :class:`BatchGrad` is applied lazily (only its rows'
    :math:`m, v, \theta` move, with the global :math:`t`; weight decay only on
    those rows) by the compiled kernel ``kernels.adam`` on ``backend``, unless
    ``sparse=False``, which applies the dense update to the dense gradient:
    every row's moments decay, the result equals PyTorch ``Adam`` on a dense
    embedding gradient.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 sparse=True, backend="auto"):
        self.params = params
        self.backend = backend
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.weight_decay = weight_decay
        self.sparse = sparse
        self.m = {name: np.zeros_like(p) for name, p in params.items()}
        self.v = {name: np.zeros_like(p) for name, p in params.items()}
        self._scratch = {name: np.empty_like(p) for name, p in params.items()}
        self.t = 0

    def step(self, grads):
        """Apply one update; ``grads`` maps parameter names to arrays or SparseGrads."""
        self.t += 1
        step_size = self.lr / (1.0 - self.beta1 ** self.t)
        root_bias = np.sqrt(1.0 - self.beta2 ** self.t)
        for name, grad in grads.items():
            param, m, v = self.params[name], self.m[name], self.v[name]
            if isinstance(grad, (SparseGrad, BatchGrad)):
                if not self.sparse:
                    summed = grad.summed() if isinstance(grad, BatchGrad) else grad
                    grad = summed.to_dense(len(param))
                else:
                    run_sparse_adam_update(param, m, v, np.asarray(grad[0], dtype=np.int64),
                                           np.ascontiguousarray(grad[1], dtype=param.dtype),
                                           step_size, root_bias, self.beta1, self.beta2,
                                           self.eps, self.weight_decay, backend=self.backend)
                    continue
            if self.weight_decay:
                grad = grad + self.weight_decay * param
            # in place, through one scratch array: these run once a batch
            tmp = self._scratch[name]
            m *= self.beta1
            np.multiply(grad, 1.0 - self.beta1, out=tmp)
            m += tmp
            v *= self.beta2
            np.multiply(grad, grad, out=tmp)
            tmp *= 1.0 - self.beta2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp *= 1.0 / root_bias
            tmp += self.eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            param -= tmp
