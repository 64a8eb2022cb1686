"""The estimator protocol every fastcf model follows.

``fit(interactions)`` learns from an :class:`~fastcf.Interactions`;
``predict(users, items)`` and ``recommend(users, n)`` speak external ids;
``get_params`` / ``set_params`` follow scikit-learn; ``save`` writes a model
file that :func:`fastcf.load` reads back without pickle.
"""

import inspect
from typing import NamedTuple

import numpy as np
import pandas as pd

from ._config import RECOMMEND_BLOCK_CELLS
from ._csr import (  # noqa: F401  (knn and _neighborhood import the last three from here)
    _empty_csr,
    _is_range,
    kept_indptr,
    take_rows,
    within_columns,
)
from ._parallel import blas_threads
from ._validation import check_choice, check_int, check_rating_values, describe_unknown
from .data import Interactions
from .kernels import topk
from .kernels.topk import run_factor_topk
from .persist import Schema, register_model
from .persist import save as save_model


class Unknown(NamedTuple):
    """Which queried ids were not seen at fit time (boolean masks)."""

    users: np.ndarray
    items: np.ndarray


class NotFittedError(ValueError):
    """The model was used before ``fit``."""


def _as_id_array(ids, name):
    arr = np.asarray(ids)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got {arr.ndim} dimensions.")
    return arr


class Recommender:
    """Base class: parameters, id maps, predict / recommend plumbing, save.

    Subclasses implement ``_fit(data)``, ``_predict_internal(users, items)``
    (internal indices, -1 for unknown) and ``_score_block(users, out=None,
    setup=None)`` (dense float64 scores of a block of users over all items;
    ``out``, when given, is a C-contiguous (len(users), n_items) buffer the
    scores may be written into; ``setup`` what ``_score_setup()`` returned for
    the call), and declare their fitted arrays in ``_state_schema``.
    """

    #: The fitted array attributes that ``save`` stores, with their dtypes and
    #: shapes (a :class:`fastcf.persist.Schema`; every model adds the seen CSR).
    _state_schema = Schema({})
    #: Whether ``predict`` estimates ratings (RMSE / MAE mean something).
    predicts_ratings = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        register_model(cls)

    # ---------------------------------------------------------------- params
    @classmethod
    def _param_names(cls):
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values()
                if p.name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD]

    def get_params(self, deep=True):
        """Constructor parameters as a dict (scikit-learn protocol)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set constructor parameters; returns ``self``. Takes effect at the next fit."""
        valid = self._param_names()
        for name in params:
            if name not in valid:
                raise ValueError(f"{name!r} is not a parameter of {type(self).__name__}; "
                                 f"valid ones: {valid}.")
        previous = self.get_params()
        for name, value in params.items():
            setattr(self, name, value)
        try:
            self._check_params()
        except (TypeError, ValueError):
            for name, value in previous.items():  # a refused change leaves no trace
                setattr(self, name, value)
            raise
        return self

    def _check_params(self):
        """Validate the constructor parameters (subclasses extend)."""

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------- fit
    def fit(self, data):
        """Learn from ``data`` (an :class:`~fastcf.Interactions`); returns ``self``.

        A fit that raises leaves the model as it was before the call (unfitted,
        or fitted as before).
        """
        if not isinstance(data, Interactions):
            raise TypeError(f"fit expects an Interactions, got {type(data).__name__}; build one "
                            "with Interactions.from_frame / from_arrays / from_csr.")
        self._check_params()
        before = dict(self.__dict__)
        try:
            self.user_ids_ = np.asarray(data.user_ids)
            self.item_ids_ = np.asarray(data.item_ids)
            self.seen_indptr_ = np.asarray(data.by_user.indptr)
            self.seen_indices_ = np.asarray(data.by_user.indices)
            self._reset_lookups()
            self._fit(data)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        return self

    def _reset_lookups(self):
        self._user_lookup = pd.Index(self.user_ids_)
        self._item_lookup = pd.Index(self.item_ids_)

    def _check_is_fitted(self):
        if not hasattr(self, "user_ids_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first.")

    @property
    def n_users_(self):
        return len(self.user_ids_)

    @property
    def n_items_(self):
        return len(self.item_ids_)

    def user_index(self, ids):
        """Internal indices of external user ids, -1 for users unknown at fit time."""
        self._check_is_fitted()
        return self._user_lookup.get_indexer(_as_id_array(ids, "users")).astype(np.int64)

    def item_index(self, ids):
        """Internal indices of external item ids, -1 for items unknown at fit time."""
        self._check_is_fitted()
        return self._item_lookup.get_indexer(_as_id_array(ids, "items")).astype(np.int64)

    # --------------------------------------------------------------- predict
    def predict(self, users, items, *, unknown="fallback", return_unknown=False):
        """Predicted scores for pairs of external ids.

        Parameters
        ----------
        users, items : array-like, shape (n,)
            External ids, paired element-wise.
        unknown : {"fallback", "raise"}
            Ids not seen at fit time get the model's documented fallback, or
            raise ValueError.
        return_unknown : bool
            Also return an :class:`Unknown` of boolean masks.

        Returns
        -------
        scores : ndarray of float64, shape (n,)
        unknown : Unknown, only if ``return_unknown``
        """
        self._check_is_fitted()
        check_choice("unknown", unknown, ("fallback", "raise"))
        users, items = _as_id_array(users, "users"), _as_id_array(items, "items")
        if len(users) != len(items):
            raise ValueError(f"users has {len(users)} entries but items has {len(items)}; "
                             "they must match.")
        u, i = self.user_index(users), self.item_index(items)
        masks = Unknown(u < 0, i < 0)
        if unknown == "raise":
            _raise_unknown(users, masks.users, "user")
            _raise_unknown(items, masks.items, "item")
        scores = self._predict_internal(u, i)
        return (scores, masks) if return_unknown else scores

    # ------------------------------------------------------------- recommend
    def recommend(self, users, n=10, *, exclude_seen=True, candidates=None,
                  return_unknown=False, rerank=None):
        """Top-``n`` items for each user, best first.

        Parameters
        ----------
        users : array-like, shape (n_users,)
            External user ids; unknown users get the model's fallback ranking.
        n : int
            Number of items per user (>= 1).
        exclude_seen : bool
            Skip the items each user interacted with at fit time.
        candidates : array-like of external item ids, optional
            Rank only these items (all must be known to the model).
        return_unknown : bool
            Also return a boolean mask of the users unknown at fit time.
        rerank : fastcf.rerank.MMR or fastcf.rerank.DPP, optional
            Re-rank each user's top-``M`` items (the re-ranker's ``candidates``)
            to ``n`` for diversity: the items come in the re-ranker's pick order
            with the model's scores (then not descending), see
            :func:`fastcf.rerank._rerankers.rerank_recommend`.

        Returns
        -------
        items : ndarray, shape (n_users, m)
            External item ids, ``m = min(n, number of candidates)``.
        scores : ndarray of float64, shape (n_users, m)
            Scores, descending (without ``rerank``); ties keep the lower internal
            item index first.
            Where a user has fewer than ``m`` items left to recommend, the
            trailing slots are padding: their score is NaN (and their item
            id meaningless).
        unknown_users : ndarray of bool, only if ``return_unknown``

        Notes
        -----
        A model that defines ``_ranking_factors`` (factor models: scores are
        ``user_vectors @ item_vectors.T`` plus offsets) is ranked by
        :func:`fastcf.kernels.factor_topk` in the factors' dtype (float32
        scores for a float32 model, returned as float64), the score matrix
        never formed; unknown users share the model's fallback ranking. Other
        models score users in blocks of about ``RECOMMEND_BLOCK_CELLS`` cells,
        each block ranked by :func:`fastcf.topk` with the block's seen items as
        its exclusion list. Both run on the model's ``backend`` and
        ``n_threads`` when it has them. Items scored -inf are never recommended.
        """
        self._check_is_fitted()
        if rerank is not None:
            return self._reranked(rerank, users, n, exclude_seen, candidates, return_unknown)
        n = check_int("n", n, min_value=1)
        users = _as_id_array(users, "users")
        u = self.user_index(users)
        columns = None if candidates is None else self._candidate_columns(candidates)
        width = min(n, self.n_items_ if columns is None else len(columns))
        if hasattr(self, "_ranking_factors"):
            top_items, top_scores = self._rank_by_factors(u, width, exclude_seen, columns)
        else:
            top_items, top_scores = self._rank_by_blocks(u, width, exclude_seen, columns)
        if columns is not None:
            top_items = columns[top_items]  # padding (-1) lands on some candidate: meaningless
        items = self.item_ids_[top_items]
        return (items, top_scores, u < 0) if return_unknown else (items, top_scores)

    def _reranked(self, rerank, users, n, exclude_seen, candidates, return_unknown):
        """``recommend(..., rerank=rerank)``: the model's top-M re-ranked (fastcf.rerank)."""
        from .rerank._rerankers import rerank_recommend

        return rerank_recommend(self, rerank, users, n, exclude_seen=exclude_seen,
                                candidates=candidates, return_unknown=return_unknown)

    def _rank_by_factors(self, u, width, exclude_seen, columns):
        """``recommend``'s (item positions, float64 scores) from ``_ranking_factors``."""
        user_vectors, item_vectors, user_offset, item_offset, fallback = self._ranking_factors()
        if columns is not None:  # the product then covers only the candidates
            item_vectors = item_vectors[columns]
            item_offset = None if item_offset is None else item_offset[columns]
            fallback = fallback[columns]
        options = {"backend": getattr(self, "backend", "auto"),
                   "n_threads": getattr(self, "n_threads", None)}
        top_items = np.empty((len(u), width), dtype=np.int64)
        top_scores = np.empty((len(u), width), dtype=np.float64)
        known = u >= 0
        rows = u[known]
        if len(rows):
            # every user in order (recommend for all) is a slice, not a gather
            take = slice(rows[0], rows[-1] + 1) if _is_range(rows) else rows
            exclude = self._seen_block(rows, columns) if exclude_seen else None
            idx, val = run_factor_topk(
                np.ascontiguousarray(user_vectors[take]), np.ascontiguousarray(item_vectors),
                width, None if user_offset is None else np.ascontiguousarray(user_offset[take]),
                None if item_offset is None else np.ascontiguousarray(item_offset),
                _empty_csr(len(rows)) if exclude is None else exclude, **options)
            top_items[known], top_scores[known] = idx, val
        if not known.all():  # nothing seen: one ranking of the fallback row serves them all
            idx, val = topk(np.ascontiguousarray(fallback)[None, :], width, **options)
            top_items[~known], top_scores[~known] = idx, val
        return top_items, top_scores

    def _rank_by_blocks(self, u, width, exclude_seen, columns):
        """``recommend``'s (item positions, float64 scores) from ``_score_block``."""
        backend = getattr(self, "backend", "auto")
        n_threads = getattr(self, "n_threads", None)
        top_items = np.empty((len(u), width), dtype=np.int64)
        top_scores = np.empty((len(u), width), dtype=np.float64)
        block_users = max(1, RECOMMEND_BLOCK_CELLS // self.n_items_)
        # one score buffer reused by every block: a fresh array per block would have
        # fresh pages to fault in each time
        buffer = np.empty((min(block_users, len(u)), self.n_items_))
        setup = self._score_setup()
        with blas_threads(n_threads):  # the model's n_threads bounds its BLAS products too
            for start in range(0, len(u), block_users):
                block = u[start:start + block_users]
                scores = np.ascontiguousarray(
                    self._score_block(block, out=buffer[:len(block)], setup=setup),
                    dtype=np.float64)
                if columns is not None:
                    scores = np.ascontiguousarray(scores[:, columns])
                exclude = self._seen_block(block, columns) if exclude_seen else None
                idx, val = topk(scores, width, exclude, backend=backend, n_threads=n_threads)
                top_items[start:start + len(block)] = idx
                top_scores[start:start + len(block)] = val
        return top_items, top_scores

    def recommend_frame(self, users, n=10, **kwargs):
        """:meth:`recommend` as a long DataFrame (user, rank, item, score), padding dropped."""
        users = _as_id_array(users, "users")
        items, scores = self.recommend(users, n, **kwargs)
        width = items.shape[1]
        frame = pd.DataFrame({
            "user": np.repeat(users, width),
            "rank": np.tile(np.arange(1, width + 1), len(users)),
            "item": items.ravel(),
            "score": scores.ravel(),
        })
        return frame[~np.isnan(frame["score"].to_numpy())].reset_index(drop=True)

    def _candidate_columns(self, candidates):
        """Sorted internal indices of candidate item ids (all known, no repeats)."""
        candidates = _as_id_array(candidates, "candidates")
        if len(candidates) == 0:
            raise ValueError("candidates is empty, must hold at least one item id.")
        columns = self.item_index(candidates)
        _raise_unknown(candidates, columns < 0, "candidate item",
                       hint="candidates must be items of the training data")
        if len(np.unique(columns)) != len(columns):
            raise ValueError("candidates contain repeated items.")
        # in internal order, a tie among candidates keeps the lower item index first
        return np.sort(columns)

    def _seen_block(self, block, columns=None):
        """Seen items of the users of ``block`` as an exclusion CSR for :func:`topk`.

        Unknown users (-1) get an empty row. With ``columns`` (sorted internal
        item indices) the items become positions in ``columns`` and items
        outside it are dropped. Rows stay ascending, as ``topk`` prefers.

        Returns
        -------
        indptr : ndarray of int32 or int64, shape (len(block) + 1,)
        indices : ndarray, the same dtype, shape (nnz,)
        """
        if columns is None and _is_range(block):  # e.g. recommend for every user: a slice
            bounds = self.seen_indptr_[block[0]:block[-1] + 2]
            return bounds - bounds[0], self.seen_indices_[bounds[0]:bounds[-1]]
        indptr, indices = take_rows(self.seen_indptr_, block, self.seen_indices_,
                                    valid=block >= 0)
        return (indptr, indices) if columns is None else within_columns(indptr, indices, columns)

    # ----------------------------------------------------------- partial fit
    def _grow(self, axis, ids, index, arrays):
        """Internal indices of ``ids`` (``index``: -1 where unknown, filled in place),
        appending the unknown ones to the ``axis`` ("user" or "item") id map.

        ``arrays``: fitted attribute name -> ``make(n_new)``, the rows appended
        to that array for the new ids (called in the dict's order). New users
        get empty seen rows.
        """
        new = index < 0
        if new.any():
            n_new = int(new.sum())
            index[new] = (self.n_users_ if axis == "user" else self.n_items_) + np.arange(n_new)
            setattr(self, f"{axis}_ids_", np.concatenate([getattr(self, f"{axis}_ids_"),
                                                          np.asarray(ids)[new]]))
            for name, make in arrays.items():
                setattr(self, name, np.concatenate([getattr(self, name), make(n_new)]))
            if axis == "user":
                self.seen_indptr_ = np.concatenate([
                    self.seen_indptr_,
                    np.full(n_new, self.seen_indptr_[-1], self.seen_indptr_.dtype)])
            self._reset_lookups()
        return index.astype(np.int64)

    def _add_seen(self, users, items):
        """Merge (user, item) pairs into the seen CSR (rows ascending, no repeats)."""
        old_users = np.repeat(np.arange(self.n_users_), np.diff(self.seen_indptr_))
        pairs = np.unique(np.concatenate([old_users * self.n_items_ + self.seen_indices_,
                                          users * self.n_items_ + items]))
        rows, cols = np.divmod(pairs, self.n_items_)
        indptr = np.zeros(self.n_users_ + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=self.n_users_), out=indptr[1:])
        self.seen_indptr_, self.seen_indices_ = indptr, cols.astype(np.int64)

    # ---------------------------------------------------------------- fold-in
    def _fold_in_csr(self, ratings):
        """New users' ratings ({item id: rating} each) as a CSR over internal items."""
        if isinstance(ratings, dict):
            ratings = [ratings]
        if not isinstance(ratings, (list, tuple)) or not ratings or not all(
                isinstance(r, dict) for r in ratings):
            raise TypeError("ratings must be a dict {item id: rating} or a non-empty list "
                            "of them.")
        indptr = np.zeros(len(ratings) + 1, dtype=np.int64)
        cols, vals = [], []
        for r, row in enumerate(ratings):
            if not row:
                raise ValueError(f"ratings[{r}] is empty; a new user needs at least one "
                                 "rating.")
            ids = _as_id_array(np.asarray(list(row.keys()), dtype=object), "items")
            items = self.item_index(ids)
            _raise_unknown(ids, items < 0, "item",
                           hint="fold-in ratings must be of items known to the model")
            values = check_rating_values(f"ratings[{r}]", list(row.values()))
            if not np.all(np.isfinite(values)):
                raise ValueError(f"ratings[{r}] contains NaN or inf values.")
            order = np.argsort(items)
            cols.append(items[order])
            vals.append(values[order])
            indptr[r + 1] = indptr[r] + len(items)
        return indptr, np.concatenate(cols), np.concatenate(vals)

    def _fold_in_request(self, ratings, items):
        """Parse ``predict_new(ratings, items)``: (single, queries, user, item, sizes).

        ``user`` numbers the new users 0..; ``item`` holds internal items;
        ``sizes`` the number of items asked for each user.
        """
        self._check_is_fitted()
        single = isinstance(ratings, dict)
        queries = self._fold_in_csr(ratings)
        n_new = len(queries[0]) - 1
        item_lists = [items] if single else list(items)
        if len(item_lists) != n_new:
            raise ValueError(f"{n_new} users have ratings but items has {len(item_lists)} "
                             "lists; they must match.")
        wanted = []
        for lst in item_lists:
            ids = _as_id_array(lst, "items")
            idx = self.item_index(ids)
            _raise_unknown(ids, idx < 0, "item")
            wanted.append(idx)
        sizes = [len(w) for w in wanted]
        return single, queries, np.repeat(np.arange(n_new), sizes), np.concatenate(wanted), sizes

    @staticmethod
    def _fold_in_result(values, single, sizes):
        out = np.split(values, np.cumsum(sizes)[:-1])
        return out[0] if single else out

    def _rank_new(self, scores, queries, n, exclude_seen, candidates):
        """Top-``n`` (item ids, scores) of dense score rows of new users (their items excluded)."""
        q_indptr, q_indices, _ = queries
        columns = None
        if candidates is not None:
            columns = self._candidate_columns(candidates)
            scores = scores[:, columns]
        exclude = None
        if exclude_seen:
            exclude = (q_indptr, q_indices.astype(np.int64))
            if columns is not None:
                exclude = within_columns(*exclude, columns)
        width = min(n, scores.shape[1])
        idx, val = topk(np.ascontiguousarray(scores, dtype=np.float64), width, exclude,
                        backend=getattr(self, "backend", "auto"),
                        n_threads=getattr(self, "n_threads", None))
        if columns is not None:
            idx = columns[idx]
        return self.item_ids_[idx], val

    # ------------------------------------------------------------ validation
    def _validation_pairs(self):
        """(users, items, ratings) of ``self._validation`` known to the model, or None."""
        if self._validation is None:
            return None
        frame = self._validation.to_frame()
        u = self.user_index(frame["user"].to_numpy())
        i = self.item_index(frame["item"].to_numpy())
        known = (u >= 0) & (i >= 0)
        return u[known], i[known], frame["rating"].to_numpy()[known]

    def _rmse(self, users, items, truth):
        return float(np.sqrt(np.mean((self._predict_internal(users, items) - truth) ** 2)))

    # ----------------------------------------------------------- persistence
    def save(self, path):
        """Write the fitted model to ``path`` (npz arrays + JSON header, no pickle)."""
        save_model(self, path)

    def _get_state(self):
        self._check_is_fitted()
        return {name: getattr(self, name) for name in self._state_schema.names}

    def _set_state(self, arrays, user_ids, item_ids):
        for name in self._state_schema.names:
            setattr(self, name, arrays[name])
        self.user_ids_, self.item_ids_ = user_ids, item_ids
        self._reset_lookups()

    # ------------------------------------------------------------- subclass
    def _fit(self, data):
        raise NotImplementedError

    def _predict_internal(self, users, items):
        raise NotImplementedError

    def _score_setup(self):
        """What every ``_score_block`` of one ``recommend`` call shares (computed once)."""
        return None

    def _score_block(self, users, out=None, setup=None):
        raise NotImplementedError


def _raise_unknown(ids, mask, kind, hint=None):
    if mask.any():
        extra = f"; {hint}" if hint else ""
        raise ValueError(describe_unknown(ids, mask, kind) + extra + ".")
