"""`svm_loss` over a row-chunked dask array.

    loss = (sum over chunks k of sum_{i in k} w_i L_i) / N + reg |W|^2

Each chunk's term is `maxmargin.svm_loss(..., reduction="sum", reg=0)` run
where the chunk lives; the terms are added in the fixed tree of `_chunks`,
divided by N for "mean", and the regulariser is added once, on the client.
"""

import dask
import numpy as np

from .. import hinge
from .. import _validation as check
from . import _chunks

KINDS = hinge.KINDS
REDUCTIONS = ("mean", "sum")


def chunk_terms(W, b, X, y, weights, offset, kind, delta, p, class_weight, n_threads):
    """One chunk's (loss, dW, db) summed over its rows, reg left out: a task.

    `kind` may also be "one_vs_rest" (the classifier's C binary hinges).
    Errors that name a row name its global index (`offset` + the chunk's)."""
    try:
        if kind == "one_vs_rest":
            from ..sklearn import one_vs_rest_loss
            if weights is None:
                weights = np.ones(X.shape[0])
            result = one_vs_rest_loss(X, y, weights, W, b, delta=delta, p=p, reg=0.0,
                                      reduction="sum", n_threads=n_threads)
        else:
            result = hinge.svm_loss(W, X, y, b=b, delta=delta, p=p, kind=kind,
                                    sample_weight=weights, class_weight=class_weight,
                                    reduction="sum", n_threads=n_threads)
    except ValueError as error:
        raise _chunks.name_global_rows(error, offset) from None
    loss, dW = float(result[0]), result[1]
    return loss, dW, (result[2] if b is not None else None)


def distributed_loss(W, X, y, b, reg, delta, p, kind, sample_weight, class_weight,
                     reduction, n_threads, func="svm_loss"):
    """The loss and gradients of prepared inputs: W (D, C) and b (C,) or
    None NumPy; X a dask array of whole rows; y and sample_weight (or None)
    dask arrays chunked like X's rows. Returns (loss, dW[, db])."""
    n_samples = X.shape[0]
    # W and b enter the graph once, as literals that every chunk task names.
    # Keys are new at every call (pure=False): two calls with the same W never
    # share tasks, which a cluster could be releasing as the second asks.
    W_node = dask.delayed(W, pure=False)
    b_node = None if b is None else dask.delayed(b, pure=False)
    weight_blocks = (_chunks.blocks(sample_weight) if sample_weight is not None
                     else [None] * X.numblocks[0])
    term = dask.delayed(chunk_terms, pure=False)
    parts = [term(W_node, b_node, x, labels, weights, int(offset), kind, delta, p,
                  class_weight, n_threads)
             for x, labels, weights, offset in zip(_chunks.blocks(X), _chunks.blocks(y),
                                                   weight_blocks, _chunks.row_offsets(X))]
    if not parts:  # N = 0
        loss, dW, db = 0.0, np.zeros_like(W), None if b is None else np.zeros_like(b)
    else:
        loss, dW, db = _chunks.tree_sum(parts)
    if reduction == "mean" and n_samples > 1:
        loss = loss / n_samples
        dW = (dW.astype(np.float64) / n_samples).astype(W.dtype)
        if db is not None:
            db = (db.astype(np.float64) / n_samples).astype(W.dtype)
    dW = np.ascontiguousarray(dW)
    if reg:
        loss += reg * float(np.sum(np.square(W, dtype=np.float64)))
        dW += (2 * reg) * W
    if b is None:
        return loss, dW
    return loss, dW, db


def svm_loss(W, X, y, *, b=None, reg=0.0, delta=1.0, p=1, kind="weston_watkins",
             sample_weight=None, class_weight=None, reduction="mean", n_threads=None):
    """`maxmargin.svm_loss` over data spread across a Dask cluster.

    With scores ``S = X W + b`` and the multiclass hinge ``L_i`` (Weston-
    Watkins or Crammer-Singer, power p)::

        loss = reduce_i( w_i * L_i(S) ) + reg * sum(W**2)
        dW   = X^T G + 2 reg W,    db = sum_i G_i,    G = d loss / dS

    Every row chunk of X runs `maxmargin.svm_loss(reduction="sum")` on the
    worker that holds it; the chunks' (loss, dW, db) are added in a tree
    fixed by the chunk index (runs of 8, left to right) and divided by N
    for "mean". The result
    has the same bits for any number of workers, any task order and any
    scheduler (the active `distributed.Client`, or dask's threads, processes
    or synchronous scheduler), for a given chunking of X. It equals
    `maxmargin.svm_loss` on the gathered arrays to a few ulps of each
    partial sum: the sums are grouped differently (float32: within 1e-5
    relative to max |dW|, float64 1e-12; the tests hold both to that).

    Parameters
    ----------
    W : ndarray of shape (D, C), float32 or float64
        Sent to the workers once per call, as one input of the graph.
    X : dask array of shape (N, D), W's dtype, or a dask DataFrame
        Chunked along its rows (column chunks are joined first). Chunks may
        be NumPy arrays or SciPy sparse matrices, as `maxmargin.svm_loss`
        takes them. Unknown chunk sizes are computed first.
    y : dask array or ndarray of shape (N,), integer labels in [0, C)
        Rechunked like X's rows when it is not already.
    b : ndarray of shape (C,), optional
    reg, delta, p, kind, class_weight
        As in `maxmargin.svm_loss`.
    sample_weight : dask array or ndarray of shape (N,), optional
    reduction : {"mean", "sum"}
    n_threads : int, optional
        Each chunk's `n_threads`. None: the kernel's default, which follows
        the worker's OMP_NUM_THREADS (distributed's nanny sets it to 1).

    Returns
    -------
    loss : float; dW : ndarray (D, C); db : ndarray (C,) only when b is given.
    NaN in X propagates to the loss, as in `maxmargin.svm_loss`; a label or
    weight out of range raises its ValueError naming the row's global index.
    """
    func = "svm_loss"
    W = check.float_array(W, func, "W", 2)
    X = _chunks.as_matrix(X, func)
    if X.dtype != W.dtype:
        check.fail(func, "X", f"{W.dtype} like W (mixed float dtypes are not cast)",
                   f"{X.dtype}", TypeError)
    n_samples, n_features = X.shape
    n_classes = check.class_count(W, func, n_features)
    b = check.bias(b, func, W, "W", n_classes)
    # The options are checked here once, on an empty batch, so that a bad one
    # fails before any task runs; the chunks check their rows.
    _, delta, p, kind, reduction, _, class_weight = check.hinge_options(
        func, np.zeros(0, np.intp), 0, n_classes, delta, p, kind, KINDS, reduction,
        REDUCTIONS, None, class_weight)
    reg = check.non_negative(reg, func, "reg")
    if n_threads is not None:
        check.n_threads(n_threads, func)
    y = _chunks.as_rows_like(y, X, func, "y")
    if sample_weight is not None:
        sample_weight = _chunks.as_rows_like(sample_weight, X, func, "sample_weight")
    return distributed_loss(W, X, y, b, reg, delta, p, kind, sample_weight, class_weight,
                            reduction, n_threads, func)
