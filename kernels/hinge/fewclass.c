/* The few-classes kernels (fewclass_body.h) compiled for every SIMD path,
 * and their table. See fewclass.h. */

#include "hinge/fewclass.h"

#define MM_BODY "hinge/fewclass_body.h"
#define MM_BODY_AVX_ONLY 0
#include "simd/instantiate.h"

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

#define FEWCLASS_ENTRY(path)                                                 \
    SINGLE_PASS_ENTRY(path, fewclass_panel_elements, fewclass_scratch_bytes),
static const single_pass_kernels PATHS[] = {MM_FOR_EACH_PATH(FEWCLASS_ENTRY)};

const single_pass_kernels *fewclass_for(const char *path)
{
    MM_FIND_PATH(PATHS, sizeof PATHS / sizeof PATHS[0], path);
}
