"""The hinge family's kernels: the multiclass hinge of given scores, and
CS231n's fused linear SVM loss from features (`maxmargin.hinge`'s twins).

Design
------
1. Scalar helpers, one formula each (common/scalars.pxd): max(0, m) and
   its slope, selects rather than branches.
2. Row helpers (margin.pxd) turn one sample's score row into its gradient
   row in place and return its loss: `weston_watkins_row` (whole rows in
   vectors, margin_rows.h), `crammer_singer_row`.
3. Array loops: `margin_pass` (margin.pxd) over a block of score rows, and
   svm_loss's two drivers, which give it its blocks:
   - the single pass (single_pass.pxd), for few classes: each row block of
     X read from memory once, its scores, the margin pass and its share of
     dW by SIMD micro-kernels while it is in cache; the few-classes kernels
     (fewclass.h) or the class-vector ones (classvec.h) of the SIMD path
     in use;
   - two GEMMs (two_gemms.pxd), otherwise: S = X W, the margin pass, dW =
     X^T G, on row blocks.
   Both start from dW's L2 term (l2_term.h), on the SIMD path in use.
4. Entry points (`multiclass_hinge_kernel`, `svm_loss_kernel`,
   `svm_loss_common`), called by `maxmargin.hinge` after it has validated
   and allocated everything. They trust their arguments except the labels'
   range, which they check first (they read the labels anyway) and report
   as `LabelError`; they release the GIL for the whole computation.
   `svm_loss_common` is svm_loss's common call in one step: it reads its
   arguments' headers in C (common/array_headers.pxd), allocates the
   outputs and runs the same kernel, or declines (None) and leaves the
   call to the general path, where maxmargin._validation checks, converts
   and words every error.

Which path a call takes (`svm_loss_run`) follows the shape, the dtype, the
SIMD path and the tunables (`maxmargin._tunables`: thresholds and block
sizes, with the reason for each), never the number of threads: results are
identical for every `n_threads`. maxmargin._dispatch sets the SIMD path
and the tunables through `_configure`.
"""

from cython cimport floating
cimport numpy as cnp
from libc.limits cimport INT_MAX
from libc.stdlib cimport malloc, free

from common.array_headers cimport plain_array, plain_scalar
from common.index_check cimport first_out_of_range
from common.openmp_guard cimport omp_get_max_threads
from common.pairwise_sum cimport pairwise_sum
from hinge.margin cimport margin_pass
from hinge.single_pass cimport (single_pass, single_pass_kernels, fewclass_for,
                                classvec_for)
from hinge.two_gemms cimport two_gemms

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

cdef extern from "memory/memory_api.h":
    int mm_memory_import() except -1

# The NumPy C API, for `svm_loss_common`'s checks; the shared allocator.
cnp.import_array()
mm_memory_import()


# --- configuration: the SIMD path's kernels and the tunables ---------------

# The family's tunables, as maxmargin._tunables resolves them for the SIMD
# path in use (each one's reason is in that table).
ctypedef struct HingeTunables:
    Py_ssize_t parallel_min_elements
    Py_ssize_t fewclass_max_classes
    Py_ssize_t fewclass_min_rows
    Py_ssize_t fewclass_block_bytes
    Py_ssize_t fewclass_chunk_min_rows
    Py_ssize_t fewclass_max_chunks
    Py_ssize_t classvec_min_classes
    Py_ssize_t classvec_max_classes_f32
    Py_ssize_t classvec_max_classes_f64
    Py_ssize_t classvec_min_rows
    Py_ssize_t classvec_block_bytes
    Py_ssize_t gemm_block_bytes
    Py_ssize_t gemm_blocking_min_bytes
    Py_ssize_t gemm_blocked_max_classes
    Py_ssize_t transposed_dw_min_rows
    Py_ssize_t transposed_dw_max_classes
    Py_ssize_t transposed_dw_f32_min_rows
    bint transposed_dw_f32
    bint column_scores
    Py_ssize_t column_scores_min_rows
    Py_ssize_t column_scores_row_ratio

cdef HingeTunables TUNE
# The kernels of the SIMD path in use (CLASSVEC NULL where it has none);
# FEWCLASS NULL until `_configure` has run.
cdef const single_pass_kernels* FEWCLASS = NULL
cdef const single_pass_kernels* CLASSVEC = NULL
cdef const l2_term_kernels* L2_TERM = NULL


def _configure(str path, dict tunables):
    """Use the kernels of SIMD path `path` and these tunables (a dict with
    every field of HingeTunables). Called by maxmargin._dispatch at import
    and whenever the path or a tunable changes; process-wide, not meant to
    change while kernels run in other threads."""
    global TUNE, FEWCLASS, CLASSVEC, L2_TERM
    cdef bytes name = path.encode()
    cdef const single_pass_kernels* fewclass = fewclass_for(name)
    cdef const l2_term_kernels* l2 = l2_term_for(name)
    if fewclass == NULL or l2 == NULL:
        raise ValueError(f"maxmargin._hinge: no kernels for the SIMD path {path!r}")
    TUNE = tunables
    FEWCLASS, CLASSVEC, L2_TERM = fewclass, classvec_for(name), l2


def _configuration():
    """(path, tunables) in force: what `_configure` last set."""
    if FEWCLASS == NULL:
        return None, None
    return FEWCLASS.name.decode(), TUNE


def has_class_vector_kernels(str path):
    """Whether the named SIMD path has the class-vector kernels (classvec.h)."""
    return classvec_for(path.encode()) != NULL


cdef inline double l2_term(const floating* W, Py_ssize_t row_stride, Py_ssize_t col_stride,
                           Py_ssize_t n_rows, Py_ssize_t n_cols, floating two_reg,
                           bint accumulate, floating* dW) noexcept nogil:
    """dW (+)= two_reg * W, with dW C-contiguous; returns sum(W**2) in
    float64 (l2_term.h: the same order of the sum on every path)."""
    if floating is float:
        return L2_TERM.f32(W, row_stride, col_stride, n_rows, n_cols, two_reg, accumulate, dW)
    else:
        return L2_TERM.f64(W, row_stride, col_stride, n_rows, n_cols, two_reg, accumulate, dW)


# --- entry points (called by maxmargin.hinge) --------------------------------

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

    scores may have any element strides; dscores may be scores itself. The
    pass runs on n_threads threads when it has at least
    parallel_min_elements scores.
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
    cdef int team = (n_threads if n_samples * n_classes >= TUNE.parallel_min_elements
                     else 1)
    with nogil:
        margin_pass(&scores[0, 0], row_stride, col_stride, n_samples, n_classes,
                    &y[0], <floating>delta, p, crammer_singer, sw, cw, denom,
                    &dscores[0, 0], &row_loss[0], team)
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

    dW starts from 2 reg W (plus its old value with add_dW); db gets (with
    add_db: gains) the column sums of G = dL/dS, accumulated in float64.
    Then one of two drivers:
    - with the class-vector kernels' classes on a path that has them, or
      few classes (fewclass_max_classes), and enough rows: the single pass
      over X by those kernels, on n_threads threads;
    - otherwise two GEMMs with the margin pass between them, on
      margin_threads threads, in row blocks when C is small and X large
      (gemm_blocking_min_bytes), with S^T in float64 for many rows a class
      (column_scores) and dW^T where BLAS is faster so (transposed_dw).
    Labels outside [0, C) raise LabelError before anything is written.
    """
    cdef Py_ssize_t itemsize = sizeof(floating)
    cdef double* row_loss = NULL
    cdef double total = 0.0, sum_sq = 0.0
    cdef floating two_reg = <floating>(2.0 * reg)
    cdef bint keep_dW  # dW holds 2 reg W and/or its old value, to be added to
    cdef Py_ssize_t bad = -1
    cdef int status = 0
    cdef const single_pass_kernels* kernels = NULL
    cdef Py_ssize_t block_bytes = 0, block_rows = n_samples
    cdef Py_ssize_t most_classes
    cdef bint column_scores, transposed_dW

    if FEWCLASS == NULL:
        raise RuntimeError("maxmargin._hinge: used before maxmargin._dispatch configured it")
    if n_samples > 0:
        bad = first_out_of_range(y, n_samples, n_classes)
    if bad >= 0:
        raise LabelError(bad)

    if n_samples > 0 and n_features > 0:
        most_classes = (TUNE.classvec_max_classes_f32 if floating is float
                        else TUNE.classvec_max_classes_f64)
        if (CLASSVEC != NULL and n_samples >= TUNE.classvec_min_rows
                and TUNE.classvec_min_classes <= n_classes <= most_classes):
            kernels, block_bytes = CLASSVEC, TUNE.classvec_block_bytes
        elif n_classes <= TUNE.fewclass_max_classes and n_samples >= TUNE.fewclass_min_rows:
            kernels, block_bytes = FEWCLASS, TUNE.fewclass_block_bytes

    if kernels != NULL:
        row_loss = <double*>malloc(n_samples * sizeof(double))
        if row_loss == NULL:
            raise MemoryError("svm_loss: cannot allocate the row losses")
        with nogil:
            keep_dW = add_dW
            if reg != 0:
                sum_sq = l2_term(w_ptr, w_rs, w_cs, n_features, n_classes, two_reg,
                                 add_dW, dW_ptr)
                keep_dW = True
            status = single_pass(x_ptr, x_rs, x_cs, w_ptr, w_rs, w_cs, b_ptr, n_samples,
                                 n_features, n_classes, y, <floating>delta, p,
                                 crammer_singer, sw, cw, denom, dW_ptr, keep_dW,
                                 db_ptr, add_db, row_loss, n_threads, kernels, block_bytes,
                                 TUNE.fewclass_chunk_min_rows, TUNE.fewclass_max_chunks)
            if status == 0:
                total = pairwise_sum(row_loss, n_samples)
        free(row_loss)
        if status != 0:
            raise MemoryError("svm_loss: cannot allocate the single pass's scratch")
        return total / denom + reg * sum_sq

    # The two GEMMs' plan. float64 with many rows a class: S^T by one
    # whole-batch GEMM, rather than row blocks (whose GEMMs, of a few hundred
    # rows, gain nothing from it).
    column_scores = (floating is double and TUNE.column_scores and n_features > 0
                     and n_samples >= TUNE.column_scores_min_rows
                     and n_samples >= TUNE.column_scores_row_ratio * n_classes)
    if (not column_scores and n_classes <= TUNE.gemm_blocked_max_classes and n_features > 0
            and n_samples * n_features * itemsize > TUNE.gemm_blocking_min_bytes):
        block_rows = max(<Py_ssize_t>8, TUNE.gemm_block_bytes // (n_features * itemsize))
    transposed_dW = (n_classes <= TUNE.transposed_dw_max_classes and n_features > 0
                     and n_samples >= TUNE.transposed_dw_min_rows)
    if floating is float:
        transposed_dW = (transposed_dW and n_samples >= TUNE.transposed_dw_f32_min_rows
                         and TUNE.transposed_dw_f32)
    with nogil:
        keep_dW = add_dW
        if reg != 0 and n_features > 0:
            sum_sq = l2_term(w_ptr, w_rs, w_cs, n_features, n_classes, two_reg, add_dW,
                             dW_ptr)
            keep_dW = True
        status = two_gemms(w_ptr, w_rs, w_cs, x_ptr, x_rs, x_cs, n_samples, n_features,
                           n_classes, y, b_ptr, <floating>delta, p, crammer_singer, sw, cw,
                           denom, dW_ptr, keep_dW, db_ptr, add_db, block_rows,
                           column_scores, transposed_dW, margin_threads,
                           TUNE.parallel_min_elements, &total)
    if status != 0:
        raise MemoryError("svm_loss: cannot allocate the scratch score block")
    return total / denom + reg * sum_sq
