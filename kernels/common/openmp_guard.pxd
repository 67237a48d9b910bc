# OpenMP guard: the kernels compile with or without OpenMP.
#
# Without OpenMP, Cython's `prange` runs serially and the functions below
# report a single thread, so no kernel needs its own #ifdef.

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define MAXMARGIN_OPENMP 1
    #else
    #define MAXMARGIN_OPENMP 0
    static int omp_get_max_threads(void) { return 1; }
    #endif
    """
    const bint MAXMARGIN_OPENMP
    int omp_get_max_threads() noexcept nogil
