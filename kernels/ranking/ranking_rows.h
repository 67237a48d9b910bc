/* Rows of the max-margin ranking hinge in vectors whose lanes are rows
 * (GCC/Clang vector extensions: SSE2 on x86-64, NEON on arm64). Used by
 * _ranking.pyx's `ranking_rows` when s is contiguous and s_c is C-contiguous
 * (N, K).
 *
 * maxmargin_ranking_rows_f32/_f64(s, s_c, K, delta, p, sample_weight, denom,
 *                                 ds, ds_c, row_loss, add_ds, add_ds_c, n)
 * For rows i in [0, n), with m_ik = (s_c[i, k] - s_i) + delta rounded in the
 * data's dtype and coef_i = w_i / denom (w_i = 1 without weights):
 *   t_ik    = max(0, m_ik), NaN passing through
 *   slope   = p = 1: (m > 0 ? 1 : 0), NaN for a NaN margin; p = 2: 2 t
 *   J_i     = sum_k t_ik^p, summed in k order in float64
 *   ds_c[i, k] (+)= (dtype)(coef_i * slope_ik)
 *   ds[i]      (+)= (dtype)(-coef_i * sum_k slope_ik)
 *   row_loss[i] = (dtype)(w_i J_i)                   (when not NULL)
 * and returns the sum of w_i J_i in row order. Each lane does exactly the
 * scalar arithmetic of `ranking_rows` in _ranking.pyx, so results are the
 * same bit for bit whichever of the two ran.
 *
 * Four rows at a time: column k of the four rows is gathered into one
 * vector (a row's K scores are contiguous, so a vector along k would need
 * a row-sum across lanes at the end of each row; along rows the sums stay
 * in their lanes; float32 takes four columns at a time through a 4 x 4
 * transpose where the rows have them). The last n % 4 rows repeat the last
 * row in the unused lanes and store only their own.
 *
 * For p = 1 the slopes are 0, 1 or NaN: their sum over k is exact in float32
 * lanes while K < 2^24 (the caller checks), and coef * slope rounded to the
 * dtype equals (dtype)coef * slope, so unweighted float32 rows need no
 * float64 lanes except for the loss.
 *
 * MAXMARGIN_VECTOR_RANKING is 0 where the compiler has no vector
 * extensions; the functions are then never called.
 */
#ifndef MAXMARGIN_RANKING_ROWS_H
#define MAXMARGIN_RANKING_ROWS_H

#include <stddef.h>

#include "common/row_vectors.h"

#if MAXMARGIN_VECTOR_ROWS
#define MAXMARGIN_VECTOR_RANKING 1

/* The largest K whose float32 slope counts stay exact. */
#define MAXMARGIN_RANKING_MAX_K_F32 MM_FLOAT_COUNT_MAX

#define MM_RK_INLINE static inline __attribute__((always_inline))

/* Lane l of a block reads row min(l, live - 1): the unused lanes of the last
 * block repeat its last row (valid memory; their results are not stored). */
MM_RK_INLINE ptrdiff_t mm_rk_row(int lane, int live) { return lane < live ? lane : live - 1; }

/* --- float32 ------------------------------------------------------------- */

/* Either dtype: the block's four rows' weights (rows 0, r1, r2, r3) as two
 * pairs of lanes, all 1 without weights; and w_i J_i per row. */
MM_RK_INLINE void mm_rk_weights(const double *w, ptrdiff_t r1, ptrdiff_t r2, ptrdiff_t r3,
                                mm_v2d *w_lo, mm_v2d *w_hi)
{
    const mm_v2d one = {1.0, 1.0};
    *w_lo = w == NULL ? one : (mm_v2d){w[0], w[r1]};
    *w_hi = w == NULL ? one : (mm_v2d){w[r2], w[r3]};
}

MM_RK_INLINE void mm_rk_weighted_losses(mm_v2d w_lo, mm_v2d w_hi, mm_v2d loss_lo,
                                        mm_v2d loss_hi, double wl[4])
{
    const mm_v2d lo = w_lo * loss_lo, hi = w_hi * loss_hi;
    wl[0] = lo[0];
    wl[1] = lo[1];
    wl[2] = hi[0];
    wl[3] = hi[1];
}


/* Four vectors a, b, c, d as the rows of a 4 x 4 matrix, transposed in
 * place (its own inverse: columns of four rows in, rows back out). */
MM_RK_INLINE void mm_rk_transpose4(mm_v4f *a, mm_v4f *b, mm_v4f *c, mm_v4f *d)
{
#if defined(__SSE2__)
    __m128 r0 = (__m128)*a, r1 = (__m128)*b, r2 = (__m128)*c, r3 = (__m128)*d;
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    *a = (mm_v4f)r0;
    *b = (mm_v4f)r1;
    *c = (mm_v4f)r2;
    *d = (mm_v4f)r3;
#else
    const mm_v4f r0 = *a, r1 = *b, r2 = *c, r3 = *d;
    *a = (mm_v4f){r0[0], r1[0], r2[0], r3[0]};
    *b = (mm_v4f){r0[1], r1[1], r2[1], r3[1]};
    *c = (mm_v4f){r0[2], r1[2], r2[2], r3[2]};
    *d = (mm_v4f){r0[3], r1[3], r2[3], r3[3]};
#endif
}

/* The running sums of a float32 block's four rows, and what each column
 * needs: coef_lo/hi = w / denom per row, coef4 = (float)(1 / denom). */
typedef struct {
    mm_v4f s4, d4, coef4, count;
    mm_v2d coef_lo, coef_hi, loss_lo, loss_hi, slope_lo, slope_hi;
    int p, float_grad;
} mm_rk_lanes_f32;

/* One column k of the block: c4 holds s_c[i, k] of its four rows; adds to
 * the rows' sums and returns their gradient entries ds_c[i, k]. */
MM_RK_INLINE mm_v4f mm_rk_column_f32(mm_rk_lanes_f32 *b, mm_v4f c4)
{
    const mm_v2d two = {2.0, 2.0};
    const mm_v4f m = (c4 - b->s4) + b->d4;
    const mm_v4f t = mm_positive_part_v4f(m);
    if (b->p == 1) {
        const mm_v4f slope = mm_unit_slope_v4f(m);
        b->loss_lo += mm_widen_low(t);
        b->loss_hi += mm_widen_high(t);
        b->count += slope;
        if (b->float_grad)
            return b->coef4 * slope;
        mm_v2f g_lo = __builtin_convertvector(b->coef_lo * mm_widen_low(slope), mm_v2f);
        mm_v2f g_hi = __builtin_convertvector(b->coef_hi * mm_widen_high(slope), mm_v2f);
        return (mm_v4f){g_lo[0], g_lo[1], g_hi[0], g_hi[1]};
    }
    const mm_v2d t_lo = mm_widen_low(t), t_hi = mm_widen_high(t);
    b->loss_lo += t_lo * t_lo;
    b->loss_hi += t_hi * t_hi;
    b->slope_lo += two * t_lo;
    b->slope_hi += two * t_hi;
    mm_v2f g_lo = __builtin_convertvector(b->coef_lo * (two * t_lo), mm_v2f);
    mm_v2f g_hi = __builtin_convertvector(b->coef_hi * (two * t_hi), mm_v2f);
    return (mm_v4f){g_lo[0], g_lo[1], g_hi[0], g_hi[1]};
}

/* One block of `live` (1..4) rows starting at row 0 of the pointers; adds
 * their w_i J_i to `total` in row order and returns it. `p`, `add_ds`,
 * `add_ds_c` and (for whole blocks) `live` are constants at the call sites,
 * so each combination compiles to its own straight loop.
 *
 * Columns go four at a time where the row has them: four vectors loaded
 * along the rows and transposed into columns, the four gradient vectors
 * transposed back and stored along the rows (one load and two shuffles a
 * vector each way, against four scalar loads and three shuffles); the last
 * K % 4 columns are gathered one by one. Either way each row's sums gain
 * its columns in k order. */
MM_RK_INLINE double mm_rk_block_f32(
    const float *s, const float *s_c, ptrdiff_t K, float delta, int p,
    const double *w, double denom, float *ds, float *ds_c, float *row_loss,
    int add_ds, int add_ds_c, int live, double total)
{
    const ptrdiff_t r0 = 0, r1 = mm_rk_row(1, live), r2 = mm_rk_row(2, live),
                    r3 = mm_rk_row(3, live);
    const float *c[4] = {s_c + r0 * K, s_c + r1 * K, s_c + r2 * K, s_c + r3 * K};
    float *g[4] = {ds_c + r0 * K, ds_c + r1 * K, ds_c + r2 * K, ds_c + r3 * K};
    mm_v2d w_lo, w_hi;
    mm_rk_weights(w, r1, r2, r3, &w_lo, &w_hi);
    /* Unweighted, p = 1: (float)coef * slope is the rounded coef * slope. */
    const float coef_f = (float)(1.0 / denom);
    const mm_v2d zero2 = {0.0, 0.0};
    mm_rk_lanes_f32 b = {
        .s4 = {s[r0], s[r1], s[r2], s[r3]},
        .d4 = {delta, delta, delta, delta},
        .coef4 = {coef_f, coef_f, coef_f, coef_f},
        .count = {0.0f, 0.0f, 0.0f, 0.0f},
        .coef_lo = w_lo / denom, .coef_hi = w_hi / denom,
        .loss_lo = zero2, .loss_hi = zero2, .slope_lo = zero2, .slope_hi = zero2,
        .p = p, .float_grad = p == 1 && w == NULL,
    };
    ptrdiff_t k = 0;
    for (; k + 4 <= K; k += 4) {
        mm_v4f v[4];
        for (int lane = 0; lane < 4; lane++)
            memcpy(&v[lane], c[lane] + k, 16);
        mm_rk_transpose4(&v[0], &v[1], &v[2], &v[3]);
        for (int q = 0; q < 4; q++)
            v[q] = mm_rk_column_f32(&b, v[q]);
        mm_rk_transpose4(&v[0], &v[1], &v[2], &v[3]);
        for (int lane = 0; lane < live; lane++) {
            mm_v4f out = v[lane];
            if (add_ds_c) {
                mm_v4f old;
                memcpy(&old, g[lane] + k, 16);
                out = old + out;
            }
            memcpy(g[lane] + k, &out, 16);
        }
    }
    for (; k < K; k++) {
        const mm_v4f grad = mm_rk_column_f32(&b, (mm_v4f){c[0][k], c[1][k], c[2][k], c[3][k]});
        for (int lane = 0; lane < live; lane++)
            g[lane][k] = add_ds_c ? g[lane][k] + grad[lane] : grad[lane];
    }
    if (p == 1) {
        b.slope_lo = mm_widen_low(b.count);
        b.slope_hi = mm_widen_high(b.count);
    }
    const mm_v2f d_lo = __builtin_convertvector(-b.coef_lo * b.slope_lo, mm_v2f);
    const mm_v2f d_hi = __builtin_convertvector(-b.coef_hi * b.slope_hi, mm_v2f);
    const float d[4] = {d_lo[0], d_lo[1], d_hi[0], d_hi[1]};
    double wl[4];
    mm_rk_weighted_losses(w_lo, w_hi, b.loss_lo, b.loss_hi, wl);
    for (int lane = 0; lane < live; lane++) {
        ds[lane] = add_ds ? ds[lane] + d[lane] : d[lane];
        if (row_loss != NULL)
            row_loss[lane] = (float)wl[lane];
        total += wl[lane];
    }
    return total;
}

/* --- float64 ------------------------------------------------------------- */

MM_RK_INLINE double mm_rk_block_f64(
    const double *s, const double *s_c, ptrdiff_t K, double delta, int p,
    const double *w, double denom, double *ds, double *ds_c, double *row_loss,
    int add_ds, int add_ds_c, int live, double total)
{
    const ptrdiff_t r0 = 0, r1 = mm_rk_row(1, live), r2 = mm_rk_row(2, live),
                    r3 = mm_rk_row(3, live);
    const mm_v2d s_lo = {s[r0], s[r1]}, s_hi = {s[r2], s[r3]};
    const mm_v2d d2 = {delta, delta};
    const double *c0 = s_c + r0 * K, *c1 = s_c + r1 * K, *c2 = s_c + r2 * K,
                 *c3 = s_c + r3 * K;
    double *g[4] = {ds_c + r0 * K, ds_c + r1 * K, ds_c + r2 * K, ds_c + r3 * K};
    const mm_v2d two = {2.0, 2.0};
    mm_v2d w_lo, w_hi;
    mm_rk_weights(w, r1, r2, r3, &w_lo, &w_hi);
    const mm_v2d coef_lo = w_lo / denom, coef_hi = w_hi / denom;
    mm_v2d loss_lo = {0.0, 0.0}, loss_hi = loss_lo, slope_lo = loss_lo, slope_hi = loss_lo;
    for (ptrdiff_t k = 0; k < K; k++) {
        const mm_v2d m_lo = ((mm_v2d){c0[k], c1[k]} - s_lo) + d2;
        const mm_v2d m_hi = ((mm_v2d){c2[k], c3[k]} - s_hi) + d2;
        const mm_v2d t_lo = mm_positive_part_v2d(m_lo);
        const mm_v2d t_hi = mm_positive_part_v2d(m_hi);
        mm_v2d sl_lo, sl_hi;
        if (p == 1) {
            sl_lo = mm_unit_slope_v2d(m_lo);
            sl_hi = mm_unit_slope_v2d(m_hi);
            loss_lo += t_lo;
            loss_hi += t_hi;
        } else {
            sl_lo = two * t_lo;
            sl_hi = two * t_hi;
            loss_lo += t_lo * t_lo;
            loss_hi += t_hi * t_hi;
        }
        slope_lo += sl_lo;
        slope_hi += sl_hi;
        const mm_v2d g_lo = coef_lo * sl_lo, g_hi = coef_hi * sl_hi;
        const double grad[4] = {g_lo[0], g_lo[1], g_hi[0], g_hi[1]};
        for (int lane = 0; lane < live; lane++)
            g[lane][k] = add_ds_c ? g[lane][k] + grad[lane] : grad[lane];
    }
    const mm_v2d d_lo = -coef_lo * slope_lo, d_hi = -coef_hi * slope_hi;
    const double d[4] = {d_lo[0], d_lo[1], d_hi[0], d_hi[1]};
    double wl[4];
    mm_rk_weighted_losses(w_lo, w_hi, loss_lo, loss_hi, wl);
    for (int lane = 0; lane < live; lane++) {
        ds[lane] = add_ds ? ds[lane] + d[lane] : d[lane];
        if (row_loss != NULL)
            row_loss[lane] = wl[lane];
        total += wl[lane];
    }
    return total;
}

/* --- rows [0, n) --------------------------------------------------------- */

/* Whole blocks of four, then the last n % 4 rows as one block. */
#define MM_RK_ROWS(SUFFIX, T)                                                      \
    MM_RK_INLINE double mm_rk_rows_##SUFFIX(                                       \
        const T *s, const T *s_c, ptrdiff_t K, T delta, int p, const double *w,    \
        double denom, T *ds, T *ds_c, T *row_loss, int add_ds, int add_ds_c,       \
        ptrdiff_t n)                                                               \
    {                                                                              \
        double total = 0.0;                                                        \
        ptrdiff_t i = 0;                                                           \
        for (; i + 4 <= n; i += 4)                                                 \
            total = mm_rk_block_##SUFFIX(                                          \
                s + i, s_c + i * K, K, delta, p, w == NULL ? NULL : w + i, denom,  \
                ds + i, ds_c + i * K, row_loss == NULL ? NULL : row_loss + i,      \
                add_ds, add_ds_c, 4, total);                                       \
        if (i < n)                                                                 \
            total = mm_rk_block_##SUFFIX(                                          \
                s + i, s_c + i * K, K, delta, p, w == NULL ? NULL : w + i, denom,  \
                ds + i, ds_c + i * K, row_loss == NULL ? NULL : row_loss + i,      \
                add_ds, add_ds_c, (int)(n - i), total);                            \
        return total;                                                              \
    }
MM_RK_ROWS(f32, float)
MM_RK_ROWS(f64, double)
#undef MM_RK_ROWS

/* Public entry points: branch once on the options so that the blocks above
 * are compiled for each combination (p, weights, add flags) without tests
 * inside their loops. */
#define MM_RK_ENTRY(SUFFIX, T)                                                     \
    static double maxmargin_ranking_rows_##SUFFIX(                                 \
        const T *s, const T *s_c, ptrdiff_t K, T delta, int p, const double *w,    \
        double denom, T *ds, T *ds_c, T *row_loss, int add_ds, int add_ds_c,       \
        ptrdiff_t n)                                                               \
    {                                                                              \
        if (p == 1 && w == NULL && !add_ds && !add_ds_c)                           \
            return mm_rk_rows_##SUFFIX(s, s_c, K, delta, 1, NULL, denom, ds, ds_c, \
                                       row_loss, 0, 0, n);                         \
        if (p == 1 && w != NULL && !add_ds && !add_ds_c)                           \
            return mm_rk_rows_##SUFFIX(s, s_c, K, delta, 1, w, denom, ds, ds_c,    \
                                       row_loss, 0, 0, n);                         \
        if (p == 1)                                                                \
            return mm_rk_rows_##SUFFIX(s, s_c, K, delta, 1, w, denom, ds, ds_c,    \
                                       row_loss, add_ds, add_ds_c, n);             \
        return mm_rk_rows_##SUFFIX(s, s_c, K, delta, 2, w, denom, ds, ds_c,        \
                                   row_loss, add_ds, add_ds_c, n);                 \
    }
MM_RK_ENTRY(f32, float)
MM_RK_ENTRY(f64, double)
#undef MM_RK_ENTRY

#else
#define MAXMARGIN_VECTOR_RANKING 0
#define MAXMARGIN_RANKING_MAX_K_F32 0
static double maxmargin_ranking_rows_f32(
    const float *s, const float *s_c, ptrdiff_t K, float delta, int p, const double *w,
    double denom, float *ds, float *ds_c, float *row_loss, int add_ds, int add_ds_c,
    ptrdiff_t n) { return 0.0; }
static double maxmargin_ranking_rows_f64(
    const double *s, const double *s_c, ptrdiff_t K, double delta, int p, const double *w,
    double denom, double *ds, double *ds_c, double *row_loss, int add_ds, int add_ds_c,
    ptrdiff_t n) { return 0.0; }
#endif

#endif /* MAXMARGIN_RANKING_ROWS_H */
