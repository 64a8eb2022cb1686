r"""``NMF``: non-negative matrix factorization by multiplicative updates (Surprise's ``NMF``).

.. math:: \hat r_{ui} = p_u \cdot q_i \quad (\text{biased: } \mu + b_u + b_i + p_u \cdot q_i)

with :math:`p_u, q_i \ge 0`, trained as Luo et al. (2014) propose and Surprise
implements: each epoch estimates every rating from the factors of the epoch's
start, then multiplies every factor by the ratio of its sums (see
:func:`fastcf.kernels.nmf_epoch`); the biased variant moves :math:`b_u, b_i`
by SGD during that pass over the ratings.
"""

import numpy as np

from ._config import NMF_WORK_PER_THREAD
from ._factors import similar_items
from ._parallel import resolve_n_threads, threads_for_work
from ._surprise import surprise_order, surprise_rng
from ._training import Epoch, train_epochs
from ._validation import check_bool, check_float, check_int, check_memory
from .base import Recommender
from .kernels._registry import check_backend
from .kernels.nmf import nmf_work, run_nmf_epoch
from .mf import MatrixFactorization
from .persist import Array, Schema

__all__ = ["NMF"]

_REG_NAMES = ("reg_pu", "reg_qi", "reg_bu", "reg_bi")


class NMF(Recommender):
    """Non-negative matrix factorization (Surprise's ``NMF``), optionally biased.

    Parameters
    ----------
    factors : int
        Latent dimensions (Surprise: 15).
    epochs : int
        Multiplicative-update epochs (Surprise: 50).
    biased : bool
        Add :math:`\\mu + b_u + b_i`, the biases trained by SGD (Surprise notes this
        variant overfits easily: fewer factors or more regularisation help).
    reg_pu, reg_qi : float
        Regularisation of the user and item factors (Surprise: 0.06).
    reg_bu, reg_bi, lr_bu, lr_bi : float
        Regularisation and learning rates of the biases (Surprise: 0.02, 0.005).
    init_low, init_high : float
        Factors start as uniform draws in ``[init_low, init_high)``; ``init_low``
        must be >= 0 to keep them non-negative (Surprise: 0, 1).
    clip : bool
        Clip predictions to the training ratings' range.
    verbose : bool
        A progress bar over the epochs.
    surprise_compat : bool
        True: Surprise's predictions for ``seed`` == its ``random_state``: the
        initial factors drawn with ``numpy.random.RandomState(seed)`` in Surprise's
        inner-id order, the biases updated in ``trainset.all_ratings()`` order and
        every sum added in Surprise's order. False (fastcf's mode): the factors
        drawn from ``numpy.random.default_rng(seed)`` in fastcf's index order,
        the ratings visited by user index, each user's by item index. Both are
        float64, parallel where it does not change the result, and give the
        same model whatever ``n_threads``.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        Threads of the per-user and per-item sums (at most one per
        ``_config.NMF_WORK_PER_THREAD`` ratings x factors: small epochs run on
        one) and of ``recommend``.
    seed : int

    Attributes
    ----------
    history_ : list of dict
        Per epoch: ``epoch``, ``train_rmse`` (of the epoch's estimates),
        ``seconds``.

    Notes
    -----
    Unknown ids fall back as in Surprise: unbiased, a pair with an unknown user
    or item gets the global mean; biased, an unknown user has no :math:`b_u` and
    no factor term, likewise an unknown item. A user (item) without ratings
    keeps its initial factors. ``recommend`` ranks by :math:`\\hat r_{ui}`
    unclipped (an unknown user: by :math:`\\mu + b_i`, unbiased by nothing: the
    lower index first).
    """

    _state_schema = Schema({
        "global_mean_": Array("f"),
        "user_bias_": Array("f", ("n_users",)),
        "item_bias_": Array("f", ("n_items",)),
        "user_factors_": Array("f", ("n_users", "factors")),
        "item_factors_": Array("f", ("n_items", "factors")),
        "rating_range_": Array("f", (2,)),
    })

    def __init__(self, factors=15, epochs=50, biased=False, reg_pu=0.06, reg_qi=0.06,
                 reg_bu=0.02, reg_bi=0.02, lr_bu=0.005, lr_bi=0.005, init_low=0.0,
                 init_high=1.0, clip=True, verbose=False, surprise_compat=False,
                 backend="auto", n_threads=None, seed=0):
        self.factors = factors
        self.epochs = epochs
        self.biased = biased
        self.reg_pu = reg_pu
        self.reg_qi = reg_qi
        self.reg_bu = reg_bu
        self.reg_bi = reg_bi
        self.lr_bu = lr_bu
        self.lr_bi = lr_bi
        self.init_low = init_low
        self.init_high = init_high
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
        for name in _REG_NAMES + ("lr_bu", "lr_bi"):
            check_float(name, getattr(self, name), min_value=0.0)
        # Surprise refuses a negative init_low too: negative factors would break
        # the multiplicative updates' guarantee of non-negativity.
        low = check_float("init_low", self.init_low, min_value=0.0)
        high = check_float("init_high", self.init_high)
        if high < low:
            raise ValueError(f"init_high == {high} is below init_low == {low}; it must be "
                             ">= init_low.")
        for name in ("biased", "clip", "verbose", "surprise_compat"):
            check_bool(name, getattr(self, name))
        check_int("seed", self.seed, min_value=0)
        check_backend(self.backend)
        resolve_n_threads(self.n_threads)

    # ------------------------------------------------------------------- fit
    def _fit(self, data):
        if data.implicit:
            raise ValueError("NMF needs explicit ratings; this data is implicit.")
        n_users, n_items, k = data.n_users, data.n_items, self.factors
        # the factor matrices and the epoch's two sums of each, in float64; per rating its
        # estimate and (Surprise's order) a reordered copy of the ratings and their indices
        check_memory(3 * 8 * k * (n_users + n_items) + 40 * data.nnz, "the factor matrices",
                     factors=k)
        layout = _surprise_layout(data) if self.surprise_compat else _fastcf_layout(data)
        (indptr, indices, ratings, item_indptr, item_users, item_entries, user_order,
         user_rank, item_rank, mean) = layout
        rng = surprise_rng(self.seed) if self.surprise_compat else np.random.default_rng(
            self.seed)
        # drawn in the visiting order's numbering (Surprise's inner ids), kept by index
        self.user_factors_ = rng.uniform(self.init_low, self.init_high, (n_users, k))[user_rank]
        self.item_factors_ = rng.uniform(self.init_low, self.init_high, (n_items, k))[item_rank]
        self.user_bias_, self.item_bias_ = np.zeros(n_users), np.zeros(n_items)
        self.global_mean_ = np.float64(mean)
        self.rating_range_ = np.array(data.rating_range, dtype=np.float64)
        mu = float(mean) if self.biased else 0.0
        work = nmf_work(data.nnz, n_users, n_items, k)
        n_threads = threads_for_work(self.n_threads, data.nnz * k, NMF_WORK_PER_THREAD)

        def run_epoch(epoch):
            loss = run_nmf_epoch(
                indptr, indices, ratings, item_indptr, item_users, item_entries, user_order,
                self.user_factors_, self.item_factors_, self.user_bias_, self.item_bias_, mu,
                float(self.reg_pu), float(self.reg_qi), float(self.reg_bu),
                float(self.reg_bi), float(self.lr_bu), float(self.lr_bi), self.biased,
                work=work, backend=self.backend, n_threads=n_threads)
            return Epoch(loss, {"train_rmse": float(np.sqrt(loss / max(data.nnz, 1)))})

        self.history_ = []
        train_epochs(self, self.epochs, run_epoch, params=self._trained_arrays,
                     diverged=self._diverged)

    def _trained_arrays(self):
        return {"user_bias_": self.user_bias_, "item_bias_": self.item_bias_,
                "user_factors_": self.user_factors_, "item_factors_": self.item_factors_}

    def _diverged(self, epoch):
        return (f"NMF diverged at epoch {epoch}: the loss or the factors became NaN/inf "
                "(a factor whose sums are both 0, e.g. ratings of 0 with reg_pu == 0, "
                "divides 0 by 0); raise reg_pu / reg_qi or lower lr_bu / lr_bi.")

    # --------------------------------------------------------------- predict
    # The estimate of a biased MF with these attribute names is Surprise's NMF
    # estimate too (unknown ids drop their terms; unbiased: the global mean).
    _estimate = MatrixFactorization._estimate
    _predict_internal = MatrixFactorization._predict_internal
    _ranking_factors = MatrixFactorization._ranking_factors
    _score_setup = MatrixFactorization._score_setup
    _score_block = MatrixFactorization._score_block

    # ------------------------------------------------------------- fold-in
    def _fold_in_factors(self, queries, epochs):
        r"""(bias, factors) of new users from their ratings, the item side frozen.

        Each new user starts with every factor at :math:`(l + h) / 2` (the middle of
        the initial draws) and :math:`b = 0`, then runs ``epochs`` user halves of
        the training epoch: the biased variant's :math:`b` by SGD over the
        ratings (by item index), then

        .. math:: p_f \leftarrow p_f \frac{\sum_i q_{if} r_i}
            {\sum_i q_{if} \hat r_i + n \lambda_u p_f}
        """
        q_indptr, q_indices, q_data = queries
        n_new, k = len(q_indptr) - 1, self.factors
        mu = float(self.global_mean_) if self.biased else 0.0
        biases = np.zeros(n_new)
        factors = np.full((n_new, k), (self.init_low + self.init_high) / 2.0)
        for r in range(n_new):
            cols = q_indices[q_indptr[r]:q_indptr[r + 1]]
            y = q_data[q_indptr[r]:q_indptr[r + 1]].astype(np.float64)
            q, b_items = self.item_factors_[cols], self.item_bias_[cols]
            p, bias = factors[r], 0.0
            for _ in range(epochs):
                dots = q @ p
                est = np.empty(len(cols))
                for j in range(len(cols)):
                    est[j] = mu + bias + b_items[j] + dots[j] if self.biased else dots[j]
                    if self.biased:
                        err = y[j] - est[j]
                        bias += self.lr_bu * (err - self.reg_bu * bias)
                den = est @ q + len(cols) * self.reg_pu * p
                p = np.where(p != 0.0, p * np.divide(y @ q, den, out=np.zeros(k),
                                                     where=den != 0.0), 0.0)
            biases[r], factors[r] = bias, p
        return biases, factors

    def _check_epochs(self, epochs):
        return self.epochs if epochs is None else check_int("epochs", epochs, min_value=1)

    _new_scores = MatrixFactorization._new_scores

    def predict_new(self, ratings, items, *, epochs=None):
        """Predict items for new users given only their ratings (fold-in, no refit).

        ``ratings``: one ``{item id: rating}`` dict or a list of them; ``items``:
        the items to predict (one array per user for a list). Each new user's
        factors (and bias) come from ``epochs`` (default: the model's)
        multiplicative updates with the items frozen (see
        :meth:`_fold_in_factors`).
        """
        single, queries, user, item, sizes = self._fold_in_request(ratings, items)
        biases, factors = self._fold_in_factors(queries, self._check_epochs(epochs))
        est = self._new_scores(biases, factors, user, item)
        if self.clip:
            np.clip(est, self.rating_range_[0], self.rating_range_[1], out=est)
        return self._fold_in_result(est, single, sizes)

    def recommend_new(self, ratings, n=10, *, exclude_seen=True, candidates=None,
                      epochs=None):
        """Top-``n`` items for new users given only their ratings (fold-in, no refit)."""
        self._check_is_fitted()
        n = check_int("n", n, min_value=1)
        epochs = self._check_epochs(epochs)
        queries = self._fold_in_csr(ratings)
        biases, factors = self._fold_in_factors(queries, epochs)
        scores = factors @ self.item_factors_.T
        if self.biased:
            scores += (float(self.global_mean_) + biases)[:, None] + self.item_bias_[None, :]
        return self._rank_new(scores, queries, n, exclude_seen, candidates)

    def similar_items(self, items, n=10):
        """The ``n`` items whose factors are closest in cosine to each item's, self excluded."""
        return similar_items(self, self.item_factors_, items, n)


def _fastcf_layout(data):
    """The epoch's arrays in fastcf's order: users by index, each user's items by index."""
    by_user, by_item = data.by_user, data.by_item
    dtype = by_user.indptr.dtype
    identity = np.arange(data.n_users, dtype=dtype)
    return (by_user.indptr, by_user.indices, by_user.data.astype(np.float64), by_item.indptr,
            by_item.indices, data.item_order.astype(dtype), identity,
            np.arange(data.n_users), np.arange(data.n_items), data.global_mean)


def _surprise_layout(data):
    """The epoch's arrays in Surprise's order: users by inner id, each user's ratings
    in load order, each item's by its users' inner ids; the draws' rows by inner id;
    the global mean as ``trainset.global_mean`` adds it up."""
    order = surprise_order(data)
    by_user, by_item = data.by_user, data.by_item
    dtype = by_user.indptr.dtype
    entries = order.user_entries
    position = np.empty(data.nnz, dtype=np.int64)  # of each by_user entry in `entries`
    position[entries] = np.arange(data.nnz)
    item_of = np.repeat(np.arange(data.n_items), np.diff(by_item.indptr))
    by_rank = np.lexsort((order.user_inner[by_item.indices], item_of))
    ratings = by_user.data.astype(np.float64)
    return (by_user.indptr, by_user.indices[entries], ratings[entries], by_item.indptr,
            by_item.indices[by_rank], position[data.item_order[by_rank]].astype(dtype),
            order.inner_users.astype(dtype), order.user_inner, order.item_inner,
            float(np.mean(ratings[order.all_ratings])))
