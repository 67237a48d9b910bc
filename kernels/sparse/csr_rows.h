/* The row kernels of the sparse family: products of a CSR matrix's rows
 * with dense rows of C elements, vectorised along C, on every SIMD path.
 *
 * X (N, D) is CSR: row r's entries are k in [indptr[r], indptr[r+1]), at
 * column indices[k] with value data[k]; indices and indptr are of one
 * integer type (int32 or int64), data of the dtype of W. W and dW are
 * (D, C) row-major, S and G (rows, C) row-major.
 *
 *   gather:       S[r] = (sum_k data[k] W[indices[k]]) + b, the entries
 *                 in storage order, one fused multiply-add each (separate
 *                 multiply and add on the baseline), b (if any) added to
 *                 the sum as the dense products add it
 *   scatter_rows: dW[indices[k]] += data[k] G[r] for the rows' entries in
 *                 storage order, rows in order
 *
 * Every dW element gains its terms one at a time, in the order of the rows
 * and, within a row, of the entries: the order a dense product's rows would
 * add them in. A row's tail (its last C % VL elements) goes through a
 * masked vector where the path's masked stores are fast and dW is in cache
 * (a call that does not prefetch), else as scalars; either rounds each
 * multiply-add once, as the vector lanes do. Duplicate
 * entries add up; explicit zeros add 0 * W (NaN where W is infinite, as a
 * dense product would).
 *
 * `prefetch`: how many entries ahead (within the call's rows) a kernel
 * asks the cache for the W row (gather) or dW row (scatter_rows) an entry
 * names; 0 asks for none. The rows are random reads that no hardware
 * prefetcher can guess.
 *
 * gather checks every column index against D as it reads it (the only
 * thing a pass must not trust): it returns the position of the first one
 * outside [0, D), having written nothing for its row, else -1. The scatter
 * trusts the indices the gather checked.
 */
#ifndef MAXMARGIN_SPARSE_CSR_ROWS_H
#define MAXMARGIN_SPARSE_CSR_ROWS_H

#include <stddef.h>
#include <stdint.h>

#define CSR_SIGNATURES(T, IDX, TAG)                                          \
    ptrdiff_t (*gather_##TAG)(const T *data, const IDX *indices,             \
                              const IDX *indptr, ptrdiff_t r0, ptrdiff_t r1, \
                              const T *W, ptrdiff_t D, ptrdiff_t C,          \
                              const T *b, T *S, ptrdiff_t prefetch);         \
    void (*scatter_rows_##TAG)(const T *data, const IDX *indices,            \
                               const IDX *indptr, ptrdiff_t r0, ptrdiff_t r1,\
                               const T *G, ptrdiff_t C, T *dW,               \
                               ptrdiff_t prefetch);                          \


typedef struct {
    const char *name;  /* the SIMD path */
    CSR_SIGNATURES(float, int32_t, f32_i32)
    CSR_SIGNATURES(float, int64_t, f32_i64)
    CSR_SIGNATURES(double, int32_t, f64_i32)
    CSR_SIGNATURES(double, int64_t, f64_i64)
} csr_kernels;

#undef CSR_SIGNATURES

/* The kernels of the named SIMD path (every path has them). */
const csr_kernels *csr_kernels_for(const char *path);

#endif
