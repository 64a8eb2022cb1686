r"""``NeuMF``: neural matrix factorisation for implicit feedback (He et al., 2017).

A GMF branch and an MLP branch of their own embeddings joined in one logistic
output, trained by Adam on the binary cross-entropy of the interactions and
of negatives drawn afresh every epoch; NumPy and BLAS only, as
:class:`~fastcf.MLPRecommender` (``fastcf._network``).
"""

import numpy as np

from ._config import SCORE_CHUNK_CELLS
from ._network import _check_network_params, _Network, _network_dims
from ._parallel import blas_threads
from ._validation import check_int, check_memory
from .nn import Dense, Embedding, ReLU, bce_with_logits_loss, sigmoid
from .persist import Array, Schema
from .sampling import sample_negatives

__all__ = ["NeuMF"]


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

    def _table_widths(self):
        return {"factors": self.factors, "embedding_dim": self.embedding_dim}

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
        negatives = sample_negatives(users, indptr, items, n_items, self.n_negatives, rng)
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
        self._check_memory(data.n_users, data.n_items)
        # per example of an epoch: its user, item and label, its place in the
        # batch order, and the negative sampler's owner, draw and to-do entries
        check_memory((1 + self.n_negatives) * data.nnz * (6 * 8 + np.dtype(self.dtype).itemsize),
                     "an epoch's training examples", n_negatives=self.n_negatives)
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
