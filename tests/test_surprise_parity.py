"""``surprise_compat=True``: every model gives Surprise's predictions.

The fixtures (``tests/fixtures/surprise_predictions``) are Surprise's own
predictions on a half-star data set with string ids in file order, made by
``benchmarks/make_surprise_predictions_fixture.py``; a model joins with its
entries in ``MODELS`` (name of the fixture -> the fastcf model).
"""

from pathlib import Path

import numpy as np
import pytest

import fastcf
from fastcf.data import Interactions

FIXTURES = Path(__file__).parent / "fixtures" / "surprise_predictions"

#: fixture name -> a fastcf model in its Surprise mode
MODELS = {
    "baseline_als": lambda: fastcf.BaselineOnly(),
}


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
    np.testing.assert_allclose(est, expected["est"], rtol=0, atol=1e-6)
