"""Parity of UserKNN / ItemKNN with scikit-surprise's KNN* (without needing Surprise).

``tests/fixtures/surprise_knn.npz`` (``benchmarks/make_surprise_knn_fixture.py``)
holds a small rating set, query pairs (known pairs, training pairs, unknown
users and items, the planted single-rating and constant rows) and Surprise
1.1.5's predictions for every mode x similarity x axis, with k=40/min_k=1
and k=5/min_k=3: the estimate (clipped and not), ``was_impossible`` and
``actual_k``. The ratings were given to Surprise sorted by (user, item), so
its tie order is fastcf's and tied neighbourhoods must agree as well.
"""

import numpy as np
import pytest
from conftest import load_surprise_fixture

import fastcf

MODES = ["basic", "means", "zscore", "baseline"]
SIMS = ["pearson", "cosine", "msd", "pearson_baseline"]
AXES = ["user", "item"]
CONFIGS = [(40, 1), (5, 3)]
ATOL = 1e-6


@pytest.fixture(scope="module")
def loaded():
    return load_surprise_fixture("surprise_knn")


@pytest.fixture(scope="module")
def fixture(loaded):
    return loaded[0]


@pytest.fixture(scope="module")
def data(loaded):
    return loaded[1]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"k{c[0]}-mink{c[1]}")
@pytest.mark.cython
def test_predictions_match_surprise(fixture, data, mode, sim, axis, config):
    k, min_k = config
    cls = fastcf.UserKNN if axis == "user" else fastcf.ItemKNN
    key = f"{mode}_{sim}_{axis}_k{k}_mink{min_k}"
    model = cls(k=k, min_k=min_k, similarity=sim, mode=mode, backend="cython").fit(data)
    details = model.predict_details(fixture["query_uid"], fixture["query_iid"])
    np.testing.assert_allclose(details["est"], fixture[f"{key}_est_clipped"], rtol=0,
                               atol=ATOL)
    np.testing.assert_array_equal(details["was_impossible"], fixture[f"{key}_was_impossible"])
    np.testing.assert_array_equal(details["actual_k"], fixture[f"{key}_actual_k"])
    unclipped = fastcf.UserKNN if axis == "user" else fastcf.ItemKNN
    raw = unclipped(k=k, min_k=min_k, similarity=sim, mode=mode, clip=False,
                    backend="cython").fit(data)
    np.testing.assert_allclose(raw.predict(fixture["query_uid"], fixture["query_iid"]),
                               fixture[f"{key}_est_raw"], rtol=0, atol=ATOL)


@pytest.mark.parametrize("backend", ["numba", "reference"])
@pytest.mark.parametrize("axis", AXES)
def test_other_backends_match_surprise(fixture, data, backend, axis):
    cls = fastcf.UserKNN if axis == "user" else fastcf.ItemKNN
    for mode, sim in [("means", "pearson"), ("baseline", "pearson_baseline"),
                      ("basic", "msd")]:
        key = f"{mode}_{sim}_{axis}_k5_mink3"
        model = cls(k=5, min_k=3, similarity=sim, mode=mode, backend=backend).fit(data)
        est = model.predict(fixture["query_uid"], fixture["query_iid"])
        np.testing.assert_allclose(est, fixture[f"{key}_est_clipped"], rtol=0, atol=ATOL)
