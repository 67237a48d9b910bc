/* One Weston-Watkins score row in 16-byte vectors (GCC/Clang vector
 * extensions: SSE2 on x86-64, NEON on arm64; common/row_vectors.h). Used by
 * margin.pxd's `weston_watkins_row` and `margin_pass`.
 *
 * maxmargin_ww_row_f32/_f64(g, n, label, delta, p, coef), for a row whose
 * label score s_y = g[label] is finite, turns the scores g[0:n] into
 * coef * dL/ds in place and returns L = sum_{j != y} max(0, m_j)^p. The
 * label's column is first set to the score -inf, so its margin is -inf by
 * arithmetic (term 0, slope 0) and no class is tested against the label.
 * For class j, in lane k = j % 4 for the whole blocks of four and lane 0
 * for the last n % 4 classes (the scalar loop of margin.pxd, which rows
 * with a non-finite s_y take, uses the same lanes):
 *   m       = (g[j] - s_y) + delta, rounded in the data's dtype, widened
 *   t       = max(0, m), NaN passing through      (0 > m ? 0 : m)
 *   p = 1:  loss[k] += t, slope[k] += s, g[j] = coef * s, with
 *           s = (m > 0 ? 1 : 0) + (m is NaN ? m : 0)
 *   p = 2:  loss[k] += t * t, slope[k] += 2 t, g[j] = coef * 2 t
 * then g[y] = -coef * ((slope[0] + slope[1]) + (slope[2] + slope[3])) and
 * L = (loss[0] + loss[1]) + (loss[2] + loss[3]).
 * float32 rows with p = 1 and n >= 4 (mm_ww_row_unit_f32) compute the same
 * values in float32 lanes: their slopes are 0, 1 or NaN, whose lane counts
 * are exact in any order, so the last n % 4 classes' slopes may fall in
 * lanes 0..n%4-1 there; their terms still go into loss lane 0 in class
 * order. The label's lane is masked in registers where the row length is a
 * compile-time constant (ten classes) instead of stored as -inf.
 * MAXMARGIN_VECTOR_ROWS is 0 where the compiler has no vector extensions;
 * the row functions are then never called (the scalar loop does all rows).
 */
#ifndef MAXMARGIN_MARGIN_ROWS_H
#define MAXMARGIN_MARGIN_ROWS_H

#include "common/row_vectors.h"

#if MAXMARGIN_VECTOR_ROWS


/* Terms of two margins in two lanes: add into *loss and *slope, return the
 * gradient entries (before rounding to the data's dtype). */
static inline mm_v2d mm_ww_pair(mm_v2d m, int p, mm_v2d coef, mm_v2d *loss,
                                mm_v2d *slope)
{
    const mm_v2d two = {2.0, 2.0};
    mm_v2d t = mm_positive_part_v2d(m);
    if (p == 1) {
        mm_v2d s = mm_unit_slope_v2d(m);
        *loss += t;
        *slope += s;
        return coef * s;
    }
    *loss += t * t;
    *slope += two * t;
    return coef * (two * t);
}

/* The last n % 4 classes, one by one into lane 0 (loss0, slope0); returns
 * the gradient entry of margin m. */
static inline double mm_ww_single(double m, int p, double coef, double *loss0,
                                  double *slope0)
{
    if (p == 1) {
        double s = maxmargin_unit_slope_sd(m);
        *loss0 += maxmargin_positive_part_sd(m);
        *slope0 += s;
        return coef * s;
    }
    double t = maxmargin_positive_part_sd(m);
    *loss0 += t * t;
    *slope0 += 2.0 * t;
    return coef * (2.0 * t);
}

/* g[y] and L from the lanes. */
static inline double mm_ww_finish(mm_v2d loss_lo, mm_v2d loss_hi, mm_v2d slope_lo,
                                  mm_v2d slope_hi, double coef, double *g_label)
{
    *g_label = -coef * ((slope_lo[0] + slope_lo[1]) + (slope_hi[0] + slope_hi[1]));
    return (loss_lo[0] + loss_lo[1]) + (loss_hi[0] + loss_hi[1]);
}

/* g[label] = -inf, written as the whole 16-byte vector that holds it when
 * that vector lies inside the rows' blocks of four: the block's vector load
 * right after then takes its value straight from this store, where a 4- or
 * 8-byte store under a 16-byte load stalls it (no store forwarding). */
static inline void mm_set_minus_inf_f32(float *g, ptrdiff_t n, ptrdiff_t label)
{
    ptrdiff_t start = label & ~(ptrdiff_t)3;  /* label >= 0: label / 4 * 4 */
    if (start + 4 > n - n % 4) {
        g[label] = -INFINITY;
        return;
    }
    const mm_v4i lane = {0, 1, 2, 3};
    const mm_v4f minus_inf = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    mm_v4i is_label = (mm_v4i)(lane == (int)(label - start));
    mm_v4f v;
    memcpy(&v, g + start, 16);
    v = (mm_v4f)(((mm_v4i)v & ~is_label) | ((mm_v4i)minus_inf & is_label));
    memcpy(g + start, &v, 16);
}

static inline void mm_set_minus_inf_f64(double *g, ptrdiff_t n, ptrdiff_t label)
{
    ptrdiff_t start = label & ~(ptrdiff_t)1;  /* label >= 0: label / 2 * 2 */
    if (start + 2 > n - n % 4) {
        g[label] = -INFINITY;
        return;
    }
    /* Lane indices as doubles: SSE2 compares doubles, not 64-bit ints. */
    const mm_v2d lane = {0.0, 1.0}, minus_inf = {-INFINITY, -INFINITY};
    const mm_v2d at = {(double)(label - start), (double)(label - start)};
    mm_v2l is_label = (mm_v2l)(lane == at);
    mm_v2d v;
    memcpy(&v, g + start, 16);
    v = (mm_v2d)(((mm_v2l)v & ~is_label) | ((mm_v2l)minus_inf & is_label));
    memcpy(g + start, &v, 16);
}

/* The first r (1..3) floats at p into lanes 0..r-1 (the rest 0), and back:
 * loads and stores of exactly those bytes. */
static inline mm_v4f mm_load_partial_f32(const float *p, ptrdiff_t r)
{
    mm_v4f v = {0.0f, 0.0f, 0.0f, 0.0f};
    mm_v2f pair;
    switch (r) {
    case 1:
        v[0] = p[0];
        break;
    case 2:
        memcpy(&pair, p, 8);
        v = (mm_v4f){pair[0], pair[1], 0.0f, 0.0f};
        break;
    default:
        memcpy(&pair, p, 8);
        v = (mm_v4f){pair[0], pair[1], p[2], 0.0f};
    }
    return v;
}

static inline void mm_store_partial_f32(float *p, ptrdiff_t r, mm_v4f v)
{
    const mm_v2f pair = {v[0], v[1]};
    switch (r) {
    case 1:
        p[0] = v[0];
        break;
    case 2:
        memcpy(p, &pair, 8);
        break;
    default:
        memcpy(p, &pair, 8);
        p[2] = v[2];
    }
}

/* maxmargin_ww_row_f32 for p = 1 and n >= 4, in float32 lanes but for the
 * loss. A slope is 0, 1 or NaN, so the lanes' slope counts are exact floats
 * (n < MM_FLOAT_COUNT_MAX) and (float)coef * slope is coef * slope rounded
 * to float: the values of the float64 lanes, for half the instructions. The
 * last r = n % 4 classes are one vector too, their terms masked to the r
 * live lanes and added into loss lane 0 one by one in class order, as the
 * scalar tail does; a label among them is masked in the register (a 4-byte
 * store of -inf under the 8- or 16-byte load would stall it). With
 * label_in_registers (a constant at the call site) a label in the blocks is
 * masked the same way, to -inf in its lane, instead of stored. */
static inline __attribute__((always_inline)) double mm_ww_row_unit_f32(
    float *g, ptrdiff_t n, ptrdiff_t label, float delta, double coef, int label_in_registers)
{
    const float s_label = g[label], coef_f = (float)coef;
    const mm_v4f s4 = {s_label, s_label, s_label, s_label};
    const mm_v4f d4 = {delta, delta, delta, delta};
    const mm_v4f coef4 = {coef_f, coef_f, coef_f, coef_f};
    const ptrdiff_t r = n % 4, body = n - r;
    mm_v2d loss_lo = {0.0, 0.0}, loss_hi = loss_lo;
    mm_v4f count = {0.0f, 0.0f, 0.0f, 0.0f};
    ptrdiff_t j;
    const mm_v4i lane = {0, 1, 2, 3};
    if (label < body && !label_in_registers)
        mm_set_minus_inf_f32(g, n, label);
    for (j = 0; j < body; j += 4) {
        mm_v4f m4;
        memcpy(&m4, g + j, 16);
        m4 = (m4 - s4) + d4;
        if (label_in_registers) {
            const mm_v4f minus_inf = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
            const mm_v4i is_label = (lane + (int)j) == (int)label;
            m4 = (mm_v4f)(((mm_v4i)m4 & ~is_label) | ((mm_v4i)minus_inf & is_label));
        }
        const mm_v4f t4 = mm_positive_part_v4f(m4), slope4 = mm_unit_slope_v4f(m4);
        loss_lo += mm_widen_low(t4);
        loss_hi += mm_widen_high(t4);
        count += slope4;
        const mm_v4f out = coef4 * slope4;
        memcpy(g + j, &out, 16);
    }
    if (r > 0) {
        const mm_v4f m4 = (mm_load_partial_f32(g + body, r) - s4) + d4;
        const int label_lane = label >= body ? (int)(label - body) : -1;
        const mm_v4i keep = (lane < (int)r) & (lane != label_lane);
        const mm_v4f t4 = (mm_v4f)((mm_v4i)mm_positive_part_v4f(m4) & keep);
        const mm_v4f slope4 = (mm_v4f)((mm_v4i)mm_unit_slope_v4f(m4) & keep);
        const mm_v2d t_lo = mm_widen_low(t4);
        double loss0 = loss_lo[0] + t_lo[0];
        if (r > 1)
            loss0 += t_lo[1];
        if (r > 2)
            loss0 += (double)t4[2];
        loss_lo[0] = loss0;
        count += slope4;
        const mm_v4f out = coef4 * slope4;
        mm_store_partial_f32(g + body, r, out);
    }
    double g_label;
    double loss = mm_ww_finish(loss_lo, loss_hi, mm_widen_low(count), mm_widen_high(count),
                               coef, &g_label);
    g[label] = (float)g_label;
    return loss;
}

static inline double maxmargin_ww_row_f32(float *g, ptrdiff_t n, ptrdiff_t label,
                                          float delta, int p, double coef)
{
    if (p == 1 && n >= 4 && n < MM_FLOAT_COUNT_MAX)
        return mm_ww_row_unit_f32(g, n, label, delta, coef, 0);
    const float s_label = g[label];
    const mm_v4f s4 = {s_label, s_label, s_label, s_label};
    const mm_v4f d4 = {delta, delta, delta, delta};
    const mm_v2d c2 = {coef, coef};
    mm_v2d loss_lo = {0.0, 0.0}, loss_hi = loss_lo, slope_lo = loss_lo, slope_hi = loss_lo;
    double g_label;
    ptrdiff_t j;
    mm_set_minus_inf_f32(g, n, label);
    for (j = 0; j + 4 <= n; j += 4) {
        mm_v4f m4;
        memcpy(&m4, g + j, 16);
        m4 = (m4 - s4) + d4;
        mm_v2d m_lo = mm_widen_low(m4), m_hi = mm_widen_high(m4);
        mm_v2f out_lo = __builtin_convertvector(mm_ww_pair(m_lo, p, c2, &loss_lo, &slope_lo),
                                                mm_v2f);
        mm_v2f out_hi = __builtin_convertvector(mm_ww_pair(m_hi, p, c2, &loss_hi, &slope_hi),
                                                mm_v2f);
        memcpy(g + j, &out_lo, 8);
        memcpy(g + j + 2, &out_hi, 8);
    }
    double loss0 = loss_lo[0], slope0 = slope_lo[0];
    for (; j < n; j++)
        g[j] = (float)mm_ww_single((float)((g[j] - s_label) + delta), p, coef, &loss0,
                                   &slope0);
    loss_lo[0] = loss0;
    slope_lo[0] = slope0;
    double loss = mm_ww_finish(loss_lo, loss_hi, slope_lo, slope_hi, coef, &g_label);
    g[label] = (float)g_label;
    return loss;
}

static inline double maxmargin_ww_row_f64(double *g, ptrdiff_t n, ptrdiff_t label,
                                          double delta, int p, double coef)
{
    const double s_label = g[label];
    const mm_v2d s2 = {s_label, s_label}, d2 = {delta, delta}, c2 = {coef, coef};
    mm_v2d loss_lo = {0.0, 0.0}, loss_hi = loss_lo, slope_lo = loss_lo, slope_hi = loss_lo;
    double g_label;
    ptrdiff_t j;
    mm_set_minus_inf_f64(g, n, label);
    for (j = 0; j + 4 <= n; j += 4) {
        mm_v2d m_lo, m_hi;
        memcpy(&m_lo, g + j, 16);
        memcpy(&m_hi, g + j + 2, 16);
        mm_v2d out_lo = mm_ww_pair((m_lo - s2) + d2, p, c2, &loss_lo, &slope_lo);
        mm_v2d out_hi = mm_ww_pair((m_hi - s2) + d2, p, c2, &loss_hi, &slope_hi);
        memcpy(g + j, &out_lo, 16);
        memcpy(g + j + 2, &out_hi, 16);
    }
    double loss0 = loss_lo[0], slope0 = slope_lo[0];
    for (; j < n; j++)
        g[j] = mm_ww_single((g[j] - s_label) + delta, p, coef, &loss0, &slope0);
    loss_lo[0] = loss0;
    slope_lo[0] = slope0;
    double loss = mm_ww_finish(loss_lo, loss_hi, slope_lo, slope_hi, coef, &g_label);
    g[label] = g_label;
    return loss;
}

/* The rows loop of maxmargin_ww_rows_f32 for one kind of row, a constant
 * at each call site: 10 (p = 1, ten classes), 1 (p = 1, n >= 4) or 0 (any
 * other row). */
static inline __attribute__((always_inline)) ptrdiff_t mm_ww_rows_f32_of(
    float *S, ptrdiff_t n_rows, ptrdiff_t n, const ptrdiff_t *y, float delta, int p,
    double coef, double *row_loss, int row_kind)
{
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        float *g = S + i * n, s_label = g[y[i]];
        if (!(s_label - s_label == 0))
            return i;
        if (row_kind == 10)  /* CIFAR-10's ten classes, the row length a constant */
            row_loss[i] = mm_ww_row_unit_f32(g, 10, y[i], delta, coef, 1);
        else if (row_kind == 1)
            row_loss[i] = mm_ww_row_unit_f32(g, n, y[i], delta, coef, 0);
        else
            row_loss[i] = maxmargin_ww_row_f32(g, n, y[i], delta, p, coef);
    }
    return n_rows;
}

/* Unweighted rows in a run: row i of the C-contiguous S (n_rows, n) by
 * maxmargin_ww_row with label y[i] and the one coefficient coef, its L into
 * row_loss[i], until a row whose s_y is not finite. Returns the number of
 * rows done (n_rows, or the index of that row: the caller does it and calls
 * again from the next). No call or weight per row: at C = 10 those were
 * about half of a row's cost. */
static inline ptrdiff_t maxmargin_ww_rows_f32(float *S, ptrdiff_t n_rows, ptrdiff_t n,
                                              const ptrdiff_t *y, float delta, int p,
                                              double coef, double *row_loss)
{
    if (p == 1 && n == 10)
        return mm_ww_rows_f32_of(S, n_rows, 10, y, delta, 1, coef, row_loss, 10);
    if (p == 1 && n >= 4 && n < MM_FLOAT_COUNT_MAX)
        return mm_ww_rows_f32_of(S, n_rows, n, y, delta, 1, coef, row_loss, 1);
    return mm_ww_rows_f32_of(S, n_rows, n, y, delta, p, coef, row_loss, 0);
}

static inline ptrdiff_t maxmargin_ww_rows_f64(double *S, ptrdiff_t n_rows, ptrdiff_t n,
                                              const ptrdiff_t *y, double delta, int p,
                                              double coef, double *row_loss)
{
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        double *g = S + i * n, s_label = g[y[i]];
        if (!(s_label - s_label == 0))
            return i;
        row_loss[i] = maxmargin_ww_row_f64(g, n, y[i], delta, p, coef);
    }
    return n_rows;
}

#else  /* no vector extensions: the scalar loop in margin.pxd does every row */

static inline double maxmargin_ww_row_f32(float *g, ptrdiff_t n, ptrdiff_t label,
                                          float delta, int p, double coef)
{
    return 0.0;
}

static inline double maxmargin_ww_row_f64(double *g, ptrdiff_t n, ptrdiff_t label,
                                          double delta, int p, double coef)
{
    return 0.0;
}

static inline ptrdiff_t maxmargin_ww_rows_f32(float *S, ptrdiff_t n_rows, ptrdiff_t n,
                                              const ptrdiff_t *y, float delta, int p,
                                              double coef, double *row_loss)
{
    return 0;
}

static inline ptrdiff_t maxmargin_ww_rows_f64(double *S, ptrdiff_t n_rows, ptrdiff_t n,
                                              const ptrdiff_t *y, double delta, int p,
                                              double coef, double *row_loss)
{
    return 0;
}

#endif
#endif
