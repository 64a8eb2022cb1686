"""Re-ranking kernels (MMR, DPP): every backend x dtype x thread count against the reference."""

import functools

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import DTYPES, THREADS

from fastcf.kernels import rerank as kernels
from fastcf.rerank import VectorSimilarity, dpp, mmr

COMPILED = ["numba", "cython"]


def candidate_lists(dtype, index_dtype=np.int64, seed=0, n_users=9, n_items=40, m=12, d=5):
    """Random lists with padding in the middle and at the end, a row of only padding,
    a row with one valid candidate, and a zero vector among the items."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n_items, d)).astype(dtype)
    vectors[3] = 0.0
    others = np.delete(np.arange(n_items), 3)
    cand = np.array([rng.permutation(others)[:m] for _ in range(n_users)], dtype=index_dtype)
    cand[1, 4] = -1
    cand[2, :] = -1
    cand[3, 1:] = -1
    cand[4, 6:] = -1
    cand[5, 0] = 3  # the zero vector, first in its row
    scores = rng.random(cand.shape).astype(dtype)
    scores[cand < 0] = np.nan  # padding scores are ignored
    return cand, scores, vectors


def similarity_forms(vectors):
    """The same cosine similarities as a VectorSimilarity, a dense matrix and a CSR."""
    unit = VectorSimilarity(vectors)
    dense = unit.vectors.astype(np.float64) @ unit.vectors.T.astype(np.float64)
    dense = dense.astype(vectors.dtype)
    return {"vectors": unit, "dense": dense, "csr": sp.csr_matrix(dense)}


@functools.cache
def reference_cases(method, dtype, form=None):
    """[(args, reference result)] over seeds, n and the options (computed once: slow)."""
    cases = []
    for seed in range(2):
        cand, scores, vectors = candidate_lists(dtype, np.int32 if seed else np.int64, seed)
        if method == "mmr":
            sim = similarity_forms(vectors)[form]
            grid = [(sim, n, lambda_) for n in (1, 4, 15) for lambda_ in (0.0, 0.3, 1.0)]
            run = mmr
        else:  # n = 9 > d = 5: the DPP runs out of rank and fills by score
            grid = [(vectors, n, theta, window) for n in (1, 4, 9) for theta in (0.0, 0.5, 1.0)
                    for window in (None, 1, 3)] + [(vectors, 6, 0.9, 20)]
            run = dpp
        for options in grid:
            args = (cand, scores, *options)
            cases.append((args, run(*args, backend="reference")))
    return cases


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("form", ["vectors", "dense", "csr"])
def test_mmr_matches_reference(backend, dtype, n_threads, form):
    for args, want in reference_cases("mmr", dtype, form):
        np.testing.assert_array_equal(mmr(*args, backend=backend, n_threads=n_threads), want)


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
def test_dpp_matches_reference(backend, dtype, n_threads):
    for args, want in reference_cases("dpp", dtype):
        np.testing.assert_array_equal(dpp(*args, backend=backend, n_threads=n_threads), want)


@pytest.mark.parametrize("backend", COMPILED)
def test_many_rows_identical_for_any_thread_count(backend):
    cand, scores, vectors = candidate_lists(np.float32, n_users=300, n_items=200, m=30, d=8)
    sims = similarity_forms(vectors)
    for run in (lambda t: dpp(cand, scores, vectors, 10, 0.6, backend=backend, n_threads=t),
                lambda t: dpp(cand, scores, vectors, 10, 0.6, 3, backend=backend, n_threads=t),
                *[lambda t, s=s: mmr(cand, scores, s, 10, 0.5, backend=backend, n_threads=t)
                  for s in sims.values()]):
        np.testing.assert_array_equal(run(1), run(2))


@pytest.mark.parametrize("backend", ["numba", "cython", "reference"])
def test_similarity_forms_agree(backend):
    """Integer vectors, not normalised: every similarity is exact in all three forms."""
    rng = np.random.default_rng(5)
    vectors = rng.integers(-2, 3, size=(30, 4)).astype(np.float64)
    dense = vectors @ vectors.T
    cand = np.array([rng.permutation(30)[:10] for _ in range(6)])
    scores = rng.integers(0, 8, size=cand.shape).astype(np.float64)  # ties
    forms = [VectorSimilarity(vectors, normalize=False), dense, sp.csr_matrix(dense),
             sp.coo_matrix(dense)]
    for lambda_ in (0.0, 0.5, 1.0):
        results = [mmr(cand, scores, form, 6, lambda_, backend=backend) for form in forms]
        for result in results[1:]:
            np.testing.assert_array_equal(result, results[0])


@pytest.mark.parametrize("backend", ["numba", "cython", "reference"])
def test_top_by_score_limits(backend):
    cand, scores, vectors = candidate_lists(np.float64)
    scores = np.where(cand >= 0, np.round(scores * 4), np.nan)  # ties: the earlier column wins
    by_score = np.argsort(np.where(cand >= 0, -scores, np.inf), axis=1, kind="stable")
    expected = np.take_along_axis(cand, by_score, axis=1)[:, :6]
    expected[np.take_along_axis(cand < 0, by_score, axis=1)[:, :6]] = -1
    sims = similarity_forms(vectors)
    for sim in sims.values():
        np.testing.assert_array_equal(mmr(cand, scores, sim, 6, 1.0, backend=backend), expected)
    np.testing.assert_array_equal(dpp(cand, scores, vectors, 6, 1.0, backend=backend), expected)
    np.testing.assert_array_equal(dpp(cand, scores, vectors, 6, 0.5, window=1, backend=backend)[
        :, 0], expected[:, 0])


@pytest.mark.parametrize("backend", ["numba", "cython", "reference"])
def test_padding_and_short_rows(backend):
    cand, scores, vectors = candidate_lists(np.float64)
    n_valid = (cand >= 0).sum(axis=1)
    for result in (mmr(cand, scores, VectorSimilarity(vectors), 15, 0.5, backend=backend),
                   dpp(cand, scores, vectors, 15, 0.5, backend=backend)):
        assert result.shape == (len(cand), 15) and result.dtype == np.int64
        for row in range(len(cand)):
            picked = result[row, :n_valid[row]]
            assert (result[row, n_valid[row]:] == -1).all()
            assert sorted(picked) == sorted(cand[row][cand[row] >= 0])
    empty = np.zeros((0, 5), dtype=np.int64)
    assert dpp(empty, empty.astype(float), vectors, 3, backend=backend).shape == (0, 3)
    assert mmr(empty, empty.astype(float), vectors @ vectors.T, 3, backend=backend).shape == (0, 3)


@pytest.mark.parametrize("backend", ["numba", "cython", "reference"])
def test_dpp_diversity_and_window(backend):
    """Two tight clusters, scores favouring cluster A: a small theta alternates
    clusters; theta near 1 takes A first; a window of 2 only looks at the last pick."""
    a = np.array([[1.0, 0.0]]) + 0.01 * np.arange(4)[:, None] * np.array([[0.0, 1.0]])
    b = np.array([[0.0, 1.0]]) + 0.01 * np.arange(4)[:, None] * np.array([[1.0, 0.0]])
    vectors = np.vstack([a, b])
    cand = np.arange(8)[None, :]
    scores = np.array([[1.0, 0.99, 0.98, 0.97, 0.5, 0.49, 0.48, 0.47]])
    diverse = dpp(cand, scores, vectors, 2, 0.1, backend=backend)
    assert set(diverse[0]) & {0, 1, 2, 3} and set(diverse[0]) & {4, 5, 6, 7}
    greedy = dpp(cand, scores, vectors, 4, 0.999, backend=backend)
    np.testing.assert_array_equal(greedy, [[0, 1, 2, 3]])
    # d = 2: after two picks everything is in their span, the rest is filled by score
    np.testing.assert_array_equal(dpp(cand, scores, vectors, 8, 0.1, backend=backend)[0, 2:],
                                  [i for i in range(8) if i not in diverse[0]][:6])


def test_mmr_picks_dissimilar():
    vectors = np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0]])
    cand = np.array([[0, 1, 2]])
    scores = np.array([[1.0, 0.9, 0.5]])
    np.testing.assert_array_equal(mmr(cand, scores, VectorSimilarity(vectors), 2, 0.5), [[0, 2]])
    np.testing.assert_array_equal(mmr(cand, scores, VectorSimilarity(vectors), 2, 1.0), [[0, 1]])


def test_inputs_not_modified():
    cand, scores, vectors = candidate_lists(np.float32)
    copies = [x.copy() for x in (cand, scores, vectors)]
    sim = similarity_forms(vectors)["vectors"]
    mmr(cand, scores, sim, 4)
    dpp(cand, scores, vectors, 4)
    for before, after in zip(copies, (cand, scores, vectors)):
        np.testing.assert_array_equal(before, after)


@pytest.fixture(scope="module")
def small():
    cand, scores, vectors = candidate_lists(np.float64)
    return cand, scores, vectors


def test_bad_candidates(small):
    cand, scores, vectors = small
    dense = vectors @ vectors.T
    with pytest.raises(TypeError, match="candidates must be a numpy array"):
        mmr(cand.tolist(), scores, dense, 3)
    with pytest.raises(TypeError, match="candidates.dtype == float64"):
        mmr(cand.astype(float), scores, dense, 3)
    with pytest.raises(ValueError, match="candidates.ndim == 1"):
        mmr(cand[0], scores[0], dense, 3)
    with pytest.raises(TypeError, match="scores.dtype == int64"):
        mmr(cand, cand, dense, 3)
    with pytest.raises(ValueError, match=r"scores.shape == \(9, 11\), must be candidates.shape"):
        mmr(cand, np.ascontiguousarray(scores[:, 1:]), dense, 3)
    bad = cand.copy()
    bad[4, 2] = -2
    with pytest.raises(ValueError, match=r"candidates contain -2 \(row 4\), must be >= -1"):
        mmr(bad, scores, dense, 3)
    bad[4, 2] = 40
    with pytest.raises(ValueError, match=r"candidates contain item 40 \(row 4\), must be < "
                                         "n_items == 40"):
        dpp(bad, scores, vectors, 3)
    bad = cand.copy()
    bad[6, 5] = bad[6, 2]
    with pytest.raises(ValueError, match=f"candidates row 6 holds item {cand[6, 2]} twice"):
        mmr(bad, scores, dense, 3)
    bad_scores = scores.copy()
    bad_scores[7, 3] = np.nan
    with pytest.raises(ValueError, match=r"scores\[7, 3\] == nan, must be finite"):
        dpp(cand, bad_scores, vectors, 3)
    bad_scores[7, 3] = -np.inf
    with pytest.raises(ValueError, match=r"scores\[7, 3\] == -inf, must be finite"):
        mmr(cand, bad_scores, dense, 3)


def test_bad_options(small):
    cand, scores, vectors = small
    dense = vectors @ vectors.T
    with pytest.raises(ValueError, match="n == 0, must be >= 1"):
        mmr(cand, scores, dense, 0)
    with pytest.raises(TypeError, match="n must be an int"):
        dpp(cand, scores, vectors, 2.5)
    with pytest.raises(ValueError, match="lambda_ == 1.5, must be <= 1.0"):
        mmr(cand, scores, dense, 3, 1.5)
    with pytest.raises(ValueError, match="lambda_ == -0.1, must be >= 0.0"):
        mmr(cand, scores, dense, 3, -0.1)
    with pytest.raises(ValueError, match="lambda_ == nan, must be finite"):
        mmr(cand, scores, dense, 3, np.nan)
    with pytest.raises(ValueError, match="theta == 2.0, must be <= 1.0"):
        dpp(cand, scores, vectors, 3, theta=2.0)
    with pytest.raises(ValueError, match="window == 0, must be >= 1"):
        dpp(cand, scores, vectors, 3, window=0)
    with pytest.raises(TypeError, match="window must be an int"):
        dpp(cand, scores, vectors, 3, window=2.0)
    with pytest.raises(ValueError, match="backend == 'fast'"):
        mmr(cand, scores, dense, 3, backend="fast")
    with pytest.raises(ValueError, match="n_threads == 0"):
        dpp(cand, scores, vectors, 3, n_threads=0)


def test_bad_similarity(small):
    cand, scores, vectors = small
    dense = vectors @ vectors.T
    with pytest.raises(TypeError, match="item_similarity must be a numpy array, a scipy sparse"):
        mmr(cand, scores, dense.tolist(), 3)
    with pytest.raises(ValueError, match=r"similarity.shape == \(40, 39\), must be square"):
        mmr(cand, scores, np.ascontiguousarray(dense[:, 1:]), 3)
    with pytest.raises(ValueError, match=r"item_similarity.shape == \(40, 39\)"):
        mmr(cand, scores, sp.csr_matrix(dense[:, 1:]), 3)
    with pytest.raises(TypeError, match="item_similarity.dtype == int64"):
        mmr(cand, scores, sp.csr_matrix(dense.astype(np.int64)), 3)
    with pytest.raises(TypeError, match="similarity.dtype == int64"):
        mmr(cand, scores, dense.astype(np.int64), 3)
    with pytest.raises(ValueError, match="candidates contain item 30 .*n_items == 30"):
        mmr(cand % 31, scores, np.ascontiguousarray(dense[:30, :30]), 3)
    nan = dense.copy()
    nan[0, 1] = np.nan
    with pytest.raises(ValueError, match="similarity contains NaN or inf"):
        mmr(cand, scores, nan, 3)
    with pytest.raises(ValueError, match="data contains NaN or inf"):
        mmr(cand, scores, sp.csr_matrix(nan), 3)
    with pytest.raises(TypeError, match="item_vectors must be a numpy array or a fastcf"):
        dpp(cand, scores, vectors.tolist(), 3)
    bad = vectors.copy()
    bad[2, 1] = np.inf
    with pytest.raises(ValueError, match="vectors contain NaN or inf"):
        dpp(cand, scores, bad, 3)
    with pytest.raises(ValueError, match="vectors contain NaN or inf"):
        VectorSimilarity(bad)
    with pytest.raises(ValueError, match=r"vectors.shape\[1\] == 0"):
        VectorSimilarity(vectors[:, :0])
    with pytest.raises(TypeError, match="normalize must be a bool"):
        VectorSimilarity(vectors, normalize=1)
    with pytest.raises(TypeError, match="vectors.dtype == int64"):
        VectorSimilarity(vectors.astype(np.int64))


def test_kernel_level_csr_checks(small):
    cand, scores, vectors = small
    csr = sp.csr_matrix(vectors @ vectors.T)
    unsorted = csr.indices.copy()
    unsorted[[0, 1]] = unsorted[[1, 0]]
    with pytest.raises(ValueError, match="indices must be strictly ascending within each row"):
        kernels.mmr_csr(cand, scores, csr.indptr, unsorted, csr.data, 3)
    # a non-canonical scipy matrix is made canonical on a copy
    coo = sp.coo_matrix(vectors @ vectors.T)
    doubled = sp.csr_matrix((np.r_[coo.data, coo.data] / 2, (np.r_[coo.row, coo.row],
                                                              np.r_[coo.col, coo.col])),
                            shape=coo.shape)
    doubled.has_canonical_format = False
    np.testing.assert_array_equal(mmr(cand, scores, doubled, 5), mmr(cand, scores, csr, 5))


def test_vector_similarity():
    vectors = np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32)
    sim = VectorSimilarity(vectors)
    np.testing.assert_allclose(sim.vectors, [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)
    assert sim.vectors.dtype == np.float32 and not sim.vectors.flags.writeable
    assert sim.n_items == 2 and "normalize=True" in repr(sim)
    raw = VectorSimilarity(vectors, normalize=False)
    np.testing.assert_array_equal(raw.vectors, vectors)
    assert raw.vectors is not vectors
