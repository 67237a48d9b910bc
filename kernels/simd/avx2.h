/* The vocabulary of the "avx2" path: 32-byte vectors with FMA (AVX2 + FMA),
 * lane masks in vectors. Included by instantiate.h once per dtype (MM_F64
 * 0 or 1); simd/undef.h clears it. */

#define PATH avx2
#define TARGET __attribute__((target(MM_TARGET_AVX2)))
#define MM_REGISTERS 16
#define KEEP_IN_REGISTER(v) __asm__("" : "+x"(v))
/* Masked stores (vmaskmov) are microcoded on AMD cores: a kernel that has
 * a choice stores a row's tail as scalars. */
#define FAST_MASKED_STORES 0

/* The path's vector of doubles, for float64 sums of either dtype. */
#define DV __m256d
#define DVL 4
#define STORE_DV(p, v) _mm256_storeu_pd(p, v)

#if !MM_F64
#define T float
#define TYPE_TAG f32
#define V __m256
#define VL 8
#define LOAD(p) _mm256_loadu_ps(p)
#define STORE(p, v) _mm256_storeu_ps(p, v)
#define STREAM(p, v) _mm256_stream_ps(p, v)
#define SPLAT(x) _mm256_set1_ps(x)
#define SPLAT_LOAD(p) _mm256_broadcast_ss(p)
#define ZERO _mm256_setzero_ps()
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
/* Lane masks for masked loads and stores: lanes 0..n-1. */
#define LANE_MASK __m256i
#define FULL_MASK _mm256_set1_epi32(-1)
#define LANES_MASK(n) _mm256_cmpgt_epi32(_mm256_set1_epi32(n), \
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define LOAD_MASKED(m, p) _mm256_maskload_ps(p, m)
#define STORE_MASKED(p, m, v) _mm256_maskstore_ps(p, m, v)
/* Compares: the result, its lanes as bits, and selects by it. */
#define CMP_MASK __m256
#define GT_ZERO(m) _mm256_cmp_ps(m, _mm256_setzero_ps(), _CMP_GT_OQ)
#define CMP_BITS(mask) ((unsigned)_mm256_movemask_ps(mask))
#define NAN_BITS(m) ((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(m, m, _CMP_UNORD_Q)))
#define SELECT(mask, v) _mm256_and_ps(mask, v)
#define POSITIVE(m) _mm256_max_ps(m, _mm256_setzero_ps())
/* Permutes: lane l of the result is lane idx[l] of v, idx from an int[VL]. */
#define VI __m256i
#define INDEX(r) _mm256_setr_epi32(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])
#define PERMUTE(v, idx) _mm256_permutevar8x32_ps(v, idx)
/* The low and high halves of the lanes as doubles (exact). */
#define WIDEN_LOW(v) _mm256_cvtps_pd(_mm256_castps256_ps128(v))
#define WIDEN_HIGH(v) _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))
#else
#define T double
#define TYPE_TAG f64
#define V __m256d
#define VL 4
#define LOAD(p) _mm256_loadu_pd(p)
#define STORE(p, v) _mm256_storeu_pd(p, v)
#define STREAM(p, v) _mm256_stream_pd(p, v)
#define SPLAT(x) _mm256_set1_pd(x)
#define SPLAT_LOAD(p) _mm256_broadcast_sd(p)
#define ZERO _mm256_setzero_pd()
#define VFMA(a, b, c) _mm256_fmadd_pd(a, b, c)
#define LANE_MASK __m256i
#define FULL_MASK _mm256_set1_epi64x(-1)
#define LANES_MASK(n) _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3))
#define LOAD_MASKED(m, p) _mm256_maskload_pd(p, m)
#define STORE_MASKED(p, m, v) _mm256_maskstore_pd(p, m, v)
#define CMP_MASK __m256d
#define GT_ZERO(m) _mm256_cmp_pd(m, _mm256_setzero_pd(), _CMP_GT_OQ)
#define CMP_BITS(mask) ((unsigned)_mm256_movemask_pd(mask))
#define NAN_BITS(m) ((unsigned)_mm256_movemask_pd(_mm256_cmp_pd(m, m, _CMP_UNORD_Q)))
#define SELECT(mask, v) _mm256_and_pd(mask, v)
#define POSITIVE(m) _mm256_max_pd(m, _mm256_setzero_pd())
/* Doubles permuted as pairs of 32-bit lanes: lane l takes lanes 2l and
 * 2l + 1 of the float view. */
#define VI __m256i
#define INDEX(r) _mm256_setr_epi32(2 * r[0], 2 * r[0] + 1, 2 * r[1], 2 * r[1] + 1, \
                                   2 * r[2], 2 * r[2] + 1, 2 * r[3], 2 * r[3] + 1)
#define PERMUTE(v, idx) _mm256_castps_pd(_mm256_permutevar8x32_ps(_mm256_castpd_ps(v), idx))
#endif
