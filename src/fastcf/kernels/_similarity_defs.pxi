# Part of _similarity.pyx (included): types, kind codes, families, constants.

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define FASTCF_PREFETCH(p) __builtin_prefetch((const void *)(p))
    #else
    #define FASTCF_PREFETCH(p) ((void)0)
    #endif
    """
    void FASTCF_PREFETCH(const void* p) noexcept nogil

ctypedef fused index_t:
    int32_t
    int64_t

# The transposed values: float32 when every value is exactly a float32 (e.g.
# ratings on a 0.5 grid and their pearson shifts), which the caller checks.
# Each is widened to double before any arithmetic, so the results are
# bit-identical; the accumulation streams these values once per pair update
# and was ~25% faster with them half the size.
ctypedef fused tvalue_t:
    float
    double

# Kind codes (the wrapper passes these ints): _config.SIMILARITY_KINDS, which
# SHARED_CONSTANTS below lets the tests compare with.
cdef enum:
    PEARSON = 0
    PEARSON_BASELINE = 1
    COSINE = 2
    COSINE_ALL = 3
    ADJUSTED_COSINE = 4
    MSD = 5
    JACCARD = 6

# Accumulation families. Target j's sums live at acc[j * width : (j + 1) * width]:
#   FAM_W5  pearson                           Sx, Sy, Sxx, Syy, Sxy   (width 5)
#   FAM_W3  pearson_baseline, cosine          Sxx, Syy, Sxy           (width 3)
#   FAM_XY  cosine_all, adjusted_cosine       Sxy                     (width 1)
#   FAM_D   msd                               D = sum (x - y)^2       (width 1)
#   FAM_N   jaccard                           (the count only)        (width 0)
cdef enum:
    FAM_W5 = 0
    FAM_W3 = 1
    FAM_XY = 2
    FAM_D = 3
    FAM_N = 4

cdef enum:
    PREFETCH_AHEAD = 2   # query entries ahead whose transposed row is prefetched
    CHUNK = 128          # top-k finalisation chunk (screen, then exact rule + heap)

# Top-k screen of the sqrt kinds (see _topk_row): active when the heap's worst
# value is above SCREEN_MIN_THRESHOLD; num^2 < thr^2 * den * SCREEN_MARGIN proves
# num / sqrt(den) < thr whenever num > SCREEN_TINY (all products stay normal).
cdef double SCREEN_MIN_THRESHOLD = 1e-100
cdef double SCREEN_TINY = 1e-140
cdef double SCREEN_MARGIN = 1.0 - 1.0 / 1073741824.0   # 1 - 2^-30
# _config.SIMILARITY_VARIANCE_FLOOR: a Pearson variance n Sxx - Sx^2 at or below
# this fraction of n Sxx is rounding noise of a row constant over the co-rated
# columns; it counts as 0, as the two-pass reference finds.
cdef double VARIANCE_FLOOR = 1e-12

#: What this build compiled in, for the test that holds it to _config.
SHARED_CONSTANTS = {
    "kinds": {"pearson": PEARSON, "pearson_baseline": PEARSON_BASELINE, "cosine": COSINE,
              "cosine_all": COSINE_ALL, "adjusted_cosine": ADJUSTED_COSINE, "msd": MSD,
              "jaccard": JACCARD},
    "variance_floor": VARIANCE_FLOOR,
}


cdef inline double _pearson_den(double dn, const double* a) noexcept nogil:
    """(n Sxx - Sx^2)(n Syy - Sy^2), each factor 0 when it is rounding noise."""
    cdef double vx = dn * a[2] - a[0] * a[0]
    cdef double vy = dn * a[3] - a[1] * a[1]
    vx = vx if vx > VARIANCE_FLOOR * dn * a[2] else 0.0
    vy = vy if vy > VARIANCE_FLOOR * dn * a[3] else 0.0
    return vx * vy


cdef int _family(int kind) except -1:
    if kind == PEARSON:
        return FAM_W5
    if kind == PEARSON_BASELINE or kind == COSINE:
        return FAM_W3
    if kind == COSINE_ALL or kind == ADJUSTED_COSINE:
        return FAM_XY
    if kind == MSD:
        return FAM_D
    if kind == JACCARD:
        return FAM_N
    raise ValueError(f"kind == {kind}, must be one of 0..6.")


cdef inline Py_ssize_t _width(int family) noexcept nogil:
    if family == FAM_W5:
        return 5
    if family == FAM_W3:
        return 3
    if family == FAM_N:
        return 0
    return 1
