/* The few-classes kernels (fewclass.h), written once for every path and
 * dtype: simd/instantiate.h includes this file once per (path, dtype) with
 * the path's vocabulary defined (simd/<path>.h: T, V, VL, LOAD, STORE,
 * ZERO, SPLAT_LOAD, VFMA, KEEP_IN_REGISTER, TARGET, MM_REGISTERS; FN names
 * this instantiation's functions).
 *
 * Both kernels vectorise along D and hold register tiles of accumulators:
 *   scores: SCORE_TILE_ROWS rows x SCORE_CLASSES classes x 1 vector of D;
 *           D is walked in slices short enough that the slice of W stays
 *           in L1 while every tile of rows of the block passes over it;
 *   grad:   up to GRAD_TILE classes x 2 vectors of D, looping over the
 *           block's rows while the accumulators stay in registers (with 32
 *           registers, 10 classes: at C = 10 each line of X is read once).
 * Partial sums of a score live in one vector per (row, class), summed over
 * all of D lane by lane before the lanes are added: the slicing never
 * changes the result.
 *
 * W and dW are kept in packed layouts of this path, so that what a register
 * tile reads is contiguous; X is read in place by both kernels, its rows
 * ldx apart (no copy of the block: the rows' own stride served better than
 * a padded panel, bench/results/2026-12-02.md). With n_vec = ceil(D / VL)
 * vectors per row, the last one zero-padded, and n_pair = ceil(n_vec / 2)
 * pairs of vectors:
 *   W panel  (pack_w): slices of `slice` vectors; in each, class c's run of
 *            vectors, one class after another.
 *   dW panel (the accumulator grad adds to): for each pair of vectors, the
 *            classes one after another.
 * The last part of a row that is not a whole vector (or pair) of X is
 * copied, zero-padded, into the scratch.
 *
 * The scratch of a block: a header (X and ldx, for grad), the partial-sum
 * vectors (rows x C), each row's zero-padded last vector, and the rows'
 * last pair of vectors, zero-padded, 2 VL apart (FN(scratch_parts)).
 *
 * SPLAT_LOAD is a broadcast load where the path has one: it uses a load
 * port, where a load of four of G's values spread by shuffles competes with
 * the FMAs. KEEP_IN_REGISTER keeps a loaded vector of W in a register:
 * without it GCC folds the load into both rows' FMAs as a memory operand
 * and loads it twice.
 */

/* The register tiles: 10-12 vector accumulators within 16 registers, 20
 * within 32 (bench/results/2026-12-02.md: the 4 x 5 score tile and the
 * 10-class gradient tile on AVX-512). */
#ifndef SCORE_CLASSES
#define SCORE_CLASSES 5
#define SCORE_TILE_ROWS (MM_REGISTERS >= 32 ? 4 : 2)
#define GRAD_TILE (MM_REGISTERS >= 32 ? 10 : 5)
#endif

/* Bytes of Wt a scores slice spans: half of a 32 KiB L1. */
#ifndef FEWCLASS_SLICE_BYTES
#define FEWCLASS_SLICE_BYTES (16 * 1024)
#endif

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
 * memory) written from it in order: dW is written row by row, not one class
 * at a time C elements apart, the stride that made finish a large part of
 * a small call's cost (bench/results/2026-12-02.md). */
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
                V lo = LOAD(from), hi = LOAD(from + VL);
                for (ptrdiff_t k = 1; k < n_acc; k++) {
                    lo += LOAD(from + k * acc_stride);
                    hi += LOAD(from + k * acc_stride + VL);
                }
                STORE(tile + c * 2 * VL, lo);
                STORE(tile + c * 2 * VL + VL, hi);
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
TARGET static inline MM_ALWAYS_INLINE void FN(score_tile)(
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
            xv[r] = LOAD(x + r * x_step + v * VL);
        for (int c = 0; c < N_CLASSES; c++) {
            V wv = LOAD(w + c * w_step + v * VL);
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
    V zero = ZERO;
    single_pass_block *block = (single_pass_block *)scratch;  /* for grad */
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
TARGET static inline MM_ALWAYS_INLINE void FN(grad_tile)(
    const T *pair, ptrdiff_t ld, ptrdiff_t rows, const T *g, ptrdiff_t ldg,
    T *dwp, int fresh, const int N_CLASSES)
{
    V acc[GRAD_TILE][2];
    for (int c = 0; c < N_CLASSES; c++)
        for (int k = 0; k < 2; k++)
            acc[c][k] = fresh ? ZERO : LOAD(dwp + (2 * c + k) * VL);
    for (ptrdiff_t r = 0; r < rows; r++) {
        V x0 = LOAD(pair + r * ld), x1 = LOAD(pair + r * ld + VL);
        for (int c = 0; c < N_CLASSES; c++) {
            V gv = SPLAT_LOAD(g + r * ldg + c);
            acc[c][0] = VFMA(gv, x0, acc[c][0]);
            acc[c][1] = VFMA(gv, x1, acc[c][1]);
        }
    }
    for (int c = 0; c < N_CLASSES; c++)
        for (int k = 0; k < 2; k++)
            STORE(dwp + (2 * c + k) * VL, acc[c][k]);
}

TARGET static void FN(grad)(ptrdiff_t rows, ptrdiff_t D, const T *G,
                            ptrdiff_t C, T *dWp, int fresh,
                            const T *next, ptrdiff_t next_ld,
                            ptrdiff_t next_rows, void *scratch)
{
    FN(parts) parts = FN(scratch_parts)(scratch, rows, C);
    const single_pass_block *block = (const single_pass_block *)scratch;
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
                V x = v < n_whole ? LOAD(X + r * ldx + v * VL)
                    : v == n_whole && n_whole * VL < D ? parts.tails[r]
                    : ZERO;
                STORE(parts.last_pair + (2 * r + k) * VL, x);
            }
    for (ptrdiff_t p = 0; p < n_pair; p++) {
        const T *pair = p < x_pairs ? X + p * 2 * VL : parts.last_pair;
        ptrdiff_t ld = p < x_pairs ? ldx : 2 * VL;
        /* Meanwhile, ask for the next block's rows, one line (a pair of
         * vectors, or less) of each at a time: `scores` then finds them in
         * cache. Its short runs along each row (slices) leave the hardware
         * prefetchers behind (bench/results/2026-12-03.md). */
        if (next != NULL)
            for (ptrdiff_t r = 0; r < next_rows; r++)
                for (ptrdiff_t e = 0; e < 2 * VL; e += 64 / (ptrdiff_t)sizeof(T))
                    MM_PREFETCH(next + r * next_ld + p * 2 * VL + e);
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
