r"""``MatrixFactorization``: biased MF (Surprise's ``SVD``) and FunkSVD, trained by SGD.

.. math:: \hat r_{ui} = \mu + b_u + b_i + p_u \cdot q_i

minimising :math:`\sum (r_{ui} - \hat r_{ui})^2 + \lambda (b_u^2 + b_i^2 + \|p_u\|^2 +
\|q_i\|^2)` with Surprise ``SVD``'s updates (see :func:`fastcf.kernels.sgd_epoch`).
Three training schedules (``schedule=``), the classes of :mod:`fastcf.schedules`:
``"serial"`` (one thread; a seed gives the same model bit for bit on a backend),
``"blocked"`` (FPSGD over a ``blocks`` x ``blocks`` grid of rating cells: parallel,
and the same model for a seed whatever ``n_threads``) and ``"hogwild"`` (the same
cells, lock-free: fast, but two runs on several threads can differ).
"""

import numpy as np

from ._config import PREDICT_CHUNK
from ._factors import (
    check_sgd_rates,
    check_surprise_sgd,
    sgd_diverged_message,
    sgd_rates,
    similar_items,
)
from ._parallel import resolve_n_threads
from ._surprise import surprise_order, surprise_rng
from ._training import Epoch, TrainingDiverged, train_epochs
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
from .persist import Array, Schema
from .schedules import CELL_ORDERS, Blocked, Hogwild, Ordered, Schedule, Serial

__all__ = ["MatrixFactorization", "TrainingDiverged"]

_PARTS = ("bu", "bi", "pu", "qi")  # the parameters with their own lr_ / reg_
SCHEDULES = ("serial", "blocked", "hogwild")


class MatrixFactorization(Recommender):
    """Biased matrix factorization trained by SGD (Surprise's ``SVD``).

    Parameters
    ----------
    factors : int
        Latent dimensions (Surprise: 100).
    epochs : int
        Passes over the ratings (Surprise: 20).
    lr, reg : float
        Learning rate and regularisation of every parameter (Surprise: 0.005,
        0.02); ``lr_bu, lr_bi, lr_pu, lr_qi`` and ``reg_bu, reg_bi, reg_pu,
        reg_qi`` override them per parameter, as in Surprise.
    lr_decay : float in (0, 1]
        The learning rates of epoch ``e`` (from 0) are multiplied by
        ``lr_decay ** e``.
    biased : bool
        False gives FunkSVD, :math:`\\hat r_{ui} = p_u \\cdot q_i`.
    init_mean, init_std : float
        Factors start as normal draws (Surprise: 0, 0.1); biases at 0.
    dtype : {numpy.float32, numpy.float64}
        Of the factors, biases and the SGD arithmetic.
    schedule : {"serial", "blocked", "hogwild"}
        See the module docstring.
    blocks : int
        Grid size of ``"blocked"`` and ``"hogwild"`` (at most the number of
        users and of items); never set from the thread count, so blocked
        results do not depend on ``n_threads``.
    cell_order : {"sorted", "shuffled"}
        How ``"blocked"`` and ``"hogwild"`` visit a cell's ratings: by user
        (LIBMF's choice; 10M ratings, one thread: 17.3 vs 13.2 M updates/s,
        the user factors streaming instead of jumping) or freshly shuffled
        every epoch.
    patience : int, optional
        With ``fit(..., validation=)``: stop after this many epochs without a
        better validation RMSE and keep the best epoch's model.
    clip : bool
        Clip predictions to the training ratings' range.
    verbose : bool
        A progress bar over the epochs.
    surprise_compat : bool
        False (fastcf's mode): factors drawn from ``numpy.random.default_rng(seed)``
        by sorted index, epochs shuffled (``"serial"``) or parallel. True:
        Surprise ``SVD``'s model for ``random_state=seed``: its draws
        (``RandomState(seed).normal``, users then items, by first appearance in
        the data), every epoch over the ratings in ``trainset.all_ratings()``
        order (no shuffle, :class:`fastcf.schedules.Ordered`), float64; it
        needs ``dtype=np.float64`` and ``schedule="serial"`` (else
        ValueError). Predictions then equal Surprise's (to rounding) where the
        clipping range is the same: fastcf clips to the training ratings'
        range, Surprise to the ``Reader``'s ``rating_scale``.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        Threads of ``"blocked"`` / ``"hogwild"`` training and of ``recommend``.
    seed : int
        Of the initial factors and of every epoch's shuffle (Surprise's
        ``random_state`` with ``surprise_compat``).

    Attributes
    ----------
    history_ : list of dict
        Per epoch: ``epoch`` (``partial_fit`` numbers on), ``train_rmse``
        (errors seen during the epoch), ``seconds``, ``validation_rmse`` (with
        a validation set).
    best_epoch_ : int
        With ``patience``: the epoch whose model was kept.

    Notes
    -----
    Unknown ids fall back as in Surprise: an unknown user has no :math:`b_u`
    and no factor term, likewise an unknown item (FunkSVD: the global mean,
    reported). ``recommend`` ranks by :math:`\\hat r_{ui}` unclipped (an unknown
    user: by :math:`\\mu + b_i`), computed in the model's ``dtype`` (float32
    scores for a float32 model) by :func:`fastcf.kernels.factor_topk`.
    """

    _state_schema = Schema({
        "global_mean_": Array("f"),
        "user_bias_": Array("f", ("n_users",), dtype_param="dtype"),
        "item_bias_": Array("f", ("n_items",), dtype_param="dtype"),
        "user_factors_": Array("f", ("n_users", "factors"), dtype_param="dtype"),
        "item_factors_": Array("f", ("n_items", "factors"), dtype_param="dtype"),
        "rating_range_": Array("f", (2,)),
        "partial_fits_": Array("i"),
    })

    def __init__(self, factors=100, epochs=20, lr=0.005, reg=0.02, lr_bu=None, lr_bi=None,
                 lr_pu=None, lr_qi=None, reg_bu=None, reg_bi=None, reg_pu=None, reg_qi=None,
                 lr_decay=1.0, biased=True, init_mean=0.0, init_std=0.1, dtype=np.float32,
                 schedule="serial", blocks=32, cell_order="sorted", patience=None, clip=True,
                 verbose=False, surprise_compat=False, backend="auto", n_threads=None, seed=0):
        self.factors = factors
        self.epochs = epochs
        self.lr = lr
        self.reg = reg
        self.lr_bu = lr_bu
        self.lr_bi = lr_bi
        self.lr_pu = lr_pu
        self.lr_qi = lr_qi
        self.reg_bu = reg_bu
        self.reg_bi = reg_bi
        self.reg_pu = reg_pu
        self.reg_qi = reg_qi
        self.lr_decay = lr_decay
        self.biased = biased
        self.init_mean = init_mean
        self.init_std = init_std
        self.dtype = dtype
        self.schedule = schedule
        self.blocks = blocks
        self.cell_order = cell_order
        self.patience = patience
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
        check_float("lr_decay", self.lr_decay, min_value=0.0, max_value=1.0,
                    min_inclusive=False)
        check_float("init_mean", self.init_mean)
        check_float("init_std", self.init_std, min_value=0.0)
        check_value_dtype(self.dtype)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_int("blocks", self.blocks, min_value=1)
        check_choice("cell_order", self.cell_order, CELL_ORDERS)
        if self.patience is not None:
            check_int("patience", self.patience, min_value=1)
        for name in ("biased", "clip", "verbose", "surprise_compat"):
            check_bool(name, getattr(self, name))
        check_surprise_sgd(self)
        check_int("seed", self.seed, min_value=0)
        check_backend(self.backend)
        resolve_n_threads(self.n_threads)

    def _rates(self):
        """(learning rates, regularisations), each (bu, bi, pu, qi)."""
        return sgd_rates(self, _PARTS)

    # ------------------------------------------------------------------- fit
    def fit(self, data, *, validation=None, callbacks=(), schedule=None):
        """Train on ``data``; returns ``self``.

        Parameters
        ----------
        data : Interactions
        validation : Interactions, optional
            Held-out ratings (external ids; pairs unknown to ``data`` are
            skipped): its RMSE is recorded per epoch, and with ``patience``
            training stops early and keeps the best epoch.
        callbacks : iterable of callables
            Each is called after every epoch with the epoch's ``history_``
            entry (a dict); returning True stops training.
        schedule : fastcf.schedules.Schedule, optional
            Runs this fit's epochs instead of the one the ``schedule``,
            ``blocks``, ``cell_order``, ``backend`` and ``n_threads``
            parameters make (see :mod:`fastcf.schedules` for the protocol).
        """
        if validation is not None and not isinstance(validation, Interactions):
            raise TypeError(f"validation must be an Interactions, got "
                            f"{type(validation).__name__}.")
        if schedule is not None and not isinstance(schedule, Schedule):
            raise TypeError(f"schedule must be a fastcf.schedules.Schedule (the schedule "
                            f"parameter takes the names), got {type(schedule).__name__}.")
        if schedule is not None and self.surprise_compat:
            raise ValueError("surprise_compat=True runs Surprise's order; fit(schedule=...) "
                             "cannot replace it.")
        if self.patience is not None and validation is None:
            raise ValueError("patience needs a validation set: fit(data, validation=...).")
        self._validation, self._callbacks, self._fit_schedule = validation, callbacks, schedule
        try:
            return super().fit(data)
        finally:
            self._validation = self._callbacks = self._fit_schedule = None

    def _fit(self, data):
        if data.implicit:
            raise ValueError("MatrixFactorization needs explicit ratings; this data is "
                             "implicit.")
        dtype = np.dtype(self.dtype)
        self._check_memory(data.n_users, data.n_items, dtype)
        rng = np.random.default_rng(self.seed)
        self.global_mean_ = np.float64(data.global_mean)
        self.rating_range_ = np.array(data.rating_range, dtype=np.float64)
        shape = (self.init_mean, self.init_std)
        order = surprise_order(data) if self.surprise_compat else None
        if order is not None:  # Surprise's draws, by its inner ids
            draws = surprise_rng(self.seed)
            self.user_factors_ = draws.normal(*shape, (data.n_users, self.factors))[
                order.user_inner]
            self.item_factors_ = draws.normal(*shape, (data.n_items, self.factors))[
                order.item_inner]
        else:
            self.user_factors_ = rng.normal(*shape, (data.n_users, self.factors)).astype(dtype)
            self.item_factors_ = rng.normal(*shape, (data.n_items, self.factors)).astype(dtype)
        self.user_bias_ = np.zeros(data.n_users, dtype=dtype)
        self.item_bias_ = np.zeros(data.n_items, dtype=dtype)
        self.partial_fits_ = np.int64(0)
        users, items, ratings = self._rating_arrays(data, order)
        self.history_ = []
        self._train(users, items, ratings, self.epochs, rng, self._validation_pairs(),
                    self._callbacks, self._fit_schedule)

    def _rating_arrays(self, data, order=None):
        """(users, items, ratings) of ``data`` (its indices, the model's dtype) in the
        order the schedule starts from: by user, or Surprise's ``all_ratings()``
        (``order``: ``surprise_order(data)`` if already computed)."""
        by_user = data.by_user
        users = data.entry_users().astype(by_user.indices.dtype, copy=False)
        items, ratings = by_user.indices, by_user.data.astype(np.dtype(self.dtype))
        if self.surprise_compat:
            order = (surprise_order(data) if order is None else order).all_ratings
            users, items, ratings = users[order], items[order], ratings[order]
        return users, items, ratings

    def _check_memory(self, n_users, n_items, dtype, factors=None):
        """Refuse factor matrices of ``n_users`` + ``n_items`` rows that cannot fit."""
        k = self.factors if factors is None else factors
        # the matrices, and the float64 normal draws they are cast from
        check_memory(k * ((n_users + n_items) * dtype.itemsize + 8 * max(n_users, n_items)),
                     "the factor matrices", factors=k)

    def _schedule(self):
        """The schedule object the parameters describe."""
        if self.surprise_compat:
            return Ordered(backend=self.backend)
        if self.schedule == "serial":
            return Serial(backend=self.backend)
        grid = Blocked if self.schedule == "blocked" else Hogwild
        return grid(self.blocks, cell_order=self.cell_order, backend=self.backend,
                    n_threads=self.n_threads)

    def _train(self, users, items, ratings, n_epochs, rng, validation=None, callbacks=(),
               schedule=None):
        """SGD epochs over the ratings (internal indices) with ``schedule`` (default: the
        model's)."""
        lr, reg = self._rates()
        schedule = self._schedule() if schedule is None else schedule
        schedule.start(users, items, ratings, len(self.user_bias_), len(self.item_bias_), rng)

        def run_epoch(epoch):
            rates = tuple(r * self.lr_decay ** epoch for r in lr)
            mu = self.global_mean_ if self.biased else 0.0
            loss = schedule.epoch(mu, self.user_bias_, self.item_bias_, self.user_factors_,
                                  self.item_factors_, rates, reg, self.biased, rng)
            return Epoch(loss, {"train_rmse": float(np.sqrt(loss / max(len(ratings), 1)))})

        train_epochs(self, n_epochs, run_epoch, params=self._trained_arrays,
                     diverged=self._diverged, validation=validation,
                     callbacks=callbacks or (), patience=self.patience)

    def _trained_arrays(self):
        return {"user_bias_": self.user_bias_, "item_bias_": self.item_bias_,
                "user_factors_": self.user_factors_, "item_factors_": self.item_factors_}

    def _diverged(self, epoch):
        return sgd_diverged_message(self, _PARTS, epoch)

    def partial_fit(self, data, epochs=None):
        """Continue training on new ratings, growing the id maps; returns ``self``.

        Users and items of ``data`` unknown to the model get fresh factors
        (normal draws, as many as the fitted factor matrices have columns) and
        zero biases; then ``epochs`` (default: the model's) epochs run over
        ``data``'s ratings only, with the model's schedule, their ``history_``
        entries numbered on from the last one. The global mean stays the one
        of the first fit; the rating range and the seen items (excluded by
        ``recommend``) grow. Reproducible: the k-th partial fit draws from the
        seed and k.
        """
        self._check_is_fitted()
        if not isinstance(data, Interactions):
            raise TypeError(f"partial_fit expects an Interactions, got {type(data).__name__}.")
        if data.implicit:
            raise ValueError("MatrixFactorization needs explicit ratings; this data is "
                             "implicit.")
        epochs = self.epochs if epochs is None else check_int("epochs", epochs, min_value=1)
        dtype = self.user_factors_.dtype
        user_index, item_index = self.user_index(data.user_ids), self.item_index(data.item_ids)
        self._check_memory(self.n_users_ + int((user_index < 0).sum()),
                           self.n_items_ + int((item_index < 0).sum()), dtype,
                           self.user_factors_.shape[1])
        self.partial_fits_ = np.int64(int(getattr(self, "partial_fits_", 0)) + 1)
        rng = np.random.default_rng([self.seed, int(self.partial_fits_)])
        k = self.user_factors_.shape[1]

        def draw(n):
            return rng.normal(self.init_mean, self.init_std, (n, k)).astype(dtype)

        user_map = self._grow("user", data.user_ids, user_index, {
            "user_factors_": draw, "user_bias_": lambda n: np.zeros(n, dtype)})
        item_map = self._grow("item", data.item_ids, item_index, {
            "item_factors_": draw, "item_bias_": lambda n: np.zeros(n, dtype)})
        local_users, local_items, ratings = self._rating_arrays(data)
        users, items = user_map[local_users], item_map[local_items]
        low, high = data.rating_range
        self.rating_range_ = np.array([min(self.rating_range_[0], low),
                                       max(self.rating_range_[1], high)])
        self._add_seen(users, items)
        self._train(users, items, ratings.astype(dtype, copy=False), epochs, rng)
        return self

    # --------------------------------------------------------------- predict
    def _estimate(self, users, items):
        """Unclipped estimates; unknown ids drop their terms, as in Surprise."""
        known_user, known_item = users >= 0, items >= 0
        both = known_user & known_item
        est = np.full(len(users), float(self.global_mean_))
        if self.biased:
            est[known_user] += self.user_bias_[users[known_user]]
            est[known_item] += self.item_bias_[items[known_item]]
        else:
            est[both] = 0.0
        where = np.flatnonzero(both)
        for start in range(0, len(where), PREDICT_CHUNK):
            chunk = where[start:start + PREDICT_CHUNK]
            p = self.user_factors_[users[chunk]].astype(np.float64)
            q = self.item_factors_[items[chunk]].astype(np.float64)
            est[chunk] += np.einsum("ij,ij->i", p, q)
        return est

    def _predict_internal(self, users, items):
        est = self._estimate(users, items)
        if self.clip:
            np.clip(est, self.rating_range_[0], self.rating_range_[1], out=est)
        return est

    def _ranking_factors(self):
        """``(user_vectors, item_vectors, user_offset, item_offset, fallback)`` in the
        model's dtype: known users score :math:`p_u \\cdot q_i + (\\mu + b_u) + b_i`
        (FunkSVD :math:`p_u \\cdot q_i`), an unknown user :math:`\\mu + b_i` (FunkSVD
        :math:`\\mu`)."""
        dtype = self.item_factors_.dtype
        mean = float(self.global_mean_)
        if not self.biased:
            return (self.user_factors_, self.item_factors_, None, None,
                    np.full(self.n_items_, mean, dtype=dtype))
        return (self.user_factors_, self.item_factors_,
                (mean + self.user_bias_.astype(np.float64)).astype(dtype), self.item_bias_,
                (mean + self.item_bias_.astype(np.float64)).astype(dtype))

    def _score_setup(self):
        """The item side in float64, converted once per scoring pass (``evaluate``'s AUC)."""
        base = float(self.global_mean_) + self.item_bias_ if self.biased else \
            np.full(self.n_items_, float(self.global_mean_))
        return self.item_factors_.astype(np.float64, copy=False), base

    def _score_block(self, users, out=None, setup=None):
        known = users >= 0
        q, base = self._score_setup() if setup is None else setup
        scores = np.empty((len(users), self.n_items_)) if out is None else out
        if known.all():  # straight into the buffer: base + (p q + b_u), as below
            np.matmul(self.user_factors_[users].astype(np.float64), q.T, out=scores)
            if self.biased:
                scores += self.user_bias_[users][:, None]
            else:
                scores -= float(self.global_mean_)
            scores += base
            return scores
        scores[:] = base
        if known.any():
            rows = users[known]
            dot = self.user_factors_[rows].astype(np.float64) @ q.T
            if self.biased:
                dot += self.user_bias_[rows][:, None]
            else:
                dot -= float(self.global_mean_)
            scores[known] += dot
        return scores

    # ------------------------------------------------------------- fold-in
    def _fold_in_factors(self, queries, steps):
        r"""(bias, factors) of new users from their ratings, the item side frozen.

        Ridge closed form of the objective SGD minimises, per new user with
        ratings :math:`R` (:math:`n = |R|`; each rating's update regularises,
        so the penalty scales with :math:`n`):

        .. math::

            \min_{b, p} \sum_{i \in R} (r_i - \mu - b_i - b - p \cdot q_i)^2
            + n (\lambda_{bu} b^2 + \lambda_{pu} \|p\|^2)

        (FunkSVD: no :math:`\mu, b_i, b`). Then ``steps`` SGD passes over the
        ratings in order, updating only :math:`b, p`.
        """
        q_indptr, q_indices, q_data = queries
        lr, reg = self._rates()
        k = self.factors
        q_all = self.item_factors_.astype(np.float64)
        b_all = self.item_bias_.astype(np.float64)
        n_new = len(q_indptr) - 1
        biases, factors = np.zeros(n_new), np.zeros((n_new, k))
        for r in range(n_new):
            cols = q_indices[q_indptr[r]:q_indptr[r + 1]]
            y = q_data[q_indptr[r]:q_indptr[r + 1]].astype(np.float64)
            x = q_all[cols]
            n = len(cols)
            if self.biased:
                y = y - float(self.global_mean_) - b_all[cols]
                x = np.hstack([np.ones((n, 1)), x])
                penalty = n * np.r_[reg[0], np.full(k, reg[2])]
            else:
                penalty = n * np.full(k, reg[2])
            w = np.linalg.solve(x.T @ x + np.diag(penalty), x.T @ y)
            bias, p = (w[0], w[1:]) if self.biased else (0.0, w)
            for _ in range(steps):
                for i, rating in zip(cols, q_data[q_indptr[r]:q_indptr[r + 1]]):
                    base = float(self.global_mean_) + b_all[i] + bias if self.biased else 0.0
                    err = rating - (base + p @ q_all[i])
                    if self.biased:
                        bias += lr[0] * (err - reg[0] * bias)
                    p = p + lr[2] * (err * q_all[i] - reg[2] * p)
            biases[r], factors[r] = bias, p
        return biases, factors

    def _new_scores(self, biases, factors, user, item):
        est = np.einsum("ij,ij->i", factors[user], self.item_factors_[item].astype(np.float64))
        if self.biased:
            est += float(self.global_mean_) + biases[user] + self.item_bias_[item]
        return est

    def predict_new(self, ratings, items, *, steps=0):
        """Predict items for new users given only their ratings (fold-in, no refit).

        ``ratings``: one ``{item id: rating}`` dict or a list of them; ``items``:
        the items to predict (one array per user for a list). Each new user's
        bias and factors are solved with the items frozen (see
        :meth:`_fold_in_factors`), refined by ``steps`` SGD passes.
        """
        single, queries, user, item, sizes = self._fold_in_request(ratings, items)
        steps = check_int("steps", steps, min_value=0)
        biases, factors = self._fold_in_factors(queries, steps)
        est = self._new_scores(biases, factors, user, item)
        if self.clip:
            np.clip(est, self.rating_range_[0], self.rating_range_[1], out=est)
        return self._fold_in_result(est, single, sizes)

    def recommend_new(self, ratings, n=10, *, exclude_seen=True, candidates=None, steps=0):
        """Top-``n`` items for new users given only their ratings (fold-in, no refit)."""
        self._check_is_fitted()
        n = check_int("n", n, min_value=1)
        steps = check_int("steps", steps, min_value=0)
        queries = self._fold_in_csr(ratings)
        biases, factors = self._fold_in_factors(queries, steps)
        scores = factors @ self.item_factors_.astype(np.float64).T
        if self.biased:
            scores += (float(self.global_mean_) + biases)[:, None] + self.item_bias_[None, :]
        return self._rank_new(scores, queries, n, exclude_seen, candidates)

    def similar_items(self, items, n=10):
        """The ``n`` items whose factors are closest in cosine to each item's, self excluded."""
        return similar_items(self, self.item_factors_, items, n)
