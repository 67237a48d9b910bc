/* The sparse row kernels (csr_rows_body.h) compiled for every SIMD path,
 * and their table. See csr_rows.h. */

#include "sparse/csr_rows.h"

#define MM_BODY "sparse/csr_rows_body.h"
#define MM_BODY_AVX_ONLY 0
#include "simd/instantiate.h"

#define CSR_FUNCTIONS(TAG, path)                                             \
    gather_##TAG##_##path, scatter_rows_##TAG##_##path
#define CSR_ENTRY(path)                                                      \
    {#path, CSR_FUNCTIONS(f32_i32, path), CSR_FUNCTIONS(f32_i64, path),      \
     CSR_FUNCTIONS(f64_i32, path), CSR_FUNCTIONS(f64_i64, path)},
static const csr_kernels PATHS[] = {MM_FOR_EACH_PATH(CSR_ENTRY)};

const csr_kernels *csr_kernels_for(const char *path)
{
    MM_FIND_PATH(PATHS, sizeof PATHS / sizeof PATHS[0], path);
}
