/* The vocabulary of the "baseline" path: 16-byte vectors through GCC/Clang
 * vector types (SSE2 on x86-64, NEON on arm64), multiply and add separate;
 * plain scalars (VL = 1) where there are no vector types. Included by
 * instantiate.h once per dtype (MM_F64 0 or 1); simd/undef.h clears it. */

#define PATH baseline
#define TARGET
/* The register tiles of the bodies are sized for 16 vector registers
 * (x86-64's SSE2; NEON's 32 are not counted on). */
#define MM_REGISTERS 16

#if MM_X86
#define KEEP_IN_REGISTER(v) __asm__("" : "+x"(v))
#else
#define KEEP_IN_REGISTER(v) ((void)0)
#endif

#if !MM_F64
#define T float
#define TYPE_TAG f32
#else
#define T double
#define TYPE_TAG f64
#endif

#if MM_VECTORS
#if !MM_F64
typedef float mm_baseline_f32 __attribute__((vector_size(16)));
#define V mm_baseline_f32
#define VL 4
#else
typedef double mm_baseline_f64 __attribute__((vector_size(16)));
#define V mm_baseline_f64
#define VL 2
#endif
#else
#define V T
#define VL 1
#endif

/* Loads, stores and splats spelled in plain C, which the compiler turns
 * into the vector instructions of the baseline. */
static inline V FN(mm_load)(const T *p)
{
    V v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void FN(mm_store)(T *p, V v)
{
    memcpy(p, &v, sizeof v);
}

static inline V FN(mm_splat)(T x)
{
    V v;
    T lanes[VL];
    for (int l = 0; l < VL; l++)
        lanes[l] = x;
    memcpy(&v, lanes, sizeof v);
    return v;
}

#define LOAD(p) FN(mm_load)(p)
#define STORE(p, v) FN(mm_store)(p, v)
#define SPLAT(x) FN(mm_splat)(x)
#define SPLAT_LOAD(p) FN(mm_splat)(*(p))
#define ZERO FN(mm_splat)((T)0)
#define VFMA(a, b, c) ((a) * (b) + (c))
