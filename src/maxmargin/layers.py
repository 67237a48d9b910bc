"""Backpropagation through the layers around a max-margin loss: the public
functions.

* `linear_forward` / `linear_backward`: ``Y = f(X W + b)`` and its backward
  pass, with the activation fused into one pass beside each GEMM;
* `matmul_backward`: the backward pass of a plain ``Y = X W``;
* `embedding_backward`: the scatter-add of word-vector gradients into rows of
  an embedding table;
* `xavier_init`: Glorot-uniform initial weights.

As in `maxmargin.hinge`, each function validates (`maxmargin._validation`),
allocates (large outputs from the cache of `maxmargin._memory`), and calls
one compiled kernel (`maxmargin._layers`) that releases
the GIL; `maxmargin.reference` states the same mathematics in NumPy.
"""

import math
from typing import NamedTuple, Optional

import numpy as np

from . import _layers
from . import _memory
from . import sparse
from ._dispatch import by_dtype
from . import _validation as check

# The kernels' activation codes are the positions in this tuple.
ACTIVATIONS = (None, "relu", "tanh", "sigmoid")
_ACTIVATION_CODE = {name: code for code, name in enumerate(ACTIVATIONS)}

_FORWARD = by_dtype(_layers.linear_forward_kernel)
_BACKWARD = by_dtype(_layers.linear_backward_kernel)
_EMBEDDING_BACKWARD = by_dtype(_layers.embedding_backward_kernel)

_THREADS_AND_LAYOUT = """
    Notes
    -----
    * X, W and dY are read in place in C order, Fortran order, as transposed
      views or slices with a unit stride along one axis (BLAS transpose
      flags); other strides are copied. Read-only arrays work.
    * float32 stays float32; db sums in float64 and is rounded once.
    * The matrix products run on the BLAS library's own threads;
      ``n_threads`` splits maxmargin's elementwise pass. None runs that pass
      serially: right after a multithreaded GEMM, OpenBLAS's worker threads
      keep spinning on the cores for a while (``OPENBLAS_THREAD_TIMEOUT``),
      so on a small machine a thread team next to a GEMM waits for them or
      starves the next GEMM. Ask for threads when BLAS runs single-threaded.
      Results are identical, bit for bit, for every ``n_threads``.
"""


class LinearCache(NamedTuple):
    """What `linear_backward` needs from `linear_forward`.

    It holds references, not copies: update X or W in place only after the
    backward pass (as an optimiser step does), or dX and dW will use the new
    values.

    Attributes
    ----------
    X : ndarray (N, D_in)
        The input as the GEMM read it (the caller's array, or a C copy when
        its strides could not be given to BLAS).
    W : ndarray (D_in, D_out)
        The weights, likewise.
    Y : ndarray (N, D_out), C-contiguous
        The layer's output f(X W + b); the backward pass takes f' from it.
    activation : None, "relu", "tanh" or "sigmoid"
    has_bias : bool
        Whether b was given; then `linear_backward` returns db.
    """

    X: np.ndarray
    W: np.ndarray
    Y: np.ndarray
    activation: Optional[str]
    has_bias: bool

    def __repr__(self):
        return (f"LinearCache(X: {self.X.shape} {self.X.dtype}, W: {self.W.shape}, "
                f"Y: {self.Y.shape}, activation={self.activation!r}, "
                f"has_bias={self.has_bias})")


def _pass_threads(n_threads, func):
    """Threads for an elementwise pass beside a GEMM: serial unless asked
    (see the notes of `linear_backward`)."""
    return 1 if n_threads is None else check.n_threads(n_threads, func)


def _layer_operands(func, X, W):
    """X (N, D_in) and W (D_in, D_out) of one float dtype, served to BLAS."""
    X = check.float_array(X, func, "X", 2)
    W = check.float_array(W, func, "W", 2)
    check.same_dtype(func, "X", X, "W", W)
    n_samples, n_in = X.shape
    if W.shape[0] != n_in:
        check.fail(func, "W", f"of shape (D_in, D_out) with D_in = {n_in} (X's columns)",
                   f"shape {W.shape}")
    # Before any copy: a too-large array must be refused, not copied.
    if max(n_samples, n_in, W.shape[1]) > check.BLAS_INT_MAX:
        check.blas_dims(func, ("X", "N", n_samples), ("X", "D_in", n_in),
                        ("W", "D_out", W.shape[1]))
    return check.blas_operand(X), check.blas_operand(W)


def linear_forward(X, W, b=None, *, activation=None, out=None, n_threads=None):
    """A linear layer with an optional activation: ``Y = f(X W + b)``.

    One GEMM writes ``X W`` into Y; one pass over Y then adds b and applies f.

    Parameters
    ----------
    X : ndarray of shape (N, D_in), float32 or float64
    W : ndarray of shape (D_in, D_out), X's dtype
    b : ndarray of shape (D_out,), optional
    activation : {None, "relu", "tanh", "sigmoid"}
        ``relu(z) = max(0, z)``, ``sigmoid(z) = 1 / (1 + exp(-z))``. f is
        evaluated in float64 on the pre-activation (rounded in the data's
        dtype, as NumPy's ``X @ W + b``) and rounded once.
    out : ndarray of shape (N, D_out), optional
        C-contiguous buffer of X's dtype for Y; must not overlap X, W or b.
    n_threads : int, optional
        Threads for the bias-and-activation pass; None runs it serially (see
        the notes below).

    Returns
    -------
    Y : ndarray of shape (N, D_out), C-contiguous
    cache : LinearCache
        References to X, W and Y (and the activation), for `linear_backward`.
    """
    func = "linear_forward"
    if sparse.is_sparse(X):
        activation = check.choice(activation, ACTIVATIONS, func, "activation")
        return sparse.linear_forward(func, X, W, b, activation, _ACTIVATION_CODE[activation],
                                     out, n_threads)
    X, W = _layer_operands(func, X, W)
    n_samples, n_out = X.shape[0], W.shape[1]
    dtype = X.dtype
    b = check.bias(b, func, X, "X", n_out)
    activation = check.choice(activation, ACTIVATIONS, func, "activation")
    threads = _pass_threads(n_threads, func)
    if out is None:
        Y = _memory.empty((n_samples, n_out), dtype)
    else:
        Y = check.output(out, (n_samples, n_out), dtype, func, "out",
                         (("X", X), ("W", W), ("b", b)))
    _FORWARD[dtype](X, W, b, _ACTIVATION_CODE[activation], Y, threads)
    return Y, LinearCache(X, W, Y, activation, b is not None)


linear_forward.__doc__ += _THREADS_AND_LAYOUT


def _gradient_buffer(func, name, out, shape, dtype, inputs):
    """A fresh gradient array, or the caller's checked `out` buffer."""
    if out is None:
        return _memory.empty(shape, dtype)
    return check.output(out, shape, dtype, func, name, inputs)


def _backward(func, dY, X, W, Y, activation, has_bias, need_dX, dX_out, dW_out,
              db_out, accumulate, n_threads):
    """The shared body of `linear_backward` and `matmul_backward`: dY checked
    against the forward pass's shapes, then buffers, then the kernel."""
    dtype = X.dtype
    n_samples, n_out = X.shape[0], W.shape[1]
    dY = check.float_array(dY, func, "dY", 2)
    if dY.dtype != dtype:
        check.fail(func, "dY", f"{dtype} like X (mixed float dtypes are not cast)",
                   f"{dY.dtype}", TypeError)
    if dY.shape != (n_samples, n_out):
        check.fail(func, "dY", f"of shape {(n_samples, n_out)} (Y's: N from X, D_out "
                   "from W)", f"shape {dY.shape}")
    dY = check.blas_operand(dY)
    need_dX = check.flag(need_dX, func, "need_dX")
    accumulate = check.flag(accumulate, func, "accumulate")
    threads = _pass_threads(n_threads, func)
    if not need_dX and dX_out is not None:
        check.fail(func, "dX_out", "None when need_dX=False", check.describe(dX_out))
    if not has_bias and db_out is not None:
        check.fail(func, "db_out", "None when the layer has no bias", check.describe(db_out))
    if accumulate and dX_out is None and dW_out is None and db_out is None:
        check.fail(func, "accumulate", "False when no out buffer is given (nothing to "
                   "add into)", "True")

    inputs = (("dY", dY), ("X", X), ("W", W), ("Y", Y))
    dW = _gradient_buffer(func, "dW_out", dW_out, W.shape, dtype, inputs)
    dX = None
    if need_dX:
        dX = _gradient_buffer(func, "dX_out", dX_out, X.shape, dtype,
                              inputs + (("dW_out", dW),))
    db = None
    if has_bias:
        db = _gradient_buffer(func, "db_out", db_out, (n_out,), dtype,
                              inputs + (("dW_out", dW), ("dX_out", dX)))

    # dZ = dY * f'(Y) needs a buffer of dY's shape. Allocated here, beside
    # the outputs, rather than inside the kernel, and from the output cache:
    # a large scratch malloc'd and freed on every call comes back from the
    # OS as new pages to be zeroed every time; from the cache it is the same
    # block each call (bench/results/2026-11-21.md).
    dZ = None if activation is None else _memory.empty((n_samples, n_out), dtype)
    _BACKWARD[dtype](dY, X, W, Y, _ACTIVATION_CODE[activation], dZ, dX, dW, db,
                     accumulate and dX_out is not None, accumulate and dW_out is not None,
                     accumulate and db_out is not None, threads)
    return dX, dW, db


def linear_backward(dY, cache, *, need_dX=True, dX_out=None, dW_out=None, db_out=None,
                    accumulate=False, n_threads=None):
    """Backward pass of `linear_forward`: gradients of X, W and b from dY.

    With ``Z = X W + b`` and ``Y = f(Z)``::

        dZ = dY * f'(Z)          (relu: [Y > 0]; tanh: 1 - Y^2; sigmoid: Y (1 - Y))
        db = sum_i dZ_i          (float64 accumulator)
        dW = X^T dZ,    dX = dZ W^T

    dZ and db come from one pass over dY and Y; dW and dX are one GEMM each,
    reading X, W and dZ through BLAS transpose flags (no copies). Without an
    activation dZ is dY itself. The gradient of relu at exactly 0 is 0; a NaN
    in Y gives NaN in dZ.

    Parameters
    ----------
    dY : ndarray of shape (N, D_out), the forward pass's dtype
        Gradient of the loss with respect to Y.
    cache : LinearCache
        The second value `linear_forward` returned.
    need_dX : bool, default True
        False skips the dX product (a first layer, whose input needs none)
        and returns dX = None.
    dX_out, dW_out, db_out : ndarrays, optional
        C-contiguous buffers of shapes (N, D_in), (D_in, D_out) and (D_out,)
        for the gradients; they must not overlap dY, X, W, Y or each other.
        dW comes back in W's shape, C-contiguous, whatever W's layout.
    accumulate : bool, default False
        Add the gradients into the buffers given instead of overwriting them,
        with beta = 1 in the GEMMs and no temporary: gradients add up where a
        variable forks. Gradients without a buffer come back fresh (a weight
        shared by two branches accumulates into ``dW_out`` while each
        branch's dX is its own).
    n_threads : int, optional
        Threads for the pass that forms dZ and db; None runs it serially (see
        the notes below).

    Returns
    -------
    dX : ndarray of shape (N, D_in), or None when ``need_dX=False``
    dW : ndarray of shape (D_in, D_out)
    db : ndarray of shape (D_out,), or None when the layer has no bias
    """
    func = "linear_backward"
    if not isinstance(cache, LinearCache):
        check.fail(func, "cache", "the LinearCache returned by linear_forward",
                   check.describe(cache), TypeError)
    X, W, Y, activation, has_bias = cache
    # A cache is a plain tuple that a caller could assemble by hand: check
    # what the kernel relies on (cheap for one that linear_forward made).
    activation = check.choice(activation, ACTIVATIONS, func, "cache.activation")
    if sparse.is_sparse(X):
        Y = check.float_array(Y, func, "cache.Y", 2)
        if Y.shape != (X.shape[0], np.shape(W)[1]):
            check.fail(func, "cache.Y", f"of shape {(X.shape[0], np.shape(W)[1])}",
                       check.describe(Y))
        Y = check.contiguous(Y) if activation is not None else None
        return sparse.backward(func, dY, X, W, Y, activation, _ACTIVATION_CODE[activation],
                               bool(has_bias), need_dX, dX_out, dW_out, db_out, accumulate,
                               n_threads)
    X, W = _layer_operands(func, X, W)
    Y = check.float_array(Y, func, "cache.Y", 2)
    if Y.dtype != X.dtype or Y.shape != (X.shape[0], W.shape[1]):
        check.fail(func, "cache.Y", f"a {X.dtype} array of shape {(X.shape[0], W.shape[1])}",
                   check.describe(Y))
    Y = check.contiguous(Y) if activation is not None else None
    return _backward(func, dY, X, W, Y, activation, bool(has_bias), need_dX, dX_out,
                     dW_out, db_out, accumulate, n_threads)


linear_backward.__doc__ += _THREADS_AND_LAYOUT


def matmul_backward(dY, X, W, *, need_dX=True, dX_out=None, dW_out=None,
                    accumulate=False, n_threads=None):
    """Backward pass of a plain matrix product ``Y = X W`` (no cache needed)::

        dX = dY W^T,    dW = X^T dY

    one GEMM each, through BLAS transpose flags (no copies).

    Parameters
    ----------
    dY : ndarray of shape (N, D_out)
    X : ndarray of shape (N, D_in), dY's dtype
    W : ndarray of shape (D_in, D_out), dY's dtype
    need_dX, dX_out, dW_out, accumulate
        As in `linear_backward`.
    n_threads : int, optional
        Accepted for a uniform signature: both products run on the BLAS
        library's own threads (set them with threadpoolctl or
        OPENBLAS_NUM_THREADS), and there is no elementwise pass to split.

    Returns
    -------
    dX : ndarray of shape (N, D_in), or None when ``need_dX=False``
    dW : ndarray of shape (D_in, D_out)
    """
    func = "matmul_backward"
    if sparse.is_sparse(X):
        dX, dW, _ = sparse.backward(func, dY, X, W, None, None, 0, False, need_dX, dX_out,
                                    dW_out, None, accumulate, n_threads)
        return dX, dW
    X, W = _layer_operands(func, X, W)
    dX, dW, _ = _backward(func, dY, X, W, None, None, False, need_dX, dX_out, dW_out,
                          None, accumulate, n_threads)
    return dX, dW


def embedding_backward(dX, indices, dL_out):
    """Scatter-add word-vector gradients into an embedding table's gradient::

        dL_out[indices[m]] += dX[m]      for m = 0, ..., M - 1, in that order

    A row that several windows share (a repeated index) receives the sum of
    their gradients, exactly as ``np.add.at(dL_out, indices, dX)``. The adds
    run serially in order of m: deterministic, and race-free by construction.

    Parameters
    ----------
    dX : ndarray of shape (M, d), float32 or float64
        Gradients of the looked-up rows (for windows of w words, the window
        gradients reshaped to (M * w, d)). Any strides are read in place.
    indices : ndarray of shape (M,), any integer dtype
        Rows of the table, in [0, V).
    dL_out : ndarray of shape (V, d), dX's dtype
        C-contiguous, writeable gradient of the table, added into (zero it
        first for a fresh gradient). Must not overlap dX.

    Returns
    -------
    dL_out : the same array

    Raises
    ------
    ValueError
        For an index outside [0, V), naming its first position and value;
        dL_out is then left unchanged.
    """
    func = "embedding_backward"
    dX = check.float_array(dX, func, "dX", 2)
    if type(dL_out) is not np.ndarray or dL_out.ndim != 2:
        check.fail(func, "dL_out", "a 2-D float32 or float64 numpy.ndarray",
                   check.describe(dL_out), TypeError if type(dL_out) is not np.ndarray
                   else ValueError)
    n_rows, width = dL_out.shape
    if dX.shape[1] != width:
        check.fail(func, "dX", f"of shape (M, {width}) (dL_out's row width)",
                   f"shape {dX.shape}")
    dL = check.output(dL_out, (n_rows, width), dX.dtype, func, "dL_out", (("dX", dX),))
    n_lookups = dX.shape[0]
    indices = check.labels(indices, n_lookups, n_rows, func, "indices", "indices",
                           "row indices of dL_out")
    bad = _EMBEDDING_BACKWARD[dL.dtype](check.element_strided(dX), indices, dL)
    if bad >= 0:
        check.label_error(func, "indices", indices, bad, n_rows, "row indices of dL_out")
    return dL


def xavier_init(fan_in, fan_out, *, dtype=np.float64, rng=None):
    """Glorot-uniform initial weights of shape (fan_in, fan_out).

    Entries are drawn from ``U(-a, a)`` with ``a = sqrt(6 / (fan_in + fan_out))``,
    which keeps the variance of activations and gradients about equal across
    layers (Glorot and Bengio, 2010). The shape is W's in `linear_forward`:
    (D_in, D_out).

    Parameters
    ----------
    fan_in, fan_out : int >= 1
    dtype : float32 or float64, default float64
        Drawn directly in this dtype (no float64 round trip for float32).
    rng : None, int, numpy.random.Generator or SeedSequence, optional
        Anything `numpy.random.default_rng` accepts; None draws fresh entropy.
    """
    func = "xavier_init"
    fan_in = check.positive_int(fan_in, func, "fan_in")
    fan_out = check.positive_int(fan_out, func, "fan_out")
    try:
        dtype = np.dtype(dtype)
    except Exception:  # NumPy's parser of dtype strings raises several kinds
        check.fail(func, "dtype", "float32 or float64", check.describe(dtype), TypeError)
    if dtype not in (np.float32, np.float64):
        check.fail(func, "dtype", "float32 or float64", str(dtype), TypeError)
    try:
        if isinstance(rng, (bool, np.bool_)):  # a seed of True is surely a slip
            raise TypeError
        generator = np.random.default_rng(rng)
    except (TypeError, ValueError):
        check.fail(func, "rng", "None, an int seed or a numpy.random.Generator",
                   check.describe(rng), TypeError)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    # U[0, 1) scaled to [-a, a); in float32 the last rounding may reach a.
    unit = generator.random((fan_in, fan_out), dtype=dtype)
    return unit * dtype.type(2 * limit) - dtype.type(limit)
