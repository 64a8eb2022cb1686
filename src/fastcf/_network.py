"""The base of the neural models (:class:`~fastcf.MLPRecommender`, :class:`~fastcf.NeuMF`).

:class:`_Network` holds what they share: embedding tables and Dense layers
(``fastcf.nn``) as named parameters, Adam over seeded mini-batches run by the
common epoch loop (``fastcf._training``), the memory estimate of a fit, the
saved state, and the scoring of one user against every item through the MLP.
"""

import math

import numpy as np

from ._config import SCORE_CHUNK_CELLS, SINGLE_THREAD_BATCH_CELLS
from ._parallel import blas_threads, resolve_n_threads
from ._training import Epoch, TrainingDiverged, train_epochs
from ._validation import check_bool, check_float, check_int, check_memory, check_value_dtype
from .base import Recommender
from .kernels._registry import check_backend
from .nn import Adam, BatchGrad, share_buffers


def _training_threads(model, widths):
    """BLAS threads for training: one for small batches, else the model's ``n_threads``."""
    if model.batch_size * max(widths) <= SINGLE_THREAD_BATCH_CELLS:
        return 1
    return model.n_threads


def _check_network_params(model):
    """The parameters MLPRecommender and NeuMF share."""
    check_int("embedding_dim", model.embedding_dim, min_value=1)
    if not isinstance(model.hidden, (tuple, list)) or len(model.hidden) == 0:
        raise ValueError(f"hidden == {model.hidden!r}, must be a non-empty tuple of layer "
                         "widths.")
    for width in model.hidden:
        check_int("hidden layer width", width, min_value=1)
    check_int("epochs", model.epochs, min_value=1)
    check_int("batch_size", model.batch_size, min_value=1)
    check_float("lr", model.lr, min_value=0.0, min_inclusive=False)
    check_float("weight_decay", model.weight_decay, min_value=0.0)
    check_float("embedding_std", model.embedding_std, min_value=0.0)
    for name in ("sparse_adam", "verbose"):
        check_bool(name, getattr(model, name))
    check_value_dtype(model.dtype)
    if model.n_threads is not None:  # -1: every usable core, as everywhere in fastcf
        resolve_n_threads(model.n_threads)
    check_int("seed", model.seed, min_value=0)
    check_backend(model.backend)


def _network_dims(model, known, arrays):
    """``n_dense``: the number of values the architecture's layers hold (the
    length of ``dense_params_``), read from the network built for no users."""
    model._build(0, 0, np.random.default_rng(0))
    return {"n_dense": model._dense_flat.size}


class _Network(Recommender):
    """What MLPRecommender and NeuMF share: embedding tables and Dense layers as
    named parameters, the Adam mini-batch training loop, and their saved state.

    Subclasses build ``_tables()`` (name -> Embedding) and ``_dense_layers()``
    in ``_build``, and give ``_forward`` / ``_backward_into_layers``, the
    epoch's training examples (``_epoch_examples``), its loss function, and
    ``_table_widths()`` (the width parameter of each table pair: the memory
    estimate).
    """

    def _named_params(self):
        params = {name: table.weight for name, table in self._tables().items()}
        for j, layer in enumerate(self._dense_layers()):
            params[f"dense{j}.weight"] = layer.weight
            params[f"dense{j}.bias"] = layer.bias
        return params

    def _share_buffers(self, table_groups):
        """Give Adam few, large arrays (called by ``_build``): every Dense layer's
        parameters and gradients become views of one flat array each, and each
        group of tables (same width) views of one stacked table, updated lazily
        in one pass."""
        self._dense_flat, self._dense_flat_grad = share_buffers(self._dense_layers())
        tables = self._tables()
        self._table_groups = []
        for names in table_groups:
            stacked = np.concatenate([tables[name].weight for name in names])
            offsets = np.cumsum([0] + [len(tables[name].weight) for name in names])
            for name, start, stop in zip(names, offsets[:-1], offsets[1:]):
                tables[name].weight = stacked[start:stop]
            self._table_groups.append((names, stacked, offsets[:-1]))

    def _optimizer_params(self):
        params = {"+".join(names): stacked for names, stacked, _ in self._table_groups}
        return {**params, "dense": self._dense_flat}

    def _optimizer_grads(self):
        """The last backward pass's gradients, as :meth:`_optimizer_params` names them."""
        tables, grads = self._tables(), {"dense": self._dense_flat_grad}
        for names, _, offsets in self._table_groups:
            parts = [tables[name].batch_grad for name in names]
            grads["+".join(names)] = BatchGrad(
                np.concatenate([g.index + offset for g, offset in zip(parts, offsets)]),
                np.concatenate([g.values for g in parts]))
        return grads

    def _backward(self, grad_outputs):
        """Gradients of every parameter, by name, from d loss / d outputs."""
        self._backward_into_layers(grad_outputs)
        grads = {name: table.grads["weight"] for name, table in self._tables().items()}
        for j, layer in enumerate(self._dense_layers()):
            grads[f"dense{j}.weight"] = layer.grads["weight"]
            grads[f"dense{j}.bias"] = layer.grads["bias"]
        return grads

    def _check_memory(self, n_users, n_items):
        """Refuse, before building anything, tables or layers that cannot fit."""
        itemsize = np.dtype(self.dtype).itemsize
        widths = self._table_widths()
        # every table entry: its weight and Adam's two moments and scratch row
        name = max(widths, key=widths.get)
        check_memory(4 * itemsize * sum(widths.values()) * (n_users + n_items),
                     "the embedding tables", **{name: getattr(self, name)})
        sizes = [2 * self.embedding_dim, *self.hidden, 1]
        n_dense = sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
        # every weight: itself, its gradient, Adam's two moments and scratch
        check_memory(5 * itemsize * n_dense, "the dense layers", hidden=self.hidden)

    def _train(self, rng, validation=None):
        """Adam over seeded mini-batches for ``epochs`` epochs (``_training.train_epochs``)."""
        optimizer = Adam(self._optimizer_params(), lr=self.lr,
                         weight_decay=self.weight_decay, sparse=self.sparse_adam,
                         backend=self.backend)
        self.history_ = []

        def run_epoch(epoch):
            users, items, targets = self._epoch_examples(rng)
            order = rng.permutation(len(targets))
            total = 0.0
            for first in range(0, len(order), self.batch_size):
                batch = order[first:first + self.batch_size]
                loss, grad = self._loss(self._forward(users[batch], items[batch]),
                                        targets[batch])
                if not math.isfinite(loss):
                    raise TrainingDiverged(self._diverged(epoch, first // self.batch_size))
                self._backward_into_layers(grad)
                optimizer.step(self._optimizer_grads())
                total += loss * len(batch)
            mean = total / len(targets)
            return Epoch(mean, self._train_metric(mean), {"samples": len(targets)})

        widths = [2 * self.embedding_dim, *self.hidden]
        # Overflow is caught by the loss check of every batch, not reported as warnings.
        with blas_threads(_training_threads(self, widths)), \
                np.errstate(over="ignore", invalid="ignore"):
            train_epochs(self, self.epochs, run_epoch, params=self._named_params,
                         diverged=self._diverged, validation=validation,
                         callbacks=self._callbacks, patience=getattr(self, "patience", None))
        self._sync_state()

    def _diverged(self, epoch, batch=None):
        where, what = ((f" (batch {batch})", "the loss") if batch is not None else
                       ("", "the loss or the parameters"))
        return (f"training diverged at epoch {epoch}{where}: {what} became NaN/inf; lower the "
                f"learning rate (lr == {self.lr}).")

    def _sync_state(self):
        """Expose the trained arrays as fitted attributes (what ``save`` stores)."""
        for name, table in self._tables().items():
            setattr(self, f"{name}_", table.weight)
        self.dense_params_ = self._dense_flat

    def _set_state(self, arrays, user_ids, item_ids):
        super()._set_state(arrays, user_ids, item_ids)
        dtype = np.dtype(self.dtype)
        self._build(len(user_ids), len(item_ids), np.random.default_rng(0))  # shapes only
        for name, table in self._tables().items():
            saved = np.asarray(getattr(self, f"{name}_"), dtype=dtype)
            table.weight[...] = saved  # a view of its group's stacked table
        flat = np.asarray(self.dense_params_, dtype=dtype)
        self._dense_flat[...] = flat  # the layers' weights and biases are views of it
        self._sync_state()

    def _mlp_over_all_items(self, user_vectors, item_table, head):
        """``head(h)`` for every (user, item) pair, users x items, where ``h`` is
        what ``_layers`` make of ``[user vector; item embedding]``.

        ``[e_u; e_i] W = e_u W_u + e_i W_i``: the first layer's item half (and
        bias) is computed once for all items and each user adds its own half;
        the rest runs in chunks of bounded memory.
        """
        d, first = self.embedding_dim, self._layers[0]
        user_part = user_vectors @ first.weight[:d]
        item_part = item_table.weight @ first.weight[d:] + first.bias
        n_items, width = item_part.shape
        scores = np.empty((len(user_part), n_items))
        rows = max(1, SCORE_CHUNK_CELLS // (n_items * width))
        with blas_threads(self.n_threads):
            for start in range(0, len(user_part), rows):
                h = user_part[start:start + rows, None, :] + item_part[None, :, :]
                h = h.reshape(-1, width)
                for layer in self._layers[1:]:
                    h = layer.forward(h)
                scores[start:start + rows] = head(h).reshape(-1, n_items)
        return scores
