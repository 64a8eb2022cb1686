"""The benchmark harness: ``fastcf benchmark`` and the scripts in ``benchmarks/``.

It sits on top of the library and apart from it: it imports fastcf's models,
metrics and evaluation, and nothing in the library imports it.

- :mod:`~fastcf.bench.job`: :func:`run_benchmark`, the rows, the peers' runners.
- :mod:`~fastcf.bench.algorithms`: fastcf's algorithms and hyper-parameters.
- :mod:`~fastcf.bench.ranking`: the ranking protocol (top-10 from implicit feedback).
- :mod:`~fastcf.bench.load`: the data (``synthetic:<size>`` or a MovieLens file).
- :mod:`~fastcf.bench.timing`: the median of repeated runs after a warm-up.
- :mod:`~fastcf.bench.scaling`: learning curves, fit time by threads and data size.
- :mod:`~fastcf.bench.report`: the Markdown table and the files of a run.
- :mod:`~fastcf.bench.plots`: the PNG plots (matplotlib optional).
- :mod:`~fastcf.bench.peers`: one module per peer library (imported only when run).
"""

from .algorithms import (
    FASTCF_ALGORITHMS,
    IMPLICIT_ALGORITHMS,
    KNN_CONFIGS,
    MF_PARAMS,
    MLP_PARAMS,
    NEUMF_PARAMS,
    RANKED_ALGORITHMS,
    RANKING_PROTOCOL_ALGORITHMS,
    SIMILARITY_KINDS,
    K,
    N,
)
from .job import PEER_MODULES, PEER_NOTES, Row, installed_peers, run_benchmark
from .load import DEFAULT_DATA, SYNTHETIC_PRESETS, load_data, synthetic_shape
from .ranking import (
    RANKING_METRICS,
    RankingRow,
    ranking_names,
    ranking_split,
    run_fastcf_ranking,
    run_ranking_job,
)
from .report import format_markdown, write_results
from .scaling import SCALING_ALGORITHMS, SCALING_FRACTIONS
from .timing import compile_seconds, median_time, warm_median_time

__all__ = [
    "DEFAULT_DATA",
    "FASTCF_ALGORITHMS",
    "IMPLICIT_ALGORITHMS",
    "K",
    "KNN_CONFIGS",
    "MF_PARAMS",
    "MLP_PARAMS",
    "N",
    "NEUMF_PARAMS",
    "PEER_MODULES",
    "PEER_NOTES",
    "RANKED_ALGORITHMS",
    "RANKING_METRICS",
    "RANKING_PROTOCOL_ALGORITHMS",
    "RankingRow",
    "Row",
    "SCALING_ALGORITHMS",
    "SCALING_FRACTIONS",
    "SIMILARITY_KINDS",
    "SYNTHETIC_PRESETS",
    "compile_seconds",
    "format_markdown",
    "installed_peers",
    "load_data",
    "median_time",
    "ranking_names",
    "ranking_split",
    "run_fastcf_ranking",
    "run_ranking_job",
    "run_benchmark",
    "synthetic_shape",
    "warm_median_time",
    "write_results",
]
