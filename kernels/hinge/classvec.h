/* svm_loss's single pass with its products vectorised along the classes,
 * for more classes than the few-classes kernels take (fewclass.h), on the
 * AVX-512 and AVX2 paths.
 *
 * The few-classes kernels vectorise along D: at C = 10 a vector of classes
 * would leave 6 of 16 lanes empty. From C = 16 up whole vectors of classes
 * fill, and the products take the form of a GEMM micro-kernel: no sums
 * across lanes, each loaded vector of W (or G) used by a dozen rows:
 *
 *   scores: S[r, :] += X[r, d] * W[d, :]   TR rows x NV vectors of classes,
 *           X[r, d] broadcast from memory into the FMA, all of D in turn
 *           (each S entry summed in d order, as a BLAS GEMM does)
 *   grad:   dW[d, :] += X[r, d] * G[r, :]  TD values of d x NV vectors of
 *           classes, the block's rows in order, added to a chunk's dW
 *           panel
 *
 * with TR = TD = 12, 12, 8, 6 for NV = 1, 2, 3, 4 on AVX-512 (24
 * accumulators of 32 registers at most) and 12, 6, 4 for NV = 1, 2, 3 on
 * AVX2 (12 of 16); more classes than a group holds go in further groups
 * (classvec_body.h).
 * W and the dW panels are D x Cp, Cp = C rounded up to whole vectors, the
 * padding zero. X is read in place (rows of adjacent elements): scores
 * leaves the block's address in the scratch for grad.
 *
 * The kernels fill the same table as the few-classes kernels
 * (single_pass.h), so that one driver (single_pass.pxd) runs either. Results depend on the path and on nothing else: not on threads,
 * not on the row block a row falls in.
 */
#ifndef MAXMARGIN_CLASSVEC_H
#define MAXMARGIN_CLASSVEC_H

#include "hinge/single_pass.h"

/* The class-vector kernels of the named SIMD path, or NULL where it has
 * none (the baseline: svm_loss takes the two GEMMs above the few-classes
 * range there). */
const single_pass_kernels *classvec_for(const char *path);

#endif
