"""fastcf.compat.surprise gives Surprise's predictions, end to end.

Every fixture of tests/fixtures/surprise_predictions (Surprise's own
predictions, with the class and parameters that made them) is replayed through
the compat API exactly as a Surprise user would write it: ``load_from_df``,
``build_full_trainset``, the class with those parameters, ``test``. The
estimates agree to 1e-6, ``was_impossible`` and ``actual_k`` exactly (a
fixture's ``numpy_seed`` seeds NumPy's global generator before ``test``, as
when it was made). A fixture added for a new algorithm joins by itself.
"""

import ast
import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fastcf.compat import surprise

FIXTURES = Path(__file__).parents[1] / "fixtures" / "surprise_predictions"
NAMES = sorted(path.stem for path in FIXTURES.glob("*.npz") if path.stem != "data")


@pytest.fixture(scope="module")
def surprise_split():
    with np.load(FIXTURES / "data.npz") as npz:
        arrays = {key: npz[key] for key in npz.files}
    frame = pd.DataFrame({"uid": arrays["train_uid"].tolist(),
                          "iid": arrays["train_iid"].tolist(),
                          "rating": arrays["train_rating"]})
    data = surprise.Dataset.load_from_df(frame, surprise.Reader(rating_scale=(0.5, 5)))
    testset = list(zip(arrays["test_uid"].tolist(), arrays["test_iid"].tolist(),
                       arrays["test_rating"].tolist()))
    return data.build_full_trainset(), testset


def test_fixtures_found():
    assert "baseline_als" in NAMES and "svd" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_compat_predictions_equal_surprise(name, surprise_split):
    trainset, testset = surprise_split
    with np.load(FIXTURES / f"{name}.npz") as npz:
        expected = {key: npz[key] for key in npz.files}
    cls = getattr(surprise, str(expected["algorithm"]))
    params = ast.literal_eval(str(expected["params"]))
    if "verbose" in inspect.signature(cls).parameters:
        params.setdefault("verbose", False)
    algo = cls(**params).fit(trainset)
    if "numpy_seed" in expected:  # NormalPredictor draws from NumPy's global generator
        np.random.seed(int(expected["numpy_seed"]))  # noqa: NPY002
    predictions = algo.test(testset)
    np.testing.assert_allclose([p.est for p in predictions], expected["est"], rtol=0,
                               atol=1e-6)
    assert [p.details["was_impossible"] for p in predictions] == \
        expected["was_impossible"].tolist()
    assert [p.details.get("actual_k", -1) for p in predictions] == \
        expected["actual_k"].tolist()
