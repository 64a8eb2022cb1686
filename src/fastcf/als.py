r"""``ALS``: implicit-feedback matrix factorization by alternating least squares.

Hu, Koren & Volinsky (2008), as implicit's ``AlternatingLeastSquares`` trains
it: every user-item cell has a preference :math:`p_{ui}` (1 where the user
interacted, 0 elsewhere) and a confidence :math:`c_{ui} = 1 + \alpha r_{ui}`
(:math:`r_{ui}` the stored value: 1 for data without ratings; :math:`c = 1`
for the cells without an interaction), and the factors minimise

.. math::

    \sum_{u, i} c_{ui} (p_{ui} - x_u \cdot y_i)^2
    + \lambda \Big(\sum_u \|x_u\|^2 + \sum_i \|y_i\|^2\Big)

by alternating exact or conjugate-gradient solves of the users with the items
frozen and of the items with the users frozen (:mod:`fastcf.kernels.als`).
Each iteration is one user sweep and one item sweep. Every row's solve is
independent of the others, so a fit does not depend on ``n_threads``.
"""

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
from .kernels.als import SOLVERS, chunk_bounds, gram, implicit_loss, run_least_squares
from .persist import Array, Schema

__all__ = ["ALS"]

#: Scale of the uniform initial factors (implicit's ``random(...) * 0.01``).
_INIT_SCALE = 0.01


class ALS(Recommender):
    """Implicit-feedback ALS (Hu, Koren & Volinsky 2008).

    Parameters
    ----------
    factors : int
        Latent dimensions.
    reg : float
        :math:`\\lambda >= 0`, on every factor (implicit's ``regularization``).
    alpha : float
        :math:`\\alpha > 0` of the confidence :math:`1 + \\alpha r`. (implicit
        0.7 multiplies the values by ``alpha`` and takes that product as the
        confidence: its ``alpha=a`` is this model's ``alpha=a - 1`` for
        a > 1.)
    iterations : int
        Alternations (a user sweep, then an item sweep).
    solver : {"cg", "cholesky"}
        ``"cg"``: ``cg_steps`` steps of conjugate gradient per row, warm
        started from the current factors (implicit's default); ``"cholesky"``:
        the exact solve of every row.
    cg_steps : int
        Conjugate-gradient steps per row and sweep.
    dtype : {numpy.float32, numpy.float64}
        Of the factors and of the arithmetic of the solves.
    seed : int or None
        Of the initial factors (uniform in ``[0, 0.01)``, as in implicit).
        None: fresh entropy at every fit.
    n_threads : int or None
        Threads of the sweeps (and of their BLAS products) and of ``recommend``.
    backend : {"auto", "numba", "cython", "reference"}
    verbose : bool
        A progress bar over the iterations.

    Attributes
    ----------
    user_factors_, item_factors_ : ndarray, shape (n_users | n_items, factors)
    item_popularity_ : ndarray, shape (n_items,)
        Interactions per item in the training data (``dtype``): the ranking of
        users unknown to the model.
    history_ : list of dict
        Per iteration: ``epoch``, ``seconds``, and ``loss`` (implicit's
        ``calculate_loss``: the objective above divided by the sum of the
        confidences of all cells) when ``fit(..., compute_loss=True)``.

    Notes
    -----
    ``predict`` returns the ranking score :math:`x_u \\cdot y_i`, not a rating
    (``predicts_ratings`` is False). An unknown user scores an item by its
    popularity (``item_popularity_``); an unknown item scores 0.
    """

    predicts_ratings = False
    _state_schema = Schema({
        "user_factors_": Array("f", ("n_users", "factors"), dtype_param="dtype"),
        "item_factors_": Array("f", ("n_items", "factors"), dtype_param="dtype"),
        "item_popularity_": Array("f", ("n_items",), dtype_param="dtype"),
        "partial_fits_": Array("i"),
    })

    def __init__(self, factors=100, reg=0.01, alpha=1.0, iterations=15, solver="cg",
                 cg_steps=3, dtype=np.float32, seed=None, n_threads=None, backend="auto",
                 verbose=False):
        self.factors = factors
        self.reg = reg
        self.alpha = alpha
        self.iterations = iterations
        self.solver = solver
        self.cg_steps = cg_steps
        self.dtype = dtype
        self.seed = seed
        self.n_threads = n_threads
        self.backend = backend
        self.verbose = verbose

    def _check_params(self):
        check_int("factors", self.factors, min_value=1)
        check_float("reg", self.reg, min_value=0.0)
        check_float("alpha", self.alpha, min_value=0.0, min_inclusive=False)
        check_int("iterations", self.iterations, min_value=1)
        check_choice("solver", self.solver, SOLVERS)
        check_int("cg_steps", self.cg_steps, min_value=1)
        check_value_dtype(self.dtype)
        if self.seed is not None:
            check_int("seed", self.seed, min_value=0)
        resolve_n_threads(self.n_threads)
        check_backend(self.backend)
        check_bool("verbose", self.verbose)

    # ------------------------------------------------------------------- fit
    def fit(self, data, *, callbacks=(), compute_loss=False):
        """Train on ``data``; returns ``self``.

        Parameters
        ----------
        data : Interactions
            With ratings (the values weigh the confidence) or without (every
            interaction counts 1). Values must be >= 0.
        callbacks : iterable of callables
            Each is called after every iteration with its ``history_`` entry;
            returning True stops training.
        compute_loss : bool
            Record the training loss in ``history_`` (one more pass over the
            data per iteration).
        """
        check_bool("compute_loss", compute_loss)
        self._callbacks, self._compute_loss = callbacks, compute_loss
        try:
            return super().fit(data)
        finally:
            self._callbacks = self._compute_loss = None

    #: The sweeps of the next fit (None: :class:`_Sweeps`, here);
    #: ``fastcf.distributed.fit_als`` sets its own for one fit.
    _sweeps = None

    def _fit(self, data):
        _check_values(data)
        dtype = np.dtype(self.dtype)
        self._check_memory(data.n_users, data.n_items, dtype, self.factors)
        rng = np.random.default_rng(self.seed)
        self.user_factors_ = rng.random((data.n_users, self.factors), dtype=dtype) * \
            dtype.type(_INIT_SCALE)
        self.item_factors_ = rng.random((data.n_items, self.factors), dtype=dtype) * \
            dtype.type(_INIT_SCALE)
        self.item_popularity_ = np.diff(data.by_item.indptr).astype(dtype)
        self.partial_fits_ = np.int64(0)
        self.history_ = []
        by_user, by_item = data.by_user, data.by_item
        n_threads = resolve_n_threads(self.n_threads)
        sweeps = self._sweeps or _Sweeps(self, n_threads)
        sweeps.start(by_user, by_item)

        def run_epoch(epoch):
            sweeps.sweep("user", self.item_factors_, self.user_factors_)
            sweeps.sweep("item", self.user_factors_, self.item_factors_)
            if not self._compute_loss:
                return Epoch(0.0, {})
            loss = implicit_loss(by_user.indptr, by_user.indices, by_user.data,
                                 self.user_factors_, self.item_factors_, self.reg, self.alpha)
            return Epoch(loss, {"loss": loss})

        train_epochs(self, self.iterations, run_epoch, params=self._trained_arrays,
                     diverged=self._diverged, callbacks=self._callbacks or ())

    def _sweep(self, csr, other, factors, solver, n_threads):
        """Solve every row of ``factors`` from the rows of ``csr`` with ``other`` frozen."""
        self._solve_rows(csr, other, self._shared(other), factors, solver, n_threads)

    def _shared(self, other):
        """What every row's solve of a half-step shares, computed once: ``YtY + reg I``."""
        return gram(other, self.reg)

    def _solve_rows(self, csr, other, shared, factors, solver, n_threads):
        """Solve the rows of ``factors`` (in place) from the rows of ``csr``, ``other`` frozen.

        A row's result depends on its own entries, ``other`` and ``shared``
        and on which rows share its chunk (:func:`split_points`), nothing else.
        """
        run_least_squares(csr.indptr, csr.indices, csr.data, other, shared, factors,
                          self.alpha, solver, self.cg_steps, backend=self.backend,
                          n_threads=n_threads)

    def _split_points(self, indptr, n_blocks):
        """Row boundaries cutting ``indptr``'s rows into at most ``n_blocks`` blocks of
        about equal entries, each solved alone to the same bits (chunk boundaries)."""
        k, itemsize = self.factors, np.dtype(self.dtype).itemsize
        bounds = chunk_bounds(indptr, k * itemsize)
        entries = np.asarray(indptr, dtype=np.int64)[bounds]
        cuts = np.searchsorted(entries, np.linspace(0, entries[-1], n_blocks + 1)[1:-1])
        return np.unique(np.concatenate([[0], bounds[np.clip(cuts, 0, len(bounds) - 1)],
                                         [bounds[-1]]]))

    def _check_memory(self, n_users, n_items, dtype, factors):
        check_memory(factors * (n_users + n_items + factors) * dtype.itemsize,
                     "the factor matrices", factors=factors)

    def _trained_arrays(self):
        return {"user_factors_": self.user_factors_, "item_factors_": self.item_factors_}

    def _diverged(self, epoch):
        return (f"ALS produced NaN or inf at iteration {epoch}; raise reg (reg == {self.reg}) "
                f"or lower alpha (alpha == {self.alpha}).")

    def partial_fit(self, data, iterations=1):
        """Update the model with ``data``, growing the id maps; returns ``self``.

        ``data`` must hold every interaction of the users it names (as
        implicit's ``partial_fit_users``): their factors are re-solved from
        ``data`` alone. Users and items unknown to the model are appended
        (zero factors). Then ``iterations`` times: an exact (Cholesky) solve of
        ``data``'s new items from all the user factors, then an exact solve of
        ``data``'s users from all the item factors, each over its interactions
        in ``data``; so the users end holding the exact half-step (what
        :meth:`recommend_new` computes) on the final item factors. Items
        known before keep their factors (their other interactions are not in
        ``data``); with no new item one iteration is the whole update.
        The seen items (excluded by ``recommend``) and ``item_popularity_``
        grow with ``data``. ``history_`` is left as it is.
        """
        self._check_is_fitted()
        if not isinstance(data, Interactions):
            raise TypeError(f"partial_fit expects an Interactions, got {type(data).__name__}.")
        iterations = check_int("iterations", iterations, min_value=1)
        _check_values(data)
        dtype = self.user_factors_.dtype
        k = self.user_factors_.shape[1]
        user_index, item_index = self.user_index(data.user_ids), self.item_index(data.item_ids)
        new_users, new_items = user_index < 0, item_index < 0
        self._check_memory(self.n_users_ + int(new_users.sum()),
                           self.n_items_ + int(new_items.sum()), dtype, k)
        zeros = {"factors": lambda n: np.zeros((n, k), dtype)}
        user_index = self._grow("user", data.user_ids, user_index,
                                {"user_factors_": zeros["factors"]})
        item_index = self._grow("item", data.item_ids, item_index, {
            "item_factors_": zeros["factors"], "item_popularity_": lambda n: np.zeros(n, dtype)})
        np.add.at(self.item_popularity_, item_index[data.by_user.indices], 1)
        by_user = data.by_user
        self._add_seen(np.repeat(user_index, np.diff(by_user.indptr)),
                       item_index[by_user.indices])
        self.partial_fits_ = np.int64(int(self.partial_fits_) + 1)
        n_threads = resolve_n_threads(self.n_threads)
        user_rows = _remapped(by_user, item_index)
        item_rows = _remapped(data.by_item, user_index, rows=np.flatnonzero(new_items))
        grown = item_index[new_items]
        for _ in range(iterations):
            if len(grown):
                solved = self.item_factors_[grown]
                self._sweep(item_rows, self.user_factors_, solved, "cholesky", n_threads)
                self.item_factors_[grown] = solved
            solved = self.user_factors_[user_index]
            self._sweep(user_rows, self.item_factors_, solved, "cholesky", n_threads)
            self.user_factors_[user_index] = solved
        return self

    # --------------------------------------------------------------- predict
    def _ranking_factors(self):
        """(user vectors, item vectors, None, None, item popularity): score = x_u . y_i."""
        return self.user_factors_, self.item_factors_, None, None, self.item_popularity_

    def _predict_internal(self, users, items):
        known_user, known_item = users >= 0, items >= 0
        scores = np.zeros(len(users))
        fallback = ~known_user & known_item
        scores[fallback] = self.item_popularity_[items[fallback]]
        where = np.flatnonzero(known_user & known_item)
        for start in range(0, len(where), PREDICT_CHUNK):
            chunk = where[start:start + PREDICT_CHUNK]
            scores[chunk] = np.einsum("ij,ij->i", self.user_factors_[users[chunk]],
                                      self.item_factors_[items[chunk]], dtype=np.float64)
        return scores

    def _score_block(self, users, out=None, setup=None):
        user_vectors, item_vectors, _, _, fallback = self._ranking_factors()
        scores = np.empty((len(users), self.n_items_)) if out is None else out
        known = users >= 0
        scores[~known] = fallback
        if known.any():
            scores[known] = user_vectors[users[known]] @ item_vectors.T
        return scores

    # ------------------------------------------------------------- fold-in
    def _fold_in(self, ratings):
        """(queries, factors) of new users: the exact half-step with the items frozen
        (implicit's ``recalculate_user``)."""
        self._check_is_fitted()
        queries = self._fold_in_csr(ratings)
        indptr, indices, values = queries
        if values.min() < 0:
            raise ValueError(f"ratings contain {values.min()}, must be >= 0 (the confidence "
                             "1 + alpha * r would fall below 1).")
        factors = np.zeros((len(indptr) - 1, self.user_factors_.shape[1]),
                           self.user_factors_.dtype)
        n_threads = resolve_n_threads(self.n_threads)
        run_least_squares(indptr, indices, values, self.item_factors_,
                          gram(self.item_factors_, self.reg), factors, self.alpha,
                          "cholesky", 1, backend=self.backend, n_threads=n_threads)
        return queries, factors

    def predict_new(self, ratings, items):
        """Scores of ``items`` for new users given only their interactions (no refit).

        ``ratings``: one ``{item id: value}`` dict (value 1 for a plain
        interaction) or a list of them; ``items``: the items to score (one
        array per user for a list). Each new user's factors are the exact
        least-squares solve with the item factors frozen.
        """
        single, queries, user, item, sizes = self._fold_in_request(ratings, items)
        _, factors = self._fold_in(ratings)
        scores = np.einsum("ij,ij->i", factors[user], self.item_factors_[item],
                           dtype=np.float64)
        return self._fold_in_result(scores, single, sizes)

    def recommend_new(self, ratings, n=10, *, exclude_seen=True, candidates=None):
        """Top-``n`` items for new users given only their interactions (see
        :meth:`predict_new`); their own items excluded unless ``exclude_seen=False``."""
        n = check_int("n", n, min_value=1)
        queries, factors = self._fold_in(ratings)
        scores = (factors @ self.item_factors_.T).astype(np.float64)
        return self._rank_new(scores, queries, n, exclude_seen, candidates)

    def similar_items(self, items, n=10):
        """The ``n`` items whose factors are closest in cosine to each item's, self excluded."""
        return similar_items(self, self.item_factors_, items, n)


def _check_values(data):
    """Refuse negative values (a confidence below 1); Interactions are never empty."""
    low = data.rating_range[0]
    if low < 0:
        raise ValueError(f"data contain the value {low}, must be >= 0: ALS's confidence "
                         "1 + alpha * r would fall below 1.")


def _remapped(csr, column_index, rows=None):
    """``csr`` (optionally only ``rows``) with its columns renumbered by ``column_index``,
    as a CSR of int64 indices with ascending columns in each row."""
    from .base import take_rows

    rows = np.arange(csr.shape[0]) if rows is None else rows
    indptr, indices, data = take_rows(csr.indptr, rows, csr.indices, csr.data)
    indices = column_index[indices].astype(np.int64)
    row_of = np.repeat(np.arange(len(rows)), np.diff(indptr))
    order = np.lexsort((indices, row_of))
    return _CSR(indptr, indices[order], np.ascontiguousarray(data[order]))


class _CSR:
    """The three arrays a sweep reads."""

    def __init__(self, indptr, indices, data):
        self.indptr, self.indices, self.data = indptr, indices, data


class _Sweeps:
    """The half-steps of :meth:`ALS.fit` in this process.

    ``start(by_user, by_item)`` once per fit; ``sweep(side, other, factors)``
    solves every row of ``factors`` (``side`` "user" or "item": the rows of
    ``by_user`` or ``by_item``) in place with ``other`` frozen.
    """

    def __init__(self, model, n_threads):
        self.model, self.n_threads = model, n_threads

    def start(self, by_user, by_item):
        self.rows = {"user": by_user, "item": by_item}

    def sweep(self, side, other, factors):
        self.model._sweep(self.rows[side], other, factors, self.model.solver, self.n_threads)
