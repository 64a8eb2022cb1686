"""Cold start from side features: a ridge mapping from features to a model's factors.

:class:`FeatureMapping` is the attribute-to-feature mapping of Gantner et al.
(2010, "Learning attribute-to-feature mappings for cold-start
recommendations"): a fitted factor model gives every item (user) that had
interactions a vector and an offset; a ridge regression learns them from the
items' (users') side features, so an item with features and no interactions
gets factors without a refit of the model.
"""

import copy

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, lsqr

from ._config import COLD_START_DENSE_MAX_FEATURES
from ._validation import check_bool, check_choice, check_float, check_int, check_memory
from .base import NotFittedError, Recommender, _as_id_array, _raise_unknown
from .features import Features
from .kernels import topk
from .kernels.topk import run_factor_topk

_AXES = ("item", "user")
_SOLVERS = ("auto", "dense", "lsqr")


class FeatureMapping:
    r"""Ridge regression from side features to a fitted factor model's factors.

    For the items (``axis="item"``) or users (``axis="user"``) that had
    interactions when the model was fitted, with :math:`X` their feature rows
    (n_rows, n_features) and :math:`F` their targets as the model's
    ``_ranking_factors()`` gives them (n_rows, n_targets: the vector, then the
    offset where the model has one, then, for items, the score an unknown user
    gives the item),

    .. math::

        W = (\tilde X^\top \tilde X + \lambda I)^{-1} \tilde X^\top \tilde F,
        \qquad b = \bar f - \bar x^\top W

    with :math:`\tilde X = X - 1 \bar x^\top`, :math:`\tilde F = F - 1 \bar f^\top`
    the centred matrices (``fit_intercept=True``; the intercept :math:`b` is not
    penalised) or :math:`\tilde X = X`, :math:`\tilde F = F`, :math:`b = 0`. Any
    feature row :math:`x` then maps to :math:`x^\top W + b`. Works on every
    model that defines ``_ranking_factors`` (MatrixFactorization, ALS, BPR,
    SVDpp, NMF, HybridFactorization): a user scores a mapped item
    :math:`p_u \cdot q_i + o_u + o_i`, as the model scores its own items.

    Parameters
    ----------
    reg : float
        The ridge penalty :math:`\lambda` (> 0).
    axis : {"item", "user"}
        Map item features to item factors, or user features to user factors.
    fit_intercept : bool
        Centre features and targets (an unpenalised intercept).
    solver : {"auto", "dense", "lsqr"}
        ``"dense"``: the closed form in float64, the Gram matrix
        (n_features, n_features) dense and solved by Cholesky (LAPACK):
        O(n_features^2) memory, O(n_features^3 / 3) time. ``"lsqr"``: one
        sparse damped least-squares solve (scipy's LSQR, damp
        :math:`\sqrt\lambda`, the centring applied implicitly) per target
        column, O(nnz) memory and time per iteration. ``"auto"``: dense up to
        ``_config.COLD_START_DENSE_MAX_FEATURES`` features (where the Gram
        matrix reaches 128 MiB and its solve takes seconds), LSQR beyond.
    tol : float
        LSQR's ``atol`` and ``btol`` (relative residual tolerances).
    max_iter : int or None
        LSQR's iteration limit (None: scipy's default, 2 * n_features).

    Attributes
    ----------
    coef_ : ndarray of float64, shape (n_features, n_targets)
    intercept_ : ndarray of float64, shape (n_targets,)
    n_features_ : int
    feature_names_ : ndarray of str or None
        The names of the ``Features`` the mapping was fitted on.
    factors_ : int
        The model's number of factors (the first ``factors_`` targets).
    has_offset_ : bool
        Whether the model has an offset on this axis (target ``factors_``).
    dtype_ : numpy dtype
        The dtype of the model's factors; :meth:`transform` returns it.
    solver_ : str
        The solver used ("dense" or "lsqr").
    n_fit_rows_ : int
        Items (users) with interactions the mapping learned from.

    Notes
    -----
    The mapping holds no more than ``coef_`` and ``intercept_``; it is not
    saved with the model: refit it from the model and the features (the dense
    solve on MovieLens 100K's item features takes 0.04 s).
    """

    def __init__(self, reg=1.0, axis="item", fit_intercept=True, solver="auto", tol=1e-10,
                 max_iter=None):
        self.reg = reg
        self.axis = axis
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter

    def __repr__(self):
        return (f"FeatureMapping(reg={self.reg!r}, axis={self.axis!r}, fit_intercept="
                f"{self.fit_intercept!r}, solver={self.solver!r}, tol={self.tol!r}, "
                f"max_iter={self.max_iter!r})")

    def _check_params(self):
        check_float("reg", self.reg, min_value=0.0, min_inclusive=False)
        check_choice("axis", self.axis, _AXES)
        check_bool("fit_intercept", self.fit_intercept)
        check_choice("solver", self.solver, _SOLVERS)
        check_float("tol", self.tol, min_value=0.0, min_inclusive=False)
        if self.max_iter is not None:
            check_int("max_iter", self.max_iter, min_value=1)

    # ------------------------------------------------------------------- fit
    def fit(self, model, features):
        """Learn the mapping from ``model``'s factors; returns ``self``.

        Parameters
        ----------
        model : a fitted fastcf model with ``_ranking_factors`` (MF, ALS, BPR, ...)
        features : fastcf.Features, scipy sparse matrix or 2-d ndarray
            A ``Features`` is aligned to the model's ids on ``axis`` (ids it
            lacks get all-zero rows, ids the model lacks are ignored); a matrix
            must have one row per item (user) of the model, in the model's
            internal order. Only the rows of items (users) with at least one
            interaction at fit time are learned from.

        Raises
        ------
        TypeError
            ``model`` is no fastcf model or has no factors; ``features`` of
            another type.
        NotFittedError
            ``model`` is not fitted.
        ValueError
            Rows not matching the model, no shared id, NaN / inf values, an
            empty matrix, no item (user) with interactions.
        """
        self._check_params()
        _check_model(model)
        x = self._model_rows(model, features, "features")
        targets, factors, has_offset, dtype = _targets(model, self.axis)
        warm = _warm_rows(model, self.axis)
        if not warm.any():
            raise ValueError(f"the model has no {self.axis} with interactions to learn the "
                             "mapping from.")
        x, targets = x[warm], targets[warm]
        solver = self.solver
        if solver == "auto":
            solver = "dense" if x.shape[1] <= COLD_START_DENSE_MAX_FEATURES else "lsqr"
        if solver == "dense":
            coef, intercept = _ridge_dense(x, targets, float(self.reg), self.fit_intercept)
        else:
            coef, intercept = _ridge_lsqr(x, targets, float(self.reg), self.fit_intercept,
                                          float(self.tol), self.max_iter)
        self.coef_, self.intercept_ = coef, intercept
        self.n_features_ = x.shape[1]
        self.feature_names_ = _names(features)
        self.factors_, self.has_offset_, self.dtype_ = factors, has_offset, dtype
        self.solver_, self.n_fit_rows_ = solver, int(warm.sum())
        self._model_class = type(model).__name__
        return self

    def _check_is_fitted(self):
        if not hasattr(self, "coef_"):
            raise NotFittedError("this FeatureMapping is not fitted yet; call fit first.")

    # ------------------------------------------------------------- transform
    def _predict(self, features):
        """All mapped targets (n_rows, n_targets) in float64 of any feature rows."""
        self._check_is_fitted()
        x = _as_csr(features, "features")
        if x.shape[1] != self.n_features_:
            raise ValueError(f"features has {x.shape[1]} columns, the mapping was fitted on "
                             f"{self.n_features_}.")
        names = _names(features)
        if names is not None and self.feature_names_ is not None and not np.array_equal(
                names, self.feature_names_):
            first = int(np.argmax(names != self.feature_names_))
            raise ValueError(f"features column {first} is {str(names[first])!r}, the mapping was "
                             f"fitted with {str(self.feature_names_[first])!r} there; the columns "
                             "must be the same, in the same order.")
        return np.asarray(x @ self.coef_) + self.intercept_

    def transform(self, features):
        """Mapped ``(vectors, offsets)`` of feature rows.

        Parameters
        ----------
        features : fastcf.Features, scipy sparse matrix or 2-d ndarray
            Rows of items (users), ``n_features_`` columns (a ``Features``:
            the same names as at fit).

        Returns
        -------
        vectors : ndarray of ``dtype_``, shape (n_rows, factors_)
        offsets : ndarray of ``dtype_``, shape (n_rows,), or None
            None when the model has no offset on this axis.
        """
        mapped = self._predict(features)
        vectors, offsets, _ = self._split(mapped)
        return vectors, offsets

    def _split(self, mapped):
        """(vectors, offsets or None, unknown users' scores or None) in ``dtype_``."""
        k = self.factors_
        vectors = np.ascontiguousarray(mapped[:, :k], dtype=self.dtype_)
        offsets = mapped[:, k].astype(self.dtype_) if self.has_offset_ else None
        fallback = mapped[:, -1].astype(self.dtype_) if self.axis == "item" else None
        return vectors, offsets, fallback

    # ------------------------------------------------------------ scoring
    def score(self, model, features, ids=None):
        """Dense scores between mapped rows and the model's other side, (users, items).

        Parameters
        ----------
        model : the model the mapping was fitted on
        features : feature rows of new items (``axis="item"``) or users (``"user"``)
        ids : array-like of external ids, optional
            ``axis="item"``: the users to score (default: all the model's;
            users unknown to the model get the mapped score of an unknown
            user). ``axis="user"``: the items to score (default: all; all
            must be known).

        Returns
        -------
        ndarray of float64
            ``axis="item"``: (len(ids), n_rows); ``axis="user"``: (n_rows, len(ids)).
        """
        user_vectors, item_vectors, user_offset, item_offset, fallback, users = \
            self._sides(model, features, ids)
        scores = user_vectors.astype(np.float64) @ item_vectors.T.astype(np.float64)
        if user_offset is not None:
            scores += user_offset.astype(np.float64)[:, None]
        if item_offset is not None:
            scores += item_offset.astype(np.float64)
        if users is not None and (users < 0).any():
            scores[users < 0] = fallback
        return scores

    def recommend(self, model, features, n=10, ids=None):
        """Top-``n`` lists between mapped rows and the model's other side.

        ``axis="item"``: for each user of ``ids`` (default: all the model's),
        the ``n`` best of the new items in ``features``; their ids are the
        ``Features`` ids (row positions for a matrix). ``axis="user"``: for
        each new user (feature row), the ``n`` best of the model's items
        (``ids``: the candidates, default all). Nothing is excluded: the rows
        are new, so no seen item applies. Ranked by the model's fused top-k
        kernel (``backend`` and ``n_threads`` of the model).

        Returns
        -------
        items : ndarray, shape (n_lists, m), ``m = min(n, number of items)``
        scores : ndarray of float64, shape (n_lists, m), descending
        """
        n = check_int("n", n, min_value=1)
        user_vectors, item_vectors, user_offset, item_offset, fallback, users = \
            self._sides(model, features, ids)
        width = min(n, len(item_vectors))
        options = {"backend": getattr(model, "backend", "auto"),
                   "n_threads": getattr(model, "n_threads", None)}
        n_lists = len(user_vectors)
        top_items = np.zeros((n_lists, width), dtype=np.int64)
        top_scores = np.empty((n_lists, width), dtype=np.float64)
        known = np.ones(n_lists, bool) if users is None else users >= 0
        if known.any():
            empty = (np.zeros(int(known.sum()) + 1, np.int64), np.zeros(0, np.int64))
            idx, val = run_factor_topk(
                np.ascontiguousarray(user_vectors[known]), item_vectors, width,
                None if user_offset is None else np.ascontiguousarray(user_offset[known]),
                item_offset, empty, **options)
            top_items[known], top_scores[known] = idx, val
        if not known.all():
            idx, val = topk(np.ascontiguousarray(fallback, np.float64)[None, :], width,
                            **options)
            top_items[~known], top_scores[~known] = idx, val
        if self.axis == "item":
            item_ids = _row_ids(features, len(item_vectors))
        else:
            item_ids = model.item_ids_ if ids is None else _as_id_array(ids, "ids")
        return item_ids[top_items], top_scores

    def _sides(self, model, features, ids):
        """(user vectors, item vectors, user offset, item offset, fallback, user index or
        None) of a score / recommend call, the vectors in the model's dtype."""
        self._check_compatible(model)
        vectors, offsets, fallback = self._split(self._predict(features))
        user_vectors, item_vectors, user_offset, item_offset, _ = model._ranking_factors()
        if self.axis == "item":
            users = np.arange(model.n_users_) if ids is None else \
                model.user_index(_as_id_array(ids, "ids"))
            rows = np.maximum(users, 0)  # unknown users' rows are replaced by the fallback
            return (user_vectors[rows], vectors,
                    None if user_offset is None else user_offset[rows], offsets,
                    None if fallback is None else fallback.astype(np.float64), users)
        if ids is not None:
            ids = _as_id_array(ids, "ids")
            items = model.item_index(ids)
            _raise_unknown(ids, items < 0, "item", hint="ids must be items of the model")
            item_vectors = item_vectors[items]
            item_offset = None if item_offset is None else item_offset[items]
        return (vectors, np.ascontiguousarray(item_vectors), offsets,
                None if item_offset is None else np.ascontiguousarray(item_offset), None, None)

    def _check_compatible(self, model):
        self._check_is_fitted()
        _check_model(model)
        _, factors, has_offset, dtype = _targets(model, self.axis, values=False)
        if (type(model).__name__, factors, has_offset, dtype) != (
                self._model_class, self.factors_, self.has_offset_, self.dtype_):
            raise ValueError(f"the mapping was fitted on a {self._model_class} with "
                             f"{self.factors_} factors ({self.dtype_}), not on this "
                             f"{type(model).__name__} with {factors} ({dtype}); pass the model "
                             "it was fitted on.")

    # ------------------------------------------------------------------ fill
    def fill(self, model, features):
        """A copy of ``model`` whose items (users) without interactions get mapped factors.

        The items (users) of ``model`` that had no interaction at fit time
        (such as those ``Interactions.with_features(new_ids="add")`` adds to
        the catalogue) get the mapped vector and offset of their feature rows;
        the model itself is left as it is. The copy ranks them as any other
        item: ``filled.recommend(users, n, candidates=cold_ids)``.

        Parameters
        ----------
        model : the model the mapping was fitted on
        features : as for :meth:`fit` (rows of the model's items / users)

        Raises
        ------
        ValueError
            The model computes its vectors or offsets rather than storing them
            (SVDpp's user vectors, HybridFactorization: it already gives its
            featured items vectors from their features), so there is nowhere
            to put mapped ones.
        """
        self._check_compatible(model)
        x = self._model_rows(model, features, "features")
        cold = np.flatnonzero(~_warm_rows(model, self.axis))
        filled = copy.deepcopy(model)
        if len(cold):
            vectors, offsets, _ = self._split(self._predict(x[cold]))
        else:  # nothing to write, but a model fill cannot write into is refused all the same
            vectors, offsets, _ = self._split(np.zeros((0, len(self.intercept_))))
        _write_rows(filled, self.axis, cold, vectors, offsets)
        return filled

    # --------------------------------------------------------------- helpers
    def _model_rows(self, model, features, name):
        """``features`` as a float64 CSR with one row per item (user) of ``model``."""
        ids = model.item_ids_ if self.axis == "item" else model.user_ids_
        if _is_features(features):
            if not np.isin(ids, np.asarray(features.ids)).any():
                raise ValueError(f"{name} share no id with the model's {self.axis}s; they "
                                 f"must describe the {self.axis}s of the model.")
            return _as_csr(features.align(ids), name)
        x = _as_csr(features, name)
        if x.shape[0] != len(ids):
            raise ValueError(f"{name} has {x.shape[0]} rows but the model has {len(ids)} "
                             f"{self.axis}s; a matrix needs one row per {self.axis} in the "
                             "model's internal order (or pass a fastcf.Features).")
        return x


# ----------------------------------------------------------------- the solves
def _ridge_dense(x, targets, reg, fit_intercept):
    """Closed-form ridge in float64: Cholesky of the (centred) Gram matrix plus reg I."""
    n_rows, n_features = x.shape
    check_memory(8 * n_features * n_features, "the dense Gram matrix of the features",
                 solver="dense")
    gram = (x.T @ x).toarray()
    rhs = np.asarray(x.T @ targets)
    if fit_intercept:
        mean_x = np.asarray(x.mean(axis=0)).ravel()
        mean_f = targets.mean(axis=0)
        gram -= n_rows * np.outer(mean_x, mean_x)
        rhs -= n_rows * np.outer(mean_x, mean_f)
    gram[np.diag_indices_from(gram)] += reg
    coef = scipy.linalg.solve(gram, rhs, assume_a="pos", check_finite=False)
    intercept = mean_f - mean_x @ coef if fit_intercept else np.zeros(targets.shape[1])
    return coef, intercept


def _ridge_lsqr(x, targets, reg, fit_intercept, tol, max_iter):
    """The same ridge by LSQR (damp sqrt(reg)) per target column, centring applied implicitly
    so the sparse matrix stays sparse."""
    n_rows, n_features = x.shape
    mean_x = np.asarray(x.mean(axis=0)).ravel() if fit_intercept else np.zeros(n_features)
    mean_f = targets.mean(axis=0) if fit_intercept else np.zeros(targets.shape[1])
    xt = x.T.tocsr()
    operator = LinearOperator(
        (n_rows, n_features), dtype=np.float64,
        matvec=lambda v: x @ v - mean_x @ v,
        rmatvec=lambda y: xt @ y - mean_x * y.sum())
    coef = np.empty((n_features, targets.shape[1]))
    for j in range(targets.shape[1]):
        coef[:, j] = lsqr(operator, targets[:, j] - mean_f[j], damp=np.sqrt(reg), atol=tol,
                          btol=tol, iter_lim=max_iter)[0]
    return coef, mean_f - mean_x @ coef


# ------------------------------------------------------------ model plumbing
def _check_model(model):
    if not isinstance(model, Recommender):
        raise TypeError(f"model must be a fitted fastcf model, got {type(model).__name__}.")
    model._check_is_fitted()
    if not hasattr(model, "_ranking_factors"):
        raise TypeError(f"{type(model).__name__} has no factors to map features to; "
                        "FeatureMapping needs a factor model (MatrixFactorization, ALS, BPR, "
                        "SVDpp, NMF, HybridFactorization).")


def _targets(model, axis, values=True):
    """(targets float64 (n_rows, n_targets) or None, factors, has_offset, dtype) of ``axis``."""
    user_vectors, item_vectors, user_offset, item_offset, fallback = model._ranking_factors()
    vectors, offset = (item_vectors, item_offset) if axis == "item" else \
        (user_vectors, user_offset)
    columns = [vectors] + ([] if offset is None else [offset[:, None]])
    if axis == "item":
        columns.append(np.asarray(fallback)[:, None])
    targets = np.hstack([np.asarray(c, np.float64) for c in columns]) if values else None
    return targets, vectors.shape[1], offset is not None, vectors.dtype


def _warm_rows(model, axis):
    """Boolean mask of the items (users) with at least one interaction at fit time."""
    if axis == "user":
        return np.diff(model.seen_indptr_) > 0
    return np.bincount(model.seen_indices_, minlength=model.n_items_) > 0


def _write_rows(model, axis, rows, vectors, offsets):
    """Write mapped vectors / offsets into ``model``'s stored arrays, then check that the
    model's ``_ranking_factors`` gives them back."""
    name = type(model).__name__
    stored_vectors = getattr(model, f"{axis}_factors_", None)
    current = _targets(model, axis)[0]
    k = vectors.shape[1]
    if not isinstance(stored_vectors, np.ndarray) or stored_vectors.shape != (len(current), k) \
            or not np.array_equal(stored_vectors.astype(np.float64), current[:, :k]):
        raise ValueError(f"{name} computes its {axis} vectors (they are not its "
                         f"{axis}_factors_), so fill has nowhere to write mapped ones; use "
                         "FeatureMapping.score / recommend instead.")
    stored_vectors[rows] = vectors
    if offsets is not None:
        bias = getattr(model, f"{axis}_bias_", None)
        shift = None
        if isinstance(bias, np.ndarray) and bias.shape == (len(current),):
            # an offset stored as a bias plus a constant (MF's user offset is mean + b_u)
            gaps = current[:, k] - bias.astype(np.float64)
            shift = gaps[0] if np.allclose(gaps, gaps[0], rtol=0, atol=1e-5) else None
        if shift is None:
            raise ValueError(f"{name} computes its {axis} offsets, so fill has nowhere to "
                             "write mapped ones; use FeatureMapping.score / recommend instead.")
        bias[rows] = offsets.astype(np.float64) - shift
    after = _targets(model, axis)[0][rows]
    wanted = np.hstack([vectors.astype(np.float64)] + (
        [] if offsets is None else [offsets.astype(np.float64)[:, None]]))
    if not np.allclose(after[:, :wanted.shape[1]], wanted, rtol=1e-5, atol=1e-5):
        raise ValueError(f"{name} does not rank with the factors written into it; fill "
                         "cannot give it mapped ones: use FeatureMapping.score / recommend.")


# --------------------------------------------------------------- the inputs
def _is_features(features):
    return isinstance(features, Features)


def _names(features):
    return np.asarray(features.names) if _is_features(features) else None


def _row_ids(features, n_rows):
    return np.asarray(features.ids) if _is_features(features) else np.arange(n_rows)


def _as_csr(features, name):
    """A float64 CSR copy of a Features / scipy sparse / 2-d ndarray, checked."""
    if _is_features(features):
        features = features.matrix
    if isinstance(features, (sp.spmatrix, sp.sparray)):
        x = sp.csr_matrix(features, dtype=np.float64, copy=True)
    elif isinstance(features, np.ndarray):
        if features.ndim != 2:
            raise ValueError(f"{name} must be 2-d, got {features.ndim} dimensions.")
        if features.dtype.kind not in "biuf":
            raise TypeError(f"{name}.dtype == {features.dtype}, must be a real number dtype.")
        x = sp.csr_matrix(features.astype(np.float64))
    else:
        raise TypeError(f"{name} must be a fastcf.Features, a scipy sparse matrix or a 2-d "
                        f"ndarray, got {type(features).__name__}.")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} has shape {x.shape}, must have at least one row and one "
                         "column.")
    if not np.all(np.isfinite(x.data)):
        raise ValueError(f"{name} contains {int((~np.isfinite(x.data)).sum())} NaN or inf "
                         "values, must contain none.")
    x.sum_duplicates()
    return x
