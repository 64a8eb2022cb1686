"""The feature matrices of :class:`fastcf.HybridFactorization`: the rows it trains on
(identity columns, then the side features) and the rows it is given later."""

import numpy as np
import scipy.sparse as sp


def _is_features(obj):
    return all(hasattr(obj, name) for name in ("matrix", "ids", "names"))


def _finite_csr(matrix, what, dtype):
    """``matrix`` as a canonical CSR of ``dtype``; ValueError for NaN/inf or no rows/columns."""
    if sp.issparse(matrix):
        csr = sp.csr_matrix(matrix, dtype=dtype, copy=True)
    elif isinstance(matrix, np.ndarray):
        if matrix.ndim != 2:
            raise ValueError(f"{what} has {matrix.ndim} dimensions, must be 2.")
        if matrix.dtype.kind not in "biuf":
            raise TypeError(f"{what} must be numeric, got dtype {matrix.dtype}.")
        csr = sp.csr_matrix(matrix.astype(dtype))
    else:
        raise TypeError(f"{what} must be a fastcf.Features, a scipy sparse matrix or a 2-d "
                        f"ndarray, got {type(matrix).__name__}.")
    if csr.shape[0] == 0 or csr.shape[1] == 0:
        raise ValueError(f"{what} has shape {csr.shape}: an empty feature matrix.")
    if not np.isfinite(csr.data).all():
        raise ValueError(f"{what} contains NaN or inf values, must be finite.")
    csr.sum_duplicates()
    csr.sort_indices()
    return csr


def model_rows(side, ids, n_rows, axis, identity, dtype):
    """(CSR of n_rows x (n_rows * identity + n_side) features, side feature names).

    ``side``: the data's ``Features`` of this axis or None; its rows must be
    ``ids`` in order (as :meth:`fastcf.Interactions.with_features` makes them).
    """
    if side is None:
        if not identity:
            raise ValueError(f"identity=False needs {axis} features, and the data has none: "
                             f"attach them with data.with_features({axis}_features=...).")
        return sp.identity(n_rows, dtype=dtype, format="csr"), np.array([], dtype=str)
    if not _is_features(side):
        raise TypeError(f"data.{axis}_features must be a fastcf.Features, got "
                        f"{type(side).__name__}.")
    if len(side.ids) != n_rows or not np.array_equal(np.asarray(side.ids), np.asarray(ids)):
        raise ValueError(f"the {axis} feature rows do not match the {axis} ids ({len(side.ids)} "
                         f"rows for {n_rows} {axis}s, or in another order); attach them with "
                         f"data.with_features({axis}_features=...).")
    matrix = _finite_csr(side.matrix, f"data.{axis}_features", dtype)
    parts = [sp.identity(n_rows, dtype=dtype, format="csr")] if identity else []
    csr = sp.hstack(parts + [matrix], format="csr", dtype=dtype)
    csr.sort_indices()
    return csr, np.array([str(name) for name in side.names], dtype=str)


def check_side_rows(features, names, axis, dtype):
    """New rows of the model's side features (names ``names``) as a CSR of ``dtype``."""
    if len(names) == 0:
        raise ValueError(f"the model was fitted without {axis} side features: there is "
                         f"nothing to describe new {axis}s by.")
    names = [str(name) for name in names]
    if _is_features(features):
        given = [str(name) for name in features.names]
        missing = sorted(set(names) - set(given))
        extra = sorted(set(given) - set(names))
        if missing or extra:
            raise ValueError(f"the {axis} features' names differ from the model's: missing "
                             f"{missing[:5]}, unknown {extra[:5]}.")
        position = {name: j for j, name in enumerate(given)}
        matrix = sp.csr_matrix(features.matrix)[:, [position[name] for name in names]]
        return _finite_csr(matrix, f"{axis}_features", dtype)
    csr = _finite_csr(features, f"{axis}_features", dtype)
    if csr.shape[1] != len(names):
        raise ValueError(f"{axis}_features has {csr.shape[1]} columns, must have the model's "
                         f"{len(names)} {axis} side features.")
    return csr
