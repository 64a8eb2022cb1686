r"""The public re-ranking functions: MMR and DPP over a batch of candidate lists."""

import numpy as np
import scipy.sparse as sp

from ..kernels import rerank as _kernels
from ._similarity import VectorSimilarity


def mmr(candidates, scores, item_similarity, n, lambda_=0.5, *, backend="auto", n_threads=None):
    r"""Re-rank each user's candidates by maximal marginal relevance (Carbonell & Goldstein 1998).

    Row :math:`u` picks ``n`` items one at a time from its valid candidates
    :math:`C_u`: the first is its best score, each next one

    .. math::

        \arg\max_{i \in C_u \setminus P} \; \lambda\, s_{ui}
            - (1 - \lambda) \max_{j \in P} \mathrm{sim}(i, j)

    with :math:`P` the items picked so far. Ties go to the earlier candidate
    column. ``lambda_ = 1`` returns the candidates by score (ties in input
    order), ``lambda_ = 0`` picks for dissimilarity alone after the first.
    Scores are used as given: scale them to the similarities' range (e.g.
    min-max to [0, 1] per user) for ``lambda_`` to mean a share.
    Cost: O(n M) similarity look-ups per user (O(n M d) with vectors).

    Parameters
    ----------
    candidates : ndarray of int32 or int64, shape (n_users, M)
        Item indices in ``[0, n_items)``; -1 = padding (ignored, anywhere in
        the row); each item at most once per row.
    scores : ndarray of float32 or float64, shape (n_users, M)
        Higher = better; finite where ``candidates >= 0`` (padding may hold NaN).
    item_similarity : ndarray, scipy sparse matrix or VectorSimilarity
        - ndarray (n_items, n_items) float32/float64: ``sim(i, j) =
          item_similarity[j, i]`` (the picked item's row).
        - scipy sparse (n_items, n_items): the same, absent entries 0 (used as
          a canonical CSR; converted on a copy when it is not one).
        - :class:`VectorSimilarity`: dot products of its (normalised) vectors,
          computed on the fly in float64.
    n : int
        Items per row, >= 1; a row with fewer valid candidates is padded with -1.
    lambda_ : float in [0, 1]
    backend : {"auto", "numba", "cython", "reference"}
    n_threads : int or None
        scikit-learn's meaning (None: every usable core); each user is one
        task, so the result does not depend on it.

    Returns
    -------
    selected : ndarray of int64, shape (n_users, n)
        The chosen items in pick order; -1 in the trailing slots of a row with
        fewer than ``n`` valid candidates.

    Raises
    ------
    TypeError
        Wrong types or dtypes (an int similarity matrix, a list of candidates, ...).
    ValueError
        Shapes that do not match, a candidate outside ``[-1, n_items)`` or
        repeated in its row, a non-finite score of a valid candidate, a
        non-finite similarity, ``n < 1``, ``lambda_`` outside [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from fastcf.rerank import VectorSimilarity, mmr
    >>> vectors = np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0]])
    >>> candidates = np.array([[0, 1, 2]])
    >>> scores = np.array([[1.0, 0.9, 0.5]])
    >>> mmr(candidates, scores, VectorSimilarity(vectors), n=2, lambda_=0.5)
    array([[0, 2]])
    """
    if isinstance(item_similarity, VectorSimilarity):
        return _kernels.mmr_vectors(candidates, scores, item_similarity.vectors, n, lambda_,
                                    backend=backend, n_threads=n_threads)
    if sp.issparse(item_similarity):
        indptr, indices, data = _canonical_csr(item_similarity)
        return _kernels.mmr_csr(candidates, scores, indptr, indices, data, n, lambda_,
                                backend=backend, n_threads=n_threads)
    if isinstance(item_similarity, np.ndarray):
        return _kernels.mmr_dense(candidates, scores, item_similarity, n, lambda_,
                                  backend=backend, n_threads=n_threads)
    raise TypeError("item_similarity must be a numpy array, a scipy sparse matrix or a "
                    f"fastcf.rerank.VectorSimilarity, got {type(item_similarity).__name__}.")


def dpp(candidates, scores, item_vectors, n, theta=0.5, window=None, *, backend="auto",
        n_threads=None):
    r"""Re-rank each user's candidates by greedy DPP MAP inference (Chen, Zhang & Zhou 2018).

    The DPP kernel of a user is :math:`L_{ij} = r_i r_j S_{ij}`, with
    :math:`S_{ij}` the cosine of the item vectors (:math:`S_{ii} = 1`, 0 for
    an all-zero vector) and :math:`r_i = \exp(\alpha s_{ui})`,
    :math:`\alpha = \theta / (2 (1 - \theta))`, so that

    .. math::

        \log\det L_Y = \frac{1}{1 - \theta}\Big(\theta \sum_{i \in Y} s_{ui}
            + (1 - \theta) \log\det S_Y\Big).

    Each step adds the candidate with the largest
    :math:`\theta s_{ui} + (1 - \theta) \log d_i^2`, where
    :math:`d_i^2 = S_{ii} - S_{iW} S_{WW}^{-1} S_{Wi}` is the gain in
    :math:`\log\det S` of adding :math:`i` to :math:`W` = the items picked so
    far (the paper's incremental Cholesky, O(n^2 M) per user plus the
    :math:`n M` cosines; computed in float64). With ``window = w``, :math:`W`
    is the last ``w - 1`` picks (the paper's sliding window: diversity within
    any ``w`` consecutive items; ``window >= n`` is the whole list).

    ``theta = 0`` is pure diversity, ``theta -> 1`` pure relevance and
    ``theta = 1`` exactly the candidates by score. Ties go to the earlier
    candidate column. A candidate whose :math:`d_i^2 < 10^{-10}`
    (``fastcf._config.DPP_EPSILON``; it lies in the span of :math:`W`, e.g. a
    duplicate vector or a zero vector) is skipped at that step; when every
    remaining candidate is, the DPP stops (the paper's rule) and the rest of the
    list is filled with the unpicked candidates by score, so a row with at
    least ``n`` valid candidates always gets ``n`` items.

    Parameters
    ----------
    candidates, scores : as in :func:`mmr`
        Scores are used as given: their scale sets how much ``theta`` weighs them.
    item_vectors : ndarray of float32 or float64, shape (n_items, d), or VectorSimilarity
        Finite; only their directions matter (normalised inside, on a copy).
    n : int
        >= 1.
    theta : float in [0, 1]
    window : int >= 1 or None
    backend, n_threads : as in :func:`mmr`

    Returns
    -------
    selected : ndarray of int64, shape (n_users, n)
        As in :func:`mmr`.

    Raises
    ------
    TypeError, ValueError
        As in :func:`mmr`; also ``theta`` outside [0, 1] and ``window < 1``.
    """
    if isinstance(item_vectors, VectorSimilarity):
        item_vectors = item_vectors.vectors
    elif not isinstance(item_vectors, np.ndarray):
        raise TypeError("item_vectors must be a numpy array or a fastcf.rerank.VectorSimilarity, "
                        f"got {type(item_vectors).__name__}.")
    return _kernels.dpp(candidates, scores, item_vectors, n, theta, window, backend=backend,
                        n_threads=n_threads)


def _canonical_csr(matrix):
    """``(indptr, indices, data)`` of ``matrix`` as a canonical CSR (converted on a copy)."""
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"item_similarity.shape == {matrix.shape}, must be (n_items, n_items).")
    if matrix.dtype not in (np.float32, np.float64):
        raise TypeError(f"item_similarity.dtype == {matrix.dtype}, must be float32 or float64.")
    csr = matrix.tocsr()
    if not csr.has_canonical_format:
        csr = csr.copy() if csr is matrix else csr
        csr.sum_duplicates()
    return csr.indptr, csr.indices, csr.data
