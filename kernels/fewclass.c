/* The few-classes micro-kernels (fewclass_body.h) compiled once per
 * instruction set, and the run-time choice among them. See fewclass.h. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fewclass.h"

/* FEWCLASS_NO_VECTORS builds what a compiler without GCC/Clang vector
 * types gets (plain scalar loops), to test that fallback with GCC. */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(FEWCLASS_NO_VECTORS)
#define FEWCLASS_VECTORS 1
#define FEWCLASS_TARGET(isa) __attribute__((target(isa)))
#define ALWAYS_INLINE __attribute__((always_inline))
#else
#define ALWAYS_INLINE
#define FEWCLASS_VECTORS 0
#endif

/* The AVX paths need GCC/Clang target attributes and <immintrin.h>. */
#if FEWCLASS_VECTORS && (defined(__x86_64__) || defined(__i386__))
#define FEWCLASS_X86 1
#include <immintrin.h>
#else
#define FEWCLASS_X86 0
#endif

#if FEWCLASS_VECTORS
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)0)
#endif

#if FEWCLASS_X86
#define KEEP_IN_REGISTER(v) __asm__("" : "+x"(v))
#else
#define KEEP_IN_REGISTER(v) ((void)0)
#endif

#define FEWCLASS_CAT3_(a, b, c) a##_##b##_##c
#define FEWCLASS_CAT3(a, b, c) FEWCLASS_CAT3_(a, b, c)
#define FN(name) FEWCLASS_CAT3(name, TYPE_TAG, PATH)

/* --- baseline: 16-byte vectors, separate multiply and add ------------- */

#define PATH baseline
#define GRAD_TILE FEWCLASS_TILE
#define SCORE_TILE_ROWS SCORE_ROWS
#define TARGET
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VSPLAT_LOAD(p) FN(splat)(*(p))

#define T float
#define TYPE_TAG f32
#if FEWCLASS_VECTORS
#define VL 4
typedef float baseline_f32 __attribute__((vector_size(16)));
#define V baseline_f32
#else
#define VL 1
#define V float
#endif
#include "fewclass_body.h"
#undef T
#undef TYPE_TAG
#undef VL
#undef V

#define T double
#define TYPE_TAG f64
#if FEWCLASS_VECTORS
#define VL 2
typedef double baseline_f64 __attribute__((vector_size(16)));
#define V baseline_f64
#else
#define VL 1
#define V double
#endif
#include "fewclass_body.h"
#undef T
#undef TYPE_TAG
#undef VL
#undef V

#undef PATH
#undef GRAD_TILE
#undef SCORE_TILE_ROWS
#undef TARGET
#undef VFMA
#undef VSPLAT_LOAD

#if FEWCLASS_X86

/* --- avx2: 32-byte vectors with FMA ------------------------------------ */

#define PATH avx2
#define GRAD_TILE FEWCLASS_TILE
#define SCORE_TILE_ROWS SCORE_ROWS
#define TARGET FEWCLASS_TARGET("avx2,fma")

#define T float
#define TYPE_TAG f32
#define VL 8
#define V __m256
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VSPLAT_LOAD(p) _mm256_broadcast_ss(p)
#include "fewclass_body.h"
#undef T
#undef TYPE_TAG
#undef VL
#undef V
#undef VFMA
#undef VSPLAT_LOAD

#define T double
#define TYPE_TAG f64
#define VL 4
#define V __m256d
#define VFMA(a, b, c) _mm256_fmadd_pd(a, b, c)
#define VSPLAT_LOAD(p) _mm256_broadcast_sd(p)
#include "fewclass_body.h"
#undef T
#undef TYPE_TAG
#undef VL
#undef V
#undef VFMA
#undef VSPLAT_LOAD

#undef PATH
#undef GRAD_TILE
#undef SCORE_TILE_ROWS
#undef TARGET

/* --- avx512: 64-byte vectors with FMA ---------------------------------- */

#define PATH avx512
#define TARGET FEWCLASS_TARGET("avx512f,avx2,fma")
/* 32 registers: 20 accumulators in each tile. Scores in 4 x 5 rather than
 * 2 x 5: 2-3% faster at C = 10 (2 x 10 alike at D = 3073, 2% slower at
 * D = 512). */
#define GRAD_TILE 10
#define SCORE_TILE_ROWS 4

#define T float
#define TYPE_TAG f32
#define VL 16
#define V __m512
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VSPLAT_LOAD(p) _mm512_set1_ps(*(p))
#include "fewclass_body.h"
#undef T
#undef TYPE_TAG
#undef VL
#undef V
#undef VFMA
#undef VSPLAT_LOAD

#define T double
#define TYPE_TAG f64
#define VL 8
#define V __m512d
#define VFMA(a, b, c) _mm512_fmadd_pd(a, b, c)
#define VSPLAT_LOAD(p) _mm512_set1_pd(*(p))
#include "fewclass_body.h"
#undef T
#undef TYPE_TAG
#undef VL
#undef V
#undef VFMA
#undef VSPLAT_LOAD

#undef PATH
#undef GRAD_TILE
#undef SCORE_TILE_ROWS
#undef TARGET

#endif /* FEWCLASS_X86 */

/* --- the table of paths and the choice among them ---------------------- */

#define FEWCLASS_PATH_ENTRY(path)                                            \
    {#path, fewclass_panel_elements, fewclass_scratch_bytes,                 \
     pack_w_f32_##path, pack_w_f64_##path,                                   \
     scores_f32_##path, scores_f64_##path, grad_f32_##path, grad_f64_##path, \
     finish_f32_##path, finish_f64_##path}

/* Best first. */
static const fewclass_kernels PATHS[] = {
#if FEWCLASS_X86
    FEWCLASS_PATH_ENTRY(avx512),
    FEWCLASS_PATH_ENTRY(avx2),
#endif
    FEWCLASS_PATH_ENTRY(baseline),
};
#define N_PATHS (sizeof PATHS / sizeof PATHS[0])

static const char *const PATH_NAMES[] = {
#if FEWCLASS_X86
    "avx512", "avx2",
#endif
    "baseline", NULL,
};

static const fewclass_kernels *active = &PATHS[N_PATHS - 1];

/* The L2 term of each path, in the order of PATHS (the active one is the
 * entry of `active`). */
typedef struct {
    double (*f32)(const float *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t,
                  float, int, float *);
    double (*f64)(const double *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t,
                  double, int, double *);
} l2_gradient_pair;

#define L2_PATH_ENTRY(path) {l2_gradient_f32_##path, l2_gradient_f64_##path}
static const l2_gradient_pair L2_PATHS[] = {
#if FEWCLASS_X86
    L2_PATH_ENTRY(avx512),
    L2_PATH_ENTRY(avx2),
#endif
    L2_PATH_ENTRY(baseline),
};

static const l2_gradient_pair *active_l2(void)
{
    return &L2_PATHS[active - PATHS];
}

double fewclass_l2_gradient_f32(const float *W, ptrdiff_t row_stride,
                                ptrdiff_t col_stride, ptrdiff_t D, ptrdiff_t C,
                                float two_reg, int accumulate, float *dW)
{
    return active_l2()->f32(W, row_stride, col_stride, D, C, two_reg, accumulate, dW);
}

double fewclass_l2_gradient_f64(const double *W, ptrdiff_t row_stride,
                                ptrdiff_t col_stride, ptrdiff_t D, ptrdiff_t C,
                                double two_reg, int accumulate, double *dW)
{
    return active_l2()->f64(W, row_stride, col_stride, D, C, two_reg, accumulate, dW);
}

size_t fewclass_panel_elements(ptrdiff_t D, ptrdiff_t C, size_t itemsize)
{
    size_t pair = 2 * FEWCLASS_MAX_VECTOR_BYTES / itemsize;
    return ((size_t)D + pair - 1) / pair * pair * (size_t)C;
}

size_t fewclass_scratch_bytes(ptrdiff_t rows, ptrdiff_t D, ptrdiff_t C,
                              size_t itemsize)
{
    /* The header, then per row: C partial-sum vectors, the last vector
     * and the last pair (fewclass_body.h: scratch_parts). */
    (void)D;
    (void)itemsize;
    return FEWCLASS_SCRATCH_HEADER
           + (size_t)rows * (size_t)(C + 3) * FEWCLASS_MAX_VECTOR_BYTES;
}

/* --- the cached workspace ---------------------------------------------- */

typedef struct {
    void *allocation;   /* what malloc returned */
    size_t bytes;       /* usable bytes after the header */
} workspace_header;

#define WORKSPACE_HEADER_BYTES 64   /* keeps the data 64-byte aligned */

#if defined(__GNUC__) || defined(__clang__)
#define EXCHANGE(slot, value) __atomic_exchange_n(slot, value, __ATOMIC_ACQ_REL)
#elif defined(_MSC_VER)
#include <intrin.h>
#define EXCHANGE(slot, value) _InterlockedExchangePointer((void *volatile *)(slot), value)
#else
#error "fewclass.c needs an atomic pointer exchange for this compiler"
#endif

static workspace_header *volatile cached_workspace = NULL;

static void free_workspace(workspace_header *header)
{
    if (header != NULL)
        free(header->allocation);
}

void *fewclass_workspace_take(size_t bytes)
{
    workspace_header *header = EXCHANGE(&cached_workspace, NULL);
    if (header != NULL && header->bytes >= bytes)
        return (char *)header + WORKSPACE_HEADER_BYTES;
    free_workspace(header);
    void *allocation = malloc(bytes + WORKSPACE_HEADER_BYTES + 63);
    if (allocation == NULL)
        return NULL;
    header = (workspace_header *)(((uintptr_t)allocation + 63) & ~(uintptr_t)63);
    header->allocation = allocation;
    header->bytes = bytes;
    return (char *)header + WORKSPACE_HEADER_BYTES;
}

void fewclass_workspace_give(void *workspace)
{
    if (workspace == NULL)
        return;
    workspace_header *header =
        (workspace_header *)((char *)workspace - WORKSPACE_HEADER_BYTES);
    free_workspace(EXCHANGE(&cached_workspace, header));
}

const fewclass_kernels *fewclass_active(void)
{
    return active;
}

const char *const *fewclass_compiled_paths(void)
{
    return PATH_NAMES;
}

int fewclass_cpu_supports(const char *name)
{
    if (strcmp(name, "baseline") == 0)
        return 1;
#if FEWCLASS_X86
    /* __builtin_cpu_supports also checks that the OS saves the wider
     * registers (XCR0), not only the CPUID bits. */
    __builtin_cpu_init();
    if (strcmp(name, "avx2") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (strcmp(name, "avx512") == 0)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2")
               && __builtin_cpu_supports("fma");
#endif
    return 0;
}

int fewclass_select(const char *name)
{
    size_t i;
    int automatic = strcmp(name, "auto") == 0;
    for (i = 0; i < N_PATHS; i++) {
        if (!automatic && strcmp(name, PATHS[i].name) != 0)
            continue;
        if (!fewclass_cpu_supports(PATHS[i].name)) {
            if (automatic)
                continue;
            return -2;
        }
        active = &PATHS[i];
        return 0;
    }
    return -1;
}
