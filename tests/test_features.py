"""``fastcf.Features`` and ``Interactions.with_features``: construction, checks,
alignment, and features surviving ``take`` and every split."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from fastcf import Features, Interactions
from fastcf import split as splits


def rows_of(features, ids):
    return features.align(ids).toarray()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 300
    users = rng.integers(0, 40, n)
    items = rng.integers(0, 25, n)
    frame = pd.DataFrame({"user": users, "item": items, "rating": rng.integers(1, 6, n),
                          "timestamp": rng.integers(0, 1000, n)})
    frame = frame.drop_duplicates(["user", "item"])
    return Interactions.from_frame(frame, rating="rating", timestamp="timestamp")


@pytest.fixture(scope="module")
def user_features(data):
    rng = np.random.default_rng(1)
    ids = data.user_ids[::-1][:-3]  # reversed order; the first three users have no row
    dense = rng.integers(0, 3, (len(ids), 5)).astype(float)
    dense[0] = 0.0  # an all-zero row
    return Features(dense, ids, [f"u{j}" for j in range(5)])


@pytest.fixture(scope="module")
def item_features(data):
    rng = np.random.default_rng(2)
    matrix = sp.random(data.n_items, 7, density=0.3, random_state=rng, format="csr")
    return Features(matrix, data.item_ids, dtype=np.float64)


@pytest.fixture(scope="module")
def featured(data, user_features, item_features):
    return data.with_features(user_features, item_features)


# ------------------------------------------------------------------ Features
def test_features_canonical_read_only_and_copied():
    dense = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 0.0]])
    coo = sp.coo_matrix(([1.0, 1.0, -1.0, 2.0], ([0, 0, 1, 1], [2, 2, 0, 0])), shape=(2, 3))
    before = (coo.data.copy(), coo.row.copy(), coo.col.copy())
    f = Features(coo, ids=["a", "b"])
    assert f.names == ("f0", "f1", "f2")
    assert f.n_features == 3 and len(f) == 2 and f.shape == (2, 3)
    assert f.dtype == np.float32
    assert f.matrix.has_canonical_format
    assert np.array_equal(f.matrix.toarray(), [[0, 0, 2], [1, 0, 0]])  # summed, zeros dropped
    assert f.matrix.nnz == 2
    for array, old in zip((coo.data, coo.row, coo.col), before):
        assert np.array_equal(array, old)
    for array in (f.matrix.data, f.matrix.indices, f.matrix.indptr, f.ids):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0
    ids = np.array([5, 6])
    g = Features(dense, ids, dtype=np.float64)
    ids[0] = 7
    dense[0, 0] = 9.0
    assert list(g.ids) == [5, 6] and g.matrix[0, 0] == 1.0 and g.dtype == np.float64


def test_features_accepts_bool_int_and_sparse_inputs():
    flags = np.array([[True, False], [False, True]])
    assert np.array_equal(Features(flags, [1, 2]).matrix.toarray(), flags)
    csr = sp.csr_matrix(np.array([[0, 3], [4, 0]], dtype=np.int64))
    f = Features(csr, pd.Index([1, 2]), names=np.array(["x", "y"]))
    assert f.ids.dtype.kind == "i" and f.names == ("x", "y")
    assert not np.shares_memory(f.matrix.data, csr.data)


def test_features_ids_keep_their_type():
    assert Features(np.eye(2), [3, 4]).ids.dtype == np.int64
    assert Features(np.eye(2), [3, "x"]).ids.dtype == object
    assert Features(np.eye(2), pd.Series(["a", "b"])).ids.tolist() == ["a", "b"]


@pytest.mark.parametrize("matrix, ids, names, error, match", [
    (np.array([[np.nan, 1.0]]), [1], None, ValueError, "1 NaN/inf"),
    (sp.csr_matrix(np.array([[np.inf, 1.0]])), [1], None, ValueError, "NaN/inf"),
    (np.array([[1e300]]), [1], None, ValueError, "overflow float32"),
    (np.zeros((0, 3)), [], None, ValueError, r"shape \(0, 3\)"),
    (np.zeros((2, 0)), [1, 2], None, ValueError, r"shape \(2, 0\)"),
    (sp.csr_matrix((0, 0)), [], None, ValueError, "at least one row"),
    (np.zeros(3), [1, 2, 3], None, ValueError, "must be 2-d"),
    (np.eye(2), [1, 1], None, ValueError, "1 repeated ids: 1"),
    (np.eye(2), [1, None], None, ValueError, "missing ids"),
    (np.eye(2), [1, 2, 3], None, ValueError, "ids has 3 entries but the matrix has 2 rows"),
    (np.eye(2), np.array([[1, 2]]), None, ValueError, "ids must be 1-d"),
    (np.eye(2), [[1], [2]], None, ValueError, "ids must be 1-d"),
    (np.eye(2), [1, 2], ["a"], ValueError, "names has 1 entries but the matrix has 2"),
    (np.eye(2), [1, 2], ["a", "a"], ValueError, "1 repeated names: 'a'"),
    (np.eye(2), [1, 2], ["a", 3], TypeError, "names must all be str"),
    (np.eye(2), [1, 2], "ab", TypeError, "names must be a 1-d sequence"),
    (np.eye(2), None, None, TypeError, "ids must be a 1-d array-like"),
    (np.eye(2), 5, None, TypeError, "ids must be a 1-d array-like"),
    ([[1.0, 0.0]], [1], None, TypeError, "got list"),
    (pd.DataFrame({"a": [1]}), [1], None, TypeError, "use Features.from_frame"),
    (np.array([["a"]]), [1], None, TypeError, "must be numeric"),
])
def test_features_bad_input(matrix, ids, names, error, match):
    with pytest.raises(error, match=match):
        Features(matrix, ids, names)


def test_features_bad_dtype():
    with pytest.raises(TypeError, match="dtype == int64"):
        Features(np.eye(2), [1, 2], dtype=np.int64)


def test_align_reindex_take_positions():
    f = Features(np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]]), ids=["a", "b", "c"],
                 names=["x", "y"])
    assert np.array_equal(f.positions(["c", "zz", "a"]), [2, -1, 0])
    aligned = f.align(["c", "zz", "a", "c"])
    assert sp.isspmatrix_csr(aligned) and aligned.has_sorted_indices
    assert np.array_equal(aligned.toarray(), [[3, 4], [0, 0], [1, 0], [3, 4]])
    g = f.reindex(["b", "new"])
    assert list(g.ids) == ["b", "new"] and g.names == f.names
    assert np.array_equal(g.matrix.toarray(), [[0, 2], [0, 0]])
    h = f.take(np.array([2, 0]))
    assert list(h.ids) == ["c", "a"]
    assert np.array_equal(h.matrix.toarray(), [[3, 4], [1, 0]])
    assert f.take(np.array([0, 1, 2])).equals(f)
    assert not f.equals(h) and not f.equals("f")
    assert not f.equals(Features(f.matrix, f.ids, ["x", "z"]))
    assert repr(f) == "Features(3 ids x 2 features, 4 non-zero, float32; x, y)"
    wide = Features(np.ones((1, 6)), [1])
    assert repr(wide).endswith("f0, f1, f2, f3, ...)")
    frame = f.to_frame()
    assert list(frame.columns) == ["x", "y"] and list(frame.index) == ["a", "b", "c"]
    assert np.array_equal(frame.sparse.to_dense().to_numpy(), f.matrix.toarray())


def test_reindex_and_take_bad_input():
    f = Features(np.eye(3), [1, 2, 3])
    with pytest.raises(ValueError, match="1 repeated ids"):
        f.reindex([1, 1])
    with pytest.raises(TypeError, match="rows must be a 1-d integer array"):
        f.take(np.array([0.0]))
    with pytest.raises(ValueError, match=r"rows must lie in \[0, 3\)"):
        f.take(np.array([3]))
    with pytest.raises(ValueError, match="rows must be distinct"):
        f.take(np.array([1, 1]))


# ------------------------------------------------------------------ from_frame
def test_from_frame_numeric_categorical_and_multi_valued():
    df = pd.DataFrame({"movie": [10, 20, 30], "year": [1995, 2001, 1970],
                       "genres": ["Drama|Action", "Action", None],
                       "rated": pd.Categorical(["PG", "R", "PG"]), "flag": [True, False, True]})
    before = df.copy(deep=True)
    f = Features.from_frame(df, "movie", sep="|", dtype=np.float64)
    pd.testing.assert_frame_equal(df, before)
    assert f.names == ("year", "genres=Action", "genres=Drama", "rated=PG", "rated=R", "flag")
    assert list(f.ids) == [10, 20, 30] and f.dtype == np.float64
    assert np.array_equal(f.matrix.toarray(), [[1995, 1, 1, 1, 0, 1],
                                               [2001, 1, 0, 0, 1, 0],
                                               [1970, 0, 0, 1, 0, 1]])
    # explicit columns and categorical: a numeric code column one-hot, the rest left out
    g = Features.from_frame(df, "movie", columns=["year", "flag"], categorical=["year"])
    assert g.names == ("year=1970", "year=1995", "year=2001", "flag")
    assert np.array_equal(g.matrix.toarray(), [[0, 1, 0, 1], [0, 0, 1, 0], [1, 0, 0, 1]])


def test_from_frame_sep_per_column_and_repeats():
    df = pd.DataFrame({"id": ["a", "b"], "tags": ["x;x;y", ""], "kind": ["p|q", "p"]})
    f = Features.from_frame(df, "id", sep={"tags": ";"})
    assert f.names == ("tags=x", "tags=y", "kind=p", "kind=p|q")  # kind is not split
    assert np.array_equal(f.matrix.toarray(), [[1, 1, 0, 1], [0, 0, 1, 0]])


@pytest.mark.parametrize("kwargs, error, match", [
    ({"df": {"id": [1]}, "id": "id"}, TypeError, "df must be a pandas DataFrame"),
    ({"id": "nope"}, ValueError, "df has no column 'nope'"),
    ({"columns": ["age", "zzz"]}, ValueError, r"df has no column \['zzz'\]"),
    ({"columns": []}, ValueError, "no feature columns"),
    ({"categorical": ["id"]}, ValueError, "which are not feature columns"),
    ({"columns": ["age", "job"], "categorical": []}, TypeError, "column 'job' has dtype"),
    ({"columns": ["score"]}, ValueError, "column 'score' contains 1 NaN/inf values"),
    ({"sep": 3}, TypeError, "sep must be a str"),
    ({"sep": {"age": "|"}}, ValueError, "sep names"),
    ({"dtype": np.int32}, TypeError, "dtype == int32"),
])
def test_from_frame_bad_input(kwargs, error, match):
    df = pd.DataFrame({"id": [1, 2], "age": [20, 30], "job": ["a", "b"],
                       "score": [1.0, np.nan]})
    kwargs = {"df": df, "id": "id", **kwargs}
    with pytest.raises(error, match=match):
        Features.from_frame(**kwargs)


def test_from_frame_repeated_ids():
    df = pd.DataFrame({"id": [1, 1], "age": [20, 30]})
    with pytest.raises(ValueError, match="1 repeated ids: 1"):
        Features.from_frame(df, "id")


# --------------------------------------------------------- Interactions.with_features
def test_plain_interactions_have_no_features(data):
    assert data.user_features is None and data.item_features is None
    assert "features" not in repr(data)


def test_with_features_aligns_rows_to_ids(data, featured, user_features, item_features):
    x = featured
    assert x is not data and data.user_features is None
    assert np.array_equal(x.user_features.ids, x.user_ids)
    assert np.array_equal(x.item_features.ids, x.item_ids)
    assert np.array_equal(x.user_features.matrix.toarray(), rows_of(user_features, x.user_ids))
    assert x.item_features is item_features  # already aligned: kept as is
    assert x.user_features.dtype == np.float32 and x.item_features.dtype == np.float64
    # users without a feature row get zeros
    for uid in data.user_ids[:3]:
        assert x.user_features.align([uid]).nnz == 0
    # the entries are untouched
    for a, b in zip(x.by_user, data.by_user):
        assert np.array_equal(a, b)
    assert np.array_equal(x.timestamps, data.timestamps)
    assert np.array_equal(x.input_order, data.input_order)
    assert repr(x).endswith("timestamps, 5 user features, 7 item features)")


def test_with_features_one_axis_and_none(data, item_features):
    x = data.with_features(item_features=item_features)
    assert x.user_features is None and x.item_features is item_features
    y = x.with_features()
    assert y.user_features is None and y.item_features is None


def test_with_features_unknown_ids_error(data):
    extra = Features(np.eye(3), [data.item_ids[0], 1000, 1001])
    with pytest.raises(ValueError, match=r"item_features has 2 item ids without interactions: "
                                         r"1000, 1001; pass new_ids='add'"):
        data.with_features(item_features=extra)
    many = Features(np.ones((8, 1)), np.arange(1000, 1008))
    with pytest.raises(ValueError, match="8 user ids .* 1004 and 3 more"):
        data.with_features(user_features=many)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"user_features": np.eye(2)}, TypeError, "user_features must be a fastcf.Features"),
    ({"item_features": "x"}, TypeError, "item_features must be a fastcf.Features"),
    ({"new_ids": "drop"}, ValueError, "new_ids"),
])
def test_with_features_bad_arguments(data, kwargs, error, match):
    with pytest.raises(error, match=match):
        data.with_features(**kwargs)


def test_with_features_add_keeps_every_rating(data, item_features):
    new_items = [-5, 12.5, 999]  # before, between and after the known (sorted) ids
    ids = np.concatenate([data.item_ids, new_items])
    rng = np.random.default_rng(3)
    catalogue = Features(rng.random((len(ids), 4)), ids)
    new_user = Features(np.ones((1, 1)), [10_000])
    x = data.with_features(new_user, catalogue, new_ids="add")
    assert x.n_items == data.n_items + 3 and x.n_users == data.n_users + 1
    assert np.all(np.diff(x.item_ids) > 0) and np.all(np.diff(x.user_ids) > 0)
    assert np.array_equal(x.item_features.ids, x.item_ids)
    assert np.array_equal(x.item_features.matrix.toarray(), rows_of(catalogue, x.item_ids))
    assert x.user_features.matrix[:-1].nnz == 0 and x.user_features.matrix[-1, 0] == 1.0
    # every rating, timestamp and input position kept; the new ones have none
    pd.testing.assert_frame_equal(x.to_frame(), data.to_frame(), check_dtype=False)
    assert np.array_equal(x.input_order, data.input_order)
    counts = pd.Series(x.item_counts(), index=x.item_ids)
    assert (counts[new_items] == 0).all()
    assert x.user_counts()[-1] == 0
    # both orientations stay consistent (sorted indices, transpose)
    assert x.by_user.to_scipy().has_sorted_indices
    assert np.array_equal(x.by_item.to_scipy().toarray(), x.by_user.to_scipy().toarray().T)
    assert x.item_index([-5, 999]).tolist() == [0, x.n_items - 1]


def test_with_features_add_unsortable_ids_go_last():
    x = Interactions.from_arrays(["b", "a"], [1, 2])
    f = Features(np.eye(2), [3, "z"])  # mixed with the int item ids: cannot sort
    y = x.with_features(item_features=f, new_ids="add")
    assert y.item_ids.tolist() == [1, 2, 3, "z"]
    assert np.array_equal(y.item_features.matrix.toarray(), [[0, 0], [0, 0], [1, 0], [0, 1]])
    # unsorted ids given to from_csr keep their order; the new ones go after them
    z = Interactions.from_csr(sp.csr_matrix(np.eye(2)), user_ids=[9, 1])
    w = z.with_features(Features(np.ones((2, 1)), [5, 0]), new_ids="add")
    assert w.user_ids.tolist() == [9, 1, 0, 5]
    assert np.array_equal(w.by_user.to_scipy().toarray(), [[1, 0], [0, 1], [0, 0], [0, 0]])


def test_take_keeps_features_aligned(featured, user_features, item_features):
    positions = np.arange(0, featured.nnz, 3)
    for compact in (True, False):
        sub = featured.take(positions, compact=compact)
        assert np.array_equal(sub.user_features.ids, sub.user_ids)
        assert np.array_equal(sub.item_features.ids, sub.item_ids)
        assert np.array_equal(sub.user_features.matrix.toarray(),
                              rows_of(user_features, sub.user_ids))
        assert np.array_equal(sub.item_features.matrix.toarray(),
                              rows_of(item_features, sub.item_ids))
    assert featured.take(positions, compact=False).n_items == featured.n_items


SPLITS = [
    ("random", lambda d: splits.random_split(d, 0.3, seed=1)),
    ("user", lambda d: splits.user_split(d, 0.3, seed=1)),
    ("temporal", lambda d: splits.temporal_split(d, 0.25)),
    ("temporal per user", lambda d: splits.temporal_split(d, 0.25, per_user=True)),
    ("leave one out", lambda d: splits.leave_one_out(d, by="random", seed=1)),
]


@pytest.mark.parametrize("name, make", SPLITS, ids=[s[0] for s in SPLITS])
def test_splits_keep_features_aligned(featured, user_features, item_features, name, make):
    parts = make(featured)
    for part in (parts.train, parts.test):
        for features, ids, original in ((part.user_features, part.user_ids, user_features),
                                        (part.item_features, part.item_ids, item_features)):
            assert np.array_equal(features.ids, ids)
            for i, external in enumerate(ids):
                assert np.array_equal(features.matrix[i].toarray(),
                                      rows_of(original, [external])), (name, external)


def test_kfold_keeps_features(featured, item_features):
    for fold in splits.kfold(featured, k=3, seed=0):
        assert np.array_equal(fold.test.item_features.matrix.toarray(),
                              rows_of(item_features, fold.test.item_ids))


def test_features_survive_pickle(featured):
    import pickle

    back = pickle.loads(pickle.dumps(featured))
    assert back.user_features.equals(featured.user_features)
    assert back.item_features.equals(featured.item_features)


def test_ranking_split_keeps_features(featured, item_features):
    from fastcf.bench.ranking import ranking_split

    train, test = ranking_split(featured, seed=0)
    assert train.implicit
    for part in (train, test):
        assert np.array_equal(part.item_features.matrix.toarray(),
                              rows_of(item_features, part.item_ids))
        assert np.array_equal(part.user_features.ids, part.user_ids)
