/* Row arithmetic shared by the hinge and ranking row kernels: the scalar
 * max(0, m) and its slope as selects, and the same in 16-byte vectors
 * (GCC/Clang vector extensions: SSE2 on x86-64, NEON on arm64). These are
 * compiled for the baseline instruction set and used on every SIMD path.
 *
 * Margins fall on either side of the kink unpredictably, so every formula
 * here is a select, never a branch. MAXMARGIN_VECTOR_ROWS is 0 where the
 * compiler has no vector extensions; the vector forms then do not exist and
 * the callers take their scalar loops.
 */
#ifndef MAXMARGIN_COMMON_ROW_VECTORS_H
#define MAXMARGIN_COMMON_ROW_VECTORS_H

#include <math.h>
#include <stddef.h>
#include <string.h>

/* --- the scalar formulas, as selects ------------------------------------ */

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
/* MAXSD returns its second operand when either is NaN: 0 > m ? 0 : m. */
static inline double maxmargin_positive_part_sd(double m)
{
    return _mm_cvtsd_f64(_mm_max_sd(_mm_setzero_pd(), _mm_set_sd(m)));
}
/* (m > 0 ? 1 : 0) + (m is NaN ? m : 0), by masks. */
static inline double maxmargin_unit_slope_sd(double m)
{
    __m128d v = _mm_set_sd(m);
    __m128d above = _mm_and_pd(_mm_cmpgt_sd(v, _mm_setzero_pd()), _mm_set_sd(1.0));
    __m128d nan = _mm_and_pd(_mm_cmpunord_sd(v, v), v);
    return _mm_cvtsd_f64(_mm_add_sd(above, nan));
}
#else
static inline double maxmargin_positive_part_sd(double m) { return 0 > m ? 0 : m; }
static inline double maxmargin_unit_slope_sd(double m)
{
    return (m > 0 ? 1.0 : 0.0) + (m != m ? m : 0.0);
}
#endif

/* --- the formulas in 16-byte vectors ------------------------------------ */

/* Rows shorter than this count their p = 1 slopes in float32 lanes: each
 * lane's count (at most n / 4, or NaN) is then an exact float. */
#define MM_FLOAT_COUNT_MAX ((ptrdiff_t)1 << 24)

#if defined(__GNUC__) || defined(__clang__)
#define MAXMARGIN_VECTOR_ROWS 1

typedef double mm_v2d __attribute__((vector_size(16)));
typedef long long mm_v2l __attribute__((vector_size(16)));
typedef float mm_v4f __attribute__((vector_size(16)));
typedef float mm_v2f __attribute__((vector_size(8)));
typedef int mm_v4i __attribute__((vector_size(16)));

/* max(0, m) with NaN passing through, and the p = 1 slope (1 above the
 * kink, 0 on and below it, NaN for NaN), lane by lane, by masks. Exact in
 * either dtype, so float32 lanes give the values float64 lanes would. */
static inline mm_v4f mm_positive_part_v4f(mm_v4f m)
{
    const mm_v4f zero = {0.0f, 0.0f, 0.0f, 0.0f};
    return (mm_v4f)(~(mm_v4i)(zero > m) & (mm_v4i)m);
}

static inline mm_v4f mm_unit_slope_v4f(mm_v4f m)
{
    const mm_v4f zero = {0.0f, 0.0f, 0.0f, 0.0f}, one = {1.0f, 1.0f, 1.0f, 1.0f};
    return (mm_v4f)((mm_v4i)(m > zero) & (mm_v4i)one) + (mm_v4f)((mm_v4i)(m != m) & (mm_v4i)m);
}

static inline mm_v2d mm_positive_part_v2d(mm_v2d m)
{
    const mm_v2d zero = {0.0, 0.0};
    return (mm_v2d)(~(mm_v2l)(zero > m) & (mm_v2l)m);
}

static inline mm_v2d mm_unit_slope_v2d(mm_v2d m)
{
    const mm_v2d zero = {0.0, 0.0}, one = {1.0, 1.0};
    return (mm_v2d)((mm_v2l)(m > zero) & (mm_v2l)one) + (mm_v2d)((mm_v2l)(m != m) & (mm_v2l)m);
}

/* The low and high halves of four float lanes as doubles (exact). Spelled
 * with SSE2's packed conversion where there is one: GCC builds the generic
 * form from two scalar conversions and three shuffles. */
static inline mm_v2d mm_widen_low(mm_v4f v)
{
#if defined(__SSE2__)
    return (mm_v2d)_mm_cvtps_pd((__m128)v);
#else
    mm_v2f half = {v[0], v[1]};
    return __builtin_convertvector(half, mm_v2d);
#endif
}

static inline mm_v2d mm_widen_high(mm_v4f v)
{
#if defined(__SSE2__)
    return (mm_v2d)_mm_cvtps_pd(_mm_movehl_ps((__m128)v, (__m128)v));
#else
    mm_v2f half = {v[2], v[3]};
    return __builtin_convertvector(half, mm_v2d);
#endif
}

#else
#define MAXMARGIN_VECTOR_ROWS 0
#endif
#endif
