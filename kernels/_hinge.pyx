"""Hinge loss-and-gradient kernels: multiclass (SVM) and max-margin ranking.

Design
------
1. Scalar helpers, one formula each: `positive_part` = max(0, m) and
   `unit_slope` = its derivative (0 at the kink m = 0; NaN stays NaN).
2. Row helpers compute one sample's loss and turn its score row into its
   gradient row in place: `weston_watkins_row`, `crammer_singer_row`. The
   fused `svm_loss` runs them on its score matrix; `multiclass_hinge` first
   gathers each score row (any strides) into the output row.
3. The array loop `margin_pass` applies a row helper to every row, in a
   `prange` only when the pass is large enough to pay for a thread team. Each
   row's weighted loss goes to its own slot and `pairwise_sum` adds the slots
   in a fixed order, so results are identical for every thread count.
   The ranking loss works on blocks of whole rows: strided inputs through
   flat scratch (`ranking_rows`, so that its selects vectorise: see
   `ranking_pair_terms`), contiguous ones four rows to a vector
   (ranking_rows.h) or, in the common case on the AVX2 and AVX-512 paths,
   as flat runs of pairs (ranking_flat.h).
   `few_class_pass` is svm_loss's single pass for few classes: row blocks
   through the C micro-kernels of fewclass.h (scores, then dW's share),
   with the same row helpers between them.
4. Entry points (`multiclass_hinge_kernel`, `svm_loss_kernel`,
   `ranking_hinge_kernel`) are called by
   `maxmargin.hinge` after it has validated and allocated everything. They
   trust their arguments except the labels' range, which they check first
   (they read the labels anyway) and report as `LabelError`. They release
   the GIL for the whole computation and do their matrix products through
   the BLAS shim (`_blas.pxd`).
   `svm_loss_common` is svm_loss's common call in one step: it checks plain
   arrays and Python scalars by reading their headers through NumPy's C API
   (the general checks cost more than the work at small shapes), allocates
   the outputs and runs the same kernel (`svm_loss_run`), or declines (None)
   and leaves the call to `maxmargin.hinge`'s general path.

Arithmetic, in the same order as `maxmargin.reference`:
- margins m_ij = (s_ij - s_iy) + delta are evaluated in the data's dtype;
- max(0, m)^p, row sums, weights and reductions are float64;
- gradient coefficients are float64, rounded once to the data's dtype.
"""

from cython cimport floating
from cython.parallel cimport prange, threadid
cimport numpy as cnp
from libc.limits cimport INT_MAX
from libc.math cimport INFINITY
from libc.stdint cimport uintptr_t
from libc.stdlib cimport malloc, free

from _blas cimport gemm
from _indices cimport first_out_of_range
from _openmp cimport omp_get_max_threads
from _fewclass cimport (fewclass_kernels, fewclass_active, fewclass_select,
                        fewclass_l2_gradient_f32, fewclass_l2_gradient_f64,
                        fewclass_compiled_paths, fewclass_cpu_supports,
                        fewclass_workspace_take, fewclass_workspace_give)

# The NumPy C API, for `svm_loss_common`'s checks (nothing else uses it).
cnp.import_array()

# Below this many score entries the margin pass runs serially: starting (and
# afterwards spinning down) a thread team costs more than the pass itself, and
# the spinning threads slow down the BLAS call that follows (bench/RESULTS.md).
cdef Py_ssize_t PARALLEL_MIN_ELEMENTS = 1 << 18

# Rows per leaf of the pairwise sum (as in NumPy's own pairwise summation).
cdef Py_ssize_t PAIRWISE_BLOCK = 128

# svm_loss with few classes: both GEMMs are thin and memory-bound, each
# reading all of X. When X is too large to stay in the last-level cache
# between them, processing it in row blocks of about BLOCK_BYTES lets the
# second GEMM find each block still cached, so X comes from memory once
# (N = 4096, D = 3073, C = 10: 1.2-1.4x faster than two whole-batch GEMMs;
# blocks of 0.25-1 MiB were slower than none, 2-4 MiB best; X below ~12 MiB
# gained nothing: it stays in the 32 MiB L3 anyway). With many classes the
# GEMMs are compute-bound and every block would re-stream dW, so above
# BLOCKED_MAX_CLASSES the batch is one block. The block size depends only on
# the shape and dtype, never on threads: results stay reproducible.
cdef Py_ssize_t BLOCK_BYTES = 3 << 20
cdef Py_ssize_t BLOCKING_MIN_BYTES = 4 * BLOCK_BYTES
cdef Py_ssize_t BLOCKED_MAX_CLASSES = 64

# dW = X^T G with few classes in float64: asked for as the row-major (D, C)
# result, BLAS computes dW^T with M = C, a thin shape SciPy's OpenBLAS dgemm
# runs up to 2x slower than the same product with M = D (sgemm does not:
# there the reorientation measured slower). With at least
# TRANSPOSED_DW_MIN_ROWS rows the float64 kernel takes the fast orientation
# into a (C, D) scratch and adds its transpose into dW, an O(D C) pass that
# pays once the product has enough rows (D = 3073, C = 10: slower at N <= 32,
# even at 64, 1.1-1.6x faster from 256 up). Up to TRANSPOSED_DW_MAX_CLASSES
# classes (the AVX-512 machine, N = 4096, dW alone: D = 3073, C = 100 29.1 ->
# 21.8 ms; D = 512, C = 100 4.9 -> 3.7; C = 1000 alike either way).
cdef Py_ssize_t TRANSPOSED_DW_MIN_ROWS = 128
cdef Py_ssize_t TRANSPOSED_DW_MAX_CLASSES = 128
# float32 takes the same orientation from TRANSPOSED_DW_F32_MIN_ROWS rows
# where SciPy's OpenBLAS runs Haswell/Zen sgemm kernels, which have the same
# weakness: on the AVX2 machine (AMD), dW alone at N = 4096, D = 3073 21-32
# ms against 42-46 (C = 10-100); svm_loss's two GEMMs, interleaved: 0.76-0.81x
# at N = 4096 (C = 48-128, D = 3073), 0.81-0.94x at N = 500, 0.96-0.99x at
# D = 512, and 1.24-1.35x slower at N = 256. With AVX-512 (SkylakeX kernels)
# sgemm was measured faster direct, so the choice follows the SIMD path as
# a proxy for OpenBLAS's kernels: every path but avx512 (select_simd_path).
# TRANSPOSED_DW_F32 overrides that (-1: the path's choice).
cdef Py_ssize_t TRANSPOSED_DW_F32_MIN_ROWS = 500
cdef bint TRANSPOSED_DW_F32_PATH = False
cdef int TRANSPOSED_DW_F32 = -1

# S = X W in float64, likewise: asked for row-major (N, C), BLAS computes S^T
# with M = C; computed as S^T = W^T X^T into a (C, N) scratch it gets M = N,
# and the margin pass reads S's rows from it with a stride (the gradient G
# goes to a row-major scratch of its own). Measured on the AVX-512 machine,
# SciPy's OpenBLAS dgemm, S alone: N = 4096, D = 3073: C = 10 9.9 -> 6.7 ms,
# C = 32 14.2 -> 9.6, C = 100 30.0 -> 22.0; D = 512, C = 100 4.7 -> 3.8; no
# gain for blocks of 128 rows or at C = 1000 (sgemm: slower, 0.67-0.91x).
# Taken (for the whole batch at once) from COLUMN_SCORES_MIN_ROWS rows and
# COLUMN_SCORES_ROW_RATIO rows a class up.
cdef Py_ssize_t COLUMN_SCORES_MIN_ROWS = 512
cdef Py_ssize_t COLUMN_SCORES_ROW_RATIO = 8
cdef bint COLUMN_SCORES = True


# svm_loss with at most FEWCLASS_MAX_CLASSES classes takes the single pass
# of `few_class_pass`: each row block of about FEWCLASS_BLOCK_BYTES of X is
# read from memory once, for its scores and then its share of dW, with the
# SIMD micro-kernels of fewclass.h; above it, the two-GEMM path
# (bench/RESULTS.md: crossover).
cdef Py_ssize_t FEWCLASS_MAX_CLASSES = 16
# Below FEWCLASS_MIN_ROWS rows the two GEMMs win: the single pass packs W
# and unpacks dW, three extra trips through D x C, for too little work.
cdef Py_ssize_t FEWCLASS_MIN_ROWS = 128
# The block size follows the path, as a stand-in for the L2 it can count
# on: 192 KiB on avx512 (kept from the start; 2 MiB of L2 on the Intel
# machine), 96 KiB elsewhere. On the AVX2 machine (AMD Zen 3, 512 KiB of L2
# a core), interleaved, 21 rounds, D = 3073, C = 10, 96 KiB against 192:
# float32 N = 4096 0.80x, N = 256-500 1.01-1.03x; float64 N = 4096 0.96x,
# N = 500 0.85x, N = 256 0.97x (64 KiB: float32 alike, float64 1.2x
# slower; the results do not depend on it). FEWCLASS_BLOCK_BYTES overrides
# the path's (-1: the path's own).
FEWCLASS_BLOCK_BYTES_BY_PATH = {"avx512": 192 * 1024, "avx2": 96 * 1024, "baseline": 96 * 1024}
cdef Py_ssize_t FEWCLASS_PATH_BLOCK_BYTES = 96 * 1024
cdef Py_ssize_t FEWCLASS_BLOCK_BYTES = -1
# Rows are shared out in chunks, each with its own dW accumulator, added in
# chunk order at the end: the chunks depend on the shape only, so results
# are identical for any thread count. A chunk has at least
# FEWCLASS_CHUNK_MIN_ROWS rows and there are at most FEWCLASS_MAX_CHUNKS of
# them. (On the AVX2 machine 32-256 rows measured alike; on the AVX-512 one,
# interleaved, 128 against 32: N = 256, D = 3073, C = 10 float64 0.84x, C = 32
# float32 0.92x; N = 500 0.95-0.97x; N >= 1000 alike. The accumulators, D x
# C each, are written and summed whole whatever the chunk's size.)
cdef Py_ssize_t FEWCLASS_CHUNK_MIN_ROWS = 128
cdef Py_ssize_t FEWCLASS_MAX_CHUNKS = 8

# On a path with the class-vector kernels (classvec.h: AVX-512, AVX2), the
# same single pass runs them instead of the few-classes kernels or the two
# GEMMs for the classes of that path's range in CLASSVEC_RANGES: products
# vectorised along the classes, row blocks of about CLASSVEC_BLOCK_BYTES of
# X (24-36 rows at D = 3073 float32 measured best, 48-64 slower; on the
# AVX2 machine 96-384 KiB alike), from CLASSVEC_MIN_ROWS rows up.
# On the AVX-512 machine, interleaved: against the few-classes kernels
# 1.12-1.26x at C = 10, 0.96-1.08x at C = 11-12, 0.77-0.94x at C = 13-16
# (both dtypes); against the two GEMMs, float32, 0.44-0.89x for C = 17-48
# at N = 256-4096, D = 100-3073, 0.84-0.99x at C = 64, 1.28-1.58x at C = 100
# (two groups of vectors: X read twice); float64 1.02-1.84x at C = 17-64
# (the two GEMMs there take S^T, see COLUMN_SCORES).
# On the AVX2 machine (16 registers: tiles of 12 x 1, 6 x 2, 4 x 3), float32
# against the two GEMMs: 0.26-0.86x for C = 17-32 at N >= 1000 (D = 512 and
# 3073), 0.48-1.25x at N = 256-500 (parity on the whole), 0.43-2.29x at C =
# 48-64 (losses at small N); against the few-classes kernels at C = 13-16
# better at D = 3073, 1.5-2x worse at D = 512 and N <= 500; float64
# 0.5-0.7x at N = 4096, D = 3073 but 1.0-1.6x at D = 512 or N = 500. Hence
# 17-32 in float32 only there.
# Each range is (fewest classes, most in float32, most in float64).
CLASSVEC_RANGES = {"avx512": (13, 64, 16), "avx2": (17, 32, 0)}
# The active path's range (select_simd_path), and overrides of it set by
# class_vector_limits (-1: the path's own).
cdef Py_ssize_t CLASSVEC_PATH_MIN_CLASSES = 0
cdef Py_ssize_t CLASSVEC_PATH_MAX_CLASSES = 0
cdef Py_ssize_t CLASSVEC_PATH_MAX_CLASSES_F64 = 0
cdef Py_ssize_t CLASSVEC_MIN_CLASSES = -1
cdef Py_ssize_t CLASSVEC_MAX_CLASSES = -1
cdef Py_ssize_t CLASSVEC_MAX_CLASSES_F64 = -1
cdef Py_ssize_t CLASSVEC_MIN_ROWS = 256
cdef Py_ssize_t CLASSVEC_BLOCK_BYTES = 384 * 1024


# ranking_hinge works in blocks of about this many (true, corrupted) pairs,
# whole rows each, a multiple of 16 rows (the flat kernels' groups): with
# strided inputs a block's margins, terms and slopes live in two scratch
# arrays of this length (64 KiB each, in L2). Each block's weighted loss is
# summed into its own slot, then the slots pairwise: one order for every
# thread count (the block size depends on K only), without an N-long array
# of row losses to write and re-read. (Blocks of 1024 pairs cost the flat
# kernels' streamed stores a fence every 4 KiB: 0.5 ms of 1.8 at N = 10^6,
# K = 5, float64.)
cdef Py_ssize_t RANKING_BLOCK_PAIRS = 8192
cdef Py_ssize_t RANKING_BLOCK_ALIGN_ROWS = 16
# The flat kernels write ds_c with non-temporal stores from this size up:
# an output that large is past the caches anyway, and streaming it saves
# reading every line before it is written (float64 (10^6, 5): 2.7 -> 1.8
# ms). Smaller outputs stay in cache for whoever reads them next.
cdef Py_ssize_t RANKING_STREAM_MIN_BYTES = 8 << 20


# --- 1. scalar helpers -----------------------------------------------------

# Margins fall on either side of the kink unpredictably, so both helpers are
# written to compile to selects, never branches (a branch version measured
# ~3x slower on random scores).

cdef inline double positive_part(double margin) noexcept nogil:
    """max(0, margin); a NaN margin stays NaN (never silently 0).

    Spelled `0 > m ? 0 : m`, which is exactly the x86 max instruction's rule
    (NaN and -0.0 pass through), so it compiles to one instruction."""
    return 0 if 0 > margin else margin


cdef inline double unit_slope(double margin) noexcept nogil:
    """d/dm max(0, m): 1 above the kink, 0 at it (the subgradient we use) and
    below it, NaN for a NaN margin. Both tests are always evaluated, so the
    compiler can select instead of branch."""
    cdef bint above = margin > 0
    cdef bint is_nan = margin != margin
    return (1.0 if above else 0.0) + (margin if is_nan else 0.0)


# The same two formulas for scalar code the loop vectorizer does not reach
# (a row's few classes): there GCC compiles the selects above to branches,
# mispredicted on random scores. margin_rows.h spells them with SSE2's
# scalar max, compare and and on x86-64, which are selects by construction,
# and holds the Weston-Watkins row in vectors (see `weston_watkins_row`).
cdef extern from "margin_rows.h":
    double positive_part_sd "maxmargin_positive_part_sd"(double margin) noexcept nogil
    double unit_slope_sd "maxmargin_unit_slope_sd"(double margin) noexcept nogil
    const bint VECTOR_ROWS "MAXMARGIN_VECTOR_ROWS"
    double ww_row_f32 "maxmargin_ww_row_f32"(
        float* g, Py_ssize_t n, Py_ssize_t label, float delta, int p,
        double coef) noexcept nogil
    double ww_row_f64 "maxmargin_ww_row_f64"(
        double* g, Py_ssize_t n, Py_ssize_t label, double delta, int p,
        double coef) noexcept nogil
    Py_ssize_t ww_rows_f32 "maxmargin_ww_rows_f32"(
        float* S, Py_ssize_t n_rows, Py_ssize_t n, const Py_ssize_t* y, float delta,
        int p, double coef, double* row_loss) noexcept nogil
    Py_ssize_t ww_rows_f64 "maxmargin_ww_rows_f64"(
        double* S, Py_ssize_t n_rows, Py_ssize_t n, const Py_ssize_t* y, double delta,
        int p, double coef, double* row_loss) noexcept nogil


# Rows of the ranking hinge in vectors whose lanes are rows, for contiguous
# s and C-contiguous s_c (ranking_rows.h; the same arithmetic as the scalar
# `ranking_rows` below, so the same bits).
cdef extern from "ranking_rows.h":
    const bint VECTOR_RANKING "MAXMARGIN_VECTOR_RANKING"
    const Py_ssize_t RANKING_MAX_K_F32 "MAXMARGIN_RANKING_MAX_K_F32"
    double ranking_rows_f32 "maxmargin_ranking_rows_f32"(
        const float* s, const float* s_c, Py_ssize_t n_corrupt, float delta, int p,
        const double* sample_weight, double denom, float* ds, float* ds_c,
        float* row_loss, bint add_ds, bint add_ds_c, Py_ssize_t n_rows) noexcept nogil
    double ranking_rows_f64 "maxmargin_ranking_rows_f64"(
        const double* s, const double* s_c, Py_ssize_t n_corrupt, double delta, int p,
        const double* sample_weight, double denom, double* ds, double* ds_c,
        double* row_loss, bint add_ds, bint add_ds_c, Py_ssize_t n_rows) noexcept nogil


# The flat ranking kernels of the AVX2 and AVX-512 paths (ranking_flat.h):
# p = 1 without weights, accumulation or per-row losses, 1 <= K <= 16.
cdef extern from "ranking_flat.h" nogil:
    const Py_ssize_t RANKING_FLAT_MAX_K
    const Py_ssize_t RANKING_FLAT_STREAM_ALIGN
    ctypedef struct ranking_flat_plan:
        int lanes
    ctypedef struct ranking_flat_kernels:
        const char* name
        int lanes_f32
        int lanes_f64
        int (*rows_f32)(const float* s, const float* s_c, const ranking_flat_plan* plan,
                        float* ds, float* ds_c, Py_ssize_t groups, int stream,
                        double* loss) noexcept nogil
        int (*rows_f64)(const double* s, const double* s_c, const ranking_flat_plan* plan,
                        double* ds, double* ds_c, Py_ssize_t groups, int stream,
                        double* loss) noexcept nogil
    const ranking_flat_kernels* ranking_flat_for(const char* path)
    void ranking_flat_plan_init(ranking_flat_plan* plan, Py_ssize_t K, int lanes,
                                double delta, double denom)

# The flat ranking kernels of the SIMD path in use, or NULL (select_simd_path).
cdef const ranking_flat_kernels* RANKING_FLAT = NULL

cdef extern from "classvec.h" nogil:
    const fewclass_kernels* classvec_for(const char* path)

# The class-vector kernels of the SIMD path in use, or NULL (select_simd_path).
cdef const fewclass_kernels* CLASSVEC = NULL


cdef double pairwise_sum(const double* x, Py_ssize_t n) noexcept nogil:
    """Sum of x[0:n] by pairwise halving: accurate to O(log n) ulps and in an
    order that depends only on n."""
    cdef double total = 0.0
    cdef Py_ssize_t i, half
    if n <= PAIRWISE_BLOCK:
        for i in range(n):
            total += x[i]
        return total
    half = (n // 2 // PAIRWISE_BLOCK) * PAIRWISE_BLOCK
    if half == 0:
        half = PAIRWISE_BLOCK
    return pairwise_sum(x, half) + pairwise_sum(x + half, n - half)


# --- 2. row helpers (in place: g holds the scores on entry, dL/ds on exit) --

cdef inline void weston_watkins_terms(
        floating* g, Py_ssize_t n_classes, Py_ssize_t label, floating s_label,
        floating delta, int p, double coef, double* loss_lanes,
        double* slope_lanes) noexcept nogil:
    """Every class j of one row: replace s_j by coef * slope_j and add
    max(0, m_j)^p and slope_j into four running lanes.

    The label's own column gets the margin -inf (term 0, slope 0) by a select,
    so the loop runs over all classes: its trip count is the same for every
    row and never mispredicted, where splitting the row at its label gave
    two loops of random length. Four lanes are four independent sums instead
    of one dependency chain; their order is fixed, so the result depends on
    nothing but the row. The margin is rounded in the data's dtype, then
    widened to double (exact), so every select is a double select: branch-free
    vector code for float32 too.
    """
    cdef Py_ssize_t j = 0, k
    cdef double margin, term, slope
    if p == 1:
        while j + 4 <= n_classes:
            for k in range(4):
                margin = <floating>(g[j + k] - s_label + delta)
                margin = -INFINITY if j + k == label else margin
                slope = unit_slope_sd(margin)
                loss_lanes[k] += positive_part_sd(margin)
                slope_lanes[k] += slope
                g[j + k] = <floating>(coef * slope)
            j += 4
        while j < n_classes:
            margin = <floating>(g[j] - s_label + delta)
            margin = -INFINITY if j == label else margin
            slope = unit_slope_sd(margin)
            loss_lanes[0] += positive_part_sd(margin)
            slope_lanes[0] += slope
            g[j] = <floating>(coef * slope)
            j += 1
    else:
        # p = 2: term t^2 and slope 2t with t = max(0, m); NaN flows through.
        while j + 4 <= n_classes:
            for k in range(4):
                margin = <floating>(g[j + k] - s_label + delta)
                term = positive_part_sd(-INFINITY if j + k == label else margin)
                loss_lanes[k] += term * term
                slope_lanes[k] += 2.0 * term
                g[j + k] = <floating>(coef * (2.0 * term))
            j += 4
        while j < n_classes:
            margin = <floating>(g[j] - s_label + delta)
            term = positive_part_sd(-INFINITY if j == label else margin)
            loss_lanes[0] += term * term
            slope_lanes[0] += 2.0 * term
            g[j] = <floating>(coef * (2.0 * term))
            j += 1


cdef inline double weston_watkins_row(
        floating* g, Py_ssize_t n_classes, Py_ssize_t label, floating delta,
        int p, double coef) noexcept nogil:
    """L = sum_{j != y} max(0, s_j - s_y + delta)^p for one sample, s = g.

    Leaves g_j = coef * dL/ds_j and returns the unweighted L.
    """
    cdef floating s_label = g[label]
    if VECTOR_ROWS and s_label - s_label == 0:
        # s_y finite (delta always is): the label's column can take the
        # score -inf and the row go through vectors with no label test, in
        # the lanes of the loop below (margin_rows.h).
        if floating is float:
            return ww_row_f32(g, n_classes, label, delta, p, coef)
        else:
            return ww_row_f64(g, n_classes, label, delta, p, coef)
    cdef double loss_lanes[4]
    cdef double slope_lanes[4]
    cdef Py_ssize_t k
    for k in range(4):
        loss_lanes[k] = 0.0
        slope_lanes[k] = 0.0
    weston_watkins_terms(g, n_classes, label, s_label, delta, p, coef,
                         loss_lanes, slope_lanes)
    # An add gate: every violated class pushes s_y down by its own slope.
    g[label] = <floating>(-coef * ((slope_lanes[0] + slope_lanes[1])
                                   + (slope_lanes[2] + slope_lanes[3])))
    return (loss_lanes[0] + loss_lanes[1]) + (loss_lanes[2] + loss_lanes[3])


cdef inline double crammer_singer_row(
        floating* g, Py_ssize_t n_classes, Py_ssize_t label, floating delta,
        int p, double coef) noexcept nogil:
    """L = max(0, max_{j != y} s_j - s_y + delta)^p for one sample, s = g.

    A max gate: the gradient goes to the first maximising class j* only (ties
    to the lowest index; a NaN score counts as the maximum, as in np.argmax).
    With a single class there is no rival: L = 0 and g = 0.
    """
    cdef Py_ssize_t j, best_j = -1
    cdef floating best = 0, value, margin
    cdef double slope
    for j in range(n_classes):
        if j == label:
            continue
        value = g[j]
        # `best == best` is false once best is NaN: the first NaN is kept.
        if best_j < 0 or value > best or (value != value and best == best):
            best = value
            best_j = j
    if best_j < 0:
        g[0] = 0
        return 0.0
    margin = best - g[label] + delta
    cdef double term = positive_part(margin)
    slope = unit_slope(margin) if p == 1 else 2.0 * term
    for j in range(n_classes):
        g[j] = 0
    g[best_j] = <floating>(coef * slope)
    g[label] = <floating>(-coef * slope)
    return term if p == 1 else term * term


# --- 3. array loops --------------------------------------------------------

cdef inline double weighted_row(
        const floating* S, Py_ssize_t row_stride, Py_ssize_t col_stride,
        Py_ssize_t n_classes, const Py_ssize_t* y, floating delta, int p,
        bint crammer_singer, const double* sample_weight,
        const double* class_weight, double denom, floating* G,
        Py_ssize_t i) noexcept nogil:
    """Row i: its weight w_i = sample_weight[i] * class_weight[y_i] (a missing
    weight is 1), gradient row scaled by w_i / denom, returns w_i * L_i.

    Scores are first gathered into the gradient row (a no-op when G is S),
    so the row helpers always work in place on contiguous memory.
    """
    cdef double weight = 1.0
    cdef Py_ssize_t j, label = y[i]
    cdef const floating* s = S + i * row_stride
    cdef floating* g = G + i * n_classes
    if sample_weight != NULL:
        weight = sample_weight[i]
    if class_weight != NULL:
        weight = weight * class_weight[label]
    if <const floating*>g != s:
        for j in range(n_classes):
            g[j] = s[j * col_stride]
    if crammer_singer:
        return weight * crammer_singer_row(g, n_classes, label, delta, p, weight / denom)
    return weight * weston_watkins_row(g, n_classes, label, delta, p, weight / denom)


cdef void margin_pass(
        const floating* S, Py_ssize_t row_stride, Py_ssize_t col_stride,
        Py_ssize_t n_samples, Py_ssize_t n_classes, const Py_ssize_t* y,
        floating delta, int p, bint crammer_singer,
        const double* sample_weight, const double* class_weight, double denom,
        floating* G, double* row_loss, int n_threads) noexcept nogil:
    """Loss and gradient for every row of S (n_samples, n_classes).

    G (n_samples, n_classes) is C-contiguous and may be S itself. row_loss
    receives each w_i * L_i; the caller sums them (`pairwise_sum`).
    """
    cdef Py_ssize_t i
    cdef bint parallel = n_threads > 1 and n_samples * n_classes >= PARALLEL_MIN_ELEMENTS
    if (VECTOR_ROWS and not parallel and not crammer_singer and sample_weight == NULL
            and class_weight == NULL and <const floating*>G == S
            and row_stride == n_classes and col_stride == 1):
        # Unweighted Weston-Watkins in place, serial: runs of rows in C
        # (margin_rows.h), one coefficient 1 / denom (= w_i / denom at w_i =
        # 1); a row with a non-finite s_y goes through weighted_row.
        i = 0
        while i < n_samples:
            if floating is float:
                i += ww_rows_f32(G + i * n_classes, n_samples - i, n_classes, y + i,
                                 delta, p, 1.0 / denom, row_loss + i)
            else:
                i += ww_rows_f64(G + i * n_classes, n_samples - i, n_classes, y + i,
                                 delta, p, 1.0 / denom, row_loss + i)
            if i < n_samples:
                row_loss[i] = weighted_row(S, row_stride, col_stride, n_classes, y,
                                           delta, p, crammer_singer, sample_weight,
                                           class_weight, denom, G, i)
                i += 1
    elif parallel:
        for i in prange(n_samples, schedule="dynamic", chunksize=16, num_threads=n_threads):
            row_loss[i] = weighted_row(S, row_stride, col_stride, n_classes, y,
                                       delta, p, crammer_singer, sample_weight,
                                       class_weight, denom, G, i)
    else:
        for i in range(n_samples):
            row_loss[i] = weighted_row(S, row_stride, col_stride, n_classes, y,
                                       delta, p, crammer_singer, sample_weight,
                                       class_weight, denom, G, i)


cdef void ranking_pair_terms(double* margin_term, double* slope, Py_ssize_t n,
                             int p) noexcept nogil:
    """Over a flat block of margins: margin_term[e] becomes max(0, m)^p and
    slope[e] its derivative. One straight loop per p, with nothing but
    selects: it vectorises, and a margin that falls either side of the kink
    at random costs no mispredicted branch (written per row, GCC turned the
    select into a branch: ~5 ns a pair on random scores)."""
    cdef Py_ssize_t e
    cdef double m, t
    if p == 1:
        for e in range(n):
            m = margin_term[e]
            slope[e] = unit_slope(m)
            margin_term[e] = positive_part(m)
    else:
        for e in range(n):
            t = positive_part(margin_term[e])
            slope[e] = 2.0 * t
            margin_term[e] = t * t


cdef double ranking_rows(
        const floating* s, Py_ssize_t s_stride, const floating* s_c,
        Py_ssize_t c_row_stride, Py_ssize_t c_col_stride, Py_ssize_t n_corrupt,
        floating delta, int p, const double* sample_weight, double denom,
        floating* ds, floating* ds_c, floating* row_loss, bint add_ds, bint add_ds_c,
        Py_ssize_t begin, Py_ssize_t end, double* terms, double* slopes) noexcept nogil:
    """Rows [begin, end) of the ranking hinge J_i = sum_k max(0, m_ik)^p with
    m_ik = (s_c[i, k] - s_i) + delta, using scratch `terms` and `slopes` of
    (end - begin) * K doubles.

    ds (N,) and ds_c (N, K), C-contiguous, get (or with add_ds/add_ds_c gain)
    coef * dJ_i/ds_i and coef * dJ_i/ds_c[i, k], coef = w_i / denom: an add
    gate, so every violated pair pushes s_i down and s_c[i, k] up by its own
    slope. row_loss (if not NULL) gets w_i J_i in the dtype. Returns the sum
    of w_i J_i over the rows, in row order.
    """
    cdef Py_ssize_t i, k
    cdef floating s_true, grad
    cdef double weight = 1.0, loss, slope_sum, total = 0.0
    # Unweighted, every row shares one coefficient: no division per row
    # (at K = 1 that division was a third of the time).
    cdef double coef = 1.0 / denom
    cdef const floating* corrupt
    cdef double* t
    cdef double* sl
    cdef floating* g
    # 1. margins, rounded in the dtype (then widened to double, exactly).
    for i in range(begin, end):
        s_true = s[i * s_stride]
        corrupt = s_c + i * c_row_stride
        t = terms + (i - begin) * n_corrupt
        for k in range(n_corrupt):
            t[k] = <floating>(corrupt[k * c_col_stride] - s_true + delta)
    # 2. terms and slopes, branch-free.
    ranking_pair_terms(terms, slopes, (end - begin) * n_corrupt, p)
    # 3. gradients and row sums.
    for i in range(begin, end):
        t = terms + (i - begin) * n_corrupt
        sl = slopes + (i - begin) * n_corrupt
        g = ds_c + i * n_corrupt
        if sample_weight != NULL:
            weight = sample_weight[i]
            coef = weight / denom
        loss = 0.0
        slope_sum = 0.0
        for k in range(n_corrupt):
            loss += t[k]
            slope_sum += sl[k]
            grad = <floating>(coef * sl[k])
            g[k] = g[k] + grad if add_ds_c else grad
        grad = <floating>(-coef * slope_sum)
        ds[i] = ds[i] + grad if add_ds else grad
        if row_loss != NULL:
            row_loss[i] = <floating>(weight * loss)
        total += weight * loss
    return total


cdef inline double ranking_rows_contiguous(
        const floating* s, const floating* s_c, Py_ssize_t n_corrupt, floating delta,
        int p, const double* sample_weight, double denom, floating* ds, floating* ds_c,
        floating* row_loss, bint add_ds, bint add_ds_c, Py_ssize_t begin,
        Py_ssize_t end) noexcept nogil:
    """`ranking_rows` for contiguous s and C-contiguous s_c (N, K), four rows
    to a vector (ranking_rows.h): the same results, bit for bit."""
    cdef const double* w = NULL if sample_weight == NULL else sample_weight + begin
    cdef floating* loss_rows = NULL if row_loss == NULL else row_loss + begin
    if floating is float:
        return ranking_rows_f32(s + begin, s_c + begin * n_corrupt, n_corrupt, delta, p,
                                w, denom, ds + begin, ds_c + begin * n_corrupt,
                                loss_rows, add_ds, add_ds_c, end - begin)
    else:
        return ranking_rows_f64(s + begin, s_c + begin * n_corrupt, n_corrupt, delta, p,
                                w, denom, ds + begin, ds_c + begin * n_corrupt,
                                loss_rows, add_ds, add_ds_c, end - begin)


cdef inline double ranking_block(
        const floating* s, Py_ssize_t s_stride, const floating* s_c,
        Py_ssize_t c_row_stride, Py_ssize_t c_col_stride, Py_ssize_t n_corrupt,
        floating delta, int p, const double* sample_weight, double denom,
        floating* ds, floating* ds_c, floating* row_loss, bint add_ds, bint add_ds_c,
        Py_ssize_t begin, Py_ssize_t end, bint contiguous, double* scratch,
        Py_ssize_t scratch_len, int thread, const ranking_flat_plan* flat,
        bint stream) noexcept nogil:
    """Rows [begin, end) by the flat kernels of RANKING_FLAT when `flat`
    (their plan) is given, by the vector rows when the layout is
    `contiguous`, else by the scalar rows in thread `thread`'s share of
    `scratch` (two arrays of scratch_len doubles each).

    The flat kernels take whole groups of plan.lanes rows; the rest of the
    block goes to the vector rows. A NaN margin anywhere in the block sends
    the whole block to the vector rows, which give it its meaning."""
    cdef Py_ssize_t groups, tail
    cdef double loss = 0.0
    cdef int has_nan
    if flat != NULL:
        groups = (end - begin) // flat.lanes
        if floating is float:
            has_nan = RANKING_FLAT.rows_f32(s + begin, s_c + begin * n_corrupt, flat,
                                            ds + begin, ds_c + begin * n_corrupt, groups,
                                            stream, &loss)
        else:
            has_nan = RANKING_FLAT.rows_f64(s + begin, s_c + begin * n_corrupt, flat,
                                            ds + begin, ds_c + begin * n_corrupt, groups,
                                            stream, &loss)
        if not has_nan:
            tail = begin + groups * flat.lanes
            if tail < end:
                loss += ranking_rows_contiguous(s, s_c, n_corrupt, delta, p, sample_weight,
                                                denom, ds, ds_c, row_loss, add_ds,
                                                add_ds_c, tail, end)
            return loss
    if contiguous:
        return ranking_rows_contiguous(s, s_c, n_corrupt, delta, p, sample_weight, denom,
                                       ds, ds_c, row_loss, add_ds, add_ds_c, begin, end)
    return ranking_rows(s, s_stride, s_c, c_row_stride, c_col_stride, n_corrupt, delta, p,
                        sample_weight, denom, ds, ds_c, row_loss, add_ds, add_ds_c,
                        begin, end, scratch + 2 * scratch_len * thread,
                        scratch + 2 * scratch_len * thread + scratch_len)


cdef inline double add_l2_gradient(
        const floating* W, Py_ssize_t row_stride, Py_ssize_t col_stride,
        Py_ssize_t n_rows, Py_ssize_t n_cols, floating two_reg, bint accumulate,
        floating* dW) noexcept nogil:
    """dW (+)= two_reg * W, with dW C-contiguous; returns sum(W**2) in float64.

    On the active SIMD path (fewclass.h: fewclass_l2_gradient, which fixes
    the order of the sum): at N = 1-2 this pass costs as much as the
    products, and W is often tall and thin (D rows of C = 10).
    """
    if floating is float:
        return fewclass_l2_gradient_f32(W, row_stride, col_stride, n_rows, n_cols,
                                        two_reg, accumulate, dW)
    else:
        return fewclass_l2_gradient_f64(W, row_stride, col_stride, n_rows, n_cols,
                                        two_reg, accumulate, dW)


cdef inline void* align64(void* p) noexcept nogil:
    """p rounded up to a multiple of 64 bytes (a cache line)."""
    return <void*>((<uintptr_t>p + 63) & ~(<uintptr_t>63))


cdef int few_class_pass(
        const floating* X, Py_ssize_t x_rs, Py_ssize_t x_cs, const floating* W,
        Py_ssize_t w_rs, Py_ssize_t w_cs, const floating* b, Py_ssize_t n_samples,
        Py_ssize_t n_features, Py_ssize_t n_classes, const Py_ssize_t* y,
        floating delta, int p, bint crammer_singer, const double* sw,
        const double* cw, double denom, floating* dW, bint keep_dW,
        floating* db, bint add_db, double* row_loss, int n_threads,
        const fewclass_kernels* kern, Py_ssize_t block_bytes) noexcept nogil:
    """svm_loss's single pass over X, by the kernels `kern`: the few-classes
    ones (fewclass.h) or the class-vector ones (classvec.h), in row blocks of
    about block_bytes of X.

    Per row block: S = X_b W (+ b) by the `scores` micro-kernel, the margin
    pass turns S into G in place, db's float64 column sums gain G's, and the
    chunk's dW panel gains X_b^T G by the `grad` micro-kernel, while X_b is
    in cache. Finally dW = (keep_dW ? dW : 0) + the chunks' panels, added in
    chunk order. row_loss (N,) receives each w_i L_i. Returns 0, or -1 when
    scratch cannot be allocated (nothing written then but dW's init).

    X's rows are read in place when their elements are adjacent (x_cs = 1);
    in any other layout each block is first gathered into rows that are, so
    every layout gives the same result.
    """
    cdef Py_ssize_t itemsize = sizeof(floating)
    cdef Py_ssize_t block_rows = max(<Py_ssize_t>2, min(<Py_ssize_t>64,
        block_bytes // (n_features * itemsize)))
    block_rows += block_rows % 2  # whole row pairs for the score tiles
    # Chunks: at least FEWCLASS_CHUNK_MIN_ROWS rows each, whole row pairs,
    # and not whole blocks (a chunk's last block may be short): the chunks,
    # and so the order in which dW's sums are taken, depend on the shape
    # only, not on the block size, which the SIMD path chooses.
    cdef Py_ssize_t chunk_rows = max(FEWCLASS_CHUNK_MIN_ROWS,
        (n_samples + FEWCLASS_MAX_CHUNKS - 1) // FEWCLASS_MAX_CHUNKS)
    chunk_rows += chunk_rows % 2
    cdef Py_ssize_t n_chunks = (n_samples + chunk_rows - 1) // chunk_rows
    cdef int team = <int>min(<Py_ssize_t>max(n_threads, 1), n_chunks)
    cdef Py_ssize_t panel = kern.panel_elements(n_features, n_classes, itemsize)
    cdef bint gather = x_cs != 1 and n_features > 1
    # Per thread: the micro-kernels' scratch, a block of scores and, to
    # gather X's rows, a block of them.
    cdef Py_ssize_t gathered = block_rows * n_features * itemsize if gather else 0
    cdef Py_ssize_t per_thread = ((kern.scratch_bytes(block_rows, n_features,
                                  n_classes, itemsize) + 63) // 64 * 64
                                  + gathered + block_rows * n_classes * itemsize)
    cdef char* memory = <char*>fewclass_workspace_take(
        (panel * (1 + n_chunks)) * itemsize + n_chunks * n_classes * sizeof(double)
        + team * (per_thread + 64))
    if memory == NULL:
        return -1
    cdef floating* W_panel = <floating*>memory
    cdef floating* acc = W_panel + panel          # n_chunks dW panels
    cdef double* col_sums = <double*>(acc + panel * n_chunks)
    cdef char* scratch_base = <char*>(col_sums + n_chunks * n_classes)
    cdef Py_ssize_t chunk, start, stop, rows, next_rows, i, j, d0, d1
    cdef char* scratch
    cdef floating* S
    cdef floating* rows_x
    cdef const floating* block_x
    cdef Py_ssize_t block_ld
    cdef floating* chunk_acc
    cdef double* chunk_sums
    cdef double total_sum

    if floating is float:
        kern.pack_w_f32(W, w_rs, w_cs, n_features, n_classes, W_panel)
    else:
        kern.pack_w_f64(W, w_rs, w_cs, n_features, n_classes, W_panel)

    for chunk in prange(n_chunks, schedule="dynamic", chunksize=1, num_threads=team):
        scratch = <char*>align64(scratch_base + threadid() * (per_thread + 64))
        S = <floating*>(scratch + per_thread - block_rows * n_classes * itemsize)
        rows_x = <floating*>(<char*>S - gathered)
        chunk_acc = acc + chunk * panel
        chunk_sums = col_sums + chunk * n_classes
        for j in range(n_classes):
            chunk_sums[j] = 0.0
        start = chunk * chunk_rows
        stop = min(n_samples, start + chunk_rows)
        while start < stop:
            rows = min(block_rows, stop - start)
            block_x = X + start * x_rs
            block_ld = x_rs
            if gather:
                for j in range(n_features):
                    for i in range(rows):
                        rows_x[i * n_features + j] = block_x[i * x_rs + j * x_cs]
                block_x = rows_x
                block_ld = n_features
            if floating is float:
                kern.scores_f32(block_x, block_ld, rows, n_features, W_panel,
                                n_classes, S, scratch)
            else:
                kern.scores_f64(block_x, block_ld, rows, n_features, W_panel,
                                n_classes, S, scratch)
            if b != NULL:
                for i in range(rows):
                    for j in range(n_classes):
                        S[i * n_classes + j] = S[i * n_classes + j] + b[j]
            margin_pass(S, n_classes, 1, rows, n_classes, y + start, delta, p,
                        crammer_singer, NULL if sw == NULL else sw + start, cw,
                        denom, S, row_loss + start, 1)
            for i in range(rows):
                for j in range(n_classes):
                    chunk_sums[j] += S[i * n_classes + j]
            # The chunk's first block starts its dW panel: no zeroing pass.
            # Its next block (if any, and read in place) is prefetched.
            next_rows = 0 if gather else min(block_rows, stop - start - rows)
            if floating is float:
                kern.grad_f32(rows, n_features, S, n_classes, chunk_acc,
                              start == chunk * chunk_rows,
                              X + (start + rows) * x_rs if next_rows > 0 else NULL,
                              x_rs, next_rows, scratch)
            else:
                kern.grad_f64(rows, n_features, S, n_classes, chunk_acc,
                              start == chunk * chunk_rows,
                              X + (start + rows) * x_rs if next_rows > 0 else NULL,
                              x_rs, next_rows, scratch)
            start = start + rows  # (`+=` would make it a prange reduction)

    # dW from the chunk panels, split over D (each entry's sum is the same
    # whichever thread computes it).
    for chunk in prange(team, schedule="static", num_threads=team):
        d0 = n_features * chunk // team
        d1 = n_features * (chunk + 1) // team
        if floating is float:
            kern.finish_f32(acc, n_chunks, panel, n_classes, d0, d1, dW, keep_dW)
        else:
            kern.finish_f64(acc, n_chunks, panel, n_classes, d0, d1, dW, keep_dW)

    if db != NULL:
        for j in range(n_classes):
            total_sum = col_sums[j]
            for chunk in range(1, n_chunks):
                total_sum = total_sum + col_sums[chunk * n_classes + j]
            db[j] = <floating>(db[j] + total_sum) if add_db else <floating>total_sum
    fewclass_workspace_give(memory)
    return 0


# --- 4. entry points (called by maxmargin.hinge) ---------------------------

class LabelError(ValueError):
    """A label outside [0, C): `index` is the first offending position.

    The kernels check labels before writing anything (they read them anyway);
    maxmargin._validation turns this into the user-facing message."""

    def __init__(self, index):
        super().__init__(index)
        self.index = index


cdef inline const double* optional_ptr(const double[::1] a) noexcept nogil:
    """Data pointer of an optional weight vector; NULL for None (or empty)."""
    if a is None or a.shape[0] == 0:
        return NULL
    return &a[0]


def multiclass_hinge_kernel(
        const floating[:, :] scores, const Py_ssize_t[::1] y, double delta,
        int p, bint crammer_singer, const double[::1] sample_weight,
        const double[::1] class_weight, double denom,
        floating[:, ::1] dscores, double[::1] row_loss, int n_threads):
    """Fill dscores (N, C) with d(loss)/d(scores) and row_loss (N,) with the
    weighted per-sample losses; return their sum divided by denom.

    scores may have any element strides; dscores may be scores itself.
    """
    cdef Py_ssize_t n_samples = scores.shape[0], n_classes = scores.shape[1]
    cdef double total = 0.0
    if n_samples == 0:
        return 0.0
    cdef Py_ssize_t bad = first_out_of_range(&y[0], n_samples, n_classes)
    if bad >= 0:
        raise LabelError(bad)
    cdef Py_ssize_t itemsize = sizeof(floating)
    cdef Py_ssize_t row_stride = scores.strides[0] // itemsize
    cdef Py_ssize_t col_stride = scores.strides[1] // itemsize
    cdef const double* sw = optional_ptr(sample_weight)
    cdef const double* cw = optional_ptr(class_weight)
    with nogil:
        margin_pass(&scores[0, 0], row_stride, col_stride, n_samples, n_classes,
                    &y[0], <floating>delta, p, crammer_singer, sw, cw, denom,
                    &dscores[0, 0], &row_loss[0], n_threads)
        total = pairwise_sum(&row_loss[0], n_samples)
    return total / denom


def svm_loss_kernel(
        const floating[:, :] W, const floating[:, :] X, const Py_ssize_t[::1] y,
        const floating[::1] b, double reg, double delta, int p,
        bint crammer_singer, const double[::1] sample_weight,
        const double[::1] class_weight, double denom,
        floating[:, ::1] dW, floating[::1] db, bint add_dW, bint add_db, int n_threads,
        int margin_threads):
    """CS231n's fused SVM loss from features; returns the loss.

    The typed-memoryview face of `svm_loss_run`, for arguments of any
    BLAS-servable strides that maxmargin.hinge has validated (and copied
    where needed).
    """
    cdef Py_ssize_t itemsize = sizeof(floating)
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    return svm_loss_run[floating](
        NULL if n_features == 0 else &W[0, 0], W.strides[0] // itemsize,
        W.strides[1] // itemsize,
        NULL if n_samples == 0 or n_features == 0 else &X[0, 0],
        X.strides[0] // itemsize, X.strides[1] // itemsize,
        n_samples, n_features, W.shape[1], NULL if n_samples == 0 else &y[0],
        NULL if b is None else &b[0], reg, delta, p, crammer_singer,
        optional_ptr(sample_weight), optional_ptr(class_weight), denom,
        NULL if n_features == 0 else &dW[0, 0], NULL if db is None else &db[0],
        add_dW, add_db, n_threads, margin_threads)


cdef inline bint plain_array(object a, int ndim, int typenum) noexcept:
    """`a` is exactly an ndarray with `ndim` dims of type `typenum`, in native
    byte order, aligned, and C- or Fortran-contiguous: what the kernels read
    in place, as maxmargin._validation would let it through unchanged."""
    if not cnp.PyArray_CheckExact(a):
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>a
    return (cnp.PyArray_NDIM(arr) == ndim and cnp.PyArray_TYPE(arr) == typenum
            and cnp.PyArray_ISNOTSWAPPED(arr) and cnp.PyArray_ISALIGNED(arr)
            and (cnp.PyArray_IS_C_CONTIGUOUS(arr) or cnp.PyArray_IS_F_CONTIGUOUS(arr)))


cdef inline bint plain_scalar(object value) noexcept:
    """`value` is a Python float in [0, inf), as reg and delta must be."""
    return type(value) is float and 0.0 <= <double>value < INFINITY


def svm_loss_common(W, X, y, b, reg, delta, p, kind, reduction, int usable_cpus):
    """`svm_loss` for the call most code makes, validated in a few C reads.

    At small shapes maxmargin._validation's generic checks (attribute
    lookups, memoryview acquisition) are most of a call's cost; here the same
    questions are a handful of loads from the array structs. Handles W (D, C)
    and X (N, D), exactly ndarrays of one float dtype, native, aligned, in C
    or Fortran order, with C >= 1 and every dimension within BLAS's int; y a
    contiguous intp array (N,); b None or a contiguous (C,) array of W's
    dtype; reg and delta Python floats in [0, inf); p the int 1 or 2; kind
    and reduction strings svm_loss knows; no weights, out buffers,
    accumulate or n_threads (threads: the default, OpenMP's team capped at
    `usable_cpus`).

    Returns what svm_loss returns, (loss, dW) or (loss, dW, db), or None for
    any other call: maxmargin.hinge then takes the general path, which
    converts what needs converting and words every error. Labels outside
    [0, C) raise LabelError, as from svm_loss_kernel.
    """
    if not (cnp.PyArray_CheckExact(W) and cnp.PyArray_CheckExact(X)):
        return None
    cdef cnp.ndarray w_arr = <cnp.ndarray>W, x_arr = <cnp.ndarray>X
    cdef int typenum = cnp.PyArray_TYPE(w_arr)
    if typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE:
        return None
    if not (plain_array(w_arr, 2, typenum) and plain_array(x_arr, 2, typenum)):
        return None
    cdef Py_ssize_t n_samples = cnp.PyArray_DIMS(x_arr)[0]
    cdef Py_ssize_t n_features = cnp.PyArray_DIMS(x_arr)[1]
    cdef Py_ssize_t n_classes = cnp.PyArray_DIMS(w_arr)[1]
    if (cnp.PyArray_DIMS(w_arr)[0] != n_features or n_classes == 0
            or max(n_samples, n_features, n_classes) > INT_MAX):  # BLAS's int
        return None
    if not (plain_array(y, 1, cnp.NPY_INTP)
            and cnp.PyArray_DIMS(<cnp.ndarray>y)[0] == n_samples):
        return None
    if b is not None and not (plain_array(b, 1, typenum)
                              and cnp.PyArray_DIMS(<cnp.ndarray>b)[0] == n_classes):
        return None
    if not (plain_scalar(reg) and plain_scalar(delta) and type(p) is int
            and (p == 1 or p == 2) and type(kind) is str and type(reduction) is str):
        return None
    cdef bint crammer_singer
    if kind == "weston_watkins":
        crammer_singer = False
    elif kind == "crammer_singer":
        crammer_singer = True
    else:
        return None
    cdef double denom
    if reduction == "mean":
        denom = <double>max(n_samples, 1)
    elif reduction == "sum":
        denom = 1.0
    else:
        return None

    cdef cnp.npy_intp shape[2]
    shape[0] = n_features
    shape[1] = n_classes
    cdef cnp.ndarray dW = cnp.PyArray_EMPTY(2, shape, typenum, 0)
    cdef cnp.ndarray db = None
    if b is not None:
        db = cnp.PyArray_EMPTY(1, &shape[1], typenum, 0)
    cdef int threads = min(omp_get_max_threads(), usable_cpus)
    cdef cnp.npy_intp* w_strides = cnp.PyArray_STRIDES(w_arr)
    cdef cnp.npy_intp* x_strides = cnp.PyArray_STRIDES(x_arr)
    cdef const Py_ssize_t* labels = <const Py_ssize_t*>cnp.PyArray_DATA(<cnp.ndarray>y)
    cdef double loss
    if typenum == cnp.NPY_FLOAT:
        loss = svm_loss_run[float](
            <const float*>cnp.PyArray_DATA(w_arr), w_strides[0] // 4, w_strides[1] // 4,
            <const float*>cnp.PyArray_DATA(x_arr), x_strides[0] // 4, x_strides[1] // 4,
            n_samples, n_features, n_classes, labels,
            NULL if b is None else <const float*>cnp.PyArray_DATA(<cnp.ndarray>b),
            reg, delta, p, crammer_singer, NULL, NULL, denom,
            <float*>cnp.PyArray_DATA(dW),
            NULL if db is None else <float*>cnp.PyArray_DATA(db),
            False, False, threads, 1)
    else:
        loss = svm_loss_run[double](
            <const double*>cnp.PyArray_DATA(w_arr), w_strides[0] // 8, w_strides[1] // 8,
            <const double*>cnp.PyArray_DATA(x_arr), x_strides[0] // 8, x_strides[1] // 8,
            n_samples, n_features, n_classes, labels,
            NULL if b is None else <const double*>cnp.PyArray_DATA(<cnp.ndarray>b),
            reg, delta, p, crammer_singer, NULL, NULL, denom,
            <double*>cnp.PyArray_DATA(dW),
            NULL if db is None else <double*>cnp.PyArray_DATA(db),
            False, False, threads, 1)
    if b is None:
        return loss, dW
    return loss, dW, db


cdef inline bint class_vector_range_holds(Py_ssize_t n_classes, bint single) noexcept nogil:
    """Whether C is in the class-vector range of the active path (or its
    overrides), for float32 (single) or float64."""
    cdef Py_ssize_t low = (CLASSVEC_MIN_CLASSES if CLASSVEC_MIN_CLASSES >= 0
                           else CLASSVEC_PATH_MIN_CLASSES)
    cdef Py_ssize_t high
    if single:
        high = CLASSVEC_MAX_CLASSES if CLASSVEC_MAX_CLASSES >= 0 else CLASSVEC_PATH_MAX_CLASSES
    else:
        high = (CLASSVEC_MAX_CLASSES_F64 if CLASSVEC_MAX_CLASSES_F64 >= 0
                else CLASSVEC_PATH_MAX_CLASSES_F64)
    return low <= n_classes <= high


cdef double svm_loss_run(
        const floating* w_ptr, Py_ssize_t w_rs, Py_ssize_t w_cs,
        const floating* x_ptr, Py_ssize_t x_rs, Py_ssize_t x_cs,
        Py_ssize_t n_samples, Py_ssize_t n_features, Py_ssize_t n_classes,
        const Py_ssize_t* y, const floating* b_ptr, double reg, double delta, int p,
        bint crammer_singer, const double* sw, const double* cw, double denom,
        floating* dW_ptr, floating* db_ptr, bint add_dW, bint add_db, int n_threads,
        int margin_threads) except? -1:
    """CS231n's fused SVM loss from features; returns the loss.

    W (D, C) and X (N, D) are given by pointer and element strides (any
    BLAS-servable ones); y (N,), b (C,) or NULL, the weights (NULL: none),
    dW (D, C) and db (C,) or NULL are contiguous. Pointers of empty arrays
    may be NULL.

    With few classes and enough rows (FEWCLASS_MAX_CLASSES, FEWCLASS_MIN_ROWS):
    one pass over X in row blocks by the SIMD micro-kernels, on n_threads
    threads (`few_class_pass`). Otherwise, for each block of rows:
    S = X_b W + b by one GEMM into a scratch block,
    the margin pass turns S into G = dL/dS in place, and dW += X_b^T G by one
    more GEMM while X_b is still in cache (a single block unless C is small
    and X large, see BLOCK_BYTES). dW starts from 2 reg W (plus its old value
    with add_dW); db gets (with add_db: gains) the column sums of G,
    accumulated in float64; the margin pass runs on margin_threads threads.
    Labels outside [0, C) raise LabelError before anything is written.
    """
    cdef Py_ssize_t itemsize = sizeof(floating)
    cdef const double* block_sw = NULL
    cdef floating* S = NULL
    cdef floating* dW_t = NULL  # (C, D) scratch for the fast dW orientation
    cdef double* row_loss = NULL
    cdef double* col_sum = NULL
    cdef double total = 0.0, sum_sq = 0.0
    cdef floating two_reg = <floating>(2.0 * reg)
    cdef floating beta
    cdef bint keep_dW  # dW holds 2 reg W and/or its old value, to be added to
    cdef Py_ssize_t i, j, start, rows, block_rows = n_samples
    cdef bint transposed_dW = (n_classes <= TRANSPOSED_DW_MAX_CLASSES and n_features > 0
                               and n_samples >= TRANSPOSED_DW_MIN_ROWS)
    if floating is float:
        transposed_dW = (transposed_dW and n_samples >= TRANSPOSED_DW_F32_MIN_ROWS
                         and (TRANSPOSED_DW_F32 == 1 if TRANSPOSED_DW_F32 >= 0
                              else TRANSPOSED_DW_F32_PATH))
    cdef bint column_scores = False
    cdef floating* S_t = NULL   # (C, N): S^T, for column_scores
    cdef floating* scores       # what the margin pass reads: S or S_t
    cdef Py_ssize_t s_rs, s_cs

    cdef Py_ssize_t bad = -1
    if n_samples > 0:
        bad = first_out_of_range(y, n_samples, n_classes)
    if bad >= 0:
        raise LabelError(bad)
    cdef int status = 0
    cdef const fewclass_kernels* single_pass = NULL
    cdef Py_ssize_t single_pass_block = 0
    if n_samples > 0 and n_features > 0:
        if (CLASSVEC != NULL and n_samples >= CLASSVEC_MIN_ROWS
                and class_vector_range_holds(n_classes, itemsize == sizeof(float))):
            single_pass, single_pass_block = CLASSVEC, CLASSVEC_BLOCK_BYTES
        elif n_classes <= FEWCLASS_MAX_CLASSES and n_samples >= FEWCLASS_MIN_ROWS:
            single_pass = fewclass_active()
            single_pass_block = (FEWCLASS_BLOCK_BYTES if FEWCLASS_BLOCK_BYTES >= 0
                                 else FEWCLASS_PATH_BLOCK_BYTES)
    if single_pass != NULL:
        row_loss = <double*>malloc(n_samples * sizeof(double))
        if row_loss == NULL:
            raise MemoryError("svm_loss: cannot allocate the row losses")
        with nogil:
            keep_dW = add_dW
            if reg != 0:
                sum_sq = add_l2_gradient(w_ptr, w_rs, w_cs, n_features, n_classes,
                                         two_reg, add_dW, dW_ptr)
                keep_dW = True
            status = few_class_pass(x_ptr, x_rs, x_cs, w_ptr, w_rs, w_cs, b_ptr, n_samples,
                                    n_features, n_classes, y, <floating>delta, p,
                                    crammer_singer, sw, cw, denom, dW_ptr, keep_dW,
                                    db_ptr, add_db, row_loss, n_threads, single_pass,
                                    single_pass_block)
            if status == 0:
                total = pairwise_sum(row_loss, n_samples)
        free(row_loss)
        if status != 0:
            raise MemoryError("svm_loss: cannot allocate the single pass's scratch")
        return total / denom + reg * sum_sq

    # float64 with many rows a class: S^T by one whole-batch GEMM, rather
    # than row blocks (whose GEMMs, of a few hundred rows, gain nothing from
    # it). Measured on the AVX-512 machine, interleaved, N = 4096, D = 3073:
    # C = 32 22.0 ms blocked -> 18.4, C = 64 36.7 -> 31.6, C = 100 (never
    # blocked) 51.7 -> 43.7.
    column_scores = (floating is double and COLUMN_SCORES and n_features > 0
                     and n_samples >= COLUMN_SCORES_MIN_ROWS
                     and n_samples >= COLUMN_SCORES_ROW_RATIO * n_classes)
    if (not column_scores and n_classes <= BLOCKED_MAX_CLASSES and n_features > 0
            and n_samples * n_features * itemsize > BLOCKING_MIN_BYTES):
        block_rows = max(<Py_ssize_t>8, BLOCK_BYTES // (n_features * itemsize))
    # One scratch block from the cached workspace (fewclass.h), doubles
    # first: the row losses (N), db's column sums (C), then the score block
    # (with column_scores, S^T and then G), and the transposed dW. Four
    # mallocs were ~2,500 instructions a call.
    cdef Py_ssize_t n_doubles = n_samples + (n_classes if db_ptr != NULL else 0)
    cdef Py_ssize_t n_scores = block_rows * n_classes if n_samples > 0 else 0
    cdef Py_ssize_t n_transposed = n_classes * n_features if transposed_dW else 0
    cdef char* scratch = <char*>fewclass_workspace_take(
        n_doubles * sizeof(double)
        + ((2 if column_scores else 1) * n_scores + n_transposed) * sizeof(floating))
    if scratch == NULL:
        raise MemoryError("svm_loss: cannot allocate the scratch score block")
    row_loss = <double*>scratch
    if db_ptr != NULL:
        col_sum = row_loss + n_samples
    S = <floating*>(row_loss + n_doubles)
    if column_scores:
        S_t = S + n_scores
    if transposed_dW:
        dW_t = S + (2 if column_scores else 1) * n_scores

    with nogil:
        # dW starts as 0, 2 reg W, dW or dW + 2 reg W; the GEMMs add to it.
        beta = 1 if add_dW else 0
        if reg != 0 and n_features > 0:
            sum_sq = add_l2_gradient(w_ptr, w_rs, w_cs, n_features, n_classes,
                                     two_reg, add_dW, dW_ptr)
            beta = 1
        keep_dW = beta == 1
        if col_sum != NULL:
            for j in range(n_classes):
                col_sum[j] = 0.0
        if n_samples == 0:
            gemm(n_features, n_classes, 0, 1, x_ptr, x_cs, x_rs, S, n_classes, 1,
                 beta, dW_ptr, n_classes)

        start = 0
        while start < n_samples:
            rows = min(block_rows, n_samples - start)
            if sw != NULL:
                block_sw = sw + start
            # Scores. With a bias the block starts as rows of b and the GEMM
            # adds into it (beta = 1); BLAS would otherwise spend the same
            # pass zeroing it. With column_scores they are S^T (C, N) =
            # W^T X^T, read by the margin pass with a stride into G = S's
            # scratch.
            if column_scores:
                scores, s_rs, s_cs = S_t, 1, rows
            else:
                scores, s_rs, s_cs = S, n_classes, 1
            if b_ptr != NULL:
                for i in range(rows):
                    for j in range(n_classes):
                        scores[i * s_rs + j * s_cs] = b_ptr[j]
            if column_scores:
                gemm(n_classes, rows, n_features, 1, w_ptr, w_cs, w_rs,
                     x_ptr + start * x_rs, x_cs, x_rs, 1 if b_ptr != NULL else 0,
                     S_t, rows)
            else:
                gemm(rows, n_classes, n_features, 1, x_ptr + start * x_rs, x_rs, x_cs,
                     w_ptr, w_rs, w_cs, 1 if b_ptr != NULL else 0, S, n_classes)
            margin_pass(scores, s_rs, s_cs, rows, n_classes, y + start,
                        <floating>delta, p, crammer_singer, block_sw, cw, denom,
                        S, row_loss + start, margin_threads)
            # db: column sums of G, in float64 whatever the dtype.
            if col_sum != NULL:
                for i in range(rows):
                    for j in range(n_classes):
                        col_sum[j] += S[i * n_classes + j]
            # dW += X_b^T G, while X_b is still in cache.
            if transposed_dW:
                # dW_t (C, D) (+)= G^T X_b: BLAS sees M = D.
                gemm(n_classes, n_features, rows, 1, S, 1, n_classes,
                     x_ptr + start * x_rs, x_rs, x_cs, 0 if start == 0 else 1,
                     dW_t, n_features)
            else:
                gemm(n_features, n_classes, rows, 1, x_ptr + start * x_rs, x_cs, x_rs,
                     S, n_classes, 1, beta, dW_ptr, n_classes)
                beta = 1
            start += rows

        if transposed_dW:
            for i in range(n_features):
                for j in range(n_classes):
                    if keep_dW:
                        dW_ptr[i * n_classes + j] += dW_t[j * n_features + i]
                    else:
                        dW_ptr[i * n_classes + j] = dW_t[j * n_features + i]

        if db_ptr != NULL:
            for j in range(n_classes):
                if add_db:
                    db_ptr[j] = <floating>(db_ptr[j] + col_sum[j])
                else:
                    db_ptr[j] = <floating>col_sum[j]
        if n_samples > 0:
            total = pairwise_sum(row_loss, n_samples)

    fewclass_workspace_give(scratch)
    return total / denom + reg * sum_sq


def ranking_hinge_kernel(
        const floating[:] s, const floating[:, :] s_c, double delta, int p,
        const double[::1] sample_weight, double denom, floating[::1] ds,
        floating[:, ::1] ds_c, floating[::1] row_loss, bint add_ds, bint add_ds_c,
        int n_threads):
    """CS224d's max-margin ranking loss over N true scores s (N,) and their K
    corrupted scores s_c (N, K), both with any element strides; returns the
    weighted sum of J_i divided by denom.

    Fills (or with add_ds/add_ds_c adds into) ds (N,) and ds_c (N, K); row_loss
    (N,), when given, receives each w_i J_i. Rows are processed in blocks of
    about RANKING_BLOCK_PAIRS pairs (in parallel when the pass is large),
    each block's loss summed in row order and the block sums pairwise:
    identical for any `n_threads`. Contiguous s with C-contiguous s_c take
    the flat kernels of ranking_flat.h where they apply (p = 1, no weights,
    no accumulation, no per-row losses, K <= RANKING_FLAT_MAX_K, the AVX2 or
    AVX-512 path), else the vector rows of ranking_rows.h; other strides
    the scalar rows, with per-thread scratch.
    """
    cdef Py_ssize_t n = s.shape[0], n_corrupt = s_c.shape[1]
    cdef Py_ssize_t item = sizeof(floating)
    cdef Py_ssize_t block_rows = max(RANKING_BLOCK_ALIGN_ROWS,
        RANKING_BLOCK_PAIRS // max(n_corrupt, <Py_ssize_t>1)
        // RANKING_BLOCK_ALIGN_ROWS * RANKING_BLOCK_ALIGN_ROWS)
    cdef Py_ssize_t n_blocks = (n + block_rows - 1) // block_rows, blk
    cdef Py_ssize_t scratch_len = max(<Py_ssize_t>1, block_rows * n_corrupt)
    cdef Py_ssize_t s_stride, c_rs, c_cs
    cdef const floating* c_ptr = NULL
    cdef floating* dc_ptr = NULL
    cdef floating* loss_ptr = NULL
    cdef const double* sw = optional_ptr(sample_weight)
    cdef double* block_loss
    cdef double* scratch = NULL  # per thread: terms, then slopes
    cdef double total
    cdef int team
    cdef bint contiguous, stream = False
    cdef ranking_flat_plan plan
    cdef const ranking_flat_plan* flat = NULL
    if n == 0:
        return 0.0
    s_stride = s.strides[0] // item
    c_rs = s_c.strides[0] // item
    c_cs = s_c.strides[1] // item
    if n_corrupt > 0:
        c_ptr = &s_c[0, 0]
        dc_ptr = &ds_c[0, 0]
    if row_loss is not None:
        loss_ptr = &row_loss[0]
    contiguous = (VECTOR_RANKING and n_corrupt >= 1 and s_stride == 1 and c_rs == n_corrupt
                  and (c_cs == 1 or n_corrupt <= 1)
                  and (floating is double or n_corrupt < RANKING_MAX_K_F32))
    if (contiguous and RANKING_FLAT != NULL and p == 1 and sw == NULL and not add_ds
            and not add_ds_c and row_loss is None and n_corrupt <= RANKING_FLAT_MAX_K):
        ranking_flat_plan_init(&plan, n_corrupt, RANKING_FLAT.lanes_f32 if floating is float
                               else RANKING_FLAT.lanes_f64, delta, denom)
        flat = &plan
        stream = (n * n_corrupt * item >= RANKING_STREAM_MIN_BYTES
                  and <uintptr_t>dc_ptr % RANKING_FLAT_STREAM_ALIGN == 0)
    team = n_threads if n_threads > 1 and n * (n_corrupt + 1) >= PARALLEL_MIN_ELEMENTS else 1
    block_loss = <double*>malloc(n_blocks * sizeof(double))
    if not contiguous:
        scratch = <double*>malloc(team * 2 * scratch_len * sizeof(double))
    if block_loss == NULL or (scratch == NULL and not contiguous):
        free(block_loss)
        free(scratch)
        raise MemoryError("ranking_hinge: cannot allocate the block scratch")
    with nogil:
        if team > 1:
            for blk in prange(n_blocks, schedule="static", num_threads=team):
                block_loss[blk] = ranking_block(
                    &s[0], s_stride, c_ptr, c_rs, c_cs, n_corrupt, <floating>delta, p,
                    sw, denom, &ds[0], dc_ptr, loss_ptr, add_ds, add_ds_c,
                    blk * block_rows, min(n, (blk + 1) * block_rows), contiguous,
                    scratch, scratch_len, threadid(), flat, stream)
        else:
            for blk in range(n_blocks):
                block_loss[blk] = ranking_block(
                    &s[0], s_stride, c_ptr, c_rs, c_cs, n_corrupt, <floating>delta, p,
                    sw, denom, &ds[0], dc_ptr, loss_ptr, add_ds, add_ds_c,
                    blk * block_rows, min(n, (blk + 1) * block_rows), contiguous,
                    scratch, scratch_len, 0, flat, stream)
        total = pairwise_sum(block_loss, n_blocks)
    free(block_loss)
    free(scratch)
    return total / denom


def bare_gemms(W, X, S, dW):
    """The performance floor of `svm_loss`: S = X W and dW = X^T S, nothing else.

    The same BLAS calls on the same operands as `svm_loss_run`, for the
    benchmarks to divide by. W (D, C), X (N, D), S (N, C) and dW (D, C) are
    ndarrays of one float dtype in C or Fortran order (S and dW in C order),
    checked as `svm_loss_common` checks its arguments, so that at small
    shapes the floor pays no more per call than svm_loss's common call does
    (typed memoryviews would add about 1 us).
    """
    if not cnp.PyArray_CheckExact(W):
        raise TypeError("bare_gemms: W must be a float32 or float64 ndarray")
    cdef int typenum = cnp.PyArray_TYPE(<cnp.ndarray>W)
    if (typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE) or not (
            plain_array(W, 2, typenum) and plain_array(X, 2, typenum)
            and plain_array(S, 2, typenum) and plain_array(dW, 2, typenum)
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>S)
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>dW)):
        raise TypeError("bare_gemms: W, X, S and dW must be plain 2-D arrays of one "
                        "float dtype (S and dW C-contiguous)")
    cdef cnp.npy_intp* x_shape = cnp.PyArray_DIMS(<cnp.ndarray>X)
    cdef cnp.npy_intp* w_shape = cnp.PyArray_DIMS(<cnp.ndarray>W)
    cdef Py_ssize_t n = x_shape[0], d = x_shape[1], c = w_shape[1]
    if (w_shape[0] != d or cnp.PyArray_DIMS(<cnp.ndarray>S)[0] != n
            or cnp.PyArray_DIMS(<cnp.ndarray>S)[1] != c
            or cnp.PyArray_DIMS(<cnp.ndarray>dW)[0] != d
            or cnp.PyArray_DIMS(<cnp.ndarray>dW)[1] != c):
        raise ValueError("bare_gemms: shapes must be W (D, C), X (N, D), S (N, C), dW (D, C)")
    cdef cnp.npy_intp* w_strides = cnp.PyArray_STRIDES(<cnp.ndarray>W)
    cdef cnp.npy_intp* x_strides = cnp.PyArray_STRIDES(<cnp.ndarray>X)
    cdef Py_ssize_t item = 4 if typenum == cnp.NPY_FLOAT else 8
    cdef void* w_ptr = cnp.PyArray_DATA(<cnp.ndarray>W)
    cdef void* x_ptr = cnp.PyArray_DATA(<cnp.ndarray>X)
    cdef void* s_ptr = cnp.PyArray_DATA(<cnp.ndarray>S)
    cdef void* dw_ptr = cnp.PyArray_DATA(<cnp.ndarray>dW)
    with nogil:
        if typenum == cnp.NPY_FLOAT:
            bare_gemms_run(<const float*>w_ptr, w_strides[0] // item, w_strides[1] // item,
                           <const float*>x_ptr, x_strides[0] // item, x_strides[1] // item,
                           n, d, c, <float*>s_ptr, <float*>dw_ptr)
        else:
            bare_gemms_run(<const double*>w_ptr, w_strides[0] // item, w_strides[1] // item,
                           <const double*>x_ptr, x_strides[0] // item, x_strides[1] // item,
                           n, d, c, <double*>s_ptr, <double*>dw_ptr)


cdef void bare_gemms_run(const floating* W, Py_ssize_t w_rs, Py_ssize_t w_cs,
                         const floating* X, Py_ssize_t x_rs, Py_ssize_t x_cs,
                         Py_ssize_t n, Py_ssize_t d, Py_ssize_t c, floating* S,
                         floating* dW) noexcept nogil:
    gemm(n, c, d, 1, X, x_rs, x_cs, W, w_rs, w_cs, 0, S, c)
    gemm(d, c, n, 1, X, x_cs, x_rs, S, c, 1, 0, dW, c)


# Lanes of the streaming read: enough independent sums (four 16-byte vectors
# of float32) that the adds never wait on each other and the loop runs at
# the speed of memory.
cdef enum:
    STREAMING_LANES = 16


def streaming_read(const floating[::1] s, const floating[:, ::1] s_c):
    """The performance floor of `ranking_hinge`: one pass reading s and s_c
    (both contiguous) on one thread, summing them in the data's dtype so the
    reads cannot be optimised away.

    Each array is summed in STREAMING_LANES independent lanes: with one
    running sum (as this floor first had) its chain of dependent adds, not
    memory, set the pace (s alone cost half the time in float32)."""
    cdef floating lanes[STREAMING_LANES]
    cdef Py_ssize_t k
    for k in range(STREAMING_LANES):
        lanes[k] = 0
    with nogil:
        streaming_sum(&s[0] if s.shape[0] > 0 else NULL, s.shape[0], lanes)
        streaming_sum(&s_c[0, 0] if s_c.shape[0] * s_c.shape[1] > 0 else NULL,
                      s_c.shape[0] * s_c.shape[1], lanes)
    cdef double total = 0.0
    for k in range(STREAMING_LANES):
        total += lanes[k]
    return total


cdef inline void streaming_sum(const floating* x, Py_ssize_t n,
                               floating* lanes) noexcept nogil:
    cdef Py_ssize_t i = 0, k
    while i + STREAMING_LANES <= n:
        for k in range(STREAMING_LANES):
            lanes[k] += x[i + k]
        i += STREAMING_LANES
    while i < n:
        lanes[0] += x[i]
        i += 1


# --- 5. the instruction set of the few-classes micro-kernels ---------------

def _compiled_paths():
    """The micro-kernel paths compiled into this build, best first."""
    cdef const char* const* names = fewclass_compiled_paths()
    cdef Py_ssize_t i = 0
    found = []
    while names[i] != NULL:
        found.append(names[i].decode())
        i += 1
    return found


def simd_paths():
    """The micro-kernel paths compiled into this build that this CPU can
    run, best first (e.g. ["avx2", "baseline"])."""
    return [name for name in _compiled_paths() if fewclass_cpu_supports(name.encode())]


def class_vector_paths():
    """The paths of simd_paths() that have the class-vector kernels of
    svm_loss's single pass above the few classes (classvec.h)."""
    return [name for name in simd_paths() if classvec_for(name.encode()) != NULL]


def simd_path():
    """The name of the micro-kernel path in use."""
    return fewclass_active().name.decode()


def select_simd_path(name):
    """Use the named micro-kernel path ("auto": the best this CPU runs).

    Process-wide; not meant to be changed while kernels run in other threads
    (a call in flight keeps the path it started with). Raises ValueError for
    a name not compiled in or a path this CPU cannot run."""
    if not isinstance(name, str):
        raise TypeError(f"SIMD path: expected a str, got {type(name).__name__}")
    global RANKING_FLAT, CLASSVEC, CLASSVEC_PATH_MIN_CLASSES, CLASSVEC_PATH_MAX_CLASSES
    global CLASSVEC_PATH_MAX_CLASSES_F64, TRANSPOSED_DW_F32_PATH, FEWCLASS_PATH_BLOCK_BYTES
    status = fewclass_select(name.encode())
    RANKING_FLAT = ranking_flat_for(fewclass_active().name)
    CLASSVEC = classvec_for(fewclass_active().name)
    (CLASSVEC_PATH_MIN_CLASSES, CLASSVEC_PATH_MAX_CLASSES,
     CLASSVEC_PATH_MAX_CLASSES_F64) = CLASSVEC_RANGES.get(simd_path(), (0, 0, 0))
    TRANSPOSED_DW_F32_PATH = simd_path() != "avx512"
    FEWCLASS_PATH_BLOCK_BYTES = FEWCLASS_BLOCK_BYTES_BY_PATH[simd_path()]
    if status == -1:
        raise ValueError(f"unknown SIMD path {name!r}: expected 'auto' or one of "
                         f"{', '.join(_compiled_paths())}")
    if status == -2:
        raise ValueError(f"SIMD path {name!r} cannot run on this CPU; it runs: "
                         f"{', '.join(simd_paths())}")


def few_class_limits(max_classes=None, min_rows=None, block_bytes=None,
                     chunk_min_rows=None):
    """When svm_loss takes the single pass (C <= max_classes and N >=
    min_rows), the bytes of X in its row blocks, and the fewest rows a chunk
    (one dW accumulator) may have. block_bytes overrides the SIMD path's
    own (FEWCLASS_BLOCK_BYTES_BY_PATH); -1 gives it back. Returns the
    (max_classes, min_rows, block_bytes, chunk_min_rows) in force before the
    call (block_bytes -1 where the path's own) and sets the ones given. For
    the tests and benchmarks, which run both paths on the same problems;
    process-wide, like select_simd_path."""
    global FEWCLASS_MAX_CLASSES, FEWCLASS_MIN_ROWS, FEWCLASS_BLOCK_BYTES
    global FEWCLASS_CHUNK_MIN_ROWS
    before = (FEWCLASS_MAX_CLASSES, FEWCLASS_MIN_ROWS, FEWCLASS_BLOCK_BYTES,
              FEWCLASS_CHUNK_MIN_ROWS)
    if max_classes is not None:
        FEWCLASS_MAX_CLASSES = max_classes
    if min_rows is not None:
        FEWCLASS_MIN_ROWS = min_rows
    if block_bytes is not None:
        FEWCLASS_BLOCK_BYTES = block_bytes
    if chunk_min_rows is not None:
        FEWCLASS_CHUNK_MIN_ROWS = chunk_min_rows
    return before


def class_vector_limits(max_classes=None, min_rows=None, block_bytes=None,
                        max_classes_f64=None, min_classes=None):
    """When svm_loss takes the single pass by the class-vector kernels
    (min_classes <= C <= max_classes, or max_classes_f64 in float64, and
    N >= min_rows, on a path that has them; before the few-classes kernels)
    and the bytes of X in its row blocks. The class bounds override the
    active path's range (CLASSVEC_RANGES, `class_vector_ranges`); -1 gives
    a bound back to the path. Returns the (max_classes, min_rows,
    block_bytes, max_classes_f64, min_classes) in force before the call (-1
    where the path's own) and sets the ones given. For the tests and
    benchmarks; process-wide."""
    global CLASSVEC_MAX_CLASSES, CLASSVEC_MIN_ROWS, CLASSVEC_BLOCK_BYTES
    global CLASSVEC_MAX_CLASSES_F64, CLASSVEC_MIN_CLASSES
    before = (CLASSVEC_MAX_CLASSES, CLASSVEC_MIN_ROWS, CLASSVEC_BLOCK_BYTES,
              CLASSVEC_MAX_CLASSES_F64, CLASSVEC_MIN_CLASSES)
    if min_classes is not None:
        CLASSVEC_MIN_CLASSES = min_classes
    if max_classes is not None:
        CLASSVEC_MAX_CLASSES = max_classes
    if min_rows is not None:
        CLASSVEC_MIN_ROWS = min_rows
    if block_bytes is not None:
        CLASSVEC_BLOCK_BYTES = block_bytes
    if max_classes_f64 is not None:
        CLASSVEC_MAX_CLASSES_F64 = max_classes_f64
    return before


def class_vector_ranges():
    """{path: (fewest classes, most in float32, most in float64)}: where
    svm_loss takes the class-vector kernels by default on each path that
    has them."""
    return {path: CLASSVEC_RANGES[path] for path in class_vector_paths()}


def gemm_limits(blocking_min_bytes=None, column_scores=None, transposed_dw_f32=None):
    """The two-GEMM path's choices: the bytes of X from which svm_loss works
    in row blocks (with at most BLOCKED_MAX_CLASSES classes), whether
    float64 may compute S^T = W^T X^T (column_scores), and whether float32
    computes dW through its (C, D) transpose as float64 does
    (transposed_dw_f32: 1 or 0; -1, the default, leaves it to the SIMD path).
    Returns the (blocking_min_bytes, column_scores, transposed_dw_f32) in
    force before the call and sets the ones given. For the tests and
    benchmarks; process-wide."""
    global BLOCKING_MIN_BYTES, COLUMN_SCORES, TRANSPOSED_DW_F32
    before = (BLOCKING_MIN_BYTES, COLUMN_SCORES, TRANSPOSED_DW_F32)
    if blocking_min_bytes is not None:
        BLOCKING_MIN_BYTES = blocking_min_bytes
    if column_scores is not None:
        COLUMN_SCORES = column_scores
    if transposed_dw_f32 is not None:
        TRANSPOSED_DW_F32 = int(transposed_dw_f32)
    return before


def _select_simd_path_from_environment():
    """MAXMARGIN_SIMD forces a path; unset or empty means "auto"."""
    import os
    name = os.environ.get("MAXMARGIN_SIMD", "").strip() or "auto"
    try:
        select_simd_path(name)
    except ValueError as error:
        raise ImportError(f"maxmargin: MAXMARGIN_SIMD={name}: {error}") from None


_select_simd_path_from_environment()
