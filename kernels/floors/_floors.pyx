"""The benchmarks' floors: what each kernel cannot avoid, through the same
BLAS shim and the same argument checks as the kernel it measures, so that a
benchmark's ratio (kernel / floor) says what the kernel adds.

* `bare_gemms`: svm_loss's two matrix products, S = X W and dW = X^T S;
* `bare_linear_backward`: linear_backward's two products and db's sums;
* `streaming_read`: one read of ranking_hinge's inputs.

Private: bench/ is its only user.
"""

from cython cimport floating
cimport numpy as cnp

from common.array_headers cimport plain_array
from common.blas cimport gemm
from layers.column_sums cimport column_sums

cnp.import_array()


def bare_gemms(W, X, S, dW):
    """The floor of `svm_loss`: S = X W and dW = X^T S, nothing else.

    The same BLAS calls on the same operands as svm_loss's two GEMMs, for
    the benchmarks to divide by. W (D, C), X (N, D), S (N, C) and dW (D, C)
    are ndarrays of one float dtype in C or Fortran order (S and dW in C
    order), checked as svm_loss's common call checks its arguments (their
    headers, common/array_headers.pxd), so that at small shapes the floor
    pays no more per call than that call does.
    """
    if not cnp.PyArray_CheckExact(W):
        raise TypeError("bare_gemms: W must be a float32 or float64 ndarray")
    cdef int typenum = cnp.PyArray_TYPE(<cnp.ndarray>W)
    if (typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE) or not (
            plain_array(W, 2, typenum) and plain_array(X, 2, typenum)
            and plain_array(S, 2, typenum) and plain_array(dW, 2, typenum)
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>S)
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>dW)):
        raise TypeError("bare_gemms: W, X, S and dW must be plain 2-D arrays of one "
                        "float dtype (S and dW C-contiguous)")
    cdef cnp.npy_intp* x_shape = cnp.PyArray_DIMS(<cnp.ndarray>X)
    cdef cnp.npy_intp* w_shape = cnp.PyArray_DIMS(<cnp.ndarray>W)
    cdef Py_ssize_t n = x_shape[0], d = x_shape[1], c = w_shape[1]
    if (w_shape[0] != d or cnp.PyArray_DIMS(<cnp.ndarray>S)[0] != n
            or cnp.PyArray_DIMS(<cnp.ndarray>S)[1] != c
            or cnp.PyArray_DIMS(<cnp.ndarray>dW)[0] != d
            or cnp.PyArray_DIMS(<cnp.ndarray>dW)[1] != c):
        raise ValueError("bare_gemms: shapes must be W (D, C), X (N, D), S (N, C), dW (D, C)")
    cdef cnp.npy_intp* w_strides = cnp.PyArray_STRIDES(<cnp.ndarray>W)
    cdef cnp.npy_intp* x_strides = cnp.PyArray_STRIDES(<cnp.ndarray>X)
    cdef Py_ssize_t item = 4 if typenum == cnp.NPY_FLOAT else 8
    cdef void* w_ptr = cnp.PyArray_DATA(<cnp.ndarray>W)
    cdef void* x_ptr = cnp.PyArray_DATA(<cnp.ndarray>X)
    cdef void* s_ptr = cnp.PyArray_DATA(<cnp.ndarray>S)
    cdef void* dw_ptr = cnp.PyArray_DATA(<cnp.ndarray>dW)
    with nogil:
        if typenum == cnp.NPY_FLOAT:
            bare_gemms_run(<const float*>w_ptr, w_strides[0] // item, w_strides[1] // item,
                           <const float*>x_ptr, x_strides[0] // item, x_strides[1] // item,
                           n, d, c, <float*>s_ptr, <float*>dw_ptr)
        else:
            bare_gemms_run(<const double*>w_ptr, w_strides[0] // item, w_strides[1] // item,
                           <const double*>x_ptr, x_strides[0] // item, x_strides[1] // item,
                           n, d, c, <double*>s_ptr, <double*>dw_ptr)


cdef void bare_gemms_run(const floating* W, Py_ssize_t w_rs, Py_ssize_t w_cs,
                         const floating* X, Py_ssize_t x_rs, Py_ssize_t x_cs,
                         Py_ssize_t n, Py_ssize_t d, Py_ssize_t c, floating* S,
                         floating* dW) noexcept nogil:
    gemm(n, c, d, 1, X, x_rs, x_cs, W, w_rs, w_cs, 0, S, c)
    gemm(d, c, n, 1, X, x_cs, x_rs, S, c, 1, 0, dW, c)


# Lanes of the streaming read: enough independent sums (four 16-byte vectors
# of float32) that the adds never wait on each other and the loop runs at
# the speed of memory.
cdef enum:
    STREAMING_LANES = 16


def streaming_read(const floating[::1] s, const floating[:, ::1] s_c):
    """The floor of `ranking_hinge`: one pass reading s and s_c (both
    contiguous) on one thread, summing them in the data's dtype so the
    reads cannot be optimised away.

    Each array is summed in STREAMING_LANES independent lanes, so that
    memory, not a chain of dependent adds, sets the pace."""
    cdef floating lanes[STREAMING_LANES]
    cdef Py_ssize_t k
    for k in range(STREAMING_LANES):
        lanes[k] = 0
    with nogil:
        streaming_sum(&s[0] if s.shape[0] > 0 else NULL, s.shape[0], lanes)
        streaming_sum(&s_c[0, 0] if s_c.shape[0] * s_c.shape[1] > 0 else NULL,
                      s_c.shape[0] * s_c.shape[1], lanes)
    cdef double total = 0.0
    for k in range(STREAMING_LANES):
        total += lanes[k]
    return total


cdef inline void streaming_sum(const floating* x, Py_ssize_t n,
                               floating* lanes) noexcept nogil:
    cdef Py_ssize_t i = 0, k
    while i + STREAMING_LANES <= n:
        for k in range(STREAMING_LANES):
            lanes[k] += x[i + k]
        i += STREAMING_LANES
    while i < n:
        lanes[0] += x[i]
        i += 1


def bare_linear_backward(const floating[:, :] dY, const floating[:, :] X,
                         const floating[:, :] W, floating[:, ::1] dX,
                         floating[:, ::1] dW, double[::1] col_sum):
    """The floor of `linear_backward`: dW = X^T dY, dX = dY W^T and the
    float64 column sums of dY, nothing else (the benchmarks divide by it)."""
    cdef Py_ssize_t n = dY.shape[0], d_out = dY.shape[1], d_in = X.shape[1]
    cdef Py_ssize_t item = sizeof(floating)
    cdef Py_ssize_t j
    with nogil:
        for j in range(d_out):
            col_sum[j] = 0.0
        column_sums(&dY[0, 0], dY.strides[0] // item, dY.strides[1] // item, n, d_out,
                    &col_sum[0])
        gemm(d_in, d_out, n, 1, &X[0, 0], X.strides[1] // item, X.strides[0] // item,
             &dY[0, 0], dY.strides[0] // item, dY.strides[1] // item, 0, &dW[0, 0], d_out)
        gemm(n, d_in, d_out, 1, &dY[0, 0], dY.strides[0] // item, dY.strides[1] // item,
             &W[0, 0], W.strides[1] // item, W.strides[0] // item, 0, &dX[0, 0], d_in)


ctypedef fused column_index:
    int
    long long


def csr_read(const floating[::1] data, const column_index[::1] indices):
    """The floor of the sparse passes: one read of a CSR matrix's values and
    column indices on one thread, each summed in STREAMING_LANES lanes (the
    indices as integers) so that the reads cannot be optimised away."""
    cdef floating lanes[STREAMING_LANES]
    cdef long long index_lanes[STREAMING_LANES]
    cdef Py_ssize_t n = data.shape[0], i, k
    for k in range(STREAMING_LANES):
        lanes[k] = 0
        index_lanes[k] = 0
    with nogil:
        if n > 0:
            streaming_sum(&data[0], n, lanes)
        i = 0
        while i + STREAMING_LANES <= indices.shape[0]:
            for k in range(STREAMING_LANES):
                index_lanes[k] += indices[i + k]
            i += STREAMING_LANES
        while i < indices.shape[0]:
            index_lanes[0] += indices[i]
            i += 1
    cdef double total = 0.0
    for k in range(STREAMING_LANES):
        total += lanes[k] + index_lanes[k]
    return total
