/* The flat ranking kernels (ranking_flat_body.h) compiled for the AVX
 * paths, their table, and the plan a call's groups share. See
 * ranking_flat.h. */

#include "ranking/ranking_flat.h"
#include "simd/isa.h"

void ranking_flat_plan_init(ranking_flat_plan *plan, ptrdiff_t K, int lanes,
                            double delta, double denom)
{
    memset(plan, 0, sizeof *plan);
    plan->K = K;
    plan->lanes = lanes;
    for (ptrdiff_t j = 0; j < K; j++)
        for (int l = 0; l < lanes; l++)
            plan->lane_row[j][l] = (int)((j * lanes + l) / K);
    plan->delta = delta;
    plan->coef = 1.0 / denom;
    /* The row kernels' ds for p = 1 without weights: -coef times the count,
     * in float64, rounded once to the dtype. */
    for (ptrdiff_t c = 0; c <= K; c++) {
        plan->ds_f64[c] = -plan->coef * (double)c;
        plan->ds_f32[c] = (float)plan->ds_f64[c];
    }
}

#define MM_BODY "ranking/ranking_flat_body.h"
#define MM_BODY_AVX_ONLY 1
#include "simd/instantiate.h"

#if MM_X86

/* Lanes a vector of each dtype has on the path. */
#define RANKING_FLAT_LANES_avx512 16, 8
#define RANKING_FLAT_LANES_avx2 8, 4
#define RANKING_FLAT_ENTRY(path)                                             \
    {#path, RANKING_FLAT_LANES_##path, ranking_flat_f32_##path, ranking_flat_f64_##path},
static const ranking_flat_kernels PATHS[] = {MM_FOR_EACH_AVX_PATH(RANKING_FLAT_ENTRY)};

const ranking_flat_kernels *ranking_flat_for(const char *path)
{
    MM_FIND_PATH(PATHS, sizeof PATHS / sizeof PATHS[0], path);
}

#else

const ranking_flat_kernels *ranking_flat_for(const char *path)
{
    (void)path;
    return NULL;
}

#endif
