r"""``DPALS``: alternating least squares with user-level differential privacy.

Chien, Jain, Krichene, Rendle, Song, Thakurta & Zhang (ICML 2021), "Private
Alternating Least Squares", in the billboard (joint-DP) model of Jain, Thakkar
& Thakurta (2018): exact user steps, item steps from noisy sufficient
statistics (:mod:`fastcf.kernels.dp_als`); the class docstring states the
guarantee and the sensitivities.
"""

import math

import numpy as np

from .._parallel import resolve_n_threads
from .._training import Epoch, train_epochs
from .._validation import check_bool, check_float, check_int, check_memory, check_value_dtype
from ..als import check_data
from ..base import Recommender
from ..kernels._registry import check_backend
from ..kernels.als import gram, run_least_squares
from ..kernels.dp_als import (
    add_noise,
    project_rows,
    solve_in_chunks,
    symmetric_noise,
)
from ..persist import Array, Schema
from ._accounting import calibrate_noise, privacy_report
from ._base import (
    PRIVACY_REPORT_FIELD,
    PrivateModel,
    cap_per_user,
    check_rating_range,
    clip_ratings,
)

__all__ = ["DPALS"]

#: Explicit ratings: the item step releases (G / Delta_G, w b / Delta_b) as one Gaussian
#: mechanism of L2 sensitivity sqrt(1 + w^2), so the right-hand sides get 1 / w of the
#: Gram matrices' relative noise. The rhs noise costs more accuracy (60k users x 8k
#: items, epsilon 5, RDP, 5 iterations, 10 factors, the biases then inside the factor
#: releases: RMSE 0.9345 with w = 1 and 0.9325 with w = 2 at factor_bound 1.5; 0.9246
#: with w = 2 and 0.9293 with w = 3 at factor_bound 1.2).
_RHS_WEIGHT = 2.0
#: Scale of the uniform initial factors of implicit ALS (fastcf.ALS's).
_INIT_SCALE = 0.01


class DPALS(PrivateModel, Recommender):
    r"""ALS with user-level differential privacy on the item side (Chien et al. 2021).

    Explicit ratings (default): ratings are clipped into ``rating_range`` and
    centred on its midpoint :math:`m` (data-independent), and the model is

    .. math:: \hat r_{ui} = m + c_u + b_i + x_u \cdot y_i,

    clipped into ``rating_range``. The fit makes ``iterations + 1`` private
    releases of item statistics. First the item biases alone: the user step
    solves each :math:`c_u` (no factors), the item step each :math:`b_i`
    from the counts :math:`\sum_u 1` and sums :math:`\sum_u t_{ui}`,
    :math:`t_{ui} = r_{ui} - m - c_u`. A 1 x 1 release carries far less
    noise than the bias coordinate of a :math:`(k+1) \times (k+1)` one
    (60k users, epsilon 5: RMSE 0.9154 against 0.9217 with the biases in the
    factor releases, augmented vectors). Then every iteration: the user step
    solves :math:`[x_u, c_u]` against :math:`[y_i, 1]` and targets
    :math:`r_{ui} - m - b_i`, the item step each :math:`y_i` against the
    :math:`x_u` and targets :math:`r_{ui} - m - c_u - b_i`, the released
    :math:`b_i` held (ridge ``reg`` on every coordinate).

    Privacy (explicit): per user at most ``max_ratings`` ratings (a seeded
    uniform sample) enter the item statistics; :math:`x_u` is projected onto
    the ball of radius :math:`B` (``factor_bound``); each target is clipped to
    :math:`[-R, R]`, :math:`R` = half the range's width. One user then moves
    a factor release's Gram matrices :math:`\sum_u x_u x_u^T` (their upper
    triangles, all items together) by at most :math:`\Delta_G = \sqrt{M} B^2`
    in L2 norm and its right-hand sides :math:`\sum_u t_{ui} x_u` by at most
    :math:`\Delta_b = \sqrt{M} B R` (:math:`M` = ``max_ratings``); the bias
    release's counts by :math:`\sqrt M` and sums by :math:`\sqrt{M} R`.
    Each release is one Gaussian mechanism on :math:`(G / \Delta_G, 2 b /
    \Delta_b)`, of L2 sensitivity :math:`\sqrt 5`: noise of standard
    deviation :math:`\sigma_G = \sqrt{5}\, z \Delta_G` on every
    upper-triangle entry (mirrored) and :math:`\sigma_b = (\sqrt{5} / 2)\, z
    \Delta_b` on every right-hand side entry (the right-hand sides' noise
    costs more accuracy, see ``_RHS_WEIGHT``); :math:`z` is
    ``calibrate_noise(epsilon, delta, steps=iterations + 1)``, so the releases
    together are :math:`(\varepsilon, \delta)`-DP for the addition or
    removal of one user (dp-accounting's RDP or PLD accountant). Assumed
    public, as in the literature: the item catalogue and the number of users
    (the default delta). The user
    steps use no noise: a user's factors and bias depend on their own data
    and the released items only, and are shown to that user alone.

    Implicit feedback (``implicit=True``): the objective of
    :class:`fastcf.ALS` (confidence :math:`1 + \alpha v`, preference 1), values
    clipped to :math:`[0, V]`, :math:`V` the high end of ``rating_range``.
    Each item step releases the shared :math:`X^T X` (sensitivity :math:`B^2`),
    the per-item :math:`\sum_u \alpha v_{ui} x_u x_u^T` (sensitivity
    :math:`\sqrt{M} \alpha V B^2`) and :math:`\sum_u (1 + \alpha v_{ui}) x_u`
    (:math:`\sqrt{M} (1 + \alpha V) B`), :math:`\|x_u\| \le B`, each with
    noise :math:`\sqrt{3}\, z` times its sensitivity. An unknown user scores
    every item 0 (the item popularity would not be private).

    The noisy statistics are solved by post-processing that needs no more
    privacy: the Gram matrix's eigenvalues clipped at 0
    (``clip_eigenvalues=True``, the nearest positive semi-definite matrix),
    then :math:`\lambda + \nu \cdot 2 \sigma \sqrt{d}` added to the diagonal,
    :math:`2 \sigma \sqrt d` the edge of the noise matrix's spectrum
    (:math:`d \times d`, entries of std :math:`\sigma`) and :math:`\nu` =
    ``noise_reg``: items whose statistics are mostly noise shrink to 0 (explicit:
    to :math:`m + c_u`). Measured RMSE, 60k users, epsilon 5: clipping and
    the shift 0.935, the shift alone 1.000; ML-100K, epsilon 5: clipping
    alone 2.18 (the noise of the right-hand sides, barely damped); all with
    the biases in the factor releases.

    With ``epsilon=np.inf`` there is no noise, no clipping and no cap, and no
    final user re-solve: the fit is the non-private ALS (``implicit=True``:
    :class:`fastcf.ALS` with ``solver="cholesky"``, bit for bit).

    Parameters
    ----------
    factors : int
    reg : float
        :math:`\lambda > 0` of every ridge solve.
    iterations : int
        Alternations; each is one private release (``steps`` of the accountant;
        explicit ratings add one, the item biases').
    epsilon : float
        > 0, or ``np.inf`` for no privacy.
    delta : float or None
        In (0, 1 / n_users); None: ``n_users ** -1.1``.
    unit : {"user"}
    rating_range : (float, float)
        Required: the rating scale (low < high). Implicit: values are clipped
        into ``[0, high]``.
    max_ratings : int >= 1
        Ratings per user in the item statistics (a seeded uniform sample).
    factor_bound : float
        :math:`B > 0`.
    implicit : bool
        Implicit-feedback ALS (:class:`fastcf.ALS`'s objective).
    alpha : float
        Confidence weight (``implicit=True``).
    clip_eigenvalues : bool
        Project the noisy Gram matrices onto the positive semi-definite cone.
    noise_reg : float >= 0
        :math:`\nu`: the item step's extra ridge in units of the noise's
        spectral edge (private fits only).
    accountant : {"rdp", "pld"}
    dtype : {numpy.float32, numpy.float64}
    seed : int or None
        Of the initial factors, the per-user sample and the noise. A private
        fit with a seed is private only while the seed is secret
        (``privacy_report_["seeded"]``); None (the default): fresh entropy.
    n_threads : int or None
        The result does not depend on it.
    backend : {"auto", "numba", "cython", "reference"}
    verbose : bool

    Attributes
    ----------
    user_factors_, item_factors_ : ndarray, shape (n_users | n_items, factors)
    user_bias_, item_bias_ : ndarray, shape (n_users | n_items,)
        Explicit ratings (zeros for implicit).
    privacy_report_ : dict
        The guarantee (see :func:`fastcf.privacy._accounting.privacy_report`),
        with the bounds, the sensitivity formula and the noise standard
        deviations.
    """

    _state_schema = Schema({
        "user_factors_": Array("f", ("n_users", "factors"), dtype_param="dtype"),
        "item_factors_": Array("f", ("n_items", "factors"), dtype_param="dtype"),
        "user_bias_": Array("f", ("n_users",), dtype_param="dtype"),
        "item_bias_": Array("f", ("n_items",), dtype_param="dtype"),
        "item_fallback_": Array("f", ("n_items",), dtype_param="dtype"),
        "centre_": Array("f"),
        "rating_range_": Array("f", (2,)),
        "privacy_report_": PRIVACY_REPORT_FIELD,
    })

    def __init__(self, factors=10, reg=5.0, iterations=4, epsilon=1.0, delta=None, unit="user",
                 rating_range=None, max_ratings=64, factor_bound=1.0, implicit=False,
                 alpha=1.0, clip_eigenvalues=True, noise_reg=1.5, accountant="rdp",
                 dtype=np.float64, seed=None, n_threads=None, backend="auto", verbose=False):
        self.factors = factors
        self.reg = reg
        self.iterations = iterations
        self.epsilon = epsilon
        self.delta = delta
        self.unit = unit
        self.rating_range = rating_range
        self.max_ratings = max_ratings
        self.factor_bound = factor_bound
        self.implicit = implicit
        self.alpha = alpha
        self.clip_eigenvalues = clip_eigenvalues
        self.noise_reg = noise_reg
        self.accountant = accountant
        self.dtype = dtype
        self.seed = seed
        self.n_threads = n_threads
        self.backend = backend
        self.verbose = verbose

    @property
    def predicts_ratings(self):
        """Explicit ratings only (implicit scores rank, as :class:`fastcf.ALS`'s)."""
        return not self.implicit

    def _check_params(self):
        check_int("factors", self.factors, min_value=1)
        check_float("reg", self.reg, min_value=0.0, min_inclusive=False)
        check_int("iterations", self.iterations, min_value=1)
        check_bool("implicit", self.implicit)
        self._check_privacy_params()
        if self.max_ratings is None:
            raise ValueError("max_ratings is None; DPALS needs a per-user bound on the ratings "
                             "in the item statistics (its sensitivity grows with it), e.g. 64.")
        bound = check_float("factor_bound", self.factor_bound, min_value=0.0,
                            min_inclusive=False)
        if not math.isfinite(bound):
            raise ValueError(f"factor_bound == {bound}, must be finite.")
        check_float("alpha", self.alpha, min_value=0.0, min_inclusive=False)
        if self.implicit and check_rating_range(self.rating_range)[1] <= 0:
            raise ValueError(f"rating_range == {tuple(self.rating_range)}: implicit=True clips "
                             "values into [0, high], high must be > 0.")
        check_bool("clip_eigenvalues", self.clip_eigenvalues)
        check_float("noise_reg", self.noise_reg, min_value=0.0)
        check_value_dtype(self.dtype)
        if self.seed is not None:
            check_int("seed", self.seed, min_value=0)
        resolve_n_threads(self.n_threads)
        check_backend(self.backend)
        check_bool("verbose", self.verbose)

    # ------------------------------------------------------------------- fit
    def _fit(self, data):
        check_data(data, self.implicit, "DPALS")
        epsilon, delta = self._privacy_budget(data.n_users)
        private = not math.isinf(epsilon)
        steps = self.iterations + (0 if self.implicit else 1)
        z = calibrate_noise(epsilon, delta, steps=steps, accountant=self.accountant)
        dtype, k = np.dtype(self.dtype), self.factors
        check_memory(k * (data.n_users + data.n_items + k) * dtype.itemsize,
                     "the factor matrices", factors=k)
        low, high = check_rating_range(self.rating_range)
        self.rating_range_ = np.array([low, high])
        self.centre_ = np.float64(0.0 if self.implicit else (low + high) / 2)
        rng = np.random.default_rng(self.seed)
        n_threads = resolve_n_threads(self.n_threads)
        if self.implicit:  # fastcf.ALS's draws, in its order
            self.user_factors_ = rng.random((data.n_users, k), dtype=dtype) * \
                dtype.type(_INIT_SCALE)
            self.item_factors_ = rng.random((data.n_items, k), dtype=dtype) * \
                dtype.type(_INIT_SCALE)
        else:
            self.user_factors_ = np.zeros((data.n_users, k), dtype)
            self.item_factors_ = (rng.standard_normal((data.n_items, k)) / math.sqrt(k)) \
                .astype(dtype)
        self.user_bias_ = np.zeros(data.n_users, dtype)
        self.item_bias_ = np.zeros(data.n_items, dtype)
        by_user = data.by_user
        values = self._values(by_user.data, private)
        if private:
            item_csr = _by_item(by_user.indptr, by_user.indices, values, data.n_items,
                                self.max_ratings, rng)
        else:  # every rating, in the order fastcf.ALS's item sweep reads them
            by_item = data.by_item
            item_csr = (by_item.indptr, by_item.indices, self._values(by_item.data, False))
        sigmas = self._noise_stds(z)
        self.history_ = []
        if not self.implicit:  # the first release: the item biases alone (d = 1)
            self._user_step(by_user.indptr, by_user.indices, values, n_threads, factors=False)
            self._item_step(item_csr, private, sigmas, rng, n_threads, bias=True)

        def run_epoch(epoch):
            self._user_step(by_user.indptr, by_user.indices, values, n_threads)
            self._item_step(item_csr, private, sigmas, rng, n_threads)
            return Epoch(0.0, {})

        train_epochs(self, self.iterations, run_epoch, params=self._trained_arrays,
                     diverged=self._diverged)
        if private:  # the billboard release: every user against the final items
            self._user_step(by_user.indptr, by_user.indices, values, n_threads)
        popularity = np.diff(data.by_item.indptr).astype(dtype)
        self.item_fallback_ = (
            np.zeros(data.n_items, dtype) if private else popularity) if self.implicit else \
            (self.centre_ + self.item_bias_.astype(np.float64)).astype(dtype)
        self.privacy_report_ = self._report(epsilon, delta, z, steps, sigmas, data.n_users)

    def _values(self, values, private):
        """The ratings the fit uses: explicit clipped and centred, implicit clipped into
        [0, high]; as they are (explicit: centred) at epsilon inf."""
        low, high = self.rating_range_
        if self.implicit:
            return np.clip(values, 0.0, high).astype(values.dtype) if private else values
        if private:
            return clip_ratings(values, (low, high), np.float64)[0]
        return values.astype(np.float64) - float(self.centre_)

    def _noise_stds(self, z):
        """Noise standard deviations of the parts of one release (0 at epsilon inf)."""
        bound, cap = float(self.factor_bound), math.sqrt(self.max_ratings)
        if self.implicit:
            high, alpha, scale = float(self.rating_range_[1]), float(self.alpha), \
                math.sqrt(3.0) * z
            return {"shared_gram": scale * bound ** 2,
                    "gram": scale * cap * alpha * high * bound ** 2,
                    "rhs": scale * cap * (1.0 + alpha * high) * bound}
        half_width = float(self.rating_range_[1] - self.rating_range_[0]) / 2.0
        scale = math.hypot(1.0, _RHS_WEIGHT) * z
        return {"bias_gram": scale * cap, "bias_rhs": scale / _RHS_WEIGHT * cap * half_width,
                "gram": scale * cap * bound ** 2,
                "rhs": scale / _RHS_WEIGHT * cap * bound * half_width}

    def _user_step(self, indptr, indices, values, n_threads, factors=True):
        """Every user's exact ridge solve against the current (private) items (explicit,
        ``factors=False``: the user biases alone)."""
        if self.implicit:
            self._als_sweep((indptr, indices, values), self.item_factors_, self.user_factors_,
                            n_threads)
            return
        items = _augmented(self.item_factors_ if factors else self.item_factors_[:, :0])
        targets = values - self.item_bias_[indices].astype(np.float64)
        solved = self._solve(indptr, indices, np.ones(len(indices)), targets, items, None,
                             None, n_threads)
        self.user_factors_[:] = solved[:, :-1] if factors else 0.0
        self.user_bias_[:] = solved[:, -1]

    def _als_sweep(self, csr, other, factors, n_threads):
        """fastcf.ALS's exact (Cholesky) sweep of ``factors`` over ``csr``, ``other`` frozen."""
        indptr, indices, values = csr
        run_least_squares(indptr, indices, values, other, gram(other, self.reg), factors,
                          self.alpha, "cholesky", 1, backend=self.backend, n_threads=n_threads)

    def _item_step(self, csr, private, sigmas, rng, n_threads, bias=False):
        """The item side from the (noisy) statistics of the users' clipped contributions."""
        if self.implicit and not private:
            self._als_sweep(csr, self.user_factors_, self.item_factors_, n_threads)
            return
        indptr, users, gram_w, rhs_w, F, shared = self.item_inputs(csr, private, bias)
        if shared is not None:
            shared = shared + symmetric_noise(rng, 1, len(shared), sigmas["shared_gram"])[0]
        release = {part: sigmas[("bias_" if bias else "") + part] for part in ("gram", "rhs")}
        if shared is not None:
            release["shared_gram"] = sigmas["shared_gram"]
        solved = self._solve(indptr, users, gram_w, rhs_w, F, shared,
                             (rng, release) if private else None, n_threads)
        if bias:
            self.item_bias_[:] = solved[:, 0]
        else:
            self.item_factors_[:] = solved

    def item_inputs(self, csr, private, bias=False):
        """What the item step sums, from the current user side and ``csr``.

        Returns ``(indptr, users, gram_w, rhs_w, F, shared)``: the by-item CSR,
        the per-entry weights and the user vectors of
        :func:`fastcf.kernels.dp_als.row_statistics`, and the exact shared Gram
        matrix :math:`X^T X` (implicit; else None). When ``private`` every
        bound of the class docstring is applied here: the users' vectors
        projected (``factor_bound``), the explicit targets clipped to
        :math:`[-R, R]`; ``csr`` already holds the clipped, capped ratings. The
        clipping tests compute one user's contribution from these.
        """
        indptr, users, values = csr
        bound = float(self.factor_bound)
        if self.implicit:
            X = project_rows(self.user_factors_, bound) if private else self.user_factors_
            X64 = X.astype(np.float64)
            alpha_v = float(self.alpha) * values.astype(np.float64)
            return indptr, users, alpha_v, 1.0 + alpha_v, X, X64.T @ X64
        targets = values - self.user_bias_[users].astype(np.float64)
        if bias:  # the constant 1 against b_i
            user_vectors = np.ones((len(self.user_factors_), 1), self.user_factors_.dtype)
        else:  # x_u against y_i, the released b_i held
            items = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
            targets -= self.item_bias_[items].astype(np.float64)
            user_vectors = project_rows(self.user_factors_, bound) if private else \
                self.user_factors_
        if private:
            half_width = float(self.rating_range_[1] - self.rating_range_[0]) / 2.0
            targets = np.clip(targets, -half_width, half_width)
        return indptr, users, np.ones(len(users)), targets, user_vectors, None

    def _solve(self, indptr, indices, gram_w, rhs_w, F, shared, noise, n_threads):
        """Solve every row of the CSR from its statistics, in chunks of rows
        (:func:`fastcf.kernels.dp_als.solve_in_chunks`).

        ``shared``: a Gram matrix added to every row's; ``noise``: ``(rng,
        sigmas)`` of a private release (the Gram matrices then made positive
        semi-definite when ``clip_eigenvalues``), or None.
        """
        n_rows, d = len(indptr) - 1, F.shape[1]
        reg, floor = self.reg, None
        if noise is not None:
            sigmas = noise[1]
            sigma = math.hypot(sigmas["gram"], sigmas.get("shared_gram", 0.0))
            edge = float(self.noise_reg) * 2.0 * sigma * math.sqrt(d)  # the noise's spectrum
            reg += edge
            floor = 0.0 if self.clip_eigenvalues else None

        def perturb(g, rhs):
            if noise is not None:
                add_noise(g, rhs, *noise)
            if shared is not None:
                g += shared

        return solve_in_chunks(indptr, indices, gram_w, rhs_w, F, reg,
                               np.empty((n_rows, d), dtype=F.dtype), perturb=perturb,
                               floor=floor, backend=self.backend, n_threads=n_threads)

    def _report(self, epsilon, delta, z, steps, sigmas, n_users):
        if self.implicit:
            formula = ("per item step: ||X^T X|| <= B^2, sqrt(sum_i ||sum alpha v x x^T||^2) "
                       "<= sqrt(M) alpha V B^2, ||(1 + alpha v) x|| sums <= sqrt(M) (1 + alpha "
                       "V) B; noise std sqrt(3) z times each")
            mechanism = ("Gaussian noise on X^T X, the per-item confidence-weighted Gram "
                         "matrices and right-hand sides, every iteration")
        else:
            formula = ("bias release: counts sqrt(M), right-hand side sqrt(M) R; each "
                       "factor release: Gram sqrt(M) B^2, right-hand side sqrt(M) B R; "
                       "||x_u|| <= B, |target| <= R = (high - low) / 2; noise std sqrt(5) z "
                       "and sqrt(5) / 2 z times each")
            mechanism = ("Gaussian noise on the per-item rating counts and sums (item "
                         "biases), then on the per-item Gram matrices and right-hand sides "
                         "every iteration")
        return privacy_report(
            epsilon_target=epsilon, delta=delta, unit=self.unit, mechanism=mechanism,
            noise_multiplier=z, steps=steps, accountant=self.accountant,
            n_users=n_users, seeded=self.seed is not None, factor_bound=float(self.factor_bound),
            max_ratings=int(self.max_ratings), rating_range=[float(v) for v in
                                                             self.rating_range_],
            implicit=bool(self.implicit), alpha=float(self.alpha), sensitivity=formula,
            **{f"{name}_noise_std": float(value) for name, value in sigmas.items()})

    def _trained_arrays(self):
        return {"user_factors_": self.user_factors_, "item_factors_": self.item_factors_,
                "user_bias_": self.user_bias_, "item_bias_": self.item_bias_}

    def _diverged(self, epoch):
        return (f"DPALS produced NaN or inf at iteration {epoch}; raise reg (reg == "
                f"{self.reg}).")

    # --------------------------------------------------------------- predict
    def _ranking_factors(self):
        """(user vectors, item vectors, user offsets, item offsets, fallback): a known
        user scores :math:`m + c_u + b_i + x_u \\cdot y_i`, an unknown one the fallback
        (explicit :math:`m + b_i`; implicit: see the class docstring)."""
        if self.implicit:
            return self.user_factors_, self.item_factors_, None, None, self.item_fallback_
        dtype = self.item_factors_.dtype
        return (self.user_factors_, self.item_factors_,
                (float(self.centre_) + self.user_bias_.astype(np.float64)).astype(dtype),
                self.item_bias_, self.item_fallback_)

    def _predict_internal(self, users, items):
        known_user, known_item = users >= 0, items >= 0
        scores = np.full(len(users), float(self.centre_))
        fallback = ~known_user & known_item
        scores[fallback] = self.item_fallback_[items[fallback]]
        if not self.implicit:
            scores[known_user & ~known_item] += self.user_bias_[users[known_user & ~known_item]]
        where = np.flatnonzero(known_user & known_item)
        u, i = users[where], items[where]
        scores[where] += np.einsum("ij,ij->i", self.user_factors_[u], self.item_factors_[i],
                                   dtype=np.float64)
        if not self.implicit:
            scores[where] += self.user_bias_[u] + self.item_bias_[i].astype(np.float64)
            np.clip(scores, self.rating_range_[0], self.rating_range_[1], out=scores)
        return scores

    def _score_block(self, users, out=None, setup=None):
        user_vectors, item_vectors, user_offset, item_offset, fallback = \
            self._ranking_factors()
        scores = np.empty((len(users), self.n_items_)) if out is None else out
        known = users >= 0
        scores[~known] = fallback
        if known.any():
            rows = users[known]
            block = user_vectors[rows] @ item_vectors.T
            if user_offset is not None:
                block = block + user_offset[rows, None] + item_offset[None, :]
            scores[known] = block
        return scores


def _augmented(F):
    """``[F, 1]``: the constant column that carries the other side's bias."""
    return np.hstack([F, np.ones((len(F), 1), F.dtype)])


def _by_item(indptr, users_items, values, n_items, max_ratings, rng):
    """The by-item CSR ``(indptr, users, values)`` of at most ``max_ratings`` entries per
    user (a uniform sample drawn from ``rng``; None keeps all), users ascending per item."""
    keep, users = cap_per_user(indptr, max_ratings, rng)
    items = np.asarray(users_items, np.int64)[keep]
    order = np.lexsort((users, items))
    item_indptr = np.zeros(n_items + 1, dtype=np.int64)
    np.cumsum(np.bincount(items, minlength=n_items), out=item_indptr[1:])
    return item_indptr, users[order], np.ascontiguousarray(values[keep][order])
