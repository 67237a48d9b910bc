/* The vocabulary of the "avx512" path: 64-byte vectors with FMA
 * (AVX-512F), lane masks and compares in mask registers. Included by
 * instantiate.h once per dtype (MM_F64 0 or 1); simd/undef.h clears it. */

#define PATH avx512
#define TARGET __attribute__((target(MM_TARGET_AVX512)))
#define MM_REGISTERS 32
/* "v": any of the 32 vector registers ("x" would keep to the first 16). */
#define KEEP_IN_REGISTER(v) __asm__("" : "+v"(v))
/* Masked stores under a mask register run at the speed of a store. */
#define FAST_MASKED_STORES 1

#define DV __m512d
#define DVL 8
#define STORE_DV(p, v) _mm512_storeu_pd(p, v)

#if !MM_F64
#define T float
#define TYPE_TAG f32
#define V __m512
#define VL 16
#define LOAD(p) _mm512_loadu_ps(p)
#define STORE(p, v) _mm512_storeu_ps(p, v)
#define STREAM(p, v) _mm512_stream_ps(p, v)
#define SPLAT(x) _mm512_set1_ps(x)
#define SPLAT_LOAD(p) _mm512_set1_ps(*(p))
#define ZERO _mm512_setzero_ps()
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define LANE_MASK __mmask16
#define FULL_MASK ((__mmask16)0xFFFF)
#define LANES_MASK(n) ((__mmask16)((1u << (n)) - 1))
#define LOAD_MASKED(m, p) _mm512_maskz_loadu_ps(m, p)
#define STORE_MASKED(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define CMP_MASK __mmask16
#define GT_ZERO(m) _mm512_cmp_ps_mask(m, _mm512_setzero_ps(), _CMP_GT_OQ)
#define CMP_BITS(mask) ((unsigned)(mask))
#define NAN_BITS(m) ((unsigned)_mm512_cmp_ps_mask(m, m, _CMP_UNORD_Q))
#define SELECT(mask, v) _mm512_maskz_mov_ps(mask, v)
#define POSITIVE(m) _mm512_max_ps(m, _mm512_setzero_ps())
#define VI __m512i
#define INDEX(r) _mm512_loadu_si512((const void *)(r))
#define PERMUTE(v, idx) _mm512_permutexvar_ps(idx, v)
#define WIDEN_LOW(v) _mm512_cvtps_pd(_mm512_castps512_ps256(v))
#define WIDEN_HIGH(v) _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)))
#else
#define T double
#define TYPE_TAG f64
#define V __m512d
#define VL 8
#define LOAD(p) _mm512_loadu_pd(p)
#define STORE(p, v) _mm512_storeu_pd(p, v)
#define STREAM(p, v) _mm512_stream_pd(p, v)
#define SPLAT(x) _mm512_set1_pd(x)
#define SPLAT_LOAD(p) _mm512_set1_pd(*(p))
#define ZERO _mm512_setzero_pd()
#define VFMA(a, b, c) _mm512_fmadd_pd(a, b, c)
#define LANE_MASK __mmask8
#define FULL_MASK ((__mmask8)0xFF)
#define LANES_MASK(n) ((__mmask8)((1u << (n)) - 1))
#define LOAD_MASKED(m, p) _mm512_maskz_loadu_pd(m, p)
#define STORE_MASKED(p, m, v) _mm512_mask_storeu_pd(p, m, v)
#define CMP_MASK __mmask8
#define GT_ZERO(m) _mm512_cmp_pd_mask(m, _mm512_setzero_pd(), _CMP_GT_OQ)
#define CMP_BITS(mask) ((unsigned)(mask))
#define NAN_BITS(m) ((unsigned)_mm512_cmp_pd_mask(m, m, _CMP_UNORD_Q))
#define SELECT(mask, v) _mm512_maskz_mov_pd(mask, v)
#define POSITIVE(m) _mm512_max_pd(m, _mm512_setzero_pd())
/* The index table holds 16 ints; the 8 of a double vector are widened to
 * 64-bit indices. */
#define VI __m512i
#define INDEX(r) _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(r)))
#define PERMUTE(v, idx) _mm512_permutexvar_pd(idx, v)
#endif
