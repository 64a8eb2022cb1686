"""Hypothesis fuzzing: the compiled kernels against their slow reference twins.

Random small inputs -- empty rows, single-entry rows, rows with ties (values
drawn from a small set), ``-inf`` / ``+inf`` scores, unsorted and repeated
exclusions -- go through the public checked kernels on both compiled backends
and on ``backend="reference"``; the results must agree (float64: rtol 1e-9;
top-k: exactly, ties being fully determined). Bounded and reproducible: every
test is ``derandomize=True`` with a small ``max_examples``.
"""

import numpy as np
import pytest
from conftest import assert_neighbours_equal, assert_topk_equal
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fastcf import kernels
from fastcf.data import CSR
from fastcf.kernels.similarity import KINDS as _KINDS

COMPILED = ["numba", "cython"]
RTOL = 1e-9
FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])

#: Value sets: integer stars (many ties), half stars, two-decimal ratings
#: (not exact in binary), and a set with a huge offset (Pearson's shift).
VALUE_SETS = {
    "stars": [1.0, 2.0, 3.0, 4.0, 5.0],
    "binary": [1.0],
    "tenth": [0.1],  # constant rows whose float sums are not exact
    "half": [0.5, 1.5, 2.0, 3.5, 5.0],
    "decimal": [0.1, 0.3, 0.7, 2.3, 3.15],
    "signed": [-2.0, -0.5, 0.0, 1.0, 4.0],
    "shifted": [1e6 + 1, 1e6 + 2, 1e6 + 3],
}


@st.composite
def csr_matrices(draw, n_cols, max_rows=7, values=None):
    """A CSR triple with sorted, unique indices over ``n_cols`` columns; rows may
    be empty or hold one entry. Returns ``(indptr, indices, data)``."""
    n_rows = draw(st.integers(0, max_rows))
    mask = draw(arrays(np.bool_, (n_rows, n_cols)))
    if n_rows and draw(st.booleans()):
        mask[draw(st.integers(0, n_rows - 1))] = False  # an empty row, surely
    if n_rows and draw(st.booleans()):  # a single-entry row
        row = draw(st.integers(0, n_rows - 1))
        mask[row] = False
        mask[row, draw(st.integers(0, n_cols - 1))] = True
    values = values or VALUE_SETS[draw(st.sampled_from(sorted(VALUE_SETS)))]
    dense = draw(arrays(np.float64, (n_rows, n_cols), elements=st.sampled_from(values)))
    index_dtype = draw(st.sampled_from([np.int32, np.int64]))
    rows, cols = np.nonzero(mask)
    indptr = np.zeros(n_rows + 1, dtype=index_dtype)
    np.cumsum(mask.sum(axis=1), out=indptr[1:])
    return indptr, cols.astype(index_dtype), dense[rows, cols]


@st.composite
def similarity_cases(draw):
    n_cols = draw(st.integers(1, 6))
    rows = draw(csr_matrices(n_cols))
    n_rows = len(rows[0]) - 1
    kind = draw(st.sampled_from(list(_KINDS)))
    options = {
        "min_support": draw(st.integers(1, 3)),
        "shrinkage": draw(st.sampled_from([None, 0.0, 2.5])),
        "min_sim": draw(st.sampled_from([None, -0.5, 0.25])),
    }
    if n_rows >= 2 and draw(st.booleans()):
        options["k"] = draw(st.integers(1, n_rows - 1))
    if kind == "pearson_baseline":
        biases = st.sampled_from([-0.75, -0.25, 0.0, 0.5, 1.0])
        options["baselines"] = {
            "mu": draw(st.sampled_from([0.0, 3.0, 3.5])),
            "row_bias": np.array(draw(st.lists(biases, min_size=n_rows, max_size=n_rows))),
            "col_bias": np.array(draw(st.lists(biases, min_size=n_cols, max_size=n_cols))),
        }
    return rows, n_cols, kind, options


def _assert_similarity_equal(got, want):
    if isinstance(want, CSR):
        assert_neighbours_equal(got, want, RTOL)
    else:
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL)


def _copies(*arrays_):
    return [a.copy() for a in arrays_]


def _assert_unchanged(arrays_, copies):
    for a, b in zip(arrays_, copies):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("backend", COMPILED)
@FUZZ
@example(  # found by fuzzing: constant 0.1 rows were centred to ~1e-17, similarity 1
    case=((np.array([0, 3, 6]), np.array([1, 2, 3, 1, 2, 3]), np.full(6, 0.1)), 4,
          "adjusted_cosine", {"min_support": 1}), n_threads=1)
@given(case=similarity_cases(), n_threads=st.sampled_from([1, 2]))
def test_similarity_matches_reference(backend, case, n_threads):
    (indptr, indices, data), n_cols, kind, options = case
    before = _copies(indptr, indices, data)
    want = kernels.similarity(indptr, indices, data, n_cols, kind, backend="reference",
                              **options)
    got = kernels.similarity(indptr, indices, data, n_cols, kind, backend=backend,
                             n_threads=n_threads, **options)
    _assert_similarity_equal(got, want)
    _assert_unchanged((indptr, indices, data), before)


@st.composite
def similarity_to_cases(draw):
    n_cols = draw(st.integers(1, 6))
    values = VALUE_SETS[draw(st.sampled_from(sorted(VALUE_SETS)))]
    targets = draw(csr_matrices(n_cols, values=values))
    queries = draw(csr_matrices(n_cols, max_rows=4, values=values))
    kind = draw(st.sampled_from([k for k in _KINDS if k != "pearson_baseline"]))
    n_targets = len(targets[0]) - 1
    options = {"min_support": draw(st.integers(1, 2)),
               "shrinkage": draw(st.sampled_from([None, 1.0]))}
    if n_targets >= 1 and draw(st.booleans()):
        options["k"] = draw(st.integers(1, n_targets))
    return queries, targets, n_cols, kind, options


@pytest.mark.parametrize("backend", COMPILED)
@FUZZ
@given(case=similarity_to_cases())
def test_similarity_to_matches_reference(backend, case):
    queries, targets, n_cols, kind, options = case
    want = kernels.similarity_to(*queries, *targets, n_cols, kind, backend="reference",
                                 **options)
    got = kernels.similarity_to(*queries, *targets, n_cols, kind, backend=backend, **options)
    _assert_similarity_equal(got, want)


@st.composite
def topk_cases(draw):
    n_rows = draw(st.integers(0, 6))
    n_cols = draw(st.integers(1, 8))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    scores = draw(arrays(dtype, (n_rows, n_cols),
                         elements=st.sampled_from([-np.inf, 0.0, 1.0, 2.0, 2.5, np.inf])))
    k = draw(st.integers(1, n_cols))
    exclude = None
    if draw(st.booleans()):  # unsorted rows, repeats, empty and fully excluded rows
        lists = [draw(st.lists(st.integers(0, n_cols - 1), max_size=n_cols + 2))
                 for _ in range(n_rows)]
        index_dtype = draw(st.sampled_from([np.int32, np.int64]))
        indptr = np.zeros(n_rows + 1, dtype=index_dtype)
        np.cumsum([len(x) for x in lists], out=indptr[1:])
        exclude = (indptr, np.array([c for x in lists for c in x], dtype=index_dtype))
    return scores, k, exclude


@pytest.mark.parametrize("backend", COMPILED)
@FUZZ
@given(case=topk_cases(), n_threads=st.sampled_from([1, 2]))
def test_topk_matches_reference(backend, case, n_threads):
    scores, k, exclude = case
    before = _copies(scores, *(exclude or ()))
    want = kernels.topk(scores, k, exclude, backend="reference")
    got = kernels.topk(scores, k, exclude, backend=backend, n_threads=n_threads)
    assert_topk_equal(got, want)  # ties are fully determined: lower column first
    _assert_unchanged((scores, *(exclude or ())), before)


@st.composite
def sgd_cases(draw):
    n_users, n_items = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    n_ratings = draw(st.integers(0, 20))
    index_dtype = draw(st.sampled_from([np.int32, np.int64]))
    # repeated (user, item) pairs and any order: the epoch visits what it is given
    users = np.array(draw(st.lists(st.integers(0, n_users - 1), min_size=n_ratings,
                                   max_size=n_ratings)), dtype=index_dtype)
    items = np.array(draw(st.lists(st.integers(0, n_items - 1), min_size=n_ratings,
                                   max_size=n_ratings)), dtype=index_dtype)
    values = VALUE_SETS[draw(st.sampled_from(["stars", "half", "decimal", "signed"]))]
    ratings = np.array(draw(st.lists(st.sampled_from(values), min_size=n_ratings,
                                     max_size=n_ratings)), dtype=np.float64)
    order = None
    if n_ratings and draw(st.booleans()):  # a shuffle, or positions visited twice
        order = np.array(draw(st.lists(st.integers(0, n_ratings - 1), max_size=2 * n_ratings)))
    k = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    state = (rng.normal(0, 0.1, n_users), rng.normal(0, 0.1, n_items),
             rng.normal(0, 0.1, (n_users, k)), rng.normal(0, 0.1, (n_items, k)))
    rate = st.sampled_from([0.0, 0.005, 0.02, 0.05])
    lr = tuple(draw(rate) for _ in range(4))
    reg = tuple(draw(rate) for _ in range(4))
    mu = draw(st.sampled_from([0.0, 3.5]))
    return users, items, ratings, order, mu, state, lr, reg, draw(st.booleans())


@pytest.mark.parametrize("backend", COMPILED)
@FUZZ
@given(case=sgd_cases())
def test_sgd_epoch_matches_reference(backend, case):
    users, items, ratings, order, mu, state, lr, reg, biased = case
    before = _copies(users, items, ratings, *(() if order is None else (order,)))
    got_state = _copies(*state)
    want_state = _copies(*state)
    for _ in range(2):  # a second epoch starts from the first one's parameters
        got = kernels.sgd_epoch(users, items, ratings, order, mu, *got_state, lr, reg,
                                biased=biased, backend=backend)
        want = kernels.sgd_epoch(users, items, ratings, order, mu, *want_state, lr, reg,
                                 biased=biased, backend="reference")
        assert got == pytest.approx(want, rel=RTOL, abs=1e-12)
    for g, w in zip(got_state, want_state):
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=1e-12)
    _assert_unchanged((users, items, ratings, *(() if order is None else (order,))), before)
