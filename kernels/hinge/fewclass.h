/* The few-classes kernels of svm_loss's single pass (single_pass.h).
 *
 * With few classes (C = 10: CIFAR-10) the two products of a row block work
 * along D, the long axis, never along C, which would waste most vector
 * lanes at C = 10. The body (fewclass_body.h) is compiled for every SIMD
 * path (simd/instantiate.h).
 *
 * Arithmetic: each score is a dot product accumulated lane-wise along D in
 * the data's dtype (like a BLAS GEMM), lanes summed in a fixed order at the
 * end; FMA paths round each multiply-add once. The result depends on the
 * path (lane count, FMA) and on nothing else: not on threads, not on the
 * row block a row falls in.
 */
#ifndef MAXMARGIN_FEWCLASS_H
#define MAXMARGIN_FEWCLASS_H

#include "hinge/single_pass.h"

/* Largest vector of any path, in bytes: panels and scratch are sized for
 * it, so that the sizes do not depend on the path. */
#define FEWCLASS_MAX_VECTOR_BYTES 64

/* Bytes the scratch keeps for the block's address (a single_pass_block),
 * so that what follows stays aligned as the scratch is. */
#define FEWCLASS_SCRATCH_HEADER 64

/* The few-classes kernels of the named path (every path has them). */
const single_pass_kernels *fewclass_for(const char *path);

/* Elements of a W or dW panel of D x C elements of `itemsize` bytes, on any
 * path (the panels pad D to whole pairs of vectors). */
size_t fewclass_panel_elements(ptrdiff_t D, ptrdiff_t C, size_t itemsize);

/* Scratch bytes for a block of `rows` rows, on any path: a header, a vector
 * of partial sums per (row, class), each row's zero-padded last vector and
 * last pair of vectors. */
size_t fewclass_scratch_bytes(ptrdiff_t rows, ptrdiff_t D, ptrdiff_t C,
                              size_t itemsize);

#endif
