"""Deprecated: the benchmark harness is :mod:`fastcf.bench`.

Every public name this module had is still found here, with a
``DeprecationWarning`` naming its new place.
"""

from ._deprecation import moved_names

#: The names of the old module, each taken from :mod:`fastcf.bench`.
_MOVED = ("DEFAULT_DATA", "FASTCF_ALGORITHMS", "IMPLICIT_ALGORITHMS", "K", "KNN_CONFIGS",
          "MF_PARAMS", "MLP_PARAMS", "N", "NEUMF_PARAMS", "PEER_MODULES", "PEER_NOTES",
          "RANKED_ALGORITHMS", "Row", "SCALING_ALGORITHMS", "SCALING_FRACTIONS",
          "SIMILARITY_KINDS", "SYNTHETIC_PRESETS", "format_markdown", "installed_peers",
          "load_data", "median_time", "run_benchmark", "write_results")

__getattr__ = moved_names(__name__, dict.fromkeys(_MOVED, "fastcf.bench"))


def __dir__():
    return sorted(_MOVED)
