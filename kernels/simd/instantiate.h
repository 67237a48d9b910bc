/* One kernel body compiled for every SIMD path and both dtypes.
 *
 * A family's .c file defines MM_BODY, its body's file name in quotes, and
 * MM_BODY_AVX_ONLY (1 where the body needs the AVX paths' masks and
 * permutes: no baseline instantiation), includes this file, and then lists
 * the functions in its table of paths (MM_FOR_EACH_PATH). For each path,
 * best first, and each dtype, the path's vocabulary (simd/<path>.h) is
 * defined, the body included, and the vocabulary cleared again, so that
 * every function of the body exists once per (dtype, path), named by
 * FN(): scores_f32_avx512, scores_f64_avx512, scores_f32_avx2, ...
 */
#include "simd/isa.h"

#if MM_X86

#define MM_F64 0
#include "simd/avx512.h"
#include MM_BODY
#include "simd/undef.h"
#define MM_F64 1
#include "simd/avx512.h"
#include MM_BODY
#include "simd/undef.h"

#define MM_F64 0
#include "simd/avx2.h"
#include MM_BODY
#include "simd/undef.h"
#define MM_F64 1
#include "simd/avx2.h"
#include MM_BODY
#include "simd/undef.h"

#endif /* MM_X86 */

#if !MM_BODY_AVX_ONLY
#define MM_F64 0
#include "simd/baseline.h"
#include MM_BODY
#include "simd/undef.h"
#define MM_F64 1
#include "simd/baseline.h"
#include MM_BODY
#include "simd/undef.h"
#endif
