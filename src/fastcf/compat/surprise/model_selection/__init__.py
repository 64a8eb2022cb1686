"""Surprise's ``model_selection`` on fastcf: the same folds for the same ``random_state``,
``cross_validate`` and the searches with ``n_jobs`` in fastcf's worker processes
(:func:`fastcf.model_selection.parallel_map`; joblib is not needed)."""

from .search import GridSearchCV, RandomizedSearchCV
from .split import (
    KFold,
    LeaveOneOut,
    PredefinedKFold,
    RepeatedKFold,
    ShuffleSplit,
    train_test_split,
)
from .validation import cross_validate

__all__ = [
    "KFold",
    "ShuffleSplit",
    "train_test_split",
    "RepeatedKFold",
    "LeaveOneOut",
    "PredefinedKFold",
    "cross_validate",
    "GridSearchCV",
    "RandomizedSearchCV",
]
