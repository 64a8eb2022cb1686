"""Negative sampling for implicit feedback: items a user has not interacted with."""

import numpy as np


def sample_negatives(users, positives_indptr, positives_indices, n_items, n_negatives, rng):
    """``n_negatives`` items per entry of ``users``, uniform over the items each
    user has no interaction with (``positives_*``: the user's items, a CSR with
    sorted rows). Returns int64 items, shape (len(users) * n_negatives,), the
    negatives of ``users[k]`` at ``k * n_negatives ...``.

    Draws uniformly and redraws the collisions until none is left (a user
    with every item as a positive would never finish: the caller refuses it).
    """
    owners = np.repeat(np.asarray(users, dtype=np.int64), n_negatives)
    counts = np.diff(positives_indptr)
    keys = np.repeat(np.arange(len(counts), dtype=np.int64), counts) * n_items + \
        np.asarray(positives_indices, dtype=np.int64)
    items = rng.integers(0, n_items, len(owners))
    todo = np.arange(len(owners))
    while len(todo):
        query = owners[todo] * n_items + items[todo]
        pos = np.searchsorted(keys, query)
        hit = (pos < len(keys)) & (keys[np.minimum(pos, len(keys) - 1)] == query)
        todo = todo[hit]
        items[todo] = rng.integers(0, n_items, len(todo))
    return items
