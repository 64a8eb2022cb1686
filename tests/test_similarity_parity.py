"""Parity with scikit-surprise's similarity matrices (without needing Surprise).

``tests/fixtures/surprise_similarity.npz`` holds a small rating set and the
matrices Surprise 1.1.5 computed on it (``benchmarks/make_surprise_fixture.py``
makes it): cosine, msd, pearson and pearson_baseline, user- and item-based,
with Surprise's defaults. The reference must match them to 1e-9, and so must
every backend of the public ``fastcf.similarity`` once it exists.
"""

import numpy as np
import pytest
from conftest import BACKENDS, load_surprise_fixture

import fastcf
from fastcf.baseline import fit_biases
from fastcf.reference.similarity import similarity as reference_similarity

KINDS = ["cosine", "msd", "pearson", "pearson_baseline"]
AXES = ["user", "item"]
ATOL = 1e-9


@pytest.fixture(scope="module")
def loaded():
    return load_surprise_fixture("surprise_similarity")


@pytest.fixture(scope="module")
def fixture(loaded):
    return loaded[0]


@pytest.fixture(scope="module")
def data(loaded):
    return loaded[1]


def _rows(fixture, axis):
    """Rows of the axis in Surprise's inner order, as {raw column id: rating} dicts."""
    row_ids = fixture["users"] if axis == "user" else fixture["items"]
    col_ids = fixture["items"] if axis == "user" else fixture["users"]
    order = fixture[f"{axis}_order"]
    rows = {int(r): {} for r in order}
    for r, c, v in zip(row_ids, col_ids, fixture["ratings"]):
        rows[int(r)][int(c)] = float(v)
    return [rows[int(r)] for r in order]


def _baselines(fixture, data, axis):
    """fastcf's ALS baselines arranged for the reference: row = axis, column = the other."""
    mu, user_bias, item_bias = fit_biases(data)
    user_bias = user_bias[data.user_index(fixture["user_order"])]
    item_bias = item_bias[data.item_index(fixture["item_order"])]
    if axis == "user":
        row_bias, col_bias, col_order = user_bias, item_bias, fixture["item_order"]
    else:
        row_bias, col_bias, col_order = item_bias, user_bias, fixture["user_order"]
    column_bias = {int(c): float(b) for c, b in zip(col_order, col_bias)}
    return {"mu": mu, "query_bias": list(row_bias), "target_bias": list(row_bias),
            "column_bias": column_bias}


def test_fixture_has_the_edge_cases(fixture, data):
    assert fixture["user_pearson"].shape == (data.n_users, data.n_users)
    assert fixture["item_pearson"].shape == (data.n_items, data.n_items)
    assert 1 in data.user_counts() and 1 in data.item_counts()
    frame = data.to_frame()
    for key in ("user", "item"):
        spread = frame.groupby(key)["rating"].agg(["size", "std"])
        assert ((spread["size"] >= 3) & (spread["std"] == 0)).any(), key


def test_baselines_match_surprise(fixture, data):
    mu, user_bias, item_bias = fit_biases(data)
    assert abs(mu - float(fixture["global_mean"])) <= 1e-12
    np.testing.assert_allclose(user_bias[data.user_index(fixture["user_order"])],
                               fixture["bu"], rtol=0, atol=ATOL)
    np.testing.assert_allclose(item_bias[data.item_index(fixture["item_order"])],
                               fixture["bi"], rtol=0, atol=ATOL)


@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("kind", KINDS)
def test_reference_matches_surprise(fixture, data, kind, axis):
    rows = _rows(fixture, axis)
    options = {"self_index": list(range(len(rows)))}
    if kind == "pearson_baseline":
        options.update(shrinkage=100.0, baselines=_baselines(fixture, data, axis))
    got = np.array(reference_similarity(rows, rows, kind, **options))
    want = fixture[f"{axis}_{kind}"]
    np.testing.assert_allclose(got, want, rtol=0, atol=ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("kind", KINDS)
def test_public_api_matches_surprise(fixture, data, kind, axis, backend):
    if not callable(getattr(fastcf, "similarity", None)):
        pytest.skip("fastcf.similarity does not exist yet")
    got = np.asarray(fastcf.similarity(data, kind=kind, axis=axis, backend=backend))
    if axis == "user":
        order = data.user_index(fixture["user_order"])
    else:
        order = data.item_index(fixture["item_order"])
    assert got.shape == (len(order), len(order))
    np.testing.assert_allclose(got[np.ix_(order, order)], fixture[f"{axis}_{kind}"],
                               rtol=0, atol=ATOL)
