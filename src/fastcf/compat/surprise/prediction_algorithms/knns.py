"""The k-NN algorithms: ``KNNBasic``, ``KNNWithMeans``, ``KNNWithZScore``, ``KNNBaseline``.

Each is fastcf's ``UserKNN`` (``sim_options["user_based"]``, the default) or
``ItemKNN`` in the matching ``mode`` with Surprise's tie rule
(``surprise_compat=True``). x denotes a user and y an item when user-based,
the reverse otherwise. Impossible predictions and ``details['actual_k']`` are
Surprise's.
"""

import numpy as np

from ....knn import ItemKNN, UserKNN
from .. import similarities as sims
from .algo_base import EngineAlgo, baseline_model_params

__all__ = ["KNNBaseline", "KNNBasic", "KNNWithMeans", "KNNWithZScore", "SymmetricAlgo"]


class SymmetricAlgo(EngineAlgo):
    """A k-NN algorithm, user- or item-based per ``sim_options['user_based']``.

    Parameters
    ----------
    k : int
        The most neighbours to aggregate (Surprise: 40).
    min_k : int
        The fewest; below it the neighbour term is dropped (Surprise: 1).
    sim_options : dict
        ``name`` ("msd", "cosine", "pearson", "pearson_baseline"), ``user_based``
        (True), ``min_support`` (1), ``shrinkage`` (pearson_baseline's, 100).
    bsl_options : dict
        The baselines of ``pearson_baseline`` and ``KNNBaseline`` (as
        :class:`BaselineOnly`'s).
    verbose : bool

    Attributes
    ----------
    sim : ndarray (n_x, n_x)
        The similarities, by inner id.
    n_x, n_y, xr, yr
        As Surprise's.

    Raises
    ------
    NameError
        An unknown similarity name (Surprise's exception).
    """

    _MODE = None
    _ATTRIBUTES = {"means": "means_", "sigmas": "sigmas_", "overall_sigma": "overall_sigma_",
                   "bu": "user_bias_", "bi": "item_bias_"}

    def __init__(self, k=40, min_k=1, sim_options={}, verbose=True, **kwargs):  # noqa: B006
        EngineAlgo.__init__(self, sim_options=sim_options, **kwargs)
        self.verbose = verbose
        self.k = k
        self.min_k = min_k
        sims.check_name(self.sim_options.get("name", "msd"))

    def _build_model(self):
        name = sims.check_name(self.sim_options.get("name", "msd"))
        baseline = {f"baseline_{key}": value
                    for key, value in baseline_model_params(self.bsl_options).items()}
        if self.verbose and (name == "pearson_baseline" or self._MODE == "baseline"):
            print("Estimating biases using", baseline["baseline_method"] + "...")
        if self.verbose:
            print(f"Computing the {name} similarity matrix...")
        cls = UserKNN if self.sim_options["user_based"] else ItemKNN
        return cls(k=self.k, min_k=self.min_k, similarity=name, mode=self._MODE,
                   min_support=self.sim_options.get("min_support", 1),
                   shrinkage=self.sim_options.get("shrinkage", 100)
                   if name == "pearson_baseline" else None,
                   **baseline, dtype=np.float64, clip=False, surprise_compat=True)

    def fit(self, trainset):
        EngineAlgo.fit(self, trainset)
        if self.verbose:
            print("Done computing similarity matrix.")
        return self

    def switch(self, u_stuff, i_stuff):
        """``(x_stuff, y_stuff)``: as given when user-based, swapped otherwise."""
        if self.sim_options["user_based"]:
            return u_stuff, i_stuff
        return i_stuff, u_stuff

    @property
    def n_x(self):
        return self.switch(self.trainset.n_users, self.trainset.n_items)[0]

    @property
    def n_y(self):
        return self.switch(self.trainset.n_users, self.trainset.n_items)[1]

    @property
    def xr(self):
        return self.switch(self.trainset.ur, self.trainset.ir)[0]

    @property
    def yr(self):
        return self.switch(self.trainset.ur, self.trainset.ir)[1]

    @property
    def sim(self):
        model = self._model
        if str(model.storage_) == "dense":
            return model.sim_
        # fastcf did not keep a dense matrix (too large): Surprise's is dense, build it.
        return model._similarity_rows(np.arange(self.n_x))

    def compute_similarities(self):
        if getattr(self, "_model", None) is not None:
            return self.sim
        return EngineAlgo.compute_similarities(self)

    compute_similarities.__doc__ = EngineAlgo.compute_similarities.__doc__

    def _estimates(self, users, items):
        details = self._model.predict_details(users, items)
        return (details["est"].to_numpy(dtype=np.float64, copy=True),
                details["was_impossible"].to_numpy(dtype=bool),
                details["actual_k"].to_numpy(dtype=np.int64))

    def _reason(self, users, items, impossible):
        unknown = (users < 0) | (items < 0)
        return [None if not flag else ("User and/or item is unknown." if out
                                       else "Not enough neighbors.")
                for flag, out in zip(impossible.tolist(), unknown.tolist())]


class KNNBasic(SymmetricAlgo):
    r"""The weighted mean of the neighbours' ratings:
    :math:`\hat r_{ui} = \sum_{v} \text{sim}(u, v) r_{vi} / \sum_{v} \text{sim}(u, v)`
    over the ``k`` most similar neighbours with a positive similarity;
    impossible below ``min_k`` of them."""

    _MODE = "basic"


class KNNWithMeans(SymmetricAlgo):
    r""":math:`\hat r_{ui} = \mu_u + \sum_v \text{sim}(u, v) (r_{vi} - \mu_v) / \sum_v
    \text{sim}(u, v)` (the mean alone below ``min_k`` neighbours)."""

    _MODE = "means"


class KNNWithZScore(SymmetricAlgo):
    r""":math:`\hat r_{ui} = \mu_u + \sigma_u \sum_v \text{sim}(u, v) (r_{vi} - \mu_v) /
    \sigma_v / \sum_v \text{sim}(u, v)` (a zero :math:`\sigma` is the overall one)."""

    _MODE = "zscore"


class KNNBaseline(SymmetricAlgo):
    r""":math:`\hat r_{ui} = b_{ui} + \sum_v \text{sim}(u, v) (r_{vi} - b_{vi}) / \sum_v
    \text{sim}(u, v)` with the baselines :math:`b_{ui} = \mu + b_u + b_i`.

    Attributes ``bu``, ``bi`` (and ``bx``, ``by`` as Surprise) hold the baselines.
    """

    _MODE = "baseline"

    def __init__(self, k=40, min_k=1, sim_options={}, bsl_options={}, verbose=True,  # noqa: B006
                 **kwargs):
        SymmetricAlgo.__init__(self, k=k, min_k=min_k, sim_options=sim_options,
                               bsl_options=bsl_options, verbose=verbose, **kwargs)

    @property
    def bx(self):
        return self.switch(self.bu, self.bi)[0]

    @property
    def by(self):
        return self.switch(self.bu, self.bi)[1]
