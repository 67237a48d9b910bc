# Range check shared by every kernel that reads integer indices (labels, rows
# of an embedding table). The kernels check before they write anything, since
# they read the indices anyway; the Python layer words the report.

cdef inline Py_ssize_t first_out_of_range(const Py_ssize_t* indices, Py_ssize_t n,
                                          Py_ssize_t upper) noexcept nogil:
    """Position of the first index outside [0, upper), or -1 when all are in."""
    cdef Py_ssize_t i
    for i in range(n):
        # One unsigned comparison covers both index < 0 and index >= upper.
        if <size_t>indices[i] >= <size_t>upper:
            return i
    return -1
