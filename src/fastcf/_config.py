"""The one home for Numba flags, thresholds and defaults.

Every Numba kernel takes its options from here, so that changing a flag (for
example to debug with ``boundscheck``) is one edit, not a hunt.
"""

import numpy as np

# stumpy's fastmath set: lets LLVM reassociate and contract (vectorise sums)
# but keeps "nnan" and "ninf" off, so NaN and inf still behave as IEEE says.
NUMBA_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

#: Options of a serial kernel (``njit`` is always nopython).
NUMBA_JIT = {"cache": True, "nogil": True, "fastmath": NUMBA_FASTMATH}
#: Options of a parallel driver (the only kind allowed to use ``prange``).
NUMBA_PARALLEL_JIT = {**NUMBA_JIT, "parallel": True}
#: A parallel driver whose arithmetic must be IEEE's in the order written (no
#: reassociation, no FMA): the co-clustering kernels, whose argmin must pick the
#: cluster Surprise picks when two squared errors differ in the last bit.
NUMBA_IEEE_PARALLEL_JIT = {**NUMBA_PARALLEL_JIT, "fastmath": False}
#: A driver whose results must not depend on where its arrays sit in memory: with
#: "reassoc", LLVM splits a short reduction (an SVD++ dot product over k=6 factors)
#: differently for differently aligned rows, so two runs on equal inputs in fresh
#: arrays differed in the last bit (1 run in 3). Contraction (FMA) stays: it does
#: not depend on alignment. Costs the SVD++ epoch ~40 % (ML-100K, 20 epochs, 1
#: thread: 0.052 -> 0.072 s); exact Surprise parity and reproducibility come first.
NUMBA_ORDERED_FASTMATH = NUMBA_FASTMATH - {"reassoc"}
NUMBA_ORDERED_JIT = {**NUMBA_JIT, "fastmath": NUMBA_ORDERED_FASTMATH}
NUMBA_ORDERED_PARALLEL_JIT = {**NUMBA_PARALLEL_JIT, "fastmath": NUMBA_ORDERED_FASTMATH}
#: A kernel whose divisions cannot divide by zero (the hybrid model's adagrad rate
#: lr / sqrt(G), G >= 1): NumPy's error model drops Python's zero test from every
#: division, and the loop around it then vectorises (a 64-float adagrad row step:
#: 323 -> 25 ns).
NUMBA_NUMPY_ERRORS_JIT = {**NUMBA_JIT, "error_model": "numpy"}
NUMBA_NUMPY_ERRORS_PARALLEL_JIT = {**NUMBA_PARALLEL_JIT, "error_model": "numpy"}

#: Ratings ahead whose factor rows an SGD step asks the CPU to fetch: far
#: enough to hide a memory access behind the steps in between, near enough that
#: the rows are still cached when their turn comes (k=100 float32, serial,
#: M updates/s: 10 without, 16.5 at 2, 19 at 4, 23 at 8, 18 at 16).
MF_PREFETCH_DISTANCE = 8

#: Pairs ahead whose user and positive item rows a BPR step prefetches (the
#: reasons of MF_PREFETCH_DISTANCE; the Cython twin's enum is held equal by a test).
BPR_PREFETCH_DISTANCE = 8

#: Draws a BPR step makes for a negative item the user has not seen before it
#: gives up and skips the pair (counted in ``history_``): a user who has a
#: fraction f of the pool's items is skipped with probability f ** this.
BPR_MAX_DRAWS = 32

#: The DPP re-ranker skips a candidate whose squared Cholesky pivot d_i^2 (of the
#: cosine kernel, whose diagonal is 1) is below this: it lies in the span of the
#: items picked, and a pivot this small only carries rounding noise (the stopping
#: threshold of Chen, Zhang & Zhou's code).
DPP_EPSILON = 1e-10

#: Rating dtypes every kernel accepts.
VALUE_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
#: Index dtypes every kernel accepts (never narrower counters).
INDEX_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))
#: Default rating dtype of Interactions.
DEFAULT_DTYPE = np.dtype(np.float64)

#: Backends in the order "auto" tries them when a kernel has no measured preference.
AUTO_BACKEND_ORDER = ("numba", "cython", "reference")

#: Largest dense similarity matrix ``similarity(k=None)`` builds before it
#: refuses and suggests ``k=`` (bytes). Change it here, or per call with
#: ``max_dense_bytes=``.
DENSE_SIMILARITY_BUDGET = 2 * 1024**3

#: Codes of the similarity kinds, as the compiled kernels take them. The Cython
#: twin spells them as an enum in ``kernels/_similarity_defs.pxi`` (Cython cannot
#: read this module when it compiles) and exposes what it compiled as
#: ``_similarity.SHARED_CONSTANTS``; tests/kernels/test_similarity.py holds the two
#: to each other.
SIMILARITY_KINDS = {"pearson": 0, "pearson_baseline": 1, "cosine": 2, "cosine_all": 3,
                    "adjusted_cosine": 4, "msd": 5, "jaccard": 6}

#: A Pearson variance :math:`n S_{xx} - S_x^2` at or below this fraction of
#: :math:`n S_{xx}` is rounding noise of a row constant over the co-rated columns
#: (decimal ratings are not exact in binary): both backends count it as 0, as the
#: two-pass reference finds (shared with the Cython twin as the kind codes are).
SIMILARITY_VARIANCE_FLOOR = 1e-12

#: Shrinkage of ``pearson_baseline`` when none is given (Surprise's default).
PEARSON_BASELINE_SHRINKAGE = 100.0

#: The kNN models' ``recommend`` ranks by these kinds shrunk by
#: ``KNN_RANK_SHRINKAGE`` when no shrinkage is given (``predict`` stays Surprise's,
#: unshrunk). Over the co-rated columns alone, a pair with one or two co-raters is
#: +-1 (pearson, cosine, msd) and rarely rated items fill the neighbour lists: on
#: ML-100K's ranking protocol (benchmarks/knn_ranking.py) ItemKNN's NDCG@10 was
#: 0.003 (msd, pearson), 0.002 (cosine), 0.08 (adjusted_cosine), UserKNN's
#: 0.11-0.14, against popularity's 0.25; shrunk by 100, 0.31-0.39 (3 seeds).
#: cosine_all, dot and jaccard already fall with a small overlap (0.32-0.43
#: unshrunk, a little lower shrunk) and pearson_baseline has Surprise's
#: shrinkage 100 by default.
KNN_RANK_SHRINKAGE = 100.0
KNN_RANK_SHRINK_KINDS = ("pearson", "cosine", "msd", "adjusted_cosine")

#: Surprise's BaselineOnly defaults (bsl_options for method="als").
BASELINE_REG_USER = 15.0
BASELINE_REG_ITEM = 10.0
BASELINE_EPOCHS = 10
#: ... and for method="sgd" (Surprise's "learning_rate", "reg", "n_epochs").
BASELINE_LR = 0.005
BASELINE_REG = 0.02
BASELINE_SGD_EPOCHS = 20

#: Rows per task of the co-clustering kernels: their cluster sums add the
#: per-chunk partials in chunk order, fixed by the data, so any thread count
#: gives the same bits.
COCLUSTERING_CHUNK_ROWS = 512
#: Co-clustering kernels run one thread per this many (rating, cluster) error
#: evaluations (at most n_threads): smaller calls take a few ms, and a
#: parallel region waits for any descheduled thread (Surprise's defaults on a
#: 2-core machine at load 4.5: ML-100k u1.base fit 14 ms on 1 thread vs 80-260 ms
#: on 2; 1M ratings 0.2-0.4 s vs 0.7-1.3 s).
COCLUSTERING_WORK_PER_THREAD = 1 << 22

#: Score cells (users x items) per block when recommending: bounds the memory
#: of dense scoring to about 8 bytes x this, whatever the catalogue size.
RECOMMEND_BLOCK_CELLS = 1 << 22

#: Factor models recommend through ``kernels.factor_topk``: each thread scores
#: a tile of this many users ...
RECOMMEND_TILE_ROWS = 256
#: ... this many items at a time: one GEMM into a per-thread slab of rows x
#: columns scores (1 MB in float32, one core's L2 here) that the top-k reads
#: while it is still cached. Measured, 60k users x 8k items, 64 factors,
#: 2 threads (load 11): 128 x 1024 2.68 s, 256 x 1024 2.29 s, 512 x 1024
#: 2.60 s, 256 x 2048 2.80 s, 256 x 8000 (no column tiles) 2.64 s.
RECOMMEND_TILE_COLUMNS = 1024

#: Pairs per chunk when a factor model predicts (bounds the gathered factor rows).
PREDICT_CHUNK = 1 << 18

#: SVDpp's Hogwild epoch cuts the users into this many runs per thread, handed
#: out one at a time: a thread the OS slows down then takes fewer of them.
SVDPP_CHUNKS_PER_THREAD = 4

#: Hidden activations per chunk when a neural model scores users x all items
#: (bounds the memory).
SCORE_CHUNK_CELLS = 1 << 21

#: Largest batch product (rows x widest layer) a neural model trains on one BLAS
#: thread: products this small finish before a second thread is woken (ML-100K,
#: batch 256, widths 64-32: 1 BLAS thread 247k samples/s, 2 threads 24k on a 2-core
#: machine with one core busy elsewhere -- every product then waits for the
#: descheduled thread).
SINGLE_THREAD_BATCH_CELLS = 1 << 16

#: Expected examples per DP-SGD step (``privacy.DPMLPRecommender``) below which the
#: step (its BLAS products and the ``dp_clip`` kernel) runs on one thread, whatever
#: ``n_threads`` says: ML-100K at sampling rate 0.05 (~4,000 examples a step, a few ms
#: of work) on 2 cores under load 4.7 trained at 360k samples/s on 1 thread, 17-24k with
#: BLAS and the kernel on 2 and 100-112k with the kernel alone on 2 (Numba's OpenMP
#: workers spin between the short parallel regions and take the main thread's core).
DP_STEP_PARALLEL_MIN_EXAMPLES = 1 << 15

#: Entries per block of the dense temporaries of the ``auc`` and
#: ``intra_list_diversity`` metrics (blocks of users bound their memory).
METRIC_BLOCK_ENTRIES = 1 << 21

#: Past this many float32 cells, the item-item similarity that evaluation's
#: ``diversity`` needs (over the distinct recommended items) is not built: the
#: metric is NaN.
DIVERSITY_MAX_CELLS = 64 * 1024**2

#: Re-ranking (``fastcf.rerank.MMR`` / ``DPP``): a model's top ``n`` x this many
#: items are the candidates re-ranked to ``n`` (the issue's default, 10n).
RERANK_CANDIDATES_PER_ITEM = 10
#: Past this many cells (distinct candidate items squared) the exact cosine of
#: the items' training columns is not built for MMR: the truncated SVD vectors
#: below stand in for the items (128 MB in float64).
RERANK_EXACT_COSINE_CELLS = 1 << 24
#: Dimensions of the truncated SVD of the items' training columns that stands
#: in for item vectors where a model has none (DPP; MMR past the cell budget).
RERANK_SVD_FACTORS = 64

#: Dense similarity rows (targets x all) per block when a kNN model predicts:
#: bounds the memory of neighbourhood lookups to about this many bytes.
KNN_BLOCK_BYTES = 64 * 1024**2

#: Largest single working set (bytes) a model or function allocates before it
#: refuses with a ValueError naming the parameter responsible; None: this
#: machine's physical memory.
MEMORY_LIMIT = None

#: Where fetch_movielens caches downloads when no data_home is given.
DATA_HOME_ENV = "FASTCF_DATA"

#: Lines of a text file that ``read_interactions`` looks at to guess its
#: separator, header and columns.
SNIFF_LINES = 20

#: How fastcf.model_selection starts its worker processes. Not "fork": a child
#: forked after this process ran an OpenMP region (the Cython kernels, Numba's
#: omp layer) hangs in its first parallel region (measured: ItemKNN in a forked
#: worker never returned); "spawn" works everywhere and costs ~1 s per worker
#: at start, hidden by the parent process running tasks while they boot.
SEARCH_START_METHOD = "spawn"
#: ``NMF`` trains on one thread per this many ratings x factors (at least one, at
#: most ``n_threads``): its epoch is three or four parallel loops, a fork and a join
#: each, around little work. ML-100k (80k ratings, 15 factors): 1.3 ms an epoch on
#: one thread, 40 ms on two of a 2-core machine shared with other jobs.
NMF_WORK_PER_THREAD = 4_000_000
#: ``FeatureMapping(solver="auto")`` solves the ridge densely (Cholesky of the
#: n_features^2 Gram matrix, float64) up to this many features, by sparse LSQR
#: beyond. Measured (20k rows, 20 non-zeros a row, 65 targets, 2 cores): dense
#: 0.30 / 1.0 / 4.5 s at 2048 / 4096 / 8192 features, LSQR (tol 1e-8) 0.55 / 0.69
#: / 1.0 s (and 3.6 s at 1024, where the denser rows converge slowly): they cross
#: near 4096, where the Gram matrix is 128 MiB and grows as n_features^2.
COLD_START_DENSE_MAX_FEATURES = 4096
