/* The flat ranking kernel (ranking_flat.h), written once for every AVX path
 * and dtype: simd/instantiate.h includes this file once per (path, dtype)
 * with the path's vocabulary defined (simd/<path>.h: T, V, VL, LOAD,
 * STORE, STREAM, SPLAT, CMP_MASK, GT_ZERO, CMP_BITS, NAN_BITS, SELECT,
 * POSITIVE, VI, INDEX, PERMUTE, WIDEN_LOW, WIDEN_HIGH, DV, DVL, STORE_DV,
 * TARGET; FN names this instantiation's functions).
 */

/* LOSS_ADD(lo, hi, t, j): the lanes of t (vector j of its group) added
 * into the float64 loss lanes lo and hi. float32 widens each vector into
 * both (exactly); float64 vectors alternate between the two, so that the
 * adds form two chains. FLAT_DS_TABLE(plan): the plan's ds for each
 * count, in this dtype. */
#if !MM_F64
#define LOSS_ADD(lo, hi, t, j)                                               \
    do {                                                                     \
        const V t_ = (t);                                                    \
        (lo) += WIDEN_LOW(t_);                                               \
        (hi) += WIDEN_HIGH(t_);                                              \
    } while (0)
#define FLAT_DS_TABLE(plan) ((plan)->ds_f32)
#else
#define LOSS_ADD(lo, hi, t, j)                                               \
    do {                                                                     \
        if ((j) & 1)                                                         \
            (hi) += (t);                                                     \
        else                                                                 \
            (lo) += (t);                                                     \
    } while (0)
#define FLAT_DS_TABLE(plan) ((plan)->ds_f64)
#endif

/* The K vectors of a group of VL rows: margins, gradients of s_c (stored
 * non-temporally with `stream`, a constant at each call), the compare
 * masks gathered as bits (vector j's VL bits at bit j VL: a row's K bits
 * are then consecutive, at bit r K), and the loss lanes. Returns the NaN
 * bits of the group. */
TARGET static inline __attribute__((always_inline)) unsigned FN(group)(
    const T *s, const T *s_c, T *ds_c, const VI *idx, ptrdiff_t K, V delta, V coef,
    uint64_t bits[5], DV *lo, DV *hi, const int stream)
{
    const V s_lanes = LOAD(s);
    unsigned nan = 0;
    bits[0] = bits[1] = bits[2] = bits[3] = bits[4] = 0;
    for (ptrdiff_t j = 0; j < K; j++) {
        const V m = (LOAD(s_c + j * VL) - PERMUTE(s_lanes, idx[j])) + delta;
        const CMP_MASK violated = GT_ZERO(m);
        nan |= NAN_BITS(m);
        if (stream)
            STREAM(ds_c + j * VL, SELECT(violated, coef));
        else
            STORE(ds_c + j * VL, SELECT(violated, coef));
        LOSS_ADD(*lo, *hi, POSITIVE(m), j);
        bits[(j * VL) >> 6] |= (uint64_t)CMP_BITS(violated) << ((j * VL) & 63);
    }
    return nan;
}

TARGET static int FN(ranking_flat)(const T *s, const T *s_c,
                                   const ranking_flat_plan *plan, T *ds, T *ds_c,
                                   ptrdiff_t groups, int stream, double *loss)
{
    const ptrdiff_t K = plan->K;
    const uint64_t row_mask = ((uint64_t)1 << K) - 1;
    VI idx[RANKING_FLAT_MAX_K];
    for (ptrdiff_t j = 0; j < K; j++)
        idx[j] = INDEX(plan->lane_row[j]);
    const V delta = SPLAT((T)plan->delta), coef = SPLAT((T)plan->coef);
    const T *ds_of_count = FLAT_DS_TABLE(plan);
    DV lo = {0}, hi = {0};
    unsigned nan = 0;
    for (ptrdiff_t g = 0; g < groups; g++) {
        uint64_t bits[5];
        if (stream)
            nan |= FN(group)(s + g * VL, s_c + g * VL * K, ds_c + g * VL * K, idx, K,
                             delta, coef, bits, &lo, &hi, 1);
        else
            nan |= FN(group)(s + g * VL, s_c + g * VL * K, ds_c + g * VL * K, idx, K,
                             delta, coef, bits, &lo, &hi, 0);
        /* Row r's K bits start at bit r K: eight bytes from byte r K / 8,
         * shifted by r K % 8, hold them all (K <= 16). */
        const unsigned char *bytes = (const unsigned char *)bits;
        for (int r = 0; r < VL; r++) {
            const ptrdiff_t at = r * K;
            uint64_t word;
            memcpy(&word, bytes + (at >> 3), sizeof word);
            ds[g * VL + r] = ds_of_count[__builtin_popcountll((word >> (at & 7)) & row_mask)];
        }
    }
    if (stream)
        _mm_sfence();  /* the streamed stores are seen before the call returns */
    /* The loss lanes, added pairwise in a fixed order. */
    double lanes[DVL];
    STORE_DV(lanes, lo + hi);
    for (int width = DVL / 2; width >= 1; width /= 2)
        for (int l = 0; l < width; l++)
            lanes[l] += lanes[l + width];
    *loss = lanes[0];
    return nan != 0;
}

#undef LOSS_ADD
#undef FLAT_DS_TABLE
