"""Sparse X: `svm_loss`, `linear_forward`, `linear_backward` and
`matmul_backward` with X a SciPy sparse matrix or array.

The public functions take sparse X themselves (`maxmargin.svm_loss(W, X,
y)` with X a ``scipy.sparse.csr_array``); they come here, where X is
checked and its CSR parts handed to the compiled kernels
(`maxmargin._sparse`, kernels/sparse/). What is read in place and what is
copied:

* CSR (``csr_matrix``, ``csr_array``) is read in place: data, indices and
  indptr as they are. Any other format (CSC, COO, BSR, LIL, DOK, DIA) is
  converted to CSR once per call, ``X.tocsr()``: a copy of X.
* data must be float32 or float64, X's dtype matching W's (never cast);
  indices and indptr int32 or int64 (an indptr whose dtype differs from
  the indices' is converted, N + 1 values).
* Unsorted indices, duplicate entries (they add up), explicit zeros and
  empty rows give the result of the equivalent dense matrix.
* W is read by rows: a W that is not C-contiguous is copied to C order
  (D x C, like dW).

A corrupt structure is a ValueError naming the argument: indptr not
starting at 0, decreasing, or not ending at the stored entries, a column
index outside [0, D), lengths that disagree. The kernels check what a row
pass must trust, the indices' range as they read them.
"""

import numpy as np

from . import _memory
from . import _sparse
from . import _validation as check

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_INDEX_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))


def is_sparse(X):
    """Whether X is a SciPy sparse matrix or array (without importing
    scipy.sparse for the dense calls)."""
    if isinstance(X, np.ndarray) or not hasattr(X, "tocsr"):
        return False
    import scipy.sparse
    return scipy.sparse.issparse(X)


def by_types(fused_kernel):
    """The fused kernel's specialisations keyed by (value dtype, index
    dtype)."""
    specialised = fused_kernel.__signatures__
    table = {}
    for key, function in specialised.items():
        value, index = key.split("|")
        table[(np.dtype(np.float32 if value == "float" else np.float64),
               np.dtype(np.int32 if index == "int32_t" else np.int64))] = function
    return table


_SVM_LOSS = by_types(_sparse.csr_svm_loss_kernel)
_MATMUL = by_types(_sparse.csr_matmul_kernel)
_CHECK = {np.dtype(np.int32): _sparse.csr_check_kernel["int32_t"],
          np.dtype(np.int64): _sparse.csr_check_kernel["int64_t"]}
_TRANSPOSE_MATMUL = by_types(_sparse.csr_transpose_matmul_kernel)


class CSRParts:
    """A checked CSR view of X: data (nnz,), indices (nnz,), indptr (N + 1,)
    and the shape, each contiguous; `matrix` is the CSR matrix they belong
    to (X itself when X was CSR)."""

    __slots__ = ("data", "indices", "indptr", "shape", "matrix")

    def __init__(self, data, indices, indptr, shape, matrix):
        self.data, self.indices, self.indptr = data, indices, indptr
        self.shape, self.matrix = shape, matrix


def csr_parts(X, func, name="X"):
    """X as CSRParts: CSR in place, any other format converted once; the
    structure's lengths and dtypes checked (indptr's values and the column
    indices are the kernels' to check, as they read them)."""
    if len(X.shape) != 2:
        check.fail(func, name, "a 2-D sparse matrix", f"shape {tuple(X.shape)}")
    if getattr(X, "format", None) != "csr":
        X = X.tocsr()
    shape = tuple(int(n) for n in X.shape)
    data, indices, indptr = X.data, X.indices, X.indptr
    for part, array in (("data", data), ("indices", indices), ("indptr", indptr)):
        if not isinstance(array, np.ndarray) or array.ndim != 1:
            check.fail(func, f"{name}.{part}", "a 1-D array", check.describe(array), TypeError)
    if data.dtype not in _FLOAT_DTYPES:
        check.fail(func, f"{name}.data", "float32 or float64 values", f"dtype {data.dtype}",
                   TypeError)
    if indices.dtype not in _INDEX_DTYPES:
        check.fail(func, f"{name}.indices", "int32 or int64 column indices",
                   f"dtype {indices.dtype}", TypeError)
    if indptr.dtype not in _INDEX_DTYPES:
        check.fail(func, f"{name}.indptr", "an int32 or int64 index pointer",
                   f"dtype {indptr.dtype}", TypeError)
    if indptr.shape[0] != shape[0] + 1:
        check.fail(func, f"{name}.indptr", f"of length N + 1 = {shape[0] + 1}",
                   f"length {indptr.shape[0]}")
    if data.shape[0] != indices.shape[0]:
        check.fail(func, f"{name}.data", f"as long as {name}.indices ({indices.shape[0]})",
                   f"length {data.shape[0]}")
    if indptr[0] != 0:
        check.fail(func, f"{name}.indptr", "to start at 0", f"{name}.indptr[0] = {indptr[0]}")
    nnz = int(indptr[-1])
    if not 0 <= nnz <= indices.shape[0]:
        check.fail(func, f"{name}.indptr", f"to end at most at the {indices.shape[0]} stored "
                   "entries", f"{name}.indptr[-1] = {nnz}")
    if nnz < indices.shape[0]:  # room to spare after the entries: leave it out
        data, indices = data[:nnz], indices[:nnz]
    data = check.contiguous(data if data.dtype.isnative else data.astype(data.dtype.newbyteorder("=")))
    indices = check.contiguous(indices.astype(indices.dtype.newbyteorder("="), copy=False))
    indptr = check.contiguous(indptr.astype(indices.dtype, copy=False))
    return CSRParts(data, indices, indptr, shape, X)


def raise_structure(error, func, X, name="X"):
    """Word a kernel's report on X's structure as the ValueError it is."""
    if isinstance(error, _sparse.ColumnIndexError):
        check.fail(func, f"{name}.indices", f"column indices in [0, {X.shape[1]}) (D)",
                   f"{name}.indices[{error.entry}] = {X.indices[error.entry]} in row "
                   f"{error.row}")
    if isinstance(error, _sparse.StructureError):
        at = error.position
        check.fail(func, f"{name}.indptr", error.what,
                   f"{name}.indptr[{at}] = {X.indptr[at]}"
                   + (f" after {X.indptr[at - 1]}" if error.what.startswith("be") else ""))
    raise error


def _rows_operand(W, func):
    """W (D, C) as the kernels read it: rows contiguous (a C copy otherwise)."""
    return W if W.flags.c_contiguous and W.flags.aligned else np.ascontiguousarray(W)


def svm_loss(func, W, X, y, b, reg, delta, p, kind, sample_weight, class_weight,
             reduction, dW_out, db_out, accumulate, n_threads, kinds, reductions):
    """`maxmargin.svm_loss` with X sparse: the arguments of the public
    function, X not yet checked."""
    W = check.float_array(W, func, "W", 2)
    parts = csr_parts(X, func)
    n_samples, n_features = parts.shape
    if parts.data.dtype != W.dtype:
        check.fail(func, "X", f"{W.dtype} values like W (mixed float dtypes are not cast)",
                   f"{parts.data.dtype}", TypeError)
    n_classes = check.class_count(W, func, n_features)
    W = _rows_operand(W, func)
    b = check.bias(b, func, W, "W", n_classes)
    y, delta, p, kind, reduction, sample_weight, class_weight = check.hinge_options(
        func, y, n_samples, n_classes, delta, p, kind, kinds, reduction, reductions,
        sample_weight, class_weight)
    reg = check.non_negative(reg, func, "reg")
    accumulate = check.flag(accumulate, func, "accumulate")
    threads = check.n_threads(n_threads, func)
    dtype = W.dtype
    if b is None and db_out is not None:
        check.fail(func, "db_out", "None when no bias b is given", check.describe(db_out))
    if accumulate and dW_out is None and db_out is None:
        check.fail(func, "accumulate", "False when no out buffer is given (nothing to "
                   "add into)", "True")
    inputs = (("W", W), ("X.data", parts.data), ("sample_weight", sample_weight),
              ("class_weight", class_weight))
    dW = (_memory.empty((n_features, n_classes), dtype) if dW_out is None else
          check.output(dW_out, (n_features, n_classes), dtype, func, "dW_out", inputs))
    db = None
    if b is not None:
        db = (_memory.empty(n_classes, dtype) if db_out is None else
              check.output(db_out, (n_classes,), dtype, func, "db_out",
                           inputs + (("b", b), ("dW_out", dW))))
    kernel = _SVM_LOSS[(dtype, parts.indices.dtype)]
    try:
        loss = kernel(W, parts.data, parts.indices, parts.indptr, y, b, reg, delta, p,
                      kind == "crammer_singer", sample_weight, class_weight,
                      check.denominator(reduction, n_samples), dW, db,
                      accumulate and dW_out is not None, accumulate and db_out is not None,
                      threads, dW_out is not None)
    except _sparse.LabelError as bad:
        check.label_error(func, "y", y, bad.index, n_classes)
    except (_sparse.ColumnIndexError, _sparse.StructureError) as bad:
        raise_structure(bad, func, parts.matrix)
    if b is None:
        return loss, dW
    return loss, dW, db


def _layer_weights(func, W, parts):
    W = check.float_array(W, func, "W", 2)
    if parts.data.dtype != W.dtype:
        check.fail(func, "X", f"{W.dtype} values like W (mixed float dtypes are not cast)",
                   f"{parts.data.dtype}", TypeError)
    if W.shape[0] != parts.shape[1]:
        check.fail(func, "W", f"of shape (D_in, D_out) with D_in = {parts.shape[1]} (X's "
                   "columns)", f"shape {W.shape}")
    return _rows_operand(W, func)


def linear_forward(func, X, W, b, activation, activation_code, out, n_threads):
    """`maxmargin.linear_forward` with X sparse: Y = X W (+ b) by the rows'
    gathers, then f in one pass over Y; the cache holds X's CSR matrix."""
    from . import _layers
    from .layers import LinearCache
    parts = csr_parts(X, func)
    W = _layer_weights(func, W, parts)
    n_samples, n_out = parts.shape[0], W.shape[1]
    b = check.bias(b, func, W, "W", n_out)
    threads = check.n_threads(n_threads, func)
    dtype = W.dtype
    Y = (_memory.empty((n_samples, n_out), dtype) if out is None else
         check.output(out, (n_samples, n_out), dtype, func, "out",
                      (("X.data", parts.data), ("W", W), ("b", b))))
    try:
        if out is not None:  # a bad index found mid-pass would leave out half written
            _CHECK[parts.indices.dtype](parts.indices, parts.indptr, W.shape[0])
        _MATMUL[(dtype, parts.indices.dtype)](W, parts.data, parts.indices, parts.indptr, b,
                                              Y, threads)
    except (_sparse.ColumnIndexError, _sparse.StructureError) as bad:
        raise_structure(bad, func, parts.matrix)
    if activation is not None:
        _layers.bias_activation_kernel(Y, None, activation_code, threads)
    return Y, LinearCache(parts.matrix, W, Y, activation, b is not None)


def backward(func, dY, X, W, Y, activation, activation_code, has_bias, need_dX, dX_out,
             dW_out, db_out, accumulate, n_threads):
    """The backward pass of Y = f(X W + b) with X sparse: dZ and db from one
    pass over dY (and Y), dW = X^T dZ by the rows' scatters. dX = dZ W^T is
    dense (N x D_in): refused, unless asked for at X's stored entries only
    (need_dX="pattern": a sparse matrix of X's pattern holding dL/dX there).
    Returns (dX, dW, db)."""
    from . import _layers
    parts = csr_parts(X, func, "X" if func == "matmul_backward" else "cache.X")
    W = _layer_weights(func, W, parts)
    dtype = W.dtype
    n_samples, n_out = parts.shape[0], W.shape[1]
    dY = check.float_array(dY, func, "dY", 2)
    if dY.dtype != dtype:
        check.fail(func, "dY", f"{dtype} like X (mixed float dtypes are not cast)",
                   f"{dY.dtype}", TypeError)
    if dY.shape != (n_samples, n_out):
        check.fail(func, "dY", f"of shape {(n_samples, n_out)} (Y's: N from X, D_out from W)",
                   f"shape {dY.shape}")
    pattern = isinstance(need_dX, str) and need_dX == "pattern"
    if not pattern:
        if not (need_dX is True or need_dX is False or isinstance(need_dX, np.bool_)):
            check.fail(func, "need_dX", "True, False or 'pattern'", check.describe(need_dX),
                       TypeError)
        if need_dX:
            check.fail(func, "need_dX", "False or 'pattern' when X is sparse (dX = dZ W^T "
                       "is a dense N x D_in array; 'pattern' gives it at X's stored "
                       "entries)", "True")
    if dX_out is not None:
        check.fail(func, "dX_out", "None when X is sparse (dX comes back as a sparse "
                   "matrix of X's pattern)", check.describe(dX_out))
    accumulate = check.flag(accumulate, func, "accumulate")
    threads = check.n_threads(n_threads, func)
    if not has_bias and db_out is not None:
        check.fail(func, "db_out", "None when the layer has no bias", check.describe(db_out))
    if accumulate and dW_out is None and db_out is None:
        check.fail(func, "accumulate", "False when no out buffer is given (nothing to "
                   "add into)", "True")
    inputs = (("dY", dY), ("X.data", parts.data), ("W", W), ("Y", Y))
    dW = (_memory.empty(W.shape, dtype) if dW_out is None else
          check.output(dW_out, W.shape, dtype, func, "dW_out", inputs))
    db = None
    if has_bias:
        db = (_memory.empty(n_out, dtype) if db_out is None else
              check.output(db_out, (n_out,), dtype, func, "db_out", inputs + (("dW_out", dW),)))
    if activation is None:
        dY = check.contiguous(dY)  # the scatter reads dZ = dY by rows
        dZ = dY
    else:
        dZ = _memory.empty((n_samples, n_out), dtype)
    types = (dtype, parts.indices.dtype)
    try:
        if db_out is not None:  # written below before the scatter checks X
            _CHECK[parts.indices.dtype](parts.indices, parts.indptr, W.shape[0])
        if activation is not None or db is not None:
            _layers.backward_elementwise_kernel(dY, Y, activation_code, dZ, db,
                                                accumulate and db_out is not None, threads)
        _TRANSPOSE_MATMUL[types](parts.data, parts.indices, parts.indptr, dZ, dW,
                                 accumulate and dW_out is not None, threads)
        dX = None
        if pattern:
            values = np.empty(parts.indices.shape[0], dtype)
            _PATTERN_GRADIENT[types](dZ, W, parts.indices, parts.indptr, values, threads)
            dX = type(parts.matrix)((values, parts.indices, parts.indptr), shape=parts.shape)
    except (_sparse.ColumnIndexError, _sparse.StructureError) as bad:
        raise_structure(bad, func, parts.matrix)
    return dX, dW, db


_PATTERN_GRADIENT = by_types(_sparse.csr_pattern_gradient_kernel)
