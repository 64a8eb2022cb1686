"""Memory estimates of the trained models: a fit whose factor matrices (MF),
embedding tables, dense layers or epoch examples (MLPRecommender, NeuMF) cannot
fit in memory is refused, naming the parameter and the estimate, before
anything is allocated."""

import tracemalloc

import numpy as np
import pytest

import fastcf
from fastcf import Interactions, MatrixFactorization, MLPRecommender, NeuMF

BYTES = r"[\d,.]+ [KMGTP]iB"


@pytest.fixture(scope="module")
def ratings():
    return fastcf.make_ratings(150, 100, 3_000, seed=5)


@pytest.mark.parametrize("cls, params, match", [
    (MatrixFactorization, {"factors": 10**12},
     rf"factors == 1000000000000: the factor matrices would need {BYTES}, more than the "
     rf"{BYTES} of memory here; lower factors\."),
    (MLPRecommender, {"embedding_dim": 10**12},
     rf"embedding_dim == 1000000000000: the embedding tables would need {BYTES}, more than "
     rf"the {BYTES} of memory here; lower embedding_dim\."),
    (MLPRecommender, {"hidden": (10**12,)},
     rf"hidden == \(1000000000000,\): the dense layers would need {BYTES}, more than"),
    (MLPRecommender, {"hidden": (8, 10**12)}, r"hidden == \(8, 1000000000000\): the dense"),
    (NeuMF, {"factors": 10**12}, r"factors == 1000000000000: the embedding tables would need"),
    (NeuMF, {"embedding_dim": 10**12}, r"embedding_dim == 1000000000000: the embedding tables"),
    (NeuMF, {"hidden": (10**12, 8)}, r"hidden == \(1000000000000, 8\): the dense layers"),
    (NeuMF, {"n_negatives": 10**12},
     rf"n_negatives == 1000000000000: an epoch's training examples would need {BYTES}, more "
     rf"than the {BYTES} of memory here; lower n_negatives\."),
])
def test_huge_sizes_are_refused_before_anything_is_allocated(ratings, cls, params, match):
    model = cls(**params)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match):
            model.fit(ratings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**24 and not hasattr(model, "item_bias_" if cls is MatrixFactorization
                                        else "dense_params_")


def test_a_working_set_just_past_the_limit_is_refused(ratings, monkeypatch):
    from fastcf import _config

    model = MLPRecommender(embedding_dim=4, hidden=(8,), epochs=1)
    tables = 4 * 4 * 4 * (ratings.n_users + ratings.n_items)  # 4 copies, float32
    monkeypatch.setattr(_config, "MEMORY_LIMIT", tables - 1)
    with pytest.raises(ValueError, match="embedding_dim == 4: the embedding tables"):
        model.fit(ratings)
    monkeypatch.setattr(_config, "MEMORY_LIMIT", tables)
    model.fit(ratings)


def test_partial_fit_refuses_factor_matrices_past_the_limit(ratings, monkeypatch):
    from fastcf import _config

    model = MatrixFactorization(factors=8, epochs=1, dtype=np.float64).fit(ratings)
    before = (model.user_factors_.copy(), model.n_users_, model.partial_fits_)
    # room for the fitted model (it just fit) but not for the new users
    need = 8 * ((model.n_users_ + model.n_items_) * 8 + 8 * model.n_users_)
    monkeypatch.setattr(_config, "MEMORY_LIMIT", need)
    fresh = Interactions.from_frame(ratings.to_frame().assign(user=lambda f: f["user"] + 10**6),
                                    rating="rating")
    with pytest.raises(ValueError, match="factors == 8: the factor matrices would need"):
        model.partial_fit(fresh)
    assert np.array_equal(model.user_factors_, before[0])
    assert (model.n_users_, model.partial_fits_) == before[1:]
