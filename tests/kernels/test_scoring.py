"""The scored top-n kernel (sparse scoring fused with a top-n) against its reference."""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import THREADS

import fastcf

COMPILED = ["numba", "cython"]


@pytest.fixture(scope="module")
def scoring_case():
    """Weights with negatives, sources with gaps, exclusions with repeats."""
    weights = sp.random(40, 30, density=0.15, format="csr", random_state=11)
    weights.data = np.round(weights.data * 4) - 1.0  # -1..3, zeros included
    sources = sp.random(30, 50, density=0.1, format="csr", random_state=12)
    sources.data = np.round(sources.data * 3)
    exclude = sp.random(40, 50, density=0.2, format="csr", random_state=13)
    return weights, sources, (exclude.indptr, exclude.indices)


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("n", [1, 7, 50])
def test_scored_topk_matches_reference(scoring_case, backend, n_threads, n):
    weights, sources, exclude = scoring_case
    args = (weights.indptr, weights.indices, weights.data, sources.indptr, sources.indices,
            sources.data, 50, n, exclude)
    want = fastcf.kernels.scored_topk(*args, backend="reference")
    got = fastcf.kernels.scored_topk(*args, backend=backend, n_threads=n_threads)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("backend", ["numba", "cython", "reference"])
def test_scored_topk_ranks_unscored_columns_as_zero(backend):
    # row 0: column 2 scores 2, column 0 scores -1; the unscored columns 1, 3, 4
    # (score 0) rank between them, lower column first; column 3 is excluded.
    w = (np.array([0, 2]), np.array([0, 1]), np.array([1.0, -1.0]))
    m = (np.array([0, 1, 2]), np.array([2, 0]), np.array([2.0, 1.0]))
    idx, val = fastcf.kernels.scored_topk(*w, *m, 5, 5, (np.array([0, 1]), np.array([3])),
                                          backend=backend)
    assert idx.tolist() == [[2, 1, 4, 0, -1]]
    np.testing.assert_array_equal(val[0, :4], [2.0, 0.0, 0.0, -1.0])
    assert np.isnan(val[0, 4])


def test_scored_topk_bad_input(scoring_case):
    weights, sources, exclude = scoring_case
    good = [weights.indptr, weights.indices, weights.data, sources.indptr, sources.indices,
            sources.data, 50, 5]
    with pytest.raises(ValueError, match="n == 51, must be <= 50"):
        fastcf.kernels.scored_topk(*good[:7], 51)
    with pytest.raises(ValueError, match="indices contain 30"):
        bad = weights.indices.copy()
        bad[0] = 30
        fastcf.kernels.scored_topk(good[0], bad, *good[2:])
    with pytest.raises(ValueError, match="NaN or inf"):
        fastcf.kernels.scored_topk(*good[:5], np.full_like(sources.data, np.inf), 50, 5)
    with pytest.raises(ValueError, match="exclude has 2 rows"):
        fastcf.kernels.scored_topk(*good, (np.array([0, 0, 0]), np.array([], dtype=np.int64)))
