/* The flat ranking kernels (ranking_flat_body.h) compiled for AVX2 and
 * AVX-512, and the table the Cython layer picks them from by the name of
 * the dispatch path in use (fewclass.c chooses the path). See
 * ranking_flat.h. */

#include <stdint.h>
#include <string.h>

#include "ranking_flat.h"

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define RANKING_FLAT_X86 1
#include <immintrin.h>
#else
#define RANKING_FLAT_X86 0
#endif

void ranking_flat_plan_init(ranking_flat_plan *plan, ptrdiff_t K, int lanes,
                            double delta, double denom)
{
    memset(plan, 0, sizeof *plan);
    plan->K = K;
    plan->lanes = lanes;
    for (ptrdiff_t j = 0; j < K; j++)
        for (int l = 0; l < lanes; l++)
            plan->lane_row[j][l] = (int)((j * lanes + l) / K);
    plan->delta = delta;
    plan->coef = 1.0 / denom;
    /* The row kernels' ds for p = 1 without weights: -coef times the count,
     * in float64, rounded once to the dtype. */
    for (ptrdiff_t c = 0; c <= K; c++) {
        plan->ds_f64[c] = -plan->coef * (double)c;
        plan->ds_f32[c] = (float)plan->ds_f64[c];
    }
}

#if RANKING_FLAT_X86

/* float64 loss lanes: vectors alternate between the two (lo, hi), so that
 * the adds form two chains. */
#define LOSS_ADD_ALTERNATING(lo, hi, t, j)                                   \
    do {                                                                     \
        if ((j) & 1)                                                         \
            (hi) += (t);                                                     \
        else                                                                 \
            (lo) += (t);                                                     \
    } while (0)

#define FLAT_CAT3_(a, b, c) a##_##b##_##c
#define FLAT_CAT3(a, b, c) FLAT_CAT3_(a, b, c)
#define FN(name) FLAT_CAT3(name, TYPE_TAG, PATH)

/* --- avx2: 32-byte vectors --------------------------------------------- */

#define PATH avx2
#define TARGET __attribute__((target("avx2,fma,popcnt")))
#define DV __m256d
#define DVL 4
#define STORE_DV(p, v) _mm256_storeu_pd(p, v)

#define T float
#define TYPE_TAG f32
#define VL 8
#define V __m256
#define VI __m256i
#define MASK __m256
#define LOAD(p) _mm256_loadu_ps(p)
#define STORE(p, v) _mm256_storeu_ps(p, v)
#define STREAM(p, v) _mm256_stream_ps(p, v)
#define SPLAT(x) _mm256_set1_ps(x)
#define INDEX(r) _mm256_setr_epi32(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])
#define PERMUTE(v, idx) _mm256_permutevar8x32_ps(v, idx)
#define GT_ZERO(m) _mm256_cmp_ps(m, _mm256_setzero_ps(), _CMP_GT_OQ)
#define BITS(mask) ((unsigned)_mm256_movemask_ps(mask))
#define NAN_BITS(m) ((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(m, m, _CMP_UNORD_Q)))
#define SELECT(mask, v) _mm256_and_ps(mask, v)
#define POSITIVE(m) _mm256_max_ps(m, _mm256_setzero_ps())
#define LOSS_ADD(lo, hi, t, j)                                                \
    do {                                                                     \
        const __m256 t_ = (t);                                               \
        (lo) += _mm256_cvtps_pd(_mm256_castps256_ps128(t_));                 \
        (hi) += _mm256_cvtps_pd(_mm256_extractf128_ps(t_, 1));               \
    } while (0)
#define FLAT_DS_TABLE(plan) ((plan)->ds_f32)
#include "ranking_flat_body.h"

/* Doubles permuted as pairs of 32-bit lanes: lane l of s takes lanes 2l
 * and 2l + 1 of the float view. */
#define T double
#define TYPE_TAG f64
#define VL 4
#define V __m256d
#define VI __m256i
#define MASK __m256d
#define LOAD(p) _mm256_loadu_pd(p)
#define STORE(p, v) _mm256_storeu_pd(p, v)
#define STREAM(p, v) _mm256_stream_pd(p, v)
#define SPLAT(x) _mm256_set1_pd(x)
#define INDEX(r) _mm256_setr_epi32(2 * r[0], 2 * r[0] + 1, 2 * r[1], 2 * r[1] + 1, \
                                   2 * r[2], 2 * r[2] + 1, 2 * r[3], 2 * r[3] + 1)
#define PERMUTE(v, idx) _mm256_castps_pd(_mm256_permutevar8x32_ps(_mm256_castpd_ps(v), idx))
#define GT_ZERO(m) _mm256_cmp_pd(m, _mm256_setzero_pd(), _CMP_GT_OQ)
#define BITS(mask) ((unsigned)_mm256_movemask_pd(mask))
#define NAN_BITS(m) ((unsigned)_mm256_movemask_pd(_mm256_cmp_pd(m, m, _CMP_UNORD_Q)))
#define SELECT(mask, v) _mm256_and_pd(mask, v)
#define POSITIVE(m) _mm256_max_pd(m, _mm256_setzero_pd())
#define LOSS_ADD LOSS_ADD_ALTERNATING
#define FLAT_DS_TABLE(plan) ((plan)->ds_f64)
#include "ranking_flat_body.h"

#undef PATH
#undef TARGET
#undef DV
#undef DVL
#undef STORE_DV

/* --- avx512: 64-byte vectors, compare masks in mask registers ----------- */

#define PATH avx512
#define TARGET __attribute__((target("avx512f,avx2,fma,popcnt")))
#define DV __m512d
#define DVL 8
#define STORE_DV(p, v) _mm512_storeu_pd(p, v)

#define T float
#define TYPE_TAG f32
#define VL 16
#define V __m512
#define VI __m512i
#define MASK __mmask16
#define LOAD(p) _mm512_loadu_ps(p)
#define STORE(p, v) _mm512_storeu_ps(p, v)
#define STREAM(p, v) _mm512_stream_ps(p, v)
#define SPLAT(x) _mm512_set1_ps(x)
#define INDEX(r) _mm512_loadu_si512((const void *)(r))
#define PERMUTE(v, idx) _mm512_permutexvar_ps(idx, v)
#define GT_ZERO(m) _mm512_cmp_ps_mask(m, _mm512_setzero_ps(), _CMP_GT_OQ)
#define BITS(mask) ((unsigned)(mask))
#define NAN_BITS(m) ((unsigned)_mm512_cmp_ps_mask(m, m, _CMP_UNORD_Q))
#define SELECT(mask, v) _mm512_maskz_mov_ps(mask, v)
#define POSITIVE(m) _mm512_max_ps(m, _mm512_setzero_ps())
#define LOSS_ADD(lo, hi, t, j)                                                \
    do {                                                                     \
        const __m512 t_ = (t);                                               \
        (lo) += _mm512_cvtps_pd(_mm512_castps512_ps256(t_));                 \
        (hi) += _mm512_cvtps_pd(_mm256_castpd_ps(                            \
            _mm512_extractf64x4_pd(_mm512_castps_pd(t_), 1)));               \
    } while (0)
#define FLAT_DS_TABLE(plan) ((plan)->ds_f32)
#include "ranking_flat_body.h"

#define T double
#define TYPE_TAG f64
#define VL 8
#define V __m512d
#define VI __m512i
#define MASK __mmask8
/* lane_row holds 16 ints; the 8 of a double vector are widened to 64-bit
 * indices. */
#define LOAD(p) _mm512_loadu_pd(p)
#define STORE(p, v) _mm512_storeu_pd(p, v)
#define STREAM(p, v) _mm512_stream_pd(p, v)
#define SPLAT(x) _mm512_set1_pd(x)
#define INDEX(r) _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(r)))
#define PERMUTE(v, idx) _mm512_permutexvar_pd(idx, v)
#define GT_ZERO(m) _mm512_cmp_pd_mask(m, _mm512_setzero_pd(), _CMP_GT_OQ)
#define BITS(mask) ((unsigned)(mask))
#define NAN_BITS(m) ((unsigned)_mm512_cmp_pd_mask(m, m, _CMP_UNORD_Q))
#define SELECT(mask, v) _mm512_maskz_mov_pd(mask, v)
#define POSITIVE(m) _mm512_max_pd(m, _mm512_setzero_pd())
#define LOSS_ADD LOSS_ADD_ALTERNATING
#define FLAT_DS_TABLE(plan) ((plan)->ds_f64)
#include "ranking_flat_body.h"

#undef PATH
#undef TARGET
#undef DV
#undef DVL
#undef STORE_DV

static const ranking_flat_kernels FLAT_PATHS[] = {
    {"avx512", 16, 8, ranking_flat_f32_avx512, ranking_flat_f64_avx512},
    {"avx2", 8, 4, ranking_flat_f32_avx2, ranking_flat_f64_avx2},
};

const ranking_flat_kernels *ranking_flat_for(const char *path)
{
    for (size_t i = 0; i < sizeof FLAT_PATHS / sizeof FLAT_PATHS[0]; i++)
        if (strcmp(path, FLAT_PATHS[i].name) == 0)
            return &FLAT_PATHS[i];
    return NULL;
}

#else

const ranking_flat_kernels *ranking_flat_for(const char *path)
{
    (void)path;
    return NULL;
}

#endif /* RANKING_FLAT_X86 */
