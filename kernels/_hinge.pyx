"""Multiclass hinge (SVM) loss-and-gradient kernels.

Design
------
1. Scalar helpers, one formula each: `hinge_term` = max(0, m)^p and
   `hinge_slope` = its derivative (0 at the kink m = 0; NaN stays NaN).
2. Row helpers compute one sample's loss and write its gradient row:
   `weston_watkins_row` and `crammer_singer_row`. They read scores with any
   element stride and write a contiguous gradient row, which may be the score
   row itself (the fused `svm_loss` runs the margin pass in place).
3. The array loop `margin_pass` applies a row helper to every row, in a
   `prange` only when the pass is large enough to pay for a thread team. Each
   row's weighted loss goes to its own slot and `pairwise_sum` adds the slots
   in a fixed order, so results are identical for every thread count.
4. Entry points (`multiclass_hinge_kernel`, `svm_loss_kernel`) are called by
   `maxmargin.hinge` after it has validated and allocated everything. They
   trust their arguments, release the GIL for the whole computation, and do
   their matrix products through the BLAS shim (`_blas.pxd`).

Arithmetic, in the same order as `maxmargin.reference`:
- margins m_ij = (s_ij - s_iy) + delta are evaluated in the data's dtype;
- max(0, m)^p, row sums, weights and reductions are float64;
- gradient coefficients are float64, rounded once to the data's dtype.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport malloc, free

from _blas cimport gemm

# Below this many score entries the margin pass runs serially: starting (and
# afterwards spinning down) a thread team costs more than the pass itself, and
# the spinning threads slow down the BLAS call that follows (bench/RESULTS.md).
cdef Py_ssize_t PARALLEL_MIN_ELEMENTS = 1 << 18

# Rows per leaf of the pairwise sum (as in NumPy's own pairwise summation).
cdef Py_ssize_t PAIRWISE_BLOCK = 128


# --- 1. scalar helpers -----------------------------------------------------

cdef inline double hinge_term(double margin, int p) noexcept nogil:
    """max(0, margin)^p; a NaN margin gives NaN (never silently 0)."""
    if margin <= 0:
        return 0.0
    return margin if p == 1 else margin * margin


cdef inline double hinge_slope(double margin, int p) noexcept nogil:
    """d/dm max(0, m)^p at m = margin: 0 for m <= 0 (the subgradient at the
    kink is 0), 1 (p = 1) or 2m (p = 2) above it, NaN for a NaN margin."""
    if margin <= 0:
        return 0.0
    if p == 2:
        return 2.0 * margin
    return 1.0 if margin > 0 else margin  # the else branch is NaN


cdef double pairwise_sum(const double* x, Py_ssize_t n) noexcept nogil:
    """Sum of x[0:n] by pairwise halving: accurate to O(log n) ulps and in an
    order that depends only on n."""
    cdef double total = 0.0
    cdef Py_ssize_t i, half
    if n <= PAIRWISE_BLOCK:
        for i in range(n):
            total += x[i]
        return total
    half = (n // 2 // PAIRWISE_BLOCK) * PAIRWISE_BLOCK
    if half == 0:
        half = PAIRWISE_BLOCK
    return pairwise_sum(x, half) + pairwise_sum(x + half, n - half)


# --- 2. row helpers --------------------------------------------------------

cdef inline double weston_watkins_row(
        const floating* s, Py_ssize_t stride, Py_ssize_t n_classes,
        Py_ssize_t label, floating delta, int p, double coef,
        floating* g) noexcept nogil:
    """L = sum_{j != y} max(0, s_j - s_y + delta)^p for one sample.

    Writes g_j = coef * dL/ds_j (contiguous; g may alias s when stride == 1:
    s_y is read first and g_y written last). Returns the unweighted L.
    """
    cdef floating s_label = s[label * stride]
    cdef floating margin
    cdef double loss = 0.0, slope, slope_sum = 0.0
    cdef Py_ssize_t j
    for j in range(n_classes):
        if j == label:
            continue
        margin = s[j * stride] - s_label + delta
        loss += hinge_term(margin, p)
        slope = hinge_slope(margin, p)
        slope_sum += slope
        g[j] = <floating>(coef * slope)
    # An add gate: every violated class pushes s_y down by its own slope.
    g[label] = <floating>(-coef * slope_sum)
    return loss


cdef inline double crammer_singer_row(
        const floating* s, Py_ssize_t stride, Py_ssize_t n_classes,
        Py_ssize_t label, floating delta, int p, double coef,
        floating* g) noexcept nogil:
    """L = max(0, max_{j != y} s_j - s_y + delta)^p for one sample.

    A max gate: the gradient goes to the first maximising class j* only (ties
    to the lowest index; a NaN score counts as the maximum, as in np.argmax).
    With a single class there is no rival: L = 0 and g = 0.
    """
    cdef Py_ssize_t j, best_j = -1
    cdef floating best = 0, value, margin
    cdef double slope, loss
    for j in range(n_classes):
        if j == label:
            continue
        value = s[j * stride]
        # `best == best` is false once best is NaN: the first NaN is kept.
        if best_j < 0 or value > best or (value != value and best == best):
            best = value
            best_j = j
    if best_j < 0:
        g[0] = 0
        return 0.0
    margin = best - s[label * stride] + delta
    loss = hinge_term(margin, p)
    slope = hinge_slope(margin, p)
    for j in range(n_classes):
        g[j] = 0
    g[best_j] = <floating>(coef * slope)
    g[label] = <floating>(-coef * slope)
    return loss


# --- 3. array loops --------------------------------------------------------

cdef inline double weighted_row(
        const floating* S, Py_ssize_t row_stride, Py_ssize_t col_stride,
        Py_ssize_t n_classes, const Py_ssize_t* y, floating delta, int p,
        bint crammer_singer, const double* sample_weight,
        const double* class_weight, double denom, floating* G,
        Py_ssize_t i) noexcept nogil:
    """Row i: its weight w_i = sample_weight[i] * class_weight[y_i] (a missing
    weight is 1), gradient row scaled by w_i / denom, returns w_i * L_i."""
    cdef double weight = 1.0
    cdef Py_ssize_t label = y[i]
    if sample_weight != NULL:
        weight = sample_weight[i]
    if class_weight != NULL:
        weight = weight * class_weight[label]
    cdef const floating* s = S + i * row_stride
    cdef floating* g = G + i * n_classes
    if crammer_singer:
        return weight * crammer_singer_row(s, col_stride, n_classes, label,
                                           delta, p, weight / denom, g)
    return weight * weston_watkins_row(s, col_stride, n_classes, label,
                                       delta, p, weight / denom, g)


cdef double margin_pass(
        const floating* S, Py_ssize_t row_stride, Py_ssize_t col_stride,
        Py_ssize_t n_samples, Py_ssize_t n_classes, const Py_ssize_t* y,
        floating delta, int p, bint crammer_singer,
        const double* sample_weight, const double* class_weight, double denom,
        floating* G, double* row_loss, int n_threads) noexcept nogil:
    """Loss and gradient for every row of S (n_samples, n_classes).

    G (n_samples, n_classes) is C-contiguous and may be S itself. row_loss
    receives each w_i * L_i. Returns their sum (not divided by denom).
    """
    cdef Py_ssize_t i
    if n_threads > 1 and n_samples * n_classes >= PARALLEL_MIN_ELEMENTS:
        for i in prange(n_samples, schedule="static", num_threads=n_threads):
            row_loss[i] = weighted_row(S, row_stride, col_stride, n_classes, y,
                                       delta, p, crammer_singer, sample_weight,
                                       class_weight, denom, G, i)
    else:
        for i in range(n_samples):
            row_loss[i] = weighted_row(S, row_stride, col_stride, n_classes, y,
                                       delta, p, crammer_singer, sample_weight,
                                       class_weight, denom, G, i)
    return pairwise_sum(row_loss, n_samples)


# --- 4. entry points (called by maxmargin.hinge) ---------------------------

cdef inline const double* optional_ptr(const double[::1] a) noexcept nogil:
    """Data pointer of an optional weight vector; NULL for None (or empty)."""
    return NULL if a is None or a.shape[0] == 0 else &a[0]


def first_bad_label(const Py_ssize_t[::1] y, Py_ssize_t n_classes):
    """Index of the first label outside [0, n_classes), or -1 if all are valid."""
    cdef Py_ssize_t i, n = y.shape[0], first_bad = -1
    with nogil:
        for i in range(n):
            if y[i] < 0 or y[i] >= n_classes:
                first_bad = i
                break
    return first_bad


def multiclass_hinge_kernel(
        const floating[:, :] scores, const Py_ssize_t[::1] y, double delta,
        int p, bint crammer_singer, const double[::1] sample_weight,
        const double[::1] class_weight, double denom,
        floating[:, ::1] dscores, double[::1] row_loss, int n_threads):
    """Fill dscores (N, C) with d(loss)/d(scores) and row_loss (N,) with the
    weighted per-sample losses; return their sum divided by denom.

    scores may have any element strides; dscores may be scores itself.
    """
    cdef Py_ssize_t n_samples = scores.shape[0], n_classes = scores.shape[1]
    cdef double total = 0.0
    if n_samples == 0:
        return 0.0
    cdef Py_ssize_t itemsize = sizeof(floating)
    cdef Py_ssize_t row_stride = scores.strides[0] // itemsize
    cdef Py_ssize_t col_stride = scores.strides[1] // itemsize
    cdef const double* sw = optional_ptr(sample_weight)
    cdef const double* cw = optional_ptr(class_weight)
    with nogil:
        total = margin_pass(&scores[0, 0], row_stride, col_stride, n_samples,
                            n_classes, &y[0], <floating>delta, p, crammer_singer,
                            sw, cw, denom, &dscores[0, 0], &row_loss[0],
                            n_threads)
    return total / denom


def svm_loss_kernel(
        const floating[:, :] W, const floating[:, :] X, const Py_ssize_t[::1] y,
        const floating[::1] b, double reg, double delta, int p,
        bint crammer_singer, const double[::1] sample_weight,
        const double[::1] class_weight, double denom,
        floating[:, ::1] dW, floating[::1] db, bint accumulate, int n_threads):
    """CS231n's fused SVM loss from features; returns the loss.

    S = X W + b by one GEMM into a scratch (N, C) buffer, the margin pass turns
    S into G = dL/dS in place, dW (+)= X^T G + 2 reg W by one more GEMM, and
    db (+)= column sums of G accumulated in float64. W and X may have any
    BLAS-servable strides; dW and db are C-contiguous.
    """
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t n_classes = W.shape[1]
    cdef Py_ssize_t itemsize = sizeof(floating)
    cdef Py_ssize_t x_rs = X.strides[0] // itemsize, x_cs = X.strides[1] // itemsize
    cdef Py_ssize_t w_rs = W.strides[0] // itemsize, w_cs = W.strides[1] // itemsize
    cdef const floating* x_ptr = NULL
    cdef const floating* w_ptr = NULL
    cdef const floating* b_ptr = NULL if b is None else &b[0]
    cdef floating* db_ptr = NULL if db is None else &db[0]
    cdef const double* sw = optional_ptr(sample_weight)
    cdef const double* cw = optional_ptr(class_weight)
    cdef floating* S = NULL
    cdef double* row_loss = NULL
    cdef double* col_sum = NULL
    cdef double total = 0.0, sum_sq = 0.0
    cdef floating two_reg = <floating>(2.0 * reg)
    cdef floating beta
    cdef Py_ssize_t i, j

    if n_samples > 0 and n_features > 0:
        x_ptr = &X[0, 0]
    if n_features > 0:
        w_ptr = &W[0, 0]
    if n_samples > 0:
        S = <floating*>malloc(n_samples * n_classes * sizeof(floating))
        row_loss = <double*>malloc(n_samples * sizeof(double))
    if db_ptr != NULL:
        col_sum = <double*>malloc(n_classes * sizeof(double))
    if ((n_samples > 0 and (S == NULL or row_loss == NULL))
            or (db_ptr != NULL and col_sum == NULL)):
        free(S)
        free(row_loss)
        free(col_sum)
        raise MemoryError("svm_loss: cannot allocate the scratch score matrix")

    with nogil:
        # Scores. With a bias the scratch starts as rows of b and the GEMM adds
        # into it (beta = 1); BLAS would otherwise spend the same pass zeroing.
        if n_samples > 0:
            beta = 0
            if b_ptr != NULL:
                beta = 1
                for i in range(n_samples):
                    for j in range(n_classes):
                        S[i * n_classes + j] = b_ptr[j]
            gemm(n_samples, n_classes, n_features, 1, x_ptr, x_rs, x_cs,
                 w_ptr, w_rs, w_cs, beta, S, n_classes)
            total = margin_pass(S, n_classes, 1, n_samples, n_classes, &y[0],
                                <floating>delta, p, crammer_singer, sw, cw,
                                denom, S, row_loss, n_threads)

        # dW = X^T G (+ 2 reg W) (+ dW when accumulating), one GEMM.
        beta = 1 if accumulate else 0
        if reg != 0:
            for i in range(n_features):
                for j in range(n_classes):
                    sum_sq += <double>W[i, j] * <double>W[i, j]
                    if accumulate:
                        dW[i, j] += two_reg * W[i, j]
                    else:
                        dW[i, j] = two_reg * W[i, j]
            beta = 1
        gemm(n_features, n_classes, n_samples, 1, x_ptr, x_cs, x_rs,
             S, n_classes, 1, beta, &dW[0, 0] if n_features > 0 else NULL,
             n_classes)

        # db = column sums of G, in float64 whatever the dtype.
        if db_ptr != NULL:
            for j in range(n_classes):
                col_sum[j] = 0.0
            for i in range(n_samples):
                for j in range(n_classes):
                    col_sum[j] += S[i * n_classes + j]
            for j in range(n_classes):
                if accumulate:
                    db_ptr[j] = <floating>(db_ptr[j] + col_sum[j])
                else:
                    db_ptr[j] = <floating>col_sum[j]

    free(S)
    free(row_loss)
    free(col_sum)
    return total / denom + reg * sum_sq


def bare_gemms(const floating[:, :] W, const floating[:, :] X,
               floating[:, ::1] S, floating[:, ::1] dW):
    """The performance floor of `svm_loss`: S = X W and dW = X^T S, nothing else.

    The same BLAS calls on the same operands as `svm_loss_kernel`, for the
    benchmarks to divide by.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], c = W.shape[1]
    cdef Py_ssize_t itemsize = sizeof(floating)
    cdef Py_ssize_t x_rs = X.strides[0] // itemsize, x_cs = X.strides[1] // itemsize
    cdef Py_ssize_t w_rs = W.strides[0] // itemsize, w_cs = W.strides[1] // itemsize
    with nogil:
        gemm(n, c, d, 1, &X[0, 0], x_rs, x_cs, &W[0, 0], w_rs, w_cs, 0, &S[0, 0], c)
        gemm(d, c, n, 1, &X[0, 0], x_cs, x_rs, &S[0, 0], c, 1, 0, &dW[0, 0], c)
