"""Re-ranking inside recommend / evaluate / the CLI: fastcf.rerank.MMR and DPP on models.

The kernels themselves (fastcf.rerank.mmr / dpp) are held to their references in
tests/kernels; here: the parameters, what "auto" picks for each kind of model,
the candidate plumbing, the trade-off table and the command line.
"""

import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import fastcf
from fastcf import Interactions
from fastcf.cli import main
from fastcf.evaluation import evaluate, rerank_tradeoff
from fastcf.rerank import DPP, MMR, VectorSimilarity, mmr
from fastcf.rerank import _rerankers as rr
from fastcf.split import user_split


@pytest.fixture(scope="module")
def implicit_split():
    """A small implicit data set split within users, with two clusters of items."""
    rng = np.random.default_rng(7)
    users, items = [], []
    for user in range(40):
        group = user % 2  # users of group g mostly take the items of block g
        chosen = rng.choice(12, size=6, replace=False) + 12 * group
        extra = rng.choice(24, size=2, replace=False)
        for item in np.unique(np.concatenate([chosen, extra])):
            users.append(f"u{user:02d}")
            items.append(int(item))
    data = Interactions.from_frame(pd.DataFrame({"user": users, "item": items}))
    return user_split(data, 0.25, seed=0)


@pytest.fixture(scope="module")
def models(interactions):
    """One fitted model of each kind that "auto" tells apart."""
    return {"mf": fastcf.MatrixFactorization(factors=4, epochs=3).fit(interactions),
            "nmf": fastcf.NMF(factors=3, epochs=3).fit(interactions),
            "itemknn": fastcf.ItemKNN(k=5).fit(interactions),
            "userknn": fastcf.UserKNN(k=5).fit(interactions),
            "popularity": fastcf.Popularity().fit(interactions)}


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize("make, error, message", [
    (lambda: MMR(lambda_=1.5), ValueError, r"lambda_ == 1.5, must be <= 1.0"),
    (lambda: MMR(lambda_=-0.1), ValueError, r"lambda_ == -0.1, must be >= 0.0"),
    (lambda: MMR(lambda_="high"), TypeError, "lambda_ must be a real number"),
    (lambda: MMR(candidates=0), ValueError, "candidates == 0, must be >= 1"),
    (lambda: MMR(candidates=2.5), TypeError, "candidates must be an int"),
    (lambda: MMR(similarity="jaccard"), ValueError, r"similarity == 'jaccard', must be one of"),
    (lambda: MMR(similarity=[[1.0]]), TypeError, "similarity must be one of"),
    (lambda: MMR(similarity=np.ones(3)), ValueError, r"similarity is 1-d, must be 2-d"),
    (lambda: MMR(similarity=np.eye(2, dtype=int)), TypeError,
     "similarity has dtype int64, must be float32 or float64"),
    (lambda: MMR(normalize="yes"), TypeError, "normalize must be a bool"),
    (lambda: DPP(theta=1.5), ValueError, r"theta == 1.5, must be <= 1.0"),
    (lambda: DPP(theta=-1), ValueError, r"theta == -1.0, must be >= 0.0"),
    (lambda: DPP(window=0), ValueError, "window == 0, must be >= 1"),
    (lambda: DPP(vectors="pca"), ValueError, r"vectors == 'pca', must be one of"),
    (lambda: DPP(vectors=np.ones(4)), ValueError, r"vectors is 1-d, must be 2-d \(n_items, d\)"),
])
def test_bad_parameters_are_refused_clearly(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_params_repr_and_set_params():
    reranker = MMR(lambda_=0.3, candidates=20)
    assert reranker.get_params() == {"lambda_": 0.3, "candidates": 20, "similarity": "auto",
                                     "normalize": True}
    assert repr(reranker) == "MMR(lambda_=0.3, candidates=20, similarity='auto', normalize=True)"
    changed = reranker.set_params(lambda_=0.9)
    assert changed.lambda_ == 0.9 and reranker.lambda_ == 0.3 and changed.candidates == 20
    assert "vectors=<ndarray>" in repr(DPP(vectors=np.ones((3, 2))))
    with pytest.raises(ValueError, match="theta == 2.0"):
        DPP().set_params(theta=2.0)
    assert MMR().pool_size(7) == 70 and MMR(candidates=9).pool_size(9) == 9


def test_bad_use_in_recommend(models, interactions):
    model, users = models["mf"], interactions.user_ids[:3]
    with pytest.raises(TypeError, match="rerank must be a fastcf.rerank.MMR or DPP, got str"):
        model.recommend(users, 3, rerank="mmr")
    with pytest.raises(ValueError, match="candidates == 4 is below n == 5"):
        model.recommend(users, 5, rerank=MMR(candidates=4))
    with pytest.raises(ValueError, match="n == 0, must be >= 1"):
        model.recommend(users, 0, rerank=MMR())
    n_items = interactions.n_items
    with pytest.raises(ValueError, match=rf"similarity has 3 rows but the model has {n_items}"):
        model.recommend(users, 3, rerank=MMR(similarity=np.eye(3)))
    with pytest.raises(ValueError, match=r"similarity.shape == \(20, 3\), must be square"):
        model.recommend(users, 3, rerank=MMR(similarity=np.ones((n_items, 3))))
    with pytest.raises(ValueError, match="similarity's vectors has 2 rows"):
        model.recommend(users, 3, rerank=MMR(similarity=VectorSimilarity(np.ones((2, 3)))))
    with pytest.raises(ValueError, match="vectors has 5 rows"):
        model.recommend(users, 3, rerank=DPP(vectors=np.ones((5, 3))))
    with pytest.raises(ValueError, match="Popularity has no item factors; use "
                                         "similarity='interactions'"):
        models["popularity"].recommend(users, 3, rerank=MMR(similarity="factors"))
    with pytest.raises(ValueError, match="use vectors='interactions'"):
        models["popularity"].recommend(users, 3, rerank=DPP(vectors="factors"))


def test_a_model_without_training_interactions_asks_for_the_similarity(interactions):
    model = fastcf.Popularity().fit(interactions)
    model.seen_indptr_ = np.zeros(model.n_users_ + 1, dtype=np.int64)
    model.seen_indices_ = np.zeros(0, dtype=np.int64)
    with pytest.raises(ValueError, match="keeps no training interactions .* similarity="):
        model.recommend(interactions.user_ids[:2], 3, rerank=MMR())


# ------------------------------------------------------------ what auto picks
@pytest.mark.parametrize("name, reranker, used", [
    ("mf", MMR(), "cosine of the item factors"),
    ("nmf", MMR(), "cosine of the item factors"),
    ("itemknn", MMR(), "the model's item-item similarity"),
    ("userknn", MMR(), "cosine of the items' columns in the training interactions (binary)"),
    ("popularity", MMR(), "cosine of the items' columns in the training interactions"),
    ("mf", DPP(), "cosine of the item factors"),
    ("itemknn", DPP(), "cosine of a truncated SVD (19 dimensions) of the items' columns"),
    ("popularity", DPP(), "cosine of a truncated SVD"),
    ("mf", MMR(similarity="interactions"), "cosine of the items' columns"),
    ("mf", MMR(similarity=np.eye(20)), "given matrix"),
    ("mf", MMR(similarity=sp.eye(20, format="csr")), "given matrix"),
    ("mf", MMR(similarity=VectorSimilarity(np.ones((20, 2)))), "given vectors"),
    ("mf", DPP(vectors=sp.random(20, 3, density=0.5, random_state=0)), "cosine of the given"),
])
def test_auto_similarity_by_model_kind(name, reranker, used, models, interactions):
    items, scores = models[name].recommend(interactions.user_ids, 4, rerank=reranker)
    assert reranker.similarity_used_.startswith(used)
    assert items.shape == scores.shape == (interactions.n_users, 4)


def test_past_the_cell_budget_mmr_uses_the_svd_vectors(models, interactions, monkeypatch):
    monkeypatch.setattr(rr, "RERANK_EXACT_COSINE_CELLS", 4)
    reranker = MMR(lambda_=0.2)
    models["popularity"].recommend(interactions.user_ids[:4], 3, rerank=reranker)
    assert reranker.similarity_used_.startswith("cosine of a truncated SVD")


def test_knn_top_k_lists_are_made_symmetric(interactions):
    model = fastcf.ItemKNN(k=3, max_neighbors=3).fit(interactions)
    assert str(model.storage_) == "neighbors"
    similarity = rr.knn_similarity(model)
    assert sp.issparse(similarity) and (abs(similarity - similarity.T)).max() == 0
    lists = sp.csr_matrix((model.nbr_data_, model.nbr_indices_, model.nbr_indptr_),
                          shape=similarity.shape)
    assert (similarity - lists).toarray().min() >= 0


# ------------------------------------------------------------ the re-ranking
def test_lambda_one_is_the_plain_recommend_and_lists_come_from_the_top_m(models, interactions):
    users = np.concatenate([interactions.user_ids[:10], ["ghost"]])
    for model in models.values():
        plain = model.recommend(users, 5, return_unknown=True)
        again = model.recommend(users, 5, return_unknown=True, rerank=MMR(lambda_=1.0))
        for got, want in zip(again, plain):
            np.testing.assert_array_equal(got, want)
        top_items, top_scores = model.recommend(users, 8)
        items, scores = model.recommend(users, 5, rerank=MMR(lambda_=0.0, candidates=8))
        for row in range(len(users)):
            valid = ~np.isnan(scores[row])
            assert valid.sum() == min(5, (~np.isnan(top_scores[row])).sum())
            assert len(set(items[row][valid])) == valid.sum()
            lookup = dict(zip(top_items[row], top_scores[row]))
            assert all(lookup[i] == s for i, s in zip(items[row][valid], scores[row][valid]))
            assert items[row][0] == top_items[row][0], "the first pick is the best item"


def test_mmr_is_the_kernel_on_the_normalised_candidates(models, interactions):
    model = models["mf"]
    users = interactions.user_ids[:12]
    similarity = np.random.default_rng(1).random((interactions.n_items,) * 2)
    items, _ = model.recommend(users, 4, rerank=MMR(0.4, candidates=10, similarity=similarity))
    top_items, top_scores = model.recommend(users, 10)
    pool = model.item_index(top_items.ravel()).reshape(top_items.shape)
    low, high = top_scores.min(axis=1, keepdims=True), top_scores.max(axis=1, keepdims=True)
    want = mmr(pool, (top_scores - low) / (high - low), similarity, 4, 0.4)
    np.testing.assert_array_equal(model.item_index(items.ravel()).reshape(want.shape), want)


def test_mmr_spreads_a_list_over_item_groups(interactions):
    model = fastcf.Popularity().fit(interactions)
    groups = np.arange(interactions.n_items) % 2
    similarity = (groups[:, None] == groups[None, :]).astype(float)
    items, _ = model.recommend(interactions.user_ids[2:6], 4,
                               rerank=MMR(lambda_=0.1, similarity=similarity))
    picked = groups[model.item_index(items.ravel()).reshape(items.shape)]
    assert (picked[:, 0] != picked[:, 1]).all(), "the second pick leaves the first one's group"


def test_candidates_and_exclude_seen_are_honoured(models, interactions):
    model = models["mf"]
    users = interactions.user_ids[:6]
    allowed = interactions.item_ids[::2]
    items, scores = model.recommend(users, 3, candidates=allowed, rerank=DPP(theta=0.3))
    assert np.isin(items[~np.isnan(scores)], allowed).all()
    items, scores = model.recommend(users, 4, exclude_seen=False, rerank=MMR(0.5))
    assert not np.isnan(scores).any()
    frame = model.recommend_frame(users, 3, rerank=DPP(theta=0.5, window=2))
    assert list(frame.columns) == ["user", "rank", "item", "score"] and len(frame) == 18


def test_normalized_and_positions_helpers():
    candidates = np.array([[4, 2, -1], [1, 3, 0]])
    scores = np.array([[3.0, 1.0, 0.0], [2.0, 2.0, 2.0]])
    np.testing.assert_array_equal(rr._normalized(candidates, scores),
                                  [[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    selected = np.array([[2, 4, -1], [0, 1, 3]])
    np.testing.assert_array_equal(rr._positions(candidates, selected, 5),
                                  [[1, 0, -1], [2, 0, 1]])


# --------------------------------------------------------------- evaluation
def test_tradeoff_table(implicit_split):
    train, test = implicit_split
    model = fastcf.ALS(factors=4, iterations=3, seed=0)
    table = rerank_tradeoff(model, train, test, MMR(), [0.0, 0.5, 1.0], k=5)
    assert list(table.index) == ["none", "lambda_=0", "lambda_=0.5", "lambda_=1"]
    assert list(table.columns) == ["ndcg", "precision", "diversity", "coverage", "novelty",
                                   "recommend_s", "parameter"]
    metrics = ["ndcg", "precision", "diversity", "coverage", "novelty"]
    pd.testing.assert_series_equal(table.loc["lambda_=1", metrics], table.loc["none", metrics],
                                   check_names=False)
    plain = evaluate(fastcf.ALS(factors=4, iterations=3, seed=0), train, test, metrics, k=5)
    np.testing.assert_array_equal(table.loc["none", metrics].to_numpy(dtype=float),
                                  plain[metrics].to_numpy(dtype=float))
    assert table.loc["lambda_=0", "diversity"] >= table.loc["none", "diversity"]
    assert table.attrs["similarity_used"] == "cosine of the item factors"
    dpp_table = rerank_tradeoff(model, train, test, DPP(), [0.0, 0.9], k=5, fit=False)
    assert list(dpp_table.index) == ["none", "theta=0", "theta=0.9"]
    assert dpp_table.loc["theta=0", "diversity"] >= dpp_table.loc["none", "diversity"]


def test_evaluate_with_rerank(implicit_split):
    train, test = implicit_split
    metrics = ["ndcg", "diversity", "coverage"]
    make = lambda: fastcf.BPR(factors=4, iterations=3, seed=0, n_threads=1)  # noqa: E731
    plain = evaluate(make(), train, test, metrics, k=5)
    same = evaluate(make(), train, test, metrics, k=5, rerank=MMR(lambda_=1.0))
    pd.testing.assert_series_equal(plain[metrics], same[metrics])
    diverse = evaluate(make(), train, test, metrics, k=5, rerank=MMR(lambda_=0.0))
    assert diverse["diversity"] > plain["diversity"]


def test_tradeoff_bad_input(implicit_split):
    train, test = implicit_split
    model = fastcf.Popularity()
    with pytest.raises(ValueError, match="theta == 1.5, must be <= 1.0"):
        rerank_tradeoff(model, train, test, DPP(), [0.5, 1.5])
    assert not hasattr(model, "user_ids_"), "refused before the fit"
    with pytest.raises(ValueError, match="values is empty, give at least one lambda_"):
        rerank_tradeoff(model, train, test, MMR(), [])
    with pytest.raises(TypeError, match="reranker must be a fastcf.rerank.MMR or DPP"):
        rerank_tradeoff(model, train, test, "mmr", [0.5])
    with pytest.raises(TypeError, match="model must be a fastcf estimator"):
        rerank_tradeoff("als", train, test, MMR(), [0.5])


# ---------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def ratings_file(tmp_path_factory, implicit_split):
    train, test = implicit_split
    frame = pd.concat([train.to_frame(), test.to_frame()])
    path = tmp_path_factory.mktemp("cli") / "ratings.tsv"
    frame[["user", "item"]].to_csv(path, sep="\t", index=False, header=False)
    return path


def test_cli_sweep_prints_the_table_and_draws_the_curve(capsys, tmp_path, ratings_file):
    pytest.importorskip("matplotlib")
    png, csv = tmp_path / "curve.png", tmp_path / "table.csv"
    assert main(["evaluate", "--data", str(ratings_file), "--algorithm", "als", "-p",
                 "factors=4", "-p", "iterations=2", "--split", "user", "--test-size", "0.25",
                 "-k", "5", "--rerank", "mmr", "--sweep", "0,0.5,1", "--plot", str(png),
                 "--out", str(csv)]) == 0
    captured = capsys.readouterr()
    assert "lambda_=0.5" in captured.out and "diversity" in captured.out
    assert "item similarity: cosine of the item factors" in captured.out
    assert png.read_bytes()[:4] == b"\x89PNG" and f"wrote {png}" in captured.err
    assert len(pd.read_csv(csv)) == 4
    assert main(["evaluate", "--data", str(ratings_file), "--algorithm", "popularity",
                 "--metrics", "ndcg,diversity", "--rerank", "dpp", "-R", "theta=0.5"]) == 0
    captured = capsys.readouterr()
    assert "re-ranked by DPP(theta=0.5" in captured.err and "diversity" in captured.out


@pytest.mark.parametrize("extra, message", [
    (["--sweep", "0,1"], "--rerank-param and --sweep need --rerank mmr or dpp"),
    (["--rerank", "mmr", "-R", "theta=0.5"], "--rerank mmr has no parameter theta"),
    (["--rerank", "mmr", "--sweep", "0,1", "--folds", "2"], "--sweep runs on one split"),
    (["--rerank", "dpp", "--sweep", "0.5,2", "--plot", "none"], "theta == 2.0, must be <= 1.0"),
    (["--rerank", "mmr", "-R", "lambda_=2"], "lambda_ == 2.0, must be <= 1.0"),
])
def test_cli_rerank_errors(capsys, ratings_file, extra, message):
    assert main(["evaluate", "--data", str(ratings_file), "--algorithm", "popularity",
                 *extra]) == 2
    assert message in capsys.readouterr().err


def test_cli_sweep_values_must_be_numbers(capsys, ratings_file):
    with pytest.raises(SystemExit):
        main(["evaluate", "--data", str(ratings_file), "--algorithm", "popularity",
              "--rerank", "mmr", "--sweep", "a,b"])
    assert "is not a comma-separated list of numbers" in capsys.readouterr().err


def test_the_plot_says_how_to_get_matplotlib(monkeypatch, tmp_path):
    import sys

    from fastcf.bench.plots import plot_tradeoff

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="the trade-off plot needs matplotlib"):
        plot_tradeoff(pd.DataFrame(), tmp_path / "x.png")


def test_tradeoff_with_a_given_item_similarity(implicit_split):
    train, test = implicit_split
    model = fastcf.ALS(factors=4, iterations=3, seed=0).fit(train)
    identity = np.eye(model.n_items_)
    table = rerank_tradeoff(model, train, test, MMR(), [0.5], k=5, fit=False,
                            item_similarity=identity)
    assert (table["diversity"] == 1.0).all(), "no two distinct items alike: ILD 1"
    assert table.attrs["diversity"] == "intra-list diversity over the given item_similarity"


def test_benchmark_rerank_section(capsys, tmp_path):
    assert main(["benchmark", "--data", "synthetic:3k", "--algorithms", "popularity",
                 "--peers", "none", "--repeats", "1", "--quiet", "--no-scaling", "--rerank",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Re-ranking for diversity (als of the ranking table" in out
    assert "| mmr | lambda_=0.5 |" in out and "| dpp | theta=0.95 |" in out
    assert "- dpp: item similarity = cosine of the item factors" in out
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    assert (tmp_path / "rerank_tradeoff.png").read_bytes()[:4] == b"\x89PNG"


def test_the_default_sweep_plot_is_skipped_without_matplotlib(monkeypatch, capsys, tmp_path,
                                                              ratings_file):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.chdir(tmp_path)
    sweep = ["evaluate", "--data", str(ratings_file), "--algorithm", "als", "-p", "factors=4",
             "-p", "iterations=2", "--split", "user", "--test-size", "0.25", "-k", "5",
             "--rerank", "mmr", "--sweep", "0,1"]
    assert main(sweep) == 0
    captured = capsys.readouterr()
    assert "lambda_=1" in captured.out and "plots skipped: matplotlib" in captured.err
    assert not (tmp_path / "rerank_tradeoff.png").exists()
    assert main([*sweep, "--plot", str(tmp_path / "named.png")]) == 2
    assert "the trade-off plot needs matplotlib" in capsys.readouterr().err
