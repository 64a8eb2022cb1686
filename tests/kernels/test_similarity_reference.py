"""The similarity reference itself, on tiny examples checked by hand.

Rows (columns a..d)::

    x = {a: 1, b: 2, c: 3}
    y = {a: 2, b: 4, c: 5, d: 1}
    z = {a: 5, d: 5}
    e = {}                      (empty row)

Co-rated sets: C(x, y) = {a, b, c}, C(x, z) = {a}, C(y, z) = {a, d}; e shares nothing.
"""

import math
import random

import pytest

from fastcf.reference.similarity import KINDS
from fastcf.reference.similarity import similarity as sim_ref

X = {"a": 1.0, "b": 2.0, "c": 3.0}
Y = {"a": 2.0, "b": 4.0, "c": 5.0, "d": 1.0}
Z = {"a": 5.0, "d": 5.0}
E = {}
ROWS = [X, Y, Z, E]
SELF = [0, 1, 2, 3]
# mu = 3; column biases; row biases x: 0, y: 1, z: -0.5, e: 2. Residuals r - ((mu + b_c) + b_x):
#   x: a -2, b -2, c 1;  y: a -2, b -1, c 2, d -3.5;  z: a 2.5, d 2
BASELINES = {"mu": 3.0, "query_bias": [0.0, 1.0, -0.5, 2.0],
             "target_bias": [0.0, 1.0, -0.5, 2.0],
             "column_bias": {"a": 0.0, "b": 1.0, "c": -1.0, "d": 0.5}}

HAND = [
    # pearson: x dev (-1, 0, 1); y over C mean 11/3, dev (-5/3, 1/3, 4/3):
    # 3 / sqrt(2 * 14/3) = sqrt(27/28)
    ("pearson", 0, 1, math.sqrt(27 / 28)),
    ("pearson", 0, 2, 0.0),  # n = 1
    ("pearson", 1, 2, 0.0),  # z constant over C
    # cosine over C: 25 / sqrt(14 * 45); (2*5 + 1*5) / sqrt(5 * 50); 5 / sqrt(1 * 25)
    ("cosine", 0, 1, 25 / math.sqrt(630)),
    ("cosine", 1, 2, 3 / math.sqrt(10)),
    ("cosine", 0, 2, 1.0),
    # cosine_all: norms over all entries, |x|^2 = 14, |y|^2 = 46, |z|^2 = 50
    ("cosine_all", 0, 1, 25 / math.sqrt(14 * 46)),
    ("cosine_all", 0, 2, 5 / math.sqrt(14 * 50)),
    ("cosine_all", 1, 2, 15 / math.sqrt(46 * 50)),
    # adjusted_cosine: x - 2 = (-1, 0, 1), y - 3 = (-1, 1, 2, -2), z - 5 = (0, 0)
    ("adjusted_cosine", 0, 1, 3 / math.sqrt(2 * 10)),
    ("adjusted_cosine", 1, 2, 0.0),  # z centred is all zero: zero norm
    # msd: (1 + 4 + 4) / 3 = 3 -> 1/4; (9 + 16) / 2 -> 1/13.5; 16 -> 1/17
    ("msd", 0, 1, 0.25),
    ("msd", 1, 2, 2 / 27),
    ("msd", 0, 2, 1 / 17),
    # jaccard: 3 / (3 + 4 - 3); 1 / (3 + 2 - 1); 2 / (4 + 2 - 2)
    ("jaccard", 0, 1, 0.75),
    ("jaccard", 0, 2, 0.25),
    ("jaccard", 1, 2, 0.5),
    # dot: sums of products over C
    ("dot", 0, 1, 25.0),
    ("dot", 0, 2, 5.0),
    ("dot", 1, 2, 15.0),
    # pearson_baseline (no shrinkage): (4 + 2 + 2) / sqrt(9 * 9); (-5 - 7) / sqrt(16.25 * 10.25)
    ("pearson_baseline", 0, 1, 8 / 9),
    ("pearson_baseline", 1, 2, -12 / math.sqrt(16.25 * 10.25)),
    ("pearson_baseline", 0, 2, 0.0),  # n = 1 < 2, Surprise's minimum support
]


def dense(kind, rows=ROWS, **options):
    if kind == "pearson_baseline":
        options.setdefault("baselines", BASELINES)
    options.setdefault("self_index", SELF if rows is ROWS else None)
    return sim_ref(rows, rows, kind, **options)


@pytest.mark.parametrize("kind, i, j, value", HAND)
def test_hand_checked_values(kind, i, j, value):
    out = dense(kind)
    assert out[i][j] == pytest.approx(value, rel=1e-13, abs=1e-15)
    assert out[j][i] == out[i][j]


@pytest.mark.parametrize("kind", KINDS)
def test_symmetric_unit_diagonal_and_empty_row(kind):
    out = dense(kind)
    for i in range(4):
        assert out[i][i] == 1.0
        for j in range(4):
            assert out[i][j] == out[j][i]
            if kind != "dot":  # the only unbounded kind
                assert -1.0 - 1e-12 <= out[i][j] <= 1.0 + 1e-12
    assert out[3] == [0.0, 0.0, 0.0, 1.0]  # the empty row shares no column


def test_diagonal_without_self_index_is_computed():
    out = dense("pearson", self_index=None)
    assert out[0][0] == pytest.approx(1.0)
    assert out[2][2] == 0.0  # z is constant
    assert out[3][3] == 0.0  # empty row: never visited
    assert dense("jaccard", self_index=None)[1][1] == 1.0


def test_rectangular_query_and_target():
    out = sim_ref([Y, X], ROWS, "jaccard", self_index=[1, -1])
    assert out == [[0.75, 1.0, 0.5, 0.0], [1.0, 0.75, 0.25, 0.0]]


def test_min_support():
    out = dense("cosine", min_support=3)
    assert out[0][1] == pytest.approx(25 / math.sqrt(630))  # n = 3 kept
    assert out[1][2] == 0.0 and out[0][2] == 0.0  # n = 2, 1 dropped
    assert dense("cosine", min_support=3, k=3)[1] == [(0, out[1][0])]


def test_pearson_baseline_needs_two_common_columns():
    assert dense("pearson_baseline", min_support=1)[0][2] == 0.0
    assert [t for t, _ in dense("pearson_baseline", k=3)[0]] == [1]
    assert dense("cosine", min_support=1)[0][2] == 1.0  # other kinds: the user's value
    # a larger min_support wins over 2
    assert dense("pearson_baseline", min_support=3)[1][2] == 0.0


def test_shrinkage():
    out = dense("cosine", shrinkage=2.0)
    assert out[0][1] == pytest.approx(25 / math.sqrt(630) * 2 / 4)  # (n-1)/(n-1+s), n = 3
    assert out[1][2] == pytest.approx(3 / math.sqrt(10) * 1 / 3)  # n = 2
    assert out[0][2] == 0.0  # n = 1: shrunk to 0 ...
    assert (2, 0.0) in dense("cosine", shrinkage=2.0, k=3)[0]  # ... but still a candidate
    assert out[0][0] == 1.0  # the diagonal is not shrunk
    # Surprise's pearson_baseline default shrinkage 100: 8/9 * 2/102
    assert dense("pearson_baseline", shrinkage=100.0)[0][1] == pytest.approx(8 / 459)


def test_min_sim():
    out = dense("jaccard", min_sim=0.5)
    assert out[0][1] == 0.75 and out[1][2] == 0.5  # equal to min_sim is kept
    assert out[0][2] == 0.0
    assert [t for t, _ in dense("jaccard", min_sim=0.5, k=3)[0]] == [1]
    # min_sim applies after shrinkage: 0.75 * (3-1)/(3-1+2) = 0.375 < 0.5
    assert dense("jaccard", min_sim=0.5, shrinkage=2.0)[0][1] == 0.0
    assert dense("jaccard", min_sim=0.375, shrinkage=2.0)[0][1] == 0.375


def test_negative_similarities_are_candidates():
    out = dense("pearson_baseline", k=3)
    assert out[2] == [(1, pytest.approx(-12 / math.sqrt(16.25 * 10.25)))]
    assert dense("pearson_baseline", k=3, min_sim=0.0)[2] == []


def test_topk_order_ties_and_self_exclusion():
    query = [{"a": 1.0}]
    targets = [{"a": 1.0, "b": 1.0}, {"a": 1.0, "c": 1.0}, {"a": 1.0}, {"b": 1.0},
               {"a": 2.0, "b": 1.0}]
    # jaccard: 1/2, 1/2, 1, not co-rated, 1/2
    assert sim_ref(query, targets, "jaccard", k=2) == [[(2, 1.0), (0, 0.5)]]
    assert sim_ref(query, targets, "jaccard", k=10) == [
        [(2, 1.0), (0, 0.5), (1, 0.5), (4, 0.5)]]  # fewer than k; index 3 absent
    assert sim_ref(query, targets, "jaccard", k=2, self_index=[2]) == [[(0, 0.5), (1, 0.5)]]
    assert sim_ref(query, targets, "jaccard", self_index=[2]) == [[0.5, 0.5, 1.0, 0.0, 0.5]]


def test_pearson_constant_rows_and_single_column_give_zero():
    # 0.1 * 3 / 3 != 0.1 in floating point: the mean must still be exact
    const = {"a": 0.1, "b": 0.1, "c": 0.1}
    other = {"a": 0.3, "b": 0.7, "c": 0.2}
    out = sim_ref([const, other], [const, other], "pearson")
    assert out == [[0.0, 0.0], [0.0, out[1][1]]]
    assert out[1][1] == pytest.approx(1.0)
    assert sim_ref([{"a": 4.0}], [{"a": 1.0, "b": 2.0}], "pearson") == [[0.0]]
    # constant over C only (the row itself is not constant)
    assert sim_ref([{"a": 3.0, "b": 3.0, "c": 1.0}], [{"a": 1.0, "b": 5.0}], "pearson") == [[0.0]]


@pytest.mark.parametrize("kind", ["pearson", "adjusted_cosine"])
def test_shift_invariance(kind):
    rng = random.Random(5)
    rows = [{c: float(rng.randint(1, 5)) for c in range(12) if rng.random() < 0.6}
            for _ in range(8)]
    rows.append({c: 0.5 * c for c in range(10)})
    shifted = [{c: v + 1e6 for c, v in row.items()} for row in rows]
    base, moved = sim_ref(rows, rows, kind), sim_ref(shifted, shifted, kind)
    for a, b in zip(base, moved):
        assert a == pytest.approx(b, abs=1e-9)
    assert any(v not in (0.0, 1.0) for row in base for v in row)


def test_pearson_baseline_column_bias_as_list():
    rows = [{0: 1.0, 1: 2.0, 2: 3.0}, {0: 2.0, 1: 4.0, 2: 5.0, 3: 1.0}]
    base = {"mu": 3.0, "query_bias": [0.0, 1.0], "target_bias": [0.0, 1.0],
            "column_bias": [0.0, 1.0, -1.0, 0.5]}
    assert sim_ref(rows, rows, "pearson_baseline", baselines=base)[0][1] == pytest.approx(8 / 9)


@pytest.mark.parametrize("options, match", [
    ({"kind": "euclid"}, "kind 'euclid' is not one of"),
    ({"kind": "pearson_baseline"}, "needs baselines"),
    ({"k": 0}, "k == 0, must be"),
    ({"min_support": 0}, "min_support == 0, must be"),
    ({"shrinkage": -1.0}, "shrinkage == -1.0, must be >= 0"),
    ({"self_index": [0]}, "self_index has 1 entries, must have 4"),
])
def test_errors(options, match):
    options = {"kind": "pearson", **options}
    with pytest.raises(ValueError, match=match):
        sim_ref(ROWS, ROWS, **options)
