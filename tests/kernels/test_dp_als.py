"""The DP-ALS statistics kernel (per-row Gram matrices and right-hand sides) and its solve."""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import DTYPES, THREADS

from fastcf.kernels import dp_als
from fastcf.kernels.dp_als import row_statistics, run_row_statistics, solve_in_chunks, solve_rows

BACKENDS = ["numba", "cython", "reference"]


@pytest.fixture(scope="module")
def problem():
    """A CSR with an empty row and an unused column, signed weights, random vectors."""
    rng = np.random.default_rng(4)
    x = sp.random(37, 23, density=0.25, format="csr", random_state=5)
    x = x.tolil()
    x[6, :] = 0
    x[:, 9] = 0
    x = x.tocsr()
    x.eliminate_zeros()
    x.sort_indices()
    nnz = x.nnz
    return {"indptr": x.indptr.astype(np.int64), "indices": x.indices.astype(np.int64),
            "gram_w": rng.uniform(-1, 3, nnz), "rhs_w": rng.normal(size=nnz) * 2,
            "F": rng.normal(size=(23, 5))}


def _dense_want(p):
    indptr, indices, F = p["indptr"], p["indices"], p["F"]
    n = len(indptr) - 1
    G, b = np.zeros((n, 5, 5)), np.zeros((n, 5))
    for r in range(n):
        for e in range(indptr[r], indptr[r + 1]):
            f = F[indices[e]]
            G[r] += p["gram_w"][e] * np.outer(f, f)
            b[r] += p["rhs_w"][e] * f
    return G, b


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
def test_statistics_match_the_definition(problem, backend, dtype, n_threads):
    F = problem["F"].astype(dtype)
    want_G, want_b = _dense_want({**problem, "F": F.astype(np.float64)})
    G, b = row_statistics(problem["indptr"], problem["indices"], problem["gram_w"].astype(dtype),
                          problem["rhs_w"].astype(dtype), F, backend=backend,
                          n_threads=n_threads)
    assert G.dtype == b.dtype == np.float64 and G.shape == (37, 5, 5) and b.shape == (37, 5)
    # the weights are cast to dtype above; the definition uses those cast values
    want_G, want_b = _dense_want({**problem, "F": F.astype(np.float64),
                                  "gram_w": problem["gram_w"].astype(dtype).astype(np.float64),
                                  "rhs_w": problem["rhs_w"].astype(dtype).astype(np.float64)})
    np.testing.assert_allclose(G, want_G, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b, want_b, rtol=1e-12, atol=1e-12)
    assert np.array_equal(G, np.swapaxes(G, 1, 2)), "symmetric"
    assert not G[6].any() and not b[6].any(), "an empty row has zero statistics"


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_thread_count_and_chunks_change_no_bit(problem, backend, dtype):
    args = (problem["indptr"], problem["indices"], problem["gram_w"], problem["rhs_w"],
            problem["F"].astype(dtype))
    G1, b1 = row_statistics(*args, backend=backend, n_threads=1)
    G2, b2 = row_statistics(*args, backend=backend, n_threads=2)
    assert np.array_equal(G1, G2) and np.array_equal(b1, b2)
    G, b = np.full((10, 5, 5), np.nan), np.full((10, 5), np.nan)  # overwritten, not added to
    for lo in range(0, 37, 10):
        hi = min(37, lo + 10)
        run_row_statistics(*args, lo, hi, G, b, backend=backend, n_threads=2)
        assert np.array_equal(G[:hi - lo], G1[lo:hi]) and np.array_equal(b[:hi - lo], b1[lo:hi])


def test_statistics_of_no_rows_and_no_entries():
    indptr = np.zeros(4, dtype=np.int64)
    G, b = row_statistics(indptr, np.zeros(0, np.int64), np.zeros(0), np.zeros(0),
                          np.ones((2, 3)))
    assert G.shape == (3, 3, 3) and not G.any() and not b.any()


def test_statistics_bad_input(problem):
    p = problem
    args = (p["indptr"], p["indices"], p["gram_w"], p["rhs_w"])
    with pytest.raises(TypeError, match="F.dtype == int64, must be float32 or float64"):
        row_statistics(*args, p["F"].astype(np.int64))
    with pytest.raises(ValueError, match=r"indices contain 22, must lie in \[0, 22\)"):
        row_statistics(*args, p["F"][:22])
    with pytest.raises(ValueError, match="gram_weights contain NaN or inf"):
        row_statistics(p["indptr"], p["indices"], np.full_like(p["gram_w"], np.nan),
                       p["rhs_w"], p["F"])
    with pytest.raises(ValueError, match="rhs_weights contain NaN or inf"):
        row_statistics(p["indptr"], p["indices"], p["gram_w"], np.full_like(p["rhs_w"], np.inf),
                       p["F"])
    with pytest.raises(ValueError, match=r"len\(rhs_weights\) == 3"):
        row_statistics(p["indptr"], p["indices"], p["gram_w"], p["rhs_w"][:3], p["F"])
    with pytest.raises(ValueError, match="F contain NaN or inf"):
        row_statistics(*args, np.full_like(p["F"], np.nan))
    with pytest.raises(ValueError, match="backend == 'gpu'"):
        row_statistics(*args, p["F"], backend="gpu")


def test_solve_rows_exact_and_with_floored_eigenvalues():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 4, 4))
    G = A @ np.swapaxes(A, 1, 2)  # positive semi-definite
    b = rng.normal(size=(6, 4))
    want = np.stack([np.linalg.solve(g + 0.5 * np.eye(4), v) for g, v in zip(G, b)])
    np.testing.assert_allclose(solve_rows(G, b, 0.5), want, rtol=1e-10)
    np.testing.assert_allclose(solve_rows(G, b, 0.5, floor=0.0), want, rtol=1e-8)
    noisy = G + rng.normal(size=(6, 4, 4)) * 5
    noisy = (noisy + np.swapaxes(noisy, 1, 2)) / 2
    values, vectors = np.linalg.eigh(noisy)
    assert (values < 0).any()
    projected = vectors @ (np.maximum(values, 0)[:, :, None] * np.swapaxes(vectors, 1, 2))
    want = np.stack([np.linalg.solve(g + 0.5 * np.eye(4), v) for g, v in zip(projected, b)])
    np.testing.assert_allclose(solve_rows(noisy, b, 0.5, floor=0.0), want, rtol=1e-8)
    floored = vectors @ (np.maximum(values, 3.0)[:, :, None] * np.swapaxes(vectors, 1, 2))
    want = np.stack([np.linalg.solve(g + 0.5 * np.eye(4), v) for g, v in zip(floored, b)])
    np.testing.assert_allclose(solve_rows(noisy, b, 0.5, floor=3.0), want, rtol=1e-8)
    with pytest.raises(ValueError, match="reg == 0.0, must be > 0"):
        solve_rows(G, b, 0.0)
    with pytest.raises(ValueError, match="floor == -1.0, must be >= 0"):
        solve_rows(G, b, 1.0, floor=-1.0)


def test_solve_rows_takes_one_reg_per_row():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(5, 3, 3))
    G, b = A @ np.swapaxes(A, 1, 2), rng.normal(size=(5, 3))
    reg = np.array([0.5, 1.0, 2.0, 4.0, 8.0])
    for floor in (None, 0.0):
        want = np.stack([solve_rows(G[r:r + 1], b[r:r + 1], reg[r], floor=floor)[0]
                         for r in range(5)])
        np.testing.assert_allclose(solve_rows(G, b, reg, floor=floor), want, rtol=1e-12)
    with pytest.raises(ValueError, match=r"reg has shape \(4,\) and minimum 0.5, must be "
                                         r"\(5,\) and > 0"):
        solve_rows(G, b, reg[:4])
    with pytest.raises(ValueError, match="minimum 0.0, must be"):
        solve_rows(G, b, np.zeros(5))


@pytest.mark.parametrize("floor", [None, 0.0])
def test_solve_rows_gives_the_same_bits_on_any_number_of_threads(floor):
    rng = np.random.default_rng(2)
    A = rng.normal(size=(300, 6, 6))
    G, b = A @ np.swapaxes(A, 1, 2) - 0.5 * np.eye(6), rng.normal(size=(300, 6))
    reg = rng.uniform(0.5, 2.0, 300)
    one = solve_rows(G, b, reg, floor=floor)
    for n_threads in (2, 3, 8):
        assert np.array_equal(solve_rows(G, b, reg, floor=floor, n_threads=n_threads), one)
    assert np.array_equal(solve_rows(G, b, 0.7, floor=floor, n_threads=2),
                          solve_rows(G, b, 0.7, floor=floor))


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("chunk_rows", [1, 4, 1000])
def test_solve_in_chunks_is_the_statistics_solved(problem, backend, chunk_rows, monkeypatch):
    p = problem
    d = p["F"].shape[1]
    monkeypatch.setattr(dp_als, "CHUNK_BYTES", chunk_rows * 8 * d * d)
    gram_w = np.abs(p["gram_w"])  # positive semi-definite Gram matrices
    G, b = row_statistics(p["indptr"], p["indices"], gram_w, p["rhs_w"], p["F"],
                          backend="reference")
    reg = 0.5 + np.arange(len(b)) % 3
    want = solve_rows(G, b, reg)
    out = np.empty((len(b), d), np.float32)
    seen = []
    got = solve_in_chunks(p["indptr"], p["indices"], gram_w, p["rhs_w"], p["F"], reg, out,
                          perturb=lambda g, rhs: seen.append(len(g)), backend=backend)
    assert got is out and sum(seen) == len(b) and max(seen) == min(chunk_rows, len(b))
    np.testing.assert_allclose(out, want.astype(np.float32), rtol=1e-6, atol=1e-6)
    full = solve_in_chunks(p["indptr"], p["indices"], gram_w, p["rhs_w"], p["F"], 0.7,
                           np.empty((len(b), d)), backend=backend)
    np.testing.assert_allclose(full, solve_rows(G, b, 0.7), rtol=1e-12)
