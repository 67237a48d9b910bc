/* The flat ranking kernel (ranking_flat.h), written once for every path and
 * dtype: ranking_flat.c includes this file once per (path, dtype) after
 * defining
 *
 *   T, VL, V        the element type, lanes per vector, the vector type
 *   DV, DVL         a vector of DVL doubles (the loss lanes)
 *   VI, MASK        a permutation index vector; a compare result
 *   TARGET          the function attribute selecting the instruction set
 *   FN(name)        the name of a function of this instantiation
 *   LOAD(p), STORE(p, v), SPLAT(x)
 *   STREAM(p, v)    STORE without keeping the line in cache (a
 *                   non-temporal store: p aligned to a whole vector)
 *   INDEX(lane_row) VI from the VL entries of an int[16] (s's lane of each
 *                   lane of a vector)
 *   PERMUTE(v, idx) lane l of the result is lane idx[l] of v
 *   GT_ZERO(m)      the compare m > 0 (false for NaN)
 *   BITS(mask)      the compare as an unsigned integer, bit l for lane l
 *   NAN_BITS(m)     bit l set where lane l of m is NaN
 *   SELECT(mask, v) v where the compare holds, 0 elsewhere
 *   POSITIVE(m)     max(m, 0) (any value for a NaN m: such groups are redone)
 *   LOSS_ADD(lo, hi, t, j)  the lanes of t (vector j of its group) added
 *                   into the loss lanes
 *   STORE_DV(p, v)  the DVL doubles of v to p
 *   FLAT_DS_TABLE(plan)  the plan's ds for each count, in this dtype
 *   TYPE_TAG        the dtype's part of FN's names (f32, f64)
 *
 * It undefines the dtype's macros at its end (all but the path's: PATH,
 * TARGET, FN, DV, DVL, STORE_DV), so the next instantiation starts clean.
 */

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
        const MASK violated = GT_ZERO(m);
        nan |= NAN_BITS(m);
        if (stream)
            STREAM(ds_c + j * VL, SELECT(violated, coef));
        else
            STORE(ds_c + j * VL, SELECT(violated, coef));
        LOSS_ADD(*lo, *hi, POSITIVE(m), j);
        bits[(j * VL) >> 6] |= (uint64_t)BITS(violated) << ((j * VL) & 63);
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

#undef T
#undef TYPE_TAG
#undef VL
#undef V
#undef VI
#undef MASK
#undef LOAD
#undef STORE
#undef STREAM
#undef SPLAT
#undef INDEX
#undef PERMUTE
#undef GT_ZERO
#undef BITS
#undef NAN_BITS
#undef SELECT
#undef POSITIVE
#undef LOSS_ADD
#undef FLAT_DS_TABLE
