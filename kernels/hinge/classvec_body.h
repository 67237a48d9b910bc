/* The class-vector kernels (classvec.h), written once for every AVX path
 * and dtype: simd/instantiate.h includes this file once per (path, dtype)
 * with the path's vocabulary defined (simd/<path>.h: T, V, VL, LOAD,
 * STORE, LANE_MASK, FULL_MASK, LANES_MASK, LOAD_MASKED, STORE_MASKED,
 * SPLAT_LOAD, VFMA, ZERO, KEEP_IN_REGISTER, TARGET, MM_REGISTERS; FN names
 * this instantiation's functions).
 *
 * The register budget of a tile follows the path's registers: beside the
 * NV vectors of W (or G) and the broadcast, 12 accumulators within 16
 * registers (tiles of 12 x 1, 6 x 2, 4 x 3; four vectors would leave 3 x 4
 * + 4 + 1 = 17), 24 within 32 (12 x 1, 12 x 2, 8 x 3, 6 x 4).
 *
 * Layouts: the W panel and the dW panels are D rows of Cp = C rounded up
 * to whole vectors (the padding zero); S and G are rows x C, row-major.
 */

/* Accumulators a tile holds: TR rows (or TD values of d) x NV vectors,
 * within these bounds on every path; CV_GROUP vectors of classes a tile
 * holds on this path, CV_TILE(nv) its rows (scores) or values of d
 * (grad) for nv vectors. */
#ifndef CV_MAX_GROUP
#define CV_MAX_GROUP 4
#define CV_MAX_TILE 12
#define CV_ACCUMULATORS (MM_REGISTERS >= 32 ? 24 : 12)
#define CV_GROUP (MM_REGISTERS >= 32 ? 4 : 3)
#define CV_TILE(nv) (CV_ACCUMULATORS / (nv) < CV_MAX_TILE ? CV_ACCUMULATORS / (nv) : CV_MAX_TILE)
#define CV_TILE_1 CV_TILE(1)
#define CV_TILE_2 CV_TILE(2)
#define CV_TILE_3 CV_TILE(3)
#define CV_TILE_4 CV_TILE(4)
#endif

/* Elements of a W or dW panel: D rows of C rounded up to whole vectors of
 * the path, for either dtype (`itemsize`): one function a path, made in its
 * float32 instantiation. */
#if !MM_F64
static size_t FN(panel_elements)(ptrdiff_t D, ptrdiff_t C, size_t itemsize)
{
    size_t lanes = sizeof(V) / itemsize;
    return (size_t)D * (((size_t)C + lanes - 1) / lanes * lanes);
}
#endif

/* Rows (scores) of a tile of nv vectors of classes, on this path. */
static inline int FN(tile_length)(int nv)
{
    return nv == 1 ? CV_TILE_1 : nv == 2 ? CV_TILE_2 : nv == 3 ? CV_TILE_3 : CV_TILE_4;
}

/* The mask of a group's last vector: the classes left, or every lane. */
TARGET static inline LANE_MASK FN(last_mask)(ptrdiff_t C, ptrdiff_t v_end)
{
    ptrdiff_t left = C - (v_end - 1) * VL;
    return left >= VL ? FULL_MASK : LANES_MASK((int)left);
}

TARGET static void FN(pack_w)(const T *W, ptrdiff_t row_stride, ptrdiff_t col_stride,
                              ptrdiff_t D, ptrdiff_t C, T *Wp)
{
    ptrdiff_t Cp = (C + VL - 1) / VL * VL;
    for (ptrdiff_t d = 0; d < D; d++)
        for (ptrdiff_t c = 0; c < Cp; c++)
            Wp[d * Cp + c] = c < C ? W[d * row_stride + c * col_stride] : (T)0;
}

/* --- scores ---------------------------------------------------------- */

/* S[r0 + r, v VL ...] = sum over d of X[r0 + r, d] W[d, v VL ...] for r <
 * live (<= TR) and NV vectors of classes from w (the W panel at the
 * group's first vector, rows ldw apart); the last vector stored under
 * `last`. Rows past `live` repeat the last live row (valid memory; their
 * sums are not stored). NV and TR are constants at every call. */
TARGET static inline MM_ALWAYS_INLINE void FN(score_tile)(
    const T *X, ptrdiff_t ldx, ptrdiff_t r0, int live, const T *w, ptrdiff_t ldw,
    ptrdiff_t D, T *S, ptrdiff_t lds, LANE_MASK last, const int NV, const int TR)
{
    const T *x[CV_MAX_TILE];
    for (int r = 0; r < TR; r++)
        x[r] = X + (r0 + (r < live ? r : live - 1)) * ldx;
    V acc[CV_MAX_TILE][CV_MAX_GROUP];
    for (int r = 0; r < TR; r++)
        for (int v = 0; v < NV; v++)
            acc[r][v] = ZERO;
    for (ptrdiff_t d = 0; d < D; d++) {
        V wv[CV_MAX_GROUP];
        for (int v = 0; v < NV; v++) {
            wv[v] = LOAD(w + d * ldw + v * VL);
            KEEP_IN_REGISTER(wv[v]);
        }
        for (int r = 0; r < TR; r++) {
            const V xb = SPLAT_LOAD(x[r] + d);
            for (int v = 0; v < NV; v++)
                acc[r][v] = VFMA(xb, wv[v], acc[r][v]);
        }
    }
    /* Bounded by the constant TR, not by `live`: with constant indices
     * only, the accumulators stay in registers (else GCC keeps the array
     * on the stack and stores it at every d). */
    for (int r = 0; r < TR; r++) {
        if (r >= live)
            break;
        T *out = S + (r0 + r) * lds;
        for (int v = 0; v < NV - 1; v++)
            STORE(out + v * VL, acc[r][v]);
        STORE_MASKED(out + (NV - 1) * VL, last, acc[r][NV - 1]);
    }
}

/* S (rows, C) = X_block W from the W panel; leaves the block's address in
 * the scratch for grad. */
TARGET static void FN(scores)(const T *X, ptrdiff_t ldx, ptrdiff_t rows, ptrdiff_t D,
                              const T *Wp, ptrdiff_t C, T *S, void *scratch)
{
    single_pass_block *block = (single_pass_block *)scratch;
    block->X = X;
    block->ldx = ldx;
    ptrdiff_t Cp = (C + VL - 1) / VL * VL, n_vec = Cp / VL;
    for (ptrdiff_t v0 = 0; v0 < n_vec; v0 += CV_GROUP) {
        int nv = n_vec - v0 < CV_GROUP ? (int)(n_vec - v0) : CV_GROUP;
        int tr = FN(tile_length)(nv);
        LANE_MASK last = FN(last_mask)(C, v0 + nv);
        const T *w = Wp + v0 * VL;
        T *s = S + v0 * VL;
        for (ptrdiff_t r0 = 0; r0 < rows; r0 += tr) {
            int live = rows - r0 < tr ? (int)(rows - r0) : tr;
            switch (nv) {
            case 1: FN(score_tile)(X, ldx, r0, live, w, Cp, D, s, C, last, 1, CV_TILE_1); break;
#if CV_GROUP >= 2
            case 2: FN(score_tile)(X, ldx, r0, live, w, Cp, D, s, C, last, 2, CV_TILE_2); break;
#endif
#if CV_GROUP >= 3
            case 3: FN(score_tile)(X, ldx, r0, live, w, Cp, D, s, C, last, 3, CV_TILE_3); break;
#endif
#if CV_GROUP >= 4
            case 4: FN(score_tile)(X, ldx, r0, live, w, Cp, D, s, C, last, 4, CV_TILE_4); break;
#endif
            }
        }
    }
}

/* --- gradient -------------------------------------------------------- */

/* TD rows d0.. of the dW panel (rows ldw apart), NV vectors from dwp:
 * (fresh ? 0 : themselves) + X[r, d] G[r, :] over the block's rows r in
 * order. With PARTIAL the last G vector is read under its mask (its lanes
 * past C as 0, so the panel's padding stays 0); whole vectors are plain
 * loads (AVX2's masked loads take a register for the mask, and 16 are
 * all there are). NV, TD and PARTIAL are constants. */
TARGET static inline MM_ALWAYS_INLINE void FN(grad_tile)(
    const T *X, ptrdiff_t ldx, ptrdiff_t rows, ptrdiff_t d0, const T *G, ptrdiff_t ldg,
    T *dwp, ptrdiff_t ldw, int fresh, LANE_MASK last, const int NV, const int TD,
    const int PARTIAL)
{
    V acc[CV_MAX_TILE][CV_MAX_GROUP];
    for (int t = 0; t < TD; t++)
        for (int v = 0; v < NV; v++)
            acc[t][v] = fresh ? ZERO : LOAD(dwp + t * ldw + v * VL);
    for (ptrdiff_t r = 0; r < rows; r++) {
        V gv[CV_MAX_GROUP];
        for (int v = 0; v < NV; v++) {
            if (PARTIAL && v == NV - 1)
                gv[v] = LOAD_MASKED(last, G + r * ldg + v * VL);
            else
                gv[v] = LOAD(G + r * ldg + v * VL);
            KEEP_IN_REGISTER(gv[v]);
        }
        const T *x = X + r * ldx + d0;
        for (int t = 0; t < TD; t++) {
            const V xb = SPLAT_LOAD(x + t);
            for (int v = 0; v < NV; v++)
                acc[t][v] = VFMA(xb, gv[v], acc[t][v]);
        }
    }
    for (int t = 0; t < TD; t++)
        for (int v = 0; v < NV; v++)
            STORE(dwp + t * ldw + v * VL, acc[t][v]);
}

/* One group of NV vectors over all of D: whole tiles of TD values of d,
 * then the last D % TD one value at a time. */
TARGET static inline MM_ALWAYS_INLINE void FN(grad_group)(
    const T *X, ptrdiff_t ldx, ptrdiff_t rows, ptrdiff_t D, const T *G, ptrdiff_t ldg,
    T *dwp, ptrdiff_t ldw, int fresh, LANE_MASK last, const int NV, const int TD,
    const int PARTIAL)
{
    ptrdiff_t d0 = 0;
    for (; d0 + TD <= D; d0 += TD)
        FN(grad_tile)(X, ldx, rows, d0, G, ldg, dwp + d0 * ldw, ldw, fresh, last, NV, TD,
                      PARTIAL);
    for (; d0 < D; d0++)
        FN(grad_tile)(X, ldx, rows, d0, G, ldg, dwp + d0 * ldw, ldw, fresh, last, NV, 1,
                      PARTIAL);
}

/* A group of NV vectors, its last one whole or partial. */
TARGET static inline MM_ALWAYS_INLINE void FN(grad_any_group)(
    const T *X, ptrdiff_t ldx, ptrdiff_t rows, ptrdiff_t D, const T *G, ptrdiff_t ldg,
    T *dwp, ptrdiff_t ldw, int fresh, LANE_MASK last, int partial, const int NV, const int TD)
{
    if (partial)
        FN(grad_group)(X, ldx, rows, D, G, ldg, dwp, ldw, fresh, last, NV, TD, 1);
    else
        FN(grad_group)(X, ldx, rows, D, G, ldg, dwp, ldw, fresh, last, NV, TD, 0);
}

/* dW panel (fresh ? 0 : itself) + X_block^T G, X_block the block the last
 * scores call on this scratch saw. The next block (next, next_ld,
 * next_rows) is left to the hardware prefetchers: these kernels run along
 * whole rows of X, which the prefetchers follow, and asking for it slowed
 * the pass (bench/results/2026-12-01.md). */
TARGET static void FN(grad)(ptrdiff_t rows, ptrdiff_t D, const T *G, ptrdiff_t C,
                            T *dWp, int fresh, const T *next, ptrdiff_t next_ld,
                            ptrdiff_t next_rows, void *scratch)
{
    const single_pass_block *block = (const single_pass_block *)scratch;
    const T *X = (const T *)block->X;
    (void)next, (void)next_ld, (void)next_rows;
    ptrdiff_t ldx = block->ldx;
    ptrdiff_t Cp = (C + VL - 1) / VL * VL, n_vec = Cp / VL;
    for (ptrdiff_t v0 = 0; v0 < n_vec; v0 += CV_GROUP) {
        int nv = n_vec - v0 < CV_GROUP ? (int)(n_vec - v0) : CV_GROUP;
        LANE_MASK last = FN(last_mask)(C, v0 + nv);
        int partial = v0 + nv == n_vec && C % VL != 0;
        const T *g = G + v0 * VL;
        T *dwp = dWp + v0 * VL;
        switch (nv) {
        case 1: FN(grad_any_group)(X, ldx, rows, D, g, C, dwp, Cp, fresh, last, partial, 1,
                                     CV_TILE_1);
            break;
#if CV_GROUP >= 2
        case 2: FN(grad_any_group)(X, ldx, rows, D, g, C, dwp, Cp, fresh, last, partial, 2,
                                     CV_TILE_2);
            break;
#endif
#if CV_GROUP >= 3
        case 3: FN(grad_any_group)(X, ldx, rows, D, g, C, dwp, Cp, fresh, last, partial, 3,
                                     CV_TILE_3);
            break;
#endif
#if CV_GROUP >= 4
        case 4: FN(grad_any_group)(X, ldx, rows, D, g, C, dwp, Cp, fresh, last, partial, 4,
                                     CV_TILE_4);
            break;
#endif
        }
    }
}

/* dW[d, c] = (keep ? dW[d, c] : 0) + sum_k acc_k[d, c] for d in [d_begin,
 * d_end), the n_acc panels acc_k = acc + k * acc_stride added in order k. */
TARGET static void FN(finish)(const T *acc, ptrdiff_t n_acc, ptrdiff_t acc_stride,
                              ptrdiff_t C, ptrdiff_t d_begin, ptrdiff_t d_end, T *dW,
                              int keep)
{
    ptrdiff_t Cp = (C + VL - 1) / VL * VL, n_vec = Cp / VL;
    /* Vectors of dW that end inside a row are stored whole (AVX2's masked
     * stores are slow); a partial last one under its mask. */
    ptrdiff_t whole = C % VL == 0 ? n_vec : n_vec - 1;
    LANE_MASK last = FN(last_mask)(C, n_vec);
    for (ptrdiff_t d = d_begin; d < d_end; d++)
        for (ptrdiff_t v = 0; v < n_vec; v++) {
            const T *from = acc + d * Cp + v * VL;
            V sum = LOAD(from);
            for (ptrdiff_t k = 1; k < n_acc; k++)
                sum = sum + LOAD(from + k * acc_stride);
            T *to = dW + d * C + v * VL;
            if (v < whole) {
                if (keep)
                    sum = LOAD(to) + sum;
                STORE(to, sum);
            } else {
                if (keep)
                    sum = LOAD_MASKED(last, to) + sum;
                STORE_MASKED(to, last, sum);
            }
        }
}
