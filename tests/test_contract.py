"""The estimator contract every fastcf model passes (implicit's recommender_base_test idea).

A new model gets the whole suite by adding one line to ``MODELS``: a small, fast
configuration of it. ``test_every_model_is_in_the_contract`` fails until it does.
What a model does beyond the contract (its formulas, its references) is tested in
its own file.
"""

import numpy as np
import pandas as pd
import pytest

import fastcf
from fastcf import Interactions, NotFittedError, Recommender

#: name -> a factory of a small configuration (keyword arguments: more parameters);
#: "Class[mode]" names a second configuration of a class.
MODELS = {
    "ALS": lambda **kw: fastcf.ALS(factors=4, iterations=3, seed=0, **kw),
    "ALS[explicit]": lambda **kw: fastcf.ALS(factors=4, iterations=3, implicit=False, seed=0, **kw),
    "BPR": lambda **kw: fastcf.BPR(factors=4, iterations=3, schedule="blocked", blocks=3, seed=0,
                                   **kw),
    "BaselineOnly": lambda **kw: fastcf.BaselineOnly(epochs=3, **kw),
    "CoClustering": lambda **kw: fastcf.CoClustering(epochs=4, seed=0, **kw),
    "DPALS": lambda **kw: fastcf.DPALS(factors=4, iterations=3, rating_range=(1, 5), epsilon=5.0,
                                       seed=0, **kw),
    "DPMLPRecommender": lambda **kw: fastcf.DPMLPRecommender(
        embedding_dim=4, hidden=(8,), epochs=2, rating_range=(1, 5), sampling_rate=0.2, seed=0,
        **kw),
    "DPMatrixFactorization": lambda **kw: fastcf.DPMatrixFactorization(
        factors=4, epochs=3, rating_range=(1, 5), sampling_rate=0.5, seed=0, **kw),
    "EASE": lambda **kw: fastcf.EASE(reg=10.0, **kw),
    "HybridFactorization": lambda **kw: fastcf.HybridFactorization(factors=4, epochs=3,
                                                                   schedule="serial", **kw),
    "UserKNN": lambda **kw: fastcf.UserKNN(k=5, similarity="pearson", mode="means", **kw),
    "ItemKNN": lambda **kw: fastcf.ItemKNN(k=5, similarity="cosine", mode="baseline", **kw),
    "MatrixFactorization": lambda **kw: fastcf.MatrixFactorization(
        factors=4, epochs=3, schedule="blocked", blocks=3, **kw),
    "MLPRecommender": lambda **kw: fastcf.MLPRecommender(embedding_dim=4, hidden=(8,),
                                                         epochs=2, **kw),
    "NMF": lambda **kw: fastcf.NMF(factors=3, epochs=4, biased=True, **kw),
    "NeuMF": lambda **kw: fastcf.NeuMF(factors=3, embedding_dim=4, hidden=(8, 4), epochs=2,
                                       **kw),
    "NormalPredictor": lambda **kw: fastcf.NormalPredictor(**kw),
    "Popularity": lambda **kw: fastcf.Popularity(**kw),
    "SVDpp": lambda **kw: fastcf.SVDpp(factors=4, epochs=3, **kw),
    "SlopeOne": lambda **kw: fastcf.SlopeOne(**kw),
}
NAMES = sorted(MODELS)
#: Models whose fit runs multi-threaded LAPACK (OpenBLAS splits its blocked
#: factorisation by thread count, so the last bits of the fit depend on it):
#: their outputs for 1 and 2 threads are compared to this relative tolerance.
THREAD_DEPENDENT = {"EASE": 1e-5}


@pytest.fixture(scope="module")
def fitted(interactions):
    """Each model fitted once on the shared explicit data (NeuMF: every rating a positive)."""
    return {name: MODELS[name]().fit(interactions) for name in NAMES}


@pytest.fixture(scope="module")
def queries(interactions):
    """Known and unknown (user, item) pairs in external ids."""
    rng = np.random.default_rng(0)
    users = interactions.user_ids[rng.integers(0, interactions.n_users, 40)].astype(object)
    items = interactions.item_ids[rng.integers(0, interactions.n_items, 40)].astype(object)
    users[3], items[5] = "ghost", -999
    return users, items


def _same(a, b):
    """Bit-for-bit equality of predict / recommend outputs (NaN equal to NaN)."""
    if isinstance(a, tuple):
        return all(_same(x, y) for x, y in zip(a, b)) and len(a) == len(b)
    if isinstance(a, pd.DataFrame):
        return a.equals(b)
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def test_every_model_is_in_the_contract():
    public = {name for name in fastcf.__all__
              if isinstance(getattr(fastcf, name), type)
              and issubclass(getattr(fastcf, name), Recommender)
              and getattr(fastcf, name) is not Recommender}
    assert public == {name.partition("[")[0] for name in MODELS}, \
        "add the new model to MODELS (one line)"


# ------------------------------------------------------------------- parameters
@pytest.mark.parametrize("name", NAMES)
def test_params_round_trip_scikit_learn_style(name):
    model = MODELS[name]()
    params = model.get_params()
    assert type(model)(**params).get_params() == params
    assert model.set_params(**params) is model
    cls = name.partition("[")[0]
    assert repr(model).startswith(f"{cls}(")
    with pytest.raises(ValueError, match=f"'no_such_param' is not a parameter of {cls}"):
        model.set_params(no_such_param=1)


@pytest.mark.parametrize("name", NAMES)
def test_a_refused_parameter_change_leaves_no_trace(name):
    model = MODELS[name]()
    before = model.get_params()
    with pytest.raises(ValueError, match="backend == 'gpu'"):
        model.set_params(seed=1, backend="gpu") if "seed" in before else \
            model.set_params(backend="gpu")
    assert model.get_params() == before


# -------------------------------------------------------------------------- fit
@pytest.mark.parametrize("name", NAMES)
def test_unfitted_models_say_so(name):
    model = MODELS[name]()
    for call in (lambda: model.predict([1], [1]), lambda: model.recommend([1]),
                 lambda: model.save("never-written.npz")):
        with pytest.raises(NotFittedError, match="not fitted yet; call fit first"):
            call()


@pytest.mark.parametrize("name", NAMES)
def test_fit_takes_only_interactions_and_never_mutates_them(name, interactions):
    with pytest.raises(TypeError, match="fit expects an Interactions"):
        MODELS[name]().fit(interactions.to_frame())
    before = interactions.to_frame()
    model = MODELS[name]()
    assert model.fit(interactions) is model
    pd.testing.assert_frame_equal(interactions.to_frame(), before)


@pytest.mark.parametrize("name", NAMES)
def test_a_refused_fit_leaves_the_model_as_it_was(name, interactions, queries, monkeypatch):
    def refuse(self, data):
        self.half_fitted_ = True
        raise ValueError("refused by the test")

    model = MODELS[name]()
    fitted = MODELS[name]().fit(interactions)
    want = fitted.predict(*queries)
    monkeypatch.setattr(type(model), "_fit", refuse)
    for target in (model, fitted):
        with pytest.raises(ValueError, match="refused by the test"):
            target.fit(interactions)
        assert not hasattr(target, "half_fitted_")
    with pytest.raises(NotFittedError):
        model.predict(*queries)
    assert _same(fitted.predict(*queries), want)


@pytest.mark.parametrize("name", NAMES)
def test_a_seed_gives_the_same_model(name, fitted, interactions, queries):
    again = MODELS[name]().fit(interactions)
    assert _same(again.predict(*queries), fitted[name].predict(*queries))
    users = interactions.user_ids
    assert _same(again.recommend(users, n=4), fitted[name].recommend(users, n=4))


@pytest.mark.parametrize("name", NAMES)
def test_thread_count_does_not_change_the_model(name, interactions, queries):
    one = MODELS[name](n_threads=1).fit(interactions)
    two = MODELS[name](n_threads=2).fit(interactions)
    users = interactions.user_ids
    if name in THREAD_DEPENDENT:
        rtol = THREAD_DEPENDENT[name]
        np.testing.assert_allclose(one.predict(*queries), two.predict(*queries), rtol=rtol,
                                   atol=rtol)
        (items_1, scores_1), (items_2, scores_2) = one.recommend(users, n=4), \
            two.recommend(users, n=4)
        np.testing.assert_allclose(scores_1, scores_2, rtol=rtol, atol=rtol)
        assert np.mean(items_1 == items_2) > 0.99  # only near-ties may swap
        return
    assert _same(one.predict(*queries), two.predict(*queries))
    assert _same(one.recommend(users, n=4), two.recommend(users, n=4))


# ---------------------------------------------------------------------- predict
@pytest.mark.parametrize("name", NAMES)
def test_predict_shapes_dtypes_and_unknown_ids(name, fitted, queries):
    model = fitted[name]
    users, items = queries
    scores, unknown = model.predict(users, items, return_unknown=True)
    assert scores.dtype == np.float64 and scores.shape == (len(users),)
    assert np.isfinite(scores).all()
    assert unknown.users.tolist() == [u == "ghost" for u in users]
    assert unknown.items.tolist() == [i == -999 for i in items]
    assert _same(model.predict(users, items), scores)
    assert _same(model.predict(users[:1], items[:1]), scores[:1])  # no batch effects
    with pytest.raises(ValueError, match="1 unknown user ids"):
        model.predict(users, items, unknown="raise")
    with pytest.raises(ValueError, match="users has 40 entries but items has 39"):
        model.predict(users, items[:-1])
    with pytest.raises(ValueError, match="users must be 1-d"):
        model.predict(np.zeros((2, 2)), np.zeros((2, 2)))


# -------------------------------------------------------------------- recommend
@pytest.mark.parametrize("name", NAMES)
def test_recommend_lists(name, fitted, interactions):
    model = fitted[name]
    users = np.concatenate([interactions.user_ids, ["ghost"]])
    items, scores, unknown = model.recommend(users, n=6, return_unknown=True)
    assert items.shape == scores.shape == (len(users), 6) and scores.dtype == np.float64
    assert unknown.tolist() == [False] * interactions.n_users + [True]
    seen = interactions.to_frame().groupby("user")["item"].apply(set)
    for user, row_items, row_scores in zip(users, items, scores):
        valid = ~np.isnan(row_scores)
        assert valid[:valid.sum()].all(), "padding only at the end"
        assert np.all(np.diff(row_scores[valid]) <= 0), "best first"
        assert set(row_items[valid]) <= set(interactions.item_ids)
        assert len(set(row_items[valid])) == valid.sum()
        if user in seen.index:
            assert not set(row_items[valid]) & seen[user]
    assert _same(model.recommend(users, n=6), (items, scores))
    frame = model.recommend_frame(users, n=6)
    assert list(frame.columns) == ["user", "rank", "item", "score"]
    assert len(frame) == int((~np.isnan(scores)).sum())
    wide = model.recommend(users[:2], n=10 * interactions.n_items, exclude_seen=False)
    assert wide[0].shape == (2, interactions.n_items) and not np.isnan(wide[1]).any()
    with pytest.raises(ValueError, match="n == 0, must be >= 1"):
        model.recommend(users, n=0)


@pytest.mark.parametrize("name", NAMES)
def test_recommend_candidates_is_the_full_ranking_restricted(name, fitted, interactions):
    model = fitted[name]
    users = interactions.user_ids[:12]
    candidates = interactions.item_ids[::3]
    full_items, full_scores = model.recommend(users, n=interactions.n_items)
    items, scores = model.recommend(users, n=4, candidates=candidates)
    for r in range(len(users)):
        keep = np.isin(full_items[r], candidates) & ~np.isnan(full_scores[r])
        want_items, want_scores = full_items[r][keep][:4], full_scores[r][keep][:4]
        valid = ~np.isnan(scores[r])
        assert valid.sum() == len(want_items)
        np.testing.assert_array_equal(items[r][valid], want_items)
        np.testing.assert_allclose(scores[r][valid], want_scores, rtol=1e-12)
    with pytest.raises(ValueError, match="unknown candidate item"):
        model.recommend(users, n=2, candidates=[-999])


@pytest.mark.parametrize("name", NAMES)
def test_recommend_rerank_picks_from_the_top_m(name, fitted, interactions):
    from fastcf.rerank import DPP, MMR

    model = fitted[name]
    users = np.concatenate([interactions.user_ids[:10], ["ghost"]])
    plain = model.recommend(users, n=4, return_unknown=True)
    for same in (MMR(lambda_=1.0), DPP(theta=1.0)):
        assert _same(model.recommend(users, n=4, return_unknown=True, rerank=same), plain)
    top_items, top_scores = model.recommend(users, n=9)
    for reranker in (MMR(lambda_=0.2, candidates=9), DPP(theta=0.3, candidates=9)):
        items, scores = model.recommend(users, n=4, rerank=reranker)
        assert items.shape == scores.shape == (len(users), 4), reranker
        for row in range(len(users)):
            valid = ~np.isnan(scores[row])
            assert valid.sum() == min(4, (~np.isnan(top_scores[row])).sum())
            chosen = dict(zip(top_items[row][~np.isnan(top_scores[row])], top_scores[row]))
            assert set(items[row][valid]) <= set(chosen) and len(set(items[row][valid])) == \
                valid.sum()
            assert [chosen[i] for i in items[row][valid]] == list(scores[row][valid])


# ---------------------------------------------------------------- model files
@pytest.mark.parametrize("name", NAMES)
def test_save_load_round_trip_is_exact(name, fitted, interactions, queries, tmp_path):
    model = fitted[name]
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = fastcf.load(path)
    assert type(loaded) is type(model)
    want, got = model.get_params(), loaded.get_params()
    if "dtype" in want:
        assert np.dtype(got.pop("dtype")) == np.dtype(want.pop("dtype"))
    want = {k: list(v) if isinstance(v, tuple) else v for k, v in want.items()}
    got = {k: list(v) if isinstance(v, tuple) else v for k, v in got.items()}
    assert got == want
    assert _same(loaded.predict(*queries), model.predict(*queries))
    users = np.concatenate([interactions.user_ids, ["ghost"]])
    assert _same(loaded.recommend(users, n=5), model.recommend(users, n=5))
    candidates = interactions.item_ids[1::2]
    assert _same(loaded.recommend(users, n=3, candidates=candidates),
                 model.recommend(users, n=3, candidates=candidates))


@pytest.mark.parametrize("name", NAMES)
def test_a_model_file_builds_nothing_from_pickle(name, fitted, tmp_path):
    path = tmp_path / "model.npz"
    fitted[name].save(path)
    with np.load(path, allow_pickle=False) as npz:
        assert all(npz[key].dtype != object for key in npz.files)


@pytest.mark.parametrize("name", NAMES)
def test_data_without_ratings_is_fitted_or_refused_clearly(name, interactions, queries):
    implicit = Interactions.from_frame(interactions.to_frame()[["user", "item"]])
    try:
        model = MODELS[name]().fit(implicit)
    except ValueError as exc:
        assert "explicit ratings" in str(exc) and MODELS[name]().predicts_ratings
    else:
        assert np.isfinite(model.predict(*queries)).all()
