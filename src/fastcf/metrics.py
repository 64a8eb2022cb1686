"""Accuracy metrics (rating metrics now; ranking and beyond-accuracy metrics later)."""

import numpy as np


def _check_pair(y_true, y_pred):
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; "
                         "they must be equal and 1-d.")
    if len(y_true) == 0:
        raise ValueError("y_true is empty, must hold at least one rating.")
    for name, arr in (("y_true", y_true), ("y_pred", y_pred)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(f"{name} contains {int(bad.sum())} NaN/inf values (first at "
                             f"{int(np.argmax(bad))}).")
    return y_true, y_pred


def rmse(y_true, y_pred):
    r"""Root mean squared error, :math:`\sqrt{\frac1n \sum (y - \hat y)^2}`."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def mae(y_true, y_pred):
    r"""Mean absolute error, :math:`\frac1n \sum |y - \hat y|`."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


def sampled_candidates(train, test, *, n_negatives=99, seed=0):
    """The candidate lists of the sampled-negatives protocol (see :func:`sampled_hit_rate_ndcg`).

    Returns
    -------
    users : ndarray of int64, shape (n,)
        Internal (``train``) index of each test pair's user, for the pairs whose
        user and item ``train`` knows.
    candidates : ndarray of int64, shape (n, 1 + n_negatives)
        Internal item indices: the test item first, then ``n_negatives`` drawn
        uniformly (seeded) from the items the user has in neither ``train`` nor
        ``test``.
    """
    from .data import Interactions
    from .mlp import sample_negatives

    for name, data in (("train", train), ("test", test)):
        if not isinstance(data, Interactions):
            raise TypeError(f"{name} must be an Interactions, got {type(data).__name__}.")
    if not isinstance(n_negatives, (int, np.integer)) or n_negatives < 1:
        raise ValueError(f"n_negatives == {n_negatives!r}, must be an int >= 1.")
    frame = test.to_frame()
    users = train.user_index(frame["user"].to_numpy(), strict=False)
    items = train.item_index(frame["item"].to_numpy(), strict=False)
    keep = (users >= 0) & (items >= 0)
    users, items = users[keep], items[keep]
    if len(users) == 0:
        raise ValueError("no test pair has a user and an item known to train.")
    # what each user may not get as a negative: its train items and its test items
    known = np.unique(np.concatenate([
        np.repeat(np.arange(train.n_users), np.diff(train.by_user.indptr)) * train.n_items
        + train.by_user.indices, users * train.n_items + items]))
    rows, cols = np.divmod(known, train.n_items)
    indptr = np.zeros(train.n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=train.n_users), out=indptr[1:])
    free = train.n_items - np.diff(indptr)[users]
    if (free < 1).any():
        raise ValueError("a test user has interacted with every item: nothing to sample.")
    negatives = sample_negatives(users, indptr, cols, train.n_items, n_negatives,
                                 np.random.default_rng(seed))
    candidates = np.concatenate([items[:, None], negatives.reshape(len(users), n_negatives)],
                                axis=1)
    return users.astype(np.int64), candidates.astype(np.int64)


def hit_rate_ndcg_of_candidates(scores, k=10):
    r"""(HR@k, NDCG@k) from the scores of candidate lists, the positive in column 0.

    With :math:`r` the number of negatives scored at least as high as the
    positive (ties count against it): hit :math:`[r < k]`, gain
    :math:`[r < k] / \log_2(r + 2)`, both averaged over the rows.
    """
    scores = np.asarray(scores, dtype=np.float64)
    rank = (scores[:, 1:] >= scores[:, :1]).sum(axis=1)
    hit = rank < k
    return float(hit.mean()), float(np.mean(np.where(hit, 1.0 / np.log2(rank + 2.0), 0.0)))


def sampled_hit_rate_ndcg(model, train, test, *, k=10, n_negatives=99, seed=0):
    r"""HR@k and NDCG@k by the **sampled-negatives** protocol of He et al. (2017).

    Each test (user, item) is ranked by ``model.predict`` among itself and
    ``n_negatives`` items drawn uniformly (seeded) from those the user has in
    neither ``train`` nor ``test`` (:func:`sampled_candidates`). With :math:`r`
    the number of negatives scored at least as high as the test item (ties
    count against it), the hit is :math:`[r < k]` and the gain
    :math:`[r < k] / \log_2(r + 2)`; both are averaged over the test pairs.
    Sampled metrics are not full-ranking metrics (Krichene & Rendle, 2020):
    compare them only with each other.

    Parameters
    ----------
    model : a fitted fastcf estimator
    train, test : Interactions
        The model's training data and the held-out pairs (external ids; pairs
        whose user or item the model does not know are skipped).
    k, n_negatives : int
    seed : int

    Returns
    -------
    (hit_rate, ndcg) : tuple of float
    """
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k == {k!r}, must be an int >= 1.")
    users, candidates = sampled_candidates(train, test, n_negatives=n_negatives, seed=seed)
    scores = model.predict(train.user_ids[np.repeat(users, candidates.shape[1])],
                           train.item_ids[candidates.ravel()]).reshape(candidates.shape)
    return hit_rate_ndcg_of_candidates(scores, k)
