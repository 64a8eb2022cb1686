"""fastcf.ALS beyond the contract: fold-in, partial_fit, dtype, threads, seeds, bad input."""

import numpy as np
import pandas as pd
import pytest

import fastcf
from fastcf import ALS, Interactions
from fastcf.kernels.als import gram, run_least_squares


@pytest.fixture(scope="module")
def clicks(frame):
    """The shared data without its ratings (implicit)."""
    return Interactions.from_frame(frame[["user", "item"]])


@pytest.fixture(scope="module")
def model(clicks):
    return ALS(factors=5, iterations=4, seed=0).fit(clicks)


def test_fold_in_is_the_exact_half_step(clicks, model):
    by_user = clicks.by_user
    want = np.zeros_like(model.user_factors_)
    item_factors = model.item_factors_
    run_least_squares(by_user.indptr, by_user.indices, by_user.data, item_factors,
                      gram(item_factors, model.reg), want, model.alpha, "cholesky", 1,
                      backend="reference")
    users = [2, 7]
    ratings = [{item: 1.0 for item in clicks.item_ids[by_user.indices[
        by_user.indptr[u]:by_user.indptr[u + 1]]]} for u in users]
    items = [clicks.item_ids, clicks.item_ids]
    got = model.predict_new(ratings, items)
    for u, scores in zip(users, got):
        np.testing.assert_allclose(scores, item_factors.astype(np.float64) @ want[u],
                                   rtol=1e-4, atol=1e-6)
    top, scores = model.recommend_new(ratings[0], n=3)
    row = item_factors @ want[users[0]]
    row[by_user.indices[by_user.indptr[2]:by_user.indptr[3]]] = -np.inf
    np.testing.assert_allclose(scores[0], np.sort(row)[::-1][:3], rtol=1e-4)


def test_fold_in_bad_input(model, clicks):
    with pytest.raises(ValueError, match="ratings contain -1.0, must be >= 0"):
        model.recommend_new({clicks.item_ids[0]: -1.0})
    with pytest.raises(ValueError, match="unknown"):
        model.recommend_new({"nope": 1.0})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver", ["cg", "cholesky"])
def test_dtype_threads_and_seed(interactions, dtype, solver):
    fits = [ALS(factors=4, iterations=3, solver=solver, dtype=dtype, seed=3,
                n_threads=n).fit(interactions) for n in (1, 2, 2)]
    for fit in fits:
        assert fit.user_factors_.dtype == fit.item_factors_.dtype == dtype
        assert fit.item_popularity_.dtype == dtype
    assert np.array_equal(fits[0].user_factors_, fits[1].user_factors_)
    assert np.array_equal(fits[1].item_factors_, fits[2].item_factors_)
    other = ALS(factors=4, iterations=3, solver=solver, dtype=dtype, seed=4).fit(interactions)
    assert not np.array_equal(other.user_factors_, fits[0].user_factors_)


@pytest.mark.parametrize("backend", ["numba", "cython", "reference"])
def test_backends_agree(clicks, backend):
    want = ALS(factors=4, iterations=2, seed=1, dtype=np.float64,
               backend="reference").fit(clicks)
    got = ALS(factors=4, iterations=2, seed=1, dtype=np.float64, backend=backend).fit(clicks)
    np.testing.assert_allclose(got.item_factors_, want.item_factors_, rtol=1e-8, atol=1e-10)


def test_loss_history_and_callbacks(clicks):
    seen = []
    fit = ALS(factors=4, iterations=5, seed=0).fit(clicks, compute_loss=True,
                                                   callbacks=[seen.append])
    losses = [entry["loss"] for entry in fit.history_]
    assert len(losses) == 5 and all(b < a for a, b in zip(losses, losses[1:]))
    assert [entry["epoch"] for entry in seen] == list(range(5))
    quiet = ALS(factors=4, iterations=2, seed=0).fit(clicks)
    assert "loss" not in quiet.history_[0]
    stopped = ALS(factors=4, iterations=5, seed=0).fit(clicks, callbacks=[lambda e: True])
    assert len(stopped.history_) == 1


def test_ratings_weigh_the_confidence(interactions, clicks):
    weighted = ALS(factors=4, iterations=2, seed=0).fit(interactions)
    plain = ALS(factors=4, iterations=2, seed=0).fit(clicks)
    assert not np.allclose(weighted.item_factors_, plain.item_factors_)


def test_predict_is_the_dot_product_and_unknown_users_get_popularity(clicks, model):
    users, items = clicks.user_ids[[0, 3]], clicks.item_ids[[1, 4]]
    want = np.einsum("ij,ij->i", model.user_factors_[[0, 3]].astype(np.float64),
                     model.item_factors_[[1, 4]].astype(np.float64))
    np.testing.assert_allclose(model.predict(users, items), want, rtol=1e-6)
    counts = np.diff(clicks.by_item.indptr)
    assert model.predict(["ghost"], clicks.item_ids[[2]])[0] == counts[2]
    assert model.predict(clicks.user_ids[[0]], [-999])[0] == 0.0
    top, _ = model.recommend(["ghost"], n=3)
    assert counts[model.item_index(top[0])].tolist() == sorted(counts, reverse=True)[:3]
    assert not ALS().predicts_ratings and ALS(implicit=False).predicts_ratings


def test_similar_items_are_cosines_of_the_item_factors(clicks, model):
    ids, scores = model.similar_items(clicks.item_ids[:2], n=3)
    unit = model.item_factors_ / np.linalg.norm(model.item_factors_, axis=1)[:, None]
    cosines = unit[0] @ unit.T
    cosines[0] = -np.inf
    np.testing.assert_allclose(scores[0], np.sort(cosines)[::-1][:3], rtol=1e-5)
    assert clicks.item_ids[0] not in ids[0]


def test_partial_fit_grows_ids_and_solves_exactly(clicks):
    model = ALS(factors=4, iterations=3, seed=0, solver="cholesky").fit(clicks)
    old_items = model.item_factors_.copy()
    new = Interactions.from_frame(pd.DataFrame({
        "user": ["new1", "new1", "new2", clicks.user_ids[0]],
        "item": [clicks.item_ids[0], 12345, 12345, clicks.item_ids[1]]}))
    assert model.partial_fit(new, iterations=2) is model
    assert model.n_users_ == clicks.n_users + 2 and model.n_items_ == clicks.n_items + 1
    np.testing.assert_array_equal(model.item_factors_[:clicks.n_items], old_items)
    assert np.abs(model.item_factors_[-1]).sum() > 0
    # a re-solved user holds the exact half-step of its rows in `new`
    rows = new.by_user
    want = np.zeros((new.n_users, 4), np.float32)
    columns = model.item_index(new.item_ids)
    indices = columns[rows.indices]
    order = np.lexsort((indices, np.repeat(np.arange(new.n_users), np.diff(rows.indptr))))
    run_least_squares(rows.indptr.astype(np.int64), indices[order], rows.data[order],
                      model.item_factors_, gram(model.item_factors_, model.reg), want,
                      model.alpha, "cholesky", 1, backend="reference")
    np.testing.assert_allclose(model.user_factors_[model.user_index(new.user_ids)], want,
                               rtol=1e-4, atol=1e-6)
    assert model.item_popularity_[-1] == 2
    items, scores = model.recommend(["new1"], n=model.n_items_)
    listed = set(items[0][~np.isnan(scores[0])].tolist())
    assert len(listed) == model.n_items_ - 2
    assert 12345 not in listed and clicks.item_ids[0] not in listed
    with pytest.raises(TypeError, match="partial_fit expects an Interactions"):
        model.partial_fit(new.to_frame())
    with pytest.raises(ValueError, match="iterations == 0"):
        model.partial_fit(new, iterations=0)


def test_bad_input(clicks, frame):
    with pytest.raises(ValueError, match="alpha == 0.0, must be > 0.0"):
        ALS(alpha=0.0).fit(clicks)
    with pytest.raises(ValueError, match="reg == -0.1, must be >= 0.0"):
        ALS(reg=-0.1).fit(clicks)
    with pytest.raises(ValueError, match="factors == 0, must be >= 1"):
        ALS(factors=0).fit(clicks)
    with pytest.raises(ValueError, match="cg_steps == 0, must be >= 1"):
        ALS(cg_steps=0).fit(clicks)
    with pytest.raises(ValueError, match="solver == 'lu', must be one of"):
        ALS(solver="lu").fit(clicks)
    with pytest.raises(TypeError, match="dtype == int64, must be float32 or float64"):
        ALS(dtype=np.int64).fit(clicks)
    with pytest.raises(TypeError, match="compute_loss must be a bool"):
        ALS().fit(clicks, compute_loss=1)
    negative = frame.assign(rating=frame["rating"] - 3.0)
    with pytest.raises(ValueError, match="data contain the value -2.0, must be >= 0"):
        ALS().fit(Interactions.from_frame(negative, rating="rating"))
    with pytest.raises(ValueError, match="no interactions"):  # Interactions are never empty
        ALS().fit(Interactions.from_arrays([], []))


def test_memory_check(clicks, monkeypatch):
    monkeypatch.setattr(fastcf._config, "MEMORY_LIMIT", 1000)
    with pytest.raises(ValueError, match="factors == 100: the factor matrices would need"):
        ALS().fit(clicks)
