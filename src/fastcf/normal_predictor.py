r"""``NormalPredictor``: a random rating from the training ratings' normal fit (Surprise's).

.. math:: \hat r_{ui} \sim \mathcal N(\hat\mu, \hat\sigma^2), \quad
    \hat\mu = \frac{1}{|R|} \sum_{r \in R} r, \quad
    \hat\sigma = \sqrt{\frac{1}{|R|} \sum_{r \in R} (r - \hat\mu)^2}

(maximum likelihood: the population standard deviation), clipped to the
training ratings' range like every prediction.
"""

import numpy as np

from ._parallel import resolve_n_threads
from ._surprise import surprise_rng
from ._validation import check_bool, check_int
from .base import Recommender
from .kernels._registry import check_backend
from .persist import Array, Schema

__all__ = ["NormalPredictor"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def _splitmix64(x):
    """SplitMix64's output function of uint64 array ``x`` (a bijection that mixes all bits)."""
    with np.errstate(over="ignore"):  # the arithmetic is modulo 2**64 on purpose
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX_1
        z = (z ^ (z >> np.uint64(27))) * _MIX_2
    return z ^ (z >> np.uint64(31))


def _unit_interval(bits):
    """Uniform floats in [0, 1) from the high 53 bits of uint64 ``bits``."""
    return (bits >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def pair_normals(seed, users, items):
    """A standard normal draw per (user, item) pair, a function of ``seed`` and the pair.

    Parameters
    ----------
    seed : int
    users, items : ndarray of int64, broadcastable
        Internal indices; -1 (unknown) is an index like any other.

    Returns
    -------
    ndarray of float64, the broadcast shape
        Box-Muller on two uniforms from SplitMix64 hashes of (seed, user, item).
    """
    key = _splitmix64(np.asarray(seed, dtype=np.uint64))
    key = _splitmix64(key ^ (np.asarray(users, dtype=np.int64) + 1).astype(np.uint64))
    key = _splitmix64(key ^ (np.asarray(items, dtype=np.int64) + 1).astype(np.uint64))
    radius = np.sqrt(-2.0 * np.log1p(-_unit_interval(key)))  # 1 - u in (0, 1]
    return radius * np.cos(2.0 * np.pi * _unit_interval(_splitmix64(key)))


class NormalPredictor(Recommender):
    """A normal draw around the mean rating (Surprise's ``NormalPredictor``).

    Parameters
    ----------
    clip : bool
        Clip predictions to the training ratings' range, as Surprise clips to its
        rating scale.
    surprise_compat : bool
        True: ``predict`` draws from NumPy's global ``RandomState``
        (``numpy.random.normal``), one draw per pair in the order asked, as
        Surprise's ``estimate`` does: after ``numpy.random.seed(s)``, predicting
        the pairs Surprise's ``algo.test`` saw, in its order, gives its
        predictions; every call then gives new numbers. False (fastcf's mode): a
        pair's draw is a function of ``seed`` and the pair's internal indices
        (see :func:`pair_normals`; unknown ids count as one index, -1): the same
        pair gets the same number in every call, batch and process, and after
        ``save`` / ``load``; there is no generator state to advance.
    seed : int
        Of fastcf's mode's draws (and of ``recommend`` in both modes).
    backend : {"auto", "numba", "cython", "reference"}
        Backend of the top-k kernel that ``recommend`` ranks with.
    n_threads : int or None
        Threads of that kernel; the lists do not depend on it.

    Attributes
    ----------
    global_mean_, sigma_ : float
        :math:`\\hat\\mu` and :math:`\\hat\\sigma`.

    Notes
    -----
    Unknown ids get a draw like any pair (Surprise's ``NormalPredictor`` needs
    nothing of the user or item). ``recommend`` ranks each user's items by their
    unclipped fastcf-mode draws: a random ranking, reproducible from ``seed``,
    different per user (all unknown users share one), consistent with ``predict``
    in fastcf's mode up to clipping. It is a floor to compare rankers with, not a
    recommender.
    """

    _state_schema = Schema({
        "global_mean_": Array("f"), "sigma_": Array("f"), "rating_range_": Array("f", (2,)),
    })

    def __init__(self, clip=True, surprise_compat=False, seed=0, backend="auto",
                 n_threads=None):
        self.clip = clip
        self.surprise_compat = surprise_compat
        self.seed = seed
        self.backend = backend
        self.n_threads = n_threads

    def _check_params(self):
        check_bool("clip", self.clip)
        check_bool("surprise_compat", self.surprise_compat)
        check_int("seed", self.seed, min_value=0)
        check_backend(self.backend)
        resolve_n_threads(self.n_threads)

    def _fit(self, data):
        if data.implicit:
            raise ValueError("NormalPredictor needs explicit ratings; this data is implicit.")
        ratings = data.ratings.astype(np.float64)
        self.global_mean_ = np.float64(data.global_mean)
        self.sigma_ = np.float64(np.sqrt(np.mean((ratings - self.global_mean_) ** 2)))
        self.rating_range_ = np.array(data.rating_range, dtype=np.float64)

    def _predict_internal(self, users, items):
        mean, sigma = float(self.global_mean_), float(self.sigma_)
        if self.surprise_compat:
            est = surprise_rng(None).normal(mean, sigma, size=len(users))
        else:
            est = mean + sigma * pair_normals(self.seed, users, items)
        if self.clip:
            np.clip(est, self.rating_range_[0], self.rating_range_[1], out=est)
        return est

    def _score_block(self, users, out=None, setup=None):
        draws = pair_normals(self.seed, users[:, None], np.arange(self.n_items_)[None, :])
        scores = np.empty((len(users), self.n_items_)) if out is None else out
        np.multiply(draws, float(self.sigma_), out=scores)
        scores += float(self.global_mean_)
        return scores
