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

from ._validation import check_float, check_int, check_value_dtype
from .base import Recommender
from .data import Interactions
from .nn import Adam, Dense, Embedding, ReLU, mse_loss

#: Hidden activations per chunk when scoring users x all items (bounds the memory).
SCORE_CHUNK_CELLS = 1 << 21


class TrainingDiverged(ValueError):
    """The loss became NaN or infinite."""


def _blas_limit(n_threads):
    """A context limiting BLAS threads to ``n_threads`` (threadpoolctl, when installed)."""
    import contextlib

    if n_threads is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=n_threads, user_api="blas")


class MLPRecommender(Recommender):
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
        BLAS threads while training and scoring (needs ``threadpoolctl``;
        without it BLAS keeps its own setting).
    verbose : bool
        Progress bar (tqdm) over epochs.
    seed : int
        Initial parameters and every epoch's batch order.

    Notes
    -----
    Unknown users or items (not seen by ``fit``) are predicted as the training
    mean rating (reported by ``return_unknown``); ``recommend`` scores an
    unknown user with the mean user embedding.
    """

    _state_names = ("global_mean_", "user_embedding_", "item_embedding_", "dense_params_",
                    "rating_range_")

    def __init__(self, embedding_dim=32, hidden=(64, 32), epochs=20, batch_size=256, lr=1e-3,
                 weight_decay=0.0, sparse_adam=True, embedding_std=0.1, patience=None,
                 clip=True, dtype=np.float32, n_threads=None, verbose=False, seed=0):
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
        self.seed = seed

    # ---------------------------------------------------------------- params
    def _check_params(self):
        check_int("embedding_dim", self.embedding_dim, min_value=1)
        if not isinstance(self.hidden, (tuple, list)) or len(self.hidden) == 0:
            raise ValueError(f"hidden == {self.hidden!r}, must be a non-empty tuple of layer "
                             "widths.")
        for width in self.hidden:
            check_int("hidden layer width", width, min_value=1)
        check_int("epochs", self.epochs, min_value=1)
        check_int("batch_size", self.batch_size, min_value=1)
        check_float("lr", self.lr, min_value=0.0, min_inclusive=False)
        check_float("weight_decay", self.weight_decay, min_value=0.0)
        check_float("embedding_std", self.embedding_std, min_value=0.0)
        if self.patience is not None:
            check_int("patience", self.patience, min_value=1)
        for name in ("sparse_adam", "clip", "verbose"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got "
                                f"{type(getattr(self, name)).__name__}.")
        check_value_dtype(self.dtype)
        if self.n_threads is not None:
            check_int("n_threads", self.n_threads, min_value=1)
        check_int("seed", self.seed, min_value=0)

    # ----------------------------------------------------------------- model
    def _build(self, n_users, n_items, rng):
        dtype = np.dtype(self.dtype)
        self._user_emb = Embedding(n_users, self.embedding_dim, rng, dtype, self.embedding_std)
        self._item_emb = Embedding(n_items, self.embedding_dim, rng, dtype, self.embedding_std)
        widths = [2 * self.embedding_dim, *self.hidden, 1]
        self._layers = []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            self._layers.append(Dense(n_in, n_out, rng, dtype))
            self._layers.append(ReLU())
        self._layers.pop()  # the output layer is linear

    def _dense_layers(self):
        return [layer for layer in self._layers if isinstance(layer, Dense)]

    def _named_params(self):
        params = {"user_embedding": self._user_emb.weight, "item_embedding": self._item_emb.weight}
        for j, layer in enumerate(self._dense_layers()):
            params[f"dense{j}.weight"] = layer.weight
            params[f"dense{j}.bias"] = layer.bias
        return params

    def _forward(self, users, items):
        x = np.concatenate([self._user_emb.forward(users), self._item_emb.forward(items)],
                           axis=1)
        for layer in self._layers:
            x = layer.forward(x)
        return x[:, 0]

    def _backward(self, grad_predictions):
        """Gradients of every parameter, by name, from d loss / d predictions."""
        g = grad_predictions[:, None]
        for layer in reversed(self._layers):
            g = layer.backward(g)
        d = self.embedding_dim
        self._user_emb.backward(g[:, :d])
        self._item_emb.backward(g[:, d:])
        grads = {"user_embedding": self._user_emb.grads["weight"],
                 "item_embedding": self._item_emb.grads["weight"]}
        for j, layer in enumerate(self._dense_layers()):
            grads[f"dense{j}.weight"] = layer.grads["weight"]
            grads[f"dense{j}.bias"] = layer.grads["bias"]
        return grads

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
            self._validation = self._callbacks = None

    def _fit(self, data):
        if data.implicit:
            raise ValueError("MLPRecommender needs explicit ratings; this data is implicit.")
        if data.nnz == 0:
            raise ValueError("cannot fit on empty data (no ratings).")
        dtype = np.dtype(self.dtype)
        rng = np.random.default_rng(self.seed)
        self._build(data.n_users, data.n_items, rng)
        self.global_mean_ = np.float64(data.global_mean)
        self.rating_range_ = np.array(data.rating_range, dtype=np.float64)
        self._dense_layers()[-1].bias[:] = self.global_mean_
        by_user = data.by_user
        users = np.repeat(np.arange(data.n_users), np.diff(by_user.indptr))
        items = np.asarray(by_user.indices, dtype=np.int64)
        ratings = by_user.data.astype(dtype)
        validation = self._validation_pairs()
        optimizer = Adam(self._named_params(), lr=self.lr, weight_decay=self.weight_decay,
                         sparse=self.sparse_adam)
        self.history_ = []
        best = None
        epochs = range(self.epochs)
        if self.verbose:
            from tqdm.auto import tqdm

            epochs = tqdm(epochs, desc=type(self).__name__, unit="epoch")
        # Overflow is caught by the loss check of every batch, not reported as warnings.
        with _blas_limit(self.n_threads), np.errstate(over="ignore", invalid="ignore"):
            for epoch in epochs:
                start = time.perf_counter()
                order = rng.permutation(len(ratings))
                total = 0.0
                for first in range(0, len(order), self.batch_size):
                    batch = order[first:first + self.batch_size]
                    loss, grad = mse_loss(self._forward(users[batch], items[batch]),
                                          ratings[batch])
                    if not math.isfinite(loss):
                        raise TrainingDiverged(
                            f"training diverged at epoch {epoch} (batch "
                            f"{first // self.batch_size}): the loss became NaN/inf; lower the "
                            f"learning rate (lr == {self.lr}).")
                    optimizer.step(self._backward(grad))
                    total += loss * len(batch)
                entry = {"epoch": epoch, "train_rmse": float(np.sqrt(total / len(ratings))),
                         "seconds": time.perf_counter() - start, "samples": len(ratings)}
                if validation is not None:
                    entry["validation_rmse"] = self._rmse(*validation)
                self.history_.append(entry)
                if self.verbose:
                    epochs.set_postfix({k: round(v, 4) for k, v in entry.items()
                                        if k not in ("epoch", "samples")})
                stop = any([cb(dict(entry)) is True for cb in self._callbacks])
                if validation is not None and self.patience is not None:
                    if best is None or entry["validation_rmse"] < best[0]:
                        best = (entry["validation_rmse"], epoch, self._get_params_copy())
                    elif epoch - best[1] >= self.patience:
                        stop = True
                if stop:
                    break
        if best is not None:
            self._set_params_copy(best[2])
            self.best_epoch_ = best[1]
        self._sync_state()

    def _get_params_copy(self):
        return {name: p.copy() for name, p in self._named_params().items()}

    def _set_params_copy(self, saved):
        for name, p in self._named_params().items():
            p[...] = saved[name]

    def _validation_pairs(self):
        if self._validation is None:
            return None
        frame = self._validation.to_frame()
        u = self.user_index(frame["user"].to_numpy())
        i = self.item_index(frame["item"].to_numpy())
        known = (u >= 0) & (i >= 0)
        return u[known], i[known], frame["rating"].to_numpy()[known]

    def _rmse(self, users, items, truth):
        return float(np.sqrt(np.mean((self._predict_internal(users, items) - truth) ** 2)))

    # ------------------------------------------------------------- state
    def _sync_state(self):
        """Expose the trained arrays as fitted attributes (what ``save`` stores)."""
        self.user_embedding_ = self._user_emb.weight
        self.item_embedding_ = self._item_emb.weight
        self.dense_params_ = np.concatenate(
            [a.ravel() for layer in self._dense_layers() for a in (layer.weight, layer.bias)])

    def _set_state(self, arrays, user_ids, item_ids):
        super()._set_state(arrays, user_ids, item_ids)
        dtype = np.dtype(self.dtype)
        rng = np.random.default_rng(0)  # shapes only: every value is overwritten below
        self._build(len(user_ids), len(item_ids), rng)
        if self.user_embedding_.shape != self._user_emb.weight.shape or \
                self.item_embedding_.shape != self._item_emb.weight.shape:
            raise ValueError("the saved embeddings do not match the saved parameters.")
        self._user_emb.weight = np.ascontiguousarray(self.user_embedding_, dtype=dtype)
        self._item_emb.weight = np.ascontiguousarray(self.item_embedding_, dtype=dtype)
        flat, offset = np.asarray(self.dense_params_, dtype=dtype), 0
        expected = sum(layer.weight.size + layer.bias.size for layer in self._dense_layers())
        if flat.shape != (expected,):
            raise ValueError(f"the saved layers hold {flat.size} values, the architecture "
                             f"needs {expected}.")
        for layer in self._dense_layers():
            for name in ("weight", "bias"):
                current = getattr(layer, name)
                setattr(layer, name, flat[offset:offset + current.size].reshape(current.shape))
                offset += current.size
        self._sync_state()

    # --------------------------------------------------------------- predict
    def _predict_internal(self, users, items):
        known = (users >= 0) & (items >= 0)
        est = np.full(len(users), float(self.global_mean_))
        where = np.flatnonzero(known)
        chunk = max(1, SCORE_CHUNK_CELLS // max(self.hidden[0], 1))
        with _blas_limit(self.n_threads):
            for first in range(0, len(where), chunk):
                part = where[first:first + chunk]
                est[part] = self._forward(users[part], items[part])
        if self.clip:
            np.clip(est, self.rating_range_[0], self.rating_range_[1], out=est)
        return est

    def _score_block(self, users):
        """Unclipped scores of ``users`` (internal, -1 unknown) over every item.

        The first layer splits over the concatenation, ``[e_u; e_i] W = e_u W_u
        + e_i W_i``: the item half is computed once for all items, and each
        user adds its own half before the rest of the network runs.
        """
        dense = self._dense_layers()
        d = self.embedding_dim
        first = dense[0]
        item_part = self._item_emb.weight @ first.weight[d:] + first.bias
        user_vectors = np.where((users >= 0)[:, None], self._user_emb.weight[users],
                                self._user_emb.weight.mean(axis=0))
        user_part = user_vectors @ first.weight[:d]
        scores = np.empty((len(users), self.n_items_))
        rows = max(1, SCORE_CHUNK_CELLS // (self.n_items_ * first.weight.shape[1]))
        with _blas_limit(self.n_threads):
            for start in range(0, len(users), rows):
                h = user_part[start:start + rows, None, :] + item_part[None, :, :]
                h = h.reshape(-1, h.shape[-1])
                for layer in self._layers[1:]:
                    h = layer.forward(h)
                scores[start:start + rows] = h[:, 0].reshape(-1, self.n_items_)
        return scores
