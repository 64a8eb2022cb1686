"""What every private model shares: its common parameters, its report in the model file,
and the data-independent preparation of the ratings (range clipping, per-user cap)."""

import contextlib
import json
from numbers import Integral, Real

import numpy as np

from .._validation import check_choice, check_int
from ..persist import Array
from ._accounting import ACCOUNTANTS, check_epsilon, check_privacy

__all__ = ["PRIVACY_REPORT_FIELD", "PrivateModel", "cap_per_user", "clip_ratings"]

#: The schema entry of ``privacy_report_``: its JSON text, a 0-d string.
PRIVACY_REPORT_FIELD = Array("U", ())


def check_rating_range(rating_range):
    """``(low, high)`` as two finite floats with low < high; else raise."""
    if rating_range is None:
        raise ValueError("rating_range is None; give the rating scale, e.g. (1, 5): taking "
                         "it from the data would make the privacy guarantee depend on the "
                         "data it protects.")
    if not isinstance(rating_range, (tuple, list)) or len(rating_range) != 2:
        raise TypeError(f"rating_range must be a (low, high) pair, got {rating_range!r}.")
    low, high = rating_range
    for name, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
            raise ValueError(f"rating_range {name} == {value!r}, must be a finite number.")
    if not low < high:
        raise ValueError(f"rating_range == {tuple(rating_range)}, must have low < high.")
    return float(low), float(high)


def clip_ratings(values, rating_range, dtype):
    """A copy of ``values`` clipped into ``rating_range`` and centred on its midpoint.

    Returns
    -------
    (ndarray of dtype, float, float)
        The centred ratings, the centre, and the bound on their magnitude
        (half the range's width).
    """
    low, high = rating_range
    centre = (low + high) / 2.0
    centred = np.clip(np.asarray(values, dtype=np.float64), low, high) - centre
    return centred.astype(dtype), centre, (high - low) / 2.0


def cap_per_user(indptr, max_ratings, rng):
    """At most ``max_ratings`` entries of every row of a CSR, a uniform sample, and their rows.

    Parameters
    ----------
    indptr : ndarray of int, shape (n_rows + 1,)
    max_ratings : int or None
        None keeps every entry.
    rng : numpy.random.Generator
        The sample's randomness (independent of the data's values).

    Returns
    -------
    positions : ndarray of int64, shape (n_kept,)
        Sorted positions into the CSR's ``indices`` / ``data``: row order and,
        within a row, the stored order are kept.
    rows : ndarray of int64, shape (n_kept,)
        The row (user) of each kept entry.
    """
    indptr = np.asarray(indptr, dtype=np.int64)
    nnz = int(indptr[-1])
    rows = np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
    if max_ratings is None or nnz == 0 or int(np.diff(indptr).max()) <= max_ratings:
        return np.arange(nnz, dtype=np.int64), rows
    order = np.lexsort((rng.random(nnz), rows))  # rows stay grouped, shuffled within
    rank = np.arange(nnz, dtype=np.int64) - indptr[rows]  # order[k] sits in row rows[k]
    kept = np.sort(order[rank < max_ratings])
    return kept, rows[kept]


class PrivateModel:
    """Mixin (first among the bases) of the models in :mod:`fastcf.privacy`.

    It checks the parameters every private model has (``epsilon``, ``delta``,
    ``unit``, ``accountant`` and, where the class has them, ``rating_range``
    and ``max_ratings``) and keeps ``privacy_report_`` in the model file, as
    JSON. The class's ``_state_schema`` lists ``"privacy_report_":
    PRIVACY_REPORT_FIELD``.
    """

    #: The units of privacy the model supports.
    _privacy_units = ("user",)

    def _check_privacy_params(self):
        check_epsilon(self.epsilon)
        if self.delta is not None:
            if isinstance(self.delta, bool) or not isinstance(self.delta, Real):
                raise TypeError("delta must be a real number or None, got "
                                f"{type(self.delta).__name__}.")
            if not 0.0 < float(self.delta) < 1.0:
                raise ValueError(f"delta == {self.delta}, must be in (0, 1).")
        if self.unit == "rating" and "rating" not in self._privacy_units:
            raise ValueError(f"unit == 'rating' is not offered by {type(self).__name__}: each "
                             "user's own parameters are trained on all their ratings, so "
                             "removing one rating moves that user's other terms too and a "
                             "per-rating bound does not hold; use unit='user'.")
        check_choice("unit", self.unit, self._privacy_units)
        check_choice("accountant", self.accountant, ACCOUNTANTS)
        if hasattr(self, "rating_range"):
            check_rating_range(self.rating_range)
        if getattr(self, "max_ratings", None) is not None:
            if not isinstance(self.max_ratings, Integral) or isinstance(self.max_ratings, bool):
                raise TypeError("max_ratings must be an int or None, got "
                                f"{type(self.max_ratings).__name__}.")
            check_int("max_ratings", self.max_ratings, min_value=1)

    def _privacy_budget(self, n_units):
        """``(epsilon, delta)`` of this fit on ``n_units`` users (or ratings)."""
        return check_privacy(self.epsilon, self.delta, n_units, self.unit)

    @contextlib.contextmanager
    def _seed_none_accepted(self):
        """Run the non-private parent's parameter check, which wants an int ``seed``.

        A private model's default is ``seed=None`` (fresh entropy): a seed anyone
        knows, such as a default, would let anyone redraw the noise.
        """
        if self.seed is not None:
            yield
            return
        self.seed = 0
        try:
            yield
        finally:
            self.seed = None

    @property
    def is_private(self):
        """False for ``epsilon=inf``: the model is then its non-private counterpart."""
        return not np.isinf(check_epsilon(self.epsilon))

    def _get_state(self):
        state = super()._get_state()
        state["privacy_report_"] = np.array(json.dumps(self.privacy_report_))
        return state

    def _set_state(self, arrays, user_ids, item_ids):
        arrays = dict(arrays)
        report = json.loads(str(arrays["privacy_report_"]))
        super()._set_state(arrays, user_ids, item_ids)
        self.privacy_report_ = report
