"""Layer kernels: the linear layer forward and backward, the plain matrix-product
backward pass, and the embedding scatter.

Design
------
1. Matrix products go through the BLAS shim (common/blas.pxd) with each operand's
   own strides: X, W and dY are never copied or transposed in memory.
2. The elementwise work of a layer is one pass over its output, right beside
   the GEMM:
   - forward:  Y = f(X W + b) is the GEMM into Y, then Y = f(Y + b) in place;
   - backward: dZ = dY * f'(Y) in one pass that also sums db = sum_i dZ_i in
     float64; then dW = X^T dZ and dX = dZ W^T. Without an activation dZ is
     dY itself and goes to BLAS as it is.
3. Threads (`n_threads`) only ever split these passes, never change what is
   computed: the forward pass splits rows; the backward pass splits columns,
   so that every column's db is summed by one thread in row order, exactly
   like NumPy's `dZ.sum(axis=0)`. Results are identical for any thread count.

Arithmetic (shared with `maxmargin.reference`):
- the activation is evaluated in float64 on the dtype's pre-activation
  X W + b (rounded in the dtype) and rounded once to the dtype;
- its derivative is taken from Y in the data's dtype: relu' = [Y > 0] (0 at
  exactly 0, NaN for a NaN Y), tanh' = 1 - Y*Y, sigmoid' = Y * (1 - Y);
- db accumulates in float64 and is rounded once.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport exp, tanh
from libc.stdlib cimport malloc, free

from common.blas cimport gemm
from common.index_check cimport first_out_of_range
from layers.column_sums cimport column_sums

# Activation codes, the order of maxmargin.layers.ACTIVATIONS.
cdef enum:
    IDENTITY = 0
    RELU = 1
    TANH = 2
    SIGMOID = 3

# The family's tunables (maxmargin._tunables, with each one's reason), set
# by maxmargin._dispatch through `_configure`.
ctypedef struct LayersTunables:
    Py_ssize_t parallel_min_cheap
    Py_ssize_t parallel_min_transcendental

cdef LayersTunables TUNE
cdef bint CONFIGURED = False

# Column blocks of the parallel backward pass are multiples of this many
# elements (a 64-byte cache line of float32), so threads rarely share a line.
cdef enum:
    COLUMN_ALIGN = 16


def _configure(str path, dict tunables):
    """Use these tunables (every field of LayersTunables); the layers have
    no SIMD kernels of their own, so `path` is not used. Called by
    maxmargin._dispatch; process-wide."""
    global TUNE, CONFIGURED
    TUNE = tunables
    CONFIGURED = True


def _configuration():
    """The tunables in force."""
    return None, TUNE


# --- 1. scalar helpers ----------------------------------------------------

cdef inline double activate(double z, int activation) noexcept nogil:
    """f(z) for one pre-activation. NaN stays NaN; relu is spelled as the max
    instruction's rule (`0 > z ? 0 : z`) so it is one instruction."""
    if activation == RELU:
        return 0 if 0 > z else z
    if activation == TANH:
        return tanh(z)
    if activation == SIGMOID:
        # exp(-z) overflows to inf for z < -709 and then 1 / inf = 0: exact.
        return 1.0 / (1.0 + exp(-z))
    return z


cdef inline floating relu_gradient(floating g, floating y) noexcept nogil:
    """dY routed through relu: g where y > 0; 0 at and below the kink; NaN for
    a NaN y (never silently 0). Selects, not branches."""
    cdef floating blocked = y if y != y else 0
    return g if y > 0 else blocked


# --- 2. elementwise passes ---------------------------------------------------

cdef void bias_activation_rows(floating* Y, Py_ssize_t n_cols, const floating* b,
                               int activation, Py_ssize_t row_begin,
                               Py_ssize_t row_end) noexcept nogil:
    """Y[i] = f(Y[i] + b) for rows [row_begin, row_end) of the C-contiguous Y.

    The bias is added in the data's dtype (as X W + b is in NumPy); f runs in
    float64 and is rounded once."""
    cdef Py_ssize_t i, j
    cdef floating z
    cdef floating* row
    for i in range(row_begin, row_end):
        row = Y + i * n_cols
        if activation == IDENTITY:
            for j in range(n_cols):
                row[j] = row[j] + b[j]
        elif activation == RELU:
            for j in range(n_cols):
                z = row[j] + b[j] if b != NULL else row[j]
                row[j] = 0 if 0 > z else z
        else:
            for j in range(n_cols):
                z = row[j] + b[j] if b != NULL else row[j]
                row[j] = <floating>activate(z, activation)


cdef void forward_pass(floating* Y, Py_ssize_t n_rows, Py_ssize_t n_cols,
                       const floating* b, int activation, int n_threads) noexcept nogil:
    """Bias and activation over Y (n_rows, n_cols), split by rows."""
    cdef Py_ssize_t chunk, c, n_chunks
    if activation == IDENTITY and b == NULL:
        return
    cdef Py_ssize_t threshold = (TUNE.parallel_min_transcendental
                                 if activation == TANH or activation == SIGMOID
                                 else TUNE.parallel_min_cheap)
    if n_threads > 1 and n_rows > 1 and n_rows * n_cols >= threshold:
        n_chunks = min(<Py_ssize_t>n_threads, n_rows)
        chunk = (n_rows + n_chunks - 1) // n_chunks
        for c in prange(n_chunks, schedule="static", chunksize=1, num_threads=n_threads):
            bias_activation_rows(Y, n_cols, b, activation, c * chunk,
                                 min(n_rows, (c + 1) * chunk))
    else:
        bias_activation_rows(Y, n_cols, b, activation, 0, n_rows)


cdef void backward_columns(const floating* dY, Py_ssize_t dy_rs, Py_ssize_t dy_cs,
                           const floating* Y, floating* dZ, Py_ssize_t n_rows,
                           Py_ssize_t n_cols, int activation, double* col_sum,
                           Py_ssize_t col_begin, Py_ssize_t col_end) noexcept nogil:
    """Columns [col_begin, col_end) of dZ = dY * f'(Y), and their float64 sums
    added into col_sum (if not NULL), each column in row order.

    Y and dZ are C-contiguous (n_rows, n_cols); dY has any element strides."""
    cdef Py_ssize_t i, j
    cdef const floating* g
    cdef const floating* y
    cdef floating* z
    cdef floating one = 1
    for i in range(n_rows):
        g = dY + i * dy_rs
        y = Y + i * n_cols
        z = dZ + i * n_cols
        if activation == RELU:
            for j in range(col_begin, col_end):
                z[j] = relu_gradient(g[j * dy_cs], y[j])
        elif activation == TANH:
            for j in range(col_begin, col_end):
                z[j] = g[j * dy_cs] * (one - y[j] * y[j])
        else:  # SIGMOID
            for j in range(col_begin, col_end):
                z[j] = g[j * dy_cs] * (y[j] * (one - y[j]))
        if col_sum != NULL:
            for j in range(col_begin, col_end):
                col_sum[j] += z[j]


cdef void backward_pass(const floating* dY, Py_ssize_t dy_rs, Py_ssize_t dy_cs,
                        const floating* Y, floating* dZ, Py_ssize_t n_rows,
                        Py_ssize_t n_cols, int activation, double* col_sum,
                        int n_threads) noexcept nogil:
    """dZ = dY * f'(Y) and db's float64 column sums, split by columns."""
    cdef Py_ssize_t block, c, n_blocks
    if (n_threads > 1 and n_cols >= 2 * COLUMN_ALIGN
            and n_rows * n_cols >= TUNE.parallel_min_cheap):
        n_blocks = min(<Py_ssize_t>n_threads, n_cols // COLUMN_ALIGN)
        block = (n_cols + n_blocks - 1) // n_blocks
        block = (block + COLUMN_ALIGN - 1) // COLUMN_ALIGN * COLUMN_ALIGN
        for c in prange(n_blocks, schedule="static", chunksize=1, num_threads=n_threads):
            backward_columns(dY, dy_rs, dy_cs, Y, dZ, n_rows, n_cols, activation,
                             col_sum, min(n_cols, c * block), min(n_cols, (c + 1) * block))
    else:
        backward_columns(dY, dy_rs, dy_cs, Y, dZ, n_rows, n_cols, activation,
                         col_sum, 0, n_cols)


# --- 3. entry points (called by maxmargin.layers) ----------------------------

cdef inline int check_configured() except -1:
    if not CONFIGURED:
        raise RuntimeError("maxmargin._layers: used before maxmargin._dispatch configured it")
    return 0



def linear_forward_kernel(const floating[:, :] X, const floating[:, :] W,
                          const floating[::1] b, int activation,
                          floating[:, ::1] Y, int n_threads):
    """Y (N, D_out) = f(X W + b): one GEMM into Y, then bias and activation in
    one pass over Y. X (N, D_in) and W (D_in, D_out) have BLAS-servable
    strides; Y is C-contiguous and overlaps neither."""
    cdef Py_ssize_t n = X.shape[0], d_in = X.shape[1], d_out = W.shape[1]
    cdef Py_ssize_t item = sizeof(floating)
    cdef const floating* b_ptr = NULL
    check_configured()
    if n == 0 or d_out == 0:
        return
    if b is not None:
        b_ptr = &b[0]
    cdef const floating* x_ptr = &X[0, 0] if d_in > 0 else NULL
    cdef const floating* w_ptr = &W[0, 0] if d_in > 0 else NULL
    with nogil:
        gemm(n, d_out, d_in, 1, x_ptr, X.strides[0] // item, X.strides[1] // item,
             w_ptr, W.strides[0] // item, W.strides[1] // item, 0, &Y[0, 0], d_out)
        forward_pass(&Y[0, 0], n, d_out, b_ptr, activation, n_threads)


def linear_backward_kernel(const floating[:, :] dY, const floating[:, :] X,
                           const floating[:, :] W, const floating[:, ::1] Y,
                           int activation, floating[:, ::1] dZ_scratch,
                           floating[:, ::1] dX, floating[:, ::1] dW,
                           floating[::1] db, bint add_dX, bint add_dW, bint add_db,
                           int n_threads):
    """Backward pass of Y = f(X W + b).

    dZ = dY * f'(Y) (dY itself for the identity), db (+)= sum_i dZ_i in
    float64, dW (+)= X^T dZ, and dX (+)= dZ W^T when dX is not None.
    dY (N, D_out), X (N, D_in) and W (D_in, D_out) have BLAS-servable strides;
    Y and dZ_scratch (N, D_out) (only used with an activation), dX, dW and db
    are C-contiguous.
    add_dX, add_dW and add_db add into that output (beta = 1 in its GEMM)
    instead of overwriting it, with no temporary.
    """
    cdef Py_ssize_t n = dY.shape[0], d_out = dY.shape[1], d_in = X.shape[1]
    cdef Py_ssize_t item = sizeof(floating)
    cdef Py_ssize_t x_rs = X.strides[0] // item, x_cs = X.strides[1] // item
    cdef Py_ssize_t w_rs = W.strides[0] // item, w_cs = W.strides[1] // item
    cdef Py_ssize_t dz_rs = dY.strides[0] // item, dz_cs = dY.strides[1] // item
    cdef const floating* dY_ptr = &dY[0, 0] if n > 0 and d_out > 0 else NULL
    cdef const floating* x_ptr = &X[0, 0] if n > 0 and d_in > 0 else NULL
    cdef const floating* w_ptr = &W[0, 0] if d_in > 0 and d_out > 0 else NULL
    cdef floating* dX_ptr = &dX[0, 0] if dX is not None and n > 0 and d_in > 0 else NULL
    cdef floating* dW_ptr = &dW[0, 0] if d_in > 0 and d_out > 0 else NULL
    cdef const floating* dZ = dY_ptr
    cdef floating* scratch = NULL
    cdef double* col_sum = NULL
    cdef Py_ssize_t j
    cdef bint need_dX = dX is not None
    check_configured()

    if activation != IDENTITY and n > 0 and d_out > 0:
        scratch = &dZ_scratch[0, 0]
    if db is not None:
        col_sum = <double*>malloc(max(d_out, <Py_ssize_t>1) * sizeof(double))
        if col_sum == NULL:
            raise MemoryError("linear_backward: cannot allocate db's accumulator")

    with nogil:
        if col_sum != NULL:
            for j in range(d_out):
                col_sum[j] = 0.0
        if scratch != NULL:
            backward_pass(dY_ptr, dz_rs, dz_cs, &Y[0, 0], scratch, n, d_out,
                          activation, col_sum, n_threads)
            dZ = scratch
            dz_rs = d_out
            dz_cs = 1
        elif col_sum != NULL and n > 0:
            column_sums(dY_ptr, dz_rs, dz_cs, n, d_out, col_sum)
        # dW (D_in, D_out) = X^T dZ: X^T is X read with its strides swapped.
        gemm(d_in, d_out, n, 1, x_ptr, x_cs, x_rs, dZ, dz_rs, dz_cs, 1 if add_dW else 0,
             dW_ptr, d_out)
        # dX (N, D_in) = dZ W^T.
        if need_dX:
            gemm(n, d_in, d_out, 1, dZ, dz_rs, dz_cs, w_ptr, w_cs, w_rs, 1 if add_dX else 0,
                 dX_ptr, d_in)
        if col_sum != NULL:
            for j in range(d_out):
                db[j] = <floating>(db[j] + col_sum[j]) if add_db else <floating>col_sum[j]

    free(col_sum)


def embedding_backward_kernel(const floating[:, :] dX, const Py_ssize_t[::1] indices,
                              floating[:, ::1] dL):
    """dL[indices[m]] += dX[m] for m = 0..M-1, in order of m (repeated indices
    add up, exactly as `np.add.at`). Serial: the scatter is a few adds per
    byte moved, and a fixed order makes it deterministic.

    Returns -1, or the position of the first index outside [0, V) (then dL is
    left untouched)."""
    cdef Py_ssize_t n = dX.shape[0], width = dX.shape[1], n_rows = dL.shape[0]
    cdef Py_ssize_t item = sizeof(floating)
    cdef Py_ssize_t rs = dX.strides[0] // item, cs = dX.strides[1] // item
    cdef Py_ssize_t m, j, bad
    cdef const floating* src
    cdef floating* dst
    if n == 0:
        return -1
    bad = first_out_of_range(&indices[0], n, n_rows)
    if bad >= 0 or width == 0:
        return bad
    with nogil:
        for m in range(n):
            src = &dX[0, 0] + m * rs
            dst = &dL[0, 0] + indices[m] * width
            if cs == 1:
                for j in range(width):
                    dst[j] = dst[j] + src[j]
            else:
                for j in range(width):
                    dst[j] = dst[j] + src[j * cs]
    return -1


def bias_activation_kernel(floating[:, ::1] Y, const floating[::1] b, int activation,
                           int n_threads):
    """Y = f(Y + b) in place: the forward pass's elementwise half, for a
    product computed elsewhere (a sparse X's, maxmargin.sparse)."""
    check_configured()
    if Y.shape[0] == 0 or Y.shape[1] == 0:
        return
    with nogil:
        forward_pass(&Y[0, 0], Y.shape[0], Y.shape[1], NULL if b is None else &b[0],
                     activation, n_threads)


def backward_elementwise_kernel(const floating[:, :] dY, const floating[:, ::1] Y,
                                int activation, floating[:, ::1] dZ, floating[::1] db,
                                bint add_db, int n_threads):
    """The backward pass's elementwise half, for a product done elsewhere (a
    sparse X's): dZ = dY * f'(Y) (not written for the identity, whose dZ is
    dY) and, when db is given, db (+)= dZ's float64 column sums."""
    cdef Py_ssize_t n = dY.shape[0], d_out = dY.shape[1], j
    cdef Py_ssize_t item = sizeof(floating)
    cdef double* col_sum = NULL
    check_configured()
    if db is not None:
        col_sum = <double*>malloc(max(d_out, <Py_ssize_t>1) * sizeof(double))
        if col_sum == NULL:
            raise MemoryError("linear_backward: cannot allocate db's accumulator")
    with nogil:
        if col_sum != NULL:
            for j in range(d_out):
                col_sum[j] = 0.0
        if n > 0 and d_out > 0:
            if activation != IDENTITY:
                backward_pass(&dY[0, 0], dY.strides[0] // item, dY.strides[1] // item, &Y[0, 0],
                              &dZ[0, 0], n, d_out, activation, col_sum, n_threads)
            elif col_sum != NULL:
                column_sums(&dY[0, 0], dY.strides[0] // item, dY.strides[1] // item, n, d_out,
                            col_sum)
        if col_sum != NULL:
            for j in range(d_out):
                db[j] = <floating>(db[j] + col_sum[j]) if add_db else <floating>col_sum[j]
    free(col_sum)
