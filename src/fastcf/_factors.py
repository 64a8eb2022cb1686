"""What the factor models (MF, ALS, BPR) share beyond ``base.Recommender``."""

import numpy as np

from ._validation import check_float, check_int
from .base import _as_id_array, _raise_unknown
from .kernels import topk


def similar_items(model, item_factors, items, n):
    """The ``n`` items whose factors are closest in cosine to each item's, self excluded.

    Parameters
    ----------
    model : Recommender
        Fitted; its id maps, ``backend`` and ``n_threads`` are used.
    item_factors : ndarray, shape (n_items, factors)
    items : array-like of external item ids
    n : int

    Returns
    -------
    ids : ndarray, shape (len(items), n)
    scores : ndarray of float64, shape (len(items), n)
        Cosines, descending; an item whose factors are all zero has cosine 0
        with every item.
    """
    model._check_is_fitted()
    n = check_int("n", n, min_value=1, max_value=max(model.n_items_ - 1, 1))
    ids = _as_id_array(items, "items")
    idx = model.item_index(ids)
    _raise_unknown(ids, idx < 0, "item")
    q = item_factors.astype(np.float64)
    norms = np.linalg.norm(q, axis=1)
    unit = np.divide(q, norms[:, None], out=np.zeros_like(q), where=norms[:, None] > 0)
    scores = np.ascontiguousarray(unit[idx] @ unit.T)
    self_excluded = (np.arange(len(idx) + 1, dtype=np.int64), idx.astype(np.int64))
    top, val = topk(scores, n, self_excluded, backend=getattr(model, "backend", "auto"),
                    n_threads=getattr(model, "n_threads", None))
    return model.item_ids_[np.maximum(top, 0)], val


def check_sgd_rates(model, parts):
    """Check an SGD model's ``lr`` and ``reg`` and their ``lr_<part>`` / ``reg_<part>``
    overrides (None: the shared value)."""
    check_float("lr", model.lr, min_value=0.0, min_inclusive=False)
    check_float("reg", model.reg, min_value=0.0)
    for part in parts:
        if getattr(model, f"lr_{part}") is not None:
            check_float(f"lr_{part}", getattr(model, f"lr_{part}"), min_value=0.0,
                        min_inclusive=False)
        if getattr(model, f"reg_{part}") is not None:
            check_float(f"reg_{part}", getattr(model, f"reg_{part}"), min_value=0.0)


def sgd_rates(model, parts):
    """(learning rates, regularisations) of ``parts``, the overrides in force."""
    def pick(kind):
        shared = getattr(model, kind)
        return tuple(shared if getattr(model, f"{kind}_{part}") is None
                     else getattr(model, f"{kind}_{part}") for part in parts)

    return pick("lr"), pick("reg")


def check_surprise_sgd(model):
    """``surprise_compat=True`` of an SGD model: float64 and the serial schedule."""
    if not model.surprise_compat:
        return
    if np.dtype(model.dtype) != np.float64:
        raise ValueError("surprise_compat=True computes in float64 as Surprise does; pass "
                         "dtype=np.float64.")
    if model.schedule != "serial":
        raise ValueError(f"surprise_compat=True visits the ratings in Surprise's order on "
                         f"one thread; schedule == {model.schedule!r}, pass "
                         f"schedule='serial'.")


def sgd_diverged_message(model, parts, epoch):
    """What an SGD model that diverged at ``epoch`` says: the learning rates in force."""
    rates = sgd_rates(model, parts)[0]
    if len(set(rates)) == 1:
        shown = f"lr == {rates[0]}"
    else:
        shown = ", ".join(f"lr_{part} == {rate}" for part, rate in zip(parts, rates))
    return (f"SGD diverged at epoch {epoch}: the loss or the factors became NaN/inf; "
            f"lower the learning rates ({shown}) or raise reg.")
