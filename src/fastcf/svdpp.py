r"""``SVDpp``: SVD++ (Koren 2008), Surprise ``SVDpp``'s model, updates and parameters.

.. math:: \hat r_{ui} = \mu + b_u + b_i + q_i \cdot \Big(p_u + |N(u)|^{-1/2}
          \sum_{j \in N(u)} y_j\Big)

:math:`N(u)` the items user :math:`u` rated in the training data. Trained by SGD
with Surprise's updates (:func:`fastcf.kernels.svdpp_epoch`), each rating in
:math:`O(k)`: the implicit sum is kept per user and the :math:`y_j` written back
once per user, not recomputed per rating as Surprise does.

Two modes. ``surprise_compat=True``: Surprise's initial draws
(``numpy.random.RandomState(seed)``, users and items in Surprise's inner-id
order), its visiting order (``trainset.all_ratings()``: users by inner id, each
user's ratings in load order, no shuffle), float64: the predictions of Surprise's
``SVDpp(random_state=seed)`` to rounding. Default: fastcf's own, the factors
drawn from ``numpy.random.default_rng(seed)``, each user's ratings in a seeded
random order and the users in a fresh seeded order every epoch, float32 by
default, and ``schedule="hogwild"`` for several threads: its predictions differ
from Surprise's (they are another draw of the same SGD).
"""

import numpy as np
import scipy.sparse as sp

from ._config import PREDICT_CHUNK, SVDPP_CHUNKS_PER_THREAD
from ._factors import check_sgd_rates, check_surprise_sgd, sgd_diverged_message, sgd_rates
from ._parallel import resolve_n_threads
from ._surprise import surprise_order, surprise_rng
from ._training import Epoch, train_epochs
from ._validation import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_memory,
    check_value_dtype,
)
from .base import Recommender
from .data import Interactions
from .kernels._registry import check_backend
from .kernels.svdpp import run_svdpp_epoch, user_chunks
from .mf import MatrixFactorization
from .persist import Array, Schema

__all__ = ["SVDpp"]

_PARTS = ("bu", "bi", "pu", "qi", "yj")
SCHEDULES = ("serial", "hogwild")


class SVDpp(Recommender):
    """SVD++: biased matrix factorization with implicit feedback (Surprise's ``SVDpp``).

    Parameters
    ----------
    factors : int
        Latent dimensions (Surprise's ``n_factors``: 20).
    epochs : int
        Passes over the ratings (``n_epochs``: 20).
    lr, reg : float
        Learning rate and regularisation of every parameter (``lr_all``: 0.007,
        ``reg_all``: 0.02); ``lr_bu, lr_bi, lr_pu, lr_qi, lr_yj`` and ``reg_bu,
        reg_bi, reg_pu, reg_qi, reg_yj`` override them per parameter, as in Surprise.
    init_mean, init_std : float
        :math:`p_u, q_i, y_j` start as normal draws (Surprise: 0, 0.1); biases at 0.
    dtype : {numpy.float32, numpy.float64}
        Of the parameters and the SGD arithmetic (``surprise_compat``: float64).
    schedule : {"serial", "hogwild"}
        ``"serial"``: one thread, the same model for a seed whatever
        ``n_threads``. ``"hogwild"``: the users (each with all its ratings)
        split over ``n_threads`` threads, the item parameters shared without
        locks: faster, but two fits on several threads can differ.
    clip : bool
        Clip predictions to the training ratings' range.
    verbose : bool
        A progress bar over the epochs.
    surprise_compat : bool
        Surprise's draws, visiting order and float64 arithmetic (see the
        module docstring): needs ``dtype=np.float64`` and ``schedule="serial"``.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        Threads of ``"hogwild"`` training and of ``recommend``.
    seed : int
        Surprise's ``random_state`` with ``surprise_compat``; else the seed of
        the initial factors and of the visiting orders.

    Attributes
    ----------
    history_ : list of dict
        Per epoch: ``epoch``, ``train_rmse`` (errors seen during the epoch),
        ``seconds``, ``validation_rmse`` (with a validation set).
    user_implicit_ : ndarray, shape (n_users, factors)
        :math:`|N(u)|^{-1/2} \\sum_{j \\in N(u)} y_j` of every user.

    Notes
    -----
    Unknown ids fall back as in Surprise: an unknown user has no :math:`b_u` and
    no factor term (:math:`\\mu + b_i`), likewise an unknown item. ``recommend``
    ranks known users by :math:`\\hat r_{ui}` unclipped (user vectors
    :math:`p_u + |N(u)|^{-1/2} \\sum y_j`), unknown users by :math:`\\mu + b_i`.
    """

    _state_schema = Schema({
        "global_mean_": Array("f"),
        "user_bias_": Array("f", ("n_users",), dtype_param="dtype"),
        "item_bias_": Array("f", ("n_items",), dtype_param="dtype"),
        "user_factors_": Array("f", ("n_users", "factors"), dtype_param="dtype"),
        "item_factors_": Array("f", ("n_items", "factors"), dtype_param="dtype"),
        "implicit_factors_": Array("f", ("n_items", "factors"), dtype_param="dtype"),
        "user_implicit_": Array("f", ("n_users", "factors"), dtype_param="dtype"),
        "rating_range_": Array("f", (2,)),
    })

    #: SVD++ always has the biases (read by the fold-in shared with MatrixFactorization).
    biased = True

    def __init__(self, factors=20, epochs=20, lr=0.007, reg=0.02, lr_bu=None, lr_bi=None,
                 lr_pu=None, lr_qi=None, lr_yj=None, reg_bu=None, reg_bi=None, reg_pu=None,
                 reg_qi=None, reg_yj=None, init_mean=0.0, init_std=0.1, dtype=np.float32,
                 schedule="serial", clip=True, verbose=False, surprise_compat=False,
                 backend="auto", n_threads=None, seed=0):
        self.factors = factors
        self.epochs = epochs
        self.lr = lr
        self.reg = reg
        self.lr_bu = lr_bu
        self.lr_bi = lr_bi
        self.lr_pu = lr_pu
        self.lr_qi = lr_qi
        self.lr_yj = lr_yj
        self.reg_bu = reg_bu
        self.reg_bi = reg_bi
        self.reg_pu = reg_pu
        self.reg_qi = reg_qi
        self.reg_yj = reg_yj
        self.init_mean = init_mean
        self.init_std = init_std
        self.dtype = dtype
        self.schedule = schedule
        self.clip = clip
        self.verbose = verbose
        self.surprise_compat = surprise_compat
        self.backend = backend
        self.n_threads = n_threads
        self.seed = seed

    # ---------------------------------------------------------------- params
    def _check_params(self):
        check_int("factors", self.factors, min_value=1)
        check_int("epochs", self.epochs, min_value=1)
        check_sgd_rates(self, _PARTS)
        check_float("init_mean", self.init_mean)
        check_float("init_std", self.init_std, min_value=0.0)
        check_value_dtype(self.dtype)
        check_choice("schedule", self.schedule, SCHEDULES)
        for name in ("clip", "verbose", "surprise_compat"):
            check_bool(name, getattr(self, name))
        check_int("seed", self.seed, min_value=0)
        check_backend(self.backend)
        resolve_n_threads(self.n_threads)
        check_surprise_sgd(self)

    def _rates(self):
        """(learning rates, regularisations), each (bu, bi, pu, qi, yj)."""
        return sgd_rates(self, _PARTS)

    # ------------------------------------------------------------------- fit
    def fit(self, data, *, validation=None, callbacks=()):
        """Train on ``data``; returns ``self``.

        Parameters
        ----------
        data : Interactions
        validation : Interactions, optional
            Held-out ratings (pairs unknown to ``data`` skipped): their RMSE is
            recorded per epoch in ``history_``.
        callbacks : iterable of callables
            Each is called after every epoch with its ``history_`` entry;
            returning True stops training.
        """
        if validation is not None and not isinstance(validation, Interactions):
            raise TypeError(f"validation must be an Interactions, got "
                            f"{type(validation).__name__}.")
        self._validation, self._callbacks = validation, callbacks
        try:
            return super().fit(data)
        finally:
            self._validation = self._callbacks = None

    def _fit(self, data):
        if data.implicit:
            raise ValueError("SVDpp needs explicit ratings; this data is implicit.")
        dtype = np.dtype(self.dtype)
        k = self.factors
        # p, q, y and their float64 draws
        check_memory(k * (data.n_users + 2 * data.n_items) * (dtype.itemsize + 8),
                     "the factor matrices", factors=k)
        by_user = data.by_user
        shape_u, shape_i = (data.n_users, k), (data.n_items, k)
        if self.surprise_compat:
            order = surprise_order(data)
            draws = surprise_rng(self.seed)
            self.user_factors_ = draws.normal(self.init_mean, self.init_std,
                                              shape_u)[order.user_inner]
            self.item_factors_ = draws.normal(self.init_mean, self.init_std,
                                              shape_i)[order.item_inner]
            self.implicit_factors_ = draws.normal(self.init_mean, self.init_std,
                                                  shape_i)[order.item_inner]
            entry_order, user_order = order.user_entries, order.inner_users
            rng = None
        else:
            rng = np.random.default_rng(self.seed)
            self.user_factors_, self.item_factors_, self.implicit_factors_ = (
                rng.normal(self.init_mean, self.init_std, shape).astype(dtype)
                for shape in (shape_u, shape_i, shape_i))
            # each user's ratings in one seeded random order, kept for every epoch
            rows = np.repeat(np.arange(data.n_users), np.diff(by_user.indptr))
            entry_order = np.argsort(rows + rng.random(len(rows)), kind="stable")
            user_order = None
        self.global_mean_ = np.float64(data.global_mean)
        self.rating_range_ = np.array(data.rating_range, dtype=np.float64)
        self.user_bias_ = np.zeros(data.n_users, dtype=dtype)
        self.item_bias_ = np.zeros(data.n_items, dtype=dtype)
        self.user_implicit_ = np.zeros(shape_u, dtype=dtype)
        self.history_ = []
        self._train(by_user, np.ascontiguousarray(entry_order, dtype=np.int64), user_order, rng)

    def _train(self, by_user, entry_order, user_order, rng):
        """The epochs: users in ``user_order``, or a fresh ``rng`` permutation each epoch."""
        lr, reg = self._rates()
        ratings = by_user.data.astype(self.user_factors_.dtype)
        n_users = len(by_user.indptr) - 1
        n_threads = 1 if self.schedule == "serial" else resolve_n_threads(self.n_threads)
        n_chunks = 1 if self.schedule == "serial" else SVDPP_CHUNKS_PER_THREAD * n_threads
        validation = self._validation_pairs()

        def run_epoch(epoch):
            order = user_order if rng is None else rng.permutation(n_users).astype(np.int64)
            loss = run_svdpp_epoch(
                by_user.indptr, by_user.indices, ratings, entry_order, order,
                user_chunks(by_user.indptr, order, n_chunks), self.global_mean_,
                self.user_bias_, self.item_bias_, self.user_factors_, self.item_factors_,
                self.implicit_factors_, lr, reg, backend=self.backend, n_threads=n_threads)
            if validation is not None:
                self.user_implicit_ = self._implicit_sums(by_user.indptr, by_user.indices)
            return Epoch(loss, {"train_rmse": float(np.sqrt(loss / max(len(ratings), 1)))})

        train_epochs(self, self.epochs, run_epoch, params=self._trained_arrays,
                     diverged=self._diverged, validation=validation,
                     callbacks=self._callbacks or ())
        self.user_implicit_ = self._implicit_sums(by_user.indptr, by_user.indices)

    def _implicit_sums(self, indptr, indices):
        r""":math:`|N(u)|^{-1/2} \sum_{j \in N(u)} y_j` of each row of a CSR of items
        (0 for an empty row), in the factors' dtype."""
        counts = np.diff(indptr)
        rows = sp.csr_matrix((np.ones(len(indices)), indices, indptr),
                             shape=(len(counts), self.n_items_))
        sums = rows @ self.implicit_factors_.astype(np.float64)
        sums /= np.sqrt(np.maximum(counts, 1))[:, None]
        return sums.astype(self.user_factors_.dtype)

    def _trained_arrays(self):
        return {"user_bias_": self.user_bias_, "item_bias_": self.item_bias_,
                "user_factors_": self.user_factors_, "item_factors_": self.item_factors_,
                "implicit_factors_": self.implicit_factors_}

    def _diverged(self, epoch):
        return sgd_diverged_message(self, _PARTS, epoch)

    # --------------------------------------------------------------- predict
    def _predict_internal(self, users, items):
        """Surprise's estimate: unknown ids drop their terms; clipped with ``clip``."""
        known_user, known_item = users >= 0, items >= 0
        est = np.full(len(users), float(self.global_mean_))
        est[known_user] += self.user_bias_[users[known_user]]
        est[known_item] += self.item_bias_[items[known_item]]
        where = np.flatnonzero(known_user & known_item)
        for start in range(0, len(where), PREDICT_CHUNK):
            chunk = where[start:start + PREDICT_CHUNK]
            u, i = users[chunk], items[chunk]
            vectors = self.user_factors_[u].astype(np.float64) + self.user_implicit_[u]
            est[chunk] += np.einsum("ij,ij->i", vectors, self.item_factors_[i].astype(np.float64))
        if self.clip:
            np.clip(est, self.rating_range_[0], self.rating_range_[1], out=est)
        return est

    def _ranking_factors(self):
        """``(user_vectors, item_vectors, user_offset, item_offset, fallback)`` in the
        model's dtype: a known user scores :math:`(p_u + z_u) \\cdot q_i + (\\mu + b_u) +
        b_i` (:math:`z_u` the implicit sum), an unknown user :math:`\\mu + b_i`."""
        dtype = self.item_factors_.dtype
        mean = float(self.global_mean_)
        return ((self.user_factors_ + self.user_implicit_).astype(dtype), self.item_factors_,
                (mean + self.user_bias_.astype(np.float64)).astype(dtype), self.item_bias_,
                (mean + self.item_bias_.astype(np.float64)).astype(dtype))

    def _score_setup(self):
        """The ranking factors with the item vectors in float64, once per scoring pass."""
        user_vectors, item_vectors, user_offset, item_offset, fallback = self._ranking_factors()
        return (user_vectors, item_vectors.astype(np.float64).T, user_offset, item_offset,
                fallback)

    def _score_block(self, users, out=None, setup=None):
        user_vectors, item_vectors_t, user_offset, item_offset, fallback = \
            self._score_setup() if setup is None else setup
        scores = np.empty((len(users), self.n_items_)) if out is None else out
        known = users >= 0
        scores[~known] = fallback
        if known.any():
            rows = users[known]
            scores[known] = (user_vectors[rows].astype(np.float64) @ item_vectors_t
                             + user_offset[rows, None]) + item_offset
        return scores

    # ------------------------------------------------------------- fold-in
    def _fold_in(self, ratings, steps):
        """(queries, vectors, biases) of new users from their ratings, the items frozen.

        The implicit sum :math:`z` of a new user is fixed by the items they rated,
        so :math:`r - q_i \\cdot z` is a rating of biased MF: the user's bias and
        :math:`p_u` are solved as :meth:`MatrixFactorization._fold_in_factors`
        does (ridge closed form, then ``steps`` SGD passes); the vectors are
        :math:`p_u + z`.
        """
        self._check_is_fitted()
        steps = check_int("steps", steps, min_value=0)
        q_indptr, q_indices, q_data = queries = self._fold_in_csr(ratings)
        implicit = self._implicit_sums(q_indptr, q_indices).astype(np.float64)
        rows = np.repeat(np.arange(len(q_indptr) - 1), np.diff(q_indptr))
        shifted = q_data - np.einsum("ij,ij->i", implicit[rows],
                                     self.item_factors_[q_indices].astype(np.float64))
        biases, factors = MatrixFactorization._fold_in_factors(
            self, (q_indptr, q_indices, shifted), steps)
        return queries, factors + implicit, biases

    def predict_new(self, ratings, items, *, steps=0):
        """Predict items for new users given only their ratings (fold-in, no refit).

        ``ratings``: one ``{item id: rating}`` dict or a list of them (these
        items are the user's :math:`N(u)`); ``items``: the items to predict (one
        array per user for a list). Each new user's bias and :math:`p_u` are
        solved with the items frozen, refined by ``steps`` SGD passes.
        """
        single, _, user, item, sizes = self._fold_in_request(ratings, items)
        _, vectors, biases = self._fold_in(ratings, steps)
        est = np.einsum("ij,ij->i", vectors[user], self.item_factors_[item].astype(np.float64))
        est += float(self.global_mean_) + biases[user] + self.item_bias_[item]
        if self.clip:
            np.clip(est, self.rating_range_[0], self.rating_range_[1], out=est)
        return self._fold_in_result(est, single, sizes)

    def recommend_new(self, ratings, n=10, *, exclude_seen=True, candidates=None, steps=0):
        """Top-``n`` items for new users given only their ratings (fold-in, no refit)."""
        n = check_int("n", n, min_value=1)
        queries, vectors, biases = self._fold_in(ratings, steps)
        scores = vectors @ self.item_factors_.astype(np.float64).T
        scores += (float(self.global_mean_) + biases)[:, None] + self.item_bias_[None, :]
        return self._rank_new(scores, queries, n, exclude_seen, candidates)
