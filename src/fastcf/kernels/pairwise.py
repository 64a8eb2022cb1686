"""Deprecated: the similarity family's wrapper is :mod:`fastcf.kernels.similarity`.

Kept so that ``fastcf.kernels.pairwise`` code keeps working; it will be removed.
"""

import warnings

from .similarity import (  # noqa: F401
    KINDS,
    check_csr_input,
    check_options,
    merge_topk,
    prepare,
    prepare_rows,
    similarity,
    similarity_to,
    topk_partial,
    topk_to_csr,
)

warnings.warn("fastcf.kernels.pairwise is deprecated; import from fastcf.kernels.similarity.",
              DeprecationWarning, stacklevel=2)
