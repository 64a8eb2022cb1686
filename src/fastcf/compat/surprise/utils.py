"""``get_rng``: Surprise's ``random_state`` handling."""

import numbers

import numpy as np

__all__ = ["get_rng"]


def get_rng(random_state):
    """The ``numpy.random.RandomState`` for ``random_state``.

    None is NumPy's global ``RandomState``; an int seeds a new one; a
    ``RandomState`` is returned as is. Anything else is a ValueError.
    """
    if random_state is None:
        return np.random.mtrand._rand
    if isinstance(random_state, (numbers.Integral, np.integer)) and not isinstance(
            random_state, bool):
        return np.random.RandomState(random_state)
    if isinstance(random_state, np.random.RandomState):
        return random_state
    raise ValueError("Wrong random state. Expecting None, an int or a numpy "
                     f"RandomState instance, got a {type(random_state)}")
