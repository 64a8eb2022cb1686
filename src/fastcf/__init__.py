"""fastcf: fast collaborative filtering on Numba and Cython kernels."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fastcf")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

from . import metrics  # noqa: F401 - `import fastcf` gives fastcf.metrics
from ._show_config import config_info, show_config
from ._training import TrainingDiverged
from .als import ALS
from .base import NotFittedError, Recommender, Unknown
from .baseline import BaselineOnly
from .bpr import BPR
from .coclustering import CoClustering
from .cold_start import FeatureMapping
from .data import Interactions
from .datasets import fetch_movielens, load_movielens, make_ratings, read_interactions
from .ease import EASE
from .features import Features
from .hybrid import HybridFactorization
from .kernels import topk
from .knn import ItemKNN, UserKNN
from .mf import MatrixFactorization
from .mlp import MLPRecommender
from .neumf import NeuMF
from .nmf import NMF
from .normal_predictor import NormalPredictor
from .persist import load
from .popularity import Popularity
from .privacy import DPALS, DPMatrixFactorization, DPMLPRecommender
from .similarity import similarity, similarity_to
from .slope_one import SlopeOne
from .svdpp import SVDpp

__all__ = [
    "ALS",
    "BPR",
    "BaselineOnly",
    "CoClustering",
    "DPALS",
    "DPMLPRecommender",
    "DPMatrixFactorization",
    "EASE",
    "FeatureMapping",
    "Features",
    "HybridFactorization",
    "Interactions",
    "ItemKNN",
    "MLPRecommender",
    "MatrixFactorization",
    "NMF",
    "NeuMF",
    "NormalPredictor",
    "NotFittedError",
    "Popularity",
    "Recommender",
    "SVDpp",
    "SlopeOne",
    "TrainingDiverged",
    "Unknown",
    "UserKNN",
    "__version__",
    "config_info",
    "fetch_movielens",
    "load_movielens",
    "make_ratings",
    "load",
    "read_interactions",
    "show_config",
    "similarity",
    "similarity_to",
    "topk",
]
