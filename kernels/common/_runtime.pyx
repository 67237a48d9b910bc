"""What the compiled extension knows about itself: OpenMP, threads, compiler.

Read by `maxmargin.show_config()` and by the thread-count resolver in
`maxmargin._validation`.
"""

from common.openmp_guard cimport MAXMARGIN_OPENMP, omp_get_max_threads

cdef extern from *:
    """
    #if defined(__clang__)
    #define MAXMARGIN_COMPILER "clang " __clang_version__
    #elif defined(__GNUC__)
    #define MAXMARGIN_COMPILER "gcc " __VERSION__
    #elif defined(_MSC_VER)
    #define MAXMARGIN_STR2(x) #x
    #define MAXMARGIN_STR(x) MAXMARGIN_STR2(x)
    #define MAXMARGIN_COMPILER "msvc " MAXMARGIN_STR(_MSC_FULL_VER)
    #else
    #define MAXMARGIN_COMPILER "unknown"
    #endif
    """
    const char* MAXMARGIN_COMPILER
    const char* MAXMARGIN_CYTHON_VERSION  # set by setup.py
    const int MAXMARGIN_DEBUG_BUILD       # set by setup.py
    const int MAXMARGIN_NATIVE_BUILD      # set by setup.py


def openmp_enabled():
    """True when the kernels were compiled with OpenMP."""
    return bool(MAXMARGIN_OPENMP)


def openmp_max_threads():
    """OpenMP's default team size (honours OMP_NUM_THREADS); 1 without OpenMP."""
    return omp_get_max_threads()


def build_info():
    """The compiler, Cython version, and the debug and native switches the
    extension was built with."""
    return {
        "compiler": MAXMARGIN_COMPILER.decode(),
        "cython": MAXMARGIN_CYTHON_VERSION.decode(),
        "debug": bool(MAXMARGIN_DEBUG_BUILD),
        "native": bool(MAXMARGIN_NATIVE_BUILD),
    }
