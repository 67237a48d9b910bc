/* svm_loss's L2 term (l2_term_body.h) compiled for every SIMD path, and
 * its table. See l2_term.h. */

#include "hinge/l2_term.h"

#define MM_BODY "hinge/l2_term_body.h"
#define MM_BODY_AVX_ONLY 0
#include "simd/instantiate.h"

#define L2_TERM_ENTRY(path) {#path, l2_gradient_f32_##path, l2_gradient_f64_##path},
static const l2_term_kernels PATHS[] = {MM_FOR_EACH_PATH(L2_TERM_ENTRY)};

const l2_term_kernels *l2_term_for(const char *path)
{
    MM_FIND_PATH(PATHS, sizeof PATHS / sizeof PATHS[0], path);
}
