"""Surprise's inner ids and orders, and the input order that carries them."""

import numpy as np
import pandas as pd

from fastcf._surprise import surprise_order, surprise_rng
from fastcf.data import Interactions
from fastcf.split import random_split


def _frame():
    # users b, a and items x, y first seen in this order
    return pd.DataFrame({"user": ["b", "a", "b", "a"], "item": ["x", "y", "y", "x"],
                         "rating": [1.0, 2.0, 3.0, 4.0]})


def test_input_order_is_the_input_row_of_each_entry():
    data = Interactions.from_frame(_frame(), rating="rating")
    # by_user order: (a, x), (a, y), (b, x), (b, y)
    np.testing.assert_array_equal(data.input_order, [3, 1, 0, 2])
    np.testing.assert_array_equal(data.by_user.data, [4.0, 2.0, 1.0, 3.0])


def test_sorted_input_keeps_no_array_and_reports_positions():
    frame = _frame().sort_values(["user", "item"])
    data = Interactions.from_frame(frame, rating="rating")
    np.testing.assert_array_equal(data.input_order, np.arange(4))


def test_a_combined_duplicate_counts_at_its_last_row():
    frame = pd.concat([_frame(), pd.DataFrame({"user": ["b"], "item": ["x"], "rating": [5.0]})],
                      ignore_index=True)
    data = Interactions.from_frame(frame, rating="rating", duplicates="mean")
    np.testing.assert_array_equal(data.input_order, [3, 1, 4, 2])


def test_surprise_order_by_hand():
    order = surprise_order(Interactions.from_frame(_frame(), rating="rating"))
    np.testing.assert_array_equal(order.user_inner, [1, 0])  # a, b
    np.testing.assert_array_equal(order.item_inner, [0, 1])  # x, y
    np.testing.assert_array_equal(order.inner_users, [1, 0])
    # all_ratings: b's ratings in load order (rows 0, 2), then a's (rows 1, 3)
    np.testing.assert_array_equal(order.all_ratings, [2, 3, 1, 0])
    np.testing.assert_array_equal(order.user_entries, [1, 0, 2, 3])
    np.testing.assert_array_equal(order.item_entries, [2, 0, 1, 3])


def test_a_split_keeps_the_input_order_of_its_entries():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"user": rng.integers(0, 20, 400), "item": rng.integers(0, 30, 400),
                          "rating": rng.integers(1, 6, 400).astype(float)})
    frame = frame.drop_duplicates(["user", "item"]).reset_index(drop=True)
    data = Interactions.from_frame(frame, rating="rating")
    train = random_split(data, test_size=0.3, seed=1).train
    # each train entry's input row, found by its (user, item)
    rows = train.to_frame().merge(frame.reset_index(), on=["user", "item", "rating"])["index"]
    assert len(rows) == train.nnz
    np.testing.assert_array_equal(np.argsort(train.input_order), np.argsort(rows.to_numpy()))


def test_surprise_rng_is_numpy_random_state():
    np.testing.assert_array_equal(surprise_rng(4).normal(size=3),
                                  np.random.RandomState(4).normal(size=3))
    assert surprise_rng(None) is np.random.mtrand._rand
