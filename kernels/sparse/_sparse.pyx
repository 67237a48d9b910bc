"""The sparse family's kernels: svm_loss and the linear layer's products
with X a CSR matrix (`maxmargin.sparse`'s twins).

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
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memset

from common.index_check cimport first_out_of_range
from common.pairwise_sum cimport pairwise_sum
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
