/* CPU detection for the SIMD paths. See cpu.h. */

#include "simd/cpu.h"
#include "simd/isa.h"

#define MM_PATH_NAME(path) #path,
static const char *const PATH_NAMES[] = {MM_FOR_EACH_PATH(MM_PATH_NAME) NULL};

const char *const *mm_simd_compiled_paths(void)
{
    return PATH_NAMES;
}

int mm_simd_cpu_supports(const char *name)
{
    if (strcmp(name, "baseline") == 0)
        return 1;
#if MM_X86
    /* __builtin_cpu_supports also checks that the OS saves the wider
     * registers (XCR0), not only the CPUID bits. The features are those
     * of MM_TARGET_AVX2 and MM_TARGET_AVX512. */
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
               && __builtin_cpu_supports("popcnt");
    if (strcmp(name, "avx2") == 0)
        return avx2;
    if (strcmp(name, "avx512") == 0)
        return avx2 && __builtin_cpu_supports("avx512f");
#endif
    return 0;
}
