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
 *   GRAD_TILE, SCORE_TILE_ROWS  the register tiles' sizes (fewclass.h)
 *   ALWAYS_INLINE  forces the register tiles into their callers (empty
 *                where the compiler has no such attribute)
 *
 * Both kernels vectorise along D and hold register tiles of accumulators:
 *   scores: SCORE_TILE_ROWS rows x SCORE_CLASSES classes x 1 vector of D
 *           (the path's constants); D is walked in slices short enough
 *           that the slice of W stays in L1 while every tile of rows of
 *           the block passes over it;
 *   grad:   up to GRAD_TILE classes x 2 vectors of D, looping over the
 *           block's rows while the accumulators stay in registers (the
 *           path's constant: 10 classes, 20 accumulators, where there are
 *           32 registers, so that at C = 10 each line of X is read once).
 * Partial sums of a score live in one vector per (row, class), summed over
 * all of D lane by lane before the lanes are added: the slicing never
 * changes the result.
 *
 * W and dW are kept in packed layouts of this path, so that what a register
 * tile reads is contiguous; X is read in place by both kernels, its rows
 * ldx apart. With n_vec = ceil(D / VL) vectors per row, the last one
 * zero-padded, and n_pair = ceil(n_vec / 2) pairs of vectors:
 *   W panel  (pack_w): slices of `slice` vectors; in each, class c's run of
 *            vectors, one class after another.
 *   dW panel (the accumulator grad adds to): for each pair of vectors, the
 *            classes one after another.
 * The last part of a row that is not a whole vector (or pair) of X is
 * copied, zero-padded, into the scratch. (The block used to be copied into
 * an X panel with a row stride of 4 KiB plus a line, so that rows a multiple
 * of 4 KiB apart would not share L1 sets; reading X in place with grad's
 * tile of 10 classes was 4-13% faster on the AVX-512 machine at C = 10, and
 * up to 25% on the AVX2 kernels there, D = 3072 included.)
 *
 * The scratch of a block: a header (X and ldx, for grad), the partial-sum
 * vectors (rows x C), each row's zero-padded last vector, and the rows'
 * last pair of vectors, zero-padded, 2 VL apart (FN(scratch_parts)).
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

/* Where a block's scratch (`rows` rows, C classes) keeps its parts. */
typedef struct {
    V *part;      /* rows x C partial-sum vectors */
    V *tails;     /* each row's last vector, zero-padded */
    T *last_pair; /* each row's last pair of vectors, zero-padded, 2 VL apart */
} FN(parts);

static inline FN(parts) FN(scratch_parts)(void *scratch, ptrdiff_t rows, ptrdiff_t C)
{
    FN(parts) parts;
    parts.part = (V *)((char *)scratch + FEWCLASS_SCRATCH_HEADER);
    parts.tails = parts.part + rows * C;
    parts.last_pair = (T *)(parts.tails + rows);
    return parts;
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

/* Classes whose sums `finish` holds in its tile (on the stack) at a time. */
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
 * apart) and N_CLASSES classes w_c (w_step apart in the W panel). N_ROWS and
 * N_CLASSES are constants at every call, so the accumulators become
 * registers. */
TARGET static inline ALWAYS_INLINE void FN(score_tile)(
    const T *x, ptrdiff_t x_step, const T *w, ptrdiff_t w_step,
    ptrdiff_t n_vec, V *part, ptrdiff_t C, const int N_ROWS, const int N_CLASSES)
{
    V acc[SCORE_TILE_ROWS][SCORE_CLASSES];
    for (int r = 0; r < N_ROWS; r++)
        for (int c = 0; c < N_CLASSES; c++)
            acc[r][c] = part[r * C + c];
    for (ptrdiff_t v = 0; v < n_vec; v++) {
        V xv[SCORE_TILE_ROWS];
        for (int r = 0; r < N_ROWS; r++)
            xv[r] = FN(load)(x + r * x_step + v * VL);
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
    ptrdiff_t n_vec, V *part, ptrdiff_t C, int n_rows, int n_classes)
{
#define FEWCLASS_SCORE_CASE(R, K)                                            \
    case (R) * 8 + (K):                                                      \
        if ((R) <= SCORE_TILE_ROWS && (K) <= SCORE_CLASSES)                  \
            FN(score_tile)(x, x_step, w, w_step, n_vec, part, C,             \
                           (R) <= SCORE_TILE_ROWS ? (R) : 1,                 \
                           (K) <= SCORE_CLASSES ? (K) : 1);                  \
        break;
#define FEWCLASS_SCORE_CASES(R)                                              \
    FEWCLASS_SCORE_CASE(R, 1) FEWCLASS_SCORE_CASE(R, 2)                     \
    FEWCLASS_SCORE_CASE(R, 3) FEWCLASS_SCORE_CASE(R, 4)                     \
    FEWCLASS_SCORE_CASE(R, 5) FEWCLASS_SCORE_CASE(R, 6)
    switch (n_rows * 8 + n_classes) {
    FEWCLASS_SCORE_CASES(1) FEWCLASS_SCORE_CASES(2)
    FEWCLASS_SCORE_CASES(3) FEWCLASS_SCORE_CASES(4)
    }
#undef FEWCLASS_SCORE_CASES
#undef FEWCLASS_SCORE_CASE
}

TARGET static void FN(scores)(const T *X, ptrdiff_t ldx, ptrdiff_t rows,
                              ptrdiff_t D, const T *Wp, ptrdiff_t C, T *S,
                              void *scratch)
{
    FN(parts) parts = FN(scratch_parts)(scratch, rows, C);
    V *part = parts.part, *tails = parts.tails;
    ptrdiff_t n_whole = D / VL, n_vec = (D + VL - 1) / VL;
    ptrdiff_t slice = FN(slice_vectors)(C);
    V zero = FN(splat)((T)0);
    fewclass_block *block = (fewclass_block *)scratch;  /* for grad */
    block->X = X;
    block->ldx = ldx;
    for (ptrdiff_t e = 0; e < rows * C; e++)
        part[e] = zero;
    if (n_vec > n_whole)
        FN(copy_tails)(X, ldx, rows, D, tails);

    for (ptrdiff_t v0 = 0; v0 < n_vec; v0 += slice) {
        ptrdiff_t length = n_vec - v0 < slice ? n_vec - v0 : slice;
        /* Whole vectors of this slice come from X, the tail from `tails`. */
        ptrdiff_t from_x = v0 + length <= n_whole ? length : n_whole - v0;
        const T *w_slice = Wp + v0 * C * VL;
        for (ptrdiff_t r = 0; r < rows; r += SCORE_TILE_ROWS) {
            int n_rows = rows - r < SCORE_TILE_ROWS ? (int)(rows - r) : SCORE_TILE_ROWS;
            for (ptrdiff_t c = 0; c < C; c += SCORE_CLASSES) {
                int n_classes = C - c < SCORE_CLASSES ? (int)(C - c) : SCORE_CLASSES;
                const T *w = w_slice + c * length * VL;
                if (from_x > 0)
                    FN(score_tile_any)(X + r * ldx + v0 * VL, ldx, w, length * VL,
                                       from_x, part + r * C + c, C, n_rows, n_classes);
                if (from_x < length)
                    FN(score_tile_any)((const T *)&tails[r], VL, w + from_x * VL,
                                       length * VL, 1, part + r * C + c, C,
                                       n_rows, n_classes);
            }
        }
    }
    for (ptrdiff_t e = 0; e < rows * C; e++)
        S[e] = FN(lane_sum)(part[e]);
}

/* --- gradient -------------------------------------------------------- */

/* One pair of vectors of N_CLASSES classes of the dW panel (2 VL apart):
 * (fresh ? 0 : itself) + G[r, c] * x_r over the block's rows r in order,
 * x_r the row's pair of vectors (rows ld apart). N_CLASSES is a constant at
 * every call. */
TARGET static inline ALWAYS_INLINE void FN(grad_tile)(
    const T *pair, ptrdiff_t ld, ptrdiff_t rows, const T *g, ptrdiff_t ldg,
    T *dwp, int fresh, const int N_CLASSES)
{
    V acc[GRAD_TILE][2];
    for (int c = 0; c < N_CLASSES; c++)
        for (int k = 0; k < 2; k++)
            acc[c][k] = fresh ? FN(splat)((T)0) : FN(load)(dwp + (2 * c + k) * VL);
    for (ptrdiff_t r = 0; r < rows; r++) {
        V x0 = FN(load)(pair + r * ld), x1 = FN(load)(pair + r * ld + VL);
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
    FN(parts) parts = FN(scratch_parts)(scratch, rows, C);
    const fewclass_block *block = (const fewclass_block *)scratch;
    const T *X = (const T *)block->X;
    ptrdiff_t ldx = block->ldx;
    ptrdiff_t n_whole = D / VL, n_pair = ((D + VL - 1) / VL + 1) / 2;
    /* Pairs wholly in X: n_whole / 2. A last pair with a partial or missing
     * vector is assembled, zero-padded, from X and the tails. */
    ptrdiff_t x_pairs = n_whole / 2;
    if (n_pair > x_pairs)
        for (ptrdiff_t r = 0; r < rows; r++)
            for (int k = 0; k < 2; k++) {
                ptrdiff_t v = 2 * x_pairs + k;
                V x = v < n_whole ? FN(load)(X + r * ldx + v * VL)
                    : v == n_whole && n_whole * VL < D ? parts.tails[r]
                    : FN(splat)((T)0);
                FN(store)(parts.last_pair + (2 * r + k) * VL, x);
            }
    for (ptrdiff_t p = 0; p < n_pair; p++) {
        const T *pair = p < x_pairs ? X + p * 2 * VL : parts.last_pair;
        ptrdiff_t ld = p < x_pairs ? ldx : 2 * VL;
        /* Meanwhile, ask for the next block's rows, one line (a pair of
         * vectors, or less) of each at a time: `scores` then finds them in
         * cache. Its short runs along each row (slices) left the hardware
         * prefetchers behind: 25% of the time went to waiting for X. */
        if (next != NULL)
            for (ptrdiff_t r = 0; r < next_rows; r++)
                for (ptrdiff_t e = 0; e < 2 * VL; e += 64 / (ptrdiff_t)sizeof(T))
                    PREFETCH(next + r * next_ld + p * 2 * VL + e);
        for (ptrdiff_t c = 0; c < C; c += GRAD_TILE) {
            T *dwp = dWp + (p * C + c) * 2 * VL;
            switch (C - c < GRAD_TILE ? (int)(C - c) : GRAD_TILE) {
#define FEWCLASS_GRAD_CASE(K)                                                \
            case K:                                                          \
                FN(grad_tile)(pair, ld, rows, G + c, C, dwp, fresh,          \
                              (K) <= GRAD_TILE ? (K) : 1);                   \
                break;
            FEWCLASS_GRAD_CASE(1) FEWCLASS_GRAD_CASE(2) FEWCLASS_GRAD_CASE(3)
            FEWCLASS_GRAD_CASE(4) FEWCLASS_GRAD_CASE(5) FEWCLASS_GRAD_CASE(6)
            FEWCLASS_GRAD_CASE(7) FEWCLASS_GRAD_CASE(8) FEWCLASS_GRAD_CASE(9)
            FEWCLASS_GRAD_CASE(10)
#undef FEWCLASS_GRAD_CASE
            }
        }
    }
}

/* --- the L2 term (both svm_loss paths) -------------------------------- */

/* dW (+)= two_reg * W and the sum of W's squares in float64, for W (D, C)
 * with any element strides and dW (D, C) C-contiguous: fewclass_l2_gradient
 * in fewclass.h, whose order of the sum this follows on every path. Here
 * rather than in Cython so that it runs on the path's vectors: the
 * Cython loops (SSE2) took 8 us of a 37 us call at (2, 3073, 10) float32,
 * and the call on AVX-512 is 0.87-0.88x of that now (float64 1.01-1.05x,
 * within the noise; 64 partial sums instead of 16 gained nothing more). */
TARGET static double FN(l2_gradient)(const T *W, ptrdiff_t row_stride,
                                     ptrdiff_t col_stride, ptrdiff_t n_rows,
                                     ptrdiff_t n_cols, T two_reg,
                                     int accumulate, T *dW)
{
    double lanes[FEWCLASS_L2_LANES] = {0}, sum_sq = 0.0;
    if (col_stride == 1 && row_stride == n_cols) {  /* one flat run */
        n_cols *= n_rows;
        n_rows = 1;
    }
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        const T *w = W + i * row_stride;
        T *g = dW + i * n_cols;
        if (col_stride != 1) {
            for (ptrdiff_t j = 0; j < n_cols; j++) {
                T x = w[j * col_stride];
                sum_sq += (double)x * (double)x;
                g[j] = (accumulate ? g[j] : (T)0) + two_reg * x;
            }
            continue;
        }
        if (accumulate)
            for (ptrdiff_t j = 0; j < n_cols; j++)
                g[j] = g[j] + two_reg * w[j];
        else
            for (ptrdiff_t j = 0; j < n_cols; j++)
                g[j] = (T)0 + two_reg * w[j];
        ptrdiff_t j = 0;
        for (; j + FEWCLASS_L2_LANES <= n_cols; j += FEWCLASS_L2_LANES)
            for (int k = 0; k < FEWCLASS_L2_LANES; k++)
                lanes[k] += (double)w[j + k] * (double)w[j + k];
        for (; j < n_cols; j++)
            lanes[0] += (double)w[j] * (double)w[j];
    }
    for (int width = FEWCLASS_L2_LANES / 2; width >= 1; width /= 2)
        for (int k = 0; k < width; k++)
            lanes[k] = lanes[k] + lanes[k + width];
    return sum_sq + lanes[0];
}
