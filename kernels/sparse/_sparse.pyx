"""The sparse family's kernels: svm_loss and the linear layer's products
with X a CSR matrix (`maxmargin.sparse`'s twins), and the passes of
LinearSVMClassifier's solvers on a CSR X (SGD epoch, dual pass).

Design
------
1. Scalar and row helpers: the hinge family's (hinge/margin.pxd), so that a
   sparse call's margins and gradients are computed as a dense call's are.
2. Row kernels in C (csr_rows.h, every SIMD path): `gather` (a row's
   scores from the W rows its indices name, checking each index against
   D), and `scatter_rows` (a row's share of dW into the dW
   rows its indices name).
3. The pass over X, in blocks of rows: gather a block's scores, the margin
   pass turns them into its gradient rows G, then G goes into dW.
   - On one thread, block by block: each block's entries are scattered
     right after its margin pass, while they are in cache.
   - On a team: rows in chunks of about `sparse_chunk_entries` entries,
     in a pipeline of two stages over a double buffer of scores: at each
     step one thread scatters the chunk gathered at the step before (and
     adds its db sums), in row order as a single thread would, while the
     others gather and pass the next chunk in small blocks, which the
     scattering thread joins when it is done. The gathers of W rows and the
     scatter into dW rows run at once, and the scatter needs no split of D.
   Either way every dW element gains its terms in the order of the rows
   and, within a row, of the entries, by the same instruction, and db's
   float64 column sums run in row order: the bits are the same for every
   number of threads. The loss's row terms are summed pairwise over all N.
   Extra memory: the scores of a block, or of two chunks (at most
   `sparse_chunk_scores` elements each); N row losses; never an N x C
   array or a dense copy of X.
4. Entry points, called by maxmargin.sparse after validation: they trust
   their arguments except the labels' range and the column indices, which
   they check as they read them (LabelError, ColumnIndexError), and the
   structure of indptr (StructureError), checked first in one O(N) pass.
5. The estimator's passes use the same row kernels one row (or batch) at a
   time: SGD keeps W = scale * V so that a step writes only the rows of V
   its batch names; the dual pass keeps W = X^T (alpha * t) and updates a
   row's C classes from one gather and one scatter. Both are serial (each
   step needs the last) and are called on rows and labels the estimator
   built, the column indices checked first.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memset
from libc.math cimport INFINITY

from common.index_check cimport first_out_of_range
from common.pairwise_sum cimport pairwise_sum
from common.scalars cimport positive_part, unit_slope
from hinge.margin cimport margin_pass

cdef extern from "memory/memory_api.h":
    int mm_memory_import() except -1
    void* mm_memory_scratch_take(size_t bytes) nogil
    void mm_memory_scratch_give(void* scratch) nogil

mm_memory_import()

ctypedef fused index_t:
    int32_t
    int64_t

cdef extern from "sparse/csr_rows.h" nogil:
    ctypedef struct csr_kernels:
        const char* name
        Py_ssize_t (*gather_f32_i32)(const float*, const int32_t*, const int32_t*, Py_ssize_t,
                                     Py_ssize_t, const float*, Py_ssize_t, Py_ssize_t,
                                     const float*, float*, Py_ssize_t) noexcept nogil
        void (*scatter_rows_f32_i32)(const float*, const int32_t*, const int32_t*, Py_ssize_t,
                                     Py_ssize_t, const float*, Py_ssize_t, float*,
                                     Py_ssize_t) noexcept nogil
        Py_ssize_t (*gather_f32_i64)(const float*, const int64_t*, const int64_t*, Py_ssize_t,
                                     Py_ssize_t, const float*, Py_ssize_t, Py_ssize_t,
                                     const float*, float*, Py_ssize_t) noexcept nogil
        void (*scatter_rows_f32_i64)(const float*, const int64_t*, const int64_t*, Py_ssize_t,
                                     Py_ssize_t, const float*, Py_ssize_t, float*,
                                     Py_ssize_t) noexcept nogil
        Py_ssize_t (*gather_f64_i32)(const double*, const int32_t*, const int32_t*, Py_ssize_t,
                                     Py_ssize_t, const double*, Py_ssize_t, Py_ssize_t,
                                     const double*, double*, Py_ssize_t) noexcept nogil
        void (*scatter_rows_f64_i32)(const double*, const int32_t*, const int32_t*, Py_ssize_t,
                                     Py_ssize_t, const double*, Py_ssize_t, double*,
                                     Py_ssize_t) noexcept nogil
        Py_ssize_t (*gather_f64_i64)(const double*, const int64_t*, const int64_t*, Py_ssize_t,
                                     Py_ssize_t, const double*, Py_ssize_t, Py_ssize_t,
                                     const double*, double*, Py_ssize_t) noexcept nogil
        void (*scatter_rows_f64_i64)(const double*, const int64_t*, const int64_t*, Py_ssize_t,
                                     Py_ssize_t, const double*, Py_ssize_t, double*,
                                     Py_ssize_t) noexcept nogil
    const csr_kernels* csr_kernels_for(const char* path)

cdef extern from "hinge/l2_term.h" nogil:
    ctypedef struct l2_term_kernels:
        const char* name
        double (*f32)(const float* W, Py_ssize_t row_stride, Py_ssize_t col_stride,
                      Py_ssize_t D, Py_ssize_t C, float two_reg, int accumulate,
                      float* dW) noexcept nogil
        double (*f64)(const double* W, Py_ssize_t row_stride, Py_ssize_t col_stride,
                      Py_ssize_t D, Py_ssize_t C, double two_reg, int accumulate,
                      double* dW) noexcept nogil
    const l2_term_kernels* l2_term_for(const char* path)


# --- configuration -------------------------------------------------------------

ctypedef struct SparseTunables:
    Py_ssize_t sparse_block_rows
    Py_ssize_t sparse_chunk_entries
    Py_ssize_t sparse_chunk_scores
    Py_ssize_t sparse_parallel_min_entries
    Py_ssize_t sparse_prefetch_gather
    Py_ssize_t sparse_prefetch_scatter
    Py_ssize_t sparse_in_cache_bytes

cdef SparseTunables TUNE
cdef const csr_kernels* KERNELS = NULL
cdef const l2_term_kernels* L2_TERM = NULL


def _configure(str path, dict tunables):
    """Use the row kernels and the L2 term of SIMD path `path` and these
    tunables (every field of SparseTunables). Called by maxmargin._dispatch;
    process-wide."""
    global TUNE, KERNELS, L2_TERM
    cdef bytes name = path.encode()
    cdef const csr_kernels* kernels = csr_kernels_for(name)
    cdef const l2_term_kernels* l2 = l2_term_for(name)
    if kernels == NULL or l2 == NULL:
        raise ValueError(f"maxmargin._sparse: no kernels for the SIMD path {path!r}")
    TUNE = tunables
    KERNELS, L2_TERM = kernels, l2


def _configuration():
    """(path, tunables) in force."""
    if KERNELS == NULL:
        return None, None
    return KERNELS.name.decode(), TUNE


# --- errors the kernels report (maxmargin.sparse words them) --------------------

class LabelError(ValueError):
    """A label outside [0, C) at position `index` (found before any write)."""

    def __init__(self, index):
        super().__init__(index)
        self.index = index


class ColumnIndexError(ValueError):
    """X.indices[entry] outside [0, D); `row` is the entry's row."""

    def __init__(self, entry, row):
        super().__init__(entry, row)
        self.entry = entry
        self.row = row


class StructureError(ValueError):
    """indptr is not a CSR index pointer: `what` says how, at `position`."""

    def __init__(self, what, position):
        super().__init__(what, position)
        self.what = what
        self.position = position


cdef inline int check_indptr(const index_t* indptr, Py_ssize_t n_rows,
                             Py_ssize_t n_entries) except -1:
    """indptr[0] == 0, non-decreasing, indptr[n_rows] == n_entries (the
    entries data and indices both hold): what every row pass trusts."""
    cdef Py_ssize_t r
    if indptr[0] != 0:
        raise StructureError("start at 0", 0)
    for r in range(n_rows):
        if indptr[r + 1] < indptr[r]:
            raise StructureError("be non-decreasing", r + 1)
    if indptr[n_rows] != n_entries:
        raise StructureError("end at the number of stored entries", n_rows)
    return 0


cdef inline Py_ssize_t row_of(const index_t* indptr, Py_ssize_t n_rows,
                              Py_ssize_t entry) noexcept nogil:
    """The row whose entries include `entry` (binary search of indptr)."""
    cdef Py_ssize_t low = 0, high = n_rows, mid
    while high - low > 1:
        mid = (low + high) // 2
        if indptr[mid] <= entry:
            low = mid
        else:
            high = mid
    return low


cdef inline Py_ssize_t first_bad_column(const index_t* indices, Py_ssize_t begin,
                                        Py_ssize_t end, Py_ssize_t D) noexcept nogil:
    """The first entry in [begin, end) whose column is outside [0, D), or -1."""
    cdef Py_ssize_t k
    for k in range(begin, end):
        if <size_t>indices[k] >= <size_t>D:
            return k
    return -1


# --- the row kernels of the path in use, by dtype and index type ----------------

cdef inline Py_ssize_t prefetch_distance(Py_ssize_t distance, Py_ssize_t D, Py_ssize_t C,
                                         Py_ssize_t itemsize) noexcept nogil:
    """`distance` when the (D, C) array a kernel reads rows of by index is
    too large for the caches (sparse_in_cache_bytes), else 0: in cache the
    prefetches only cost instructions (and the scatter, which does not
    prefetch there, stores a row's tail under a mask)."""
    return distance if D * C * itemsize >= TUNE.sparse_in_cache_bytes else 0


cdef inline Py_ssize_t gather(const floating* data, const index_t* indices,
                              const index_t* indptr, Py_ssize_t r0, Py_ssize_t r1,
                              const floating* W, Py_ssize_t D, Py_ssize_t C,
                              const floating* b, floating* S) noexcept nogil:
    cdef Py_ssize_t prefetch = prefetch_distance(TUNE.sparse_prefetch_gather, D, C,
                                                 sizeof(floating))
    if floating is float:
        if index_t is int32_t:
            return KERNELS.gather_f32_i32(data, indices, indptr, r0, r1, W, D, C, b, S, prefetch)
        else:
            return KERNELS.gather_f32_i64(data, indices, indptr, r0, r1, W, D, C, b, S, prefetch)
    else:
        if index_t is int32_t:
            return KERNELS.gather_f64_i32(data, indices, indptr, r0, r1, W, D, C, b, S, prefetch)
        else:
            return KERNELS.gather_f64_i64(data, indices, indptr, r0, r1, W, D, C, b, S, prefetch)


cdef inline void scatter_rows(const floating* data, const index_t* indices,
                              const index_t* indptr, Py_ssize_t r0, Py_ssize_t r1,
                              const floating* G, Py_ssize_t D, Py_ssize_t C,
                              floating* dW) noexcept nogil:
    cdef Py_ssize_t prefetch = prefetch_distance(TUNE.sparse_prefetch_scatter, D, C,
                                                 sizeof(floating))
    if floating is float:
        if index_t is int32_t:
            KERNELS.scatter_rows_f32_i32(data, indices, indptr, r0, r1, G, C, dW, prefetch)
        else:
            KERNELS.scatter_rows_f32_i64(data, indices, indptr, r0, r1, G, C, dW, prefetch)
    else:
        if index_t is int32_t:
            KERNELS.scatter_rows_f64_i32(data, indices, indptr, r0, r1, G, C, dW, prefetch)
        else:
            KERNELS.scatter_rows_f64_i64(data, indices, indptr, r0, r1, G, C, dW, prefetch)


# --- the team's chunks ---------------------------------------------------------

# Blocks a thread of the team's gather stage gets, on average, of a chunk:
# enough for the scattering thread to join when it is done.
cdef enum:
    GATHER_BLOCKS_PER_THREAD = 4

cdef inline Py_ssize_t chunk_end(const index_t* indptr, Py_ssize_t first, Py_ssize_t n_rows,
                                 Py_ssize_t max_rows, Py_ssize_t max_entries) noexcept nogil:
    """The end of the chunk that starts at row `first`: at most max_rows
    rows, and rows up to about max_entries entries (at least one row)."""
    cdef Py_ssize_t last = min(n_rows, first + max_rows)
    cdef Py_ssize_t end = first + 1
    while end < last and indptr[end + 1] - indptr[first] <= max_entries:
        end += 1
    return end


# --- svm_loss -----------------------------------------------------------------

cdef inline const double* optional_ptr(const double[::1] a) noexcept nogil:
    if a is None or a.shape[0] == 0:
        return NULL
    return &a[0]


def csr_svm_loss_kernel(
        const floating[:, ::1] W, const floating[::1] data, const index_t[::1] indices,
        const index_t[::1] indptr, const Py_ssize_t[::1] y, const floating[::1] b,
        double reg, double delta, int p, bint crammer_singer,
        const double[::1] sample_weight, const double[::1] class_weight, double denom,
        floating[:, ::1] dW, floating[::1] db, bint add_dW, bint add_db, int n_threads,
        bint check_columns_first):
    """svm_loss with X (N, D) in CSR (data, indices, indptr); W (D, C)
    C-contiguous; dW (D, C) and db (C,) C-contiguous, filled (or with
    add_dW / add_db gained). Returns the loss: the weighted row losses'
    pairwise sum / denom + reg * sum(W**2).

    The column indices are checked as the pass reads them: a bad one is
    found before its chunk's share of dW is written, but after the earlier
    chunks'. With check_columns_first (dW is the caller's buffer) they are
    all checked first, so that a bad one leaves dW as it was."""
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, D = W.shape[0], C = W.shape[1]
    cdef Py_ssize_t n_entries = indices.shape[0]
    cdef floating* dW_ptr = &dW[0, 0] if D > 0 else NULL
    cdef const floating* W_ptr = &W[0, 0] if D > 0 else NULL
    cdef const floating* b_ptr = NULL if b is None else &b[0]
    cdef floating* db_ptr = NULL if db is None else &db[0]
    cdef const double* sw = optional_ptr(sample_weight)
    cdef const double* cw = optional_ptr(class_weight)
    cdef double sum_sq = 0.0, total = 0.0
    cdef bint keep = add_dW
    cdef Py_ssize_t bad, i, j
    cdef int team
    cdef double* row_loss = NULL
    cdef double* col_sum = NULL
    cdef floating* S = NULL
    cdef Py_ssize_t block_rows, max_chunk_rows
    if KERNELS == NULL:
        raise RuntimeError("maxmargin._sparse: used before maxmargin._dispatch configured it")
    check_indptr(&indptr[0], n_rows, n_entries)
    if n_rows > 0:
        bad = first_out_of_range(&y[0], n_rows, C)
        if bad >= 0:
            raise LabelError(bad)
    if check_columns_first:
        with nogil:
            bad = first_bad_column(&indices[0] if n_entries else NULL, 0, n_entries, D)
        if bad >= 0:
            raise ColumnIndexError(bad, row_of(&indptr[0], n_rows, bad))

    with nogil:
        if D > 0:
            if reg != 0:
                if floating is float:
                    sum_sq = L2_TERM.f32(W_ptr, C, 1, D, C, <float>(2.0 * reg), add_dW, dW_ptr)
                else:
                    sum_sq = L2_TERM.f64(W_ptr, C, 1, D, C, 2.0 * reg, add_dW, dW_ptr)
                keep = True
            if not keep:
                memset(dW_ptr, 0, D * C * sizeof(floating))
    if n_rows == 0:
        if db_ptr != NULL and not add_db:
            for j in range(C):
                db_ptr[j] = 0
        return reg * sum_sq

    team = max(1, n_threads) if n_entries >= TUNE.sparse_parallel_min_entries else 1
    block_rows = max(<Py_ssize_t>1, min(TUNE.sparse_block_rows, TUNE.sparse_chunk_scores // C))
    max_chunk_rows = max(block_rows, TUNE.sparse_chunk_scores // C)
    # A team gathers each chunk in GATHER_BLOCKS_PER_THREAD blocks a thread,
    # which the threads take as they come free.
    cdef Py_ssize_t n_slots = 1 if team == 1 else GATHER_BLOCKS_PER_THREAD * team
    # One scratch block (the shared allocator's slot): the row losses (N),
    # db's sums (C), each gather block's first bad entry, then the scores of
    # a block (one thread) or of two chunks (a team's double buffer).
    cdef Py_ssize_t n_scores = block_rows * C if team == 1 else 2 * max_chunk_rows * C
    cdef char* scratch = <char*>mm_memory_scratch_take(
        (n_rows + C) * sizeof(double) + n_slots * sizeof(Py_ssize_t)
        + n_scores * sizeof(floating))
    if scratch == NULL:
        raise MemoryError("svm_loss: cannot allocate the sparse pass's scratch")
    row_loss = <double*>scratch
    col_sum = row_loss + n_rows
    cdef Py_ssize_t* bad_of = <Py_ssize_t*>(col_sum + C)
    S = <floating*>(bad_of + n_slots)
    try:
        with nogil:
            for j in range(C):
                col_sum[j] = 0.0
            if team == 1:
                bad = serial_pass(&data[0] if n_entries else NULL,
                                  &indices[0] if n_entries else NULL, &indptr[0], n_rows,
                                  W_ptr, D, C, b_ptr, &y[0], <floating>delta, p,
                                  crammer_singer, sw, cw, denom, dW_ptr, row_loss, col_sum,
                                  S, block_rows)
            else:
                bad = threaded_pass(&data[0] if n_entries else NULL,
                                    &indices[0] if n_entries else NULL, &indptr[0], n_rows,
                                    W_ptr, D, C, b_ptr, &y[0], <floating>delta, p,
                                    crammer_singer, sw, cw, denom, dW_ptr, row_loss, col_sum,
                                    S, max_chunk_rows, TUNE.sparse_chunk_entries,
                                    n_slots, team, bad_of)
        if bad >= 0:
            raise ColumnIndexError(bad, row_of(&indptr[0], n_rows, bad))
        with nogil:
            total = pairwise_sum(row_loss, n_rows)
        if db_ptr != NULL:
            for j in range(C):
                db_ptr[j] = <floating>(db_ptr[j] + col_sum[j]) if add_db else <floating>col_sum[j]
    finally:
        mm_memory_scratch_give(scratch)
    return total / denom + reg * sum_sq


cdef Py_ssize_t serial_pass(
        const floating* data, const index_t* indices, const index_t* indptr,
        Py_ssize_t n_rows, const floating* W, Py_ssize_t D, Py_ssize_t C,
        const floating* b, const Py_ssize_t* y, floating delta, int p, bint crammer_singer,
        const double* sw, const double* cw, double denom, floating* dW, double* row_loss,
        double* col_sum, floating* S, Py_ssize_t block_rows) noexcept nogil:
    """Block by block on this thread: gather, margin pass, db's sums, scatter.
    Returns -1, or the first entry with a bad column index."""
    cdef Py_ssize_t r0, r1, rows, i, j, bad
    r0 = 0
    while r0 < n_rows:
        r1 = min(n_rows, r0 + block_rows)
        rows = r1 - r0
        bad = gather(data, indices, indptr, r0, r1, W, D, C, b, S)
        if bad >= 0:
            return bad
        margin_pass(S, C, 1, rows, C, y + r0, delta, p, crammer_singer,
                    NULL if sw == NULL else sw + r0, cw, denom, S, row_loss + r0, 1)
        for i in range(rows):
            for j in range(C):
                col_sum[j] += S[i * C + j]
        scatter_rows(data, indices, indptr, r0, r1, S, D, C, dW)
        r0 = r1
    return -1


cdef Py_ssize_t threaded_pass(
        const floating* data, const index_t* indices, const index_t* indptr,
        Py_ssize_t n_rows, const floating* W, Py_ssize_t D, Py_ssize_t C,
        const floating* b, const Py_ssize_t* y, floating delta, int p, bint crammer_singer,
        const double* sw, const double* cw, double denom, floating* dW, double* row_loss,
        double* col_sum, floating* S, Py_ssize_t max_chunk_rows, Py_ssize_t max_entries,
        Py_ssize_t blocks, int team, Py_ssize_t* bad_of) noexcept nogil:
    """The team's pipeline (module docstring, 3). Each step is a list of
    tasks that the threads take in order as they come free: first the
    scatter of the chunk gathered at the step before (and its db sums), then
    the gather and margin pass of the next chunk in `blocks` blocks, into
    the other half of S (2 chunks of scores); bad_of holds a slot a
    block. Returns -1, or the first entry with a bad column index
    (the chunks before its chunk scattered, not its own)."""
    cdef Py_ssize_t c0 = 0, c1, p0 = 0, p1 = 0, r0, r1, i, j, task, n_blocks
    cdef floating* current = S
    cdef floating* previous = S + max_chunk_rows * C
    cdef floating* swap
    while c0 < n_rows or p1 > p0:
        # This step's chunk [c0, c1) to gather (none after the last), and
        # the last step's [p0, p1) to scatter (none at the first).
        c1 = chunk_end(indptr, c0, n_rows, max_chunk_rows, max_entries) if c0 < n_rows else c0
        n_blocks = min(blocks, c1 - c0)
        for task in prange(n_blocks + 1, schedule="dynamic", chunksize=1, num_threads=team):
            if task == 0:
                if p1 > p0:
                    scatter_rows(data, indices, indptr, p0, p1, previous, D, C, dW)
                    for i in range(p1 - p0):
                        for j in range(C):
                            col_sum[j] += previous[i * C + j]
            else:
                r0 = c0 + (c1 - c0) * (task - 1) // n_blocks
                r1 = c0 + (c1 - c0) * task // n_blocks
                bad_of[task - 1] = gather(data, indices, indptr, r0, r1, W, D, C, b,
                                          current + (r0 - c0) * C)
                if bad_of[task - 1] < 0:
                    margin_pass(current + (r0 - c0) * C, C, 1, r1 - r0, C, y + r0, delta, p,
                                crammer_singer, NULL if sw == NULL else sw + r0, cw, denom,
                                current + (r0 - c0) * C, row_loss + r0, 1)
        for task in range(n_blocks):
            if bad_of[task] >= 0:
                return bad_of[task]
        p0, p1 = c0, c1
        c0 = c1
        swap = previous
        previous = current
        current = swap
    return -1


# --- the linear layer's products ------------------------------------------------

def csr_check_kernel(const index_t[::1] indices, const index_t[::1] indptr, Py_ssize_t D):
    """The checks of a pass, alone: indptr's structure, then every column
    index in [0, D) (StructureError, ColumnIndexError). For calls that write
    a caller's buffer before their pass reads X."""
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, n_entries = indices.shape[0], bad
    check_indptr(&indptr[0], n_rows, n_entries)
    with nogil:
        bad = first_bad_column(&indices[0] if n_entries else NULL, 0, n_entries, D)
    if bad >= 0:
        raise ColumnIndexError(bad, row_of(&indptr[0], n_rows, bad))


def csr_matmul_kernel(const floating[:, ::1] W, const floating[::1] data,
                      const index_t[::1] indices, const index_t[::1] indptr,
                      const floating[::1] b, floating[:, ::1] Y, int n_threads):
    """Y (N, C) = X W (+ b) for X (N, D) in CSR and W (D, C) C-contiguous:
    each row of Y from the W rows its indices name, rows shared among
    threads in blocks (no row's result depends on another's)."""
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, D = W.shape[0], C = W.shape[1]
    cdef Py_ssize_t n_entries = indices.shape[0]
    cdef const floating* W_ptr = &W[0, 0] if D > 0 else NULL
    cdef const floating* b_ptr = NULL if b is None else &b[0]
    cdef const floating* data_ptr = &data[0] if n_entries else NULL
    cdef const index_t* index_ptr = &indices[0] if n_entries else NULL
    cdef Py_ssize_t block_rows, n_blocks, blk, r0, r1, found, bad = -1
    cdef Py_ssize_t* bad_of
    cdef int team
    if KERNELS == NULL:
        raise RuntimeError("maxmargin._sparse: used before maxmargin._dispatch configured it")
    check_indptr(&indptr[0], n_rows, n_entries)
    if n_rows == 0 or C == 0:
        return
    block_rows = max(<Py_ssize_t>1, min(TUNE.sparse_block_rows, TUNE.sparse_chunk_scores // C))
    n_blocks = (n_rows + block_rows - 1) // block_rows
    team = max(1, n_threads) if n_entries >= TUNE.sparse_parallel_min_entries else 1
    bad_of = <Py_ssize_t*>malloc(n_blocks * sizeof(Py_ssize_t))
    if bad_of == NULL:
        raise MemoryError("linear_forward: cannot allocate the sparse pass's scratch")
    with nogil:
        for blk in prange(n_blocks, schedule="static", num_threads=team):
            r0 = blk * block_rows
            r1 = min(n_rows, r0 + block_rows)
            bad_of[blk] = gather(data_ptr, index_ptr, &indptr[0], r0, r1, W_ptr, D, C, b_ptr,
                                 &Y[r0, 0])
        for blk in range(n_blocks):
            if bad_of[blk] >= 0:
                bad = bad_of[blk]
                break
    free(bad_of)
    if bad >= 0:
        raise ColumnIndexError(bad, row_of(&indptr[0], n_rows, bad))


def csr_transpose_matmul_kernel(const floating[::1] data, const index_t[::1] indices,
                                const index_t[::1] indptr, const floating[:, ::1] G,
                                floating[:, ::1] dW, bint add_dW, int n_threads):
    """dW (D, C) (+)= X^T G for X (N, D) in CSR and G (N, C) C-contiguous:
    the rows' shares scattered into dW on one thread, each dW element
    gaining its terms in row order (n_threads is accepted for a uniform
    signature: with G given there is no gather to run beside the scatter,
    and a split of the scatter gained nothing, bench/results/2026-12-04.md).
    The column indices are checked before anything is written."""
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, D = dW.shape[0], C = dW.shape[1]
    cdef Py_ssize_t n_entries = indices.shape[0]
    cdef floating* dW_ptr = &dW[0, 0] if D > 0 and C > 0 else NULL
    cdef const floating* data_ptr = &data[0] if n_entries else NULL
    cdef const index_t* index_ptr = &indices[0] if n_entries else NULL
    cdef Py_ssize_t bad = -1
    if KERNELS == NULL:
        raise RuntimeError("maxmargin._sparse: used before maxmargin._dispatch configured it")
    check_indptr(&indptr[0], n_rows, n_entries)
    with nogil:
        bad = first_bad_column(index_ptr, 0, n_entries, D)
    if bad >= 0:
        raise ColumnIndexError(bad, row_of(&indptr[0], n_rows, bad))
    if dW_ptr == NULL:
        return
    with nogil:
        if not add_dW:
            memset(dW_ptr, 0, D * C * sizeof(floating))
    if n_rows == 0 or n_entries == 0:
        return
    with nogil:
        scatter_rows(data_ptr, index_ptr, &indptr[0], 0, n_rows, &G[0, 0], D, C, dW_ptr)


def csr_pattern_gradient_kernel(const floating[:, ::1] dZ, const floating[:, ::1] W,
                                const index_t[::1] indices, const index_t[::1] indptr,
                                floating[::1] out, int n_threads):
    """out[k] = dZ[i] . W[indices[k]] for each stored entry k of row i: the
    gradient of a loss with respect to X's stored values (the entries of
    dX = dZ W^T at X's pattern), summed in the dtype over the C columns."""
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, D = W.shape[0], C = W.shape[1]
    cdef Py_ssize_t n_entries = indices.shape[0], r, k, c, bad
    cdef floating total
    cdef int team
    check_indptr(&indptr[0], n_rows, n_entries)
    with nogil:
        bad = first_bad_column(&indices[0] if n_entries else NULL, 0, n_entries, D)
    if bad >= 0:
        raise ColumnIndexError(bad, row_of(&indptr[0], n_rows, bad))
    if n_entries == 0:
        return
    team = max(1, n_threads) if n_entries >= TUNE.sparse_parallel_min_entries else 1
    with nogil:
        for r in prange(n_rows, schedule="static", num_threads=team):
            for k in range(indptr[r], indptr[r + 1]):
                total = 0
                for c in range(C):
                    total = total + dZ[r, c] * W[indices[k], c]
                out[k] = total


# --- the estimator's SGD on sparse X ---------------------------------------------

cdef inline double one_vs_rest_row(floating* s, Py_ssize_t C, Py_ssize_t label, floating delta,
                                   int p, double coef) noexcept nogil:
    """One row of the one-vs-rest hinge, sum_c max(0, delta - t_c s_c)^p
    with t_c = +1 at the label and -1 elsewhere: s becomes coef * dL/ds in
    place; returns the row's (unweighted) loss. The terms and slopes of
    `maxmargin.ranking_hinge` on the signed scores, as the dense fit takes
    them."""
    cdef Py_ssize_t c
    cdef floating t, margin
    cdef double term, slope, loss = 0.0
    for c in range(C):
        t = 1 if c == label else -1
        margin = <floating>((<floating>0 - t * s[c]) + delta)
        term = positive_part(margin)
        slope = unit_slope(margin) if p == 1 else 2.0 * term
        loss += term if p == 1 else term * term
        s[c] = <floating>(-t * (coef * slope))
    return loss


def csr_sgd_epoch_kernel(floating[:, ::1] V, floating[::1] b, const floating[::1] data,
                         const index_t[::1] indices, const index_t[::1] indptr,
                         const Py_ssize_t[::1] y, const double[::1] weights,
                         const Py_ssize_t[::1] order, Py_ssize_t batch_size, int kind, int p,
                         double delta, double step_W, double step_b, double shrink,
                         bint fit_intercept, double min_scale):
    """One epoch of minibatch SGD for LinearSVMClassifier on a sparse X,
    W = scale * V (the L2 term's shrink a scalar factor, 1 - 2 reg step_W):
    for each batch of `order`, the rows' scores from the V rows their
    entries name, the hinge's gradient G (kind 0 Weston-Watkins, 1
    Crammer-Singer, 2 one-vs-rest, weighted mean over the batch), then b -=
    step_b sum_i G_i and V's rows gain -step_W / scale x G by the scatter:
    a step touches only the rows of V its batch names. V comes back as W
    (scale folded in). Returns the sum over the epoch's rows of their
    weighted loss (without the L2 term)."""
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, D = V.shape[0], C = V.shape[1]
    cdef Py_ssize_t n_entries = indices.shape[0], n_order = order.shape[0]
    cdef floating* V_ptr = &V[0, 0] if D > 0 and C > 0 else NULL
    cdef const floating* data_ptr = &data[0] if n_entries else NULL
    cdef const index_t* index_ptr = &indices[0] if n_entries else NULL
    cdef Py_ssize_t start, stop, rows, i, r, j, bad = -1
    cdef double scale = 1.0, total = 0.0, coef, rate
    cdef double* col_sum
    cdef double* row_loss
    cdef double* batch_weights
    cdef floating* S
    if KERNELS == NULL:
        raise RuntimeError("maxmargin._sparse: used before maxmargin._dispatch configured it")
    check_indptr(&indptr[0], n_rows, n_entries)
    if n_order == 0 or C == 0:
        return 0.0
    cdef char* scratch = <char*>mm_memory_scratch_take(
        (C + 2 * batch_size) * sizeof(double) + batch_size * C * sizeof(floating))
    if scratch == NULL:
        raise MemoryError("LinearSVMClassifier: cannot allocate the SGD step's scratch")
    col_sum = <double*>scratch
    row_loss = col_sum + C
    batch_weights = row_loss + batch_size
    S = <floating*>(batch_weights + batch_size)
    with nogil:
        start = 0
        while start < n_order and bad < 0:
            stop = min(n_order, start + batch_size)
            rows = stop - start
            # Scores of the batch's rows: scale * (x V) + b.
            for i in range(rows):
                r = order[start + i]
                bad = gather(data_ptr, index_ptr, &indptr[0], r, r + 1, V_ptr, D, C, NULL,
                             S + i * C)
                if bad >= 0:
                    break
                for j in range(C):
                    S[i * C + j] = <floating>(scale * S[i * C + j])
                    if fit_intercept:
                        S[i * C + j] = S[i * C + j] + b[j]
                batch_weights[i] = weights[r]
            if bad >= 0:
                break
            # The hinge's gradient, weighted mean over the batch.
            if kind == 2:
                for i in range(rows):
                    coef = batch_weights[i] / rows
                    row_loss[i] = batch_weights[i] * one_vs_rest_row(
                        S + i * C, C, y[order[start + i]], <floating>delta, p, coef)
            else:
                for i in range(rows):
                    row_loss[i] = 0
                    margin_pass(S + i * C, C, 1, 1, C, &y[order[start + i]], <floating>delta,
                                p, kind == 1, batch_weights + i, NULL, rows, S + i * C,
                                row_loss + i, 1)
            for i in range(rows):
                total += row_loss[i]
            # b, then V's rows: W <- (1 - 2 reg step) W - step dW.
            if fit_intercept:
                for j in range(C):
                    col_sum[j] = 0.0
                for i in range(rows):
                    for j in range(C):
                        col_sum[j] += S[i * C + j]
                for j in range(C):
                    b[j] = <floating>(b[j] - step_b * col_sum[j])
            scale *= shrink
            rate = -step_W / scale
            for i in range(rows * C):
                S[i] = <floating>(rate * S[i])
            for i in range(rows):
                r = order[start + i]
                scatter_rows(data_ptr, index_ptr, &indptr[0], r, r + 1, S + i * C, D, C, V_ptr)
            if scale < min_scale:
                for i in range(D * C):
                    V_ptr[i] = <floating>(scale * V_ptr[i])
                scale = 1.0
            start = stop
        if scale != 1.0:
            for i in range(D * C):
                V_ptr[i] = <floating>(scale * V_ptr[i])
    mm_memory_scratch_give(scratch)
    if bad >= 0:
        raise ColumnIndexError(bad, row_of(&indptr[0], n_rows, bad))
    return total




def csr_dual_epoch_kernel(floating[:, ::1] W, floating[::1] b, const floating[::1] data,
                          const index_t[::1] indices, const index_t[::1] indptr,
                          const Py_ssize_t[::1] y, const double[::1] upper,
                          const double[::1] diagonal, double[:, ::1] alpha,
                          unsigned char[:, ::1] active, const Py_ssize_t[::1] order, int p,
                          double delta, bint fit_intercept, double[:, ::1] bounds):
    """One pass of dual coordinate descent with shrinking (Hsieh et al. 2008,
    the method of liblinear) over the rows of `order` of a CSR X, for the C
    binary one-vs-rest problems at once. It solves

        min 1/2 |W|^2 + 1/2 |b|^2 + sum_i upper_i sum_c max(0, delta - t_ic s_ic)^p

    (s = X W + b, t = +1 at the row's label and -1 elsewhere; b the weight
    of a constant feature 1, regularised as liblinear's) through its dual,
    W = sum_i x_i^T (alpha_i * t_i) and b = sum_i alpha_i * t_i kept up to
    date: for each active (row i, class c), the dual's gradient G = t s_ic
    - delta + alpha_ic / (2 upper_i) [the last term for p = 2 only] moves
    alpha_ic by G / Q_ii into [0, upper_i] (p = 1) or [0, inf) (p = 2),
    Q_ii = diagonal_i (+ 1 / (2 upper_i) for p = 2), and W's row gains x_i
    (alpha_new - alpha_old) t. diagonal_i = |x_i|^2 (+ 1 with the
    intercept); upper_i = weight_i / (2 reg N); rows of weight 0 are
    skipped. One row's C classes share its gather of scores and its scatter,
    which is what makes the C problems cost about one.

    Shrinking: a pair at a bound whose gradient points out of the box by
    more than the last pass's spread (bounds[0, c], the largest projected
    gradient of class c, bounds[1, c] the smallest) leaves the active set
    (active[i, c] = 0); a row with no active class is not read. bounds
    comes back as this pass's largest and smallest projected gradients.
    One thread: each step needs the one before."""
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, D = W.shape[0], C = W.shape[1]
    cdef Py_ssize_t n_order = order.shape[0], n_entries = indices.shape[0]
    cdef Py_ssize_t step, r, c, label, bad = -1
    cdef floating* W_ptr = &W[0, 0] if D > 0 and C > 0 else NULL
    cdef const floating* data_ptr = &data[0] if n_entries else NULL
    cdef const index_t* index_ptr = &indices[0] if n_entries else NULL
    cdef floating* scores
    cdef floating* change
    cdef double* largest_of
    cdef double* smallest_of
    cdef double g, projected, old, new, q_ii, extra
    cdef bint any_active, moved
    if KERNELS == NULL:
        raise RuntimeError("maxmargin._sparse: used before maxmargin._dispatch configured it")
    check_indptr(&indptr[0], n_rows, n_entries)
    with nogil:
        bad = first_bad_column(index_ptr, 0, n_entries, D)
    if bad >= 0:
        raise ColumnIndexError(bad, row_of(&indptr[0], n_rows, bad))
    if n_order == 0 or C == 0:
        return
    scores = <floating*>malloc(2 * C * sizeof(floating))
    largest_of = <double*>malloc(2 * C * sizeof(double))
    if scores == NULL or largest_of == NULL:
        free(scores)
        free(largest_of)
        raise MemoryError("LinearSVMClassifier: cannot allocate the dual pass's scratch")
    change = scores + C
    smallest_of = largest_of + C
    with nogil:
        for c in range(C):
            largest_of[c] = -INFINITY
            smallest_of[c] = INFINITY
        for step in range(n_order):
            r = order[step]
            if upper[r] <= 0:
                continue
            any_active = False
            for c in range(C):
                any_active = any_active or active[r, c]
            if not any_active:
                continue
            gather(data_ptr, index_ptr, &indptr[0], r, r + 1, W_ptr, D, C,
                   &b[0] if fit_intercept else NULL, scores)
            label = y[r]
            extra = 0.5 / upper[r] if p == 2 else 0.0
            q_ii = diagonal[r] + extra
            moved = False
            for c in range(C):
                change[c] = 0
                if not active[r, c]:
                    continue
                old = alpha[r, c]
                g = (scores[c] if c == label else -scores[c]) - delta + extra * old
                projected = g
                if old == 0:
                    if g > bounds[0, c]:
                        active[r, c] = 0
                        continue
                    if g > 0:
                        projected = 0
                elif p == 1 and old >= upper[r]:
                    if g < bounds[1, c]:
                        active[r, c] = 0
                        continue
                    if g < 0:
                        projected = 0
                if projected > largest_of[c]:
                    largest_of[c] = projected
                if projected < smallest_of[c]:
                    smallest_of[c] = projected
                if projected != 0 and q_ii > 0:
                    new = old - g / q_ii
                    if new < 0:
                        new = 0
                    elif p == 1 and new > upper[r]:
                        new = upper[r]
                    alpha[r, c] = new
                    change[c] = <floating>((new - old) if c == label else (old - new))
                    moved = True
            if not moved:
                continue
            scatter_rows(data_ptr, index_ptr, &indptr[0], r, r + 1, change, D, C, W_ptr)
            if fit_intercept:
                for c in range(C):
                    b[c] = b[c] + change[c]
        for c in range(C):
            bounds[0, c] = largest_of[c]
            bounds[1, c] = smallest_of[c]
    free(scores)
    free(largest_of)
