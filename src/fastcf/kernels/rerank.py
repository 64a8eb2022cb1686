r"""Checked public kernels: greedy re-ranking of candidate lists (MMR and DPP).

Every function takes a batch of users' candidate lists (item indices, -1 =
padding) with their scores and returns the ``n`` items each user's greedy
selection picks, in pick order. Each user is one parallel task that writes
only its own output row, so the result is the same for any ``n_threads``.
The similarity comes as a dense matrix, a CSR matrix (raw arrays) or item
vectors; ``fastcf.rerank.mmr`` / ``fastcf.rerank.dpp`` take scipy matrices
and vector objects and call these.
"""

import numpy as np

from .._config import DPP_EPSILON, INDEX_DTYPES
from .._parallel import numba_threads, resolve_n_threads
from .._validation import (
    as_contiguous,
    check_csr_arrays,
    check_float,
    check_int,
    check_value_matrix,
)
from ..reference import rerank as _reference
from . import _registry, rerank_nb

MMR_DENSE = "rerank_mmr_dense"
MMR_CSR = "rerank_mmr_csr"
MMR_VECTORS = "rerank_mmr_vectors"
DPP = "rerank_dpp"

# auto: the default order (Numba first). CPU seconds on 1 thread, 60k users top-100 -> 10,
# 64-d float32 vectors (load 8 on 2 cores): MMR vectors Numba 0.51 vs Cython 0.87, DPP
# 0.63 vs 0.92, MMR dense 0.13 vs 0.19; Numba compiles for this CPU (AVX2), setup.py's
# Cython build for any x86-64.
for _family, _name in ((MMR_DENSE, "mmr_dense"), (MMR_CSR, "mmr_csr"),
                       (MMR_VECTORS, "mmr_vectors"), (DPP, "dpp")):
    _registry.register(_family, numba=getattr(rerank_nb, _name),
                       cython=_registry.cython_kernel("_rerank", _name),
                       reference=getattr(_reference, _name))


def mmr_dense(candidates, scores, similarity, n, lambda_=0.5, *, backend="auto", n_threads=None):
    r"""Maximal marginal relevance (Carbonell & Goldstein 1998) with a dense similarity.

    Row :math:`u` picks, one at a time, among its valid candidates :math:`C_u`

    .. math::

        \arg\max_{i \in C_u \setminus P} \; \lambda s_{ui}
            - (1 - \lambda) \max_{j \in P} \mathrm{sim}(i, j)

    where :math:`P` is what it has picked so far; the first pick is the best
    score. Ties go to the earlier candidate column. ``sim(i, j) =
    similarity[j, i]`` (the picked item's row; the same for a symmetric matrix).
    :math:`\lambda = 1` returns the candidates by score.

    Parameters
    ----------
    candidates : ndarray of int32 or int64, shape (n_users, M)
        Item indices in ``[0, n_items)``, -1 = padding (anywhere in a row,
        ignored); an item at most once per row.
    scores : ndarray of float32 or float64, shape (n_users, M)
        Higher = better, used as given; finite wherever ``candidates >= 0``.
    similarity : ndarray of float32 or float64, shape (n_items, n_items)
        Finite.
    n : int
        Items to pick per row, >= 1 (may exceed M: the row is padded).
    lambda_ : float in [0, 1]
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        scikit-learn's meaning; the result does not depend on it.

    Returns
    -------
    selected : ndarray of int64, shape (n_users, n)
        Items in pick order; -1 in the slots of a row with fewer than ``n``
        valid candidates.

    Raises
    ------
    TypeError
        A non-array argument or a wrong dtype.
    ValueError
        Mismatched shapes, a candidate below -1 or >= n_items, an item twice in
        a row, a non-finite score of a valid candidate or a non-finite
        similarity, ``n`` < 1 or ``lambda_`` outside [0, 1].
    """
    similarity = check_value_matrix("similarity", similarity)
    if similarity.shape[0] != similarity.shape[1]:
        raise ValueError(f"similarity.shape == {similarity.shape}, must be square.")
    if not np.isfinite(similarity).all():
        raise ValueError("similarity contains NaN or inf, must be finite.")
    candidates, scores = check_candidates(candidates, scores, similarity.shape[0], n_threads)
    n, lambda_ = _check_mmr_options(n, lambda_)
    return run_rerank(MMR_DENSE, candidates, scores, (similarity,), n, (lambda_,),
                      backend=backend, n_threads=n_threads)


def mmr_csr(candidates, scores, indptr, indices, data, n, lambda_=0.5, *, backend="auto",
            n_threads=None):
    """:func:`mmr_dense` with a sparse similarity as CSR arrays (n_items x n_items).

    ``sim(i, j)`` is entry ``(j, i)``, 0 when absent. ``indptr`` / ``indices``
    int32 or int64 of one dtype, each row's indices strictly ascending (scipy's
    canonical format); ``data`` float32 or float64, finite. Each pick's row is
    scattered into a dense n_items buffer per thread (O(nnz of the row + M))
    to read the candidates' entries.
    """
    indptr, indices, data = check_csr_arrays(indptr, indices, data, n_cols=len(indptr) - 1)
    if not np.isfinite(data).all():
        raise ValueError("data contains NaN or inf, must be finite.")
    ascending = np.diff(indices) > 0
    ascending[indptr[(indptr > 0) & (indptr < len(indices))] - 1] = True  # a row's first entry
    if not ascending.all():
        raise ValueError("indices must be strictly ascending within each row (scipy's "
                         "canonical CSR: call sum_duplicates() and sort_indices()).")
    candidates, scores = check_candidates(candidates, scores, len(indptr) - 1, n_threads)
    n, lambda_ = _check_mmr_options(n, lambda_)
    return run_rerank(MMR_CSR, candidates, scores, (indptr, indices, data), n, (lambda_,),
                      backend=backend, n_threads=n_threads)


def mmr_vectors(candidates, scores, vectors, n, lambda_=0.5, *, backend="auto", n_threads=None):
    """:func:`mmr_dense` with ``sim(i, j) = vectors[i] . vectors[j]`` (float64 sums),
    computed on the fly; ``vectors`` (n_items, d) float32 or float64, finite, used as
    given (normalise them first for cosines)."""
    vectors = _check_vectors(vectors)
    candidates, scores = check_candidates(candidates, scores, len(vectors), n_threads)
    n, lambda_ = _check_mmr_options(n, lambda_)
    return run_rerank(MMR_VECTORS, candidates, scores, (vectors,), n, (lambda_,),
                      backend=backend, n_threads=n_threads)


def dpp(candidates, scores, vectors, n, theta=0.5, window=None, *, backend="auto",
        n_threads=None):
    r"""Greedy MAP inference of a DPP (Chen, Zhang & Zhou 2018), per row.

    The kernel of row :math:`u` is :math:`L_{ij} = r_i r_j S_{ij}` with
    :math:`S_{ij}` the cosine of ``vectors[i]`` and ``vectors[j]``
    (:math:`S_{ii} = 1`, 0 for an all-zero vector) and
    :math:`r_i = \exp(\alpha s_{ui})`, :math:`\alpha = \theta / (2 (1 - \theta))`.
    Each step adds the candidate that most increases :math:`\log\det L_Y`,

    .. math::

        \arg\max_{i} \log d_i^2(L) = \arg\max_i \; \theta s_{ui}
            + (1 - \theta) \log d_i^2, \qquad
        d_i^2 = S_{ii} - S_{iW} S_{WW}^{-1} S_{Wi}

    (:math:`d_i^2(L) = r_i^2 d_i^2`; the right-hand form, 1 - theta times the
    left, never overflows), where :math:`W` is every pick so far, or with
    ``window = w`` the last :math:`w - 1` picks (the paper's sliding window:
    a list is diverse within any ``w`` consecutive items). :math:`d_i^2` comes
    from the paper's incremental Cholesky (its Algorithm 1, O(n^2 M) per row,
    plus the M x n cosines from the vectors; Algorithm 2 for the window).

    Ties go to the earlier candidate column. A candidate with
    :math:`d_i^2 <` ``DPP_EPSILON`` (1e-10: it lies in the span of
    :math:`W`, adding it would make :math:`\det S` vanish) is skipped at that
    step; when every remaining candidate is skipped the DPP stops (the paper's
    stopping rule) and the rest of the list is filled with the unpicked
    candidates by score, so a row with at least ``n`` valid candidates always
    gets ``n`` items. ``theta = 1`` (the limit :math:`\alpha \to \infty`) is
    the candidates by score.

    Parameters
    ----------
    candidates, scores : as in :func:`mmr_dense`
    vectors : ndarray of float32 or float64, shape (n_items, d)
        Finite; normalised inside (the caller's array is not changed).
    n : int
        >= 1.
    theta : float in [0, 1]
    window : int >= 1 or None
        None: the whole list (``window >= n`` is the same).
    backend, n_threads : as in :func:`mmr_dense`

    Returns
    -------
    selected : ndarray of int64, shape (n_users, n)
        As in :func:`mmr_dense`.
    """
    vectors = _check_vectors(vectors)
    candidates, scores = check_candidates(candidates, scores, len(vectors), n_threads)
    n = check_int("n", n, min_value=1)
    theta = check_float("theta", theta, min_value=0.0, max_value=1.0)
    window = check_window(window)
    return run_rerank(DPP, candidates, scores, (vectors,), n,
                      (theta, 0 if window is None else window, DPP_EPSILON),
                      backend=backend, n_threads=n_threads)


def run_rerank(family, candidates, scores, similarity_args, n, options, *, backend="auto",
               n_threads=None):
    """Run ``family`` on arrays valid by construction (no checks).

    ``similarity_args``: ``(matrix,)``, ``(indptr, indices, data)`` or
    ``(vectors,)``; ``options``: ``(lambda_,)`` for MMR, ``(theta, window or 0,
    epsilon)`` for DPP.
    """
    kernel, name = _registry.get_kernel(family, backend)
    n_threads = resolve_n_threads(n_threads)
    if family == MMR_CSR:  # one index dtype for the CSR: half the compiled variants
        indptr, indices, data = similarity_args
        similarity_args = (indptr.astype(np.int64, copy=False),
                           indices.astype(np.int64, copy=False), data)
    out = np.empty((candidates.shape[0], n), dtype=np.int64)
    # Chunks of users handed out one at a time: rows cost alike, but a descheduled
    # thread on a shared machine then takes fewer of them.
    _registry.run(kernel, name, (candidates, scores, *similarity_args, n, *options, out),
                  n_threads, numba_chunksize=1)
    return out


def check_candidates(candidates, scores, n_items, n_threads=None):
    """Validated, C-contiguous ``(candidates, scores)`` for ``n_items`` items."""
    if not isinstance(candidates, np.ndarray):
        raise TypeError(f"candidates must be a numpy array, got {type(candidates).__name__}.")
    if candidates.dtype not in INDEX_DTYPES:
        raise TypeError(f"candidates.dtype == {candidates.dtype}, must be int32 or int64.")
    if candidates.ndim != 2:
        raise ValueError(f"candidates.ndim == {candidates.ndim}, must be 2.")
    candidates = as_contiguous("candidates", candidates, stacklevel=4)
    scores = check_value_matrix("scores", scores)
    if scores.shape != candidates.shape:
        raise ValueError(f"scores.shape == {scores.shape}, must be candidates.shape == "
                         f"{candidates.shape}.")
    if candidates.size:
        with numba_threads(n_threads):
            row = int(rerank_nb.first_invalid_row(candidates, scores, n_items))
        if row >= 0:
            _raise_for_row(candidates[row], scores[row], row, n_items)
    return candidates, scores


def _raise_for_row(cand, scores, row, n_items):
    """The ValueError of an invalid candidate row (see ``rerank_nb.first_invalid_row``)."""
    if cand.min() < -1:
        raise ValueError(f"candidates contain {cand.min()} (row {row}), must be >= -1 "
                         "(-1 = padding).")
    if cand.max() >= n_items:
        raise ValueError(f"candidates contain item {cand.max()} (row {row}), must be < "
                         f"n_items == {n_items}.")
    bad = np.flatnonzero((cand >= 0) & ~np.isfinite(scores))
    if len(bad):
        raise ValueError(f"scores[{row}, {bad[0]}] == {scores[bad[0]]}, must be finite where "
                         "candidates >= 0.")
    items, counts = np.unique(cand[cand >= 0], return_counts=True)
    raise ValueError(f"candidates row {row} holds item {items[np.argmax(counts > 1)]} twice, "
                     "must hold each item at most once.")


def check_window(window):
    """``window`` as an int >= 1, or None."""
    return None if window is None else check_int("window", window, min_value=1)


def _check_mmr_options(n, lambda_):
    return (check_int("n", n, min_value=1),
            check_float("lambda_", lambda_, min_value=0.0, max_value=1.0))


def _check_vectors(vectors):
    vectors = check_value_matrix("vectors", vectors)
    if not np.isfinite(vectors).all():
        raise ValueError("vectors contain NaN or inf, must be finite.")
    return vectors
