# svm_loss's path for many classes (or few rows): two GEMMs through the BLAS
# shim with the margin pass between them, on row blocks of X, the scratch
# from the shared allocator (memory_api.h). _hinge.pyx chooses the plan
# (block rows, the orientations of the two products) from the shape and
# the tunables, and has already written dW's L2 term.

from cython cimport floating

from common.blas cimport gemm
from common.pairwise_sum cimport pairwise_sum
from hinge.margin cimport margin_pass

cdef extern from "memory/memory_api.h" nogil:
    void* mm_memory_scratch_take(size_t bytes)
    void mm_memory_scratch_give(void* scratch)


cdef inline int two_gemms(
        const floating* w_ptr, Py_ssize_t w_rs, Py_ssize_t w_cs,
        const floating* x_ptr, Py_ssize_t x_rs, Py_ssize_t x_cs,
        Py_ssize_t n_samples, Py_ssize_t n_features, Py_ssize_t n_classes,
        const Py_ssize_t* y, const floating* b_ptr, floating delta, int p,
        bint crammer_singer, const double* sw, const double* cw, double denom,
        floating* dW_ptr, bint keep_dW, floating* db_ptr, bint add_db,
        Py_ssize_t block_rows, bint column_scores, bint transposed_dW,
        int margin_threads, Py_ssize_t parallel_min_elements,
        double* total) noexcept nogil:
    """For each block of `block_rows` rows: S = X_b W + b by one GEMM into a
    scratch block (with column_scores, S^T = W^T X_b^T, read with a stride),
    the margin pass turns S into G = dL/dS, and dW += X_b^T G by one more
    GEMM while X_b is still in cache (with transposed_dW, dW^T += G^T X_b
    into a (C, D) scratch added into dW at the end: the orientation in which
    BLAS sees M = D).

    dW holds its L2 term and/or its old value when keep_dW; db gets (with
    add_db: gains) the float64 column sums of G. The margin pass of a block
    of at least parallel_min_elements scores runs on margin_threads threads.
    *total gets the sum of the rows' w_i L_i (`pairwise_sum`). Returns 0,
    or -1 when the scratch cannot be allocated (nothing written then).
    """
    cdef const double* block_sw = NULL
    cdef floating* S = NULL
    cdef floating* S_t = NULL      # (C, N): S^T, for column_scores
    cdef floating* dW_t = NULL     # (C, D) scratch for transposed_dW
    cdef double* row_loss = NULL
    cdef double* col_sum = NULL
    cdef floating* scores          # what the margin pass reads: S or S_t
    cdef Py_ssize_t s_rs, s_cs, i, j, start, rows
    cdef floating beta = 1 if keep_dW else 0
    cdef int team
    # One scratch block, doubles first: the row losses (N), db's column
    # sums (C), then the score block (with column_scores, S^T and then G),
    # and the transposed dW: one allocation a call, not four.
    cdef Py_ssize_t n_doubles = n_samples + (n_classes if db_ptr != NULL else 0)
    cdef Py_ssize_t n_scores = block_rows * n_classes if n_samples > 0 else 0
    cdef Py_ssize_t n_transposed = n_classes * n_features if transposed_dW else 0
    cdef char* scratch = <char*>mm_memory_scratch_take(
        n_doubles * sizeof(double)
        + ((2 if column_scores else 1) * n_scores + n_transposed) * sizeof(floating))
    if scratch == NULL:
        return -1
    row_loss = <double*>scratch
    if db_ptr != NULL:
        col_sum = row_loss + n_samples
    S = <floating*>(row_loss + n_doubles)
    if column_scores:
        S_t = S + n_scores
    if transposed_dW:
        dW_t = S + (2 if column_scores else 1) * n_scores

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
        team = margin_threads if rows * n_classes >= parallel_min_elements else 1
        margin_pass(scores, s_rs, s_cs, rows, n_classes, y + start,
                    delta, p, crammer_singer, block_sw, cw, denom,
                    S, row_loss + start, team)
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
    total[0] = pairwise_sum(row_loss, n_samples) if n_samples > 0 else 0.0
    mm_memory_scratch_give(scratch)
    return 0
