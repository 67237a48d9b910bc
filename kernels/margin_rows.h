/* The Weston-Watkins terms of one score row, four classes at a time, in
 * 16-byte vectors (GCC/Clang vector extensions: SSE2 on x86-64, NEON on
 * arm64). Called by _hinge.pyx's `weston_watkins_terms` for rows whose
 * label column already holds the score -inf (so no class needs a test
 * against the label); it finishes the row's last n % 4 classes itself.
 *
 * For each class j < n - n % 4, lane k = j % 4:
 *   m       = (g[j] - s_label) + delta, rounded in the data's dtype, widened
 *   t       = max(0, m), NaN passing through      (0 > m ? 0 : m)
 *   p = 1:  loss_lanes[k] += t, slope_lanes[k] += s, g[j] = coef * s, with
 *           s = (m > 0 ? 1 : 0) + (m is NaN ? m : 0)
 *   p = 2:  loss_lanes[k] += t * t, slope_lanes[k] += 2 t, g[j] = coef * 2 t
 * exactly the scalar loop's operations and lanes, so the result is the same
 * bit for bit. Returns the number of classes done (0 where the compiler has
 * no vector extensions: the scalar loop then does the whole row).
 */
#ifndef MAXMARGIN_MARGIN_ROWS_H
#define MAXMARGIN_MARGIN_ROWS_H

#include <stddef.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)

typedef double mm_v2d __attribute__((vector_size(16)));
typedef long long mm_v2l __attribute__((vector_size(16)));
typedef float mm_v4f __attribute__((vector_size(16)));
typedef float mm_v2f __attribute__((vector_size(8)));

/* One pair of lanes: add the terms of margins m into *loss and *slope and
 * return the gradient entries (before rounding to the data's dtype). */
static inline mm_v2d mm_ww_pair(mm_v2d m, int p, mm_v2d coef, mm_v2d *loss,
                                mm_v2d *slope)
{
    const mm_v2d zero = {0.0, 0.0}, one = {1.0, 1.0}, two = {2.0, 2.0};
    mm_v2l below = zero > m;                /* all ones where 0 > m */
    mm_v2d t = (mm_v2d)(~below & (mm_v2l)m);
    if (p == 1) {
        mm_v2l above = m > zero, is_nan = m != m;
        mm_v2d s = (mm_v2d)(above & (mm_v2l)one) + (mm_v2d)(is_nan & (mm_v2l)m);
        *loss += t;
        *slope += s;
        return coef * s;
    }
    *loss += t * t;
    *slope += two * t;
    return coef * (two * t);
}

static inline ptrdiff_t maxmargin_ww_blocks_f32(float *g, ptrdiff_t n, float s_label,
                                                float delta, int p, double coef,
                                                double *loss_lanes, double *slope_lanes)
{
    const mm_v4f s4 = {s_label, s_label, s_label, s_label};
    const mm_v4f d4 = {delta, delta, delta, delta};
    const mm_v2d c2 = {coef, coef};
    mm_v2d loss_lo, loss_hi, slope_lo, slope_hi;
    ptrdiff_t j;
    memcpy(&loss_lo, loss_lanes, 16);
    memcpy(&loss_hi, loss_lanes + 2, 16);
    memcpy(&slope_lo, slope_lanes, 16);
    memcpy(&slope_hi, slope_lanes + 2, 16);
    for (j = 0; j + 4 <= n; j += 4) {
        mm_v4f m4;
        memcpy(&m4, g + j, 16);
        m4 = (m4 - s4) + d4;
        mm_v2f m_lo = {m4[0], m4[1]}, m_hi = {m4[2], m4[3]};
        mm_v2d out_lo = mm_ww_pair(__builtin_convertvector(m_lo, mm_v2d), p, c2,
                                   &loss_lo, &slope_lo);
        mm_v2d out_hi = mm_ww_pair(__builtin_convertvector(m_hi, mm_v2d), p, c2,
                                   &loss_hi, &slope_hi);
        mm_v2f g_lo = __builtin_convertvector(out_lo, mm_v2f);
        mm_v2f g_hi = __builtin_convertvector(out_hi, mm_v2f);
        memcpy(g + j, &g_lo, 8);
        memcpy(g + j + 2, &g_hi, 8);
    }
    memcpy(loss_lanes, &loss_lo, 16);
    memcpy(loss_lanes + 2, &loss_hi, 16);
    memcpy(slope_lanes, &slope_lo, 16);
    memcpy(slope_lanes + 2, &slope_hi, 16);
    return j;
}

static inline ptrdiff_t maxmargin_ww_blocks_f64(double *g, ptrdiff_t n, double s_label,
                                                double delta, int p, double coef,
                                                double *loss_lanes, double *slope_lanes)
{
    const mm_v2d s2 = {s_label, s_label}, d2 = {delta, delta}, c2 = {coef, coef};
    mm_v2d loss_lo, loss_hi, slope_lo, slope_hi;
    ptrdiff_t j;
    memcpy(&loss_lo, loss_lanes, 16);
    memcpy(&loss_hi, loss_lanes + 2, 16);
    memcpy(&slope_lo, slope_lanes, 16);
    memcpy(&slope_hi, slope_lanes + 2, 16);
    for (j = 0; j + 4 <= n; j += 4) {
        mm_v2d m_lo, m_hi;
        memcpy(&m_lo, g + j, 16);
        memcpy(&m_hi, g + j + 2, 16);
        mm_v2d out_lo = mm_ww_pair((m_lo - s2) + d2, p, c2, &loss_lo, &slope_lo);
        mm_v2d out_hi = mm_ww_pair((m_hi - s2) + d2, p, c2, &loss_hi, &slope_hi);
        memcpy(g + j, &out_lo, 16);
        memcpy(g + j + 2, &out_hi, 16);
    }
    memcpy(loss_lanes, &loss_lo, 16);
    memcpy(loss_lanes + 2, &loss_hi, 16);
    memcpy(slope_lanes, &slope_lo, 16);
    memcpy(slope_lanes + 2, &slope_hi, 16);
    return j;
}

#else  /* no vector extensions: the scalar loop does every class */

static inline ptrdiff_t maxmargin_ww_blocks_f32(float *g, ptrdiff_t n, float s_label,
                                                float delta, int p, double coef,
                                                double *loss_lanes, double *slope_lanes)
{
    return 0;
}

static inline ptrdiff_t maxmargin_ww_blocks_f64(double *g, ptrdiff_t n, double s_label,
                                                double delta, int p, double coef,
                                                double *loss_lanes, double *slope_lanes)
{
    return 0;
}

#endif
#endif
