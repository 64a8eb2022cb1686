"""``AlgoBase``: the base class of every algorithm (Surprise's ``algo_base``).

Custom algorithms subclass :class:`AlgoBase` as in Surprise's guide: ``fit``
calls ``AlgoBase.fit(self, trainset)`` then computes what it needs
(``compute_baselines``, ``compute_similarities``), ``estimate(u, i)`` takes
inner ids and may raise :class:`PredictionImpossible`; ``predict`` and
``test`` do the rest. The built-in algorithms are :class:`EngineAlgo`
subclasses: a fastcf model does the fitting, and ``test`` predicts the whole
test set in one vectorised call of that model.
"""

import numpy as np

from ....baseline import BaselineOnly as _FastBaseline
from .. import similarities as sims
from .predictions import Prediction, PredictionImpossible, build_predictions

__all__ = ["AlgoBase", "EngineAlgo", "engine_model", "engine_seed"]

#: Surprise's defaults of ``bsl_options`` per method.
BSL_DEFAULTS = {
    "als": {"reg_i": 10, "reg_u": 15, "n_epochs": 10},
    "sgd": {"reg": 0.02, "learning_rate": 0.005, "n_epochs": 20},
}


def baseline_model_params(bsl_options):
    """fastcf ``BaselineOnly`` parameters of Surprise's ``bsl_options``.

    Raises ValueError for a method other than "als" and "sgd".
    """
    method = bsl_options.get("method", "als")
    if method not in BSL_DEFAULTS:
        raise ValueError(f"Invalid method {method} for baseline computation. Available "
                         "methods are als and sgd.")
    options = {**BSL_DEFAULTS[method], **bsl_options}
    if method == "als":
        return dict(method="als", reg_user=options["reg_u"], reg_item=options["reg_i"],
                    epochs=options["n_epochs"])
    return dict(method="sgd", lr=options["learning_rate"], reg=options["reg"],
                epochs=options["n_epochs"])


def fit_baselines(trainset, bsl_options):
    """Surprise's baselines ``(bu, bi)`` of ``trainset`` (inner-id order), fitted by fastcf."""
    model = _FastBaseline(**baseline_model_params(bsl_options), clip=False)
    model.fit(trainset.interactions)
    return np.array(model.user_bias_, dtype=np.float64), np.array(model.item_bias_,
                                                                  dtype=np.float64)


class AlgoBase:
    """Base class of the prediction algorithms.

    Parameters
    ----------
    bsl_options : dict, optional
        How baselines are computed (``method`` "als" with ``reg_u``, ``reg_i``,
        ``n_epochs``; or "sgd" with ``reg``, ``learning_rate``, ``n_epochs``).
    sim_options : dict, optional
        The similarity (``name``, ``user_based``, ``min_support``, ``shrinkage``).
        Both dicts are copied, never modified.
    """

    def __init__(self, **kwargs):
        self.bsl_options = dict(kwargs.get("bsl_options", {}))
        self.sim_options = dict(kwargs.get("sim_options", {}))
        if "user_based" not in self.sim_options:
            self.sim_options["user_based"] = True

    def fit(self, trainset):
        """Keep ``trainset`` (and forget former baselines); returns ``self``."""
        self.trainset = trainset
        self.bu = self.bi = None
        return self

    def predict(self, uid, iid, r_ui=None, clip=True, verbose=False):
        """The :class:`Prediction` of raw user ``uid`` for raw item ``iid``.

        Unknown ids reach ``estimate`` as ``"UKN__<id>"``; a
        :class:`PredictionImpossible` gives :meth:`default_prediction`, flagged
        in ``details``. ``clip`` clips to the trainset's ``rating_scale``.
        """
        try:
            iuid = self.trainset.to_inner_uid(uid)
        except ValueError:
            iuid = "UKN__" + str(uid)
        try:
            iiid = self.trainset.to_inner_iid(iid)
        except ValueError:
            iiid = "UKN__" + str(iid)
        details = {}
        try:
            est = self.estimate(iuid, iiid)
            if isinstance(est, tuple):
                est, details = est
            details["was_impossible"] = False
        except PredictionImpossible as e:
            est = self.default_prediction()
            details["was_impossible"] = True
            details["reason"] = str(e)
        if clip:
            lower_bound, higher_bound = self.trainset.rating_scale
            est = max(lower_bound, min(higher_bound, est))
        pred = Prediction(uid, iid, r_ui, est, details)
        if verbose:
            print(pred)
        return pred

    def default_prediction(self):
        """The estimate of an impossible prediction: the trainset's global mean."""
        return self.trainset.global_mean

    def test(self, testset, verbose=False):
        """The :class:`Prediction` of every ``(uid, iid, r_ui)`` of ``testset``."""
        return [self.predict(uid, iid, r_ui_trans, verbose=verbose)
                for (uid, iid, r_ui_trans) in testset]

    def compute_baselines(self):
        """The baselines ``(bu, bi)`` per ``bsl_options`` (computed once per fit).

        Raises ValueError for an unknown ``method``.
        """
        if getattr(self, "bu", None) is not None:
            return self.bu, self.bi
        method = self.bsl_options.get("method", "als")
        baseline_model_params(self.bsl_options)  # an unknown method fails before printing
        if getattr(self, "verbose", False):
            print("Estimating biases using", method + "...")
        self.bu, self.bi = fit_baselines(self.trainset, self.bsl_options)
        return self.bu, self.bi

    def compute_similarities(self):
        """The dense similarity matrix of users (or items) per ``sim_options``.

        Raises NameError for an unknown similarity name (as Surprise).
        """
        name = sims.check_name(self.sim_options.get("name", "msd"))
        user_based = self.sim_options["user_based"]
        baselines = None
        if name == "pearson_baseline":
            bu, bi = self.compute_baselines()
            baselines = (bu, bi) if user_based else (bi, bu)
        if getattr(self, "verbose", False):
            print(f"Computing the {name} similarity matrix...")
        sim = sims.trainset_similarity(self.trainset, name, user_based,
                                       self.sim_options.get("min_support", 1),
                                       self.sim_options.get("shrinkage", 100), baselines)
        if getattr(self, "verbose", False):
            print("Done computing similarity matrix.")
        return sim

    def get_neighbors(self, iid, k):
        """The inner ids of the ``k`` users (or items) most similar to inner id ``iid``.

        Best first; equal similarities in inner-id order (as Surprise's heapq).
        """
        row = np.asarray(self.sim[iid], dtype=np.float64)
        others = np.flatnonzero(np.arange(len(row)) != iid)
        best = others[np.argsort(-row[others], kind="stable")[:k]]
        return best.tolist()


def engine_model(name, **params):
    """``fastcf.<name>(**params)``, looked up when an algorithm is fitted."""
    import fastcf

    cls = getattr(fastcf, name, None)
    if cls is None:
        raise ImportError(f"this fastcf has no {name} model (fastcf.{name}); the algorithm needs "
                          "a fastcf version that provides it.")
    return cls(**params)


def engine_seed(random_state):
    """fastcf's ``seed`` for Surprise's ``random_state``: an int is used as is (Surprise's
    draws); None or a ``RandomState`` gives an int drawn from that generator."""
    from ..utils import get_rng

    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    return int(get_rng(random_state).randint(np.iinfo(np.int32).max))


class EngineAlgo(AlgoBase):
    """An algorithm whose ``fit`` trains a fastcf model (``_build_model``).

    ``test`` and ``predict`` ask the model for all pairs at once; subclasses
    say which pairs are impossible (``_impossible``) and name the model's
    fitted arrays that Surprise exposes (``_ATTRIBUTES``: Surprise name ->
    model attribute, in inner-id order as the model's ids are the inner ids).
    """

    #: Surprise attribute -> fastcf model attribute.
    _ATTRIBUTES = {}
    #: ``details['reason']`` of impossible predictions.
    _REASON = "User and/or item is unknown."

    def __getattr__(self, name):
        attributes = type(self)._ATTRIBUTES
        model = self.__dict__.get("_model")
        if name in attributes and model is not None:
            return getattr(model, attributes[name])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def fit(self, trainset):
        """Train the fastcf model on ``trainset``; returns ``self``."""
        AlgoBase.fit(self, trainset)
        for name in type(self)._ATTRIBUTES:  # served by the model from now on
            self.__dict__.pop(name, None)
        self._model = None
        model = self._build_model()
        model.fit(trainset.interactions)
        self._model = model
        return self

    def _build_model(self):
        raise NotImplementedError

    def _impossible(self, users, items):
        """Which pairs (inner ids, -1 unknown) Surprise calls impossible (default: none)."""
        return np.zeros(len(users), dtype=bool)

    def _estimates(self, users, items):
        """(est unclipped, impossible, actual_k or None) of inner-id pairs."""
        est = np.array(self._model.predict(users, items), dtype=np.float64)
        return est, self._impossible(users, items), None

    def _overrides_estimate(self):
        return type(self).estimate is not EngineAlgo.estimate

    def estimate(self, u, i):
        """The estimate of inner ids ``u``, ``i`` (``(est, details)`` where there are
        details); raises :class:`PredictionImpossible` as Surprise's algorithm does."""
        users = np.array([u if self.trainset.knows_user(u) else -1], dtype=np.int64)
        items = np.array([i if self.trainset.knows_item(i) else -1], dtype=np.int64)
        est, impossible, actual_k = self._estimates(users, items)
        if impossible[0]:
            raise PredictionImpossible(self._reason(users, items, impossible)[0])
        if actual_k is not None and actual_k[0] >= 0:
            return float(est[0]), {"actual_k": int(actual_k[0])}
        return float(est[0])

    def _reason(self, users, items, impossible):
        return [self._REASON if flag else None for flag in impossible.tolist()]

    def predict(self, uid, iid, r_ui=None, clip=True, verbose=False):
        if self._overrides_estimate():
            return AlgoBase.predict(self, uid, iid, r_ui, clip, verbose)
        users = self.trainset._inner_ids([uid], "user")
        items = self.trainset._inner_ids([iid], "item")
        return self._predictions([uid], [iid], [r_ui], users, items, clip, verbose)[0]

    predict.__doc__ = AlgoBase.predict.__doc__

    def test(self, testset, verbose=False):
        """The :class:`Prediction` of every ``(uid, iid, r_ui)`` of ``testset``, computed
        in one call of the fastcf model."""
        if self._overrides_estimate():
            return AlgoBase.test(self, testset, verbose)
        if len(testset) == 0:
            return []
        uids = [t[0] for t in testset]
        iids = [t[1] for t in testset]
        r_uis = [t[2] for t in testset]
        users = self.trainset._inner_ids(uids, "user")
        items = self.trainset._inner_ids(iids, "item")
        return self._predictions(uids, iids, r_uis, users, items, True, verbose)

    def _predictions(self, uids, iids, r_uis, users, items, clip, verbose):
        est, impossible, actual_k = self._estimates(users, items)
        if impossible.any():
            est[impossible] = self.default_prediction()
        if clip:
            low, high = self.trainset.rating_scale
            np.clip(est, low, high, out=est)
        predictions = build_predictions(uids, iids, r_uis, est, impossible, actual_k,
                                        self._reason(users, items, impossible))
        if verbose:
            for pred in predictions:
                print(pred)
        return predictions
