"""Hyper-parameter search: :func:`grid_search`, :func:`random_search`, and the runner
under them, :func:`parallel_map`.

A search evaluates every (setting, fold) pair with :func:`fastcf.evaluation.evaluate`
(a fresh model per pair), in parallel: worker processes on this machine
(``n_jobs``), or a Dask cluster (``client``, or ``data`` a
:class:`fastcf.distributed.Persisted`). The folds are sent to each worker
once, when it starts (Dask: once per search, or once per handle of persisted
data for all its searches), never with each task. Every fit runs on one thread unless
the model's ``n_threads`` says otherwise, so the results are the same whatever
``n_jobs`` or ``client``.

Worker processes are started by ``spawn`` (see ``_config.SEARCH_START_METHOD``):
a script that searches with ``n_jobs > 1`` must guard its top level with
``if __name__ == "__main__":``, and what it passes (``make_model`` and the
parameter values) must pickle -- a class, an estimator, a module-level function
or a ``functools.partial`` of one; not a lambda.
"""

import itertools
import multiprocessing
import pickle
import warnings
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import pandas as pd

from ._config import SEARCH_START_METHOD
from ._parallel import resolve_n_threads
from ._validation import check_choice, check_int
from .data import Interactions
from .evaluation import (
    BEYOND_ACCURACY_METRICS,
    RANKING_METRICS,
    RATING_METRICS,
    _check_metrics,
    _new_model,
    _no_rating_metrics,
    evaluate,
)

__all__ = ["SearchResult", "grid_search", "parallel_map", "random_search"]

#: Metrics a search can rank by, and which way is better.
LOWER_IS_BETTER = RATING_METRICS
HIGHER_IS_BETTER = RANKING_METRICS


# ------------------------------------------------------------------- runner
def resolve_n_jobs(n_jobs):
    """``n_jobs`` as a count of processes: None or -1 every usable core, else >= 1."""
    return resolve_n_threads(n_jobs, "n_jobs")


#: What a worker process was given when it started: the task function and its data.
_WORKER = {}


def _start_worker(fn, shared, booted):
    _WORKER["fn"], _WORKER["shared"] = fn, shared
    with booted.get_lock():
        booted.value += 1


def _run_in_worker(task):
    return _WORKER["fn"](_WORKER["shared"], task)


def _run_pair(fn_shared, task):
    fn, shared = fn_shared
    return fn(shared, task)


def parallel_map(fn, shared, tasks, *, n_jobs=None, client=None):
    """``[fn(shared, task) for task in tasks]``, computed in parallel.

    ``shared`` (the data every task reads) goes to each worker once; each task
    travels alone. Locally, ``n_jobs - 1`` worker processes are started and this
    process runs tasks too, from the start: the workers join as they finish
    booting (~1 s each), so short searches do not wait for them.

    Parameters
    ----------
    fn : callable
        ``fn(shared, task)``; module-level (it is pickled by reference).
    shared : object
        Picklable; sent once to each worker (Dask: scattered once to every worker).
    tasks : iterable
        Small picklable objects.
    n_jobs : int, optional
        Processes in all (this one included): None or -1 every usable core.
        Ignored with ``client``.
    client : dask.distributed.Client or str, optional
        Run the tasks on this Dask cluster instead (``fastcf[dask]``).

    Returns
    -------
    list
        The results, in the order of ``tasks``.
    """
    tasks = list(tasks)
    if client is not None:
        from .distributed._cluster import _executor

        return _map_on(_executor(client), _run_pair, (), (fn, shared), tasks)
    n_jobs = min(resolve_n_jobs(n_jobs), len(tasks))
    if n_jobs <= 1:
        return [fn(shared, task) for task in tasks]
    return _pool_map(fn, shared, tasks, n_jobs - 1)


def _map_on(executor, fn, resident, shared, tasks):
    """``[fn(*resident, shared, task) for task in tasks]`` as tasks of a Dask executor.

    ``resident``: futures already on the workers (a persisted handle's layouts);
    ``shared`` is scattered to every worker once per job (again if the job is
    run again after a lost worker).
    """
    def job():
        future = executor.scatter_one(shared, broadcast=True)
        return executor.gather([executor.submit(fn, *resident, future, task) for task in tasks])

    return list(executor.retrying(job))


def _pool_map(fn, shared, tasks, n_workers):
    context = multiprocessing.get_context(SEARCH_START_METHOD)
    booted = context.Value("i", 0)
    results = [None] * len(tasks)
    pending = deque(range(len(tasks)))
    running = {}
    pool = ProcessPoolExecutor(n_workers, mp_context=context, initializer=_start_worker,
                               initargs=(fn, shared, booted))
    try:
        pool.submit(int)  # starts the workers now: they boot while this process works
        while pending or running:
            for future in [f for f in running if f.done()]:
                results[running.pop(future)] = future.result()
            # two tasks per booted worker: one running, one waiting behind it
            while pending and len(running) < 2 * booted.value:
                index = pending.popleft()
                running[pool.submit(_run_in_worker, tasks[index])] = index
            if pending:  # this process takes from the other end
                index = pending.pop()
                results[index] = fn(shared, tasks[index])
            elif running:
                wait(running, return_when=FIRST_COMPLETED)
    except BrokenProcessPool as exc:
        raise RuntimeError(
            f"a worker process of the search died ({exc}). Worker processes are started "
            f"by {SEARCH_START_METHOD!r}: a script must guard its top level with "
            "`if __name__ == '__main__':`; or pass n_jobs=1.") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return results


# ------------------------------------------------------------------- search
@dataclass(repr=False)
class SearchResult:
    """What :func:`grid_search` and :func:`random_search` return.

    Attributes
    ----------
    results : pandas.DataFrame
        One row per setting, in the order evaluated: ``params`` (a dict), one
        column per parameter, ``mean_<metric>`` and ``std_<metric>`` (sample std
        over the folds) of each metric, ``mean_fit_s`` and ``mean_test_s``
        (predict and recommend) per fold, and ``rank`` (1 = best by ``metric``;
        ties keep the earlier setting first).
    metric : str
        The metric the settings are ranked by.
    best_index : int
        Row of the best setting.
    best_params : dict
    best_score : float
        Its mean ``metric`` over the folds.
    best_model : Recommender or None
        A model with ``best_params`` fitted on all the data (``refit=True``).
    """

    results: pd.DataFrame
    metric: str
    best_index: int
    best_params: dict
    best_score: float
    best_model: object = None

    def __repr__(self):
        return (f"SearchResult({len(self.results)} settings, best {self.metric} "
                f"{self.best_score:.6g} with {self.best_params})")


def _check_values(name, values, *, allow_distribution=False):
    if allow_distribution and hasattr(values, "rvs"):
        return values
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__len__"):
        kind = "a list of values or a distribution with .rvs" if allow_distribution else \
            "a list of values"
        raise TypeError(f"the values of {name!r} must be {kind}, got "
                        f"{type(values).__name__}.")
    values = list(values)
    if not values:
        raise ValueError(f"the values of {name!r} are empty, give at least one.")
    return values


def _check_space(space, name, model, *, allow_distribution=False):
    if not isinstance(space, dict):
        raise TypeError(f"{name} must be a dict of parameter name -> values, got "
                        f"{type(space).__name__}.")
    if not space:
        raise ValueError(f"{name} is empty: name at least one parameter and its values.")
    valid = model._param_names()
    unknown = [key for key in space if key not in valid]
    if unknown:
        raise ValueError(f"{type(model).__name__} has no parameter "
                         f"{', '.join(map(repr, unknown))}; its parameters: "
                         f"{', '.join(valid)}.")
    return {key: _check_values(key, values, allow_distribution=allow_distribution)
            for key, values in space.items()}


def _python(value):
    """A NumPy scalar as the Python scalar it holds (clean tables, exact parameters)."""
    return value.item() if isinstance(value, np.generic) else value


def _check_folds(folds, data, seed):
    from .split import kfold

    if isinstance(folds, Integral) and not isinstance(folds, bool):
        return [tuple(fold) for fold in kfold(data, check_int("folds", folds, min_value=2),
                                              seed=seed)]
    if isinstance(folds, (str, bytes)) or not hasattr(folds, "__iter__"):
        raise TypeError(f"folds must be an int or a list of (train, test) splits, got "
                        f"{type(folds).__name__}.")
    folds = [tuple(fold) for fold in folds]
    if not folds:
        raise ValueError("folds is empty: give at least one (train, test) split.")
    for i, fold in enumerate(folds):
        if len(fold) != 2 or not all(isinstance(part, Interactions) for part in fold):
            raise TypeError(f"folds[{i}] must be a (train, test) pair of Interactions (e.g. a "
                            "fastcf.split.TrainTest).")
    return folds


def _check_search_metrics(metrics, rank_by, model, train, test):
    if metrics is None:
        metrics = ["ndcg"] if _no_rating_metrics(model, train, test) else ["rmse", "mae"]
    metrics = _check_metrics(metrics, model, train, test)
    if rank_by is None:
        rank_by = metrics[0]
    check_choice("rank_by", rank_by, metrics)
    if rank_by in BEYOND_ACCURACY_METRICS:
        raise ValueError(f"rank_by == {rank_by!r}: {rank_by} has no better direction; rank "
                         f"by one of {', '.join(LOWER_IS_BETTER + HIGHER_IS_BETTER)}.")
    return metrics, rank_by


def _checked_model(make_model, params):
    """A new model from ``make_model`` with ``params`` set, one thread unless told."""
    model = _new_model(make_model)
    model.set_params(**params)
    if getattr(model, "n_threads", 0) is None:
        model.set_params(n_threads=1)
    return model


def _evaluate_task(shared, task):
    make_model, folds, metrics, k, relevance_threshold = shared
    params, fold = task
    train, test = folds[fold]
    row = evaluate(_checked_model(make_model, params), train, test, metrics, k,
                   relevance_threshold=relevance_threshold)
    return row.to_dict()


def _evaluate_on_folds(folds, rest, task):
    """:func:`_evaluate_task` with the folds apart (a persisted handle's, on the workers)."""
    make_model, metrics, k, relevance_threshold = rest
    return _evaluate_task((make_model, folds, metrics, k, relevance_threshold), task)


def _persisted_folds(handle, folds, seed):
    """``(the future of the folds on the cluster, the folds)``: split and sent once per handle.

    Only ``folds`` given as a count with an int ``seed`` is kept (the layout
    of the handle's data named by the count and the seed); splits given as a
    list, or drawn from fresh entropy or a Generator (another split each
    search), are sent by each search (``None`` future).
    """
    counted = isinstance(folds, Integral) and not isinstance(folds, bool)
    if not (counted and isinstance(seed, Integral)):
        return None, _check_folds(folds, handle.data, seed)
    n_folds = check_int("folds", folds, min_value=2)

    def build():
        split = _check_folds(n_folds, handle.data, seed)
        return handle._executor.scatter_one(split, broadcast=True), split

    return handle.layout(("search-folds", n_folds, int(seed)), build)


def _search(make_model, settings, data, folds, metrics, k, rank_by, n_jobs, client, seed,
            refit, relevance_threshold):
    from .distributed.persist import Persisted, resolve

    handle = None
    if isinstance(data, Persisted):
        if n_jobs is not None:
            raise ValueError("data is a Persisted: its Dask cluster's workers run the tasks; "
                             "leave n_jobs None.")
        _, data, handle = resolve(data, client)
    if not isinstance(data, Interactions):
        raise TypeError(f"data must be an Interactions, got {type(data).__name__}.")
    model = _new_model(make_model)
    k = check_int("k", k, min_value=1)
    if handle is None:
        folds_future, folds = None, _check_folds(folds, data, seed)
    else:
        folds_future, folds = _persisted_folds(handle, folds, seed)
    metrics, rank_by = _check_search_metrics(metrics, rank_by, model, *folds[0])
    if client is not None and n_jobs is not None:
        raise ValueError("give n_jobs or client, not both: with client the Dask cluster's "
                         "workers run the tasks.")
    on_dask = client is not None or handle is not None
    n_jobs = None if on_dask else resolve_n_jobs(n_jobs)
    for params in settings:  # every bad value refused here, before any fit
        _checked_model(make_model, params)
    if on_dask or (n_jobs > 1 and len(settings) * len(folds) > 1):
        try:
            pickle.dumps((make_model, settings))
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise TypeError(f"make_model and the parameter values must pickle to run in "
                            f"worker processes ({exc}): pass a class, an estimator or a "
                            f"module-level function, not a lambda; or n_jobs=1.") from None
    tasks = [(params, fold) for params in settings for fold in range(len(folds))]
    shared = (make_model, folds, metrics, k, relevance_threshold)
    if handle is None:
        rows = parallel_map(_evaluate_task, shared, tasks, n_jobs=n_jobs, client=client)
    elif folds_future is None:
        rows = _map_on(handle._executor, _evaluate_task, (), shared, tasks)
    else:  # the folds are on the workers already
        rows = _map_on(handle._executor, _evaluate_on_folds, (folds_future,),
                       (make_model, metrics, k, relevance_threshold), tasks)
    table = _results_table(settings, rows, len(folds), metrics, rank_by)
    best = int(np.flatnonzero(table["rank"].to_numpy() == 1)[0])
    best_model = None
    if refit:
        best_model = _new_model(make_model).set_params(**settings[best]).fit(data)
    return SearchResult(table, rank_by, best, dict(settings[best]),
                        float(table[f"mean_{rank_by}"].iloc[best]), best_model)


def _results_table(settings, rows, n_folds, metrics, rank_by):
    names = list(dict.fromkeys(name for params in settings for name in params))
    columns = {"params": [dict(p) for p in settings]}
    columns.update({name: [p.get(name) for p in settings] for name in names})

    def per_setting(key):
        return np.array([row[key] for row in rows], dtype=np.float64).reshape(-1, n_folds)

    for metric in metrics:
        values = per_setting(metric)
        columns[f"mean_{metric}"] = values.mean(axis=1)
        columns[f"std_{metric}"] = values.std(axis=1, ddof=1) if n_folds > 1 else np.nan
    columns["mean_fit_s"] = per_setting("fit_s").mean(axis=1)
    columns["mean_test_s"] = (per_setting("predict_s") + per_setting("recommend_s")).mean(axis=1)
    score = columns[f"mean_{rank_by}"]
    key = score if rank_by in LOWER_IS_BETTER else -score
    rank = np.empty(len(settings), dtype=np.int64)
    rank[np.argsort(np.where(np.isnan(key), np.inf, key), kind="stable")] = \
        np.arange(1, len(settings) + 1)
    columns["rank"] = rank
    return pd.DataFrame(columns)


def grid_search(make_model, param_grid, data, folds=5, metrics=None, *, k=10, rank_by=None,
                n_jobs=None, client=None, seed=0, refit=True, relevance_threshold=None):
    """Cross-validate every combination of ``param_grid``; rank them; refit the best.

    Parameters
    ----------
    make_model : estimator class, estimator, or callable
        Gives the model each setting starts from: a class (its defaults), an
        estimator (copied by its ``get_params``; its parameters are the base), or
        a callable returning a new unfitted estimator.
    param_grid : dict
        Parameter name (from the model's ``get_params``) -> non-empty list of
        values. Settings are the Cartesian product, the last name varying fastest.
    data : Interactions or fastcf.distributed.Persisted
        Split into ``folds``; the best setting is refitted on all of it (here).
        A Persisted runs the search on its Dask cluster (``client`` None or
        its own): with ``folds`` a count, the folds are split and sent to the
        workers once per handle, count and ``seed``, and reused by the next
        searches on the handle.
    folds : int >= 2 or list of (train, test)
        ``k``: :func:`fastcf.split.kfold` with ``seed``; or the splits themselves
        (e.g. a list of :class:`fastcf.split.TrainTest`).
    metrics : str or list of str, optional
        From :data:`fastcf.evaluation.METRICS`; default ``["rmse", "mae"]``, or
        ``["ndcg"]`` where ratings mean nothing (implicit data, ranking models).
    k : int
        Length of the lists of the ranking metrics.
    rank_by : str, optional
        The metric that ranks the settings (default the first): lower is better
        for rmse and mae, higher for the ranking metrics.
    n_jobs : int, optional
        Processes (this one included; None or -1: every usable core). The same
        results for any value.
    client : dask.distributed.Client or str, optional
        Evaluate on a Dask cluster instead (then leave ``n_jobs`` None).
    seed : int
        Seed of the folds when ``folds`` is an int.
    refit : bool
        Fit the best setting on ``data`` (``best_model``), with the model's own
        ``n_threads``.
    relevance_threshold : float, optional
        As in :func:`fastcf.evaluation.evaluate`.

    Returns
    -------
    SearchResult
    """
    model = _new_model(make_model)
    space = _check_space(param_grid, "param_grid", model)
    settings = [dict(zip(space, values)) for values in itertools.product(*space.values())]
    return _search(make_model, settings, data, folds, metrics, k, rank_by, n_jobs, client,
                   seed, refit, relevance_threshold)


def random_search(make_model, param_distributions, data, n_iter=10, folds=5, metrics=None, *,
                  k=10, rank_by=None, n_jobs=None, client=None, seed=0, refit=True,
                  relevance_threshold=None):
    """:func:`grid_search` over ``n_iter`` settings drawn at random.

    Parameters
    ----------
    param_distributions : dict
        Parameter name -> a non-empty list of values (drawn uniformly) or a
        distribution with ``rvs(random_state=...)`` (e.g. ``scipy.stats.loguniform``).
        When every entry is a list, ``n_iter`` distinct settings of their grid
        are drawn (the whole grid, with a warning, if it has fewer).
    n_iter : int >= 1
    seed : int
        Seeds the draws (a ``numpy.random.Generator``) and the folds.
    make_model, data, folds, metrics, k, rank_by, n_jobs, client, refit, relevance_threshold
        As in :func:`grid_search`.

    Returns
    -------
    SearchResult
    """
    model = _new_model(make_model)
    space = _check_space(param_distributions, "param_distributions", model,
                         allow_distribution=True)
    n_iter = check_int("n_iter", n_iter, min_value=1)
    rng = np.random.default_rng(seed)
    if all(isinstance(values, list) for values in space.values()):
        shape = [len(values) for values in space.values()]
        size = int(np.prod(shape, dtype=object))
        if n_iter >= size:
            if n_iter > size:
                warnings.warn(f"n_iter == {n_iter}, but the grid has only {size} settings: "
                              "evaluating them all.", UserWarning, stacklevel=2)
            chosen = range(size)
        else:
            chosen = rng.choice(size, n_iter, replace=False)
        settings = [dict(zip(space, (values[i] for values, i in
                                     zip(space.values(), np.unravel_index(c, shape)))))
                    for c in chosen]
    else:
        settings = [{name: _python(values.rvs(random_state=rng)) if hasattr(values, "rvs")
                     else values[rng.integers(len(values))]
                     for name, values in space.items()} for _ in range(n_iter)]
    return _search(make_model, settings, data, folds, metrics, k, rank_by, n_jobs, client,
                   seed, refit, relevance_threshold)
