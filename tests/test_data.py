import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from fastcf import Interactions


def dense_of(x):
    return x.by_user.to_scipy().toarray()


def test_from_frame_maps_ids_and_builds_both_csr(frame, interactions):
    x = interactions
    assert x.n_users == frame["user"].nunique()
    assert x.n_items == frame["item"].nunique()
    assert x.nnz == len(frame)
    # external ids are sorted and round-trip through the index maps
    assert list(x.user_ids) == sorted(frame["user"].unique())
    assert np.array_equal(x.user_index(x.user_ids), np.arange(x.n_users))
    assert np.array_equal(x.item_index(x.item_ids), np.arange(x.n_items))
    # every (user, item, rating, timestamp) survives
    back = x.to_frame().sort_values(["user", "item"]).reset_index(drop=True)
    want = frame.sort_values(["user", "item"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back, want, check_dtype=False)
    # by_item is the transpose, sorted indices in both
    assert np.array_equal(x.by_item.to_scipy().toarray(), dense_of(x).T)
    for csr in (x.by_user, x.by_item):
        for r in range(csr.shape[0]):
            row = csr.indices[csr.indptr[r]:csr.indptr[r + 1]]
            assert np.all(np.diff(row) > 0)
    assert np.array_equal(x.by_user.data[x.item_order], x.by_item.data)
    assert np.array_equal(x.by_item.data[x.user_order], x.by_user.data)
    assert np.array_equal(x.user_order[x.item_order], np.arange(x.nnz))


def test_arrays_are_read_only(interactions):
    with pytest.raises(ValueError, match="read-only"):
        interactions.by_user.data[0] = 1.0


def test_from_frame_does_not_mutate_input(frame):
    before = frame.copy(deep=True)
    x = Interactions.from_frame(frame, rating="rating", timestamp="timestamp",
                                dtype=np.float32)
    assert x.dtype == np.float32
    pd.testing.assert_frame_equal(frame, before)


def test_from_arrays_does_not_mutate_or_alias_input():
    users = np.array([3, 1, 2, 1])
    items = np.array([0, 5, 5, 0])
    ratings = np.array([1.0, 2.0, 3.0, 4.0])
    copies = [a.copy() for a in (users, items, ratings)]
    x = Interactions.from_arrays(users, items, ratings)
    for a, c in zip((users, items, ratings), copies):
        assert np.array_equal(a, c)
    assert not np.shares_memory(x.by_user.data, ratings)


def test_row_order_invariance(frame):
    a = Interactions.from_frame(frame, rating="rating")
    b = Interactions.from_frame(frame.iloc[::-1], rating="rating")
    for name in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(a.by_user, name), getattr(b.by_user, name))


def test_implicit_data_is_first_class(frame):
    x = Interactions.from_frame(frame)
    assert x.implicit
    assert np.all(x.by_user.data == 1.0)
    assert "rating" not in x.to_frame().columns


def test_mixed_type_ids_map_and_round_trip():
    ids = np.array(["b", 2, "a", (1, 2)], dtype=object)
    x = Interactions.from_arrays(ids, [1, 2, 3, 4])
    assert set(x.user_ids) == set(ids)
    assert np.array_equal(x.user_ids[x.user_index(ids)], ids)


def test_datetime_timestamps_become_seconds():
    when = pd.to_datetime(["2020-01-01", "2020-01-02"])
    x = Interactions.from_arrays([1, 2], [1, 1], [3.0, 4.0], when)
    assert x.timestamps.dtype == np.int64
    assert np.array_equal(x.timestamps, when.astype("datetime64[s]").astype(np.int64))


@pytest.mark.parametrize("policy, value, stamp", [("last", 5.0, 30), ("mean", 3.0, 30),
                                                  ("sum", 9.0, 30)])
def test_duplicate_policies(policy, value, stamp):
    x = Interactions.from_arrays([1, 1, 2, 1], [7, 7, 7, 7], [1.0, 3.0, 2.0, 5.0],
                                 [10, 30, 20, 5], duplicates=policy)
    assert x.nnz == 2
    pos = x.user_index([1])[0]
    assert x.by_user.data[pos] == value
    assert x.timestamps[pos] == (5 if policy == "last" else stamp)


def test_from_csr_keeps_empty_rows_and_explicit_zeros(with_empty_rows):
    x = with_empty_rows
    assert x.n_users == 12 and x.n_items == 9
    assert x.user_counts()[4] == 0
    assert x.item_counts()[7] == 0
    m = sp.csr_matrix(np.array([[0.0, 1.0], [2.0, 0.0]]))
    m.data[0] = 0.0  # an explicitly stored zero is an interaction
    y = Interactions.from_csr(m, user_ids=["a", "b"], item_ids=["x", "y"])
    assert y.nnz == 2
    assert y.by_user.data[0] == 0.0


def test_from_csr_with_duplicates_uses_policy():
    coo = sp.coo_matrix((np.array([1.0, 2.0]), (np.array([0, 0]), np.array([1, 1]))), (1, 2))
    csr = sp.csr_matrix((coo.data, coo.col, np.array([0, 2])), shape=(1, 2))
    with pytest.raises(ValueError, match="1 duplicate"):
        Interactions.from_csr(csr)
    assert Interactions.from_csr(csr, duplicates="sum").by_user.data[0] == 3.0


def test_take_subsets_and_compacts(interactions):
    x = interactions
    positions = np.arange(0, x.nnz, 3)
    sub = x.take(positions)
    assert sub.nnz == len(positions)
    full = x.to_frame().iloc[positions].reset_index(drop=True)
    pd.testing.assert_frame_equal(sub.to_frame(), full)
    assert set(sub.user_ids) == set(full["user"])
    kept = x.take(positions, compact=False)
    assert kept.n_users == x.n_users


def test_lookup_unknown_ids(interactions):
    with pytest.raises(ValueError, match="1 unknown user ids"):
        interactions.user_index(["nobody"])
    assert interactions.item_index([12345], strict=False)[0] == -1


# ------------------------------------------------------------ validation errors
def test_nan_ratings_name_count_and_row():
    with pytest.raises(ValueError, match=r"2 NaN/inf values \(first at row 1\)"):
        Interactions.from_arrays([1, 2, 3], [1, 1, 1], [1.0, np.nan, np.inf])


def test_nullable_ratings_with_missing_values():
    frame = pd.DataFrame({"user": [1, 2, 3], "item": [1, 1, 1],
                          "rating": pd.array([4, None, 5], dtype="Int64")})
    with pytest.raises(ValueError, match=r"1 NaN/inf values \(first at row 1\)"):
        Interactions.from_frame(frame, rating="rating")
    ok = Interactions.from_frame(frame.dropna(), rating="rating")
    assert ok.by_user.data.tolist() == [4.0, 5.0]


def test_duplicates_error_names_count_and_option():
    with pytest.raises(ValueError, match=r"2 duplicate \(user, item\) pairs.*row 2.*"
                                         r"duplicates='last', 'mean' or 'sum'"):
        Interactions.from_arrays([1, 2, 1, 1], [5, 5, 5, 5], [1.0, 2.0, 3.0, 4.0])


def test_empty_input():
    with pytest.raises(ValueError, match="no interactions"):
        Interactions.from_frame(pd.DataFrame({"user": [], "item": []}))
    with pytest.raises(ValueError, match="no interactions"):
        Interactions.from_csr(sp.csr_matrix((3, 3)))


def test_mismatched_lengths():
    with pytest.raises(ValueError, match="users has 3 entries but items has 2"):
        Interactions.from_arrays([1, 2, 3], [1, 2])


def test_missing_ids():
    with pytest.raises(ValueError, match=r"1 missing ids \(first at row 1\)"):
        Interactions.from_arrays(np.array([1.0, np.nan]), [1, 2])


def test_missing_column(frame):
    with pytest.raises(ValueError, match="rating column 'score' not in"):
        Interactions.from_frame(frame, rating="score")


def test_wrong_types(frame):
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        Interactions.from_frame(frame.to_dict())
    with pytest.raises(TypeError, match="must be a scipy sparse matrix"):
        Interactions.from_csr(np.eye(3))
    with pytest.raises(TypeError, match="dtype == int32, must be float32 or float64"):
        Interactions.from_frame(frame, rating="rating", dtype=np.int32)
    with pytest.raises(TypeError, match="must be numeric"):
        Interactions.from_arrays([1], [1], np.array(["five"]))
    with pytest.raises(TypeError, match="must be numeric or datetime"):
        Interactions.from_arrays([1], [1], [1.0], np.array(["noon"]))
    with pytest.raises(ValueError, match="duplicates == 'first', must be one of"):
        Interactions.from_frame(frame, duplicates="first")


def test_one_dimensional_sparse_array_is_refused():
    with pytest.raises(ValueError, match="matrix must be 2-d, got 1 dimensions"):
        Interactions.from_csr(sp.coo_array(np.array([1.0, 0.0, 2.0])))


def test_bad_shapes_and_ids():
    with pytest.raises(ValueError, match="must be 1-d"):
        Interactions.from_arrays(np.ones((2, 2)), [1, 2])
    with pytest.raises(ValueError, match=r"user_ids has shape \(1,\), must be \(2,\)"):
        Interactions.from_csr(sp.eye(2, format="csr"), user_ids=["a"])
    with pytest.raises(ValueError, match="user_ids contain 1 repeated ids"):
        Interactions.from_csr(sp.eye(2, format="csr"), user_ids=["a", "a"])
    with pytest.raises(ValueError, match="missing times"):
        Interactions.from_arrays([1, 2], [1, 1], [1.0, 2.0], pd.to_datetime(["2020", None]))
    with pytest.raises(ValueError, match="positions must be distinct"):
        Interactions.from_arrays([1, 2], [1, 1]).take([0, 0])
    with pytest.raises(ValueError, match="subset is empty"):
        Interactions.from_arrays([1, 2], [1, 1]).take([])
