r"""``HybridFactorization``: LightFM's hybrid factor model (Kula 2015).

Each user and each item is the sum of the embeddings (and biases) of its
features, each weighted by its value; with ``identity=True`` its own id is one
of them. The score of user u for item i is

.. math:: \hat x_{ui} = p_u \cdot q_i + \beta_u + \gamma_i\ (+ \mu \text{ for squared loss}),
    \quad p_u = \sum_f a_{uf} e_f,\ \beta_u = \sum_f a_{uf} c_f

(:math:`q_i, \gamma_i` alike over the item features), trained by SGD on the
WARP or BPR ranking losses or, for ratings, the squared error (the steps:
:mod:`fastcf.kernels.hybrid`). The features come from
``data.user_features`` / ``data.item_features``
(:meth:`fastcf.Interactions.with_features`); users and items that have
features but no interactions (``with_features(..., new_ids="add")``) are
scored and recommended from their features, and so are rows given later
(:meth:`HybridFactorization.predict_new`, :meth:`~HybridFactorization.recommend_new`).

Two schedules: ``"hogwild"`` (default: the users cut into ``blocks`` chunks
handed to threads that update shared rows without locks, as LightFM's
threads do; two runs on several threads can differ) and ``"serial"`` (one
thread, the same model for a seed).
"""

import warnings

import numpy as np
import scipy.sparse as sp

from ._config import BPR_MAX_DRAWS
from ._hybrid_features import check_side_rows, model_rows
from ._parallel import resolve_n_threads
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
from .kernels._registry import check_backend
from .kernels.hybrid import (
    LEARNING_SCHEDULES,
    LOSSES,
    SERIAL_ORDER,
    run_hybrid_epoch,
    serial_chunks,
    user_chunks,
)
from .kernels.mf import run_shuffle_ratings
from .persist import CSR, Array, Schema

__all__ = ["HybridFactorization"]

SCHEDULES = ("hogwild", "serial")
NEGATIVE_SAMPLING = ("uniform", "popularity")


class HybridFactorization(Recommender):
    """A factor model whose users and items are sums of feature embeddings (LightFM).

    Parameters
    ----------
    factors : int
        Embedding dimensions (LightFM's ``no_components``).
    loss : {"warp", "bpr", "squared"}
        WARP and BPR rank (every stored entry a positive, whatever its value);
        ``"squared"`` fits the ratings with a global mean and biases, as
        :class:`~fastcf.MatrixFactorization` does.
    epochs : int
    lr : float
        Learning rate (LightFM's ``learning_rate``): adagrad's initial rate, or
        sgd's constant one.
    reg_user, reg_item : float
        L2 penalties of the user / item feature parameters (LightFM's
        ``user_alpha`` / ``item_alpha``), applied to the parameters each step
        moves (LightFM scales all of them lazily instead; the same at the
        default 0).
    identity : bool
        Give every user and item a feature of its own (its id), as LightFM
        does when it gets no features; False uses the side features alone (a
        user or item without any then has no representation).
    learning_schedule : {"adagrad", "sgd"}
        Adagrad: each parameter's rate is ``lr / sqrt(G)``, G its accumulated
        squared gradient, starting at 1 (LightFM's); sgd: ``lr`` throughout.
    max_sampled : int
        WARP's negatives drawn per positive before giving up on it (LightFM's).
        BPR draws up to ``fastcf._config.BPR_MAX_DRAWS`` for an unseen negative.
    dtype : {numpy.float32, numpy.float64}
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        Threads of ``"hogwild"`` training and of ``recommend``.
    seed : int
        Of the initial embeddings, the layout and every epoch's draws.
    schedule : {"hogwild", "serial"}
        See the module docstring.
    blocks : int
        Chunks of users of ``"hogwild"`` (at most the number of users).
    init_std : float, optional
        None: embeddings start as LightFM's (and :class:`~fastcf.BPR`'s) uniform
        draws in :math:`[-0.5, 0.5) / k`; a float: normal draws with this
        standard deviation (:class:`~fastcf.MatrixFactorization`'s, 0.1).
        Biases start at 0.
    negative_sampling : {"uniform", "popularity"}
        How WARP and BPR draw negatives: every item alike (LightFM's WARP,
        fastcf's BPR) or the item of a random training entry, so in proportion
        to its popularity (LightFM's BPR).
    verbose : bool
        A progress bar over the epochs.

    Attributes
    ----------
    user_embeddings_, item_embeddings_ : ndarray, shapes (n_user_features, factors),
        (n_item_features, factors)
        One row per feature: with ``identity`` the first ``n_users_`` (``n_items_``)
        rows are the ids', in internal order, then the side features'.
    user_biases_, item_biases_ : ndarray
    user_feature_names_, item_feature_names_ : ndarray of str
        The side features' names (empty without side features).
    global_mean_ : float
        The mean rating (squared loss; 0 for the ranking losses).
    history_ : list of dict
        Per epoch: ``epoch``, ``seconds`` and ``train_rmse`` (squared) or
        ``train_accuracy`` (bpr: triples with :math:`x_{uij} > 0` before their
        step; warp: positives for which no violating negative was drawn),
        ``skipped`` (entries without a step).

    Notes
    -----
    **Equivalences.** With identity features alone, ``schedule="serial"``
    and ``learning_schedule="sgd"``:

    - ``loss="bpr", lr=a, reg_user=reg_item=b`` is :class:`~fastcf.BPR`
      ``(factors, lr=a, reg=b, iterations=epochs, seed, schedule="serial")``
      (item biases on): the same initial draws, shuffles, negatives and steps;
      ``user_embeddings_`` / ``item_embeddings_`` / ``item_biases_`` equal its
      ``user_factors_`` / ``item_factors_`` / ``item_bias_`` (within float
      rounding);
    - ``loss="squared", init_std=0.1, lr=a, reg_user=reg_item=b`` is
      :class:`~fastcf.MatrixFactorization` ``(factors, epochs, lr=a, reg=b,
      seed, schedule="serial")``: its factors and biases likewise.

    **Differences from LightFM.** BPR's negatives are drawn uniformly by
    default (``negative_sampling="popularity"`` is LightFM's sampler); the user
    biases do not move under the ranking losses (their gradient is 0;
    LightFM moves them by the loss); regularisation is not lazy (see
    ``reg_user``); there is no ``"adadelta"``.

    **Scores.** ``predict`` and ``recommend`` use :math:`\\hat x_{ui}`; a user
    (item) unknown to the model counts as one without features (its terms
    drop out). ``predict_new`` / ``recommend_new`` score feature rows given
    after the fit.
    """

    _state_schema = Schema({
        "user_embeddings_": Array("f", ("n_user_features", "factors"), dtype_param="dtype"),
        "user_biases_": Array("f", ("n_user_features",), dtype_param="dtype"),
        "item_embeddings_": Array("f", ("n_item_features", "factors"), dtype_param="dtype"),
        "item_biases_": Array("f", ("n_item_features",), dtype_param="dtype"),
        "user_rows": CSR("n_users", "n_user_features", "user_nnz", data="f",
                         dtype_param="dtype"),
        "item_rows": CSR("n_items", "n_item_features", "item_nnz", data="f",
                         dtype_param="dtype"),
        "user_feature_names_": Array("U", ("n_user_side",), may_be_empty=True),
        "item_feature_names_": Array("U", ("n_item_side",), may_be_empty=True),
        "global_mean_": Array("f"),
    })

    def __init__(self, factors=64, loss="warp", epochs=30, lr=0.05, reg_user=0.0, reg_item=0.0,
                 identity=True, learning_schedule="adagrad", max_sampled=10, dtype=np.float32,
                 backend="auto", n_threads=None, seed=0, schedule="hogwild", blocks=32,
                 init_std=None, negative_sampling="uniform", verbose=False):
        self.factors = factors
        self.loss = loss
        self.epochs = epochs
        self.lr = lr
        self.reg_user = reg_user
        self.reg_item = reg_item
        self.identity = identity
        self.learning_schedule = learning_schedule
        self.max_sampled = max_sampled
        self.dtype = dtype
        self.backend = backend
        self.n_threads = n_threads
        self.seed = seed
        self.schedule = schedule
        self.blocks = blocks
        self.init_std = init_std
        self.negative_sampling = negative_sampling
        self.verbose = verbose

    @property
    def predicts_ratings(self):
        """Whether ``predict`` estimates ratings: with the squared loss only."""
        return self.loss == "squared"

    def _check_params(self):
        check_int("factors", self.factors, min_value=1)
        check_choice("loss", self.loss, tuple(LOSSES))
        check_int("epochs", self.epochs, min_value=1)
        check_float("lr", self.lr, min_value=0.0, min_inclusive=False)
        check_float("reg_user", self.reg_user, min_value=0.0)
        check_float("reg_item", self.reg_item, min_value=0.0)
        check_bool("identity", self.identity)
        check_choice("learning_schedule", self.learning_schedule, LEARNING_SCHEDULES)
        check_int("max_sampled", self.max_sampled, min_value=1)
        check_value_dtype(self.dtype)
        check_backend(self.backend)
        resolve_n_threads(self.n_threads)
        check_int("seed", self.seed, min_value=0)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_int("blocks", self.blocks, min_value=1)
        if self.init_std is not None:
            check_float("init_std", self.init_std, min_value=0.0)
        check_choice("negative_sampling", self.negative_sampling, NEGATIVE_SAMPLING)
        check_bool("verbose", self.verbose)

    # ------------------------------------------------------------------- fit
    def fit(self, data, *, callbacks=()):
        """Train on ``data`` (its ``user_features`` / ``item_features`` when set);
        returns ``self``.

        ``callbacks``: each is called after every epoch with the epoch's
        ``history_`` entry; returning True stops training.
        """
        self._callbacks = callbacks
        try:
            return super().fit(data)
        finally:
            self._callbacks = ()

    def _fit(self, data):
        if data.nnz == 0:
            raise ValueError("the data has no interactions; HybridFactorization needs at "
                             "least one.")
        if self.loss == "squared" and data.implicit:
            raise ValueError("loss='squared' needs explicit ratings; this data is implicit "
                             "(use loss='warp' or 'bpr').")
        dtype = np.dtype(self.dtype)
        self._cache = None
        rows = {}
        for axis, n in (("user", data.n_users), ("item", data.n_items)):
            side = getattr(data, f"{axis}_features", None)
            csr, names = model_rows(side, getattr(data, f"{axis}_ids"), n, axis, self.identity,
                                    dtype)
            rows[axis] = csr
            setattr(self, f"{axis}_rows_indptr_", csr.indptr)
            setattr(self, f"{axis}_rows_indices_", csr.indices)
            setattr(self, f"{axis}_rows_data_", csr.data)
            setattr(self, f"{axis}_feature_names_", names)
        n_uf, n_if = rows["user"].shape[1], rows["item"].shape[1]
        copies = 2 if self.learning_schedule == "adagrad" else 1
        check_memory((self.factors + 1) * (n_uf + n_if) * dtype.itemsize * copies +
                     8 * self.factors * max(n_uf, n_if), "the feature embeddings",
                     factors=self.factors)
        rng = np.random.default_rng(self.seed)
        self.user_embeddings_ = self._initial(rng, n_uf, dtype)
        self.item_embeddings_ = self._initial(rng, n_if, dtype)
        self.user_biases_ = np.zeros(n_uf, dtype)
        self.item_biases_ = np.zeros(n_if, dtype)
        self.global_mean_ = np.float64(data.global_mean if self.loss == "squared" else 0.0)
        self.history_ = []
        self._train(data, rows, rng)

    def _initial(self, rng, n, dtype):
        if self.init_std is None:
            return ((rng.random((n, self.factors)) - 0.5) / self.factors).astype(dtype)
        return rng.normal(0.0, self.init_std, (n, self.factors)).astype(dtype)

    def _entries(self, data, index):
        """(users, items, values) of the entries to train on, by user (internal indices)."""
        by_user = data.by_user
        users = np.repeat(np.arange(data.n_users), np.diff(by_user.indptr))
        items, values = by_user.indices, by_user.data.astype(np.dtype(self.dtype))
        if self.loss != "squared":
            full = np.diff(by_user.indptr) >= data.n_items
            if full[users].any():
                warnings.warn(f"{int(full.sum())} users interacted with every item: no "
                              "negative exists for them, their entries are left out of "
                              "training.", stacklevel=5)
                keep = ~full[users]
                users, items, values = users[keep], items[keep], values[keep]
                if len(users) == 0:
                    raise ValueError("every user interacted with every item: "
                                     f"loss={self.loss!r} has no negative to sample.")
        return users.astype(index), items.astype(index), values

    def _train(self, data, rows, rng):
        n_users, n_items = data.n_users, data.n_items
        largest = max(n_users, n_items, data.nnz, rows["user"].nnz, rows["item"].nnz,
                      rows["user"].shape[1], rows["item"].shape[1])
        index = np.int32 if largest < 2**31 - 1 else np.int64
        users, items, values = self._entries(data, index)
        features = {axis: (csr.indptr.astype(index), csr.indices.astype(index), csr.data)
                    for axis, csr in rows.items()}
        seen = (data.by_user.indptr.astype(index), data.by_user.indices.astype(index))
        params = (self.user_embeddings_, self.user_biases_, self.item_embeddings_,
                  self.item_biases_)
        accumulators = tuple(np.ones_like(a) for a in params) \
            if self.learning_schedule == "adagrad" else None
        serial = self.schedule == "serial"
        n_threads = 1 if serial else resolve_n_threads(self.n_threads)
        if serial:
            users, items, values = users.copy(), items.copy(), values.copy()
            chunk_ptr = serial_chunks(len(users))
        else:
            g = max(1, min(self.blocks, n_users))
            positions, chunk_ptr = user_chunks(users, n_users, g, rng.integers(2**63))
            users, items, values = users[positions], items[positions], values[positions]
        max_sampled = BPR_MAX_DRAWS if self.loss == "bpr" else self.max_sampled
        # LightFM's BPR draws the item of a random entry (popularity); every item once: uniform
        pool = np.sort(items) if self.negative_sampling == "popularity" else \
            np.arange(n_items, dtype=index)
        n_entries = len(users)

        def run_epoch(epoch):
            shuffle = True
            if serial and self.loss == "squared":  # MatrixFactorization's Serial epochs
                run_shuffle_ratings(users, items, values, rng.integers(2**63),
                                    backend=self.backend)
                shuffle, order, seed = False, SERIAL_ORDER, 0
            elif serial:
                order, seed = SERIAL_ORDER, rng.integers(2**63)
            else:
                order, seed = rng.permutation(len(chunk_ptr) - 1), rng.integers(2**63)
            stats = run_hybrid_epoch(
                users, items, values, chunk_ptr, order, seed, shuffle, features["user"],
                features["item"], seen, pool, params, accumulators, self.loss, self.lr,
                self.reg_user, self.reg_item, self.global_mean_, max_sampled,
                backend=self.backend, n_threads=n_threads).sum(axis=0)
            right, skipped, total = stats
            if self.loss == "squared":
                metrics = {"train_rmse": float(np.sqrt(total / max(n_entries, 1)))}
            else:
                judged = n_entries - (skipped if self.loss == "bpr" else 0)
                metrics = {"train_accuracy": float(right / max(judged, 1))}
            return Epoch(total, metrics, {"skipped": int(skipped)})

        train_epochs(self, self.epochs, run_epoch, params=self._trained_arrays,
                     diverged=self._diverged, callbacks=self._callbacks or ())

    def _trained_arrays(self):
        return {"user_embeddings_": self.user_embeddings_, "user_biases_": self.user_biases_,
                "item_embeddings_": self.item_embeddings_, "item_biases_": self.item_biases_}

    def _diverged(self, epoch):
        return (f"HybridFactorization diverged at epoch {epoch}: the embeddings became "
                f"NaN/inf; lower the learning rate (lr == {self.lr}) or raise reg_user / "
                "reg_item.")

    # ------------------------------------------------------- representations
    def _rows(self, axis):
        n = self.n_users_ if axis == "user" else self.n_items_
        return sp.csr_matrix((getattr(self, f"{axis}_rows_data_"),
                              getattr(self, f"{axis}_rows_indices_"),
                              getattr(self, f"{axis}_rows_indptr_")),
                             shape=(n, len(getattr(self, f"{axis}_biases_"))))

    def _representations(self):
        """(user vectors, user biases, item vectors, item biases) of the fitted rows, in
        the model's dtype (computed once per fit or load)."""
        if getattr(self, "_cache", None) is None:
            users, items = self._rows("user"), self._rows("item")
            self._cache = (np.ascontiguousarray(users @ self.user_embeddings_),
                           users @ self.user_biases_,
                           np.ascontiguousarray(items @ self.item_embeddings_),
                           items @ self.item_biases_)
        return self._cache

    def user_representations(self, features=None):
        """``(vectors, biases)`` of users: the fitted ones (``features`` None, internal
        order) or new rows of the model's user side features (a :class:`fastcf.Features`
        with the same feature names, or a matrix with their columns in order)."""
        return self._represent("user", features)

    def item_representations(self, features=None):
        """``(vectors, biases)`` of items, as :meth:`user_representations` for users."""
        return self._represent("item", features)

    def _represent(self, axis, features):
        self._check_is_fitted()
        if features is None:
            p, pb, q, qb = self._representations()
            return (p, pb) if axis == "user" else (q, qb)
        names = getattr(self, f"{axis}_feature_names_")
        side = check_side_rows(features, names, axis, np.dtype(self.dtype))
        embeddings = getattr(self, f"{axis}_embeddings_")
        biases = getattr(self, f"{axis}_biases_")
        offset = len(embeddings) - len(names)  # the identity rows come first
        return (np.ascontiguousarray(side @ embeddings[offset:]), side @ biases[offset:])

    # --------------------------------------------------------------- predict
    def _ranking_factors(self):
        """(user vectors, item vectors, mu + user biases, item biases, unknown user's
        scores mu + item biases), the model's dtype."""
        p, pb, q, qb = self._representations()
        mean = float(self.global_mean_)
        dtype = p.dtype
        return (p, q, (pb + dtype.type(mean)).astype(dtype), qb,
                (qb + dtype.type(mean)).astype(dtype))

    def _predict_internal(self, users, items):
        p, pb, q, qb = self._representations()
        known_user, known_item = users >= 0, items >= 0
        est = np.full(len(users), float(self.global_mean_))
        est[known_user] += pb[users[known_user]]
        est[known_item] += qb[items[known_item]]
        both = known_user & known_item
        est[both] += np.einsum("ij,ij->i", p[users[both]].astype(np.float64),
                               q[items[both]].astype(np.float64))
        return est

    def _score_setup(self):
        p, pb, q, qb = self._representations()
        return q.astype(np.float64), qb.astype(np.float64) + float(self.global_mean_)

    def _score_block(self, users, out=None, setup=None):
        q, base = self._score_setup() if setup is None else setup
        p, pb, _, _ = self._representations()
        scores = np.empty((len(users), self.n_items_)) if out is None else out
        scores[:] = base
        known = users >= 0
        if known.any():
            rows = users[known]
            scores[known] += p[rows].astype(np.float64) @ q.T + pb[rows][:, None]
        return scores

    def predict_new(self, user_features=None, item_features=None, *, users=None, items=None):
        """Scores of users or items given by their feature rows (no refit).

        Parameters
        ----------
        user_features, item_features : Features or matrix, optional
            Rows of the model's side features (:meth:`user_representations`)
            of users / items, new or not; at least one of the two.
        users, items : array-like of external ids, optional
            Where no feature rows are given: these fitted users / items
            (default: all of them, in internal order).

        Returns
        -------
        ndarray of float64, shape (n_users_scored, n_items_scored)
            :math:`\\hat x_{ui}`: the feature rows' representations (no id
            feature) against the known ones'.
        """
        self._check_is_fitted()
        if user_features is None and item_features is None:
            raise ValueError("predict_new needs user_features or item_features (known "
                             "users and items: use predict).")
        sides = []
        for axis, features, ids in (("user", user_features, users), ("item", item_features,
                                                                     items)):
            if features is not None:
                if ids is not None:
                    raise ValueError(f"give {axis}_features or {axis}s, not both.")
                sides.append(self._represent(axis, features))
                continue
            vectors, biases = self._represent(axis, None)
            if ids is not None:
                index = self.user_index(ids) if axis == "user" else self.item_index(ids)
                if (index < 0).any():
                    bad = np.asarray(ids, dtype=object).reshape(-1)[index < 0][:5].tolist()
                    raise ValueError(f"unknown {axis} ids {bad}: give their feature rows in "
                                     f"{axis}_features instead.")
                vectors, biases = vectors[index], biases[index]
            sides.append((vectors, biases))
        (p, pb), (q, qb) = sides
        scores = p.astype(np.float64) @ q.astype(np.float64).T
        scores += pb.astype(np.float64)[:, None] + qb.astype(np.float64)[None, :]
        return scores + float(self.global_mean_)

    def recommend_new(self, user_features, n=10, *, candidates=None):
        """Top-``n`` of the model's items for users given by their feature rows
        (nothing excluded: they have seen nothing); returns ``(items, scores)``."""
        self._check_is_fitted()
        n = check_int("n", n, min_value=1)
        scores = self.predict_new(user_features)
        empty = (np.zeros(len(scores) + 1, np.int64), np.zeros(0, np.int64), None)
        return self._rank_new(scores, empty, n, False, candidates)

    def _set_state(self, arrays, user_ids, item_ids):
        super()._set_state(arrays, user_ids, item_ids)
        self._cache = None

