/* What this compiler and architecture give the SIMD paths, and the macros
 * every family's vector kernels share.
 *
 * A path is an instruction set the kernels are compiled for, chosen at run
 * time (maxmargin._dispatch):
 *
 *   "baseline"  16-byte vectors: SSE2 on x86-64, NEON on arm64; plain
 *               scalars with a compiler that lacks GCC/Clang vector types
 *   "avx2"      32-byte vectors with FMA        (x86-64, GCC or Clang)
 *   "avx512"    64-byte vectors with FMA, AVX-512F (x86-64, GCC or Clang)
 *
 * Each path's vocabulary (vector types, loads, FMA, masks) is written once,
 * in simd/<path>.h; a family writes its kernel body once and compiles it
 * for every path and dtype through simd/instantiate.h; cpu.c tells which
 * paths this CPU runs. kernels/README.md has the table of families and
 * paths.
 */
#ifndef MAXMARGIN_SIMD_ISA_H
#define MAXMARGIN_SIMD_ISA_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* MM_SIMD_NO_VECTORS builds what a compiler without GCC/Clang vector types
 * gets (the baseline as plain scalar loops, no AVX paths), to test that
 * fallback with GCC. */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(MM_SIMD_NO_VECTORS)
#define MM_VECTORS 1
#define MM_ALWAYS_INLINE __attribute__((always_inline))
#define MM_PREFETCH(p) __builtin_prefetch(p)
#define MM_PREFETCH_WRITE(p) __builtin_prefetch(p, 1)
#else
#define MM_VECTORS 0
#define MM_ALWAYS_INLINE
#define MM_PREFETCH(p) ((void)0)
#define MM_PREFETCH_WRITE(p) ((void)0)
#endif

/* The AVX paths need GCC/Clang target attributes and <immintrin.h>. */
#if MM_VECTORS && (defined(__x86_64__) || defined(__i386__))
#define MM_X86 1
#include <immintrin.h>
#else
#define MM_X86 0
#endif

/* The instruction sets of the AVX paths: what the target attribute lets
 * the compiler use, and what cpu.c asks of the CPU before the path runs. */
#define MM_TARGET_AVX2 "avx2,fma,popcnt"
#define MM_TARGET_AVX512 "avx512f,avx2,fma,popcnt"

/* X(path) for every path compiled here, best first: the order of a
 * family's table, and of "auto"'s choice. */
#if MM_X86
#define MM_FOR_EACH_AVX_PATH(X) X(avx512) X(avx2)
#else
#define MM_FOR_EACH_AVX_PATH(X)
#endif
#define MM_FOR_EACH_PATH(X) MM_FOR_EACH_AVX_PATH(X) X(baseline)

#define MM_CAT3_(a, b, c) a##_##b##_##c
#define MM_CAT3(a, b, c) MM_CAT3_(a, b, c)

/* The name of a function of the instantiation being compiled, by its
 * dtype and path: FN(scores) is scores_f32_avx2 in the avx2 float32 one. */
#define FN(name) MM_CAT3(name, TYPE_TAG, PATH)

/* The entry of `table` (an array of `count` structs whose first member is
 * the path's name) for the named path, or NULL. */
#define MM_FIND_PATH(table, count, path)                                     \
    do {                                                                     \
        for (size_t mm_i_ = 0; mm_i_ < (count); mm_i_++)                     \
            if (strcmp((table)[mm_i_].name, (path)) == 0)                    \
                return &(table)[mm_i_];                                      \
        return NULL;                                                         \
    } while (0)

#endif
