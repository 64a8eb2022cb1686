"""Item similarity as item vectors, computed on the fly by the re-rankers."""

import numpy as np

from .._validation import check_bool, check_value_matrix


class VectorSimilarity:
    r"""Item-item similarity given by item vectors, never as an n_items x n_items matrix.

    .. math::

        \mathrm{sim}(i, j) = \hat v_i \cdot \hat v_j, \qquad
        \hat v_i = v_i / \lVert v_i \rVert \text{ (normalize=True) or } v_i

    so with ``normalize=True`` it is the cosine of the vectors (an all-zero
    vector stays zero: similarity 0 to everything). The re-ranking kernels
    compute the dot products they need, in float64, from :attr:`vectors`.

    Parameters
    ----------
    vectors : ndarray of float32 or float64, shape (n_items, d)
        Finite. Copied (normalised once, in float64, then stored in this dtype);
        the caller's array is never changed.
    normalize : bool

    Attributes
    ----------
    vectors : ndarray, shape (n_items, d), read-only
        The vectors whose dot products are the similarities.
    normalize : bool
    n_items : int

    Raises
    ------
    TypeError
        ``vectors`` not a float32/float64 array; ``normalize`` not a bool.
    ValueError
        ``vectors`` not 2-d, with no column, or holding NaN or inf.
    """

    def __init__(self, vectors, normalize=True):
        vectors = check_value_matrix("vectors", vectors)
        self.normalize = check_bool("normalize", normalize)
        if vectors.shape[1] == 0:
            raise ValueError("vectors.shape[1] == 0, must be >= 1.")
        if not np.isfinite(vectors).all():
            raise ValueError("vectors contain NaN or inf, must be finite.")
        if self.normalize:
            wide = vectors.astype(np.float64)
            norms = np.sqrt(np.einsum("ij,ij->i", wide, wide))[:, None]
            unit = np.divide(wide, norms, out=np.zeros_like(wide), where=norms > 0)
            vectors = unit.astype(vectors.dtype, copy=False)
        else:
            vectors = vectors.copy()
        vectors.flags.writeable = False
        self.vectors = vectors

    @property
    def n_items(self):
        return self.vectors.shape[0]

    def __repr__(self):
        return (f"VectorSimilarity({self.n_items} items x {self.vectors.shape[1]} dims, "
                f"{self.vectors.dtype}, normalize={self.normalize})")
