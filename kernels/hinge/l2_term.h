/* svm_loss's L2 term, on the active SIMD path: both svm_loss paths call it.
 *
 *   dW (+)= two_reg * W        (accumulate: added to dW, else written)
 *   returns sum(W**2) in float64
 *
 * for W (D, C) with any element strides (row_stride, col_stride) and dW
 * (D, C) C-contiguous. It runs on the path's vectors because at a batch of
 * a row or two it costs as much as the products, and W is often tall and
 * thin (D rows of C = 10).
 *
 * The sum's order is the same on every path: a C-ordered W as one flat run
 * of D*C elements, element j into partial sum j % L2_TERM_LANES (a run's
 * last D*C % L2_TERM_LANES elements into the first), the partial sums
 * added pairwise at the end; other layouts row by row the same way
 * (col_stride 1) or in one sum, element by element. Multiplies and adds
 * are never fused, so the bits do not depend on the path either.
 */
#ifndef MAXMARGIN_HINGE_L2_TERM_H
#define MAXMARGIN_HINGE_L2_TERM_H

#include <stddef.h>

/* Partial sums of the sum of squares (a power of two). */
#define L2_TERM_LANES 16

typedef struct {
    const char *name;  /* the SIMD path */
    double (*f32)(const float *W, ptrdiff_t row_stride, ptrdiff_t col_stride,
                  ptrdiff_t D, ptrdiff_t C, float two_reg, int accumulate, float *dW);
    double (*f64)(const double *W, ptrdiff_t row_stride, ptrdiff_t col_stride,
                  ptrdiff_t D, ptrdiff_t C, double two_reg, int accumulate, double *dW);
} l2_term_kernels;

/* The L2 term of the named path (every path has one). */
const l2_term_kernels *l2_term_for(const char *path);

#endif
