"""Surprise's public API on fastcf's engine: change one import.

``from fastcf.compat import surprise`` (or ``import fastcf.compat.surprise as
surprise``) offers what ``import surprise`` (scikit-surprise 1.1.5) does, with
the same module layout (``surprise.dataset``, ``surprise.prediction_algorithms``,
``surprise.accuracy``, ...): ``Dataset``, ``Reader``, ``Trainset``, every
algorithm with Surprise's parameters, ``Prediction`` with Surprise's
``details``, ``accuracy``, ``model_selection`` and ``dump``. The algorithms train fastcf's compiled
models in their Surprise-compatible mode (``surprise_compat=True``: float64,
Surprise's initial draws, visiting order and tie rules), so an int
``random_state`` gives Surprise's predictions; ``test`` predicts a whole test
set in one vectorised call.

Differences: ``dump`` writes ``.npz`` files, never pickle (custom ``AlgoBase``
subclasses cannot be dumped); a rating outside the reader's ``rating_scale``
is kept with a warning; repeated (user, item) ratings are kept once (the last)
by the fastcf models, with a warning.
"""

from . import accuracy, dump, model_selection
from .builtin_datasets import get_dataset_dir
from .dataset import Dataset
from .prediction_algorithms import (
    NMF,
    SVD,
    AlgoBase,
    BaselineOnly,
    CoClustering,
    KNNBaseline,
    KNNBasic,
    KNNWithMeans,
    KNNWithZScore,
    NormalPredictor,
    Prediction,
    PredictionImpossible,
    SlopeOne,
    SVDpp,
)
from .reader import Reader
from .trainset import Trainset

__all__ = [
    "AlgoBase",
    "NormalPredictor",
    "BaselineOnly",
    "KNNBasic",
    "KNNWithMeans",
    "KNNBaseline",
    "SVD",
    "SVDpp",
    "NMF",
    "SlopeOne",
    "CoClustering",
    "PredictionImpossible",
    "Prediction",
    "Dataset",
    "Reader",
    "Trainset",
    "accuracy",
    "dump",
    "KNNWithZScore",
    "get_dataset_dir",
    "model_selection",
]

__version__ = "1.1.5"
