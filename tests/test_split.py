"""Tests of fastcf.split: every splitter against slow, set-based checks."""

import datetime
from collections import Counter, defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastcf.data import Interactions
from fastcf.split import (
    TrainTest,
    kfold,
    leave_one_out,
    random_split,
    temporal_split,
    user_split,
)


# ----------------------------------------------------------------------- helpers
def make_data(n_users=25, n_items=15, density=0.35, seed=0, *, timestamps=True,
              implicit=False, n_times=12):
    """Seeded random data with string ids, ties in time and a one-entry user."""
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    mask[0, :] = False
    mask[0, 3] = True  # a user with a single interaction
    mask[1, :] = True  # a user with every item
    users, items = np.nonzero(mask)
    order = rng.permutation(len(users))  # rows in no particular order
    users, items = users[order], items[order]
    ratings = None if implicit else rng.integers(1, 6, len(users)).astype(float)
    stamps = rng.integers(0, n_times, len(users)) if timestamps else None  # many ties
    return Interactions.from_arrays(
        np.array([f"u{u:02d}" for u in users]), np.array([f"i{i:02d}" for i in items]),
        ratings, stamps,
    )


def triples(data):
    """Set of (user id, item id, rating) of every entry."""
    frame = data.to_frame()
    rating = frame["rating"] if "rating" in frame else np.ones(len(frame))
    return set(zip(frame["user"], frame["item"], rating))


def snapshot(data):
    arrays = [data.by_user.indptr, data.by_user.indices, data.by_user.data,
              data.user_ids, data.item_ids]
    if data.timestamps is not None:
        arrays.append(data.timestamps)
    return [a.copy() for a in arrays]


def assert_unchanged(data, before):
    for a, b in zip(snapshot(data), before):
        np.testing.assert_array_equal(a, b)


def entry_table(data):
    """One row per entry, in by_user order, with its position."""
    frame = data.to_frame()
    frame["pos"] = np.arange(len(frame))
    return frame


def check_partition(data, split):
    """Disjoint + complete, positions consistent, cold-start lists right."""
    assert isinstance(split, TrainTest)
    train, test = split
    assert train is split.train and test is split.test
    all_triples = triples(data)
    tr, te = triples(train), triples(test)
    assert not tr & te
    assert tr | te == all_triples
    assert len(train) + len(test) == len(data)
    # positions: sorted, disjoint, complete, and they name the same entries
    tp, sp = split.train_positions, split.test_positions
    assert np.all(np.diff(tp) > 0) and np.all(np.diff(sp) > 0)
    np.testing.assert_array_equal(np.sort(np.r_[tp, sp]), np.arange(len(data)))
    assert triples(data.take(tp)) == tr
    assert triples(data.take(sp)) == te
    # compact id maps
    frame_tr, frame_te = train.to_frame(), test.to_frame()
    assert set(train.user_ids) == set(frame_tr["user"])
    assert set(train.item_ids) == set(frame_tr["item"])
    assert set(test.user_ids) == set(frame_te["user"])
    assert set(test.item_ids) == set(frame_te["item"])
    # cold-start cases, the slow way
    assert set(split.test_only_users) == set(frame_te["user"]) - set(frame_tr["user"])
    assert set(split.test_only_items) == set(frame_te["item"]) - set(frame_tr["item"])
    assert len(set(split.test_only_users)) == len(split.test_only_users)
    for arr in (tp, sp, split.test_only_users, split.test_only_items):
        assert not arr.flags.writeable
    return train, test


def per_user_counts(data, positions):
    users = data.to_frame()["user"].to_numpy()
    return Counter(users[positions])


def expected_per_user(n_u, test_size, min_train):
    wanted = round(test_size * n_u) if isinstance(test_size, float) else test_size
    return max(0, min(wanted, n_u - min_train))


def latest_key(frame):
    """(timestamp, position) of each row, the order temporal splits use."""
    return list(zip(frame["timestamp"], frame["pos"]))


ALL_SPLITS = {
    "random": lambda d, **kw: random_split(d, 0.3, **kw),
    "user": lambda d, **kw: user_split(d, 0.3, **kw),
    "temporal": lambda d, **kw: temporal_split(d, 0.3),
    "temporal_per_user": lambda d, **kw: temporal_split(d, 0.3, per_user=True),
    "temporal_at": lambda d, **kw: temporal_split(d, at=6),
    "loo_time": lambda d, **kw: leave_one_out(d, **kw),
    "loo_random": lambda d, **kw: leave_one_out(d, by="random", **kw),
    "kfold": lambda d, **kw: kfold(d, 3, **kw)[1],
}
SEEDED = ["random", "user", "loo_random", "kfold"]


# -------------------------------------------------------------------- all splits
@pytest.mark.parametrize("name", ALL_SPLITS)
@pytest.mark.parametrize("implicit", [False, True])
def test_partition_and_no_mutation(name, implicit):
    data = make_data(implicit=implicit)
    before = snapshot(data)
    split = ALL_SPLITS[name](data)
    check_partition(data, split)
    assert_unchanged(data, before)
    assert split.train.implicit == split.test.implicit == implicit


@pytest.mark.parametrize("name", SEEDED)
def test_seed_reproducible(name):
    data = make_data()
    a = ALL_SPLITS[name](data, seed=3)
    b = ALL_SPLITS[name](data, seed=3)
    c = ALL_SPLITS[name](data, seed=4)
    np.testing.assert_array_equal(a.test_positions, b.test_positions)
    assert triples(a.test) == triples(b.test)
    assert not np.array_equal(a.test_positions, c.test_positions)


@pytest.mark.parametrize("name", SEEDED)
def test_seed_generator_accepted(name):
    data = make_data()
    a = ALL_SPLITS[name](data, seed=np.random.default_rng(7))
    b = ALL_SPLITS[name](data, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(a.test_positions, b.test_positions)


def test_deterministic_splits_do_not_depend_on_anything_random():
    data = make_data()
    for name in ("temporal", "temporal_per_user", "temporal_at", "loo_time"):
        a, b = ALL_SPLITS[name](data), ALL_SPLITS[name](data)
        np.testing.assert_array_equal(a.test_positions, b.test_positions)


def test_unpack_repr_and_frozen():
    data = make_data()
    split = random_split(data, 0.25)
    train, test = split
    assert (train, test) == (split.train, split.test)
    text = repr(split)
    assert text.startswith("TrainTest(train=")
    assert f"test={len(test)} interactions" in text
    assert "test-only users" in text and "test-only items" in text
    with pytest.raises(AttributeError):
        split.train = test


# ------------------------------------------------------------------ random_split
@pytest.mark.parametrize("test_size, expected", [(0.2, None), (0.5, None), (7, 7), (1, 1)])
def test_random_split_sizes(test_size, expected):
    data = make_data()
    split = random_split(data, test_size, seed=1)
    check_partition(data, split)
    n_test = expected if expected is not None else round(test_size * len(data))
    assert len(split.test) == n_test
    assert len(split.train) == len(data) - n_test


def test_random_split_max_int_and_numpy_scalars():
    data = make_data()
    split = random_split(data, len(data) - 1)
    assert len(split.train) == 1
    check_partition(data, random_split(data, np.int64(5)))
    assert len(random_split(data, np.float32(0.5)).test) == round(0.5 * len(data))


def test_random_split_rounds_half_to_even():
    # 10 entries: 0.25 -> round(2.5) == 2 and 0.35 -> round(3.5) == 4
    data = Interactions.from_arrays(np.arange(10) // 2, np.arange(10) % 2 + np.arange(10))
    assert len(random_split(data, 0.25).test) == round(0.25 * 10) == 2
    assert len(random_split(data, 0.35).test) == round(0.35 * 10)


def test_random_split_is_roughly_uniform():
    data = Interactions.from_arrays(np.zeros(8, int), np.arange(8))
    hits = np.zeros(8)
    for seed in range(300):
        hits[random_split(data, 2, seed=seed).test_positions] += 1
    assert hits.sum() == 600
    assert hits.min() > 45 and hits.max() < 105  # expected 75 each


def test_random_split_cold_start_lists():
    # u9/i9 only have one entry: with everything else in train they are test-only
    users = ["u1", "u1", "u2", "u2", "u9"]
    items = ["i1", "i2", "i1", "i2", "i9"]
    data = Interactions.from_arrays(users, items, [1.0, 2, 3, 4, 5])
    for seed in range(30):
        split = random_split(data, 1, seed=seed)
        check_partition(data, split)
        if 4 in split.test_positions:
            assert list(split.test_only_users) == ["u9"]
            assert list(split.test_only_items) == ["i9"]
            break
    else:  # pragma: no cover
        pytest.fail("entry 4 was never drawn")


# -------------------------------------------------------------------- user_split
@pytest.mark.parametrize("test_size", [0.2, 0.5, 0.8, 1, 3, 100])
@pytest.mark.parametrize("min_train", [0, 1, 2, 5])
def test_user_split_per_user_counts(test_size, min_train):
    data = make_data()
    counts = per_user_counts(data, np.arange(len(data)))
    if sum(expected_per_user(n, test_size, min_train) for n in counts.values()) == len(data):
        with pytest.raises(ValueError, match="train would be empty"):
            user_split(data, test_size, seed=2, min_train=min_train)
        return
    split = user_split(data, test_size, seed=2, min_train=min_train)
    check_partition(data, split)
    test_counts = per_user_counts(data, split.test_positions)
    train_counts = per_user_counts(data, split.train_positions)
    for user, n_u in counts.items():
        expected = expected_per_user(n_u, test_size, min_train)
        assert test_counts.get(user, 0) == expected
        assert train_counts.get(user, 0) >= min(n_u, min_train)
    if min_train == 0:
        assert set(split.test_only_users) == {u for u, n in counts.items()
                                              if expected_per_user(n, test_size, 0) == n}
    else:
        assert len(split.test_only_users) == 0


def test_user_split_rounding_half_to_even():
    # user a has 5 entries: round(2.5) == 2; user b has 3: round(1.5) == 2
    data = Interactions.from_arrays(["a"] * 5 + ["b"] * 3, [1, 2, 3, 4, 5, 1, 2, 3])
    counts = per_user_counts(data, user_split(data, 0.5).test_positions)
    assert counts == {"a": 2, "b": 2}


def test_user_split_is_roughly_uniform_within_user():
    data = Interactions.from_arrays(["a"] * 4 + ["b"] * 2, [1, 2, 3, 4, 1, 2])
    hits = np.zeros(6)
    for seed in range(300):
        hits[user_split(data, 1, seed=seed).test_positions] += 1
    assert np.all(hits[:4] > 40) and np.all(hits[:4] < 110)  # expected 75 each
    assert hits[4:].sum() == 300 and np.all(hits[4:] > 110)  # expected 150 each


# ---------------------------------------------------------------- temporal_split
@pytest.mark.parametrize("test_size", [0.1, 0.3, 0.7, 1, 20])
def test_temporal_split_global(test_size):
    data = make_data(n_times=6)  # heavy ties in time
    split = temporal_split(data, test_size)
    check_partition(data, split)
    n_test = test_size if isinstance(test_size, int) else round(test_size * len(data))
    assert len(split.test) == n_test
    assert split.test.timestamps.min() >= split.train.timestamps.max()
    # ties are broken by position: (time, position) of test all exceed train's
    frame = entry_table(data)
    keys = latest_key(frame)
    assert min(keys[p] for p in split.test_positions) > max(keys[p] for p in
                                                            split.train_positions)


def test_temporal_split_default_size_is_a_fifth():
    data = make_data()
    assert len(temporal_split(data).test) == round(0.2 * len(data))
    assert len(temporal_split(data, per_user=True).test) == sum(
        expected_per_user(n, 0.2, 1)
        for n in per_user_counts(data, np.arange(len(data))).values())


def test_temporal_split_float_timestamps():
    data = make_data(timestamps=False)
    stamps = np.random.default_rng(0).random(len(data)) * 1e6
    data = Interactions.from_arrays(*[data.to_frame()[c] for c in ("user", "item", "rating")],
                                    stamps)
    split = temporal_split(data, 0.25)
    check_partition(data, split)
    assert split.test.timestamps.min() >= split.train.timestamps.max()
    per_user = temporal_split(data, 0.25, per_user=True)
    check_partition(data, per_user)


@pytest.mark.parametrize("test_size", [0.2, 0.5, 1, 3])
@pytest.mark.parametrize("min_train", [0, 1, 3])
def test_temporal_split_per_user(test_size, min_train):
    data = make_data(n_times=5)
    split = temporal_split(data, test_size, per_user=True, min_train=min_train)
    check_partition(data, split)
    frame = entry_table(data)
    in_test = np.zeros(len(data), bool)
    in_test[split.test_positions] = True
    for _, rows in frame.groupby("user"):
        n_u = len(rows)
        test_rows = rows[in_test[rows["pos"]]]
        train_rows = rows[~in_test[rows["pos"]]]
        assert len(test_rows) == expected_per_user(n_u, test_size, min_train)
        if len(test_rows) and len(train_rows):
            assert test_rows["timestamp"].min() >= train_rows["timestamp"].max()
            assert min(latest_key(test_rows)) > max(latest_key(train_rows))


@pytest.mark.parametrize("at", [1, 6, 11, 5.5, np.int64(3)])
def test_temporal_split_at(at):
    data = make_data()
    split = temporal_split(data, at=at)
    check_partition(data, split)
    assert np.all(split.test.timestamps >= at)
    assert np.all(split.train.timestamps < at)
    assert len(split.test) == int(np.count_nonzero(data.timestamps >= at))


def test_temporal_split_at_datetimes():
    base = pd.Timestamp("2020-01-01")
    frame = pd.DataFrame({
        "user": [1, 1, 1, 2, 2, 3],
        "item": [1, 2, 3, 1, 3, 2],
        "when": [base + pd.Timedelta(days=d) for d in (0, 1, 2, 0, 3, 1)],
    })
    data = Interactions.from_frame(frame, timestamp="when")
    cutoff = base + pd.Timedelta(days=1, hours=12)
    for at in (cutoff, cutoff.to_pydatetime(), cutoff.to_datetime64(),
               cutoff.tz_localize("UTC").tz_convert("Europe/Paris")):
        split = temporal_split(data, at=at)
        check_partition(data, split)
        assert len(split.test) == 2
        assert set(split.test.to_frame()["item"]) == {3}
    # a cutoff at a fraction of a second still compares exactly
    split = temporal_split(data, at=base + pd.Timedelta(days=1, microseconds=1))
    assert len(split.test) == 2
    split = temporal_split(data, at=base + pd.Timedelta(days=1))
    assert len(split.test) == 4
    split = temporal_split(data, at=datetime.date(2020, 1, 2))
    assert len(split.test) == 4


def test_temporal_split_extreme_int_timestamps():
    # a time span too wide to pack with positions in one int64 key
    stamps = np.array([2**62, -(2**62), 0, 2**62, -(2**62), 5])
    data = Interactions.from_arrays([1, 1, 1, 2, 2, 2], [1, 2, 3, 1, 2, 3], None, stamps)
    split = temporal_split(data, 2)
    assert split.test_positions.tolist() == [0, 3]  # the two latest (tied: both)
    split = temporal_split(data, 1, per_user=True)
    assert split.test_positions.tolist() == [0, 3]
    split = temporal_split(data, 3)
    assert split.test_positions.tolist() == [0, 3, 5]


def test_temporal_split_float_timestamps_with_datetime_cutoff():
    seconds = pd.Timestamp("2021-06-01").value / 1e9
    stamps = seconds + np.array([-1.5, -0.25, 0.0, 0.25, 3.0])
    data = Interactions.from_arrays([1, 1, 2, 2, 3], [1, 2, 1, 2, 1], None, stamps)
    split = temporal_split(data, at=pd.Timestamp("2021-06-01"))
    assert split.test_positions.tolist() == [2, 3, 4]
    split = temporal_split(data, at=pd.Timestamp("2021-06-01") + pd.Timedelta(milliseconds=100))
    assert split.test_positions.tolist() == [3, 4]


def test_temporal_split_cold_start_users_are_reported():
    users = ["a", "a", "b", "b", "c"]
    items = ["x", "y", "x", "z", "x"]
    stamps = [1, 2, 1, 2, 9]
    data = Interactions.from_arrays(users, items, None, stamps)
    split = temporal_split(data, 1)
    assert list(split.test_only_users) == ["c"]
    assert list(split.test_only_items) == []
    split = temporal_split(data, at=2)
    assert set(split.test_only_items) == {"y", "z"}


# ------------------------------------------------------------------------- kfold
@pytest.mark.parametrize("k", [2, 3, 5, 7])
def test_kfold_partitions(k):
    data = make_data()
    before = snapshot(data)
    folds = kfold(data, k, seed=5)
    assert len(folds) == k
    sizes = [len(f.test) for f in folds]
    assert max(sizes) - min(sizes) <= 1
    assert sum(sizes) == len(data)
    all_test = np.concatenate([f.test_positions for f in folds])
    np.testing.assert_array_equal(np.sort(all_test), np.arange(len(data)))
    seen = set()
    for f in folds:
        check_partition(data, f)
        te = triples(f.test)
        assert not seen & te
        seen |= te
    assert seen == triples(data)
    assert_unchanged(data, before)


def test_kfold_leave_one_entry_out():
    data = Interactions.from_arrays([1, 1, 2, 2], [1, 2, 1, 2], [1.0, 2, 3, 4])
    folds = kfold(data, 4)
    assert sorted(int(f.test_positions[0]) for f in folds) == [0, 1, 2, 3]
    assert all(len(f.test) == 1 for f in folds)


def test_kfold_seeded():
    data = make_data()
    a, b, c = kfold(data, 4, seed=1), kfold(data, 4, seed=1), kfold(data, 4, seed=2)
    for fa, fb in zip(a, b):
        np.testing.assert_array_equal(fa.test_positions, fb.test_positions)
    assert any(not np.array_equal(fa.test_positions, fc.test_positions)
               for fa, fc in zip(a, c))


# ----------------------------------------------------------------- leave_one_out
@pytest.mark.parametrize("min_train", [0, 1, 2, 4])
def test_leave_one_out_time_picks_latest(min_train):
    data = make_data(n_times=4)  # lots of ties: the later position wins
    split = leave_one_out(data, min_train=min_train)
    check_partition(data, split)
    frame = entry_table(data)
    test_pos = set(split.test_positions.tolist())
    for _, rows in frame.groupby("user"):
        picked = [p for p in rows["pos"] if p in test_pos]
        if len(rows) <= min_train:
            assert picked == []
        else:
            assert picked == [max(latest_key(rows))[1]]


@pytest.mark.parametrize("min_train", [0, 1, 3])
def test_leave_one_out_random(min_train):
    data = make_data(timestamps=False)
    split = leave_one_out(data, by="random", seed=1, min_train=min_train)
    check_partition(data, split)
    counts = per_user_counts(data, np.arange(len(data)))
    test_counts = per_user_counts(data, split.test_positions)
    for user, n_u in counts.items():
        assert test_counts.get(user, 0) == (1 if n_u > min_train else 0)
    if min_train == 0:
        assert set(split.test_only_users) == {u for u, n in counts.items() if n == 1}


def test_leave_one_out_random_is_roughly_uniform():
    data = Interactions.from_arrays(["a"] * 4 + ["b"], [1, 2, 3, 4, 1])
    hits = np.zeros(5)
    for seed in range(400):
        hits[leave_one_out(data, by="random", seed=seed).test_positions] += 1
    assert hits[4] == 0
    assert np.all(hits[:4] > 65) and np.all(hits[:4] < 135)  # expected 100 each


def test_leave_one_out_tie_goes_to_later_position():
    data = Interactions.from_arrays(["a", "a", "a", "b", "b"], [1, 2, 3, 1, 2], None,
                                    [5, 7, 7, 3, 1])
    split = leave_one_out(data)
    assert split.test_positions.tolist() == [2, 3]


# -------------------------------------------------------------------- validation
def test_data_must_be_interactions():
    frame = make_data().to_frame()
    for func in (random_split, user_split, temporal_split, kfold, leave_one_out):
        with pytest.raises(TypeError, match="data must be an Interactions, got DataFrame"):
            func(frame)


@pytest.mark.parametrize("func", [random_split, user_split,
                                  lambda d, t: temporal_split(d, t),
                                  lambda d, t: temporal_split(d, t, per_user=True)])
@pytest.mark.parametrize("bad, exc, match", [
    ("0.2", TypeError, "test_size must be an int or a float, got str"),
    (True, TypeError, "test_size must be an int or a float, got bool"),
    ([0.2], TypeError, "test_size must be an int or a float, got list"),
    (0, ValueError, r"test_size == 0, must be >= 1\."),
    (-3, ValueError, r"test_size == -3, must be >= 1\."),
    (0.0, ValueError, r"test_size == 0.0, must be > 0\."),
    (1.0, ValueError, r"test_size == 1.0, must be < 1\."),
    (-0.5, ValueError, r"test_size == -0.5, must be > 0\."),
    (float("nan"), ValueError, r"test_size == nan, must be finite\."),
])
def test_bad_test_size(func, bad, exc, match):
    with pytest.raises(exc, match=match):
        func(make_data(), bad)


@pytest.mark.parametrize("func", [random_split, temporal_split])
def test_global_test_size_bounds(func):
    data = make_data()
    n = len(data)
    with pytest.raises(ValueError, match=rf"test_size == {n}, must be <= {n - 1}\."):
        func(data, n)
    with pytest.raises(ValueError, match=r"test would be empty: test_size == 0.001 of "
                                         rf"{n} interactions rounds to 0\."):
        func(data, 0.001)
    with pytest.raises(ValueError, match=rf"train would be empty: test_size == 0.999 of "
                                         rf"{n} interactions rounds to {n}\."):
        func(data, 0.999)


def test_single_interaction_cannot_be_split():
    data = Interactions.from_arrays([1], [1], None, [0])
    for func in (random_split, temporal_split, kfold):
        with pytest.raises(ValueError, match=r"data has 1 interaction, need >= 2 to split\."):
            func(data)


@pytest.mark.parametrize("func", [user_split,
                                  lambda d, t, **kw: temporal_split(d, t, per_user=True, **kw)])
def test_per_user_empty_results(func):
    data = make_data()
    with pytest.raises(ValueError, match=r"test would be empty: no user holds out an "
                                         r"interaction with test_size == 2 and "
                                         r"min_train == 100"):
        func(data, 2, min_train=100)
    tiny = Interactions.from_arrays(["a", "b"], [1, 2], None, [0, 1])
    with pytest.raises(ValueError, match=r"test would be empty: no user holds out"):
        func(tiny, 0.4)  # round(0.4 * 1) == 0 for both users
    with pytest.raises(ValueError, match=r"train would be empty: every entry went to test "
                                         r"\(min_train == 0\)\."):
        func(tiny, 1, min_train=0)


@pytest.mark.parametrize("func", [user_split,
                                  lambda d, **kw: temporal_split(d, per_user=True, **kw),
                                  leave_one_out])
def test_bad_min_train(func):
    data = make_data()
    with pytest.raises(ValueError, match=r"min_train == -1, must be >= 0\."):
        func(data, min_train=-1)
    with pytest.raises(TypeError, match="min_train must be an int, got float"):
        func(data, min_train=1.0)
    with pytest.raises(TypeError, match="min_train must be an int, got bool"):
        func(data, min_train=True)


@pytest.mark.parametrize("name", SEEDED)
def test_bad_seed(name):
    data = make_data()
    with pytest.raises(ValueError, match=r"seed == -1, must be >= 0\."):
        ALL_SPLITS[name](data, seed=-1)
    with pytest.raises(TypeError, match="seed must be an int, None or a numpy Generator"):
        ALL_SPLITS[name](data, seed="1")


def test_temporal_needs_timestamps():
    data = make_data(timestamps=False)
    with pytest.raises(ValueError, match="temporal_split needs timestamps, but data has none"):
        temporal_split(data)
    with pytest.raises(ValueError, match=r'leave_one_out\(by="time"\) needs timestamps'):
        leave_one_out(data)
    check_partition(data, leave_one_out(data, by="random"))


def test_temporal_argument_conflicts():
    data = make_data()
    with pytest.raises(ValueError, match="at is only supported with per_user=False"):
        temporal_split(data, per_user=True, at=3)
    with pytest.raises(ValueError, match="give test_size or at, not both"):
        temporal_split(data, 0.2, at=3)
    with pytest.raises(ValueError, match="min_train only applies with per_user=True"):
        temporal_split(data, 0.2, min_train=1)
    with pytest.raises(TypeError, match="per_user must be a bool, got str"):
        temporal_split(data, per_user="yes")
    with pytest.raises(TypeError, match="per_user must be a bool, got int"):
        temporal_split(data, per_user=1)


@pytest.mark.parametrize("at, exc, match", [
    ("2020-01-01", TypeError, "at must be a number or a datetime, got str"),
    (True, TypeError, "at must be a number or a datetime, got bool"),
    (float("nan"), ValueError, r"at == nan, must be finite\."),
    (float("inf"), ValueError, r"at == inf, must be finite\."),
    (np.datetime64("NaT"), ValueError, r"at == NaT, must be a valid time\."),
    (0, ValueError, r"train would be empty: every timestamp is >= at == 0 \(the earliest "
                    r"is 0\)\."),
    (12, ValueError, r"test would be empty: no timestamp is >= at == 12 \(the latest is "
                     r"11\)\."),
])
def test_bad_at(at, exc, match):
    data = make_data()
    assert data.timestamps.min() == 0 and data.timestamps.max() == 11
    with pytest.raises(exc, match=match):
        temporal_split(data, at=at)


@pytest.mark.parametrize("k, exc, match", [
    (1, ValueError, r"k == 1, must be >= 2\."),
    (0, ValueError, r"k == 0, must be >= 2\."),
    (2.0, TypeError, "k must be an int, got float"),
    ("5", TypeError, "k must be an int, got str"),
])
def test_bad_k(k, exc, match):
    with pytest.raises(exc, match=match):
        kfold(make_data(), k)


def test_k_larger_than_nnz():
    data = make_data()
    n = len(data)
    with pytest.raises(ValueError, match=rf"k == {n + 1}, must be <= {n}\."):
        kfold(data, n + 1)


def test_bad_by():
    data = make_data()
    with pytest.raises(ValueError, match=r"by == 'latest', must be one of \('time', "
                                         r"'random'\)\."):
        leave_one_out(data, by="latest")
    with pytest.raises(TypeError, match="by must be a str, got int"):
        leave_one_out(data, by=1)


def test_leave_one_out_empty_results():
    data = make_data()
    with pytest.raises(ValueError, match=r"test would be empty: no user has more than "
                                         r"min_train == 100 interactions \(the most is 15\)"):
        leave_one_out(data, min_train=100)
    singles = Interactions.from_arrays(["a", "b"], [1, 2], None, [0, 1])
    with pytest.raises(ValueError, match=r"train would be empty: every user has exactly one "
                                         r"interaction and min_train == 0\."):
        leave_one_out(singles, min_train=0)
    with pytest.raises(ValueError, match="test would be empty: no user has more than "
                                         "min_train == 1"):
        leave_one_out(singles)


# ------------------------------------------------------------------ properties
@st.composite
def small_data(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    n_users = draw(st.integers(1, 8))
    n_items = draw(st.integers(2 if n_users == 1 else 1, 8))  # room for 2 entries
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < draw(st.floats(0.1, 1.0))
    if mask.sum() < 2:
        mask.flat[:2] = True
    users, items = np.nonzero(mask)
    stamps = rng.integers(0, draw(st.integers(1, 20)), len(users))
    return Interactions.from_arrays(users, items, rng.integers(1, 6, len(users)), stamps)


test_sizes = st.one_of(st.floats(0.01, 0.99), st.integers(1, 30))


@settings(max_examples=60, deadline=None)
@given(data=small_data(), test_size=test_sizes, seed=st.integers(0, 1000))
def test_property_global_splits(data, test_size, seed):
    n = len(data)
    n_test = test_size if isinstance(test_size, int) else round(test_size * n)
    for func, kwargs in ((random_split, {"seed": seed}), (temporal_split, {})):
        if isinstance(test_size, int) and test_size > n - 1:
            with pytest.raises(ValueError, match="must be <="):
                func(data, test_size, **kwargs)
        elif n_test == 0:
            with pytest.raises(ValueError, match="test would be empty"):
                func(data, test_size, **kwargs)
        elif n_test == n:
            with pytest.raises(ValueError, match="train would be empty"):
                func(data, test_size, **kwargs)
        else:
            split = func(data, test_size, **kwargs)
            check_partition(data, split)
            assert len(split.test) == n_test
            if func is temporal_split:
                keys = latest_key(entry_table(data))
                assert (min(keys[p] for p in split.test_positions)
                        > max(keys[p] for p in split.train_positions))


@settings(max_examples=60, deadline=None)
@given(data=small_data(), test_size=test_sizes, seed=st.integers(0, 1000),
       min_train=st.integers(0, 3))
def test_property_per_user_splits(data, test_size, seed, min_train):
    counts = per_user_counts(data, np.arange(len(data)))
    expected = {u: expected_per_user(n, test_size, min_train) for u, n in counts.items()}
    total = sum(expected.values())
    calls = [lambda: user_split(data, test_size, seed=seed, min_train=min_train),
             lambda: temporal_split(data, test_size, per_user=True, min_train=min_train)]
    for call in calls:
        if total == 0:
            with pytest.raises(ValueError, match="test would be empty"):
                call()
        elif total == len(data):
            with pytest.raises(ValueError, match="train would be empty"):
                call()
        else:
            split = call()
            check_partition(data, split)
            got = per_user_counts(data, split.test_positions)
            assert {u: got.get(u, 0) for u in counts} == expected


@settings(max_examples=40, deadline=None)
@given(data=small_data(), k=st.integers(2, 6), seed=st.integers(0, 1000),
       by=st.sampled_from(["time", "random"]), min_train=st.integers(0, 2))
def test_property_kfold_and_leave_one_out(data, k, seed, by, min_train):
    if k <= len(data):
        folds = kfold(data, k, seed=seed)
        covered = defaultdict(int)
        for fold in folds:
            check_partition(data, fold)
            for p in fold.test_positions:
                covered[int(p)] += 1
        assert covered == {p: 1 for p in range(len(data))}
    counts = per_user_counts(data, np.arange(len(data)))
    n_test = sum(n > min_train for n in counts.values())
    if n_test == 0:
        with pytest.raises(ValueError, match="test would be empty"):
            leave_one_out(data, by=by, seed=seed, min_train=min_train)
    elif n_test == len(data):
        with pytest.raises(ValueError, match="train would be empty"):
            leave_one_out(data, by=by, seed=seed, min_train=min_train)
    else:
        split = leave_one_out(data, by=by, seed=seed, min_train=min_train)
        check_partition(data, split)
        assert len(split.test) == n_test
