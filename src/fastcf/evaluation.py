"""Fit a model, then measure it: ``evaluate`` on one split, ``cross_validate`` over folds,
``sampled_hit_rate_ndcg`` by the sampled-negatives protocol.

Protocol of the ranking metrics (full ranking, LensKit's convention): every
test user known to the training data gets a top-``k`` list from
``model.recommend(users, k)`` (training items excluded); its relevant items
are its test items (with ``relevance_threshold``, only those rated at least
that). Test items the model never saw stay in the relevant set -- no list can
hold them, so they lower recall as they should -- and are left out of AUC,
which ranks scored items only. RMSE and MAE cover every test pair, unknown
users and items through the model's fallback prediction (Surprise's
convention); they need ratings on both sides of the split and a model that
predicts ratings, so on implicit data (no rating column) and for models of
implicit feedback only the ranking and beyond-accuracy metrics are computed.
"""

import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import kernels
from . import metrics as m
from ._config import DIVERSITY_MAX_CELLS, RECOMMEND_BLOCK_CELLS
from ._validation import check_choice, check_int, check_memory
from .base import Recommender
from .data import Interactions
from .sampling import sample_negatives

#: Metrics of predicted ratings (skipped for models of implicit feedback).
RATING_METRICS = ("rmse", "mae")
#: Metrics of the top-k lists.
RANKING_METRICS = ("precision", "recall", "ndcg", "map", "mrr", "hit_rate", "auc")
#: Metrics of what is recommended rather than how well.
BEYOND_ACCURACY_METRICS = ("coverage", "novelty", "diversity", "popularity")
METRICS = RATING_METRICS + RANKING_METRICS + BEYOND_ACCURACY_METRICS


_AT_K = {"precision": m.precision_at_k, "recall": m.recall_at_k, "ndcg": m.ndcg_at_k,
         "map": m.map_at_k, "hit_rate": m.hit_rate_at_k}


def _no_rating_metrics(model, train, test):
    """Why RMSE / MAE mean nothing for ``model`` on this split, or None when they do."""
    if not getattr(model, "predicts_ratings", True):
        return (f"predicted ratings, but {type(model).__name__} predicts ranking scores "
                "(predicts_ratings is False)")
    for name, data in (("test", test), ("train", train)):
        if data.implicit:
            return f"ratings, but {name} is implicit (no rating column)"
    return None


def _check_metrics(metrics, model, train, test):
    """The metrics to compute: the default ones that apply, or those asked (checked)."""
    refusal = _no_rating_metrics(model, train, test)
    if metrics is None:
        wanted = RANKING_METRICS + BEYOND_ACCURACY_METRICS
        return list(wanted if refusal else RATING_METRICS + wanted)
    if isinstance(metrics, str):
        metrics = [metrics]
    metrics = list(metrics)
    for name in metrics:
        check_choice("metrics", name, METRICS)
    if not metrics:
        raise ValueError("metrics is empty, name at least one of: " + ", ".join(METRICS) + ".")
    asked = [name for name in metrics if name in RATING_METRICS]
    if asked and refusal:
        raise ValueError(f"{', '.join(asked)} {'needs' if len(asked) == 1 else 'need'} "
                         f"{refusal}; ask for ranking metrics only ("
                         f"{', '.join(RANKING_METRICS)}).")
    return metrics


def _check_interactions(train, test):
    for name, data in (("train", train), ("test", test)):
        if not isinstance(data, Interactions):
            raise TypeError(f"{name} must be an Interactions, got {type(data).__name__}.")


def _check_split(train, test):
    _check_interactions(train, test)
    if test.nnz == 0:
        raise ValueError("test is empty: nothing to evaluate.")


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _ranked_users_relevant(train, test, relevance_threshold=None):
    """The test users ``train`` knows (internal, ascending) and their relevant items.

    Relevant items are a CSR over ``train``'s internal items; each test item
    ``train`` never saw gets its own column past ``train.n_items``.
    """
    frame = test.to_frame()
    if relevance_threshold is not None:
        frame = frame[frame["rating"].to_numpy() >= relevance_threshold]
    users = train.user_index(np.unique(test.user_ids), strict=False)
    users = np.sort(users[users >= 0])
    rows = train.user_index(frame["user"].to_numpy(), strict=False)
    position = np.full(train.n_users, -1, dtype=np.int64)
    position[users] = np.arange(len(users))
    keep = rows >= 0
    rows, item_ids = position[rows[keep]], frame["item"].to_numpy()[keep]
    cols = train.item_index(item_ids, strict=False)
    unknown = cols < 0
    _, codes = np.unique(item_ids[unknown], return_inverse=True)
    cols[unknown] = train.n_items + codes
    n_cols = train.n_items + (int(codes.max()) + 1 if len(codes) else 0)
    matrix = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(users), n_cols))
    matrix.sum_duplicates()
    return users, matrix


def recommended_indices(model, items, scores):
    """``recommend``'s (items, scores) as internal item indices, padding (NaN score) -1."""
    return np.where(np.isnan(scores), -1, model.item_index(items.ravel()).reshape(items.shape))


def _full_auc(model, users, relevant, seen):
    """Full-ranking AUC over the model's items, by blocks of users."""
    n_items = model.n_items_
    relevant = relevant[:, :n_items]
    block = max(1, RECOMMEND_BLOCK_CELLS // n_items)
    values, setup = [], model._score_setup()
    for start in range(0, len(users), block):
        stop = min(start + block, len(users))
        scores = np.array(model._score_block(users[start:stop], setup=setup), dtype=np.float64)
        # "cannot score" (-inf) ranks below every scored item, all tied
        low = np.where(np.isfinite(scores), scores, np.inf).min(axis=1, keepdims=True)
        low = np.where(np.isfinite(low), low - 1.0, 0.0)
        scores = np.where(np.isfinite(scores), scores, low)
        values.append(m.auc(scores, relevant[start:stop], exclude=seen[start:stop],
                            per_user=True))
    return np.concatenate(values) if values else np.empty(0)


def _diversity(train_items, recommended):
    """Intra-list diversity with cosine item similarity of the training columns."""
    distinct = np.unique(recommended[recommended >= 0])
    if len(distinct) ** 2 > DIVERSITY_MAX_CELLS:
        return np.full(len(recommended), np.nan)
    columns = train_items[distinct]  # items x users
    similarity = kernels.similarity(columns.indptr, columns.indices, columns.data,
                                    columns.shape[1], "cosine_all")
    local = np.where(recommended >= 0, np.searchsorted(distinct, recommended), -1)
    return m.intra_list_diversity(local, similarity, per_user=True)


def _mean(values):
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else float("nan")


def evaluate(model, train, test, metrics=None, k=10, *, relevance_threshold=None,
             rerank=None):
    """Fit ``model`` on ``train`` and measure it on ``test``.

    Parameters
    ----------
    model : Recommender
        A fastcf estimator; fitted here, in place (its previous fit is replaced).
    train, test : Interactions
        E.g. the two sides of a :mod:`fastcf.split` split (external ids).
    metrics : list of str, optional
        From :data:`METRICS`. Default: all that apply: RMSE and MAE only when
        ``train`` and ``test`` both hold ratings and the model predicts ratings
        (not a model of implicit feedback such as :class:`~fastcf.NeuMF`,
        whose ``predicts_ratings`` is False). Asking for them where they do
        not apply raises ValueError.
    k : int
        Length of the recommendation lists.
    relevance_threshold : float, optional
        A test item is relevant if its rating is at least this; default every
        test item (the only choice when ``test`` is implicit).
    rerank : fastcf.rerank.MMR or fastcf.rerank.DPP, optional
        Re-rank the top-``k`` lists for diversity (``model.recommend(...,
        rerank=rerank)``); the ranking metrics then measure the re-ranked lists.
        AUC ranks the model's scores, which re-ranking leaves as they are.

    Returns
    -------
    pandas.Series
        One value per metric (means over the users that count, see
        :mod:`fastcf.metrics`), then ``fit_s``, ``predict_s`` (every test
        pair), ``recommend_s`` (top-``k`` for every known test user),
        ``n_test`` and ``n_users`` (the users ranked). With rating metrics
        only nothing is ranked: ``recommend_s`` and ``n_users`` are 0.
    """
    if not isinstance(model, Recommender):
        raise TypeError(f"model must be a fastcf estimator, got {type(model).__name__}.")
    _check_split(train, test)
    k = check_int("k", k, min_value=1)
    wanted = _check_metrics(metrics, model, train, test)
    if relevance_threshold is not None:
        if not np.isfinite(float(relevance_threshold)):
            raise ValueError(f"relevance_threshold == {relevance_threshold!r}, must be finite.")
        if test.implicit:
            raise ValueError("relevance_threshold needs ratings, but test is implicit (no "
                             "rating column): every test item is relevant.")
    out = {}
    fit_s, _ = _timed(lambda: model.fit(train))
    frame = test.to_frame()
    predict_s, predicted = _timed(lambda: model.predict(frame["user"].to_numpy(),
                                                        frame["item"].to_numpy()))
    if "rmse" in wanted:
        out["rmse"] = m.rmse(frame["rating"].to_numpy(), predicted)
    if "mae" in wanted:
        out["mae"] = m.mae(frame["rating"].to_numpy(), predicted)
    out.update(fit_s=fit_s, predict_s=predict_s, recommend_s=0.0, n_test=int(test.nnz),
               n_users=0)
    if all(name in RATING_METRICS for name in wanted):  # nothing to rank
        return _evaluation_row(model, wanted, out)
    # the fitted model's internal users and items are train's
    users, relevant = _ranked_users_relevant(train, test, relevance_threshold)
    recommend_s, (items, scores) = _timed(
        lambda: model.recommend(model.user_ids_[users], k, rerank=rerank))
    out.update(_list_metrics(model, train, users, relevant, items, scores, wanted, k))
    out.update(recommend_s=recommend_s, n_users=int(len(users)))
    return _evaluation_row(model, wanted, out)


def _list_metrics(model, train, users, relevant, items, scores, wanted, k):
    """The ranking and beyond-accuracy metrics of ``recommend``'s lists (means)."""
    recommended = recommended_indices(model, items, scores)
    out = {}
    per_user = {name: fn(recommended, relevant, k, per_user=True)
                for name, fn in _AT_K.items() if name in wanted}
    if "mrr" in wanted:
        per_user["mrr"] = m.mrr(recommended, relevant, k, per_user=True)
    if "auc" in wanted:
        indptr, indices = model._seen_block(users)
        seen = sp.csr_matrix((np.ones(len(indices)), indices, indptr),
                             shape=(len(users), model.n_items_))
        per_user["auc"] = _full_auc(model, users, relevant, seen)
    popularity = np.diff(train.by_item.indptr)
    if "coverage" in wanted:
        out["coverage"] = m.catalogue_coverage(recommended, model.n_items_)
    if "novelty" in wanted:
        per_user["novelty"] = m.novelty(recommended, popularity, train.n_users, per_user=True)
    if "diversity" in wanted:
        by_item = train.by_item
        train_items = sp.csr_matrix((by_item.data, by_item.indices, by_item.indptr),
                                    shape=(train.n_items, train.n_users))
        per_user["diversity"] = _diversity(train_items, recommended)
    if "popularity" in wanted:
        per_user["popularity"] = m.popularity_bias(recommended, popularity, per_user=True)
    for name in wanted:
        if name in per_user:
            out[name] = _mean(per_user[name])
    return out


#: What :func:`rerank_tradeoff` reports for each setting.
TRADEOFF_METRICS = ("ndcg", "precision", "diversity", "coverage", "novelty")
#: What its ``diversity`` column measures (every setting the same).
TRADEOFF_DIVERSITY = ("intra-list diversity: 1 - the mean cosine, over the pairs of a list, "
                      "of the two items' columns in train (their ratings, 1 when implicit)")


def rerank_tradeoff(model, train, test, reranker, values, *, k=10, fit=True,
                    item_similarity=None):
    """Accuracy against diversity for a sweep of a re-ranker's trade-off parameter.

    The model is fitted once (unless ``fit`` is False: then it must be fitted
    on ``train`` already); each value of ``lambda_`` (:class:`~fastcf.rerank.MMR`)
    or ``theta`` (:class:`~fastcf.rerank.DPP`) re-ranks the top-``k`` lists of
    every test user ``train`` knows, measured as :func:`evaluate` measures
    them. The first row, ``none``, is the model's own lists.

    Parameters
    ----------
    model : Recommender
    train, test : Interactions
    reranker : fastcf.rerank.MMR or fastcf.rerank.DPP
        Its other parameters (candidates, similarity / vectors, ...) are kept.
    values : sequence of float
        The ``lambda_`` (MMR) or ``theta`` (DPP) values, in the order given.
    k : int
    fit : bool
    item_similarity : ndarray or scipy sparse matrix (n_items, n_items), optional
        The similarity of the ``diversity`` column, over the model's internal
        items (e.g. the cosine of its item factors, to measure a re-ranker on
        its own terms); default the training columns' cosine of :func:`evaluate`.

    Returns
    -------
    pandas.DataFrame
        Index ``none``, then ``lambda_=v`` / ``theta=v``; columns
        :data:`TRADEOFF_METRICS` (``ndcg`` and ``precision`` at ``k``;
        ``diversity`` as :data:`TRADEOFF_DIVERSITY` says, the same item
        similarity for every row whatever the re-ranker used), then
        ``recommend_s`` and ``parameter`` (the value, NaN for ``none``).
        ``attrs`` holds ``similarity_used`` (the re-ranker's) and ``diversity``.
    """
    from .rerank._rerankers import DPP, MMR

    if not isinstance(model, Recommender):
        raise TypeError(f"model must be a fastcf estimator, got {type(model).__name__}.")
    if not isinstance(reranker, (MMR, DPP)):
        raise TypeError(f"reranker must be a fastcf.rerank.MMR or DPP, got "
                        f"{type(reranker).__name__}.")
    _check_split(train, test)
    k = check_int("k", k, min_value=1)
    name = "lambda_" if isinstance(reranker, MMR) else "theta"
    values = [float(v) for v in np.atleast_1d(np.asarray(values, dtype=object))]
    if not values:
        raise ValueError(f"values is empty, give at least one {name}.")
    settings = [reranker.set_params(**{name: v}) for v in values]  # each checked up front
    if fit:
        model.fit(train)
    users, relevant = _ranked_users_relevant(train, test)
    ids = model.user_ids_[users]
    rows, labels = [], []
    for label, setting, value in [("none", None, np.nan),
                                  *[(f"{name}={v:g}", s, v) for v, s in zip(values, settings)]]:
        seconds, (items, scores) = _timed(
            lambda setting=setting: model.recommend(ids, k, rerank=setting))
        row = _list_metrics(model, train, users, relevant, items, scores, TRADEOFF_METRICS, k)
        if item_similarity is not None:
            row["diversity"] = m.intra_list_diversity(
                recommended_indices(model, items, scores), item_similarity)
        rows.append({**row, "recommend_s": seconds, "parameter": value})
        labels.append(label)
    table = pd.DataFrame(rows, index=pd.Index(labels, name="setting"))[
        [*TRADEOFF_METRICS, "recommend_s", "parameter"]]
    table.attrs.update(similarity_used=settings[-1].similarity_used_,
                       diversity=TRADEOFF_DIVERSITY if item_similarity is None else
                       "intra-list diversity over the given item_similarity",
                       reranker=type(reranker).__name__, model=type(model).__name__, k=k)
    return table


def _evaluation_row(model, wanted, out):
    return pd.Series({name: out[name] for name in [*wanted, "fit_s", "predict_s",
                                                   "recommend_s", "n_test", "n_users"]},
                     name=type(model).__name__)


def _new_model(make_model):
    if isinstance(make_model, Recommender):
        return type(make_model)(**make_model.get_params())
    if callable(make_model):
        model = make_model()
        if not isinstance(model, Recommender):
            raise TypeError(f"make_model() returned {type(model).__name__}, must return a "
                            "fastcf estimator.")
        return model
    raise TypeError(f"make_model must be a fastcf estimator or a callable returning one, got "
                    f"{type(make_model).__name__}.")


def cross_validate(make_model, data, folds=5, split="random", metrics=None, k=10, *, seed=0,
                   relevance_threshold=None, rerank=None):
    """:func:`evaluate` a fresh model on each fold; one row per fold, then mean and std.

    Parameters
    ----------
    make_model : callable or Recommender
        Returns a new unfitted estimator (an estimator is copied by its
        ``get_params``), so the folds never share state.
    data : Interactions
    folds : int >= 2
    split : "random" or callable
        ``"random"``: :func:`fastcf.split.kfold` (each rating in one test
        fold). A callable ``split(data)`` returns the (train, test) pairs.
    metrics, k, relevance_threshold, rerank
        As in :func:`evaluate`.
    seed : int
        Seed of the folds.

    Returns
    -------
    pandas.DataFrame
        Index ``fold 1 .. fold n``, ``mean``, ``std`` (sample std over folds);
        columns as :func:`evaluate`'s Series.
    """
    from .split import kfold

    if not isinstance(data, Interactions):
        raise TypeError(f"data must be an Interactions, got {type(data).__name__}.")
    if isinstance(split, str):
        check_choice("split", split, ("random",))
        folds = check_int("folds", folds, min_value=2)
        splits = kfold(data, folds, seed=seed)
    elif callable(split):
        splits = list(split(data))
    else:
        raise TypeError(f"split must be 'random' or a callable, got {type(split).__name__}.")
    if not splits:
        raise ValueError("split produced no (train, test) pair.")
    rows = []
    for fold in splits:
        train, test = fold
        rows.append(evaluate(_new_model(make_model), train, test, metrics, k,
                             relevance_threshold=relevance_threshold, rerank=rerank))
    table = pd.DataFrame(rows, index=[f"fold {i + 1}" for i in range(len(rows))])
    summary = pd.DataFrame([table.mean(), table.std(ddof=1)], index=["mean", "std"])
    return pd.concat([table, summary])


#: Bytes per candidate that the sampled protocol holds at its peak: the int64
#: owners, items, queue and keys of ``sample_negatives``, the candidate matrix
#: and its copy, and the external ids and float64 scores given to ``predict``.
_SAMPLED_BYTES_PER_CANDIDATE = 8 * 8


def sampled_candidates(train, test, *, n_negatives=99, seed=0):
    """The candidate lists of the sampled-negatives protocol (see :func:`sampled_hit_rate_ndcg`).

    Parameters
    ----------
    train, test : Interactions
        The training data and the held-out pairs (external ids).
    n_negatives : int >= 1
    seed : int

    Returns
    -------
    users : ndarray of int64, shape (n,)
        Internal (``train``) index of each test pair's user, for the pairs whose
        user and item ``train`` knows.
    candidates : ndarray of int64, shape (n, 1 + n_negatives)
        Internal item indices: the test item first, then ``n_negatives`` drawn
        uniformly (seeded) from the items the user has in neither ``train`` nor
        ``test``.

    Raises
    ------
    ValueError
        ``n_negatives < 1``, candidate lists larger than the memory here, no
        test pair known to ``train``, or a test user without a free item.
    """
    _check_interactions(train, test)
    n_negatives = check_int("n_negatives", n_negatives, min_value=1)
    frame = test.to_frame()
    users = train.user_index(frame["user"].to_numpy(), strict=False)
    items = train.item_index(frame["item"].to_numpy(), strict=False)
    keep = (users >= 0) & (items >= 0)
    users, items = users[keep], items[keep]
    if len(users) == 0:
        raise ValueError("no test pair has a user and an item known to train.")
    check_memory(len(users) * (1 + n_negatives) * _SAMPLED_BYTES_PER_CANDIDATE,
                 f"the candidate lists of {len(users):,} test pairs", n_negatives=n_negatives)
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


def sampled_hit_rate_ndcg(model, train, test, *, k=10, n_negatives=99, seed=0):
    r"""HR@k and NDCG@k by the **sampled-negatives** protocol of He et al. (2017).

    Each test (user, item) is ranked by ``model.predict`` among itself and
    ``n_negatives`` items drawn uniformly (seeded) from those the user has in
    neither ``train`` nor ``test`` (:func:`sampled_candidates`). With :math:`r`
    the number of negatives scored at least as high as the test item (ties
    count against it), the hit is :math:`[r < k]` and the gain
    :math:`[r < k] / \log_2(r + 2)`; both are averaged over the test pairs
    (:func:`fastcf.metrics.hit_rate_ndcg_of_candidates`). Sampled metrics are
    not full-ranking metrics (Krichene & Rendle, 2020): compare them only with
    each other.

    Parameters
    ----------
    model : a fitted fastcf estimator (anything with ``predict(users, items)``)
    train, test : Interactions
        The model's training data and the held-out pairs (external ids; pairs
        whose user or item the model does not know are skipped).
    k, n_negatives : int >= 1
    seed : int

    Returns
    -------
    (hit_rate, ndcg) : tuple of float
    """
    k = check_int("k", k, min_value=1)
    users, candidates = sampled_candidates(train, test, n_negatives=n_negatives, seed=seed)
    scores = model.predict(train.user_ids[np.repeat(users, candidates.shape[1])],
                           train.item_ids[candidates.ravel()]).reshape(candidates.shape)
    return m.hit_rate_ndcg_of_candidates(scores, k)
