"""``surprise_compat=True``: every model gives Surprise's predictions.

The fixtures (``tests/fixtures/surprise_predictions``) are Surprise's own
predictions on a half-star data set with string ids in file order, made by
``benchmarks/make_surprise_predictions_fixture.py``; a model joins with its
entries in ``MODELS`` (name of the fixture -> the fastcf model).
"""

import functools
from pathlib import Path

import numpy as np
import pytest

import fastcf
from fastcf.data import Interactions

FIXTURES = Path(__file__).parent / "fixtures" / "surprise_predictions"

#: The fixture's ``Reader(rating_scale=...)``: Surprise clips to it, fastcf to the
#: training ratings' range (here (1, 5)), so the test clips as Surprise does.
RATING_SCALE = (0.5, 5.0)

#: fixture name -> a fastcf model in its Surprise mode
MODELS = {
    "baseline_als": lambda: fastcf.BaselineOnly(),
    "baseline_sgd": lambda: fastcf.BaselineOnly(method="sgd", clip=False),
    "svd": lambda: fastcf.MatrixFactorization(dtype=np.float64, clip=False,
                                              surprise_compat=True, seed=3),
    "svd_unbiased": lambda: fastcf.MatrixFactorization(
        factors=10, epochs=15, biased=False, dtype=np.float64, clip=False,
        surprise_compat=True, seed=5),
}
for _mode, _surprise in (("basic", "knnbasic"), ("means", "knnwithmeans"),
                         ("zscore", "knnwithzscore"), ("baseline", "knnbaseline")):
    for _sim in ("msd", "cosine", "pearson", "pearson_baseline"):
        for _axis, _cls in (("user", fastcf.UserKNN), ("item", fastcf.ItemKNN)):
            MODELS[f"{_surprise}_{_sim}_{_axis}"] = functools.partial(
                _cls, k=20, similarity=_sim, mode=_mode, clip=False, surprise_compat=True)


@pytest.fixture(scope="module")
def surprise_data():
    with np.load(FIXTURES / "data.npz") as npz:
        arrays = {key: npz[key] for key in npz.files}
    train = Interactions.from_arrays(arrays["train_uid"], arrays["train_iid"],
                                     arrays["train_rating"], dtype=np.float64)
    return arrays, train


@pytest.mark.parametrize("name", sorted(MODELS))
def test_predictions_equal_surprise(name, surprise_data):
    arrays, train = surprise_data
    with np.load(FIXTURES / f"{name}.npz") as npz:
        expected = {key: npz[key] for key in npz.files}
    model = MODELS[name]().fit(train)
    est = model.predict(arrays["test_uid"], arrays["test_iid"], unknown="fallback")
    np.testing.assert_allclose(np.clip(est, *RATING_SCALE), expected["est"], rtol=0, atol=1e-6)
    if hasattr(model, "predict_details"):
        details = model.predict_details(arrays["test_uid"], arrays["test_iid"])
        np.testing.assert_array_equal(details["actual_k"], expected["actual_k"])
        np.testing.assert_array_equal(details["was_impossible"], expected["was_impossible"])
