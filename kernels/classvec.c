/* The class-vector kernels (classvec_body.h) compiled for AVX2 and
 * AVX-512, and the table the Cython layer picks them from by the name of
 * the dispatch path in use. See classvec.h. */

#include <stdint.h>
#include <string.h>

#include "classvec.h"

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define CLASSVEC_X86 1
#include <immintrin.h>
#else
#define CLASSVEC_X86 0
#endif

#if CLASSVEC_X86

#define ALWAYS_INLINE __attribute__((always_inline))
#define KEEP_IN_REGISTER(v) __asm__("" : "+v"(v))

#define CLASSVEC_CAT3_(a, b, c) a##_##b##_##c
#define CLASSVEC_CAT3(a, b, c) CLASSVEC_CAT3_(a, b, c)
#define FN(name) CLASSVEC_CAT3(name, TYPE_TAG, PATH)

/* --- avx2: 32-byte vectors, lane masks in vectors ---------------------- */

/* 16 registers: at most 12 accumulators, beside the NV vectors of W (or G)
 * and the broadcast: 12 x 1, 6 x 2 (15 registers), 4 x 3 (16). Four
 * vectors would leave 3 x 4 + 4 + 1 = 17: groups of three at most. */
#define PATH avx2
#define TARGET __attribute__((target("avx2,fma")))
#define VECTOR_BYTES 32
#define CV_GROUP 3
#define CV_TILE_1 12
#define CV_TILE_2 6
#define CV_TILE_3 4
#define CV_TILE_4 3

#define T float
#define TYPE_TAG f32
#define VL 8
#define V __m256
#define MASK __m256i
#define FULL_MASK _mm256_set1_epi32(-1)
#define LANES_MASK(n) _mm256_cmpgt_epi32(_mm256_set1_epi32(n), \
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define LOAD(p) _mm256_loadu_ps(p)
#define STORE(p, v) _mm256_storeu_ps(p, v)
#define LOAD_MASKED(m, p) _mm256_maskload_ps(p, m)
#define STORE_MASKED(p, m, v) _mm256_maskstore_ps(p, m, v)
#define SPLAT_LOAD(p) _mm256_broadcast_ss(p)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define ZERO _mm256_setzero_ps()
#include "classvec_body.h"

#define T double
#define TYPE_TAG f64
#define VL 4
#define V __m256d
#define MASK __m256i
#define FULL_MASK _mm256_set1_epi64x(-1)
#define LANES_MASK(n) _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3))
#define LOAD(p) _mm256_loadu_pd(p)
#define STORE(p, v) _mm256_storeu_pd(p, v)
#define LOAD_MASKED(m, p) _mm256_maskload_pd(p, m)
#define STORE_MASKED(p, m, v) _mm256_maskstore_pd(p, m, v)
#define SPLAT_LOAD(p) _mm256_broadcast_sd(p)
#define VFMA(a, b, c) _mm256_fmadd_pd(a, b, c)
#define ZERO _mm256_setzero_pd()
#include "classvec_body.h"

#define PANEL_FUNCTIONS(path)                                                   \
    /* Panels: D rows of C rounded up to whole vectors of the path. */          \
    static size_t panel_elements_##path(ptrdiff_t D, ptrdiff_t C, size_t itemsize) \
    {                                                                           \
        size_t lanes = VECTOR_BYTES / itemsize;                                 \
        return (size_t)D * (((size_t)C + lanes - 1) / lanes * lanes);           \
    }
PANEL_FUNCTIONS(avx2)

#undef PATH
#undef TARGET
#undef VECTOR_BYTES
#undef CV_GROUP
#undef CV_TILE_1
#undef CV_TILE_2
#undef CV_TILE_3
#undef CV_TILE_4

/* --- avx512: 64-byte vectors, lane masks in mask registers ------------- */

/* 32 registers: 12 x 2 = 24, 8 x 3 = 24, 6 x 4 = 24 accumulators; 12 x 1
 * leaves room. */
#define PATH avx512
#define TARGET __attribute__((target("avx512f,avx2,fma")))
#define VECTOR_BYTES 64
#define CV_GROUP 4
#define CV_TILE_1 12
#define CV_TILE_2 12
#define CV_TILE_3 8
#define CV_TILE_4 6

#define T float
#define TYPE_TAG f32
#define VL 16
#define V __m512
#define MASK __mmask16
#define FULL_MASK ((__mmask16)0xFFFF)
#define LANES_MASK(n) ((__mmask16)((1u << (n)) - 1))
#define LOAD(p) _mm512_loadu_ps(p)
#define STORE(p, v) _mm512_storeu_ps(p, v)
#define LOAD_MASKED(m, p) _mm512_maskz_loadu_ps(m, p)
#define STORE_MASKED(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define SPLAT_LOAD(p) _mm512_set1_ps(*(p))
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define ZERO _mm512_setzero_ps()
#include "classvec_body.h"

#define T double
#define TYPE_TAG f64
#define VL 8
#define V __m512d
#define MASK __mmask8
#define FULL_MASK ((__mmask8)0xFF)
#define LANES_MASK(n) ((__mmask8)((1u << (n)) - 1))
#define LOAD(p) _mm512_loadu_pd(p)
#define STORE(p, v) _mm512_storeu_pd(p, v)
#define LOAD_MASKED(m, p) _mm512_maskz_loadu_pd(m, p)
#define STORE_MASKED(p, m, v) _mm512_mask_storeu_pd(p, m, v)
#define SPLAT_LOAD(p) _mm512_set1_pd(*(p))
#define VFMA(a, b, c) _mm512_fmadd_pd(a, b, c)
#define ZERO _mm512_setzero_pd()
#include "classvec_body.h"

PANEL_FUNCTIONS(avx512)

/* The scratch holds only the block's address (S is the caller's). */
static size_t scratch_bytes(ptrdiff_t rows, ptrdiff_t D, ptrdiff_t C, size_t itemsize)
{
    (void)rows, (void)D, (void)C, (void)itemsize;
    return sizeof(fewclass_block);
}

#define CLASSVEC_PATH_ENTRY(path)                                               \
    {#path, panel_elements_##path, scratch_bytes, pack_w_f32_##path,            \
     pack_w_f64_##path, scores_f32_##path, scores_f64_##path, grad_f32_##path,  \
     grad_f64_##path, finish_f32_##path, finish_f64_##path}

static const fewclass_kernels CLASSVEC_PATHS[] = {
    CLASSVEC_PATH_ENTRY(avx512),
    CLASSVEC_PATH_ENTRY(avx2),
};

const fewclass_kernels *classvec_for(const char *path)
{
    for (size_t i = 0; i < sizeof CLASSVEC_PATHS / sizeof CLASSVEC_PATHS[0]; i++)
        if (strcmp(path, CLASSVEC_PATHS[i].name) == 0)
            return &CLASSVEC_PATHS[i];
    return NULL;
}

#else

const fewclass_kernels *classvec_for(const char *path)
{
    (void)path;
    return NULL;
}

#endif /* CLASSVEC_X86 */
