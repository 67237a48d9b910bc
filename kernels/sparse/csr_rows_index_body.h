/* One index type's sparse row kernels (csr_rows.h): csr_rows_body.h
 * includes this file with IDX (int32_t or int64_t) and IDX_TAG defined, in
 * one SIMD path's and dtype's vocabulary. */

#ifdef LANE_MASK
#define CSR_MASKS 1  /* the tail of a row is one vector under a lane mask */
#define CSR_MASKED_SCATTER FAST_MASKED_STORES
/* A scalar a * b + c rounded once, as a lane of VFMA rounds it: the
 * scatter's tail, where a masked store would be microcoded on some cores. */
#if !MM_F64
#define CSR_TAIL_FMA(a, b, c) __builtin_fmaf(a, b, c)
#else
#define CSR_TAIL_FMA(a, b, c) __builtin_fma(a, b, c)
#endif
#else
#define CSR_MASKS 0  /* the tail of a row is scalars */
#define CSR_MASKED_SCATTER 0
#define CSR_TAIL_FMA(a, b, c) ((a) * (b) + (c))
#endif

/* Column j outside [0, D): one unsigned comparison covers j < 0 too. */
static inline int FNI(bad_index)(IDX j, ptrdiff_t D)
{
    return (uint64_t)(int64_t)j >= (uint64_t)D;
}

/* Ask the cache for the row of W (write 0) or dW (write 1) that entry
 * `ahead` names, both lines it may span, if that entry is before `end` and
 * a valid one. */
static inline void FNI(prefetch_row)(const T *M, const IDX *indices, ptrdiff_t ahead,
                                     ptrdiff_t end, ptrdiff_t D, ptrdiff_t C, const int write)
{
    if (ahead < end) {
        const IDX j = indices[ahead];
        if (!FNI(bad_index)(j, D)) {
            if (write) {
                MM_PREFETCH_WRITE(M + (ptrdiff_t)j * C);
                MM_PREFETCH_WRITE(M + (ptrdiff_t)j * C + C - 1);
            } else {
                MM_PREFETCH(M + (ptrdiff_t)j * C);
                MM_PREFETCH(M + (ptrdiff_t)j * C + C - 1);
            }
        }
    }
}

/* --- gather: S[r] = sum_k data[k] W[indices[k]] (+ b) -------------------- */

/* One row, its NVF whole vectors and its tail in registers. NVF is a
 * constant at every call. Returns the first bad entry, or -1 (s written). */
TARGET static inline MM_ALWAYS_INLINE ptrdiff_t FNI(gather_row)(
    const T *data, const IDX *indices, ptrdiff_t start, ptrdiff_t end, const T *W,
    ptrdiff_t D, ptrdiff_t C, const T *b, T *s, ptrdiff_t prefetch, ptrdiff_t block_end,
    const int NVF)
{
    const ptrdiff_t tail = C - NVF * VL;
    V acc[CSR_REGISTER_VECTORS];
    for (int v = 0; v < NVF; v++)
        acc[v] = ZERO;
#if CSR_MASKS
    const LANE_MASK m = LANES_MASK((int)(tail > 0 ? tail : 1));
    V acc_tail = ZERO;
#else
    T acc_tail[VL];
    for (int l = 0; l < VL; l++)
        acc_tail[l] = (T)0;
#endif
    for (ptrdiff_t k = start; k < end; k++) {
        const IDX j = indices[k];
        if (FNI(bad_index)(j, D))
            return k;
        if (prefetch)
            FNI(prefetch_row)(W, indices, k + prefetch, block_end, D, C, 0);
        const T *w = W + (ptrdiff_t)j * C;
        const V x = SPLAT(data[k]);
        for (int v = 0; v < NVF; v++)
            acc[v] = VFMA(x, LOAD(w + v * VL), acc[v]);
        if (tail > 0) {
#if CSR_MASKS
            acc_tail = VFMA(x, LOAD_MASKED(m, w + NVF * VL), acc_tail);
#else
            for (ptrdiff_t l = 0; l < tail; l++)
                acc_tail[l] = data[k] * w[NVF * VL + l] + acc_tail[l];
#endif
        }
    }
    if (b != NULL) {
        for (int v = 0; v < NVF; v++)
            acc[v] = acc[v] + LOAD(b + v * VL);
#if CSR_MASKS
        if (tail > 0)
            acc_tail = acc_tail + LOAD_MASKED(m, b + NVF * VL);
#else
        for (ptrdiff_t l = 0; l < tail; l++)
            acc_tail[l] = acc_tail[l] + b[NVF * VL + l];
#endif
    }
    for (int v = 0; v < NVF; v++)
        STORE(s + v * VL, acc[v]);
    if (tail > 0) {
#if CSR_MASKS
        STORE_MASKED(s + NVF * VL, m, acc_tail);
#else
        for (ptrdiff_t l = 0; l < tail; l++)
            s[NVF * VL + l] = acc_tail[l];
#endif
    }
    return -1;
}

/* One row of any length, its sums in s itself: the same operations on each
 * element, in the same order, as gather_row. */
TARGET static ptrdiff_t FNI(gather_row_long)(
    const T *data, const IDX *indices, ptrdiff_t start, ptrdiff_t end, const T *W,
    ptrdiff_t D, ptrdiff_t C, const T *b, T *s, ptrdiff_t prefetch, ptrdiff_t block_end)
{
    const ptrdiff_t nvf = C / VL, tail = C - nvf * VL;
    for (ptrdiff_t c = 0; c < C; c++)
        s[c] = (T)0;
#if CSR_MASKS
    const LANE_MASK m = LANES_MASK((int)(tail > 0 ? tail : 1));
#endif
    for (ptrdiff_t k = start; k < end; k++) {
        const IDX j = indices[k];
        if (FNI(bad_index)(j, D))
            return k;
        if (prefetch)
            FNI(prefetch_row)(W, indices, k + prefetch, block_end, D, C, 0);
        const T *w = W + (ptrdiff_t)j * C;
        const V x = SPLAT(data[k]);
        for (ptrdiff_t v = 0; v < nvf; v++)
            STORE(s + v * VL, VFMA(x, LOAD(w + v * VL), LOAD(s + v * VL)));
        if (tail > 0) {
#if CSR_MASKS
            STORE_MASKED(s + nvf * VL, m,
                         VFMA(x, LOAD_MASKED(m, w + nvf * VL), LOAD_MASKED(m, s + nvf * VL)));
#else
            for (ptrdiff_t l = 0; l < tail; l++)
                s[nvf * VL + l] = data[k] * w[nvf * VL + l] + s[nvf * VL + l];
#endif
        }
    }
    if (b != NULL)
        for (ptrdiff_t c = 0; c < C; c++)
            s[c] = s[c] + b[c];
    return -1;
}

TARGET static ptrdiff_t FNI(gather)(const T *data, const IDX *indices, const IDX *indptr,
                                    ptrdiff_t r0, ptrdiff_t r1, const T *W, ptrdiff_t D,
                                    ptrdiff_t C, const T *b, T *S, ptrdiff_t prefetch)
{
    const ptrdiff_t nvf = C / VL, block_end = (ptrdiff_t)indptr[r1];
    for (ptrdiff_t r = r0; r < r1; r++) {
        const ptrdiff_t start = (ptrdiff_t)indptr[r], end = (ptrdiff_t)indptr[r + 1];
        T *s = S + (r - r0) * C;
        ptrdiff_t bad;
        switch (nvf) {
#define CSR_GATHER_CASE(NV)                                                  \
        case NV:                                                             \
            bad = FNI(gather_row)(data, indices, start, end, W, D, C, b, s,  \
                                  prefetch, block_end, NV);                  \
            break;
        CSR_GATHER_CASE(0) CSR_GATHER_CASE(1) CSR_GATHER_CASE(2)
        CSR_GATHER_CASE(3) CSR_GATHER_CASE(4) CSR_GATHER_CASE(5)
        CSR_GATHER_CASE(6) CSR_GATHER_CASE(7) CSR_GATHER_CASE(8)
#undef CSR_GATHER_CASE
        default:
            bad = FNI(gather_row_long)(data, indices, start, end, W, D, C, b, s, prefetch,
                                       block_end);
        }
        if (bad >= 0)
            return bad;
    }
    return -1;
}

/* --- scatter: dW[indices[k]] += data[k] G[r] ------------------------------ */

/* Entries [start, end) of one row into dW, its gradient row g (NVF whole
 * vectors and a tail) held in registers. NVF is a constant at every call.
 * Each dW element becomes data[k] * g + dW, one FMA (the baseline: a
 * multiply, then an add). */
TARGET static inline MM_ALWAYS_INLINE void FNI(scatter_row)(
    const T *data, const IDX *indices, ptrdiff_t start, ptrdiff_t end, const T *g,
    ptrdiff_t C, T *dW, ptrdiff_t prefetch, ptrdiff_t block_end, int masked, const int NVF)
{
    const ptrdiff_t tail = C - NVF * VL;
    V gv[CSR_REGISTER_VECTORS];
    for (int v = 0; v < NVF; v++)
        gv[v] = LOAD(g + v * VL);
#if CSR_MASKED_SCATTER
    const LANE_MASK m = LANES_MASK((int)(tail > 0 ? tail : 1));
    const V g_tail = tail > 0 ? LOAD_MASKED(m, g + NVF * VL) : ZERO;
#endif
    for (ptrdiff_t k = start; k < end; k++) {
        if (prefetch)
            FNI(prefetch_row)(dW, indices, k + prefetch, block_end, PTRDIFF_MAX, C, 1);
        T *d = dW + (ptrdiff_t)indices[k] * C;
        const V x = SPLAT(data[k]);
        for (int v = 0; v < NVF; v++)
            STORE(d + v * VL, VFMA(x, gv[v], LOAD(d + v * VL)));
#if CSR_MASKED_SCATTER
        if (tail > 0 && masked) {
            STORE_MASKED(d + NVF * VL, m, VFMA(x, g_tail, LOAD_MASKED(m, d + NVF * VL)));
            continue;
        }
#endif
        for (ptrdiff_t l = 0; l < tail; l++)
            d[NVF * VL + l] = CSR_TAIL_FMA(data[k], g[NVF * VL + l], d[NVF * VL + l]);
    }
}

/* The same for a row of any length, g read from memory. */
TARGET static void FNI(scatter_row_long)(const T *data, const IDX *indices, ptrdiff_t start,
                                         ptrdiff_t end, const T *g, ptrdiff_t C, T *dW,
                                         ptrdiff_t prefetch, ptrdiff_t block_end, int masked)
{
    const ptrdiff_t nvf = C / VL, tail = C - nvf * VL;
    for (ptrdiff_t k = start; k < end; k++) {
        if (prefetch)
            FNI(prefetch_row)(dW, indices, k + prefetch, block_end, PTRDIFF_MAX, C, 1);
        T *d = dW + (ptrdiff_t)indices[k] * C;
        const V x = SPLAT(data[k]);
        for (ptrdiff_t v = 0; v < nvf; v++)
            STORE(d + v * VL, VFMA(x, LOAD(g + v * VL), LOAD(d + v * VL)));
#if CSR_MASKED_SCATTER
        if (tail > 0 && masked) {
            const LANE_MASK m = LANES_MASK((int)tail);
            STORE_MASKED(d + nvf * VL, m,
                         VFMA(x, LOAD_MASKED(m, g + nvf * VL), LOAD_MASKED(m, d + nvf * VL)));
            continue;
        }
#endif
        for (ptrdiff_t l = 0; l < tail; l++)
            d[nvf * VL + l] = CSR_TAIL_FMA(data[k], g[nvf * VL + l], d[nvf * VL + l]);
    }
}

/* Entries [start, end) with the gradient row g, by the row's length. */
TARGET static inline void FNI(scatter_any)(const T *data, const IDX *indices, ptrdiff_t start,
                                           ptrdiff_t end, const T *g, ptrdiff_t C, T *dW,
                                           ptrdiff_t prefetch, ptrdiff_t block_end, int masked)
{
    switch (C / VL) {
#define CSR_SCATTER_CASE(NV)                                                 \
    case NV:                                                                 \
        FNI(scatter_row)(data, indices, start, end, g, C, dW, prefetch,      \
                         block_end, masked, NV);                             \
        break;
    CSR_SCATTER_CASE(0) CSR_SCATTER_CASE(1) CSR_SCATTER_CASE(2)
    CSR_SCATTER_CASE(3) CSR_SCATTER_CASE(4) CSR_SCATTER_CASE(5)
    CSR_SCATTER_CASE(6) CSR_SCATTER_CASE(7) CSR_SCATTER_CASE(8)
#undef CSR_SCATTER_CASE
    default:
        FNI(scatter_row_long)(data, indices, start, end, g, C, dW, prefetch, block_end,
                              masked);
    }
}

TARGET static void FNI(scatter_rows)(const T *data, const IDX *indices, const IDX *indptr,
                                     ptrdiff_t r0, ptrdiff_t r1, const T *G, ptrdiff_t C,
                                     T *dW, ptrdiff_t prefetch)
{
    /* A prefetching call's dW is out of cache, where a masked store waits
     * for its line longer than scalar ones; in cache a masked store is
     * cheaper. Either rounds as the vector lanes do. */
    const ptrdiff_t block_end = (ptrdiff_t)indptr[r1];
    const int masked = prefetch == 0;
    for (ptrdiff_t r = r0; r < r1; r++)
        FNI(scatter_any)(data, indices, (ptrdiff_t)indptr[r], (ptrdiff_t)indptr[r + 1],
                         G + (r - r0) * C, C, dW, prefetch, block_end, masked);
}

#undef CSR_MASKS
#undef CSR_MASKED_SCATTER
#undef CSR_TAIL_FMA
