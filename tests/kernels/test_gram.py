"""The Gram kernel (X^T X of a sparse matrix) against its reference."""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import DTYPES, THREADS

from fastcf.kernels import gram

BACKENDS = ["numba", "cython", "reference"]


@pytest.fixture(scope="module")
def matrix():
    """Rows with negatives and zeros stored, an empty row and an empty column."""
    x = sp.random(40, 25, density=0.2, format="csr", random_state=3)
    x.data = np.round(x.data * 6) - 2.0
    x = x.tolil()
    x[5, :] = 0
    x[:, 7] = 0
    x = x.tocoo()
    x.eliminate_zeros()
    rows, cols = np.append(x.row, 0), np.append(x.col, 7)  # and a stored zero
    x = sp.csr_matrix((np.append(x.data, 0.0), (rows, cols)), shape=(40, 25))
    assert 7 in x.indices[x.indptr[0]:x.indptr[1]]
    return x


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("upper", [False, True])
def test_gram_matches_the_dense_product(matrix, backend, dtype, n_threads, upper):
    got = gram(matrix.indptr, matrix.indices, matrix.data, 25, upper=upper, dtype=dtype,
               backend=backend, n_threads=n_threads)
    want = matrix.toarray().T @ matrix.toarray()
    assert got.dtype == dtype and got.shape == (25, 25)
    np.testing.assert_allclose(got, np.triu(want) if upper else want, rtol=1e-6)


@pytest.mark.parametrize("backend", ["numba", "cython"])
def test_gram_is_the_reference_bit_for_bit_and_thread_invariant(matrix, backend):
    args = (matrix.indptr, matrix.indices, matrix.data, 25)
    want = gram(*args, backend="reference")
    assert np.array_equal(gram(*args, backend=backend, n_threads=1), want)
    assert np.array_equal(gram(*args, backend=backend, n_threads=2), want)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gram_without_data_counts_co_occurrences(matrix, backend):
    binary = (matrix != 0).astype(np.float64)
    got = gram(binary.indptr, binary.indices, None, 25, dtype=np.float32, backend=backend)
    np.testing.assert_array_equal(got, (binary.T @ binary).toarray())


def test_gram_of_nothing():
    empty = np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64), None
    assert gram(*empty, 0).shape == (0, 0)
    np.testing.assert_array_equal(gram(*empty, 3), np.zeros((3, 3)))


def test_gram_bad_input(matrix):
    args = (matrix.indptr, matrix.indices, matrix.data)
    with pytest.raises(ValueError, match="n_cols == -1, must be >= 0"):
        gram(*args, -1)
    with pytest.raises(ValueError, match=r"indices contain 24, must lie in \[0, 24\)"):
        gram(*args, 24)
    with pytest.raises(ValueError, match="data contain NaN or inf"):
        gram(*args[:2], np.full_like(matrix.data, np.nan), 25)
    with pytest.raises(TypeError, match="dtype == int64, must be float32 or float64"):
        gram(*args, 25, dtype=np.int64)
    with pytest.raises(TypeError, match="upper must be a bool"):
        gram(*args, 25, upper=1)
    with pytest.raises(ValueError, match="backend == 'gpu'"):
        gram(*args, 25, backend="gpu")
