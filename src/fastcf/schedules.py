"""SGD schedules of :class:`~fastcf.MatrixFactorization`: the order an epoch
visits the ratings in, and on how many threads.

A schedule is an object with two methods (:class:`Schedule`):

- ``start(users, items, ratings, n_users, n_items, rng)``, once per ``fit``
  or ``partial_fit``: lays the ratings out for the epochs (internal indices,
  the factors' dtype; it copies what it reorders: the arrays are the caller's).
- ``epoch(mu, user_bias, item_bias, user_factors, item_factors, lr, reg,
  biased, rng) -> float``, once per epoch: updates the four arrays in place
  (Surprise ``SVD``'s updates, :func:`fastcf.kernels.sgd_epoch`) with the
  epoch's learning rates ``lr`` and regularisations ``reg`` (4-tuples: bu, bi,
  pu, qi) and returns the sum of the squared errors it saw.

``rng`` is the model's seeded ``numpy.random.Generator``: a schedule draws
its layout and every epoch's order from it, so a seed gives the same model.
The model builds :class:`Serial`, :class:`Blocked` or :class:`Hogwild` from
its ``schedule`` parameter (:class:`Ordered` with ``surprise_compat=True``);
``MatrixFactorization.fit(..., schedule=)`` takes any object of this protocol
for one fit (``fastcf.distributed.fit_mf`` passes its DSGD one).
"""

from abc import ABC, abstractmethod

from ._parallel import resolve_n_threads
from ._validation import check_choice, check_int
from .kernels._registry import check_backend
from .kernels.mf import (
    block_grid,
    run_sgd_epoch,
    run_sgd_epoch_blocked,
    run_sgd_epoch_hogwild,
    run_shuffle_ratings,
)

__all__ = ["Blocked", "Hogwild", "Ordered", "Schedule", "Serial"]

#: How ``Blocked`` and ``Hogwild`` visit the ratings of one cell.
CELL_ORDERS = ("sorted", "shuffled")


class Schedule(ABC):
    """The protocol of an SGD schedule (see the module docstring)."""

    @abstractmethod
    def start(self, users, items, ratings, n_users, n_items, rng):
        """Lay out the ratings (internal indices) for the epochs that follow."""

    @abstractmethod
    def epoch(self, mu, user_bias, item_bias, user_factors, item_factors, lr, reg, biased,
              rng):
        """Run one epoch, updating the arrays in place; return the sum of e^2."""


class Ordered(Schedule):
    """One thread, the ratings in the order ``start`` is given them, every epoch.

    No randomness: with the ratings in Surprise's ``trainset.all_ratings()``
    order (``MatrixFactorization(surprise_compat=True)`` lays them out so)
    the epochs are Surprise ``SVD``'s.

    Parameters
    ----------
    backend : {"auto", "numba", "cython", "reference"}
    """

    def __init__(self, *, backend="auto"):
        self.backend = check_backend(backend)

    def start(self, users, items, ratings, n_users, n_items, rng):
        self._ratings = (users, items, ratings)  # only read

    def epoch(self, mu, user_bias, item_bias, user_factors, item_factors, lr, reg, biased,
              rng):
        return run_sgd_epoch(*self._ratings, mu, user_bias, item_bias, user_factors,
                             item_factors, lr, reg, biased, backend=self.backend)


class Serial(Ordered):
    """One thread, a fresh seeded shuffle of every rating each epoch.

    A seed gives the same model bit for bit on a backend.

    Parameters
    ----------
    backend : {"auto", "numba", "cython", "reference"}
    """

    def start(self, users, items, ratings, n_users, n_items, rng):
        # the epochs shuffle these arrays in place (and then stream them)
        self._ratings = (users.copy(), items.copy(), ratings.copy())

    def epoch(self, mu, user_bias, item_bias, user_factors, item_factors, lr, reg, biased,
              rng):
        run_shuffle_ratings(*self._ratings, rng.integers(2**63), backend=self.backend)
        return super().epoch(mu, user_bias, item_bias, user_factors, item_factors, lr, reg,
                             biased, rng)


class _Grid(Schedule):
    """The ratings cut into a grid of (user block, item block) cells.

    Parameters
    ----------
    blocks : int
        Blocks per side (at most the number of users and of items).
    cell_order : {"sorted", "shuffled"}
        A cell's ratings by user (LIBMF's order: the user factors then stream
        from memory) or freshly shuffled every epoch.
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
    """

    def __init__(self, blocks=32, *, cell_order="sorted", backend="auto", n_threads=None):
        self.blocks = check_int("blocks", blocks, min_value=1)
        self.shuffle = check_choice("cell_order", cell_order, CELL_ORDERS) == "shuffled"
        self.backend = check_backend(backend)
        self.n_threads = resolve_n_threads(n_threads)

    def start(self, users, items, ratings, n_users, n_items, rng):
        self._g = max(1, min(self.blocks, n_users, n_items))
        positions, self._block_ptr = block_grid(users, items, n_users, n_items, self._g,
                                                rng.integers(2**63))
        self._ratings = (users[positions], items[positions], ratings[positions])


class Blocked(_Grid):
    """FPSGD over a grid of rating cells (parameters: see ``_Grid``): threads
    update cells that share no user and no item, in a seeded random schedule;
    the same model for a seed whatever ``n_threads``."""

    def epoch(self, mu, user_bias, item_bias, user_factors, item_factors, lr, reg, biased,
              rng):
        g = self._g
        return run_sgd_epoch_blocked(
            *self._ratings, self._block_ptr, rng.permutation(g), rng.permutation(g),
            rng.integers(2**63), mu, user_bias, item_bias, user_factors, item_factors, lr,
            reg, biased, shuffle=self.shuffle, backend=self.backend, n_threads=self.n_threads)


class Hogwild(_Grid):
    """A grid of rating cells (parameters: see ``_Grid``) in a fresh random
    order each epoch, handed out one at a time to threads that update them
    without locks or rounds: fast, but concurrent updates of one row may be
    lost, so two runs on several threads can differ (their accuracy does not,
    measurably)."""

    def epoch(self, mu, user_bias, item_bias, user_factors, item_factors, lr, reg, biased,
              rng):
        return run_sgd_epoch_hogwild(
            *self._ratings, self._block_ptr, rng.permutation(self._g * self._g),
            rng.integers(2**63), mu, user_bias, item_bias, user_factors, item_factors, lr,
            reg, biased, shuffle=self.shuffle, backend=self.backend, n_threads=self.n_threads)
