/* The max-margin ranking hinge over flat runs of pairs, for the AVX2 and
 * AVX-512 paths (simd/isa.h names the paths).
 *
 * ranking_rows.h puts rows in lanes and gathers each of a row's K columns
 * into its own vector; here the lanes run along s_c as it lies in memory
 * (row-major (N, K)), so s_c and ds_c move by whole vector loads and
 * stores, and s is spread over each row's K lanes by one permutation per
 * vector. A group of VL rows (VL lanes) is K vectors of s_c:
 *
 *   lane l of vector j is pair e = j VL + l, of row e / K
 *   m      = (s_c[i, k] - s_i) + delta, in the data's dtype
 *   ds_c   = m > 0 ? (dtype)(1 / denom) : 0
 *   ds_i   = (dtype)(-(1 / denom) * count_i), count_i = violated pairs of
 *            row i, from the compare masks (popcount of the row's K bits)
 *   loss  += max(0, m), in float64 lanes (float32 data widened exactly)
 *
 * Only the commonest case takes it: p = 1, no weights, no accumulation, no
 * per-row losses, 1 <= K <= RANKING_FLAT_MAX_K. Its gradients are the
 * row kernels' bit for bit (the slopes are 0 or 1, the counts exact); the
 * loss adds the same terms in another order (lane by lane, lanes summed in
 * a fixed order at the end), so it may differ from theirs in the last bits
 * and is the same for every thread count. A group with a NaN margin is
 * reported, not finished: the caller redoes the block with the row
 * kernels, which give NaN its meaning (the gradient of a NaN margin is
 * NaN).
 */
#ifndef MAXMARGIN_RANKING_FLAT_H
#define MAXMARGIN_RANKING_FLAT_H

#include <stddef.h>

/* Corrupted samples per row the flat kernels take: a group's compare
 * masks (VL K bits, VL <= 16) then fit the 256-bit scratch they use. */
#define RANKING_FLAT_MAX_K 16

/* The alignment of ds_c that streamed stores need on every path (a group
 * is K whole vectors, so an aligned start keeps every group aligned). */
#define RANKING_FLAT_STREAM_ALIGN 64

/* What a call's groups share, made once per call by ranking_flat_plan_init
 * for a path's lane count. */
typedef struct {
    ptrdiff_t K;
    int lanes;                              /* VL of the path and dtype */
    int lane_row[RANKING_FLAT_MAX_K][16];   /* (j VL + l) / K: s's lane for lane l of vector j */
    double delta;
    double coef;                            /* 1 / denom */
    float ds_f32[RANKING_FLAT_MAX_K + 1];   /* ds for each count: (float)(-coef c) */
    double ds_f64[RANKING_FLAT_MAX_K + 1];  /* -coef c */
} ranking_flat_plan;

/* Both dtypes' kernels of one path. Each does `groups` groups of `lanes`
 * rows of C-contiguous s_c (N, K) and contiguous s, writing ds and ds_c;
 * *loss gets the sum of max(0, m) over their pairs (unscaled). With
 * `stream`, ds_c is written by non-temporal stores, which need ds_c
 * aligned to RANKING_FLAT_STREAM_ALIGN bytes. Returns 0, or 1 when some
 * margin was NaN (then the outputs of those rows are not the row kernels'
 * and must be redone). */
typedef struct {
    const char *name;
    int lanes_f32, lanes_f64;
    int (*rows_f32)(const float *s, const float *s_c, const ranking_flat_plan *plan,
                    float *ds, float *ds_c, ptrdiff_t groups, int stream,
                    double *loss);
    int (*rows_f64)(const double *s, const double *s_c, const ranking_flat_plan *plan,
                    double *ds, double *ds_c, ptrdiff_t groups, int stream,
                    double *loss);
} ranking_flat_kernels;

/* The flat kernels of the named SIMD path, or NULL where it has none (the
 * baseline: the row kernels serve every layout there). */
const ranking_flat_kernels *ranking_flat_for(const char *path);

/* Fill `plan` for K corrupted samples a row (1..RANKING_FLAT_MAX_K), a
 * path's lane count, the margin and the reduction's denominator. */
void ranking_flat_plan_init(ranking_flat_plan *plan, ptrdiff_t K, int lanes,
                            double delta, double denom);

#endif
