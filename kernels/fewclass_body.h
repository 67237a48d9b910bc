/* The few-classes micro-kernels, written once for every instruction set and
 * dtype: fewclass.c includes this file once per (path, dtype) after
 * defining
 *
 *   T            the element type, float or double
 *   V            a vector of VL elements of T (GCC/Clang vector type, or T
 *                itself where there are no vector types: VL = 1)
 *   VL           lanes per vector
 *   VFMA(a,b,c)  a * b + c lane-wise, fused where the path has FMA
 *   VSPLAT_LOAD(p)  a vector of copies of *p: on AVX a broadcast load, which
 *                uses a load port; GCC otherwise loads 4 of G's values at
 *                once and spreads each by a shuffle that competes with the
 *                FMAs (measured ~15% of the gradient kernel's time)
 *   TARGET       the function attribute selecting the instruction set
 *   PREFETCH(p)  a hint to fetch the cache line at p (may be a no-op)
 *   KEEP_IN_REGISTER(v)  an empty asm statement that makes v live in a
 *                register: without it GCC folds each load of W into both
 *                rows' FMAs as a memory operand, loading it twice (measured
 *                10-20% slower on AVX2); empty where there is no such asm
 *   FN(name)     the name of a function of this instantiation
 *   ALWAYS_INLINE  forces the register tiles into their callers (empty
 *                where the compiler has no such attribute)
 *
 * Both kernels vectorise along D and hold register tiles of accumulators:
 *   scores: SCORE_ROWS rows x SCORE_CLASSES classes x 1 vector of D; D is
 *           walked in slices short enough that the slice of W stays in L1
 *           while every row pair of the block passes over it;
 *   grad:   up to FEWCLASS_TILE classes x 2 vectors of D, looping over the
 *           block's rows while the accumulators stay in registers.
 * Partial sums of a score live in one vector per (row, class), summed over
 * all of D lane by lane before the lanes are added: the slicing never
 * changes the result.
 *
 * Every operand but X is kept in a packed layout of this path, so that what
 * a register tile reads is contiguous. Rows of X (or of W^T) a multiple of
 * 4 KiB apart, as at D = 3072, would otherwise fall into one L1 set and
 * evict each other (measured: a third of the speed). With
 * n_vec = ceil(D / VL) vectors per row, the last one zero-padded, and
 * n_pair = ceil(n_vec / 2) pairs of vectors:
 *   W panel  (pack_w): slices of `slice` vectors; in each, class c's run of
 *            vectors, one class after another.
 *   X panel  (written by scores, read by grad, in the scratch): the
 *            block's rows, each padded to whole pairs of vectors, at a row
 *            stride of a multiple of 4 KiB plus one cache line, so that
 *            the rows' lines at one column fall into different L1 sets.
 *   dW panel (the accumulator grad adds to): for each pair of vectors, the
 *            classes one after another.
 */

/* Bytes of Wt a scores slice spans: half of a 32 KiB L1. */
#ifndef FEWCLASS_SLICE_BYTES
#define FEWCLASS_SLICE_BYTES (16 * 1024)
#endif

TARGET static inline V FN(load)(const T *p)
{
    V v;
    memcpy(&v, p, sizeof v);
    return v;
}

TARGET static inline void FN(store)(T *p, V v)
{
    memcpy(p, &v, sizeof v);
}

TARGET static inline V FN(splat)(T x)
{
    V v;
    T lanes[VL];
    for (int l = 0; l < VL; l++)
        lanes[l] = x;
    memcpy(&v, lanes, sizeof v);
    return v;
}

/* The lanes of v added pairwise: (l0 + l2) + (l1 + l3) for 4 lanes. */
TARGET static inline T FN(lane_sum)(V v)
{
    T lanes[VL];
    memcpy(lanes, &v, sizeof v);
    for (int width = VL / 2; width >= 1; width /= 2)
        for (int l = 0; l < width; l++)
            lanes[l] += lanes[l + width];
    return lanes[0];
}

/* Vectors in the W panel's slice: about FEWCLASS_SLICE_BYTES of W. */
static inline ptrdiff_t FN(slice_vectors)(ptrdiff_t C)
{
    ptrdiff_t slice = FEWCLASS_SLICE_BYTES / ((ptrdiff_t)sizeof(V) * C);
    return slice < 1 ? 1 : slice;
}

/* Elements between rows of the X panel (see the layout above). */
static inline ptrdiff_t FN(panel_stride)(ptrdiff_t D)
{
    ptrdiff_t bytes = ((D + 2 * VL - 1) / (2 * VL)) * 2 * VL * (ptrdiff_t)sizeof(T);
    return ((bytes + 4095) / 4096 * 4096 + 64) / (ptrdiff_t)sizeof(T);
}

/* Each row's last, partial vector of X (D % VL elements), zero-padded into
 * tails[r]: the kernels then treat it as one more whole vector. */
TARGET static void FN(copy_tails)(const T *X, ptrdiff_t ldx, ptrdiff_t rows,
                                  ptrdiff_t D, V *tails)
{
    ptrdiff_t whole = D / VL * VL;
    T lanes[VL];
    for (ptrdiff_t r = 0; r < rows; r++) {
        for (int l = 0; l < VL; l++)
            lanes[l] = whole + l < D ? X[r * ldx + whole + l] : (T)0;
        memcpy(&tails[r], lanes, sizeof lanes);
    }
}

/* --- packing and unpacking ------------------------------------------- */

TARGET static void FN(pack_w)(const T *W, ptrdiff_t row_stride,
                              ptrdiff_t col_stride, ptrdiff_t D, ptrdiff_t C,
                              T *Wp)
{
    ptrdiff_t n_vec = (D + VL - 1) / VL, slice = FN(slice_vectors)(C);
    for (ptrdiff_t v0 = 0; v0 < n_vec; v0 += slice) {
        ptrdiff_t length = n_vec - v0 < slice ? n_vec - v0 : slice;
        for (ptrdiff_t c = 0; c < C; c++) {
            T *out = Wp + (v0 * C + c * length) * VL;
            for (ptrdiff_t e = 0; e < length * VL; e++) {
                ptrdiff_t d = v0 * VL + e;
                out[e] = d < D ? W[d * row_stride + c * col_stride] : (T)0;
            }
        }
    }
}

/* Classes finish sums into its tile at a time. */
#ifndef FEWCLASS_FINISH_GROUP
#define FEWCLASS_FINISH_GROUP 16
#endif

/* dW[d*C + c] = (keep ? dW[d*C + c] : 0) + sum_k acc_k[d, c] for d in
 * [d_begin, d_end), the n_acc dW panels acc_k = acc + k * acc_stride added
 * in order k = 0, 1, ...: for a pair of vectors, a group of classes at a
 * time, each class's pair summed lane-wise (each lane adds its panels in
 * that order) into `tile`, then the pair's rows of dW (consecutive in
 * memory) written from it in order. (Added into dW one class at a time, with
 * a stride of C elements, each element cost 1.5-2 cycles: a third of a call
 * at N = 2, D = 3073, C = 10.) */
TARGET static void FN(finish)(const T *acc, ptrdiff_t n_acc,
                              ptrdiff_t acc_stride, ptrdiff_t C,
                              ptrdiff_t d_begin, ptrdiff_t d_end, T *dW,
                              int keep)
{
    T tile[FEWCLASS_FINISH_GROUP * 2 * VL];
    for (ptrdiff_t p = d_begin / (2 * VL); p * 2 * VL < d_end; p++) {
        ptrdiff_t first = p * 2 * VL < d_begin ? d_begin - p * 2 * VL : 0;
        ptrdiff_t last = d_end - p * 2 * VL < 2 * VL ? d_end - p * 2 * VL : 2 * VL;
        for (ptrdiff_t c0 = 0; c0 < C; c0 += FEWCLASS_FINISH_GROUP) {
            ptrdiff_t width = C - c0 < FEWCLASS_FINISH_GROUP ? C - c0 : FEWCLASS_FINISH_GROUP;
            for (ptrdiff_t c = 0; c < width; c++) {
                const T *from = acc + (p * C + c0 + c) * 2 * VL;
                V lo = FN(load)(from), hi = FN(load)(from + VL);
                for (ptrdiff_t k = 1; k < n_acc; k++) {
                    lo += FN(load)(from + k * acc_stride);
                    hi += FN(load)(from + k * acc_stride + VL);
                }
                FN(store)(tile + c * 2 * VL, lo);
                FN(store)(tile + c * 2 * VL + VL, hi);
            }
            T *to = dW + p * 2 * VL * C + c0;
            for (ptrdiff_t e = first; e < last; e++)
                for (ptrdiff_t c = 0; c < width; c++)
                    to[e * C + c] = keep ? to[e * C + c] + tile[c * 2 * VL + e]
                                         : tile[c * 2 * VL + e];
        }
    }
}

/* --- scores ---------------------------------------------------------- */

/* part[r*C + c] += x_r . w_c over n_vec vectors, for N_ROWS rows x_r (x_step
 * apart) and N_CLASSES classes w_c (w_step apart in the W panel). With
 * STORE, the rows' vectors are also copied to the X panel at pan (rows
 * ldp apart). N_ROWS, N_CLASSES and STORE are constants at every call, so
 * the accumulators become registers. */
TARGET static inline ALWAYS_INLINE void FN(score_tile)(
    const T *x, ptrdiff_t x_step, const T *w, ptrdiff_t w_step,
    ptrdiff_t n_vec, V *part, ptrdiff_t C, T *pan, ptrdiff_t ldp,
    const int N_ROWS, const int N_CLASSES, const int STORE)
{
    V acc[SCORE_ROWS][SCORE_CLASSES];
    for (int r = 0; r < N_ROWS; r++)
        for (int c = 0; c < N_CLASSES; c++)
            acc[r][c] = part[r * C + c];
    for (ptrdiff_t v = 0; v < n_vec; v++) {
        V xv[SCORE_ROWS];
        for (int r = 0; r < N_ROWS; r++) {
            xv[r] = FN(load)(x + r * x_step + v * VL);
            if (STORE)
                FN(store)(pan + r * ldp + v * VL, xv[r]);
        }
        for (int c = 0; c < N_CLASSES; c++) {
            V wv = FN(load)(w + c * w_step + v * VL);
            KEEP_IN_REGISTER(wv);
            for (int r = 0; r < N_ROWS; r++)
                acc[r][c] = VFMA(xv[r], wv, acc[r][c]);
        }
    }
    for (int r = 0; r < N_ROWS; r++)
        for (int c = 0; c < N_CLASSES; c++)
            part[r * C + c] = acc[r][c];
}

/* score_tile with the tile's shape turned into constants. */
TARGET static void FN(score_tile_any)(
    const T *x, ptrdiff_t x_step, const T *w, ptrdiff_t w_step,
    ptrdiff_t n_vec, V *part, ptrdiff_t C, T *pan, ptrdiff_t ldp,
    int n_rows, int n_classes, int store)
{
#define FEWCLASS_SCORE_CASE(R, K, S)                                         \
    case ((S) * 8 + (R)) * 8 + (K):                                         \
        if ((R) <= SCORE_ROWS && (K) <= SCORE_CLASSES)                       \
            FN(score_tile)(x, x_step, w, w_step, n_vec, part, C, pan, ldp,   \
                           (R) <= SCORE_ROWS ? (R) : 1,                      \
                           (K) <= SCORE_CLASSES ? (K) : 1, S);               \
        break;
#define FEWCLASS_SCORE_CASES(R, S)                                           \
    FEWCLASS_SCORE_CASE(R, 1, S) FEWCLASS_SCORE_CASE(R, 2, S)               \
    FEWCLASS_SCORE_CASE(R, 3, S) FEWCLASS_SCORE_CASE(R, 4, S)               \
    FEWCLASS_SCORE_CASE(R, 5, S) FEWCLASS_SCORE_CASE(R, 6, S)
    switch (((store != 0) * 8 + n_rows) * 8 + n_classes) {
    FEWCLASS_SCORE_CASES(1, 0) FEWCLASS_SCORE_CASES(2, 0)
    FEWCLASS_SCORE_CASES(3, 0) FEWCLASS_SCORE_CASES(4, 0)
    FEWCLASS_SCORE_CASES(1, 1) FEWCLASS_SCORE_CASES(2, 1)
    FEWCLASS_SCORE_CASES(3, 1) FEWCLASS_SCORE_CASES(4, 1)
    }
#undef FEWCLASS_SCORE_CASES
#undef FEWCLASS_SCORE_CASE
}

TARGET static void FN(scores)(const T *X, ptrdiff_t ldx, ptrdiff_t rows,
                              ptrdiff_t D, const T *Wp, ptrdiff_t C, T *S,
                              void *scratch)
{
    V *part = (V *)scratch;          /* rows * C partial-sum vectors */
    V *tails = part + rows * C;      /* rows zero-padded last vectors */
    T *panel = (T *)(tails + rows);  /* the X panel, for grad */
    ptrdiff_t n_whole = D / VL, n_vec = (D + VL - 1) / VL;
    ptrdiff_t slice = FN(slice_vectors)(C), ldp = FN(panel_stride)(D);
    V zero = FN(splat)((T)0);
    for (ptrdiff_t e = 0; e < rows * C; e++)
        part[e] = zero;
    if (n_vec > n_whole)
        FN(copy_tails)(X, ldx, rows, D, tails);

    for (ptrdiff_t v0 = 0; v0 < n_vec; v0 += slice) {
        ptrdiff_t length = n_vec - v0 < slice ? n_vec - v0 : slice;
        /* Whole vectors of this slice come from X, the tail from `tails`. */
        ptrdiff_t from_x = v0 + length <= n_whole ? length : n_whole - v0;
        const T *w_slice = Wp + v0 * C * VL;
        for (ptrdiff_t r = 0; r < rows; r += SCORE_ROWS) {
            int n_rows = rows - r < SCORE_ROWS ? (int)(rows - r) : SCORE_ROWS;
            T *pan = panel + r * ldp + v0 * VL;
            for (ptrdiff_t c = 0; c < C; c += SCORE_CLASSES) {
                int n_classes = C - c < SCORE_CLASSES ? (int)(C - c) : SCORE_CLASSES;
                const T *w = w_slice + c * length * VL;
                if (from_x > 0)
                    FN(score_tile_any)(X + r * ldx + v0 * VL, ldx, w, length * VL,
                                       from_x, part + r * C + c, C, pan, ldp,
                                       n_rows, n_classes, c == 0);
                if (from_x < length)
                    FN(score_tile_any)((const T *)&tails[r], VL, w + from_x * VL,
                                       length * VL, 1, part + r * C + c, C,
                                       pan + from_x * VL, ldp, n_rows, n_classes,
                                       c == 0);
            }
        }
    }
    /* An odd vector count leaves the second half of the last pair: zero. */
    if (n_vec % 2 == 1)
        for (ptrdiff_t r = 0; r < rows; r++)
            FN(store)(panel + r * ldp + n_vec * VL, zero);
    for (ptrdiff_t e = 0; e < rows * C; e++)
        S[e] = FN(lane_sum)(part[e]);
}

/* --- gradient -------------------------------------------------------- */

/* One pair of vectors of N_CLASSES classes of the dW panel (2 VL apart):
 * (fresh ? 0 : itself) + G[r, c] * x_r over the block's rows r in order,
 * x_r the row's pair in the X panel (rows ldp apart). N_CLASSES is a
 * constant at every call. */
TARGET static inline ALWAYS_INLINE void FN(grad_tile)(
    const T *pair, ptrdiff_t ldp, ptrdiff_t rows, const T *g, ptrdiff_t ldg,
    T *dwp, int fresh, const int N_CLASSES)
{
    V acc[FEWCLASS_TILE][2];
    for (int c = 0; c < N_CLASSES; c++)
        for (int k = 0; k < 2; k++)
            acc[c][k] = fresh ? FN(splat)((T)0) : FN(load)(dwp + (2 * c + k) * VL);
    for (ptrdiff_t r = 0; r < rows; r++) {
        V x0 = FN(load)(pair + r * ldp), x1 = FN(load)(pair + r * ldp + VL);
        for (int c = 0; c < N_CLASSES; c++) {
            V gv = VSPLAT_LOAD(g + r * ldg + c);
            acc[c][0] = VFMA(gv, x0, acc[c][0]);
            acc[c][1] = VFMA(gv, x1, acc[c][1]);
        }
    }
    for (int c = 0; c < N_CLASSES; c++)
        for (int k = 0; k < 2; k++)
            FN(store)(dwp + (2 * c + k) * VL, acc[c][k]);
}

TARGET static void FN(grad)(ptrdiff_t rows, ptrdiff_t D, const T *G,
                            ptrdiff_t C, T *dWp, int fresh,
                            const T *next, ptrdiff_t next_ld,
                            ptrdiff_t next_rows, void *scratch)
{
    const T *panel = (const T *)((V *)scratch + rows * (C + 1));
    ptrdiff_t n_pair = ((D + VL - 1) / VL + 1) / 2, ldp = FN(panel_stride)(D);
    for (ptrdiff_t p = 0; p < n_pair; p++) {
        const T *pair = panel + p * 2 * VL;
        /* Meanwhile, ask for the next block's rows, one line (a pair of
         * vectors, or less) of each at a time: `scores` then finds them in
         * cache. Its short runs along each row (slices) left the hardware
         * prefetchers behind: 25% of the time went to waiting for X. */
        if (next != NULL)
            for (ptrdiff_t r = 0; r < next_rows; r++)
                for (ptrdiff_t e = 0; e < 2 * VL; e += 64 / (ptrdiff_t)sizeof(T))
                    PREFETCH(next + r * next_ld + p * 2 * VL + e);
        for (ptrdiff_t c = 0; c < C; c += FEWCLASS_TILE) {
            T *dwp = dWp + (p * C + c) * 2 * VL;
            switch (C - c < FEWCLASS_TILE ? (int)(C - c) : FEWCLASS_TILE) {
            case 1: FN(grad_tile)(pair, ldp, rows, G + c, C, dwp, fresh, 1); break;
            case 2: FN(grad_tile)(pair, ldp, rows, G + c, C, dwp, fresh, 2); break;
            case 3: FN(grad_tile)(pair, ldp, rows, G + c, C, dwp, fresh, 3); break;
            case 4: FN(grad_tile)(pair, ldp, rows, G + c, C, dwp, fresh, 4); break;
            case 5: FN(grad_tile)(pair, ldp, rows, G + c, C, dwp, fresh, 5); break;
            }
        }
    }
}
