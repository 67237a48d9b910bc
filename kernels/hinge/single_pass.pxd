# svm_loss's single pass over X (single_pass.h): the table of kernels each
# SIMD path fills, and the driver that runs a table's kernels over X in row
# blocks, with the margin pass between the two products of each block.
# The few-classes kernels (fewclass.h) and the class-vector kernels
# (classvec.h) are two such tables; _hinge.pyx chooses one per call.

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.stdint cimport uintptr_t

from hinge.margin cimport margin_pass

cdef extern from "memory/memory_api.h" nogil:
    void* mm_memory_scratch_take(size_t bytes)
    void mm_memory_scratch_give(void* scratch)

cdef extern from "hinge/single_pass.h" nogil:
    ctypedef struct single_pass_kernels:
        const char* name
        size_t (*panel_elements)(Py_ssize_t D, Py_ssize_t C, size_t itemsize) noexcept nogil
        size_t (*scratch_bytes)(Py_ssize_t rows, Py_ssize_t D, Py_ssize_t C,
                                size_t itemsize) noexcept nogil
        void (*pack_w_f32)(const float* W, Py_ssize_t row_stride, Py_ssize_t col_stride,
                           Py_ssize_t D, Py_ssize_t C, float* Wp) noexcept nogil
        void (*pack_w_f64)(const double* W, Py_ssize_t row_stride, Py_ssize_t col_stride,
                           Py_ssize_t D, Py_ssize_t C, double* Wp) noexcept nogil
        void (*scores_f32)(const float* X, Py_ssize_t ldx, Py_ssize_t rows, Py_ssize_t D,
                           const float* Wp, Py_ssize_t C, float* S, void* scratch) noexcept nogil
        void (*scores_f64)(const double* X, Py_ssize_t ldx, Py_ssize_t rows, Py_ssize_t D,
                           const double* Wp, Py_ssize_t C, double* S, void* scratch) noexcept nogil
        void (*grad_f32)(Py_ssize_t rows, Py_ssize_t D, const float* G, Py_ssize_t C,
                         float* dWp, int fresh, const float* next, Py_ssize_t next_ld,
                         Py_ssize_t next_rows, void* scratch) noexcept nogil
        void (*grad_f64)(Py_ssize_t rows, Py_ssize_t D, const double* G, Py_ssize_t C,
                         double* dWp, int fresh, const double* next, Py_ssize_t next_ld,
                         Py_ssize_t next_rows, void* scratch) noexcept nogil
        void (*finish_f32)(const float* acc, Py_ssize_t n_acc, Py_ssize_t acc_stride,
                           Py_ssize_t C, Py_ssize_t d_begin, Py_ssize_t d_end,
                           float* dW, int keep) noexcept nogil
        void (*finish_f64)(const double* acc, Py_ssize_t n_acc, Py_ssize_t acc_stride,
                           Py_ssize_t C, Py_ssize_t d_begin, Py_ssize_t d_end,
                           double* dW, int keep) noexcept nogil

cdef extern from "hinge/fewclass.h" nogil:
    const single_pass_kernels* fewclass_for(const char* path)

cdef extern from "hinge/classvec.h" nogil:
    const single_pass_kernels* classvec_for(const char* path)


cdef inline void* align64(void* p) noexcept nogil:
    """p rounded up to a multiple of 64 bytes (a cache line)."""
    return <void*>((<uintptr_t>p + 63) & ~(<uintptr_t>63))


cdef inline int single_pass(
        const floating* X, Py_ssize_t x_rs, Py_ssize_t x_cs, const floating* W,
        Py_ssize_t w_rs, Py_ssize_t w_cs, const floating* b, Py_ssize_t n_samples,
        Py_ssize_t n_features, Py_ssize_t n_classes, const Py_ssize_t* y,
        floating delta, int p, bint crammer_singer, const double* sw,
        const double* cw, double denom, floating* dW, bint keep_dW,
        floating* db, bint add_db, double* row_loss, int n_threads,
        const single_pass_kernels* kern, Py_ssize_t block_bytes,
        Py_ssize_t chunk_min_rows, Py_ssize_t max_chunks) noexcept nogil:
    """svm_loss's single pass over X, by the kernels `kern`: the few-classes
    ones (fewclass.h) or the class-vector ones (classvec.h), in row blocks of
    about block_bytes of X, the rows shared among threads in chunks of at
    least chunk_min_rows rows, at most max_chunks of them.

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
    # Chunks: at least chunk_min_rows rows each, whole row pairs,
    # and not whole blocks (a chunk's last block may be short): the chunks,
    # and so the order in which dW's sums are taken, depend on the shape
    # only, not on the block size, which the SIMD path chooses.
    cdef Py_ssize_t chunk_rows = max(chunk_min_rows,
        (n_samples + max_chunks - 1) // max_chunks)
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
    cdef char* memory = <char*>mm_memory_scratch_take(
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
    mm_memory_scratch_give(memory)
    return 0
