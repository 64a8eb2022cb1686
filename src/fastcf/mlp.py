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


import numpy as np

from ._config import SCORE_CHUNK_CELLS
from ._deprecation import moved_names
from ._network import _check_network_params, _Network, _network_dims
from ._parallel import blas_threads
from ._training import TrainingDiverged
from ._validation import check_bool, check_int
from .data import Interactions
from .nn import Dense, Embedding, ReLU, mse_loss
from .persist import Array, Schema

__all__ = ["MLPRecommender", "TrainingDiverged"]


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

    def _table_widths(self):
        return {"embedding_dim": self.embedding_dim}

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
        self._check_memory(data.n_users, data.n_items)
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


#: Names that lived here before, still found here (with a warning) at their new home.
__getattr__ = moved_names(__name__, {"NeuMF": "fastcf.neumf",
                                     "sample_negatives": "fastcf.sampling"})
