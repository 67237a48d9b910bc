# db's float64 column sums of a gradient with any element strides: the
# backward pass's bias gradient (_layers.pyx) and its benchmark floor
# (floors/_floors.pyx) both sum this way.

from cython cimport floating


cdef inline void column_sums(const floating* A, Py_ssize_t rs, Py_ssize_t cs,
                      Py_ssize_t n_rows, Py_ssize_t n_cols, double* col_sum) noexcept nogil:
    """col_sum[j] += sum_i A[i, j] in float64, each column in row order, for A
    with any element strides (walked along its contiguous axis)."""
    cdef Py_ssize_t i, j
    cdef double total
    if rs == 1 and cs != 1:
        for j in range(n_cols):
            total = col_sum[j]
            for i in range(n_rows):
                total += A[i + j * cs]
            col_sum[j] = total
    else:
        for i in range(n_rows):
            for j in range(n_cols):
                col_sum[j] += A[i * rs + j * cs]
