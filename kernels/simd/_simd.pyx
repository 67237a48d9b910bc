"""The SIMD paths this build has and this CPU runs (kernels/simd/cpu.h).

Which one the kernels use, and telling every family when it changes, is
maxmargin._dispatch's job; this module only answers the two questions.
"""

cdef extern from "simd/cpu.h":
    const char* const* mm_simd_compiled_paths()
    int mm_simd_cpu_supports(const char* name)


def compiled_paths():
    """The paths compiled into this build, best first."""
    cdef const char* const* names = mm_simd_compiled_paths()
    cdef Py_ssize_t i = 0
    found = []
    while names[i] != NULL:
        found.append(names[i].decode())
        i += 1
    return found


def cpu_supports(str name):
    """Whether this CPU (and OS) can run the named path."""
    return bool(mm_simd_cpu_supports(name.encode()))
