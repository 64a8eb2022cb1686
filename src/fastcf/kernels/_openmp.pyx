"""What the Cython build was compiled with (OpenMP or not)."""

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define FASTCF_HAVE_OPENMP 1
    #else
    #define FASTCF_HAVE_OPENMP 0
    static int omp_get_max_threads(void) { return 1; }
    #endif
    """
    int FASTCF_HAVE_OPENMP
    int omp_get_max_threads() nogil


def openmp_enabled():
    """True if the Cython kernels were compiled with OpenMP."""
    return bool(FASTCF_HAVE_OPENMP)


def openmp_max_threads():
    """OpenMP's default team size (1 without OpenMP)."""
    return omp_get_max_threads()
