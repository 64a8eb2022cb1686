"""Surprise's ``cross_validate`` (``surprise.model_selection.validation``, 1.1.5), its
folds evaluated in fastcf's worker processes (:func:`fastcf.model_selection.parallel_map`)."""

import sys
import time

import numpy as np

from ...._parallel import usable_cores
from ....model_selection import parallel_map
from .split import get_cv


def n_processes(n_jobs):
    """joblib's meaning of ``n_jobs`` as a count of processes: None or 1 -> 1, -1 -> every
    usable core, below -1 -> cores + 1 + n_jobs (at least 1); 0 is refused."""
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)):
        raise TypeError(f"n_jobs must be an int or None, got {type(n_jobs).__name__}.")
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning: give a count >= 1, or -1 for every "
                         "core.")
    return int(n_jobs) if n_jobs > 0 else max(usable_cores() + 1 + int(n_jobs), 1)


def measure_functions(measures):
    """``{name: accuracy.<name>}`` for the lower-cased ``measures``; ValueError naming an
    unknown one."""
    from .. import accuracy

    functions = {}
    for name in measures:
        function = getattr(accuracy, name, None) if not name.startswith("_") else None
        if not callable(function):
            raise ValueError(f"unknown measure {name!r}: the measures are the functions of "
                             "accuracy (rmse, mse, mae, fcp).")
        functions[name] = function
    return functions


def _fit_and_score(algo, trainset, testset, functions, return_train_measures):
    start_fit = time.time()
    algo.fit(trainset)
    fit_time = time.time() - start_fit
    start_test = time.time()
    predictions = algo.test(testset)
    test_time = time.time() - start_test
    if return_train_measures:
        train_predictions = algo.test(trainset.build_testset())
    test_measures, train_measures = {}, {}
    for name, function in functions.items():
        test_measures[name] = function(predictions, verbose=0)
        if return_train_measures:
            train_measures[name] = function(train_predictions, verbose=0)
    return test_measures, train_measures, fit_time, test_time


def fit_and_score(algo, trainset, testset, measures, return_train_measures=False):
    """Fit ``algo`` on ``trainset``, test it on ``testset``.

    Returns
    -------
    tuple
        ``(test measures, train measures, fit seconds, test seconds)``: the
        measures as ``{name: value}`` (train ones empty unless
        ``return_train_measures``).
    """
    return _fit_and_score(algo, trainset, testset,
                          measure_functions([m.lower() for m in measures]),
                          return_train_measures)


def _score_task(shared, task):
    """One fit: ``shared`` = (algorithm or class, folds, measure functions, train measures?);
    ``task`` = (parameters for the class or None for the algorithm itself, fold)."""
    algo, folds, functions, return_train_measures = shared
    params, fold = task
    if params is not None:
        algo = algo(**params)
    trainset, testset = folds[fold]
    return _fit_and_score(algo, trainset, testset, functions, return_train_measures)


def run_fits(algo, folds, functions, return_train_measures, settings, n_jobs, verbose=0):
    """``_fit_and_score`` of each setting (None: ``algo`` itself) on each fold, setting by
    setting, in ``n_jobs`` processes (joblib's meaning); the results in that order."""
    start = time.perf_counter()
    tasks = [(params, fold) for params in settings for fold in range(len(folds))]
    processes = n_processes(n_jobs)
    out = parallel_map(_score_task, (algo, folds, functions, return_train_measures), tasks,
                       n_jobs=processes)
    if verbose:
        print(f"[fastcf] {len(tasks)} fits in {time.perf_counter() - start:.1f} s, "
              f"{processes} process(es)", file=sys.stderr)
    return out


def cross_validate(algo, data, measures=("rmse", "mae"), cv=None, return_train_measures=False,
                   n_jobs=1, pre_dispatch="2*n_jobs", verbose=False):
    """Fit and test ``algo`` on every fold of ``cv``.

    Parameters
    ----------
    algo : AlgoBase
        With ``n_jobs=1`` this object is fitted fold after fold (it ends fitted
        on the last one), as in Surprise; worker processes fit copies.
    data : Dataset
    measures : list of str
        Names of :mod:`accuracy` functions (any case).
    cv : cross-validation iterator, int or None
        An int k: ``KFold(k)``; None: ``KFold(5)``.
    return_train_measures : bool
        Also measure each fitted model on its trainset.
    n_jobs : int
        Folds evaluated at once, in processes (joblib's meaning: -1 every core,
        -2 all but one; 1 here, in this process). Each worker gets the folds
        once, when it starts.
    pre_dispatch : int or str
        Accepted for Surprise's signature; not needed: a task is a fold number
        (the folds travel once per worker), so queuing them all costs nothing.
    verbose : bool
        Print the measures per fold, their mean and std, and the times.

    Returns
    -------
    dict
        ``test_<measure>`` (array per fold), ``train_<measure>`` with
        ``return_train_measures``, ``fit_time`` and ``test_time`` (tuples).
    """
    measures = [m.lower() for m in measures]
    functions = measure_functions(measures)
    cv = get_cv(cv)
    folds = list(cv.split(data))
    out = run_fits(algo, folds, functions, return_train_measures, [None], n_jobs)
    test_measures_dicts, train_measures_dicts, fit_times, test_times = zip(*out)
    test_measures, train_measures, ret = {}, {}, {}
    for m in measures:
        test_measures[m] = np.asarray([d[m] for d in test_measures_dicts])
        ret["test_" + m] = test_measures[m]
        if return_train_measures:
            train_measures[m] = np.asarray([d[m] for d in train_measures_dicts])
            ret["train_" + m] = train_measures[m]
    ret["fit_time"] = fit_times
    ret["test_time"] = test_times
    if verbose:
        print_summary(algo, measures, test_measures, train_measures, fit_times, test_times,
                      len(folds))
    return ret


def print_summary(algo, measures, test_measures, train_measures, fit_times, test_times,
                  n_splits):
    """Print the table of :func:`cross_validate` with ``verbose`` (Surprise's layout)."""
    print(f"Evaluating {', '.join(m.upper() for m in measures)} of algorithm "
          f"{algo.__class__.__name__} on {n_splits} split(s).")
    print()
    row_format = "{:<18}" + "{:<8}" * (n_splits + 2)

    def rows(measured, label):
        return [row_format.format(f"{key.upper()} ({label})", *[f"{v:1.4f}" for v in vals],
                                  f"{np.mean(vals):1.4f}", f"{np.std(vals):1.4f}")
                for key, vals in measured.items()]

    lines = [row_format.format("", *[f"Fold {i + 1}" for i in range(n_splits)], "Mean", "Std")]
    lines += rows(test_measures, "testset") + rows(train_measures, "trainset")
    for label, times in (("Fit time", fit_times), ("Test time", test_times)):
        lines.append(row_format.format(label, *[f"{t:.2f}" for t in times],
                                       f"{np.mean(times):.2f}", f"{np.std(times):.2f}"))
    print("\n".join(lines))
