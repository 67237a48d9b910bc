"""The ranking family's kernel: CS224d's max-margin ranking hinge of true
scores against corrupted ones (`maxmargin.ranking`'s twin).

Design
------
1. Scalar helpers (common/scalars.pxd): max(0, m) and its slope.
2. Row kernels compute a block of whole rows: the margins, their terms and
   slopes, each row's gradients and loss:
   - `ranking_rows`, any strides, through flat scratch so that its selects
     vectorise (`ranking_pair_terms`);
   - four rows to a vector for contiguous s and C-contiguous s_c
     (ranking_rows.h, the same arithmetic, so the same bits);
   - in the common case (p = 1, no weights, no accumulation, K <= 16) on the
     AVX2 and AVX-512 paths, flat runs of pairs (ranking_flat.h), their
     gradients the row kernels' bits, their loss summed in another order.
3. `ranking_block` picks the row kernel of a block; the array loop
   (`ranking_hinge_kernel`) runs the blocks, in a `prange` when the pass is
   large, each block's loss into its own slot, the slots summed pairwise:
   one order for every thread count (the blocks depend on K only).
4. The entry point `ranking_hinge_kernel` is called by maxmargin.ranking
   after it has validated and allocated everything; it releases the GIL
   for the whole computation.

maxmargin._dispatch sets the SIMD path (which flat kernels, if any) and the
tunables (`maxmargin._tunables`) through `_configure`.
"""

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.stdint cimport uintptr_t
from libc.stdlib cimport malloc, free

from common.pairwise_sum cimport pairwise_sum
from common.scalars cimport positive_part, unit_slope

# Blocks are whole groups of the flat kernels' rows (16 lanes at most):
# part of the kernels' shape, not a tunable.
cdef enum:
    BLOCK_ALIGN_ROWS = 16


# Rows of the ranking hinge in vectors whose lanes are rows, for contiguous
# s and C-contiguous s_c (ranking_rows.h; the same arithmetic as the scalar
# `ranking_rows` below, so the same bits).
cdef extern from "ranking/ranking_rows.h":
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
cdef extern from "ranking/ranking_flat.h" nogil:
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


# --- configuration: the SIMD path's kernels and the tunables ---------------

ctypedef struct RankingTunables:
    Py_ssize_t parallel_min_elements
    Py_ssize_t ranking_block_pairs
    Py_ssize_t ranking_stream_min_bytes

cdef RankingTunables TUNE
cdef bint CONFIGURED = False
# The flat kernels of the SIMD path in use, or NULL.
cdef const ranking_flat_kernels* RANKING_FLAT = NULL


def _configure(str path, dict tunables):
    """Use the flat kernels of SIMD path `path` (none on the baseline) and
    these tunables (a dict with every field of RankingTunables). Called by
    maxmargin._dispatch; process-wide."""
    global TUNE, RANKING_FLAT, CONFIGURED
    TUNE = tunables
    RANKING_FLAT = ranking_flat_for(path.encode())
    CONFIGURED = True


def _configuration():
    """The tunables in force, and the path of the flat kernels (or None)."""
    return (None if RANKING_FLAT == NULL else RANKING_FLAT.name.decode()), TUNE


# --- row kernels -------------------------------------------------------------

cdef void ranking_pair_terms(double* margin_term, double* slope, Py_ssize_t n,
                             int p) noexcept nogil:
    """Over a flat block of margins: margin_term[e] becomes max(0, m)^p and
    slope[e] its derivative. One straight loop per p, with nothing but
    selects: it vectorises, and a margin that falls either side of the kink
    at random costs no mispredicted branch (written per row, GCC turned the
    select into a branch, mispredicted on random scores)."""
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


# --- the entry point (called by maxmargin.ranking) ---------------------------

cdef inline const double* optional_ptr(const double[::1] a) noexcept nogil:
    """Data pointer of an optional weight vector; NULL for None (or empty)."""
    if a is None or a.shape[0] == 0:
        return NULL
    return &a[0]


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
    about ranking_block_pairs pairs (in parallel when the pass is large),
    each block's loss summed in row order and the block sums pairwise:
    identical for any `n_threads`. Contiguous s with C-contiguous s_c take
    the flat kernels of ranking_flat.h where they apply (p = 1, no weights,
    no accumulation, no per-row losses, K <= RANKING_FLAT_MAX_K, the AVX2 or
    AVX-512 path), else the vector rows of ranking_rows.h; other strides
    the scalar rows, with per-thread scratch.
    """
    cdef Py_ssize_t n = s.shape[0], n_corrupt = s_c.shape[1]
    cdef Py_ssize_t item = sizeof(floating)
    cdef Py_ssize_t block_rows = max(<Py_ssize_t>BLOCK_ALIGN_ROWS,
        TUNE.ranking_block_pairs // max(n_corrupt, <Py_ssize_t>1)
        // BLOCK_ALIGN_ROWS * BLOCK_ALIGN_ROWS)
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
    if not CONFIGURED:
        raise RuntimeError("maxmargin._ranking: used before maxmargin._dispatch configured it")
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
        stream = (n * n_corrupt * item >= TUNE.ranking_stream_min_bytes
                  and <uintptr_t>dc_ptr % RANKING_FLAT_STREAM_ALIGN == 0)
    team = (n_threads if n_threads > 1 and n * (n_corrupt + 1) >= TUNE.parallel_min_elements
            else 1)
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
