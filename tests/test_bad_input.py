"""The bad-input catalogue: every public entry point x every kind of bad input.

Each case ends in one of two ways, never in a crash, a hang, a silent NaN or a
changed input:

- a ``ValueError`` / ``TypeError`` whose message names the problem
  (``pytest.raises(..., match=...)``); or
- a documented warning (``pytest.warns``) or a documented, defined result,
  asserted here.

Every case that takes arrays also asserts that the caller's arrays are unchanged
afterwards (``expect`` keeps copies). Kernel entry points run on both compiled
backends.

Catalogue (R = raises ValueError/TypeError naming the problem, W = warns and
copies, D = defined result, asserted; - = not applicable; columns: NaN/inf
values, negative id, id >= n, empty data, a single user, a single item,
duplicate pairs, wrong dtypes, CSR* defects, k <= 0, k > n, n_threads=0,
unknown backend, unknown kind)::

    entry point        nan  -id  id>n empty 1usr 1itm dup  dtype CSR* k<=0 k>n  thr0 bknd kind
    estimator.fit      R1   D2   -    R     D    D    R1   R3    -    R    D    R    R    R
    estimator.predict  -    D4   D4   D     -    -    -    D4    -    -    -    -    -    -
    .recommend         -    D4   D4   D     -    -    -    R     -    R    D    -    -    -
    similarity[_to]    R    R    R    D     D/R  D    R    R     R    R    R    R    R    R
    kernels.similarity R    R    R    D     D/R  D    R    R     W/R  R    R    R    R    R
    topk               R/D5 R    R    D     D    D    D    R     W/R  R    R    R    R    -
    scored_topk        R    R    R    D     D    D    D    R     W/R  R    R    R    R    -
    neighborhood_sums  R    R    R    D     D    D    D    R     W    R    D    R    R    -
    bias_sweep         R    R    R    D     D    D    D    R     W/R  -    -    R    R    -
    sgd_epoch          R    R    R    D     D    D    D    R     R    -    -    -    R    -
    splits             -    -    -    R     D/R  D    -    R     -    R    R    -    -    R
    Interactions.*     R    D2   R6   R     D    D    R    R     D    -    -    -    -    R
    readers            R    D2   -    R     D    D    R    R     -    -    -    -    -    R7
    fastcf.load        R: truncated, random bytes, flipped bytes, foreign npz / npy / text,
                       newer or invalid version, unknown or private class, bad params,
                       missing or extra arrays, arrays of another dtype, ndim or shape
                       than the class's schema (shapes that disagree with each other, the
                       id maps or the parameters), NaN or inf, a CSR whose indptr does not
                       run from 0 to nnz or with an index out of range (every class:
                       tests/test_persist.py); a missing file: FileNotFoundError

    CSR*: non-CSR / unsorted / repeated indices / non-contiguous arrays / bad indptr.
    (1) via the Interactions builders, which refuse NaN/inf and (by default) duplicates.
    (2) external ids are labels, not indices: -1 is an ordinary id.
    (3) implicit data for rating models; non-Interactions input.
    (4) unknown (or never-seen: negative, NaN, other-typed) ids fall back, flagged by
        return_unknown; unknown="raise" raises.
    (5) NaN raises; +inf ranks first, -inf is never returned.
    (6) from_csr: scipy refuses indices outside the shape.
    (7) an unknown file format, or a CSV header lacking a column.

Expectations chosen per entry point (what a Surprise / implicit / LensKit user
would expect), asserted below: a single user or item fits and predicts (the
baselines/fallbacks of that model), except NeuMF, which needs an item a user has
not interacted with to draw negatives and says so; a kNN ``k`` larger than the
candidates means "all of them"; a top-k ``k`` larger than the row refuses (it is
an output shape); duplicate (user, item) pairs are refused when building data
(``duplicates=`` combines them) but are plain repeated entries for the SGD and
sum kernels.
"""

import copy
import json
import re
import zipfile

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import fastcf
from fastcf import Interactions, datasets, kernels, split

COMPILED = ["numba", "cython"]

# ----------------------------------------------------------------------- helpers


def _snapshot(x):
    if isinstance(x, (np.ndarray, pd.DataFrame, pd.api.extensions.ExtensionArray)) \
            or sp.issparse(x):
        return x.copy()
    if isinstance(x, (list, tuple)):
        return type(x)(_snapshot(v) for v in x)
    if isinstance(x, dict):
        return {k: _snapshot(v) for k, v in x.items()}
    return copy.deepcopy(x)


def _assert_same(a, b):
    if isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif sp.issparse(b):
        assert a.format == b.format and a.shape == b.shape and a.dtype == b.dtype
        if b.format == "csr":  # in place sorting or summing would show here
            for name in ("indptr", "indices", "data"):
                _assert_same(getattr(a, name), getattr(b, name))
        else:
            np.testing.assert_array_equal(a.toarray(), b.toarray())
    elif isinstance(b, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    elif isinstance(b, pd.api.extensions.ExtensionArray):
        pd.testing.assert_extension_array_equal(a, b)
    elif isinstance(b, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(b, dict):
        assert a.keys() == b.keys()
        for key in b:
            _assert_same(a[key], b[key])
    else:
        assert a == b or (a != a and b != b)


def expect(exc, match, call, *inputs):
    """``call()`` raises ``exc`` (or warns, for a Warning) matching ``match``;
    ``inputs`` are unchanged afterwards. Returns the result of a warning case."""
    before = [_snapshot(x) for x in inputs]
    result = None
    if issubclass(exc, Warning):
        with pytest.warns(exc, match=match):
            result = call()
    else:
        with pytest.raises(exc, match=match):
            call()
    for now, then in zip(inputs, before):
        _assert_same(now, then)
    return result


def unchanged(call, *inputs):
    """``call()``'s result, with ``inputs`` checked unchanged afterwards."""
    before = [_snapshot(x) for x in inputs]
    result = call()
    for now, then in zip(inputs, before):
        _assert_same(now, then)
    return result


def strided(array):
    """The same values as a non-contiguous view (every other element of a bigger array)."""
    big = np.zeros(2 * len(array), dtype=array.dtype)
    big[::2] = array
    return big[::2]


def assert_csr_equal(got, want):
    for a, b in zip(got[:3], want[:3]):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def ratings():
    return fastcf.make_ratings(20, 15, 80, seed=0, timestamps=True)


ESTIMATORS = {
    "BaselineOnly": lambda: fastcf.BaselineOnly(epochs=1),
    "UserKNN": lambda: fastcf.UserKNN(k=3),
    "ItemKNN": lambda: fastcf.ItemKNN(k=3),
    "MatrixFactorization": lambda: fastcf.MatrixFactorization(factors=2, epochs=1),
    "MLPRecommender": lambda: fastcf.MLPRecommender(embedding_dim=2, hidden=(4,), epochs=1),
    "NeuMF": lambda: fastcf.NeuMF(factors=2, embedding_dim=2, hidden=(4,), epochs=1),
}
RATING_MODELS = ["BaselineOnly", "MatrixFactorization", "MLPRecommender"]  # explicit only


@pytest.fixture(scope="module")
def fitted(ratings):
    return {name: make().fit(ratings) for name, make in ESTIMATORS.items()}


ONE_USER = dict(users=np.zeros(4, int), items=np.arange(4), ratings=np.array([1.0, 2, 3, 4]))
ONE_ITEM = dict(users=np.arange(4), items=np.zeros(4, int), ratings=np.array([1.0, 2, 3, 4]))
ONE_RATING = dict(users=[0], items=[0], ratings=[3.0])
CONSTANT = dict(users=[0, 0, 1, 1, 2], items=[0, 1, 0, 1, 2], ratings=[0.1] * 5)


def _build(spec):
    return Interactions.from_arrays(spec["users"], spec["items"], spec["ratings"])


# =================================================================== estimators


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("bad, exc, match", [
    (np.ones((3, 3)), TypeError, "fit expects an Interactions, got ndarray"),
    (pd.DataFrame({"user": [0], "item": [0], "rating": [1.0]}), TypeError,
     "fit expects an Interactions, got DataFrame"),
    (sp.csr_matrix(np.eye(2)), TypeError, "fit expects an Interactions, got csr_matrix"),
    (None, TypeError, "fit expects an Interactions, got NoneType"),
])
def test_fit_refuses_what_is_not_interactions(name, bad, exc, match):
    expect(exc, match, lambda: ESTIMATORS[name]().fit(bad), bad)


@pytest.mark.parametrize("name", RATING_MODELS)
def test_rating_models_refuse_implicit_data(name):
    implicit = Interactions.from_arrays([0, 1, 1], [0, 0, 1])
    with pytest.raises(ValueError, match="needs explicit ratings; this data is implicit"):
        ESTIMATORS[name]().fit(implicit)


@pytest.mark.parametrize("name", ["UserKNN", "ItemKNN", "NeuMF"])
def test_ranking_models_fit_implicit_data(name):
    implicit = Interactions.from_arrays([0, 0, 1, 2], [0, 1, 1, 2])
    model = ESTIMATORS[name]().fit(implicit)
    assert np.isfinite(model.predict([0, 1, 9], [1, 0, 9])).all()


@pytest.mark.parametrize("name", ["UserKNN", "ItemKNN"])
def test_knn_modes_other_than_basic_refuse_implicit_data(name):
    implicit = Interactions.from_arrays([0, 0, 1, 2], [0, 1, 1, 2])
    with pytest.raises(ValueError, match="mode == 'means' needs explicit ratings"):
        getattr(fastcf, name)(mode="means").fit(implicit)


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("spec", [ONE_USER, ONE_ITEM, ONE_RATING, CONSTANT],
                         ids=["one_user", "one_item", "one_rating", "constant"])
def test_tiny_data_fits_or_says_why(name, spec):
    """One user, one item, one rating, all-equal ratings: Surprise/LensKit fit these
    (baseline and fallback predictions); so does every model here, with finite
    predictions and recommendations. NeuMF draws negatives, so it needs an item
    each user has not interacted with, and says so."""
    data = _build(spec)
    if name == "NeuMF" and spec is not CONSTANT:
        with pytest.raises(ValueError, match="interacted with every item: no negatives"):
            ESTIMATORS[name]().fit(data)
        return
    model = ESTIMATORS[name]().fit(data)
    ghost = np.array(["ghost"], dtype=object)  # an id never seen
    users = np.r_[np.repeat(data.user_ids, data.n_items).astype(object), ghost]
    items = np.r_[np.tile(data.item_ids, data.n_users).astype(object), ghost]
    scores, unknown = model.predict(users, items, return_unknown=True)
    assert np.isfinite(scores).all() and unknown.users.sum() == 1
    top, scores = model.recommend(np.r_[data.user_ids.astype(object), ghost], n=data.n_items,
                                  exclude_seen=False)
    assert top.shape == scores.shape == (data.n_users + 1, data.n_items)
    assert np.isfinite(scores).all()


@pytest.mark.parametrize("mode", ["basic", "means", "zscore", "baseline"])
@pytest.mark.parametrize("name", ["UserKNN", "ItemKNN"])
def test_knn_on_constant_ratings_predicts_the_constant(name, mode):
    # Every rating 4: sigma 0 everywhere (z-scores were 0 / 0 = NaN before).
    data = Interactions.from_arrays([0, 0, 1, 1, 2], [0, 1, 0, 1, 2], [4.0] * 5)
    model = getattr(fastcf, name)(k=3, mode=mode).fit(data)
    np.testing.assert_allclose(model.predict([0, 1, 2, 0], [0, 1, 2, 2]), 4.0)


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("users, items", [
    ([999], [0]), ([-1], [0]), ([np.nan], [0]), ([0], [-1]),
    (np.array([1j]), np.array([0])), (np.array([True]), np.array([0])),
    (np.array([None], dtype=object), np.array([0], dtype=object)),
], ids=["unknown", "negative_user", "nan_user", "negative_item", "complex", "bool", "none"])
def test_predict_unknown_ids_fall_back_and_are_flagged(fitted, name, users, items):
    """External ids are labels: -1, NaN or a differently-typed id is simply an id
    the model never saw. It gets the model's documented fallback (finite), and
    ``return_unknown`` flags it; ``unknown="raise"`` refuses it."""
    model = fitted[name]
    users, items = np.asarray(users), np.asarray(items)
    scores, unknown = unchanged(lambda: model.predict(users, items, return_unknown=True),
                                users, items)
    assert np.isfinite(scores).all()
    assert (unknown.users | unknown.items).all()
    expect(ValueError, "1 unknown (user|item) ids",
           lambda: model.predict(users, items, unknown="raise"), users, items)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_predict_ids_are_looked_up_by_value(fitted, name, ratings):
    model = fitted[name]
    u, i = ratings.user_ids[:3], ratings.item_ids[:3]
    want = model.predict(u, i)
    for dtype in (np.int8, np.float64, object):  # 0.0 == 0: the same id
        np.testing.assert_array_equal(model.predict(u.astype(dtype), i.astype(dtype)), want)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_predict_bad_shapes(fitted, name):
    model = fitted[name]
    users = np.array([0, 1])
    expect(ValueError, "users has 2 entries but items has 1; they must match",
           lambda: model.predict(users, [0]), users)
    expect(ValueError, "users must be 1-d, got 2 dimensions", lambda: model.predict([[0]], [[0]]))
    expect(ValueError, r"unknown == 'x', must be one of \('fallback', 'raise'\)",
           lambda: model.predict([0], [0], unknown="x"))
    empty = model.predict([], [])
    assert empty.shape == (0,) and empty.dtype == np.float64


@pytest.mark.parametrize("name", ESTIMATORS)
def test_unfitted_models_say_so(name):
    with pytest.raises(fastcf.NotFittedError, match="is not fitted yet; call fit first"):
        ESTIMATORS[name]().predict([0], [0])
    with pytest.raises(ValueError, match="is not fitted yet"):  # NotFittedError is one
        ESTIMATORS[name]().recommend([0])


@pytest.mark.parametrize("name", ESTIMATORS)
def test_recommend_bad_n_and_candidates(fitted, name, ratings):
    model = fitted[name]
    users = np.array([0, 1])
    for n in (0, -1):
        expect(ValueError, f"n == {n}, must be >= 1", lambda n=n: model.recommend(users, n), users)
    expect(TypeError, "n must be an int, got float", lambda: model.recommend(users, 2.0), users)
    candidates = np.array([], dtype=np.int64)
    expect(ValueError, "candidates is empty, must hold at least one item id",
           lambda: model.recommend(users, 2, candidates=candidates), users, candidates)
    unknown = np.array([999])
    expect(ValueError, "1 unknown candidate item ids",
           lambda: model.recommend(users, 2, candidates=unknown), unknown)
    repeated = np.array([1, 1])
    expect(ValueError, "candidates contain repeated items",
           lambda: model.recommend(users, 2, candidates=repeated), repeated)
    expect(ValueError, "users must be 1-d", lambda: model.recommend([[0]], 2))


@pytest.mark.parametrize("name", ESTIMATORS)
def test_recommend_defined_results(fitted, name, ratings):
    model = fitted[name]
    # n > n_items: as many as there are (LensKit / implicit clip the same way)
    items, scores = model.recommend([0], n=10**6, exclude_seen=False)
    assert items.shape == (1, ratings.n_items) and np.isfinite(scores).all()
    # an unknown user (also -1 / NaN): the fallback ranking, finite, flagged
    items, scores, unknown = model.recommend([999, -1], n=3, return_unknown=True)
    assert unknown.all() and np.isfinite(scores).all()
    items, scores = model.recommend([], n=3)
    assert items.shape == scores.shape == (0, 3)


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("param, value, exc, match", [
    ("n_threads", 0, ValueError, "n_threads == 0, must be >= 1"),
    ("n_threads", -2, ValueError, "n_threads == -2, must be >= 1"),
    ("n_threads", 1.5, TypeError, "n_threads must be an int"),
    ("backend", "gpu", ValueError, "backend == 'gpu', must be one of"),
    ("backend", None, TypeError, "backend must be a str, got NoneType"),
    ("dtype", np.int32, TypeError, "dtype == int32, must be float32 or float64"),
])
def test_bad_shared_params(name, param, value, exc, match, ratings):
    model = ESTIMATORS[name]()
    if param not in model.get_params():
        pytest.skip(f"{name} has no {param}")
    with pytest.raises(exc, match=match):
        model.set_params(**{param: value})
    setattr(model, param, value)  # set behind set_params' back: fit checks too
    with pytest.raises(exc, match=match):
        model.fit(ratings)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_n_threads_minus_one_means_all_cores(name, ratings):
    model = ESTIMATORS[name]().set_params(n_threads=-1).fit(ratings)
    assert np.isfinite(model.predict([0], [0])).all()


@pytest.mark.parametrize("make, exc, match", [
    (lambda: fastcf.UserKNN(similarity="cos"), ValueError, "similarity == 'cos', must be one of"),
    (lambda: fastcf.ItemKNN(mode="plain"), ValueError, "mode == 'plain', must be one of"),
    (lambda: fastcf.UserKNN(k=0), ValueError, "k == 0, must be >= 1"),
    (lambda: fastcf.ItemKNN(k=-3), ValueError, "k == -3, must be >= 1"),
    (lambda: fastcf.UserKNN(k=2, min_k=3), ValueError, "min_k == 3, must be <= 2"),
    (lambda: fastcf.MatrixFactorization(factors=0), ValueError, "factors == 0, must be >= 1"),
    (lambda: fastcf.MatrixFactorization(schedule="async"), ValueError,
     "schedule == 'async', must be one of"),
    (lambda: fastcf.MatrixFactorization(lr=float("nan")), ValueError, "lr == nan, must be finite"),
    (lambda: fastcf.MLPRecommender(hidden=()), ValueError, "hidden == (), must be a non-empty"),
    (lambda: fastcf.NeuMF(n_negatives=0), ValueError, "n_negatives == 0, must be >= 1"),
    (lambda: fastcf.BaselineOnly(epochs=0), ValueError, "epochs == 0, must be >= 1"),
])
def test_bad_kinds_and_counts(make, exc, match, ratings):
    with pytest.raises(exc, match=match.replace("(", r"\(").replace(")", r"\)")):
        make().fit(ratings)


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("name", ["UserKNN", "ItemKNN"])
def test_knn_k_beyond_the_candidates_means_all_of_them(name, backend, ratings):
    # A k-heap per thread of 10**12 entries crashed both backends before.
    huge = getattr(fastcf, name)(k=10**12, backend=backend).fit(ratings)
    alln = getattr(fastcf, name)(k=ratings.n_users + ratings.n_items, backend=backend)
    alln.fit(ratings)
    users, items = ratings.user_ids[:10], ratings.item_ids[:10]
    np.testing.assert_array_equal(huge.predict(users, items), alln.predict(users, items))
    # so does a min_support no pair can reach (it overflowed the Cython kernel's int64)
    never = getattr(fastcf, name)(min_support=2**63, backend=backend).fit(ratings)
    assert np.isfinite(never.predict(users, items)).all()


# ========================================================== similarity (public)


@pytest.fixture(scope="module")
def csr(ratings):
    return ratings.by_user.to_scipy().copy()


def _csr(data, indices, indptr, shape):
    return sp.csr_matrix((np.asarray(data), np.asarray(indices), np.asarray(indptr)),
                         shape=shape)


@pytest.mark.parametrize("backend", COMPILED)
def test_similarity_bad_matrices(backend, csr):
    m = csr
    n_items = m.shape[1]
    cases = [
        (_csr(np.r_[np.nan, m.data[1:]], m.indices, m.indptr, m.shape), ValueError,
         r"data contain 1 NaN/inf values \(first at entry 0\)"),
        (_csr(np.r_[m.data[:-1], np.inf], m.indices, m.indptr, m.shape), ValueError,
         "data contain 1 NaN/inf values"),
        (_csr(m.data, np.r_[-1, m.indices[1:]], m.indptr, m.shape), ValueError,
         rf"indices contain -1, must lie in \[0, {n_items}\)"),
        (_csr(m.data, np.r_[99, m.indices[1:]], m.indptr, m.shape), ValueError,
         rf"indices contain 99, must lie in \[0, {n_items}\)"),
        (_csr([1.0, 2.0], [1, 1], [0, 2, 2], (2, 3)), ValueError,
         "indices are repeated within a row"),
        (_csr([1.0, 2.0], [2, 0], [0, 2, 2], (2, 3)), ValueError,
         "indices are unsorted within a row"),
        (m.astype(np.int8), TypeError, "data.dtype == int8, must be float32 or float64"),
        (m.astype(bool), TypeError, "data.dtype == bool, must be float32 or float64"),
        (m.astype(np.complex128), TypeError, "data.dtype == complex128, must be float32"),
        (m.tocoo(), TypeError, "x is a scipy COO matrix; pass a CSR one"),
        (m.tocsc(), TypeError, "x is a scipy CSC matrix; pass a CSR one"),
        (m.toarray(), TypeError, "x must be an Interactions or a scipy CSR matrix, got ndarray"),
        (sp.csr_matrix((0, 0)), ValueError, "n_cols == 0, must be >= 1"),
    ]
    for x, exc, match in cases:
        expect(exc, match, lambda x=x: fastcf.similarity(x, backend=backend), x)


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("kwargs, exc, match", [
    ({"k": 0}, ValueError, "k == 0, must be >= 1"),
    ({"k": -1}, ValueError, "k == -1, must be >= 1"),
    ({"k": 20}, ValueError, r"k == 20, must be <= 19 \(n - 1, a row is never its own"),
    ({"k": 2.0}, TypeError, "k must be an int, got float"),
    ({"n_threads": 0}, ValueError, "n_threads == 0, must be >= 1, -1 or None"),
    ({"kind": "cos"}, ValueError, "kind == 'cos', must be one of"),
    ({"kind": None}, TypeError, "kind must be a str, got NoneType"),
    ({"axis": "row"}, ValueError, r"axis == 'row', must be one of \('user', 'item'\)"),
    ({"dtype": np.int32}, TypeError, "dtype == int32, must be float32 or float64"),
    ({"min_support": 0}, ValueError, "min_support == 0, must be >= 1"),
    ({"shrinkage": -1.0}, ValueError, "shrinkage == -1.0, must be >= 0.0"),
    ({"min_sim": float("nan")}, ValueError, "min_sim == nan, must be finite"),
])
def test_similarity_bad_arguments(backend, kwargs, exc, match, ratings, csr):
    expect(exc, match, lambda: fastcf.similarity(csr, backend=backend, **kwargs), csr)
    with pytest.raises(exc, match=match):
        fastcf.similarity(ratings, backend=backend, **kwargs)


def test_similarity_unknown_backend(ratings):
    with pytest.raises(ValueError, match="backend == 'gpu', must be one of"):
        fastcf.similarity(ratings, backend="gpu")


@pytest.mark.parametrize("backend", COMPILED)
def test_similarity_edge_shapes(backend):
    # no rows: an empty result; rows without entries: similarity 0, self 1 (dense)
    assert fastcf.similarity(sp.csr_matrix((0, 3)), backend=backend).shape == (0, 0)
    np.testing.assert_array_equal(fastcf.similarity(sp.csr_matrix((3, 3)), backend=backend),
                                  np.eye(3))
    one_user = sp.csr_matrix(np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_array_equal(fastcf.similarity(one_user, backend=backend), [[1.0]])
    with pytest.raises(ValueError, match=r"k == 1, must be <= 0 \(n - 1"):
        fastcf.similarity(one_user, k=1, backend=backend)
    np.testing.assert_array_equal(
        fastcf.similarity(one_user, axis="item", kind="cosine", backend=backend), np.ones((3, 3)))
    one_item = sp.csr_matrix(np.array([[1.0], [2.0], [4.0]]))
    sims = fastcf.similarity(one_item, backend=backend)  # one co-rated column: Pearson 0
    np.testing.assert_array_equal(sims, np.eye(3))
    top = fastcf.similarity(one_item, kind="cosine", k=2, backend=backend)
    np.testing.assert_array_equal(top.data, np.ones(6))


@pytest.mark.parametrize("backend", COMPILED)
def test_similarity_to_bad_queries(backend, ratings):
    item = ratings.item_ids[0]
    cases = [
        ({item: np.nan}, ValueError, r"queries data contain 1 NaN/inf values"),
        ({item: np.inf}, ValueError, r"queries data contain 1 NaN/inf values"),
        ({999: 3.0}, ValueError, r"1 unknown item ids \(first: 999\)"),
        ({-1: 3.0}, ValueError, r"1 unknown item ids \(first: -1\)"),
        ({item: "3"}, TypeError, r"queries\[0\] must hold real numbers, got '3' \(str\)"),
        ({item: True}, TypeError, r"queries\[0\] must hold real numbers, got True \(bool\)"),
        ({item: 3j}, TypeError, r"queries\[0\] must hold real numbers, got 3j \(complex\)"),
        ([], ValueError, "queries is empty, must hold at least one query row"),
        (np.ones((1, 15)), TypeError, "queries must be a scipy CSR matrix or a list of dicts"),
        (sp.csr_matrix(np.ones((1, 2))), ValueError, r"queries has shape \(1, 2\), must be"),
        (_csr([1.0, 2.0], [3, 1], [0, 2], (1, 15)), ValueError,
         "queries indices are unsorted within a row"),
        (_csr([1.0, 2.0], [1, 1], [0, 2], (1, 15)), ValueError,
         "queries indices are repeated within a row"),
        (sp.csr_matrix(np.ones((1, 15), dtype=np.int8)), TypeError,
         "queries data.dtype == int8, must be float32 or float64"),
        (sp.csr_matrix(np.ones((1, 15))).tocsc(), TypeError,
         "queries is a scipy CSC matrix; pass a CSR one"),
    ]
    for queries, exc, match in cases:
        expect(exc, match, lambda q=queries: fastcf.similarity_to(ratings, q, backend=backend),
               queries)
    query = {item: 3.0}
    for kwargs, exc, match in [
        ({"k": 0}, ValueError, "k == 0, must be >= 1"),
        ({"k": 21}, ValueError, r"k == 21, must be <= 20 \(n_targets\)"),
        ({"kind": "x"}, ValueError, "kind == 'x', must be one of"),
        ({"n_threads": 0}, ValueError, "n_threads == 0"),
        ({"backend": "gpu"}, ValueError, "backend == 'gpu'"),
    ]:
        with pytest.raises(exc, match=match):
            fastcf.similarity_to(ratings, query, **{"backend": backend, **kwargs})


@pytest.mark.parametrize("backend", COMPILED)
def test_similarity_to_defined_edges(backend, ratings):
    # k == n is allowed (no row is "self"); an empty query row is similar to nobody
    top = fastcf.similarity_to(ratings, {ratings.item_ids[0]: 3.0}, k=20, backend=backend)
    assert top.shape == (1, 20)
    np.testing.assert_array_equal(fastcf.similarity_to(ratings, [{}], backend=backend),
                                  np.zeros((1, 20)))


# ================================================================ raw CSR kernels


def sim_args():
    """A 4 x 3 CSR (an empty row, a single-entry row) for kernels.similarity."""
    return dict(indptr=np.array([0, 2, 3, 3, 6]), indices=np.array([0, 2, 1, 0, 1, 2]),
                data=np.array([1.0, 2.0, 3.0, 4.0, 5.0, 3.0]), n_cols=3)


def _set(key, value):
    return lambda kw: kw.__setitem__(key, value)


def _edit(key, fn):
    return lambda kw: kw.__setitem__(key, fn(kw[key]))


CSR_CASES = [  # (id, mutation of sim_args(), exception, match)
    ("nan", _edit("data", lambda d: np.r_[d[:1], np.nan, d[2:]]), ValueError,
     r"data contain 1 NaN/inf values \(first at entry 1\)"),
    ("inf", _edit("data", lambda d: np.r_[d[:-1], -np.inf]), ValueError, "NaN/inf values"),
    ("negative_index", _edit("indices", lambda i: np.r_[-1, i[1:]]), ValueError,
     r"indices contain -1, must lie in \[0, 3\)"),
    ("index_beyond", _edit("indices", lambda i: np.r_[i[:-1], 3]), ValueError,
     r"indices contain 3, must lie in \[0, 3\)"),
    ("repeated_index", _edit("indices", lambda i: np.r_[0, 0, i[2:]]), ValueError,
     "indices are repeated within a row"),
    ("unsorted_index", _edit("indices", lambda i: np.r_[2, 0, i[2:]]), ValueError,
     "indices are unsorted within a row"),
    ("data_object", _edit("data", lambda d: d.astype(object)), TypeError,
     "data.dtype == object, must be float32 or float64"),
    ("data_int8", _edit("data", lambda d: d.astype(np.int8)), TypeError, "data.dtype == int8"),
    ("data_complex", _edit("data", lambda d: d.astype(complex)), TypeError,
     "data.dtype == complex128"),
    ("data_bool", _edit("data", lambda d: d.astype(bool)), TypeError, "data.dtype == bool"),
    ("data_float16", _edit("data", lambda d: d.astype(np.float16)), TypeError,
     "data.dtype == float16"),
    ("data_list", _edit("data", list), TypeError, "data must be a numpy array, got list"),
    ("data_2d", _edit("data", lambda d: d[:, None]), ValueError, "data.ndim == 2, must be 1"),
    ("indices_int8", lambda kw: kw.update(indptr=kw["indptr"].astype(np.int8),
                                          indices=kw["indices"].astype(np.int8)),
     TypeError, "indptr.dtype == int8, must be int32 or int64"),
    ("indices_uint64", lambda kw: kw.update(indptr=kw["indptr"].astype(np.uint64),
                                            indices=kw["indices"].astype(np.uint64)),
     TypeError, "indptr.dtype == uint64, must be int32 or int64"),
    ("indices_float", _edit("indices", lambda i: i.astype(float)), TypeError,
     "indices.dtype == float64, must be int32 or int64"),
    ("index_dtypes_differ", _edit("indices", lambda i: i.astype(np.int32)), TypeError,
     "indptr.dtype == int64 but indices.dtype == int32; they must match"),
    ("indptr_not_from_0", _edit("indptr", lambda p: p + 1), ValueError,
     "indptr must start with 0"),
    ("indptr_decreasing", _set("indptr", np.array([0, 3, 2, 3, 6])), ValueError,
     "indptr must be non-decreasing"),
    ("indptr_wrong_end", _set("indptr", np.array([0, 2, 3, 3, 5])), ValueError,
     r"indptr\[-1\] == 5 but len\(indices\) == 6"),
    ("lengths_differ", _edit("data", lambda d: d[:-1]), ValueError,
     r"len\(data\) == 5 but len\(indices\) == 6"),
    ("not_an_array", _set("indptr", [0, 2, 3, 3, 6]), TypeError,
     "indptr must be a numpy array, got list"),
    ("n_cols_0", _set("n_cols", 0), ValueError, "n_cols == 0, must be >= 1"),
    ("k_0", _set("k", 0), ValueError, "k == 0, must be >= 1"),
    ("k_negative", _set("k", -2), ValueError, "k == -2, must be >= 1"),
    ("k_beyond", _set("k", 4), ValueError, r"k == 4, must be <= 3 \(n - 1"),
    ("n_threads_0", _set("n_threads", 0), ValueError, "n_threads == 0"),
    ("kind", _set("kind", "euclid"), ValueError, "kind == 'euclid', must be one of"),
    ("backend", _set("backend", "gpu"), ValueError, "backend == 'gpu', must be one of"),
    ("baselines_missing", _set("kind", "pearson_baseline"), ValueError,
     "kind == 'pearson_baseline' needs baselines="),
]


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("case", CSR_CASES, ids=[c[0] for c in CSR_CASES])
def test_similarity_kernel_bad_csr(backend, case):
    _, mutate, exc, match = case
    kw = {**sim_args(), "backend": backend}
    mutate(kw)
    expect(exc, match, lambda: kernels.similarity(**kw), kw)


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("case", CSR_CASES[:22], ids=[c[0] for c in CSR_CASES[:22]])
def test_similarity_to_kernel_bad_query_csr(backend, case):
    _, mutate, exc, match = case
    q = sim_args()
    mutate(q)
    t = sim_args()
    # the query arrays are named q_indptr, q_indices, q_data in every message
    match = re.sub(r"\b(indptr|indices|data)\b", r"q_\1", match)
    expect(exc, match, lambda: kernels.similarity_to(
        q["indptr"], q["indices"], q["data"], t["indptr"], t["indices"], t["data"], 3,
        backend=backend), q, t)


@pytest.mark.parametrize("backend", COMPILED)
def test_similarity_kernel_defined_cases(backend):
    kw = sim_args()
    want = kernels.similarity(**kw, backend=backend)
    # non-contiguous arrays: copied with a warning, same result
    for name in ("indptr", "indices", "data"):
        bad = {**kw, name: strided(kw[name])}
        got = expect(UserWarning, f"{name} is not C-contiguous; copying it",
                     lambda bad=bad: kernels.similarity(**bad, backend=backend), bad)
        np.testing.assert_array_equal(got, want)
    # no rows; a single row; int32 indices; a min_support nobody reaches
    empty = kernels.similarity(np.array([0]), np.array([], int), np.array([]), 3,
                               backend=backend)
    assert empty.shape == (0, 0)
    one = kernels.similarity(np.array([0, 2]), np.array([0, 1]), np.array([1.0, 2.0]), 3,
                             backend=backend)
    np.testing.assert_array_equal(one, [[1.0]])
    narrow = {**kw, "indptr": kw["indptr"].astype(np.int32),
              "indices": kw["indices"].astype(np.int32)}
    np.testing.assert_array_equal(kernels.similarity(**narrow, backend=backend), want)
    never = kernels.similarity(**kw, min_support=2**63, backend=backend)
    np.testing.assert_array_equal(never, np.eye(4))
    np.testing.assert_array_equal(
        kernels.similarity(**kw, min_support=2**63, k=2, backend=backend).indptr, np.zeros(5))


# ------------------------------------------------------------------------- topk


def scores_block():
    return np.array([[1.0, 3.0, 2.0, 3.0], [0.0, -np.inf, np.inf, 1.0], [2.0, 2.0, 2.0, 2.0]])


TOPK_CASES = [  # (id, scores, k, exclude, exception, match)
    ("nan", np.array([[1.0, np.nan]]), 1, None, ValueError,
     r"scores contain 1 NaN values \(first at row 0, col 1\)"),
    ("k_0", scores_block(), 0, None, ValueError, "k == 0, must be >= 1"),
    ("k_negative", scores_block(), -1, None, ValueError, "k == -1, must be >= 1"),
    ("k_beyond", scores_block(), 5, None, ValueError, "k == 5, must be <= n_cols == 4"),
    ("k_float", scores_block(), 1.0, None, TypeError, "k must be an int, got float"),
    ("no_columns", np.zeros((2, 0)), 1, None, ValueError, "k == 1, must be <= n_cols == 0"),
    ("object", scores_block().astype(object), 1, None, TypeError,
     "scores.dtype == object, must be float32 or float64"),
    ("int8", scores_block()[:1].astype(np.int8), 1, None, TypeError, "scores.dtype == int8"),
    ("int64", np.ones((2, 2), dtype=np.int64), 1, None, TypeError, "scores.dtype == int64"),
    ("complex", scores_block().astype(complex), 1, None, TypeError,
     "scores.dtype == complex128"),
    ("bool", np.ones((2, 2), dtype=bool), 1, None, TypeError, "scores.dtype == bool"),
    ("list", [[1.0, 2.0]], 1, None, TypeError, "scores must be a numpy array, got list"),
    ("1d", np.array([1.0, 2.0]), 1, None, ValueError, "scores.ndim == 1, must be 2"),
    ("exclude_negative", scores_block(), 1, (np.array([0, 1, 1, 1]), np.array([-1])),
     ValueError, r"exclude indices contain -1, must lie in \[0, 4\)"),
    ("exclude_beyond", scores_block(), 1, (np.array([0, 1, 1, 1]), np.array([4])),
     ValueError, r"exclude indices contain 4, must lie in \[0, 4\)"),
    ("exclude_rows", scores_block(), 1, (np.array([0, 1]), np.array([0])), ValueError,
     "exclude has 1 rows, must have n_rows == 3"),
    ("exclude_list", scores_block(), 1, [np.array([0, 0, 0, 0]), np.array([], int)],
     TypeError, "exclude must be None or a tuple"),
    ("exclude_float", scores_block(), 1, (np.zeros(4), np.zeros(0)), TypeError,
     "exclude indptr.dtype == float64, must be int32 or int64"),
    ("exclude_indptr", scores_block(), 1, (np.array([1, 1, 1, 1]), np.array([], int)),
     ValueError, "exclude indptr must start with 0"),
    ("exclude_mixed", scores_block(), 1, (np.zeros(4, np.int32), np.zeros(0, np.int64)),
     TypeError, "exclude indptr.dtype == int32 but exclude indices.dtype == int64"),
]


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("case", TOPK_CASES, ids=[c[0] for c in TOPK_CASES])
def test_topk_bad_input(backend, case):
    _, scores, k, exclude, exc, match = case
    expect(exc, match, lambda: fastcf.topk(scores, k, exclude, backend=backend), scores,
           exclude)


@pytest.mark.parametrize("backend", COMPILED)
def test_topk_defined_cases(backend):
    scores = scores_block()
    # +inf ranks first, -inf is never returned (padding: index -1, value NaN)
    idx, val = fastcf.topk(scores, 4, backend=backend)
    np.testing.assert_array_equal(idx[1], [2, 3, 0, -1])
    np.testing.assert_array_equal(val[1], [np.inf, 1.0, 0.0, np.nan])
    # no rows; one column; ties by lower column
    idx, val = fastcf.topk(np.zeros((0, 4)), 2, backend=backend)
    assert idx.shape == val.shape == (0, 2)
    np.testing.assert_array_equal(fastcf.topk(np.array([[5.0], [1.0]]), 1,
                                              backend=backend)[0], [[0], [0]])
    np.testing.assert_array_equal(fastcf.topk(scores, 2, backend=backend)[0][2], [0, 1])
    # unsorted / repeated exclusions mean the same as sorted unique ones
    messy = (np.array([0, 3, 3, 4]), np.array([3, 1, 3, 0]))
    tidy = (np.array([0, 2, 2, 3]), np.array([1, 3, 0]))
    got = unchanged(lambda: fastcf.topk(scores, 2, messy, backend=backend), scores, messy)
    for a, b in zip(got, fastcf.topk(scores, 2, tidy, backend=backend)):
        np.testing.assert_array_equal(a, b)
    # a fully excluded row is all padding
    full = (np.array([0, 4, 4, 4]), np.arange(4))
    idx, val = fastcf.topk(scores, 2, full, backend=backend)
    assert (idx[0] == -1).all() and np.isnan(val[0]).all()
    # non-contiguous scores: copied with a warning, same result
    fortran = np.asfortranarray(scores)
    got = expect(UserWarning, "scores is not C-contiguous; copying it",
                 lambda: fastcf.topk(fortran, 2, backend=backend), fortran)
    np.testing.assert_array_equal(got[0], fastcf.topk(scores, 2, backend=backend)[0])
    ex = (np.array([0, 1, 1, 2]), strided(np.array([3, 0])))
    expect(UserWarning, "exclude indices is not C-contiguous",
           lambda: fastcf.topk(scores, 2, ex, backend=backend), ex)
    for kwargs, exc, match in [({"n_threads": 0}, ValueError, "n_threads == 0"),
                               ({"n_threads": -2}, ValueError, "n_threads == -2"),
                               ({"backend": "gpu"}, ValueError, "backend == 'gpu'")]:
        with pytest.raises(exc, match=match):
            fastcf.topk(scores, 1, **{"backend": backend, **kwargs})


# ------------------------------------------------------------------ scored_topk


def scored_args():
    """Two weight rows over three sources; sources' rows over four columns."""
    return dict(w_indptr=np.array([0, 1, 3]), w_indices=np.array([0, 0, 2]),
                w_data=np.array([1.0, 0.5, 0.5]), m_indptr=np.array([0, 2, 3, 3]),
                m_indices=np.array([0, 1, 2]), m_data=np.array([1.0, 2.0, 3.0]), n_cols=4, n=2)


SCORED_CASES = [
    ("w_nan", _edit("w_data", lambda d: np.r_[np.nan, d[1:]]), ValueError,
     "w_data contain NaN or inf values, must be finite"),
    ("m_inf", _edit("m_data", lambda d: np.r_[d[:-1], np.inf]), ValueError,
     "m_data contain NaN or inf values"),
    ("w_negative", _edit("w_indices", lambda i: np.r_[-1, i[1:]]), ValueError,
     r"w_indices contain -1, must lie in \[0, 3\)"),
    ("w_beyond", _edit("w_indices", lambda i: np.r_[i[:-1], 3]), ValueError,
     r"w_indices contain 3, must lie in \[0, 3\)"),
    ("m_beyond", _edit("m_indices", lambda i: np.r_[i[:-1], 4]), ValueError,
     r"m_indices contain 4, must lie in \[0, 4\)"),
    ("n_0", _set("n", 0), ValueError, "n == 0, must be >= 1"),
    ("n_beyond", _set("n", 5), ValueError, "n == 5, must be <= 4"),
    ("n_cols_0", _set("n_cols", 0), ValueError, "n_cols == 0, must be >= 1"),
    ("w_int8", _edit("w_data", lambda d: d.astype(np.int8)), TypeError,
     "w_data.dtype == int8, must be float32 or float64"),
    ("m_complex", _edit("m_data", lambda d: d.astype(complex)), TypeError,
     "m_data.dtype == complex128"),
    ("m_indptr", _edit("m_indptr", lambda p: p[::-1].copy()), ValueError,
     "m_indptr must start with 0"),
    ("exclude_beyond", _set("exclude", (np.array([0, 1, 1]), np.array([9]))), ValueError,
     r"exclude indices contain 9, must lie in \[0, 4\)"),
    ("n_threads_0", _set("n_threads", 0), ValueError, "n_threads == 0"),
    ("backend", _set("backend", "gpu"), ValueError, "backend == 'gpu'"),
]


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("case", SCORED_CASES, ids=[c[0] for c in SCORED_CASES])
def test_scored_topk_bad_input(backend, case):
    _, mutate, exc, match = case
    kw = {**scored_args(), "backend": backend}
    mutate(kw)
    expect(exc, match, lambda: kernels.scored_topk(**kw), kw)


@pytest.mark.parametrize("backend", COMPILED)
def test_scored_topk_defined_cases(backend):
    kw = scored_args()
    idx, val = unchanged(lambda: kernels.scored_topk(**kw, backend=backend), kw)
    np.testing.assert_array_equal(idx, [[1, 0], [1, 0]])
    np.testing.assert_array_equal(val, [[2.0, 1.0], [1.0, 0.5]])
    # a repeated weight entry counts twice (sums), like scipy's W @ M
    rep = {**kw, "w_indptr": np.array([0, 2, 3]), "w_indices": np.array([0, 0, 2])}
    np.testing.assert_array_equal(kernels.scored_topk(**rep, backend=backend)[1][0], [3.0, 1.5])
    # no weight rows; no sources: every column scores 0, ties by column
    none = {**kw, "w_indptr": np.array([0]), "w_indices": np.array([], int),
            "w_data": np.array([])}
    assert kernels.scored_topk(**none, backend=backend)[0].shape == (0, 2)
    bare = dict(w_indptr=np.array([0, 0]), w_indices=np.array([], int), w_data=np.array([]),
                m_indptr=np.array([0]), m_indices=np.array([], int), m_data=np.array([]),
                n_cols=3, n=2)
    idx, val = kernels.scored_topk(**bare, backend=backend)
    np.testing.assert_array_equal(idx, [[0, 1]])
    np.testing.assert_array_equal(val, [[0.0, 0.0]])
    bad = {**kw, "w_data": strided(kw["w_data"])}
    got = expect(UserWarning, "w_data is not C-contiguous; copying it",
                 lambda: kernels.scored_topk(**bad, backend=backend), bad)
    np.testing.assert_array_equal(got[1], [[2.0, 1.0], [1.0, 0.5]])


# ------------------------------------------------------------ neighborhood_sums


def nbr_args():
    return dict(sim_rows=np.array([[1.0, 0.5, 0.25], [0.5, 1.0, 0.0], [0.25, 0.0, 1.0]]),
                pair_row=np.array([0, 1, 2]), pair_col=np.array([0, 1, 2]),
                col_indptr=np.array([0, 2, 3, 3]), col_indices=np.array([1, 2, 0]),
                col_values=np.array([4.0, 2.0, 3.0]), k=2)


NBR_CASES = [
    ("sim_nan", _edit("sim_rows", lambda s: np.where(np.eye(3) > 0, np.nan, s)), ValueError,
     "sim_rows contain NaN or inf values, must be finite"),
    ("values_inf", _edit("col_values", lambda v: np.r_[np.inf, v[1:]]), ValueError,
     "col_values contain NaN or inf values"),
    ("pair_negative", _edit("pair_row", lambda p: np.r_[-1, p[1:]]), ValueError,
     r"pair_row contains -1, must lie in \[0, 3\)"),
    ("pair_beyond", _edit("pair_col", lambda p: np.r_[p[:-1], 3]), ValueError,
     r"pair_col contains 3, must lie in \[0, 3\)"),
    ("candidate_beyond", _edit("col_indices", lambda i: np.r_[i[:-1], 3]), ValueError,
     r"col_indices contain 3, must lie in \[0, 3\)"),
    ("k_0", _set("k", 0), ValueError, "k == 0, must be >= 1"),
    ("pair_float", _edit("pair_row", lambda p: p.astype(float)), TypeError,
     "pair_row.dtype == float64, must be an integer dtype"),
    ("pair_list", _set("pair_row", [0, 1, 2]), TypeError, "pair_row must be a 1-d numpy array"),
    ("values_float32", _edit("col_values", lambda v: v.astype(np.float32)), TypeError,
     "col_values.dtype == float32, must be float64"),
    ("values_int8", _edit("col_values", lambda v: v.astype(np.int8)), TypeError,
     "col_values.dtype == int8, must be float32 or float64"),
    ("sim_int", _edit("sim_rows", lambda s: s.astype(int)), TypeError,
     "sim_rows.dtype == int64, must be float32 or float64"),
    ("pairs_differ", _edit("pair_col", lambda p: p[:2]), ValueError,
     r"len\(pair_row\) == 3 but len\(pair_col\) == 2; they must match"),
    ("n_threads_0", _set("n_threads", 0), ValueError, "n_threads == 0"),
    ("backend", _set("backend", "gpu"), ValueError, "backend == 'gpu'"),
]


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("case", NBR_CASES, ids=[c[0] for c in NBR_CASES])
def test_neighborhood_sums_bad_input(backend, case):
    _, mutate, exc, match = case
    kw = {**nbr_args(), "backend": backend}
    mutate(kw)
    expect(exc, match, lambda: kernels.neighborhood_sums(**kw), kw)


@pytest.mark.parametrize("backend", COMPILED)
def test_neighborhood_sums_defined_cases(backend):
    kw = nbr_args()
    want = unchanged(lambda: kernels.neighborhood_sums(**kw, backend=backend), kw)
    # k beyond every column's candidates: all of them (it crashed both backends before)
    for k in (3, 10**12, 2**63):
        got = kernels.neighborhood_sums(**{**kw, "k": k}, backend=backend)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
    # no pairs
    none = {**kw, "pair_row": np.array([], int), "pair_col": np.array([], int)}
    assert all(len(a) == 0 for a in kernels.neighborhood_sums(**none, backend=backend))
    # a repeated candidate entry is a second candidate
    rep = {**kw, "col_indptr": np.array([0, 3, 3, 3]), "col_indices": np.array([1, 1, 2])}
    sum_sim, _, count = kernels.neighborhood_sums(**{**rep, "k": 5}, backend=backend)
    assert count[0] == 3 and sum_sim[0] == 1.25
    fortran = {**kw, "sim_rows": np.asfortranarray(kw["sim_rows"])}
    got = expect(UserWarning, "sim_rows is not C-contiguous",
                 lambda: kernels.neighborhood_sums(**fortran, backend=backend), fortran)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------- bias_sweep


def bias_args():
    return dict(indptr=np.array([0, 2, 3, 3]), indices=np.array([0, 2, 1]),
                data=np.array([4.0, 2.0, 5.0]), mu=3.0, other_bias=np.array([0.5, 0.0, -0.5]),
                reg=1.0)


BIAS_CASES = [
    ("nan", _edit("data", lambda d: np.r_[np.nan, d[1:]]), ValueError,
     "data contain NaN or inf values, must be finite"),
    ("inf", _edit("data", lambda d: np.r_[d[:-1], np.inf]), ValueError, "data contain NaN"),
    ("bias_nan", _edit("other_bias", lambda b: np.r_[np.nan, b[1:]]), ValueError,
     "other_bias contain NaN or inf values"),
    ("negative_index", _edit("indices", lambda i: np.r_[-1, i[1:]]), ValueError,
     r"indices contain -1, must lie in \[0, 3\)"),
    ("index_beyond", _edit("indices", lambda i: np.r_[i[:-1], 3]), ValueError,
     r"indices contain 3, must lie in \[0, 3\)"),
    ("data_int8", _edit("data", lambda d: d.astype(np.int8)), TypeError, "data.dtype == int8"),
    ("data_complex", _edit("data", lambda d: d.astype(complex)), TypeError,
     "data.dtype == complex128"),
    ("bias_float32", _edit("other_bias", lambda b: b.astype(np.float32)), TypeError,
     "other_bias must be a 1-d float64 array, got float32"),
    ("reg_negative", _set("reg", -1.0), ValueError, "reg == -1.0, must be >= 0.0"),
    ("reg_0_empty_row", _set("reg", 0.0), ValueError,
     "reg == 0.0 with empty rows would divide by zero"),
    ("mu_nan", _set("mu", float("nan")), ValueError, "mu == nan, must be finite"),
    ("out_shape", _set("out", np.zeros(2)), ValueError,
     r"out must be a float64 array of shape \(3,\)"),
    ("out_int", _set("out", np.zeros(3, int)), ValueError, "out must be a float64 array"),
    ("out_strided", _set("out", np.zeros(6)[::2]), ValueError,
     "out must be C-contiguous and writeable"),
    ("out_readonly", _set("out", np.zeros(3)), ValueError,
     "out must be C-contiguous and writeable"),
    ("n_threads_0", _set("n_threads", 0), ValueError, "n_threads == 0"),
    ("backend", _set("backend", "gpu"), ValueError, "backend == 'gpu'"),
]


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("case", BIAS_CASES, ids=[c[0] for c in BIAS_CASES])
def test_bias_sweep_bad_input(backend, case):
    name, mutate, exc, match = case
    kw = {**bias_args(), "backend": backend}
    mutate(kw)
    if name == "out_readonly":
        kw["out"].flags.writeable = False
    expect(exc, match, lambda: kernels.bias_sweep(**kw), kw)


@pytest.mark.parametrize("backend", COMPILED)
def test_bias_sweep_defined_cases(backend):
    kw = bias_args()
    want = unchanged(lambda: kernels.bias_sweep(**kw, backend=backend), kw)
    np.testing.assert_allclose(want, [((4 - 3 - 0.5) + (2 - 3 + 0.5)) / 3, (5 - 3) / 2, 0.0])
    # a repeated entry is a second rating of the row; no rows: empty
    rep = {**kw, "indices": np.array([0, 0, 1])}
    np.testing.assert_allclose(kernels.bias_sweep(**rep, backend=backend)[0], (0.5 - 1.5) / 3)
    empty = kernels.bias_sweep(np.array([0]), np.array([], int), np.array([]), 3.0,
                               kw["other_bias"], 1.0, backend=backend)
    assert empty.shape == (0,)
    strided_bias = {**kw, "other_bias": strided(kw["other_bias"])}
    got = expect(UserWarning, "other_bias is not C-contiguous; copying it",
                 lambda: kernels.bias_sweep(**strided_bias, backend=backend), strided_bias)
    np.testing.assert_array_equal(got, want)


# -------------------------------------------------------------------- sgd_epoch


def sgd_args(dtype=np.float64):
    rng = np.random.default_rng(0)
    return dict(users=np.array([0, 1, 2, 0]), items=np.array([0, 1, 1, 2]),
                ratings=np.array([4.0, 2.0, 5.0, 3.0], dtype), order=None, mu=3.5,
                user_bias=np.zeros(3, dtype), item_bias=np.zeros(3, dtype),
                user_factors=rng.normal(0, 0.1, (3, 2)).astype(dtype),
                item_factors=rng.normal(0, 0.1, (3, 2)).astype(dtype),
                lr=(0.01,) * 4, reg=(0.02,) * 4)


SGD_CASES = [
    ("nan", _edit("ratings", lambda r: np.r_[np.nan, r[1:]]), ValueError,
     "ratings contain NaN or inf values, must be finite"),
    ("inf", _edit("ratings", lambda r: np.r_[r[:-1], np.inf]), ValueError,
     "ratings contain NaN or inf"),
    ("factors_nan", _edit("user_factors", lambda f: np.where(f > 0, np.nan, f)), ValueError,
     "user_factors contain NaN or inf values"),
    ("negative_user", _edit("users", lambda u: np.r_[-1, u[1:]]), ValueError,
     r"users must lie in \[0, 3\)"),
    ("item_beyond", _edit("items", lambda i: np.r_[i[:-1], 3]), ValueError,
     r"items must lie in \[0, 3\)"),
    ("ratings_object", _edit("ratings", lambda r: r.astype(object)), TypeError,
     "ratings must be a 1-d float64 numpy array"),
    ("ratings_int8", _edit("ratings", lambda r: r.astype(np.int8)), TypeError,
     "ratings must be a 1-d float64"),
    ("ratings_complex", _edit("ratings", lambda r: r.astype(complex)), TypeError,
     "ratings must be a 1-d float64"),
    ("ratings_float32", _edit("ratings", lambda r: r.astype(np.float32)), TypeError,
     "ratings must be a 1-d float64"),
    ("users_int8", _edit("users", lambda u: u.astype(np.int8)), TypeError,
     "users must be a 1-d int32/int64 array, got int8"),
    ("users_float", _edit("users", lambda u: u.astype(float)), TypeError,
     "users must be a 1-d int32/int64 array, got float64"),
    ("users_bool", _edit("users", lambda u: u.astype(bool)), TypeError,
     "users must be a 1-d int32/int64 array, got bool"),
    ("lengths_differ", _edit("items", lambda i: i[:3]), ValueError,
     r"len\(items\) == 3 but len\(ratings\) == 4; they must match"),
    ("lr_negative", _set("lr", (0.01, -0.01, 0.01, 0.01)), ValueError,
     r"lr\[1\] == -0.01, must be >= 0.0"),
    ("reg_nan", _set("reg", (0.01, 0.01, float("nan"), 0.01)), ValueError,
     r"reg\[2\] == nan, must be finite"),
    ("lr_3", _set("lr", (0.01,) * 3), ValueError, "lr and reg must be 4-tuples"),
    ("mu_inf", _set("mu", float("inf")), ValueError, "mu == inf, must be finite"),
    ("order_beyond", _set("order", np.array([0, 4])), ValueError, r"order must lie in \[0, 4\)"),
    ("order_float", _set("order", np.array([0.0, 1.0])), TypeError,
     "order must be a 1-d array of integer positions"),
    ("factors_fortran", _edit("user_factors", np.asfortranarray), ValueError,
     "user_factors must be C-contiguous and writeable"),
    ("factors_float32", _edit("item_factors", lambda f: f.astype(np.float32)), TypeError,
     "item_factors must be a 2-d float64 numpy array"),
    ("factors_k_differ", _edit("item_factors", lambda f: f[:, :1].copy()), ValueError,
     "shapes disagree"),
    ("backend", _set("backend", "gpu"), ValueError, "backend == 'gpu'"),
]


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("case", SGD_CASES, ids=[c[0] for c in SGD_CASES])
def test_sgd_epoch_bad_input(backend, case):
    """Every failing case also leaves the in-place state (factors, biases) untouched."""
    _, mutate, exc, match = case
    kw = {**sgd_args(), "backend": backend}
    mutate(kw)
    expect(exc, match, lambda: kernels.sgd_epoch(**kw), kw)


@pytest.mark.parametrize("backend", COMPILED)
def test_sgd_epoch_defined_cases(backend):
    state_names = ("user_bias", "item_bias", "user_factors", "item_factors")

    def run(kw, backend):
        """(loss, state after the epoch), on copies of the in-place state."""
        kw = {**kw, **{name: kw[name].copy() for name in state_names}}
        return kernels.sgd_epoch(**kw, backend=backend), kw

    kw = sgd_args()
    unchanged(lambda: run(kw, backend), {k: kw[k] for k in ("users", "items", "ratings")})
    # no ratings: loss 0, parameters unchanged
    empty = {**kw, "users": kw["users"][:0], "items": kw["items"][:0],
             "ratings": kw["ratings"][:0]}
    loss, state = run(empty, backend)
    assert loss == 0.0
    for name in state_names:
        np.testing.assert_array_equal(state[name], kw[name])
    # a repeated (user, item) pair is two SGD steps; a learning rate of 0 freezes its
    # parameters (it raised ZeroDivisionError on Numba before); one user; one item
    for variant in ({"users": np.array([0, 0]), "items": np.array([1, 1]),
                     "ratings": np.array([4.0, 2.0])},
                    {"lr": (0.01, 0.01, 0.0, 0.01)},
                    {"users": np.zeros(4, int)}, {"items": np.zeros(4, int)}):
        case = {**kw, **variant}
        got_loss, got = run(case, backend)
        want_loss, want = run(case, "reference")
        assert got_loss == pytest.approx(want_loss, rel=1e-9)
        for name in state_names:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-9, atol=1e-12)
    frozen = run({**kw, "lr": (0.01, 0.01, 0.0, 0.01)}, backend)[1]
    np.testing.assert_array_equal(frozen["user_factors"], kw["user_factors"])
    # non-contiguous index / rating arrays are read through a copy, same result
    odd = {**kw, "users": strided(kw["users"]), "ratings": strided(kw["ratings"])}
    assert not odd["users"].flags.c_contiguous
    assert run(odd, backend)[0] == run(kw, backend)[0]


# ======================================================================= splits


SPLITS = {
    "random_split": split.random_split, "user_split": split.user_split,
    "temporal_split": split.temporal_split, "kfold": split.kfold,
    "leave_one_out": split.leave_one_out,
}


@pytest.mark.parametrize("name", SPLITS)
def test_splits_refuse_what_is_not_interactions(name, ratings):
    frame = ratings.to_frame()
    expect(TypeError, "data must be an Interactions, got DataFrame",
           lambda: SPLITS[name](frame), frame)


@pytest.mark.parametrize("name, match", [
    ("random_split", "data has 1 interaction, need >= 2 to split"),
    ("user_split", "test would be empty: no user holds out"),
    ("temporal_split", "data has 1 interaction, need >= 2 to split"),
    ("kfold", "data has 1 interaction, need >= 2 to split"),
    ("leave_one_out", "test would be empty: no user has more than min_train"),
])
def test_splits_of_a_single_rating(name, match):
    one = Interactions.from_arrays([0], [0], [3.0], [5])
    with pytest.raises(ValueError, match=match):
        SPLITS[name](one)


@pytest.mark.parametrize("name", ["random_split", "user_split", "temporal_split",
                                  "leave_one_out"])
def test_splits_of_a_single_user_work(name):
    one_user = Interactions.from_arrays(np.zeros(5, int), np.arange(5), np.arange(1.0, 6),
                                        np.arange(5))
    train, test = SPLITS[name](one_user)
    assert train.nnz + test.nnz == 5 and test.nnz >= 1


@pytest.mark.parametrize("call, exc, match", [
    (lambda d: split.random_split(d, 0), ValueError, "test_size == 0, must be >= 1"),
    (lambda d: split.random_split(d, 0.0), ValueError, "test_size == 0.0, must be > 0"),
    (lambda d: split.random_split(d, 1.0), ValueError, "test_size == 1.0, must be < 1"),
    (lambda d: split.random_split(d, 80), ValueError, "test_size == 80, must be <= 79"),
    (lambda d: split.random_split(d, float("nan")), ValueError, "test_size == nan, must be"),
    (lambda d: split.random_split(d, "0.2"), TypeError, "test_size must be an int or a float"),
    (lambda d: split.random_split(d, True), TypeError, "test_size must be an int or a float"),
    (lambda d: split.random_split(d, seed=-1), ValueError, "seed == -1, must be >= 0"),
    (lambda d: split.random_split(d, seed=1.5), TypeError, "seed must be an int, None"),
    (lambda d: split.user_split(d, min_train=-1), ValueError, "min_train == -1, must be >= 0"),
    (lambda d: split.kfold(d, 0), ValueError, "k == 0, must be >= 2"),
    (lambda d: split.kfold(d, 1), ValueError, "k == 1, must be >= 2"),
    (lambda d: split.kfold(d, 81), ValueError, "k == 81, must be <= 80"),
    (lambda d: split.kfold(d, 2.0), TypeError, "k must be an int, got float"),
    (lambda d: split.leave_one_out(d, by="rating"), ValueError, "by == 'rating', must be one"),
    (lambda d: split.temporal_split(d, at=float("nan")), ValueError, "at == nan, must be"),
    (lambda d: split.temporal_split(d, at="2020"), TypeError, "at must be a number or"),
    (lambda d: split.temporal_split(d, 0.2, at=5), ValueError, "give test_size or at"),
    (lambda d: split.temporal_split(Interactions.from_arrays(d.to_frame()["user"],
                                                             d.to_frame()["item"],
                                                             d.to_frame()["rating"])),
     ValueError, "temporal_split needs timestamps, but data has none"),
])
def test_split_bad_arguments(call, exc, match, ratings):
    before = [_snapshot(a) for a in (*ratings.by_user[:3], ratings.timestamps)]
    with pytest.raises(exc, match=match):
        call(ratings)
    for a, b in zip((*ratings.by_user[:3], ratings.timestamps), before):
        _assert_same(a, b)


def test_kfold_with_k_equal_to_n_is_leave_one_out():
    data = Interactions.from_arrays([0, 0, 1], [0, 1, 1], [1.0, 2.0, 3.0])
    assert [s.test.nnz for s in split.kfold(data, 3)] == [1, 1, 1]


# ================================================================= Interactions


FA_CASES = [  # (id, users, items, ratings, kwargs, exception, match)
    ("nan", [0, 1, 2], [0, 1, 1], [1.0, np.nan, 3.0], {}, ValueError,
     r"ratings contain 1 NaN/inf values \(first at row 1\)"),
    ("inf", [0, 1, 2], [0, 1, 1], [1.0, 2.0, np.inf], {}, ValueError, "NaN/inf values"),
    ("nullable_na", [0, 1, 2], [0, 1, 1], pd.array([1, None, 2], dtype="Int64"), {},
     ValueError, "ratings contain 1 NaN/inf values"),
    ("empty", [], [], [], {}, ValueError, "no interactions: the input is empty"),
    ("duplicate", [0, 0], [1, 1], [1.0, 2.0], {}, ValueError,
     r"1 duplicate \(user, item\) pairs \(first repeat at row 1\); pass duplicates="),
    ("duplicate_policy", [0, 0], [1, 1], [1.0, 2.0], {"duplicates": "first"}, ValueError,
     "duplicates == 'first', must be one of"),
    ("ratings_object", [0, 1], [0, 1], np.array([1, "a"], dtype=object), {}, TypeError,
     "ratings must be numeric, got dtype object"),
    ("ratings_str", [0, 1], [0, 1], ["1", "2"], {}, TypeError, "ratings must be numeric, got"),
    ("ratings_complex", [0, 1], [0, 1], np.array([1j, 2j]), {}, TypeError,
     "ratings must be numeric, got dtype complex128"),
    ("ratings_bool", [0, 1], [0, 1], np.array([True, False]), {}, TypeError,
     "ratings must be numeric, got dtype bool"),
    ("ratings_datetime", [0, 1], [0, 1], np.array(["2020-01-01"] * 2, dtype="datetime64[s]"),
     {}, TypeError, "ratings must be numeric, got dtype datetime64"),
    ("dtype_int", [0, 1], [0, 1], [1.0, 2.0], {"dtype": np.int64}, TypeError,
     "dtype == int64, must be float32 or float64"),
    ("dtype_name", [0, 1], [0, 1], [1.0, 2.0], {"dtype": "foo"}, TypeError,
     "dtype == 'foo' is not a dtype"),
    ("float32_overflow", [0, 1], [0, 1], [1.0, 1e300], {"dtype": np.float32}, ValueError,
     "1 ratings overflow float32 to inf; rescale them or pass dtype=np.float64"),
    ("sum_overflow", [0, 0], [0, 0], [1e308, 1e308], {"duplicates": "sum"}, ValueError,
     "1 ratings overflow float64 to inf; rescale them"),
    ("missing_user", [0, None, 1], [0, 1, 1], [1.0, 2.0, 3.0], {}, ValueError,
     r"users contain 1 missing ids \(first at row 1\)"),
    ("nan_item", [0, 1, 2], [0.0, np.nan, 1.0], [1.0, 2.0, 3.0], {}, ValueError,
     "items contain 1 missing ids"),
    ("lengths", [0, 1], [0, 1, 2], [1.0, 2.0], {}, ValueError,
     "users has 2 entries but items has 3; they must match"),
    ("2d", [[0], [1]], [0, 1], [1.0, 2.0], {}, ValueError, "users must be 1-d, got 2"),
    ("scalar", 0, 0, 1.0, {}, ValueError, "users must be 1-d, got 0 dimensions"),
    ("unhashable", [{0}, {1}], [0, 1], [1.0, 2.0], {}, TypeError, "unhashable type: 'set'"),
    ("timestamps_nan", [0, 1], [0, 1], [1.0, 2.0], {"timestamps": [1.0, np.nan]}, ValueError,
     "timestamps contain 1 NaN/inf values"),
    ("timestamps_str", [0, 1], [0, 1], [1.0, 2.0], {"timestamps": ["a", "b"]}, TypeError,
     "timestamps must be numeric or datetime"),
]


@pytest.mark.parametrize("case", FA_CASES, ids=[c[0] for c in FA_CASES])
def test_from_arrays_bad_input(case):
    _, users, items, values, kwargs, exc, match = case
    expect(exc, match, lambda: Interactions.from_arrays(users, items, values, **kwargs),
           users, items, values, kwargs)


def test_from_arrays_defined_cases():
    users, items = np.array([-1, -2, 3]), np.array([0, 1, 1])
    values = np.array([1, 2, 3], dtype=np.int8)  # numeric: converted to dtype
    data = unchanged(lambda: Interactions.from_arrays(users, items, values), users, items,
                     values)
    np.testing.assert_array_equal(data.user_ids, [-2, -1, 3])  # ids are labels
    assert data.dtype == np.float64 and data.ratings.tolist() == [2.0, 1.0, 3.0]
    one = Interactions.from_arrays([7], ["a"], [3.0])
    assert (one.n_users, one.n_items, one.nnz) == (1, 1, 1)
    dup = Interactions.from_arrays([0, 0], [1, 1], [1.0, 2.0], duplicates="mean")
    assert dup.ratings.tolist() == [1.5]


@pytest.mark.parametrize("df, kwargs, exc, match", [
    (pd.DataFrame({"user": [0], "item": [0], "rating": [1.0]}), {"rating": "score"}, ValueError,
     r"rating column 'score' not in the frame's columns \['user', 'item', 'rating'\]"),
    (pd.DataFrame({"item": [0], "rating": [1.0]}), {"rating": "rating"}, ValueError,
     "user column 'user' not in the frame's columns"),
    (pd.DataFrame({"user": [0], "item": [0], "rating": [1.0]}), {"timestamp": "ts"},
     ValueError, "timestamp column 'ts' not in"),
    (pd.DataFrame({"user": [], "item": [], "rating": []}), {"rating": "rating"}, ValueError,
     "no interactions: the input is empty"),
    (pd.DataFrame({"user": [0, 1], "item": [0, 0], "rating": [1.0, np.nan]}),
     {"rating": "rating"}, ValueError, "column 'rating' contain 1 NaN/inf values"),
    (pd.DataFrame({"user": [0, 1], "item": [0, 0], "rating": ["1", "2"]}),
     {"rating": "rating"}, TypeError, "column 'rating' must be numeric, got dtype"),
    (pd.DataFrame([[0, 0, 1.0, 0]], columns=["user", "item", "rating", "user"]),
     {"rating": "rating"}, ValueError, "column 'user' must be 1-d, got 2 dimensions"),
])
def test_from_frame_bad_input(df, kwargs, exc, match):
    expect(exc, match, lambda: Interactions.from_frame(df, **kwargs), df)


def test_from_frame_needs_a_frame():
    array = np.zeros((2, 3))
    expect(TypeError, "df must be a pandas DataFrame, got ndarray",
           lambda: Interactions.from_frame(array), array)


@pytest.mark.parametrize("matrix, kwargs, exc, match", [
    (_csr([1.0, np.nan], [0, 1], [0, 1, 2], (2, 2)), {}, ValueError,
     r"matrix data contain 1 NaN/inf values \(first at entry 1\)"),
    (sp.csr_matrix((2, 2)), {}, ValueError, "no interactions: the matrix has no stored entries"),
    (np.eye(2), {}, TypeError, "matrix must be a scipy sparse matrix, got ndarray"),
    (_csr([1.0, 2.0], [0, 0], [0, 2, 2], (2, 2)), {}, ValueError,
     r"1 duplicate \(user, item\) pairs \(first repeat at entry 1\)"),
    (sp.csr_matrix(np.eye(2, dtype=bool)), {}, TypeError,
     "matrix data must be numeric, got dtype bool"),
    (sp.csr_matrix(np.eye(2, dtype=complex)), {}, TypeError,
     "matrix data must be numeric, got dtype complex128"),
    (sp.csr_matrix(np.eye(2)), {"user_ids": [0]}, ValueError,
     r"user_ids has shape \(1,\), must be \(2,\)"),
    (sp.csr_matrix(np.eye(2)), {"item_ids": [5, 5]}, ValueError, "item_ids contain 1 repeated"),
    (sp.csr_matrix(np.eye(2)), {"user_ids": [0, np.nan]}, ValueError,
     "user_ids contain missing ids"),
    (sp.csr_matrix(np.eye(2)), {"dtype": np.float16}, TypeError, "dtype == float16, must be"),
    (sp.coo_array(np.array([1.0, 0.0, 2.0])), {}, ValueError,
     "matrix must be 2-d, got 1 dimensions"),
    (_csr([1.0, 2.0], [0, -1], [0, 2, 2], (2, 2)), {}, ValueError, "negative .*index"),
    (_csr([1.0, 2.0], [0, 5], [0, 2, 2], (2, 2)), {}, ValueError, "index 5 exceeds"),
])
def test_from_csr_bad_input(matrix, kwargs, exc, match):
    expect(exc, match, lambda: Interactions.from_csr(matrix, **kwargs), matrix, kwargs)


def test_from_csr_defined_cases():
    unsorted = _csr([1.0, 2.0], [1, 0], [0, 2, 2], (2, 2))
    data = unchanged(lambda: Interactions.from_csr(unsorted), unsorted)
    np.testing.assert_array_equal(data.by_user.indices, [0, 1])  # sorted, on a copy
    assert data.n_users == 2  # an empty row is a user without interactions
    ints = sp.csr_matrix(np.array([[3, 0], [0, 4]], dtype=np.int8))
    assert Interactions.from_csr(ints).ratings.tolist() == [3.0, 4.0]
    for fmt in ("coo", "csc"):
        assert Interactions.from_csr(sp.csr_matrix(np.eye(2)).asformat(fmt)).nnz == 2


# ====================================================================== readers


def _write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


@pytest.mark.parametrize("name, content, exc, match", [
    ("ratings.csv", "userId,movieId,rating\n1,2,3.5\n", ValueError,
     r"CSV header \['userId', 'movieId', 'rating'\] lacks the column\(s\) \['timestamp'\]"),
    ("ratings.csv", "userId,movieId,timestamp\n1,2,5\n", ValueError,
     r"lacks the column\(s\) \['rating'\]"),
    ("ratings.csv", "userId,movieId,rating,timestamp\n1,2,3.5\n", ValueError,
     "looks like a MovieLens 'csv' file but does not parse"),
    ("u.data", "1\t2\t3\t4\n1\tx\t3\t5\n", ValueError,
     "looks like a MovieLens 'tab' file but does not parse"),
    ("u.data", "1\t2\t3\t4\n1\t3\t3\n", ValueError, "does not parse"),
    ("u.data", "1\t2\t3\n", ValueError, r"u\.data is not a MovieLens ratings file"),
    ("ratings.dat", "1::2::3::4\n1::2::3\n", ValueError, "'dat' file but does not parse"),
    ("u.data", "", ValueError, "is empty; expected"),
    ("ratings.csv", "userId,movieId,rating,timestamp\n", ValueError,
     "has a header but no ratings"),
    ("u.data", bytes(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8)),
     ValueError, "is not a MovieLens ratings file"),
    ("u.data", "99999999999999999999999\t2\t3\t4\n", ValueError, "does not parse"),
])
def test_reader_bad_files(tmp_path, name, content, exc, match):
    path = _write(tmp_path / name, content)
    with pytest.raises(exc, match=match):
        datasets.read_movielens_frame(path)
    with pytest.raises(exc, match=match):
        fastcf.load_movielens(path)


@pytest.mark.parametrize("content, match", [
    ("1\t2\tnan\t4\n", r"column 'rating' contain 1 NaN/inf values \(first at row 0\)"),
    ("1\t2\tinf\t4\n", "column 'rating' contain 1 NaN/inf values"),
    ("1\t2\t3\t4\n2\t2\t\t4\n", r"column 'rating' contain 1 NaN/inf values \(first at row 1\)"),
    ("1\t2\t3\t4\n1\t2\t4\t5\n", r"1 duplicate \(user, item\) pairs"),
])
def test_load_movielens_bad_values(tmp_path, content, match):
    path = _write(tmp_path / "u.data", content)
    with pytest.raises(ValueError, match=match):
        fastcf.load_movielens(path)


def test_reader_defined_cases_and_bad_arguments(tmp_path):
    path = _write(tmp_path / "u.data", "-1\t2\t3\t4\n")
    assert fastcf.load_movielens(path).user_ids.tolist() == [-1]  # ids are labels
    with pytest.raises(TypeError, match="dtype == int64, must be float32 or float64"):
        fastcf.load_movielens(path, dtype=np.int64)
    with pytest.raises(FileNotFoundError, match="does not exist; expected a MovieLens"):
        fastcf.load_movielens(tmp_path / "missing.data")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(ValueError, match=r"contains none of \('u.data'"):
        fastcf.load_movielens(tmp_path / "empty_dir")
    with pytest.raises(TypeError, match="expected str, bytes or os.PathLike object"):
        fastcf.load_movielens(None)


# ========================================================================= load


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, fitted):
    path = tmp_path_factory.mktemp("models") / "model.npz"
    fitted["BaselineOnly"].save(path)
    return path


def _rewrite(src, dst, header=None, arrays=None, drop=(), raw_header=None):
    with np.load(src) as npz:
        content = {k: npz[k] for k in npz.files}
    decoded = json.loads(content["__header__"].tobytes())
    decoded.update(header or {})
    content["__header__"] = (np.frombuffer(json.dumps(decoded).encode(), dtype=np.uint8)
                             if raw_header is None else raw_header)
    content.update(arrays or {})
    for name in drop:
        content.pop(name)
    np.savez(dst, **content)
    return dst


@pytest.mark.parametrize("name", ESTIMATORS)
def test_every_model_round_trips_through_the_checks(fitted, name, tmp_path, ratings):
    fitted[name].save(tmp_path / "m.npz")
    loaded = fastcf.load(tmp_path / "m.npz")
    users, items = ratings.user_ids[:5], ratings.item_ids[:5]
    np.testing.assert_array_equal(loaded.predict(users, items), fitted[name].predict(users,
                                                                                      items))


@pytest.mark.parametrize("cut", [0, 10, 0.5, 0.9, -1])
def test_load_truncated(model_file, tmp_path, cut):
    raw = model_file.read_bytes()
    size = cut if isinstance(cut, int) and cut >= 0 else int(len(raw) * cut) if cut > 0 \
        else len(raw) - 1
    path = _write(tmp_path / "cut.npz", raw[:size])
    with pytest.raises(ValueError, match=r"is not a fastcf model file \(truncated or foreign\)"):
        fastcf.load(path)


@pytest.mark.parametrize("seed", range(3))
def test_load_random_bytes_and_flipped_bytes(model_file, tmp_path, seed):
    rng = np.random.default_rng(seed)
    path = _write(tmp_path / "random.npz", rng.bytes(int(rng.integers(1, 5000))))
    with pytest.raises(ValueError, match="is not a fastcf model file"):
        fastcf.load(path)
    raw = bytearray(model_file.read_bytes())
    raw[int(rng.integers(0, len(raw)))] ^= 0xFF  # the zip's CRC or structure catches it
    path = _write(tmp_path / "flipped.npz", bytes(raw))
    try:
        model = fastcf.load(path)
    except ValueError as exc:
        assert "fastcf model file" in str(exc) or "corrupted" in str(exc) or \
            "format" in str(exc) or "invalid parameters" in str(exc)
    else:  # a byte the zip does not check (e.g. a timestamp): the model is intact
        assert np.isfinite(model.predict([0, 1], [0, 1])).all()


def test_load_foreign_files(tmp_path):
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.arange(3))
    with pytest.raises(ValueError, match="is not a fastcf model file: it has no header"):
        fastcf.load(plain)
    npy = tmp_path / "array.npy"
    np.save(npy, np.arange(3))
    with pytest.raises(ValueError, match="holds a single .npy array, not an .npz archive"):
        fastcf.load(npy)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, a=np.array([{1: 2}], dtype=object))
    with pytest.raises(ValueError, match="not a fastcf model file .*allow_pickle"):
        fastcf.load(pickled)
    text = _write(tmp_path / "notes.txt", "hello")
    with pytest.raises(ValueError, match="not a fastcf model file"):
        fastcf.load(text)
    with pytest.raises(ValueError, match="not a fastcf model file .*Is a directory"):
        fastcf.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="no model file at"):
        fastcf.load(tmp_path / "missing.npz")


@pytest.mark.parametrize("changes, match", [
    ({"header": {"version": 2}}, "has format version 2; this fastcf reads versions <= 1"),
    ({"header": {"version": 0}}, "has format version 0, not a version fastcf ever wrote"),
    ({"header": {"version": "1"}}, "has format version '1', not a version fastcf ever wrote"),
    ({"header": {"version": True}}, "has format version True, not a version"),
    ({"header": {"format": "other"}}, "not a fastcf model file: wrong format marker"),
    ({"header": {"class": "Evil"}}, "holds an unknown model class 'Evil'"),
    ({"header": {"class": "_Network"}}, "holds an unknown model class '_Network'"),
    ({"header": {"class": "Recommender"}}, "holds an unknown model class 'Recommender'"),
    ({"header": {"params": {"epochs": -1}}}, "holds invalid parameters: epochs == -1"),
    ({"header": {"params": {"zzz": 1}}}, "holds invalid parameters: .*'zzz'"),
    ({"raw_header": np.frombuffer(b"\xff\xfe", np.uint8)}, "unreadable header"),
    ({"raw_header": np.frombuffer(b"[1]", np.uint8)}, "wrong format marker"),
    ({"drop": ["user_bias_"]}, r"is incomplete: missing arrays \['user_bias_'\]"),
    ({"arrays": {"weights_": np.zeros(3)}},
     r"is corrupted: it holds arrays \['weights_'\], which a BaselineOnly model file does not"),
    ({"arrays": {"user_bias_": np.array(["a"] * 20)}},
     "is corrupted: user_bias_.dtype == <U1, must be float32 or float64"),
    ({"arrays": {"user_bias_": np.zeros((20, 1))}},
     r"is corrupted: user_bias_\.ndim == 2, must be 1: \(n_users,\)"),
    ({"arrays": {"user_bias_": np.zeros(19)}},
     r"is corrupted: user_bias_\.shape == \(19,\), must be \(n_users,\) == \(20,\)"),
    ({"arrays": {"item_bias_": np.full(15, np.nan)}},
     "is corrupted: item_bias_ holds NaN or inf values"),
    ({"arrays": {"seen_indices_": np.zeros(80, dtype=np.int16)}},
     "is corrupted: seen_indices_.dtype == int16, must be int32 or int64"),
    ({"arrays": {"seen_indices_": np.full(80, 999, dtype=np.int32)}},
     r"is corrupted: seen_indices_ contain 999, must lie in \[0, 15\)"),
    ({"arrays": {"seen_indptr_": np.full(21, 7, dtype=np.int32)}},
     "is corrupted: seen_indptr_ must start with 0"),
    ({"arrays": {"seen_indptr_": np.r_[0, 80, np.full(18, 70), 80].astype(np.int32)}},
     "is corrupted: seen_indptr_ must be non-decreasing"),
    ({"arrays": {"user_ids_": np.arange(5)}},
     r"is corrupted: user_bias_\.shape == \(20,\), must be \(n_users,\) == \(5,\)"),
])
def test_load_altered_files(model_file, tmp_path, changes, match):
    path = _rewrite(model_file, tmp_path / "altered.npz", **changes)
    with pytest.raises(ValueError, match=match):
        fastcf.load(path)


def test_load_a_zip_without_arrays(tmp_path):
    path = tmp_path / "empty.npz"
    with zipfile.ZipFile(path, "w"):
        pass
    with pytest.raises(ValueError, match="not a fastcf model file: it has no header"):
        fastcf.load(path)


# ========================================================================== CLI
def _cli_files(tmp_path):
    """A good ratings CSV, a NaN one, one without its rating column, a corrupted model."""
    good = "userId,movieId,rating,timestamp\n" + "".join(
        f"{u},{i},{(u + i) % 5 + 1},{1000 + u}\n" for u in range(1, 20) for i in range(1, 15)
        if (u * i) % 3)
    (tmp_path / "good.csv").write_text(good)
    (tmp_path / "nan.csv").write_text(good.replace(",3,", ",nan,", 1))
    (tmp_path / "nocol.csv").write_text("userId,movieId,timestamp\n1,2,3\n4,5,6\n")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 truncated model file")


@pytest.mark.parametrize("argv, match", [
    (["train", "--data", "nan.csv", "--algorithm", "mf", "--out", "m.npz"], "NaN"),
    (["train", "--data", "nocol.csv", "--algorithm", "mf", "--out", "m.npz"], "rating"),
    (["train", "--data", "missing.csv", "--algorithm", "mf", "--out", "m.npz"], "missing.csv"),
    (["train", "--data", "good.csv", "--algorithm", "mf", "-p", "factors=0", "--out",
      "m.npz"], "factors == 0"),
    (["train", "--data", "good.csv", "--algorithm", "itemknn", "-p", "backend='gpu'",
      "--out", "m.npz"], "gpu"),
    (["train", "--data", "good.csv", "--algorithm", "itemknn", "-p", "similarity='dice'",
      "--out", "m.npz"], "dice"),
    (["train", "--data", "good.csv", "--algorithm", "mf", "--threads", "0", "--out",
      "m.npz"], "n_threads"),
    (["recommend", "--model", "junk.npz", "--users", "1"], "junk.npz"),
    (["recommend", "--model", "good.csv", "--users", "1"], "good.csv"),
    (["evaluate", "--data", "good.csv", "--algorithm", "baseline", "-k", "0"], "k == 0"),
    (["evaluate", "--data", "good.csv", "--algorithm", "baseline", "--test-size", "2"],
     "test_size"),
    (["benchmark", "--data", "nan.csv", "--peers", "none"], "NaN"),
    (["benchmark", "--data", "good.csv", "--peers", "none", "--threads", "0"], "n_threads"),
])
def test_cli_bad_input_exits_2_with_a_message(capsys, tmp_path, monkeypatch, argv, match):
    from fastcf.cli import main

    _cli_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert main(argv) == 2
    err = capsys.readouterr().err
    # notes (what a data file was read as) may come first; the error is the last line
    error = err.rstrip("\n").splitlines()[-1]
    assert error.startswith(f"fastcf {argv[0]}: error: ") and re.search(match, error), err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # nothing written
