"""Small Surprise-style data for the compat tests: string ids in file order, half stars."""

import numpy as np
import pandas as pd
import pytest

from fastcf.compat.surprise import Dataset, Reader

#: (user, item, rating) in load order; inner ids: u2 0, u1 1, u3 2 and i1 0, i3 1, i2 2.
TINY = [("u2", "i1", 4.0), ("u1", "i1", 3.0), ("u2", "i3", 5.0), ("u3", "i2", 1.0),
        ("u1", "i2", 2.5)]


@pytest.fixture(scope="session")
def tiny_data():
    return Dataset.load_from_df(pd.DataFrame(TINY, columns=["u", "i", "r"]), Reader())


@pytest.fixture(scope="session")
def tiny_trainset(tiny_data):
    return tiny_data.build_full_trainset()


@pytest.fixture(scope="session")
def ratings_frame():
    """~600 half-star ratings of 40 users x 30 items, ids unsorted strings, two held out."""
    rng = np.random.default_rng(7)
    n_users, n_items = 40, 30
    taste = rng.normal(size=(n_users, 2)) @ rng.normal(size=(2, n_items))
    cells = rng.permutation(n_users * n_items)[:600]
    users, items = cells // n_items, cells % n_items
    ratings = np.clip(np.round((3 + taste[users, items]) * 2) / 2, 1, 5)
    return pd.DataFrame({"user": [f"user{(u * 7) % n_users}" for u in users],
                         "item": [f"item{(i * 11) % n_items}" for i in items],
                         "rating": ratings})


@pytest.fixture(scope="session")
def split(ratings_frame):
    """(trainset, testset): the first 500 ratings train; the rest plus unknown ids test."""
    train = Dataset.load_from_df(ratings_frame.iloc[:500], Reader(rating_scale=(1, 5)))
    trainset = train.build_full_trainset()
    testset = [tuple(row) for row in ratings_frame.iloc[500:].itertuples(index=False)]
    testset += [("nobody", "item3", 3.0), ("user3", "nothing", 4.0), ("nobody", "nothing", 2.0)]
    return trainset, testset
