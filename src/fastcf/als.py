r"""``ALS``: matrix factorization by alternating least squares, implicit or explicit.

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

With ``implicit=False`` the model is explicit-feedback ALS with
weighted-lambda regularisation (ALS-WR: Zhou, Wilkinson, Schreiber & Pan
2008; Spark MLlib's explicit ALS): the ratings :math:`r_{ui}` are centred on
their global mean :math:`\mu` and the factors minimise, over the rated cells
only,

.. math::

    \sum_{(u, i)\ \mathrm{rated}} (r_{ui} - \mu - x_u \cdot y_i)^2
    + \lambda \Big(\sum_u n_u \|x_u\|^2 + \sum_i n_i \|y_i\|^2\Big)

(:math:`n_u, n_i` the rows' rating counts), each half-step the exact solve
:math:`(\sum_i y_i y_i^T + \lambda n_u I)\, x_u = \sum_i (r_{ui} - \mu)
y_i` of every row (:func:`fastcf.kernels.dp_als.solve_in_chunks`, which
DPALS's exact steps use too).
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
from .kernels.als import (
    SOLVERS,
    chunk_bounds,
    explicit_loss,
    gram,
    implicit_loss,
    run_least_squares,
)
from .kernels.dp_als import solve_in_chunks
from .persist import Array, Schema

__all__ = ["ALS"]

#: Scale of the uniform initial factors (implicit's ``random(...) * 0.01``).
_INIT_SCALE = 0.01


class ALS(Recommender):
    """Implicit-feedback ALS (Hu, Koren & Volinsky 2008), or explicit ALS-WR (Zhou et al. 2008).

    Parameters
    ----------
    factors : int
        Latent dimensions.
    reg : float
        :math:`\\lambda >= 0`, on every factor (implicit's ``regularization``);
        explicit: :math:`\\lambda > 0`, scaled by each row's rating count
        (Spark's ``regParam``).
    alpha : float
        :math:`\\alpha > 0` of the confidence :math:`1 + \\alpha r`. (implicit
        0.7 multiplies the values by ``alpha`` and takes that product as the
        confidence: its ``alpha=a`` is this model's ``alpha=a - 1`` for
        a > 1.) Implicit only.
    iterations : int
        Alternations (a user sweep, then an item sweep).
    solver : {"cg", "cholesky"}
        ``"cg"``: ``cg_steps`` steps of conjugate gradient per row, warm
        started from the current factors (implicit's default); ``"cholesky"``:
        the exact solve of every row. Implicit only: explicit ALS always
        solves every row exactly (LU of its float64 system), as ALS-WR and
        Spark do.
    cg_steps : int
        Conjugate-gradient steps per row and sweep (implicit only).
    dtype : {numpy.float32, numpy.float64}
        Of the factors and of the arithmetic of the solves (explicit: the
        sums and solves are float64 whatever the factors' dtype).
    seed : int or None
        Of the initial factors (implicit: uniform in ``[0, 0.01)``, as in
        implicit; explicit: normal draws divided by :math:`\\sqrt{k}`, rows
        of norm about 1, as Spark). None: fresh entropy at every fit.
    n_threads : int or None
        Threads of the sweeps (and of their BLAS products) and of ``recommend``.
    backend : {"auto", "numba", "cython", "reference"}
    verbose : bool
        A progress bar over the iterations.
    implicit : bool
        True: implicit-feedback ALS (above). False: explicit ALS-WR (module
        docstring); the data must hold ratings.

    Attributes
    ----------
    user_factors_, item_factors_ : ndarray, shape (n_users | n_items, factors)
    item_popularity_ : ndarray, shape (n_items,)
        Interactions per item in the training data (``dtype``): the ranking of
        users unknown to the model (implicit).
    global_mean_ : float
        :math:`\\mu`, the mean training rating (explicit; implicit: 0).
    rating_range_ : ndarray, shape (2,)
        The training ratings' (min, max): explicit predictions are clipped to
        it (``partial_fit`` widens it, as MatrixFactorization's).
    history_ : list of dict
        Per iteration: ``epoch``, ``seconds``, and ``loss`` when ``fit(...,
        compute_loss=True)``: implicit's ``calculate_loss`` (the objective
        above divided by the sum of the confidences of all cells); explicit,
        the ALS-WR objective divided by the number of ratings.

    Notes
    -----
    Implicit: ``predict`` returns the ranking score :math:`x_u \\cdot y_i`,
    not a rating (``predicts_ratings`` is False). An unknown user scores an
    item by its popularity (``item_popularity_``); an unknown item scores 0.

    Explicit: ``predict`` returns :math:`\\mu + x_u \\cdot y_i` clipped to
    ``rating_range_`` (``predicts_ratings`` is True); a pair with an unknown
    user or item gets :math:`\\mu`, as MatrixFactorization without biases.
    ``recommend`` ranks by :math:`\\mu + x_u \\cdot y_i` unclipped (an unknown
    user: every item :math:`\\mu`, ties in item order).
    """

    _state_schema = Schema({
        "user_factors_": Array("f", ("n_users", "factors"), dtype_param="dtype"),
        "item_factors_": Array("f", ("n_items", "factors"), dtype_param="dtype"),
        "item_popularity_": Array("f", ("n_items",), dtype_param="dtype"),
        "global_mean_": Array("f"),
        "rating_range_": Array("f", (2,)),
        "partial_fits_": Array("i"),
    }, defaults={  # files of the implicit-only ALS (never read there); explicit needs both
        "global_mean_": lambda model: np.float64(0.0) if model.implicit else None,
        "rating_range_": lambda model: np.zeros(2) if model.implicit else None,
    })

    def __init__(self, factors=100, reg=0.01, alpha=1.0, iterations=15, solver="cg",
                 cg_steps=3, dtype=np.float32, seed=None, n_threads=None, backend="auto",
                 verbose=False, implicit=True):
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
        self.implicit = implicit

    @property
    def predicts_ratings(self):
        """Explicit ALS estimates ratings; implicit ALS's scores rank."""
        return not self.implicit

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
        check_bool("implicit", self.implicit)
        if not self.implicit and self.reg == 0:
            raise ValueError("reg == 0.0 with implicit=False, must be > 0 (the lambda n_u I of "
                             "ALS-WR keeps every row's system regular).")

    # ------------------------------------------------------------------- fit
    def fit(self, data, *, callbacks=(), compute_loss=False):
        """Train on ``data``; returns ``self``.

        Parameters
        ----------
        data : Interactions
            Implicit: with ratings (the values weigh the confidence) or
            without (every interaction counts 1); values must be >= 0.
            Explicit: with ratings (any finite values).
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
        check_data(data, self.implicit, "ALS(implicit=False)")
        dtype = np.dtype(self.dtype)
        self._check_memory(data.n_users, data.n_items, dtype, self.factors)
        rng = np.random.default_rng(self.seed)
        shape = {"user": (data.n_users, self.factors), "item": (data.n_items, self.factors)}
        if self.implicit:
            self.user_factors_, self.item_factors_ = (
                rng.random(shape[side], dtype=dtype) * dtype.type(_INIT_SCALE)
                for side in ("user", "item"))
        else:
            self.user_factors_, self.item_factors_ = (
                (rng.standard_normal(shape[side]) / np.sqrt(self.factors)).astype(dtype)
                for side in ("user", "item"))
        self.item_popularity_ = np.diff(data.by_item.indptr).astype(dtype)
        self.global_mean_ = np.float64(0.0 if self.implicit else data.global_mean)
        self.rating_range_ = np.array(data.rating_range, dtype=np.float64)
        self.partial_fits_ = np.int64(0)
        self.history_ = []
        by_user, by_item = self._rows(data.by_user), self._rows(data.by_item)
        n_threads = resolve_n_threads(self.n_threads)
        sweeps = self._sweeps or _Sweeps(self, n_threads)
        sweeps.start(by_user, by_item)

        def run_epoch(epoch):
            sweeps.sweep("user", self.item_factors_, self.user_factors_)
            sweeps.sweep("item", self.user_factors_, self.item_factors_)
            if not self._compute_loss:
                return Epoch(0.0, {})
            loss = implicit_loss(by_user.indptr, by_user.indices, by_user.data,
                                 self.user_factors_, self.item_factors_, self.reg, self.alpha) \
                if self.implicit else explicit_loss(by_user, by_item, self.user_factors_,
                                                    self.item_factors_, self.reg)
            return Epoch(loss, {"loss": loss})

        train_epochs(self, self.iterations, run_epoch, params=self._trained_arrays,
                     diverged=self._diverged, callbacks=self._callbacks or ())

    def _rows(self, csr):
        """What the sweeps read of a CSR: implicit, the CSR; explicit, int64 indices and
        the ratings centred on ``global_mean_`` in float64 (what the solves read)."""
        if self.implicit:
            return csr
        return _CSR(np.asarray(csr.indptr, np.int64), np.asarray(csr.indices, np.int64),
                    csr.data.astype(np.float64) - float(self.global_mean_))

    def _sweep(self, csr, other, factors, solver, n_threads):
        """Solve every row of ``factors`` from the rows of ``csr`` with ``other`` frozen."""
        self._solve_rows(csr, other, self._shared(other), factors, solver, n_threads)

    def _shared(self, other):
        """What every row's solve of a half-step shares, computed once: implicit
        ``YtY + reg I``; explicit nothing (None)."""
        return gram(other, self.reg) if self.implicit else None

    def _solve_rows(self, csr, other, shared, factors, solver, n_threads):
        """Solve the rows of ``factors`` (in place) from the rows of ``csr``, ``other`` frozen.

        Implicit: a row's result depends on its own entries, ``other`` and
        ``shared`` and on which rows share its chunk (:meth:`_split_points`),
        nothing else. Explicit (``csr`` from :meth:`_rows`, ``solver``
        ignored): on its own entries and ``other`` only; a row without
        entries gets 0.
        """
        if self.implicit:
            run_least_squares(csr.indptr, csr.indices, csr.data, other, shared, factors,
                              self.alpha, solver, self.cg_steps, backend=self.backend,
                              n_threads=n_threads)
            return
        # lambda n_u I; a row without entries solves (lambda I) x = 0
        reg = float(self.reg) * np.maximum(np.diff(csr.indptr), 1)
        solve_in_chunks(csr.indptr, csr.indices, np.ones(len(csr.indices)), csr.data, other,
                        reg, factors, backend=self.backend, n_threads=n_threads)

    def _split_points(self, indptr, n_blocks):
        """Row boundaries cutting ``indptr``'s rows into at most ``n_blocks`` blocks of
        about equal entries, each solved alone to the same bits (implicit: chunk
        boundaries; explicit: any row boundary)."""
        k, itemsize = self.factors, np.dtype(self.dtype).itemsize
        bounds = chunk_bounds(indptr, k * itemsize) if self.implicit else \
            np.arange(len(indptr), dtype=np.int64)
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
        return (f"ALS produced NaN or inf at iteration {epoch}; raise reg (reg == {self.reg})" +
                (f" or lower alpha (alpha == {self.alpha})." if self.implicit else "."))

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
        grow with ``data``. ``history_`` is left as it is. Explicit: the
        same steps with the explicit solve, on ``data``'s ratings centred on
        the fit's ``global_mean_`` (kept); ``rating_range_`` widens to
        ``data``'s.
        """
        self._check_is_fitted()
        if not isinstance(data, Interactions):
            raise TypeError(f"partial_fit expects an Interactions, got {type(data).__name__}.")
        iterations = check_int("iterations", iterations, min_value=1)
        check_data(data, self.implicit, "ALS(implicit=False)")
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
        low, high = data.rating_range
        self.rating_range_ = np.array([min(self.rating_range_[0], low),
                                       max(self.rating_range_[1], high)])
        by_user = data.by_user
        self._add_seen(np.repeat(user_index, np.diff(by_user.indptr)),
                       item_index[by_user.indices])
        self.partial_fits_ = np.int64(int(self.partial_fits_) + 1)
        n_threads = resolve_n_threads(self.n_threads)
        user_rows = self._rows(_remapped(by_user, item_index))
        item_rows = self._rows(_remapped(data.by_item, user_index,
                                         rows=np.flatnonzero(new_items)))
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
        """(user vectors, item vectors, user offsets, None, fallback): implicit, score =
        x_u . y_i and the item popularity for unknown users; explicit, mu + x_u . y_i
        and mu."""
        if self.implicit:
            return self.user_factors_, self.item_factors_, None, None, self.item_popularity_
        dtype, mean = self.item_factors_.dtype, float(self.global_mean_)
        return (self.user_factors_, self.item_factors_, np.full(self.n_users_, mean, dtype),
                None, np.full(self.n_items_, mean, dtype))

    def _predict_internal(self, users, items):
        known_user, known_item = users >= 0, items >= 0
        scores = np.full(len(users), float(self.global_mean_))
        if self.implicit:
            fallback = ~known_user & known_item
            scores[fallback] = self.item_popularity_[items[fallback]]
        where = np.flatnonzero(known_user & known_item)
        for start in range(0, len(where), PREDICT_CHUNK):
            chunk = where[start:start + PREDICT_CHUNK]
            dots = np.einsum("ij,ij->i", self.user_factors_[users[chunk]],
                             self.item_factors_[items[chunk]], dtype=np.float64)
            scores[chunk] = dots if self.implicit else dots + scores[chunk]
        return scores if self.implicit else self._clipped(scores)

    def _clipped(self, estimates):
        return np.clip(estimates, self.rating_range_[0], self.rating_range_[1], out=estimates)

    def _score_block(self, users, out=None, setup=None):
        user_vectors, item_vectors, user_offset, _, fallback = self._ranking_factors()
        scores = np.empty((len(users), self.n_items_)) if out is None else out
        known = users >= 0
        scores[~known] = fallback
        if known.any():
            rows = users[known]
            block = user_vectors[rows] @ item_vectors.T
            scores[known] = block if user_offset is None else block + user_offset[rows, None]
        return scores

    # ------------------------------------------------------------- fold-in
    def _fold_in(self, ratings):
        """(queries, factors) of new users: the exact half-step with the items frozen
        (implicit's ``recalculate_user``)."""
        self._check_is_fitted()
        queries = self._fold_in_csr(ratings)
        indptr, indices, values = queries
        if self.implicit and values.min() < 0:
            raise ValueError(f"ratings contain {values.min()}, must be >= 0 (the confidence "
                             "1 + alpha * r would fall below 1).")
        factors = np.zeros((len(indptr) - 1, self.user_factors_.shape[1]),
                           self.user_factors_.dtype)
        self._sweep(self._rows(_CSR(indptr, indices, values)), self.item_factors_, factors,
                    "cholesky", resolve_n_threads(self.n_threads))
        return queries, factors

    def predict_new(self, ratings, items):
        """Scores of ``items`` for new users given only their interactions (no refit).

        ``ratings``: one ``{item id: value}`` dict (value 1 for a plain
        interaction) or a list of them; ``items``: the items to score (one
        array per user for a list). Each new user's factors are the exact
        least-squares solve with the item factors frozen (explicit: of the
        ratings centred on ``global_mean_``; the scores are then
        :math:`\\mu + x \\cdot y_i` clipped to ``rating_range_``).
        """
        single, queries, user, item, sizes = self._fold_in_request(ratings, items)
        _, factors = self._fold_in(ratings)
        scores = np.einsum("ij,ij->i", factors[user], self.item_factors_[item],
                           dtype=np.float64)
        if not self.implicit:
            scores = self._clipped(scores + float(self.global_mean_))
        return self._fold_in_result(scores, single, sizes)

    def recommend_new(self, ratings, n=10, *, exclude_seen=True, candidates=None):
        """Top-``n`` items for new users given only their interactions (see
        :meth:`predict_new`); their own items excluded unless ``exclude_seen=False``."""
        n = check_int("n", n, min_value=1)
        queries, factors = self._fold_in(ratings)
        scores = (factors @ self.item_factors_.T).astype(np.float64)
        if not self.implicit:
            scores += float(self.global_mean_)
        return self._rank_new(scores, queries, n, exclude_seen, candidates)

    def similar_items(self, items, n=10):
        """The ``n`` items whose factors are closest in cosine to each item's, self excluded."""
        return similar_items(self, self.item_factors_, items, n)


def check_data(data, implicit, model):
    """Refuse, for implicit ALS, negative values (a confidence below 1); for explicit
    ALS (``model`` names it in the message), data without ratings. Interactions are
    never empty."""
    if not implicit:
        if data.implicit:
            raise ValueError(f"{model} needs explicit ratings; this data is implicit (use "
                             "implicit=True).")
        return
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
