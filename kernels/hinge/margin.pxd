# The margin pass of the multiclass hinge: layers 2 and 3 of the hinge
# family (kernels/README.md), shared by every driver that has a block of
# scores (multiclass_hinge, both svm_loss paths).
#
# Row helpers turn one score row into its gradient row in place and return
# the row's loss (`weston_watkins_row`, `crammer_singer_row`); `weighted_row`
# adds the row's weight; `margin_pass` runs them over a block of rows,
# serially or on a team of threads. Each row's weighted loss goes to its own
# slot, and the caller adds the slots in a fixed order (`pairwise_sum`), so
# results are identical for every thread count.
#
# Arithmetic, in the same order as `maxmargin.reference`:
# - margins m_ij = (s_ij - s_iy) + delta are evaluated in the data's dtype;
# - max(0, m)^p, row sums, weights and reductions are float64;
# - gradient coefficients are float64, rounded once to the data's dtype.

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport INFINITY

from common.scalars cimport positive_part, unit_slope, positive_part_sd, unit_slope_sd

# Whole Weston-Watkins rows in 16-byte vectors (margin_rows.h), for rows
# whose label score is finite: the same lanes, so the same bits, as the
# scalar loop of `weston_watkins_terms`.
cdef extern from "hinge/margin_rows.h":
    const bint VECTOR_ROWS "MAXMARGIN_VECTOR_ROWS"
    double ww_row_f32 "maxmargin_ww_row_f32"(
        float* g, Py_ssize_t n, Py_ssize_t label, float delta, int p,
        double coef) noexcept nogil
    double ww_row_f64 "maxmargin_ww_row_f64"(
        double* g, Py_ssize_t n, Py_ssize_t label, double delta, int p,
        double coef) noexcept nogil
    Py_ssize_t ww_rows_f32 "maxmargin_ww_rows_f32"(
        float* S, Py_ssize_t n_rows, Py_ssize_t n, const Py_ssize_t* y, float delta,
        int p, double coef, double* row_loss) noexcept nogil
    Py_ssize_t ww_rows_f64 "maxmargin_ww_rows_f64"(
        double* S, Py_ssize_t n_rows, Py_ssize_t n, const Py_ssize_t* y, double delta,
        int p, double coef, double* row_loss) noexcept nogil


# --- row helpers (in place: g holds the scores on entry, dL/ds on exit) ---

cdef inline void weston_watkins_terms(
        floating* g, Py_ssize_t n_classes, Py_ssize_t label, floating s_label,
        floating delta, int p, double coef, double* loss_lanes,
        double* slope_lanes) noexcept nogil:
    """Every class j of one row: replace s_j by coef * slope_j and add
    max(0, m_j)^p and slope_j into four running lanes.

    The label's own column gets the margin -inf (term 0, slope 0) by a select,
    so the loop runs over all classes: its trip count is the same for every
    row and never mispredicted, where splitting the row at its label gave
    two loops of random length. Four lanes are four independent sums instead
    of one dependency chain; their order is fixed, so the result depends on
    nothing but the row. The margin is rounded in the data's dtype, then
    widened to double (exact), so every select is a double select: branch-free
    vector code for float32 too.
    """
    cdef Py_ssize_t j = 0, k
    cdef double margin, term, slope
    if p == 1:
        while j + 4 <= n_classes:
            for k in range(4):
                margin = <floating>(g[j + k] - s_label + delta)
                margin = -INFINITY if j + k == label else margin
                slope = unit_slope_sd(margin)
                loss_lanes[k] += positive_part_sd(margin)
                slope_lanes[k] += slope
                g[j + k] = <floating>(coef * slope)
            j += 4
        while j < n_classes:
            margin = <floating>(g[j] - s_label + delta)
            margin = -INFINITY if j == label else margin
            slope = unit_slope_sd(margin)
            loss_lanes[0] += positive_part_sd(margin)
            slope_lanes[0] += slope
            g[j] = <floating>(coef * slope)
            j += 1
    else:
        # p = 2: term t^2 and slope 2t with t = max(0, m); NaN flows through.
        while j + 4 <= n_classes:
            for k in range(4):
                margin = <floating>(g[j + k] - s_label + delta)
                term = positive_part_sd(-INFINITY if j + k == label else margin)
                loss_lanes[k] += term * term
                slope_lanes[k] += 2.0 * term
                g[j + k] = <floating>(coef * (2.0 * term))
            j += 4
        while j < n_classes:
            margin = <floating>(g[j] - s_label + delta)
            term = positive_part_sd(-INFINITY if j == label else margin)
            loss_lanes[0] += term * term
            slope_lanes[0] += 2.0 * term
            g[j] = <floating>(coef * (2.0 * term))
            j += 1


cdef inline double weston_watkins_row(
        floating* g, Py_ssize_t n_classes, Py_ssize_t label, floating delta,
        int p, double coef) noexcept nogil:
    """L = sum_{j != y} max(0, s_j - s_y + delta)^p for one sample, s = g.

    Leaves g_j = coef * dL/ds_j and returns the unweighted L.
    """
    cdef floating s_label = g[label]
    if VECTOR_ROWS and s_label - s_label == 0:
        # s_y finite (delta always is): the label's column can take the
        # score -inf and the row go through vectors with no label test, in
        # the lanes of the loop below (margin_rows.h).
        if floating is float:
            return ww_row_f32(g, n_classes, label, delta, p, coef)
        else:
            return ww_row_f64(g, n_classes, label, delta, p, coef)
    cdef double loss_lanes[4]
    cdef double slope_lanes[4]
    cdef Py_ssize_t k
    for k in range(4):
        loss_lanes[k] = 0.0
        slope_lanes[k] = 0.0
    weston_watkins_terms(g, n_classes, label, s_label, delta, p, coef,
                         loss_lanes, slope_lanes)
    # An add gate: every violated class pushes s_y down by its own slope.
    g[label] = <floating>(-coef * ((slope_lanes[0] + slope_lanes[1])
                                   + (slope_lanes[2] + slope_lanes[3])))
    return (loss_lanes[0] + loss_lanes[1]) + (loss_lanes[2] + loss_lanes[3])


cdef inline double crammer_singer_row(
        floating* g, Py_ssize_t n_classes, Py_ssize_t label, floating delta,
        int p, double coef) noexcept nogil:
    """L = max(0, max_{j != y} s_j - s_y + delta)^p for one sample, s = g.

    A max gate: the gradient goes to the first maximising class j* only (ties
    to the lowest index; a NaN score counts as the maximum, as in np.argmax).
    With a single class there is no rival: L = 0 and g = 0.
    """
    cdef Py_ssize_t j, best_j = -1
    cdef floating best = 0, value, margin
    cdef double slope
    for j in range(n_classes):
        if j == label:
            continue
        value = g[j]
        # `best == best` is false once best is NaN: the first NaN is kept.
        if best_j < 0 or value > best or (value != value and best == best):
            best = value
            best_j = j
    if best_j < 0:
        g[0] = 0
        return 0.0
    margin = best - g[label] + delta
    cdef double term = positive_part(margin)
    slope = unit_slope(margin) if p == 1 else 2.0 * term
    for j in range(n_classes):
        g[j] = 0
    g[best_j] = <floating>(coef * slope)
    g[label] = <floating>(-coef * slope)
    return term if p == 1 else term * term


# --- the pass over a block of rows -----------------------------------------

cdef inline double weighted_row(
        const floating* S, Py_ssize_t row_stride, Py_ssize_t col_stride,
        Py_ssize_t n_classes, const Py_ssize_t* y, floating delta, int p,
        bint crammer_singer, const double* sample_weight,
        const double* class_weight, double denom, floating* G,
        Py_ssize_t i) noexcept nogil:
    """Row i: its weight w_i = sample_weight[i] * class_weight[y_i] (a missing
    weight is 1), gradient row scaled by w_i / denom, returns w_i * L_i.

    Scores are first gathered into the gradient row (a no-op when G is S),
    so the row helpers always work in place on contiguous memory.
    """
    cdef double weight = 1.0
    cdef Py_ssize_t j, label = y[i]
    cdef const floating* s = S + i * row_stride
    cdef floating* g = G + i * n_classes
    if sample_weight != NULL:
        weight = sample_weight[i]
    if class_weight != NULL:
        weight = weight * class_weight[label]
    if <const floating*>g != s:
        for j in range(n_classes):
            g[j] = s[j * col_stride]
    if crammer_singer:
        return weight * crammer_singer_row(g, n_classes, label, delta, p, weight / denom)
    return weight * weston_watkins_row(g, n_classes, label, delta, p, weight / denom)


cdef inline void margin_pass(
        const floating* S, Py_ssize_t row_stride, Py_ssize_t col_stride,
        Py_ssize_t n_samples, Py_ssize_t n_classes, const Py_ssize_t* y,
        floating delta, int p, bint crammer_singer,
        const double* sample_weight, const double* class_weight, double denom,
        floating* G, double* row_loss, int n_threads) noexcept nogil:
    """Loss and gradient for every row of S (n_samples, n_classes).

    G (n_samples, n_classes) is C-contiguous and may be S itself. row_loss
    receives each w_i * L_i; the caller sums them (`pairwise_sum`). With
    n_threads > 1 the rows are shared among that many threads (the caller
    decides when a pass is large enough to pay for a team); each row's
    result is the same whichever thread computes it.
    """
    cdef Py_ssize_t i
    cdef bint parallel = n_threads > 1
    if (VECTOR_ROWS and not parallel and not crammer_singer and sample_weight == NULL
            and class_weight == NULL and <const floating*>G == S
            and row_stride == n_classes and col_stride == 1):
        # Unweighted Weston-Watkins in place, serial: runs of rows in C
        # (margin_rows.h), one coefficient 1 / denom (= w_i / denom at w_i =
        # 1); a row with a non-finite s_y goes through weighted_row.
        i = 0
        while i < n_samples:
            if floating is float:
                i += ww_rows_f32(G + i * n_classes, n_samples - i, n_classes, y + i,
                                 delta, p, 1.0 / denom, row_loss + i)
            else:
                i += ww_rows_f64(G + i * n_classes, n_samples - i, n_classes, y + i,
                                 delta, p, 1.0 / denom, row_loss + i)
            if i < n_samples:
                row_loss[i] = weighted_row(S, row_stride, col_stride, n_classes, y,
                                           delta, p, crammer_singer, sample_weight,
                                           class_weight, denom, G, i)
                i += 1
    elif parallel:
        for i in prange(n_samples, schedule="dynamic", chunksize=16, num_threads=n_threads):
            row_loss[i] = weighted_row(S, row_stride, col_stride, n_classes, y,
                                       delta, p, crammer_singer, sample_weight,
                                       class_weight, denom, G, i)
    else:
        for i in range(n_samples):
            row_loss[i] = weighted_row(S, row_stride, col_stride, n_classes, y,
                                       delta, p, crammer_singer, sample_weight,
                                       class_weight, denom, G, i)
