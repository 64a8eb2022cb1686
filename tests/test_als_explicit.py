"""fastcf.ALS(implicit=False): explicit ALS-WR against a NumPy reference, threads, blocks,
accuracy, fold-in, partial_fit, save / load, bad input."""

import numpy as np
import pandas as pd
import pytest

import fastcf
from fastcf import ALS, Interactions
from fastcf.als import _CSR
from fastcf.split import random_split


def reference_fit(data, factors, reg, iterations, seed, dtype):
    """Explicit ALS-WR in plain NumPy: ``np.linalg.solve`` per row in float64, the
    factors rounded to ``dtype`` after every half-step (as the model stores them), the
    model's initial draws; rows without ratings get 0."""
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((data.n_users, factors)) / np.sqrt(factors)).astype(dtype)
    Y = (rng.standard_normal((data.n_items, factors)) / np.sqrt(factors)).astype(dtype)
    mu = float(np.mean(data.by_user.data, dtype=np.float64))

    def half_step(csr, other, out):
        for r in range(csr.shape[0]):
            cols = csr.indices[csr.indptr[r]:csr.indptr[r + 1]]
            if not len(cols):
                out[r] = 0.0
                continue
            F = other[cols].astype(np.float64)
            target = csr.data[csr.indptr[r]:csr.indptr[r + 1]] - mu
            A = F.T @ F + reg * len(cols) * np.eye(factors)
            out[r] = np.linalg.solve(A, F.T @ target)

    for _ in range(iterations):
        half_step(data.by_user, Y, X)
        half_step(data.by_item, X, Y)
    return X, Y, mu


@pytest.fixture(scope="module")
def split():
    """make_ratings(400 users, 200 items, 12000 ratings), 20 % held out (seed 0)."""
    return random_split(fastcf.make_ratings(n_users=400, n_items=200, n_ratings=12000, seed=0),
                        0.2, seed=0)


@pytest.fixture(scope="module")
def model(interactions):
    return ALS(factors=4, reg=0.1, iterations=4, implicit=False, seed=0).fit(interactions)


@pytest.mark.parametrize("backend", ["numba", "cython", "reference"])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 2e-4)])
def test_matches_the_numpy_reference(with_empty_rows, backend, dtype, rtol):
    fit = ALS(factors=3, reg=0.1, iterations=3, implicit=False, seed=2, dtype=dtype,
              backend=backend).fit(with_empty_rows)
    X, Y, mu = reference_fit(with_empty_rows, 3, 0.1, 3, 2, dtype)
    assert fit.user_factors_.dtype == fit.item_factors_.dtype == dtype
    assert fit.global_mean_ == mu
    np.testing.assert_allclose(fit.user_factors_, X, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(fit.item_factors_, Y, rtol=rtol, atol=rtol)
    assert not fit.user_factors_[4].any() and not fit.item_factors_[7].any()  # empty rows


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_and_two_threads_and_any_block_split_give_the_same_bits(split, backend, dtype):
    train = split.train
    fits = [ALS(factors=6, reg=0.1, iterations=2, implicit=False, seed=1, dtype=dtype,
                backend=backend, n_threads=n).fit(train) for n in (1, 2)]
    assert np.array_equal(fits[0].user_factors_, fits[1].user_factors_)
    assert np.array_equal(fits[0].item_factors_, fits[1].item_factors_)
    model = fits[0]
    csr = model._rows(train.by_user)
    whole = np.zeros_like(model.user_factors_)
    model._solve_rows(csr, model.item_factors_, model._shared(model.item_factors_), whole,
                      model.solver, 2)
    for n_blocks in (2, 3, 7):
        points = model._split_points(csr.indptr, n_blocks)
        assert points[0] == 0 and points[-1] == train.n_users and len(points) == n_blocks + 1
        for threads in (1, 2):
            blocks = np.zeros_like(whole)
            for lo, hi in zip(points[:-1], points[1:]):
                start, stop = csr.indptr[lo], csr.indptr[hi]
                part = _CSR(csr.indptr[lo:hi + 1] - start, csr.indices[start:stop].copy(),
                            csr.data[start:stop].copy())
                solved = np.zeros((hi - lo, model.factors), dtype)
                model._solve_rows(part, model.item_factors_, None, solved, model.solver,
                                  threads)
                blocks[lo:hi] = solved
            assert np.array_equal(blocks, whole), (n_blocks, threads)


def test_rmse_beats_the_global_mean_and_matrix_factorization(split):
    """On this split (measured): global mean 1.120, MatrixFactorization defaults 0.940,
    explicit ALS (10 factors, reg 0.1, 10 iterations) 0.854."""
    train, test = split.train, split.test
    frame = test.to_frame()
    users, items, truth = frame["user"], frame["item"], frame["rating"].to_numpy()

    def rmse(estimates):
        return float(np.sqrt(np.mean((estimates - truth) ** 2)))

    als = ALS(factors=10, reg=0.1, iterations=10, implicit=False, seed=0).fit(train)
    mf = fastcf.MatrixFactorization(seed=0).fit(train)
    assert rmse(als.predict(users, items)) < rmse(np.full(len(truth), train.global_mean)) - 0.2
    assert rmse(als.predict(users, items)) < rmse(mf.predict(users, items)) - 0.05


def test_loss_decreases(interactions):
    fit = ALS(factors=4, reg=0.1, iterations=5, implicit=False, seed=0).fit(
        interactions, compute_loss=True)
    losses = [entry["loss"] for entry in fit.history_]
    assert all(b <= a for a, b in zip(losses, losses[1:])) and losses[-1] < losses[0]


def test_predict_recommend_and_unknown_ids(interactions, model):
    mu, (low, high) = model.global_mean_, interactions.rating_range
    assert model.predicts_ratings
    users, items = interactions.user_ids[[0, 3, 5]], interactions.item_ids[[1, 4, 2]]
    u, i = model.user_index(users), model.item_index(items)
    raw = mu + np.einsum("ij,ij->i", model.user_factors_[u].astype(np.float64),
                         model.item_factors_[i].astype(np.float64))
    np.testing.assert_allclose(model.predict(users, items), np.clip(raw, low, high), rtol=1e-6)
    assert model.predict(["ghost", users[0]], [items[0], -999]).tolist() == [mu, mu]
    top, scores = model.recommend(users[:1], n=3, exclude_seen=False)
    row = mu + model.user_factors_[u[0]].astype(np.float64) @ model.item_factors_.T.astype(
        np.float64)
    np.testing.assert_allclose(scores[0], np.sort(row)[::-1][:3], rtol=1e-5)
    _, ghost = model.recommend(["ghost"], n=2)
    np.testing.assert_allclose(ghost[0], [mu, mu], rtol=1e-6)


def test_fold_in_is_the_explicit_half_step(interactions, model):
    by_user = interactions.by_user
    csr = model._rows(by_user)
    want = np.zeros_like(model.user_factors_)
    model._solve_rows(csr, model.item_factors_, None, want, "cholesky", 1)
    users = [2, 7]
    ratings = [dict(zip(interactions.item_ids[by_user.indices[by_user.indptr[u]:
                                                              by_user.indptr[u + 1]]],
                        by_user.data[by_user.indptr[u]:by_user.indptr[u + 1]].tolist()))
               for u in users]
    got = model.predict_new(ratings, [interactions.item_ids] * 2)
    low, high = model.rating_range_
    for u, scores in zip(users, got):
        raw = model.global_mean_ + model.item_factors_.astype(np.float64) @ want[u]
        np.testing.assert_allclose(scores, np.clip(raw, low, high), rtol=1e-5)
    top, scores = model.recommend_new(ratings[0], n=3)
    row = model.global_mean_ + model.item_factors_.astype(np.float64) @ want[2]
    row[by_user.indices[by_user.indptr[2]:by_user.indptr[3]]] = -np.inf  # seen: excluded
    np.testing.assert_allclose(scores[0], np.sort(row)[::-1][:3], rtol=1e-5)
    assert model.predict_new({interactions.item_ids[0]: -3.0}, [interactions.item_ids[0]])[0] \
        >= low  # explicit ratings may be negative; estimates stay in the range


def test_partial_fit_solves_exactly_and_widens_the_range(interactions):
    model = ALS(factors=4, reg=0.1, iterations=3, implicit=False, seed=0).fit(interactions)
    old_items, mu = model.item_factors_.copy(), model.global_mean_
    new = Interactions.from_frame(pd.DataFrame({
        "user": ["new1", "new1", "new2", interactions.user_ids[0]],
        "item": [interactions.item_ids[0], 12345, 12345, interactions.item_ids[1]],
        "rating": [5.0, 1.0, 2.0, 9.0]}), rating="rating")
    assert model.partial_fit(new, iterations=2) is model
    assert model.n_users_ == interactions.n_users + 2
    np.testing.assert_array_equal(model.item_factors_[:interactions.n_items], old_items)
    assert model.global_mean_ == mu and model.rating_range_[1] == 9.0
    rows = _CSR(*[np.asarray(a) for a in (new.by_user.indptr, model.item_index(
        new.item_ids)[new.by_user.indices], new.by_user.data)])
    order = np.lexsort((rows.indices, np.repeat(np.arange(new.n_users),
                                                np.diff(rows.indptr))))
    rows = model._rows(_CSR(rows.indptr, rows.indices[order], rows.data[order]))
    want = np.zeros((new.n_users, 4), np.float32)
    model._solve_rows(rows, model.item_factors_, None, want, "cholesky", 1)
    np.testing.assert_array_equal(model.user_factors_[model.user_index(new.user_ids)], want)
    with pytest.raises(ValueError, match="needs explicit ratings"):
        model.partial_fit(Interactions.from_frame(new.to_frame()[["user", "item"]]))


def test_save_load_round_trip(interactions, model, tmp_path):
    model.save(tmp_path / "als.npz")
    loaded = fastcf.load(tmp_path / "als.npz")
    assert loaded.implicit is False and loaded.global_mean_ == model.global_mean_
    users, items = interactions.user_ids[:5], interactions.item_ids[:5]
    assert np.array_equal(loaded.predict(users, items), model.predict(users, items))
    assert np.array_equal(loaded.rating_range_, model.rating_range_)


def test_implicit_is_unchanged_by_the_explicit_mode(interactions):
    implicit = ALS(factors=4, iterations=2, seed=0).fit(interactions)
    explicit = ALS(factors=4, iterations=2, seed=0, implicit=False).fit(interactions)
    assert implicit.global_mean_ == 0.0 and not implicit.predicts_ratings
    assert not np.allclose(implicit.item_factors_, explicit.item_factors_)


def test_bad_input(interactions, frame):
    clicks = Interactions.from_frame(frame[["user", "item"]])
    with pytest.raises(ValueError, match=r"ALS\(implicit=False\) needs explicit ratings"):
        ALS(implicit=False).fit(clicks)
    with pytest.raises(TypeError, match="implicit must be a bool, got str"):
        ALS(implicit="no").fit(interactions)
    with pytest.raises(ValueError, match="reg == 0.0 with implicit=False, must be > 0"):
        ALS(reg=0.0, implicit=False).fit(interactions)
    negative = Interactions.from_frame(frame.assign(rating=frame["rating"] - 3.0),
                                       rating="rating")
    fit = ALS(factors=3, iterations=2, implicit=False, seed=0).fit(negative)
    assert fit.global_mean_ == pytest.approx(interactions.global_mean - 3.0)
