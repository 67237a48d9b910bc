/* The few-classes micro-kernels of svm_loss, and the run-time choice of
 * instruction set they are compiled for.
 *
 * svm_loss with few classes (C = 10: CIFAR-10) reads each row block of X
 * once: its scores against W, the margin pass (in Cython), then its share
 * of dW while the block is still in cache. The two products of a block are
 * the kernels below. They work along D (the long axis), never along C,
 * which would waste most vector lanes at C = 10.
 *
 * The same source (fewclass_body.h) is compiled once per instruction set:
 *
 *   "baseline"  16-byte vectors: SSE2 on x86-64, NEON on arm64; plain
 *               scalars with a compiler that lacks GCC/Clang vector types
 *   "avx2"      32-byte vectors with FMA        (x86-64, GCC or Clang)
 *   "avx512"    64-byte vectors with FMA, AVX-512F (x86-64, GCC or Clang)
 *
 * mm_fewclass_select() picks one; the Cython layer calls it once at import
 * with the best the CPU supports or the path named by MAXMARGIN_SIMD.
 *
 * Arithmetic: each score is a dot product accumulated lane-wise along D in
 * the data's dtype (like a BLAS GEMM), lanes summed in a fixed order at the
 * end; FMA paths round each multiply-add once. The result depends on the
 * path (lane count, FMA) and on nothing else: not on threads, not on the
 * row block a row falls in.
 */
#ifndef MAXMARGIN_FEWCLASS_H
#define MAXMARGIN_FEWCLASS_H

#include <stddef.h>

/* Register tiles (fewclass_body.h): the gradient's holds FEWCLASS_TILE
 * classes x 2 vectors, the scores' SCORE_ROWS rows x SCORE_CLASSES classes;
 * either keeps 10-12 vector accumulators, within the 16 registers of
 * SSE2/AVX2. AVX-512, with 32 registers, takes 10 classes x 2 vectors and 4
 * rows x SCORE_CLASSES (fewclass.c: GRAD_TILE, SCORE_TILE_ROWS). */
#define FEWCLASS_TILE 5
#ifndef SCORE_ROWS
#define SCORE_ROWS 2
#define SCORE_CLASSES 5
#endif

/* Partial sums of fewclass_l2_gradient's sum of squares (a power of two). */
#define FEWCLASS_L2_LANES 16

/* Largest vector of any path, in bytes: scratch is sized for it. */
#define FEWCLASS_MAX_VECTOR_BYTES 64

/* What `scores` leaves at the start of a block's scratch for `grad` (both
 * families): the rows it read, which grad reads again in place. */
typedef struct {
    const void *X;
    ptrdiff_t ldx;
} fewclass_block;

/* Bytes the few-classes kernels keep for it, so that what follows stays
 * aligned as the scratch is. */
#define FEWCLASS_SCRATCH_HEADER 64

typedef struct {
    const char *name;
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
     * fewclass_block) and its last, partial vectors for grad. */
    void (*scores_f32)(const float *X, ptrdiff_t ldx, ptrdiff_t rows,
                       ptrdiff_t D, const float *Wp, ptrdiff_t C, float *S,
                       void *scratch);
    void (*scores_f64)(const double *X, ptrdiff_t ldx, ptrdiff_t rows,
                       ptrdiff_t D, const double *Wp, ptrdiff_t C, double *S,
                       void *scratch);
    /* dW panel dWp = (fresh ? 0 : dWp) + X_block^T G, G (rows, C)
     * C-contiguous, adding the rows in order; X_block is the block the last
     * `scores` call on this scratch read, read again in place (it must not
     * have changed). Meanwhile prefetches the next block, next_rows rows of
     * X next_ld apart (none if NULL). */
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
} fewclass_kernels;

/* Elements of a W or dW panel of D x C elements of `itemsize` bytes, on any
 * path (the panels pad D to whole pairs of vectors). */
size_t fewclass_panel_elements(ptrdiff_t D, ptrdiff_t C, size_t itemsize);

/* Scratch bytes for a block of `rows` rows, on any path: a header, a vector
 * of partial sums per (row, class), each row's zero-padded last vector and
 * last pair of vectors. */
size_t fewclass_scratch_bytes(ptrdiff_t rows, ptrdiff_t D, ptrdiff_t C,
                              size_t itemsize);

/* A workspace of at least `bytes` bytes, 64-byte aligned, or NULL when out
 * of memory. The last one given back is kept for the next call: large
 * blocks freed and allocated afresh on every call come back from the OS as
 * new zeroed pages, which cost more than the work at small batches.
 * Thread-safe: concurrent calls each get their own. */
void *fewclass_workspace_take(size_t bytes);

/* Return a workspace from fewclass_workspace_take (NULL is ignored). */
void fewclass_workspace_give(void *workspace);

/* svm_loss's L2 term, on the active path (both svm_loss paths call it):
 * dW (+)= two_reg * W (accumulate: added to dW, else written), for W (D, C)
 * with any element strides (row_stride, col_stride) and dW (D, C)
 * C-contiguous; returns sum(W**2) in float64. The sum's order is the same
 * on every path: a C-ordered W as one flat run of D*C elements, element j
 * into partial sum j % FEWCLASS_L2_LANES (a run's last D*C %
 * FEWCLASS_L2_LANES elements into the first), the partial sums added
 * pairwise at the end; other layouts row by row the same way (col_stride
 * 1) or in one sum, element by element. Multiplies and adds are never
 * fused, so the bits do not depend on the path either. */
double fewclass_l2_gradient_f32(const float *W, ptrdiff_t row_stride,
                                ptrdiff_t col_stride, ptrdiff_t D, ptrdiff_t C,
                                float two_reg, int accumulate, float *dW);
double fewclass_l2_gradient_f64(const double *W, ptrdiff_t row_stride,
                                ptrdiff_t col_stride, ptrdiff_t D, ptrdiff_t C,
                                double two_reg, int accumulate, double *dW);

/* The kernels in use (never NULL: the baseline until something is chosen). */
const fewclass_kernels *fewclass_active(void);

/* Names of the paths compiled into this build, best first, NULL-terminated. */
const char *const *fewclass_compiled_paths(void);

/* 1 when this CPU (and OS) can run the named path, else 0. */
int fewclass_cpu_supports(const char *name);

/* Make the named path the active one ("auto": the best supported).
 * Returns 0, or -1 for a name not compiled in, -2 for a path this CPU
 * cannot run. */
int fewclass_select(const char *name);

#endif
