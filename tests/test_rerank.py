"""fastcf.rerank's public functions: what they return, and every error they raise."""

import numpy as np
import pytest
import scipy.sparse as sp

from fastcf.kernels import rerank as kernels
from fastcf.rerank import VectorSimilarity, dpp, mmr


@pytest.fixture(scope="module")
def small():
    """9 users' 12 candidates of 40 items (padding in rows 1-3), scores, 5-d vectors."""
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((40, 5))
    cand = np.array([rng.permutation(40)[:12] for _ in range(9)])
    cand[1, 4] = -1
    cand[2, :] = -1
    cand[3, 1:] = -1
    return cand, rng.random(cand.shape), vectors


def test_mmr_picks_dissimilar():
    vectors = np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0]])
    cand = np.array([[0, 1, 2]])
    scores = np.array([[1.0, 0.9, 0.5]])
    np.testing.assert_array_equal(mmr(cand, scores, VectorSimilarity(vectors), 2, 0.5), [[0, 2]])
    np.testing.assert_array_equal(mmr(cand, scores, VectorSimilarity(vectors), 2, 1.0), [[0, 1]])


def test_inputs_not_modified(small):
    cand, scores, vectors = small
    copies = [x.copy() for x in (cand, scores, vectors)]
    mmr(cand, scores, VectorSimilarity(vectors), 4)
    mmr(cand, scores, sp.csr_matrix(vectors @ vectors.T), 4)
    dpp(cand, scores, vectors, 4)
    for before, after in zip(copies, (cand, scores, vectors)):
        np.testing.assert_array_equal(before, after)


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
