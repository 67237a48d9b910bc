/* The sparse row kernels (csr_rows.h), written once for every path and
 * dtype: simd/instantiate.h includes this file once per (path, dtype) with
 * the path's vocabulary defined (simd/<path>.h), and this file includes
 * csr_rows_index_body.h once per index type (int32, int64), whose
 * functions FNI names: gather_f32_i32_avx2, ...
 *
 * A row of C elements is C / VL whole vectors and a tail of C % VL
 * elements: on the AVX paths one more vector under a lane mask, on the
 * baseline scalars, added as the baseline adds vectors (a multiply, then an
 * add). With at most CSR_REGISTER_VECTORS whole vectors a row's
 * accumulators (gather) or its gradient (scatter) stay in registers across
 * its entries; longer rows go through memory a vector at a time.
 */

#ifndef CSR_REGISTER_VECTORS
#define CSR_REGISTER_VECTORS 8
#define CSR_CAT4_(a, b, c, d) a##_##b##_##c##_##d
#define CSR_CAT4(a, b, c, d) CSR_CAT4_(a, b, c, d)
#define FNI(name) CSR_CAT4(name, TYPE_TAG, IDX_TAG, PATH)
#endif

#define IDX int32_t
#define IDX_TAG i32
#include "sparse/csr_rows_index_body.h"
#undef IDX
#undef IDX_TAG

#define IDX int64_t
#define IDX_TAG i64
#include "sparse/csr_rows_index_body.h"
#undef IDX
#undef IDX_TAG
