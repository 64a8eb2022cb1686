r"""Neural rating models in NumPy: ``MLPRecommender``, the embedding + MLP model.

.. math::

    \hat r_{ui} = f_L(\ldots \mathrm{ReLU}(f_1([e_u; e_i])))

user and item embeddings :math:`e_u, e_i` concatenated, hidden layers
:math:`f_l(x) = x W_l + b_l` with ReLU, one linear output; trained on the
mean squared error by Adam over seeded mini-batches (``fastcf.nn``). The
output bias starts at the training mean rating, so training starts from the
global-mean predictor instead of from 0.

No deep-learning framework runs: the forward and backward passes are BLAS
matrix products on the batch, the embedding gradients sparse (summed per
distinct row), and Adam updates only the embedding rows a batch touched
(``sparse_adam=False``: the exact dense Adam).
"""

import math
import time

import numpy as np

from ._config import SCORE_CHUNK_CELLS, SINGLE_THREAD_BATCH_CELLS
from ._parallel import blas_threads, resolve_n_threads
from ._validation import check_bool, check_float, check_int, check_value_dtype
from .base import Recommender
from .data import Interactions
from .kernels._registry import check_backend
from .nn import (
    Adam,
    BatchGrad,
    Dense,
    Embedding,
    ReLU,
    bce_with_logits_loss,
    mse_loss,
    share_buffers,
    sigmoid,
)
from .persist import Array, Schema
from .sampling import sample_negatives as _sample_negatives


class TrainingDiverged(ValueError):
    """The loss became NaN or infinite."""


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
    epoch's training examples (``_epoch_examples``) and its loss function.
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

    def _train(self, rng, validation=None):
        """Adam over seeded mini-batches for ``epochs`` epochs, with history and callbacks."""
        optimizer = Adam(self._optimizer_params(), lr=self.lr,
                         weight_decay=self.weight_decay, sparse=self.sparse_adam,
                         backend=self.backend)
        self.history_ = []
        best = None
        epochs = range(self.epochs)
        if self.verbose:
            from tqdm.auto import tqdm

            epochs = tqdm(epochs, desc=type(self).__name__, unit="epoch")
        widths = [2 * self.embedding_dim, *self.hidden]
        # Overflow is caught by the loss check of every batch, not reported as warnings.
        with blas_threads(_training_threads(self, widths)), \
                np.errstate(over="ignore", invalid="ignore"):
            for epoch in epochs:
                start = time.perf_counter()
                users, items, targets = self._epoch_examples(rng)
                order = rng.permutation(len(targets))
                total = 0.0
                for first in range(0, len(order), self.batch_size):
                    batch = order[first:first + self.batch_size]
                    loss, grad = self._loss(self._forward(users[batch], items[batch]),
                                            targets[batch])
                    if not math.isfinite(loss):
                        raise TrainingDiverged(
                            f"training diverged at epoch {epoch} (batch "
                            f"{first // self.batch_size}): the loss became NaN/inf; lower the "
                            f"learning rate (lr == {self.lr}).")
                    self._backward_into_layers(grad)
                    optimizer.step(self._optimizer_grads())
                    total += loss * len(batch)
                entry = {"epoch": epoch, **self._train_metric(total / len(targets)),
                         "seconds": time.perf_counter() - start, "samples": len(targets)}
                if validation is not None:
                    entry["validation_rmse"] = self._rmse(*validation)
                self.history_.append(entry)
                if self.verbose:
                    epochs.set_postfix({k: round(v, 4) for k, v in entry.items()
                                        if k not in ("epoch", "samples")})
                stop = any([cb(dict(entry)) is True for cb in self._callbacks])
                if validation is not None and getattr(self, "patience", None) is not None:
                    if best is None or entry["validation_rmse"] < best[0]:
                        best = (entry["validation_rmse"], epoch,
                                {k: p.copy() for k, p in self._named_params().items()})
                    elif epoch - best[1] >= self.patience:
                        stop = True
                if stop:
                    break
        if best is not None:
            for name, param in self._named_params().items():
                param[...] = best[2][name]
            self.best_epoch_ = best[1]
        self._sync_state()

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


class MLPRecommender(_Network):
    r"""Embedding + MLP rating model (explicit feedback), trained by Adam on the MSE.

    Parameters
    ----------
    embedding_dim : int
        Size of each user and item embedding (the first layer sees twice it).
    hidden : tuple of int
        Widths of the hidden layers (at least one), each followed by ReLU.
    epochs : int
    batch_size : int
    lr : float
        Adam's learning rate.
    weight_decay : float
        L2 penalty added to every gradient (PyTorch Adam's ``weight_decay``);
        on the embeddings, of the rows a batch touched.
    sparse_adam : bool
        Update only the embedding rows a batch touched (lazy Adam, fast), or
        every row (False: exactly Adam on the dense gradient).
    embedding_std : float
        Embeddings start N(0, embedding_std^2); layers as PyTorch's ``Linear``.
    patience : int, optional
        With a validation set: stop after this many epochs without a better
        validation RMSE and keep the best epoch's parameters.
    clip : bool
        Clip predictions to the training rating range.
    dtype : {numpy.float32, numpy.float64}
    n_threads : int, optional
        BLAS threads (threadpoolctl) while training and scoring; None leaves
        BLAS as configured, -1 uses every usable core. Batches of at most
        ``SINGLE_THREAD_BATCH_CELLS`` (batch size x widest layer) train on one
        BLAS thread whatever this says: their products are too small to share.
    verbose : bool
        Progress bar (tqdm) over epochs.
    backend : {"auto", "numba", "cython", "reference"}
        Of the compiled lazy Adam step of the embeddings (``kernels.adam``).
    seed : int
        Initial parameters and every epoch's batch order.

    Notes
    -----
    Unknown users or items (not seen by ``fit``) are predicted as the training
    mean rating (reported by ``return_unknown``); ``recommend`` scores an
    unknown user with the mean user embedding.
    """

    _state_schema = Schema({
        "global_mean_": Array("f"),
        "user_embedding_": Array("f", ("n_users", "embedding_dim"), dtype_param="dtype"),
        "item_embedding_": Array("f", ("n_items", "embedding_dim"), dtype_param="dtype"),
        "dense_params_": Array("f", ("n_dense",), dtype_param="dtype"),
        "rating_range_": Array("f", (2,)),
    }, dims=_network_dims)

    def __init__(self, embedding_dim=32, hidden=(64, 32), epochs=20, batch_size=256, lr=1e-3,
                 weight_decay=0.0, sparse_adam=True, embedding_std=0.1, patience=None,
                 clip=True, dtype=np.float32, n_threads=None, verbose=False, backend="auto",
                 seed=0):
        self.embedding_dim = embedding_dim
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.sparse_adam = sparse_adam
        self.embedding_std = embedding_std
        self.patience = patience
        self.clip = clip
        self.dtype = dtype
        self.n_threads = n_threads
        self.verbose = verbose
        self.backend = backend
        self.seed = seed

    # ---------------------------------------------------------------- params
    def _check_params(self):
        _check_network_params(self)
        if self.patience is not None:
            check_int("patience", self.patience, min_value=1)
        check_bool("clip", self.clip)

    # ----------------------------------------------------------------- model
    def _build(self, n_users, n_items, rng):
        dtype = np.dtype(self.dtype)
        self._user_emb = Embedding(n_users, self.embedding_dim, rng, dtype, self.embedding_std)
        self._item_emb = Embedding(n_items, self.embedding_dim, rng, dtype, self.embedding_std)
        widths = [2 * self.embedding_dim, *self.hidden, 1]
        self._layers = []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            self._layers += [Dense(n_in, n_out, rng, dtype), ReLU()]
        self._layers.pop()  # the output layer is linear
        self._share_buffers([["user_embedding", "item_embedding"]])

    def _tables(self):
        return {"user_embedding": self._user_emb, "item_embedding": self._item_emb}

    def _dense_layers(self):
        return [layer for layer in self._layers if isinstance(layer, Dense)]

    def _forward(self, users, items):
        x = np.concatenate([self._user_emb.forward(users), self._item_emb.forward(items)],
                           axis=1)
        for layer in self._layers:
            x = layer.forward(x)
        return x[:, 0]

    def _backward_into_layers(self, grad_predictions):
        g = grad_predictions[:, None]
        for layer in reversed(self._layers):
            g = layer.backward(g)
        self._user_emb.backward(g[:, :self.embedding_dim])
        self._item_emb.backward(g[:, self.embedding_dim:])

    _loss = staticmethod(mse_loss)

    @staticmethod
    def _train_metric(mean_loss):
        return {"train_rmse": float(np.sqrt(mean_loss))}

    def _epoch_examples(self, rng):
        return self._examples

    # ------------------------------------------------------------------- fit
    def fit(self, data, *, validation=None, callbacks=()):
        """Train on ``data``; returns ``self``.

        Parameters
        ----------
        data : Interactions
            Explicit ratings.
        validation : Interactions, optional
            Held-out ratings: their RMSE is recorded per epoch (pairs unknown
            to ``data`` skipped); with ``patience``, early stopping.
        callbacks : iterable of callables
            Called after every epoch with its ``history_`` entry (a dict);
            returning True stops training.
        """
        if validation is not None and not isinstance(validation, Interactions):
            raise TypeError(f"validation must be an Interactions, got "
                            f"{type(validation).__name__}.")
        if self.patience is not None and validation is None:
            raise ValueError("patience needs a validation set: fit(data, validation=...).")
        self._validation, self._callbacks = validation, list(callbacks)
        try:
            return super().fit(data)
        finally:
            self._validation = self._callbacks = self._examples = None

    def _fit(self, data):
        if data.implicit:
            raise ValueError("MLPRecommender needs explicit ratings; this data is implicit.")
        if data.nnz == 0:
            raise ValueError("cannot fit on empty data (no ratings).")
        rng = np.random.default_rng(self.seed)
        self._build(data.n_users, data.n_items, rng)
        self.global_mean_ = np.float64(data.global_mean)
        self.rating_range_ = np.array(data.rating_range, dtype=np.float64)
        self._dense_layers()[-1].bias[:] = self.global_mean_
        by_user = data.by_user
        self._examples = (np.repeat(np.arange(data.n_users), np.diff(by_user.indptr)),
                          np.asarray(by_user.indices, dtype=np.int64),
                          by_user.data.astype(self.dtype))
        self._train(rng, self._validation_pairs())

    # --------------------------------------------------------------- predict
    def _predict_internal(self, users, items):
        known = (users >= 0) & (items >= 0)
        est = np.full(len(users), float(self.global_mean_))
        where = np.flatnonzero(known)
        chunk = max(1, SCORE_CHUNK_CELLS // max(self.hidden[0], 1))
        with blas_threads(self.n_threads):
            for first in range(0, len(where), chunk):
                part = where[first:first + chunk]
                est[part] = self._forward(users[part], items[part])
        if self.clip:
            np.clip(est, self.rating_range_[0], self.rating_range_[1], out=est)
        return est

    def _score_block(self, users, out=None, setup=None):
        """Unclipped scores of ``users`` (internal, -1 unknown: the mean user
        embedding) over every item."""
        vectors = np.where((users >= 0)[:, None], self._user_emb.weight[users],
                           self._user_emb.weight.mean(axis=0))
        return self._mlp_over_all_items(vectors, self._item_emb, lambda h: h[:, 0])


class NeuMF(_Network):
    r"""Neural matrix factorisation for implicit feedback (He et al., 2017).

    .. math::

        \hat y_{ui} = \sigma\!\left(h^\top [\,p_u \odot q_i \,;\,
        \mathrm{MLP}([p'_u; q'_i])\,] + b\right)

    a GMF branch (element-wise product of its own user and item embeddings)
    and an MLP branch (concatenated embeddings through ReLU layers), joined in
    one logistic output; trained by Adam on the binary cross-entropy of every
    interaction (label 1) and, drawn afresh each epoch, ``n_negatives`` items
    per interaction the user has not interacted with (label 0).

    Parameters
    ----------
    factors : int
        Size of the GMF embeddings.
    embedding_dim : int
        Size of the MLP branch's embeddings.
    hidden : tuple of int
        Widths of the MLP branch's layers (at least one), each with ReLU.
    epochs, batch_size, lr, weight_decay, sparse_adam, embedding_std, dtype,
    n_threads, verbose, backend, seed
        As in :class:`MLPRecommender` (``embedding_std`` default 0.01, the
        paper's initialisation).
    n_negatives : int
        Negatives drawn per interaction and epoch (seeded).

    Notes
    -----
    Any data is implicit here: every (user, item) of ``fit``'s data is a
    positive, whatever its rating. ``predict`` returns :math:`\hat y_{ui}`, a
    probability; an unknown user is scored with the mean user embeddings,
    an unknown item gets 0.
    """

    predicts_ratings = False  # it ranks: predict is P(interaction)

    _state_schema = Schema({
        "gmf_user_": Array("f", ("n_users", "factors"), dtype_param="dtype"),
        "gmf_item_": Array("f", ("n_items", "factors"), dtype_param="dtype"),
        "mlp_user_": Array("f", ("n_users", "embedding_dim"), dtype_param="dtype"),
        "mlp_item_": Array("f", ("n_items", "embedding_dim"), dtype_param="dtype"),
        "dense_params_": Array("f", ("n_dense",), dtype_param="dtype"),
    }, dims=_network_dims)

    def __init__(self, factors=8, embedding_dim=32, hidden=(64, 32, 16, 8), epochs=20,
                 batch_size=256, lr=1e-3, n_negatives=4, weight_decay=0.0, sparse_adam=True,
                 embedding_std=0.01, dtype=np.float32, n_threads=None, verbose=False,
                 backend="auto", seed=0):
        self.factors = factors
        self.embedding_dim = embedding_dim
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.n_negatives = n_negatives
        self.weight_decay = weight_decay
        self.sparse_adam = sparse_adam
        self.embedding_std = embedding_std
        self.dtype = dtype
        self.n_threads = n_threads
        self.verbose = verbose
        self.backend = backend
        self.seed = seed

    def _check_params(self):
        _check_network_params(self)
        check_int("factors", self.factors, min_value=1)
        check_int("n_negatives", self.n_negatives, min_value=1)

    # ----------------------------------------------------------------- model
    def _build(self, n_users, n_items, rng):
        dtype, std = np.dtype(self.dtype), self.embedding_std
        self._gmf_user = Embedding(n_users, self.factors, rng, dtype, std)
        self._gmf_item = Embedding(n_items, self.factors, rng, dtype, std)
        self._mlp_user = Embedding(n_users, self.embedding_dim, rng, dtype, std)
        self._mlp_item = Embedding(n_items, self.embedding_dim, rng, dtype, std)
        widths = [2 * self.embedding_dim, *self.hidden]
        self._layers = []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            self._layers += [Dense(n_in, n_out, rng, dtype), ReLU()]
        self._output = Dense(self.factors + self.hidden[-1], 1, rng, dtype)
        self._share_buffers([["gmf_user", "gmf_item"], ["mlp_user", "mlp_item"]])

    def _tables(self):
        return {"gmf_user": self._gmf_user, "gmf_item": self._gmf_item,
                "mlp_user": self._mlp_user, "mlp_item": self._mlp_item}

    def _dense_layers(self):
        return [layer for layer in self._layers if isinstance(layer, Dense)] + [self._output]

    def _forward(self, users, items):
        """Logits of the pairs (internal indices)."""
        self._pu, self._qi = self._gmf_user.forward(users), self._gmf_item.forward(items)
        x = np.concatenate([self._mlp_user.forward(users), self._mlp_item.forward(items)],
                           axis=1)
        for layer in self._layers:
            x = layer.forward(x)
        return self._output.forward(np.concatenate([self._pu * self._qi, x], axis=1))[:, 0]

    def _backward_into_layers(self, grad_logits):
        g = self._output.backward(grad_logits[:, None])
        g_gmf, g = g[:, :self.factors], g[:, self.factors:]
        for layer in reversed(self._layers):
            g = layer.backward(g)
        self._mlp_user.backward(g[:, :self.embedding_dim])
        self._mlp_item.backward(g[:, self.embedding_dim:])
        self._gmf_user.backward(g_gmf * self._qi)
        self._gmf_item.backward(g_gmf * self._pu)

    _loss = staticmethod(bce_with_logits_loss)

    @staticmethod
    def _train_metric(mean_loss):
        return {"train_loss": float(mean_loss)}

    def _epoch_examples(self, rng):
        """The interactions (label 1) and fresh negatives (label 0) of an epoch."""
        users, items, indptr, n_items = self._examples
        negatives = _sample_negatives(users, indptr, items, n_items, self.n_negatives, rng)
        return self._all_users, np.concatenate([items, negatives]), self._labels

    # ------------------------------------------------------------------- fit
    def fit(self, data, *, callbacks=()):
        """Train on ``data`` (every entry a positive); returns ``self``.

        ``callbacks`` are called after every epoch with its ``history_`` entry;
        returning True stops training.
        """
        self._callbacks = list(callbacks)
        try:
            return super().fit(data)
        finally:
            self._callbacks = self._examples = self._all_users = self._labels = None

    def _fit(self, data):
        if data.nnz == 0:
            raise ValueError("cannot fit on empty data (no interactions).")
        by_user = data.by_user
        counts = np.diff(by_user.indptr)
        if (counts >= data.n_items).any():
            raise ValueError("a user has interacted with every item: no negatives to draw.")
        rng = np.random.default_rng(self.seed)
        self._build(data.n_users, data.n_items, rng)
        users = np.repeat(np.arange(data.n_users), counts)
        self._examples = (users, np.asarray(by_user.indices, dtype=np.int64), by_user.indptr,
                          data.n_items)
        self._all_users = np.concatenate([users, np.repeat(users, self.n_negatives)])
        self._labels = np.concatenate([np.ones(len(users), self.dtype),
                                       np.zeros(len(users) * self.n_negatives, self.dtype)])
        self._train(rng)

    # --------------------------------------------------------------- predict
    def _predict_internal(self, users, items):
        est = np.zeros(len(users))
        where = np.flatnonzero(items >= 0)
        if len(where):
            users, items = users[where], items[where]
            gmf, mlp = self._user_rows(users)
            chunk = max(1, SCORE_CHUNK_CELLS // max(self.hidden[0], 1))
            with blas_threads(self.n_threads):
                for first in range(0, len(where), chunk):
                    part = slice(first, first + chunk)
                    x = np.concatenate([mlp[part], self._mlp_item.weight[items[part]]], axis=1)
                    for layer in self._layers:
                        x = layer.forward(x)
                    joined = np.concatenate(
                        [gmf[part] * self._gmf_item.weight[items[part]], x], axis=1)
                    est[where[part]] = sigmoid(self._output.forward(joined)[:, 0])
        return est

    def _user_rows(self, users):
        """(GMF, MLP) user embeddings; an unknown user (-1) gets the mean ones."""
        known = (users >= 0)[:, None]
        return tuple(np.where(known, table.weight[users], table.weight.mean(axis=0))
                     for table in (self._gmf_user, self._mlp_user))

    def _score_block(self, users, out=None, setup=None):
        """Probabilities of ``users`` over every item: the GMF term is one
        product, the MLP branch as in :meth:`MLPRecommender._score_block`."""
        gmf, mlp = self._user_rows(users)
        w_out = self._output.weight[:, 0]
        gmf_scores = (gmf * w_out[:self.factors]) @ self._gmf_item.weight.T
        mlp_scores = self._mlp_over_all_items(mlp, self._mlp_item,
                                              lambda h: h @ w_out[self.factors:])
        return sigmoid(gmf_scores + mlp_scores + self._output.bias[0])


def __getattr__(name):
    if name == "sample_negatives":
        import warnings

        warnings.warn("fastcf.mlp.sample_negatives moved to fastcf.sampling.sample_negatives.",
                      DeprecationWarning, stacklevel=2)
        return _sample_negatives
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
