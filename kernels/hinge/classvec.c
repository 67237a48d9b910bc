/* The class-vector kernels (classvec_body.h) compiled for the AVX paths,
 * and their table. See classvec.h. */

#include "hinge/classvec.h"

#define MM_BODY "hinge/classvec_body.h"
#define MM_BODY_AVX_ONLY 1
#include "simd/instantiate.h"

#if MM_X86

/* The scratch holds only the block's address (S is the caller's). */
static size_t classvec_scratch_bytes(ptrdiff_t rows, ptrdiff_t D, ptrdiff_t C,
                                     size_t itemsize)
{
    (void)rows, (void)D, (void)C, (void)itemsize;
    return sizeof(single_pass_block);
}

#define CLASSVEC_ENTRY(path)                                                 \
    SINGLE_PASS_ENTRY(path, panel_elements_f32_##path, classvec_scratch_bytes),
static const single_pass_kernels PATHS[] = {MM_FOR_EACH_AVX_PATH(CLASSVEC_ENTRY)};

const single_pass_kernels *classvec_for(const char *path)
{
    MM_FIND_PATH(PATHS, sizeof PATHS / sizeof PATHS[0], path);
}
#else
const single_pass_kernels *classvec_for(const char *path)
{
    (void)path;
    return NULL;
}
#endif
