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
from fastcf._surprise import surprise_rng
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
    "coclustering": lambda: fastcf.CoClustering(clip=False, surprise_compat=True, seed=1),
    "coclustering_5x4": lambda: fastcf.CoClustering(
        user_clusters=5, item_clusters=4, epochs=10, clip=False, surprise_compat=True, seed=2),
    "nmf": lambda: fastcf.NMF(clip=False, surprise_compat=True, seed=2),
    "nmf_biased": lambda: fastcf.NMF(biased=True, clip=False, surprise_compat=True, seed=4),
    "normal": lambda: fastcf.NormalPredictor(clip=False, surprise_compat=True),
    "svdpp": lambda: fastcf.SVDpp(dtype=np.float64, clip=False, surprise_compat=True, seed=7),
    "svdpp_small": lambda: fastcf.SVDpp(factors=5, epochs=10, lr=0.01, reg_yj=0.05,
                                        dtype=np.float64, clip=False, surprise_compat=True,
                                        seed=2),
    "slopeone": lambda: fastcf.SlopeOne(clip=False, surprise_compat=True),
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


def test_every_fixture_has_a_model():
    names = {path.stem for path in FIXTURES.glob("*.npz")} - {"data"}
    assert names == set(MODELS), sorted(names ^ set(MODELS))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_predictions_equal_surprise(name, surprise_data):
    arrays, train = surprise_data
    with np.load(FIXTURES / f"{name}.npz") as npz:
        expected = {key: npz[key] for key in npz.files}
    model = MODELS[name]().fit(train)
    global_rng = surprise_rng(None)  # NumPy's global RandomState
    state = global_rng.get_state()
    try:
        if "numpy_seed" in expected:  # the model draws from it, as Surprise did
            global_rng.seed(int(expected["numpy_seed"]))
        est = model.predict(arrays["test_uid"], arrays["test_iid"], unknown="fallback")
    finally:
        global_rng.set_state(state)
    np.testing.assert_allclose(np.clip(est, *RATING_SCALE), expected["est"], rtol=0, atol=1e-6)
    if hasattr(model, "predict_details"):
        details = model.predict_details(arrays["test_uid"], arrays["test_iid"])
        np.testing.assert_array_equal(details["actual_k"], expected["actual_k"])
        np.testing.assert_array_equal(details["was_impossible"], expected["was_impossible"])
