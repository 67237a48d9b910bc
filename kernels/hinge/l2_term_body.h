/* svm_loss's L2 term (l2_term.h), written once for every path and dtype:
 * simd/instantiate.h includes this file once per (path, dtype). Plain
 * loops, which the compiler vectorises for the path's TARGET; in the order
 * of the sum that l2_term.h fixes, so the bits are the same on every path.
 */

/* dW (+)= two_reg * W and the sum of W's squares in float64, for W (D, C)
 * with any element strides and dW (D, C) C-contiguous. */
TARGET static double FN(l2_gradient)(const T *W, ptrdiff_t row_stride,
                                     ptrdiff_t col_stride, ptrdiff_t n_rows,
                                     ptrdiff_t n_cols, T two_reg,
                                     int accumulate, T *dW)
{
    double lanes[L2_TERM_LANES] = {0}, sum_sq = 0.0;
    if (col_stride == 1 && row_stride == n_cols) {  /* one flat run */
        n_cols *= n_rows;
        n_rows = 1;
    }
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        const T *w = W + i * row_stride;
        T *g = dW + i * n_cols;
        if (col_stride != 1) {
            for (ptrdiff_t j = 0; j < n_cols; j++) {
                T x = w[j * col_stride];
                sum_sq += (double)x * (double)x;
                g[j] = (accumulate ? g[j] : (T)0) + two_reg * x;
            }
            continue;
        }
        if (accumulate)
            for (ptrdiff_t j = 0; j < n_cols; j++)
                g[j] = g[j] + two_reg * w[j];
        else
            for (ptrdiff_t j = 0; j < n_cols; j++)
                g[j] = (T)0 + two_reg * w[j];
        ptrdiff_t j = 0;
        for (; j + L2_TERM_LANES <= n_cols; j += L2_TERM_LANES)
            for (int k = 0; k < L2_TERM_LANES; k++)
                lanes[k] += (double)w[j + k] * (double)w[j + k];
        for (; j < n_cols; j++)
            lanes[0] += (double)w[j] * (double)w[j];
    }
    for (int width = L2_TERM_LANES / 2; width >= 1; width /= 2)
        for (int k = 0; k < width; k++)
            lanes[k] = lanes[k] + lanes[k + width];
    return sum_sq + lanes[0];
}
