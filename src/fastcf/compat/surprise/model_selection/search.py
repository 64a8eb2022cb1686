"""Surprise's ``GridSearchCV`` and ``RandomizedSearchCV`` (``surprise.model_selection.search``,
1.1.5): the same settings, folds, ``cv_results`` and best parameters; the fits run in
fastcf's worker processes (``n_jobs``), each worker given the folds once."""

from itertools import product

import numpy as np

from ...._surprise import surprise_rng
from .split import get_cv, get_rng
from .validation import measure_functions, run_fits

#: Measures whose lowest mean is best; fcp's highest is.
LOWER_IS_BETTER = ("mae", "rmse", "mse")


class BaseSearchCV:
    """What both searches share: the checks, ``fit``, ``test`` and ``predict``."""

    def __init__(self, algo_class, measures=("rmse", "mae"), cv=None, refit=False,
                 return_train_measures=False, n_jobs=1, pre_dispatch="2*n_jobs",
                 joblib_verbose=0):
        self.algo_class = algo_class
        self.measures = [measure.lower() for measure in measures]
        self.cv = cv
        if isinstance(refit, str):
            if refit.lower() not in self.measures:
                raise ValueError(f"It looks like the measure you want to use with refit "
                                 f"({refit}) is not in the measures parameter")
            self.refit = refit.lower()
        elif refit is True:
            self.refit = self.measures[0]
        else:
            self.refit = False
        self.return_train_measures = return_train_measures
        self.n_jobs = n_jobs
        self.pre_dispatch = pre_dispatch
        self.joblib_verbose = joblib_verbose

    def _parse_options(self, params):
        """``sim_options`` / ``bsl_options`` given as dicts of lists -> lists of dicts (their
        grid), as Surprise expands them."""
        for name in ("sim_options", "bsl_options"):
            if name in params:
                options = params[name]
                params[name] = [dict(zip(options, v)) for v in product(*options.values())]
        return params

    def fit(self, data):
        """Evaluate every parameter combination on every fold of ``cv`` (``n_jobs`` at once),
        then set ``cv_results``, ``best_*`` and, with ``refit``, fit the best estimator on
        the whole ``data``."""
        if self.refit and getattr(data, "folds_files", None) is not None:
            raise ValueError("refit cannot be used when data has been loaded with "
                             "load_from_folds().")
        functions = measure_functions(self.measures)
        cv = get_cv(self.cv)
        folds = list(cv.split(data))
        n_folds = cv.get_n_folds()
        out = run_fits(self.algo_class, folds, functions, self.return_train_measures,
                       self.param_combinations, self.n_jobs, self.joblib_verbose)
        test_dicts, train_dicts, fit_times, test_times = zip(*out)
        shape = (len(self.param_combinations), n_folds)
        cv_results, best_index, best_params, best_score, best_estimator = {}, {}, {}, {}, {}
        for m in self.measures:
            test = np.asarray([d[m] for d in test_dicts]).reshape(shape)
            train = (np.asarray([d[m] for d in train_dicts]).reshape(shape)
                     if self.return_train_measures else None)
            for split in range(n_folds):
                cv_results[f"split{split}_test_{m}"] = test[:, split]
                if train is not None:
                    cv_results[f"split{split}_train_{m}"] = train[:, split]
            mean_test = test.mean(axis=1)
            cv_results[f"mean_test_{m}"] = mean_test
            cv_results[f"std_test_{m}"] = test.std(axis=1)
            if train is not None:
                cv_results[f"mean_train_{m}"] = train.mean(axis=1)
                cv_results[f"std_train_{m}"] = train.std(axis=1)
            indices = mean_test.argsort()
            cv_results[f"rank_test_{m}"] = np.empty_like(indices)
            if m in LOWER_IS_BETTER:
                cv_results[f"rank_test_{m}"][indices] = np.arange(len(indices)) + 1
                best_index[m] = mean_test.argmin()
            else:
                cv_results[f"rank_test_{m}"][indices] = np.arange(len(indices), 0, -1)
                best_index[m] = mean_test.argmax()
            best_params[m] = self.param_combinations[best_index[m]]
            best_score[m] = mean_test[best_index[m]]
            best_estimator[m] = self.algo_class(**best_params[m])
        for name, times in (("fit", fit_times), ("test", test_times)):
            times = np.array(times).reshape(shape)
            cv_results[f"mean_{name}_time"] = times.mean(axis=1)
            cv_results[f"std_{name}_time"] = times.std(axis=1)
        cv_results["params"] = self.param_combinations
        for param in self.param_combinations[0]:
            cv_results["param_" + param] = [comb[param] for comb in self.param_combinations]
        if self.refit:
            best_estimator[self.refit].fit(data.build_full_trainset())
        self.best_index = best_index
        self.best_params = best_params
        self.best_score = best_score
        self.best_estimator = best_estimator
        self.cv_results = cv_results

    def test(self, testset, verbose=False):
        """``test`` of the best estimator (by the ``refit`` measure); needs ``refit``."""
        if not self.refit:
            raise ValueError("refit is False, cannot use test()")
        return self.best_estimator[self.refit].test(testset, verbose)

    def predict(self, *args):
        """``predict`` of the best estimator (by the ``refit`` measure); needs ``refit``."""
        if not self.refit:
            raise ValueError("refit is False, cannot use predict()")
        return self.best_estimator[self.refit].predict(*args)


class GridSearchCV(BaseSearchCV):
    """Cross-validate ``algo_class`` with every combination of ``param_grid``.

    Parameters
    ----------
    algo_class : AlgoBase subclass
    param_grid : dict
        Parameter -> list of values; ``sim_options`` / ``bsl_options`` as dicts of
        lists (each expanded to its grid of dicts).
    measures : list of str
        :mod:`accuracy` function names.
    cv : cross-validation iterator, int or None
    refit : bool or str
        Fit the best estimator of this measure (True: the first) on the whole
        data; not with ``load_from_folds`` data.
    return_train_measures : bool
    n_jobs : int
        Fits at once, in worker processes (joblib's meaning of the values; 1:
        in this process). Worker processes are started by ``spawn``: a script
        must guard its top level with ``if __name__ == "__main__":``.
    pre_dispatch : int or str
        Accepted for Surprise's signature; not needed (a task is a setting and
        a fold number; the folds travel once per worker).
    joblib_verbose : int
        > 0: print the number of fits, their time and the processes to stderr.

    Attributes
    ----------
    cv_results, best_params, best_score, best_estimator, best_index : dict
        As in Surprise (keyed by measure, except ``cv_results``).
    """

    def __init__(self, algo_class, param_grid, measures=("rmse", "mae"), cv=None, refit=False,
                 return_train_measures=False, n_jobs=1, pre_dispatch="2*n_jobs",
                 joblib_verbose=0):
        super().__init__(algo_class=algo_class, measures=measures, cv=cv, refit=refit,
                         return_train_measures=return_train_measures, n_jobs=n_jobs,
                         pre_dispatch=pre_dispatch, joblib_verbose=joblib_verbose)
        self.param_grid = self._parse_options(param_grid.copy())
        self.param_combinations = [dict(zip(self.param_grid, v))
                                   for v in product(*self.param_grid.values())]


class RandomizedSearchCV(BaseSearchCV):
    """Cross-validate ``algo_class`` with ``n_iter`` settings drawn from
    ``param_distributions`` (lists drawn uniformly, or distributions with ``rvs``).

    As in Surprise, when every entry is a list the ``n_iter`` settings are drawn
    without replacement from their grid by NumPy's global RNG (``random_state``
    is then not used); otherwise each value is drawn with ``random_state``.
    Other parameters as :class:`GridSearchCV`.
    """

    def __init__(self, algo_class, param_distributions, n_iter=10, measures=("rmse", "mae"),
                 cv=None, refit=False, return_train_measures=False, n_jobs=1,
                 pre_dispatch="2*n_jobs", random_state=None, joblib_verbose=0):
        super().__init__(algo_class=algo_class, measures=measures, cv=cv, refit=refit,
                         return_train_measures=return_train_measures, n_jobs=n_jobs,
                         pre_dispatch=pre_dispatch, joblib_verbose=joblib_verbose)
        self.n_iter = n_iter
        self.random_state = random_state
        self.param_distributions = self._parse_options(param_distributions.copy())
        self.param_combinations = self._sample_parameters(self.param_distributions,
                                                          self.n_iter, self.random_state)

    @staticmethod
    def _sample_parameters(param_distributions, n_iter, random_state=None):
        """``n_iter`` settings drawn as Surprise draws them (see the class docstring)."""
        all_lists = np.all([not hasattr(v, "rvs") for v in param_distributions.values()])
        rnd = get_rng(random_state)
        items = sorted(param_distributions.items())  # sorted for reproducibility
        if all_lists:
            param_grid = [dict(zip(param_distributions, v))
                          for v in product(*param_distributions.values())]
            return surprise_rng(None).choice(param_grid, n_iter, replace=False)
        combos = []
        for _ in range(n_iter):
            params = {}
            for k, v in items:
                params[k] = v.rvs(random_state=rnd) if hasattr(v, "rvs") else \
                    v[rnd.randint(len(v))]
            combos.append(params)
        return combos
