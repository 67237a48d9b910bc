# The one BLAS shim: every matrix product in maxmargin goes through `gemm` below.
#
# BLAS (through scipy.linalg.cython_blas, so the same library SciPy uses) is
# column-major; NumPy arrays are whatever their strides say. An operand is
# described here as a row-major-indexed matrix: a pointer and the element
# strides of its rows and columns. Any operand with a unit stride along one
# axis is served as it is, with a transpose flag and a leading dimension,
# never copied:
#
#   row-major  (col stride 1): seen by BLAS as its transpose, leading dim = row stride
#   col-major  (row stride 1): seen by BLAS as it is,        leading dim = col stride
#
# so C order, Fortran order, transposed views (`A.T`) and slices of rows or
# columns all work. The Python layer copies anything else before it gets here
# (maxmargin._validation.blas_operand), and checks that every dimension and
# leading dimension fits the BLAS `int`.

from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm


cdef inline bint is_row_major(Py_ssize_t rows, Py_ssize_t cols,
                              Py_ssize_t row_stride, Py_ssize_t col_stride) noexcept nogil:
    """True when the operand is served as row-major (else it is column-major).

    A dimension of extent 1 has no meaningful stride, so it never disqualifies.
    """
    return (col_stride == 1 or cols <= 1) and (rows <= 1 or row_stride >= cols)


cdef inline int leading_dim(Py_ssize_t rows, Py_ssize_t cols,
                            Py_ssize_t row_stride, Py_ssize_t col_stride) noexcept nogil:
    """BLAS leading dimension of an operand (valid even when an extent is 0 or 1)."""
    if is_row_major(rows, cols, row_stride, col_stride):
        return <int>(row_stride if rows > 1 else max(cols, 1))
    return <int>(col_stride if cols > 1 else max(rows, 1))


cdef inline void gemm(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, floating alpha,
                      const floating* A, Py_ssize_t a_row_stride, Py_ssize_t a_col_stride,
                      const floating* B, Py_ssize_t b_row_stride, Py_ssize_t b_col_stride,
                      floating beta, floating* C, Py_ssize_t ldc) noexcept nogil:
    """C = alpha * A @ B + beta * C.

    A is (m, k), B is (k, n), both with element strides as given (one of them
    unit, or the extent 1); C is (m, n) row-major with row stride `ldc`.
    A product over k = 0 leaves beta * C.

    BLAS computes column-major, so this asks it for C^T = B^T @ A^T, which is
    C's row-major memory seen column-major: B comes first, then A.
    """
    cdef Py_ssize_t i, j
    if m == 0 or n == 0:
        return
    if k == 0:
        # Nothing to multiply: apply beta ourselves rather than rely on every
        # BLAS accepting degenerate operands.
        for i in range(m):
            for j in range(n):
                C[i * ldc + j] = 0 if beta == 0 else beta * C[i * ldc + j]
        return
    # Row-major B is, column-major, B^T as stored ('N'); column-major B needs 'T'.
    cdef char trans_b = b'N' if is_row_major(k, n, b_row_stride, b_col_stride) else b'T'
    cdef char trans_a = b'N' if is_row_major(m, k, a_row_stride, a_col_stride) else b'T'
    cdef int ld_b = leading_dim(k, n, b_row_stride, b_col_stride)
    cdef int ld_a = leading_dim(m, k, a_row_stride, a_col_stride)
    cdef int bm = <int>n, bn = <int>m, bk = <int>k, ld_c = <int>ldc
    if floating is float:
        sgemm(&trans_b, &trans_a, &bm, &bn, &bk, &alpha, <float*>B, &ld_b,
              <float*>A, &ld_a, &beta, C, &ld_c)
    else:
        dgemm(&trans_b, &trans_a, &bm, &bn, &bk, &alpha, <double*>B, &ld_b,
              <double*>A, &ld_a, &beta, C, &ld_c)
