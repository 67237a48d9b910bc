"""The multiclass hinge and its gradient: the public functions.

* `multiclass_hinge`: the multiclass SVM loss of given scores;
* `svm_loss`: the same fused with the linear layer, from raw features.

Each function validates its arguments (`maxmargin._validation`), allocates its
outputs (large ones from the cache of `maxmargin._memory`) and calls one
compiled kernel (`maxmargin._hinge`, kernels/hinge/), which releases the GIL
for the whole computation. `maxmargin.reference` states the same mathematics
in NumPy and is what the tests hold these functions to.
"""

import numpy as np

from . import _hinge
from . import _memory
from . import sparse
from ._dispatch import by_dtype
from . import _validation as check
from ._validation import denominator

KINDS = ("weston_watkins", "crammer_singer")
REDUCTIONS = ("mean", "sum", "none")
_SUMMED = REDUCTIONS[:2]  # what svm_loss offers

_MULTICLASS_HINGE = by_dtype(_hinge.multiclass_hinge_kernel)
_SVM_LOSS = by_dtype(_hinge.svm_loss_kernel)

_CONVENTIONS = """
    Conventions
    -----------
    * The subgradient at the kink is 0: a term counts as violated only when
      its margin is strictly > 0.
    * Weights multiply L_i after the power:
      ``w_i = sample_weight[i] * class_weight[y_i]``.
    * ``reduction="mean"`` divides the weighted sum by N (not by C, not by the
      sum of weights). PyTorch's ``multi_margin_loss`` mean equals this
      divided by C. N = 0 gives loss 0 and a zero gradient.
    * Margins ``(s_ij - s_iy) + delta`` are evaluated in the data's dtype;
      powers, sums, weights and reductions in float64; gradient coefficients
      in float64, rounded once to the data's dtype.
    * NaN or inf in the scores propagates to the loss (and the gradient of
      a NaN margin is NaN), exactly as NumPy arithmetic would.
    * Results are identical, bit for bit, for every ``n_threads``.
"""


def multiclass_hinge(scores, y, *, delta=1.0, p=1, kind="weston_watkins",
                     sample_weight=None, class_weight=None, reduction="mean",
                     out=None, n_threads=None):
    """Multiclass hinge loss of given scores, and its gradient, in one pass.

    Weston-Watkins (``kind="weston_watkins"``, CS231n's SVM loss)::

        L_i = sum_{j != y_i} max(0, s_ij - s_iy_i + delta)^p

    Crammer-Singer (``kind="crammer_singer"``)::

        L_i = max(0, max_{j != y_i} s_ij - s_iy_i + delta)^p

    where the gradient goes to the one maximising class only (ties to the
    lowest class index; with C = 1 there is no rival and L_i = 0).

    Parameters
    ----------
    scores : ndarray of shape (N, C), float32 or float64
        Any strides are read in place (C or Fortran order, transposed views,
        slices); read-only arrays and ``np.memmap(mode="r")`` work.
    y : ndarray of shape (N,), any integer dtype
        Labels in ``[0, C)``.
    delta : float, default 1.0
        The margin, finite and >= 0.
    p : {1, 2}, default 1
        Power of each hinge term (2: squared hinge).
    kind : {"weston_watkins", "crammer_singer"}
    sample_weight : array of shape (N,), optional
        Non-negative per-sample weights.
    class_weight : array of shape (C,), optional
        Non-negative per-class weights, applied through each sample's label.
    reduction : {"mean", "sum", "none"}
    out : ndarray of shape (N, C), optional
        C-contiguous buffer of the scores' dtype for the gradient. It may be
        ``scores`` itself (the gradient then overwrites the scores) but must
        not partly overlap them.
    n_threads : int, optional
        Threads for the pass over the scores; None uses all usable cores.

    Returns
    -------
    loss : float, or ndarray of shape (N,) in the scores' dtype for "none"
        The weighted loss, reduced as asked.
    dscores : ndarray of shape (N, C), the scores' dtype
        Gradient of the reduced loss (for "none", of the sum of the
        per-sample losses) with respect to the scores.
    """
    func = "multiclass_hinge"
    scores = check.element_strided(check.float_array(scores, func, "scores", 2))
    n_samples, n_classes = scores.shape
    if n_classes == 0:
        check.fail(func, "scores", "an (N, C) array with C >= 1 classes", check.describe(scores))
    y, delta, p, kind, reduction, sample_weight, class_weight = check.hinge_options(
        func, y, n_samples, n_classes, delta, p, kind, KINDS, reduction, REDUCTIONS,
        sample_weight, class_weight)
    threads = check.n_threads(n_threads, func)
    if out is None:
        dscores = _memory.empty((n_samples, n_classes), scores.dtype)
    else:
        same = (out is scores or (
            isinstance(out, np.ndarray) and out.shape == scores.shape
            and out.strides == scores.strides
            and out.__array_interface__["data"][0] == scores.__array_interface__["data"][0]))
        # Writing the gradient over the scores row by row is safe; a partial
        # overlap is not.
        weights = (("sample_weight", sample_weight), ("class_weight", class_weight))
        dscores = check.output(out, (n_samples, n_classes), scores.dtype, func, "out",
                               weights if same else (("scores", scores),) + weights)

    # Each row's weighted loss, summed by the kernel in a fixed order.
    row_loss = _memory.empty(n_samples, np.float64)
    try:
        total = _MULTICLASS_HINGE[scores.dtype](
            scores, y, delta, p, kind == "crammer_singer", sample_weight, class_weight,
            denominator(reduction, n_samples), dscores, row_loss, threads)
    except _hinge.LabelError as bad:
        check.label_error(func, "y", y, bad.index, n_classes)
    if reduction == "none":
        return row_loss.astype(scores.dtype, copy=False), dscores
    return total, dscores


multiclass_hinge.__doc__ += _CONVENTIONS


def svm_loss(W, X, y, *, b=None, reg=0.0, delta=1.0, p=1, kind="weston_watkins",
             sample_weight=None, class_weight=None, reduction="mean",
             dW_out=None, db_out=None, accumulate=False, n_threads=None):
    """CS231n's fused linear SVM loss from raw features, and its gradients.

    With scores ``S = X W + b``::

        loss = reduce_i( w_i * L_i(S) ) + reg * sum(W**2)
        dW   = X^T G + 2 reg W,    db = sum_i G_i,    G = d loss / dS

    and ``L_i`` the multiclass hinge of `multiclass_hinge`. With few
    classes (C <= 16, N >= 128, and the class-vector kernels' range where
    the SIMD path has them) X is read from memory once, in row blocks: each
    block's scores by SIMD micro-kernels, the margin pass, then the block's
    share of dW while it is still in cache, with no N x C array. Otherwise:
    one GEMM for S (into a scratch buffer), the margin pass over S in
    place, one GEMM for dW, and float64 column sums for db, on row blocks
    of X when C is small and X large. docs/svm_loss.md has the details. The
    GIL is released for the whole computation.

    The common call (plain C- or Fortran-ordered arrays of one float dtype,
    intp labels, reg and delta as Python floats, no weights, out buffers or
    n_threads) is validated in compiled code by reading the arrays'
    headers, a few C loads: at small shapes the general checks would cost
    more than the work. Any other call takes the general checks, which also
    convert what needs it.

    Parameters
    ----------
    W : ndarray of shape (D, C), float32 or float64
    X : ndarray of shape (N, D), the same dtype as W
        W and X are read in place in C order, Fortran order, as transposed
        views or as slices with a unit stride along one axis; other strides
        are copied. Read-only arrays and ``np.memmap(mode="r")`` work.
    y : ndarray of shape (N,), any integer dtype
        Labels in ``[0, C)``.
    b : ndarray of shape (C,), optional
        Bias; when given, db is returned too.
    reg : float, default 0.0
        L2 strength: adds ``reg * sum(W**2)`` to the loss (only when reg != 0,
        so reg = 0 never turns an inf in W into NaN) and ``2 reg W`` to dW.
    delta, p, kind, sample_weight, class_weight
        As in `multiclass_hinge`.
    reduction : {"mean", "sum"}
    dW_out : ndarray of shape (D, C), optional
        C-contiguous buffer of W's dtype for dW. Must not overlap W or X.
    db_out : ndarray of shape (C,), optional
        Buffer for db (only with b); must not overlap W, X, b or dW_out.
    accumulate : bool, default False
        Add the gradients into the buffers given (`dW_out`, `db_out`) instead
        of overwriting them, with no temporary: gradients add up where a
        variable forks. A gradient without a buffer comes back fresh. The
        returned loss is this call's alone.
    n_threads : int, optional
        With few classes (C <= 16) and N >= 128, svm_loss reads X once in
        row blocks with SIMD micro-kernels and no BLAS call; there None uses
        all usable cores. Otherwise: threads for the margin pass between the
        two GEMMs, which use the BLAS library's own threads; None runs the
        pass serially, because BLAS's worker threads still spin on the cores
        right after a multithreaded GEMM and a thread team beside them is
        slower. Ask for threads when BLAS runs single-threaded (for example
        under ``threadpoolctl.threadpool_limits(1)``). Results are identical
        for every value.

    Returns
    -------
    loss : float
    dW : ndarray of shape (D, C), C-contiguous, W's dtype (`dW_out` if given)
    db : ndarray of shape (C,), W's dtype, only when `b` is given
    """
    func = "svm_loss"
    if (sample_weight is None and class_weight is None and dW_out is None
            and db_out is None and accumulate is False and n_threads is None):
        # The common call, checked in C; None means "not that call": the
        # general path below validates, converts and words any error.
        try:
            result = _hinge.svm_loss_common(W, X, y, b, reg, delta, p, kind, reduction,
                                            check.USABLE_CPUS)
        except _hinge.LabelError as bad:
            check.label_error(func, "y", y, bad.index, W.shape[1])
        if result is not None:
            return result
    if sparse.is_sparse(X):
        return sparse.svm_loss(func, W, X, y, b, reg, delta, p, kind, sample_weight,
                               class_weight, reduction, dW_out, db_out, accumulate,
                               n_threads, KINDS, _SUMMED)
    W = check.float_array(W, func, "W", 2)
    X = check.float_array(X, func, "X", 2)
    check.same_dtype(func, "W", W, "X", X)
    n_samples, n_features = X.shape
    n_classes = check.class_count(W, func, n_features)
    # Before any copy: a too-large array must be refused, not copied.
    if max(n_samples, n_features, n_classes) > check.BLAS_INT_MAX:
        check.blas_dims(func, ("X", "N", n_samples), ("X", "D", n_features),
                        ("W", "C", n_classes))
    W = check.blas_operand(W)
    X = check.blas_operand(X)
    b = check.bias(b, func, W, "W", n_classes)
    y, delta, p, kind, reduction, sample_weight, class_weight = check.hinge_options(
        func, y, n_samples, n_classes, delta, p, kind, KINDS, reduction, _SUMMED,
        sample_weight, class_weight)
    reg = check.non_negative(reg, func, "reg")
    accumulate = check.flag(accumulate, func, "accumulate")
    # See the n_threads entry of the docstring: the single pass for few
    # classes uses every core by default, the margin pass between two GEMMs
    # runs serially unless asked.
    threads = check.n_threads(n_threads, func)
    margin_threads = 1 if n_threads is None else threads

    dtype = W.dtype
    if b is None and db_out is not None:
        check.fail(func, "db_out", "None when no bias b is given", check.describe(db_out))
    if accumulate and dW_out is None and db_out is None:
        check.fail(func, "accumulate", "False when no out buffer is given (nothing to "
                   "add into)", "True")
    if dW_out is None:
        dW = _memory.empty((n_features, n_classes), dtype)
    else:
        # The kernel reads W and X after it has started writing dW (the
        # regulariser comes first, and row blocks interleave the GEMMs).
        dW = check.output(dW_out, (n_features, n_classes), dtype, func, "dW_out",
                          (("W", W), ("X", X), ("sample_weight", sample_weight),
                           ("class_weight", class_weight)))
    db = None
    if b is not None:
        if db_out is None:
            db = _memory.empty(n_classes, dtype)
        else:
            db = check.output(db_out, (n_classes,), dtype, func, "db_out",
                              (("W", W), ("X", X), ("b", b), ("dW_out", dW),
                               ("sample_weight", sample_weight),
                               ("class_weight", class_weight)))

    try:
        loss = _SVM_LOSS[dtype](
            W, X, y, b, reg, delta, p, kind == "crammer_singer", sample_weight,
            class_weight, denominator(reduction, n_samples), dW, db,
            accumulate and dW_out is not None, accumulate and db_out is not None, threads,
            margin_threads)
    except _hinge.LabelError as bad:
        check.label_error(func, "y", y, bad.index, n_classes)
    if b is None:
        return loss, dW
    return loss, dW, db


svm_loss.__doc__ += _CONVENTIONS
