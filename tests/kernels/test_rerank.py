"""Re-ranking kernels (MMR, DPP): every backend x dtype x thread count against the reference."""

import functools

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import DTYPES, THREADS

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
