/* The kernels of svm_loss's single pass over X, as one table per SIMD
 * path: the few-classes kernels (fewclass.h, products vectorised along D)
 * and the class-vector kernels (classvec.h, along the classes) both fill
 * it, so that one driver (single_pass.pxd) runs either.
 *
 * Per row block of X the driver calls `scores` (S = X_b W), runs the margin
 * pass on S in place (S becomes G = dL/dS), then `grad` (dW panel +=
 * X_b^T G) while the block is in cache; at the end `finish` adds the
 * chunks' dW panels into dW. W and dW live in the family's own panel
 * layouts (pack_w, the dW panel); X is read in place. Results depend on
 * the path and on nothing else: not on threads, not on the row block a row
 * falls in.
 */
#ifndef MAXMARGIN_HINGE_SINGLE_PASS_H
#define MAXMARGIN_HINGE_SINGLE_PASS_H

#include <stddef.h>

/* What `scores` leaves at the start of a block's scratch for `grad`: the
 * rows it read, which grad reads again in place. */
typedef struct {
    const void *X;
    ptrdiff_t ldx;
} single_pass_block;

typedef struct {
    const char *name;  /* the SIMD path */
    /* Elements of a W or dW panel, and bytes of scratch (aligned for a
     * pointer) for a block of `rows` rows, in this family's layouts. */
    size_t (*panel_elements)(ptrdiff_t D, ptrdiff_t C, size_t itemsize);
    size_t (*scratch_bytes)(ptrdiff_t rows, ptrdiff_t D, ptrdiff_t C, size_t itemsize);
    /* Wp = W (D, C; any element strides) in the W panel layout. */
    void (*pack_w_f32)(const float *W, ptrdiff_t row_stride,
                       ptrdiff_t col_stride, ptrdiff_t D, ptrdiff_t C,
                       float *Wp);
    void (*pack_w_f64)(const double *W, ptrdiff_t row_stride,
                       ptrdiff_t col_stride, ptrdiff_t D, ptrdiff_t C,
                       double *Wp);
    /* S[r*C + c] = sum_d X[r*ldx + d] * W[d, c] for r < rows, c < C, from
     * the W panel, with `scratch` (scratch_bytes(rows, D, C, itemsize)
     * bytes, aligned for a pointer), where it leaves the block's address (a
     * single_pass_block) and whatever else grad needs. */
    void (*scores_f32)(const float *X, ptrdiff_t ldx, ptrdiff_t rows,
                       ptrdiff_t D, const float *Wp, ptrdiff_t C, float *S,
                       void *scratch);
    void (*scores_f64)(const double *X, ptrdiff_t ldx, ptrdiff_t rows,
                       ptrdiff_t D, const double *Wp, ptrdiff_t C, double *S,
                       void *scratch);
    /* dW panel dWp = (fresh ? 0 : dWp) + X_block^T G, G (rows, C)
     * C-contiguous, adding the rows in order; X_block is the block the last
     * `scores` call on this scratch read, read again in place (it must not
     * have changed). Meanwhile it may prefetch the next block, next_rows
     * rows of X next_ld apart (none if NULL). */
    void (*grad_f32)(ptrdiff_t rows, ptrdiff_t D, const float *G, ptrdiff_t C,
                     float *dWp, int fresh, const float *next,
                     ptrdiff_t next_ld, ptrdiff_t next_rows, void *scratch);
    void (*grad_f64)(ptrdiff_t rows, ptrdiff_t D, const double *G,
                     ptrdiff_t C, double *dWp, int fresh, const double *next,
                     ptrdiff_t next_ld, ptrdiff_t next_rows, void *scratch);
    /* dW[d*C + c] = (keep ? dW[d*C + c] : 0) + sum of n_acc dW panels
     * (acc + k * acc_stride, added in order of k) for d_begin <= d < d_end. */
    void (*finish_f32)(const float *acc, ptrdiff_t n_acc, ptrdiff_t acc_stride,
                       ptrdiff_t C, ptrdiff_t d_begin, ptrdiff_t d_end,
                       float *dW, int keep);
    void (*finish_f64)(const double *acc, ptrdiff_t n_acc,
                       ptrdiff_t acc_stride, ptrdiff_t C, ptrdiff_t d_begin,
                       ptrdiff_t d_end, double *dW, int keep);
} single_pass_kernels;

/* The table's entry for one path, from its functions named by FN(). */
#define SINGLE_PASS_ENTRY(path, panel_elements, scratch_bytes)               \
    {#path, panel_elements, scratch_bytes, pack_w_f32_##path,                \
     pack_w_f64_##path, scores_f32_##path, scores_f64_##path,                \
     grad_f32_##path, grad_f64_##path, finish_f32_##path, finish_f64_##path}

#endif
