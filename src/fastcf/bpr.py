r"""``BPR``: Bayesian Personalised Ranking (Rendle et al. 2009) from implicit feedback.

The score of user u for item i is :math:`\hat x_{ui} = p_u \cdot q_i + b_i`
(without :math:`b_i` when ``item_bias=False``), trained by SGD on
:math:`\sum \ln \sigma(\hat x_{ui} - \hat x_{uj})` minus an L2 penalty over
triples of a user, an item they have (every stored entry, whatever its
value) and an item they have not (see :func:`fastcf.kernels.bpr.bpr_epoch`
for the step). Three training schedules (``schedule=``), on the SGD
machinery of :class:`~fastcf.MatrixFactorization`:

- ``"hogwild"`` (default): the pairs in a ``blocks`` x ``blocks`` grid of
  (user block, item block) cells, handed out in a fresh random order to
  threads that update without locks; negatives drawn from every item. Fast;
  two runs on several threads can differ.
- ``"blocked"``: the same grid run in ``blocks`` rounds of cells that share
  no user block and no item block, each cell drawing its negatives from its
  own item block (so that no two threads ever touch one item row): the same
  model for a seed whatever ``n_threads``. The price: a user's negatives come
  from the item blocks of their positives, not the whole catalogue.
- ``"serial"``: one thread, every pair in one fresh shuffle per iteration.
"""

import warnings

import numpy as np

from ._config import PREDICT_CHUNK
from ._factors import similar_items
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
from .data import Interactions
from .kernels._registry import check_backend
from .kernels.bpr import (
    SERIAL_ROUNDS,
    blocked_rounds,
    grid_layout,
    run_bpr_epoch,
    single_cell,
)
from .persist import Array, Schema

__all__ = ["BPR"]

SCHEDULES = ("hogwild", "blocked", "serial")


class _PairSchedule:
    """The layout of the positive pairs and the rounds of cells of each epoch
    (see the module docstring), for :func:`fastcf.kernels.bpr.run_bpr_epoch`."""

    def __init__(self, name, blocks, backend, n_threads):
        self.name, self.blocks, self.backend = name, blocks, backend
        self.n_threads = 1 if name == "serial" else resolve_n_threads(n_threads)

    def start(self, users, items, n_users, n_items, rng):
        """Lay out the pairs (internal indices; copies: the epochs shuffle them in place)."""
        self._negatives = np.empty(len(users), users.dtype)
        if self.name == "serial":
            self._g = 1
            cell_ptr, pool, cell_pool = single_cell(len(users), n_items, users.dtype)
            self._layout = (users.copy(), items.copy(), cell_ptr, pool, cell_pool)
        else:
            self._g = max(1, min(self.blocks, n_users, n_items))
            self._layout = grid_layout(users, items, n_users, n_items, self._g,
                                       rng.integers(2**63), blocked=self.name == "blocked")

    def _rounds(self, rng):
        g = self._g
        if self.name == "serial":
            return SERIAL_ROUNDS
        if self.name == "blocked":
            return blocked_rounds(rng.permutation(g), rng.permutation(g))
        return rng.permutation(g * g).astype(np.int64)[None, :]

    def epoch(self, indptr, indices, user_factors, item_factors, item_bias, lr, reg, use_bias,
              rng):
        """One epoch in place; returns (pairs ranked right, pairs skipped, sum of z)."""
        users, items, cell_ptr, pool, cell_pool = self._layout
        stats = run_bpr_epoch(users, items, self._negatives, cell_ptr, self._rounds(rng), pool,
                              cell_pool, indptr, indices, rng.integers(2**63), user_factors,
                              item_factors, item_bias, lr, reg, use_bias, backend=self.backend,
                              n_threads=self.n_threads)
        return stats.sum(axis=0)


class BPR(Recommender):
    r"""Bayesian Personalised Ranking, a factor model trained by SGD on sampled triples.

    Parameters
    ----------
    factors : int
        Latent dimensions.
    lr : float
        SGD learning rate (> 0).
    reg : float
        L2 regularisation of the factors and item biases (>= 0).
    iterations : int
        Epochs; each visits every positive pair once, with a fresh negative.
    seed : int or None
        Of the initial factors, the layout and every epoch's draws (None: fresh
        entropy, a different model each fit).
    schedule : {"hogwild", "blocked", "serial"}
        See the module docstring.
    item_bias : bool
        Learn an item bias :math:`b_i` (implicit keeps one as a factor column,
        cornac as ``use_bias``).
    blocks : int
        Grid size of ``"hogwild"`` and ``"blocked"`` (at most the number of
        users and of items); never set from the thread count.
    dtype : {numpy.float32, numpy.float64}
        Of the factors and the SGD arithmetic.
    n_threads : int or None
        Threads of ``"hogwild"`` / ``"blocked"`` training and of ``recommend``.
    backend : {"auto", "numba", "cython", "reference"}
    verbose : bool
        A progress bar over the iterations.

    Attributes
    ----------
    user_factors_, item_factors_ : ndarray, shapes (n_users, factors), (n_items, factors)
    item_bias_ : ndarray, shape (n_items,)
        Zeros when ``item_bias=False``.
    history_ : list of dict
        Per iteration: ``epoch``, ``train_accuracy`` (the fraction of the
        epoch's sampled triples already ranked right, :math:`\hat x_{uij} > 0`,
        before their step: implicit's ``train_auc``), ``seconds``, ``skipped``
        (pairs whose negative draws all hit seen items).

    Notes
    -----
    Factors start as uniform draws in :math:`[-0.5, 0.5) / k` (cornac's and
    implicit's initialisation), item biases at 0. A negative is drawn
    uniformly from the items and re-drawn while the user has it, at most
    ``BPR_MAX_DRAWS`` times (``fastcf._config``) before the pair is skipped;
    users who have every item have no negative: their pairs are left out of
    training, with a warning. ``predict`` and ``recommend`` score
    :math:`p_u \cdot q_i + b_i`; an unknown user gets the item bias (with
    ``item_bias=False``: the item's number of training interactions), an
    unknown item 0.
    """

    predicts_ratings = False  # it ranks: predict is the score x_ui

    _state_schema = Schema({
        "user_factors_": Array("f", ("n_users", "factors"), dtype_param="dtype"),
        "item_factors_": Array("f", ("n_items", "factors"), dtype_param="dtype"),
        "item_bias_": Array("f", ("n_items",), dtype_param="dtype"),
        "partial_fits_": Array("i"),
    })

    def __init__(self, factors=100, lr=0.01, reg=0.01, iterations=100, seed=None,
                 schedule="hogwild", item_bias=True, blocks=32, dtype=np.float32,
                 n_threads=None, backend="auto", verbose=False):
        self.factors = factors
        self.lr = lr
        self.reg = reg
        self.iterations = iterations
        self.seed = seed
        self.schedule = schedule
        self.item_bias = item_bias
        self.blocks = blocks
        self.dtype = dtype
        self.n_threads = n_threads
        self.backend = backend
        self.verbose = verbose

    def _check_params(self):
        check_int("factors", self.factors, min_value=1)
        check_float("lr", self.lr, min_value=0.0, min_inclusive=False)
        check_float("reg", self.reg, min_value=0.0)
        check_int("iterations", self.iterations, min_value=1)
        if self.seed is not None:
            check_int("seed", self.seed, min_value=0)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_bool("item_bias", self.item_bias)
        check_int("blocks", self.blocks, min_value=1)
        check_value_dtype(self.dtype)
        resolve_n_threads(self.n_threads)
        check_backend(self.backend)
        check_bool("verbose", self.verbose)

    # ------------------------------------------------------------------- fit
    def _fit(self, data):
        if data.nnz == 0:
            raise ValueError("the data has no interactions; BPR needs at least one.")
        dtype = np.dtype(self.dtype)
        self._check_memory(data.n_users, data.n_items, dtype)
        rng = np.random.default_rng(self.seed)
        self.user_factors_ = self._initial_factors(rng, data.n_users, dtype)
        self.item_factors_ = self._initial_factors(rng, data.n_items, dtype)
        self.item_bias_ = np.zeros(data.n_items, dtype=dtype)
        self.partial_fits_ = np.int64(0)
        self.history_ = []
        users = np.repeat(np.arange(data.n_users), np.diff(data.by_user.indptr))
        self._train(users, data.by_user.indices, self.iterations, rng)

    def _initial_factors(self, rng, n, dtype):
        return ((rng.random((n, self.factors)) - 0.5) / self.factors).astype(dtype)

    def _check_memory(self, n_users, n_items, dtype, nnz=0):
        """Refuse factor matrices of ``n_users`` + ``n_items`` rows that cannot fit."""
        # the matrices and the float64 uniform draws they are made from
        check_memory(self.factors * ((n_users + n_items) * dtype.itemsize +
                                     8 * max(n_users, n_items)), "the factor matrices",
                     factors=self.factors)

    def _train(self, users, items, n_iterations, rng):
        """SGD epochs over the positive pairs (internal indices), negatives checked
        against the seen CSR."""
        n_users, n_items = self.n_users_, self.n_items_
        index = np.int32 if max(n_users, n_items, len(self.seen_indices_)) < 2**31 - 1 \
            else np.int64
        indptr = self.seen_indptr_.astype(index)
        indices = self.seen_indices_.astype(index)
        full = np.diff(indptr) >= n_items
        if full[users].any():
            warnings.warn(f"{int(full.sum())} users interacted with every item: no negative "
                          "exists for them, their pairs are left out of training.",
                          stacklevel=4)
            keep = ~full[users]
            users, items = users[keep], items[keep]
            if len(users) == 0:
                raise ValueError("every user interacted with every item: BPR has no "
                                 "negative to sample.")
        schedule = _PairSchedule(self.schedule, self.blocks, self.backend, self.n_threads)
        schedule.start(users.astype(index), items.astype(index), n_users, n_items, rng)
        n_pairs = len(users)

        def run_epoch(epoch):
            correct, skipped, z_sum = schedule.epoch(
                indptr, indices, self.user_factors_, self.item_factors_, self.item_bias_,
                self.lr, self.reg, self.item_bias, rng)
            accuracy = correct / max(n_pairs - skipped, 1)
            return Epoch(z_sum, {"train_accuracy": float(accuracy)}, {"skipped": int(skipped)})

        train_epochs(self, n_iterations, run_epoch, params=self._trained_arrays,
                     diverged=self._diverged)

    def _trained_arrays(self):
        return {"user_factors_": self.user_factors_, "item_factors_": self.item_factors_,
                "item_bias_": self.item_bias_}

    def _diverged(self, epoch):
        return (f"BPR diverged at iteration {epoch}: the factors became NaN/inf; lower the "
                f"learning rate (lr == {self.lr}) or raise reg.")

    def partial_fit(self, data, iterations=None):
        """Continue training on new interactions, growing the id maps; returns ``self``.

        Users and items of ``data`` unknown to the model get fresh factors
        (drawn as at fit) and a zero bias; the seen items grow by ``data``'s
        pairs; then ``iterations`` (default: the model's) epochs run over
        ``data``'s pairs only (negatives checked against everything the user
        has), their ``history_`` entries numbered on. The k-th partial fit
        draws from the seed and k.
        """
        self._check_is_fitted()
        if not isinstance(data, Interactions):
            raise TypeError(f"partial_fit expects an Interactions, got {type(data).__name__}.")
        if data.nnz == 0:
            raise ValueError("the data has no interactions; BPR needs at least one.")
        iterations = self.iterations if iterations is None else \
            check_int("iterations", iterations, min_value=1)
        dtype = self.user_factors_.dtype
        user_index, item_index = self.user_index(data.user_ids), self.item_index(data.item_ids)
        self._check_memory(self.n_users_ + int((user_index < 0).sum()),
                           self.n_items_ + int((item_index < 0).sum()), dtype)
        self.partial_fits_ = np.int64(int(self.partial_fits_) + 1)
        rng = np.random.default_rng(None if self.seed is None else
                                    [self.seed, int(self.partial_fits_)])
        user_map = self._grow("user", data.user_ids, user_index, {
            "user_factors_": lambda n: self._initial_factors(rng, n, dtype)})
        item_map = self._grow("item", data.item_ids, item_index, {
            "item_factors_": lambda n: self._initial_factors(rng, n, dtype),
            "item_bias_": lambda n: np.zeros(n, dtype)})
        by_user = data.by_user
        users = user_map[np.repeat(np.arange(data.n_users), np.diff(by_user.indptr))]
        items = item_map[by_user.indices]
        self._add_seen(users, items)
        self._train(users, items, iterations, rng)
        return self

    # --------------------------------------------------------------- predict
    def _ranking_factors(self):
        """(user_factors, item_factors, None, item bias or None, unknown user's scores),
        in the model's dtype: the score of a known pair is ``p_u . q_i (+ b_i)``."""
        if self.item_bias:
            fallback = self.item_bias_
        else:
            fallback = np.bincount(self.seen_indices_, minlength=self.n_items_).astype(
                self.item_factors_.dtype)
        return (self.user_factors_, self.item_factors_, None,
                self.item_bias_ if self.item_bias else None, fallback)

    def _predict_internal(self, users, items):
        _, _, _, offset, fallback = self._ranking_factors()
        known_user, known_item = users >= 0, items >= 0
        est = np.zeros(len(users))
        cold = ~known_user & known_item
        est[cold] = fallback[items[cold]]
        where = np.flatnonzero(known_user & known_item)
        for start in range(0, len(where), PREDICT_CHUNK):
            chunk = where[start:start + PREDICT_CHUNK]
            p = self.user_factors_[users[chunk]].astype(np.float64)
            q = self.item_factors_[items[chunk]].astype(np.float64)
            est[chunk] = np.einsum("ij,ij->i", p, q)
            if offset is not None:
                est[chunk] += offset[items[chunk]]
        return est

    def _score_setup(self):
        user_vectors, item_vectors, _, offset, fallback = self._ranking_factors()
        return (item_vectors.astype(np.float64),
                np.zeros(self.n_items_) if offset is None else offset.astype(np.float64),
                fallback.astype(np.float64))

    def _score_block(self, users, out=None, setup=None):
        q, offset, fallback = self._score_setup() if setup is None else setup
        scores = np.empty((len(users), self.n_items_)) if out is None else out
        known = users >= 0
        if known.all():
            np.matmul(self.user_factors_[users].astype(np.float64), q.T, out=scores)
            scores += offset
            return scores
        scores[:] = fallback
        if known.any():
            scores[known] = self.user_factors_[users[known]].astype(np.float64) @ q.T + offset
        return scores

    def similar_items(self, items, n=10):
        """The ``n`` items whose factors are closest in cosine to each item's, self excluded."""
        return similar_items(self, self.item_factors_, items, n)
