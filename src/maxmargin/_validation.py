"""Argument checks for every public kernel: the one place validation lives.

(svm_loss's common call and the benchmark floors read plain arrays'
headers in compiled code first, kernels/common/array_headers.pxd; those
predicates only accept or decline, and a declined call comes here, where
every rule is checked and every error worded.)

Each check either returns an array the Cython layer can use as it is, or
raises ``TypeError`` (wrong kind of thing: dtype, type) or ``ValueError``
(wrong shape or value) with a message of the form::

    svm_loss: X must be a 2-D float32 or float64 array; got a 2-D int64 array

Fast paths come first: a well-formed call pays for a handful of attribute
reads per argument, because at small shapes this module *is* the call's cost.
"""

import math
import numbers
import os

import numpy as np

from . import _runtime

# The BLAS routines take 32-bit `int` dimensions and leading dimensions.
BLAS_INT_MAX = 2**31 - 1

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_INF = math.inf
_INTP = np.dtype(np.intp)
_F64 = np.dtype(np.float64)


def fail(func, name, expected, got, error=ValueError):
    """Raise `error` with the house message format."""
    raise error(f"{func}: {name} must be {expected}; got {got}")


def describe(a):
    """Short description of what was given, for error messages."""
    if isinstance(a, np.ndarray):
        return f"a {a.ndim}-D {a.dtype} array of shape {a.shape}"
    return f"{type(a).__name__} {a!r}"[:200]


# --- arrays -----------------------------------------------------------------

def float_array(a, func, name, ndim):
    """`a` as a native-endian float32/float64 array of `ndim` dims (an int, or
    a tuple of the numbers of dims allowed).

    A non-native byte order is converted (a copy: neither BLAS nor a typed
    memoryview reads it). Memory layout is the business of `blas_operand`,
    `element_strided` and `contiguous`, which each read the flags once.
    """
    if type(a) is not np.ndarray:
        if a is None or isinstance(a, (str, bytes)):
            fail(func, name, f"a {_dims(ndim)} float32 or float64 array", describe(a),
                 TypeError)
        a = np.asarray(a)
    dtype = a.dtype
    if dtype is not _FLOAT_DTYPES[0] and dtype is not _FLOAT_DTYPES[1]:
        if dtype.kind != "f" or dtype.itemsize not in (4, 8):
            fail(func, name, f"a {_dims(ndim)} float32 or float64 array",
                 describe(a), TypeError)
        a = a.astype(dtype.newbyteorder("="))  # same precision, native order
    if a.ndim != ndim and (type(ndim) is int or a.ndim not in ndim):
        fail(func, name, f"a {_dims(ndim)} float32 or float64 array", describe(a))
    return a


def _dims(ndim):
    """ "2-D", or "1-D or 2-D" for a tuple of allowed numbers of dims."""
    if type(ndim) is int:
        return f"{ndim}-D"
    return " or ".join(f"{n}-D" for n in ndim)


def same_dtype(func, reference_name, reference, name, a):
    """`a` has `reference`'s float dtype: mixed dtypes are an error, never cast."""
    if a.dtype is not reference.dtype and a.dtype != reference.dtype:
        fail(func, name, f"{reference.dtype} like {reference_name} (mixed float "
             "dtypes are not cast)", f"{a.dtype}", TypeError)


def blas_operand(a):
    """`a` itself when BLAS can read it through its strides, else a C copy.

    Servable: aligned, with a unit stride along one axis and a leading
    dimension that covers the other axis and fits the BLAS int (the rule of
    kernels/common/blas.pxd). C order, Fortran order, transposed views and slices
    of rows or columns all qualify; anything else (negative, zero or doubly
    strided, misaligned) is copied.
    """
    flags = a.flags
    if flags.aligned:
        if flags.c_contiguous or flags.f_contiguous:
            return a
        rows, cols = a.shape
        item = a.itemsize
        rs, cs = a.strides
        if rs % item == 0 and cs % item == 0:
            rs //= item
            cs //= item
            if (cs == 1 or cols <= 1) and (rows <= 1 or cols <= rs <= BLAS_INT_MAX):
                return a
            if (rs == 1 or rows <= 1) and (cols <= 1 or rows <= cs <= BLAS_INT_MAX):
                return a
    return a.copy()  # C order, aligned


def element_strided(a):
    """`a` itself when aligned with strides of whole elements (any sign, as
    the margin pass reads), else a C copy."""
    flags = a.flags
    if flags.aligned:
        if flags.c_contiguous:
            return a
        item = a.itemsize
        if not any(stride % item for stride in a.strides):
            return a
    return a.copy()


def class_count(W, func, n_features):
    """C of the weights W (D, C), checked: D = n_features (X's columns), C >= 1."""
    if W.shape[0] != n_features:
        fail(func, "W", f"of shape (D, C) with D = {n_features} (X's columns)",
             f"shape {W.shape}")
    if W.shape[1] == 0:
        fail(func, "W", "a (D, C) array with C >= 1 classes", f"shape {W.shape}")
    return W.shape[1]


def bias(b, func, like, like_name, n_columns):
    """b of shape (n_columns,) (W's columns) and `like`'s dtype, C-contiguous;
    None stays None."""
    if b is None:
        return None
    b = float_array(b, func, "b", 1)
    same_dtype(func, like_name, like, "b", b)
    if b.shape[0] != n_columns:
        fail(func, "b", f"of shape ({n_columns},) (W's columns)", f"shape {b.shape}")
    return contiguous(b)


def contiguous(a):
    """`a` itself when aligned and C-contiguous, else a C copy."""
    flags = a.flags
    if flags.aligned and flags.c_contiguous:
        return a
    return a.copy()


def blas_dims(func, *dims):
    """Every dimension fits BLAS's 32-bit int. `dims`: (argument, name of
    the dimension, its value) triples, e.g. ("X", "N", n_samples).

    Callers test ``max(...) > BLAS_INT_MAX`` first and call this only to
    word the error: at small shapes the call itself would be a cost."""
    for argument, name, value in dims:
        if value > BLAS_INT_MAX:
            fail(func, argument, f"at most {BLAS_INT_MAX} along {name} (BLAS's 32-bit "
                 "int); split the problem into smaller blocks", f"{name} = {value}")


def labels(y, n_samples, n_classes, func, name="y", what="labels",
           range_what="class indices"):
    """Labels (or any integer indices) as a C-contiguous intp array of shape
    (n_samples,), for values meant to lie in [0, n_classes).

    Any integer dtype is accepted (bool, float, object: TypeError). The range
    is checked here only where a cast could hide a bad value (unsigned values
    beyond intp); otherwise the kernel checks it while it reads them, and
    `label_error` words its report. `what` and `range_what` name the values in
    messages ("labels", "class indices"; "indices", "row indices of dL_out").
    """
    if type(y) is np.ndarray and y.dtype is _INTP and y.ndim == 1:
        flags = y.flags
        if y.shape[0] == n_samples and flags.c_contiguous and flags.aligned:
            return y  # the common case, in a few attribute reads
    if type(y) is not np.ndarray:
        if y is None or isinstance(y, (str, bytes)):
            fail(func, name, "a 1-D integer array", describe(y), TypeError)
        y = np.asarray(y)
        if y.size == 0 and y.dtype.kind == "f":
            y = y.astype(_INTP)  # `[]` has no dtype of its own: no labels
    dtype = y.dtype
    if dtype.kind not in "iu":
        fail(func, name, f"a 1-D array of integer {what}", describe(y), TypeError)
    if y.ndim != 1 or y.shape[0] != n_samples:
        fail(func, name, f"a 1-D array of shape ({n_samples},)", describe(y))
    if n_samples and dtype.kind == "u" and dtype.itemsize >= _INTP.itemsize:
        # Values above intp's range would wrap negative in the cast: find
        # them first, in the original dtype.
        too_big = np.flatnonzero(y >= n_classes)
        if too_big.size:
            label_error(func, name, y, too_big[0], n_classes, range_what)
    return _aligned(np.ascontiguousarray(y, dtype=_INTP))


def _aligned(a):
    """`a`, or an aligned copy: the kernels read whole elements, and a load of
    an intp or a double at an odd address is undefined behaviour in C (slow
    or a fault on some CPUs). ascontiguousarray keeps a misaligned buffer."""
    return a if a.flags.aligned else a.copy()


def label_error(func, name, y, index, n_classes, range_what="class indices"):
    """Raise the ValueError for the out-of-range value at position `index`
    (reported by a kernel as its LabelError)."""
    raise ValueError(
        f"{func}: {name} must hold {range_what} in [0, {n_classes}); "
        f"got {name}[{index}] = {y[index]}")


def weights(w, length, func, name, what):
    """Non-negative weights as a contiguous float64 array (length,); the
    caller handles the usual None (no weights) itself.

    Integer or float weights of any precision are accepted (they only scale a
    float64 loss); NaN is passed through to the loss, never dropped.
    """
    if type(w) is not np.ndarray:
        if isinstance(w, (str, bytes)):
            fail(func, name, f"a 1-D array of {what}", describe(w), TypeError)
        w = np.asarray(w)
    if w.dtype.kind not in "iuf":
        fail(func, name, f"a 1-D real array of {what}", describe(w), TypeError)
    if w.ndim != 1 or w.shape[0] != length:
        fail(func, name, f"a 1-D array of shape ({length},) ({what})", describe(w))
    if w.dtype is not _F64 or not w.flags.c_contiguous or not w.flags.aligned:
        w = _aligned(np.ascontiguousarray(w, dtype=_F64))
    negative = np.flatnonzero(w < 0)
    if negative.size:
        i = negative[0]
        raise ValueError(f"{func}: {name} must be non-negative; got {name}[{i}] = {w[i]}")
    return w


def output(out, shape, dtype, func, name, inputs=()):
    """An `out=` buffer: exact shape and dtype, C-contiguous, writeable, and not
    overlapping any input it would overwrite while being read."""
    if type(out) is not np.ndarray:
        fail(func, name, "a numpy.ndarray", describe(out), TypeError)
    if out.dtype != dtype:
        fail(func, name, f"an array of dtype {dtype}", f"dtype {out.dtype}", TypeError)
    if out.shape != shape:
        fail(func, name, f"an array of shape {shape}", f"shape {out.shape}")
    flags = out.flags
    if not flags.c_contiguous:
        fail(func, name, "a C-contiguous array", "a non-contiguous array")
    if not flags.writeable:
        fail(func, name, "a writeable array", "a read-only array")
    if not flags.aligned:
        fail(func, name, "an aligned array", "a misaligned array")
    for input_name, a in inputs:
        if a is not None and np.may_share_memory(out, a):
            fail(func, name, f"a buffer that does not overlap {input_name}",
                 "overlapping memory")
    return out


# --- scalars ----------------------------------------------------------------

def non_negative(value, func, name):
    """A finite real number >= 0, as a Python float."""
    if type(value) is float and 0.0 <= value < _INF:
        return value
    if type(value) is not float:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            fail(func, name, "a real number", describe(value), TypeError)
        value = float(value)
    if not 0.0 <= value < _INF:
        fail(func, name, "a finite number >= 0", repr(value))
    return value


def positive_int(value, func, name):
    """An integer >= 1 (a NumPy integer too), as a Python int."""
    if type(value) is not int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            fail(func, name, "a positive integer", describe(value), TypeError)
        value = int(value)
    if value < 1:
        fail(func, name, "a positive integer", repr(value))
    return value


def choice(value, allowed, func, name):
    """One of the strings (or None) in `allowed`."""
    # Only a str or None is compared: `in` would ask an array for its truth
    # value, which raises NumPy's own error instead of ours.
    if not isinstance(value, str) and (value is not None or None not in allowed):
        fail(func, name, f"one of {allowed}", describe(value), TypeError)
    if value not in allowed:
        fail(func, name, f"one of {allowed}", repr(value))
    return value


def power(p, func):
    """The hinge power p: the integer 1 or 2."""
    if type(p) is int and (p == 1 or p == 2):
        return p
    if type(p) is not int:
        if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Integral):
            fail(func, "p", "the integer 1 or 2", describe(p), TypeError)
        p = int(p)
    if p != 1 and p != 2:
        fail(func, "p", "1 or 2", repr(p))
    return p


def flag(value, func, name):
    """True or False (a NumPy bool too); anything else is a TypeError."""
    if value is True or value is False:
        return value
    if not isinstance(value, np.bool_):
        fail(func, name, "True or False", describe(value), TypeError)
    return bool(value)


def denominator(reduction, n_samples):
    """What a reduced loss is divided by: N for "mean" (at least 1, so that
    N = 0 gives 0), 1 for "sum" and "none"."""
    return float(max(n_samples, 1)) if reduction == "mean" else 1.0


def hinge_options(func, y, n_samples, n_classes, delta, p, kind, kinds, reduction,
                  reductions, sample_weight, class_weight):
    """The arguments every hinge kernel shares, checked together.

    Returns (y, delta, p, kind, reduction, sample_weight, class_weight) as
    the kernels take them: intp labels, floats, and float64 weights or None.
    """
    y = labels(y, n_samples, n_classes, func)
    delta = non_negative(delta, func, "delta")
    p = power(p, func)
    kind = choice(kind, kinds, func, "kind")
    reduction = choice(reduction, reductions, func, "reduction")
    if sample_weight is not None:
        sample_weight = weights(sample_weight, n_samples, func, "sample_weight",
                                "per-sample weights")
    if class_weight is not None:
        class_weight = weights(class_weight, n_classes, func, "class_weight",
                               "per-class weights")
    return y, delta, p, kind, reduction, sample_weight, class_weight


# --- threads ----------------------------------------------------------------

def _usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


USABLE_CPUS = _usable_cpus()
_openmp_max_threads = _runtime.openmp_max_threads


def n_threads(value, func):
    """Threads for maxmargin's own loops.

    None: OpenMP's default team for the calling thread, capped by the CPUs
    this process may run on. It is read at each call, so it honours
    OMP_NUM_THREADS and also a later omp_set_num_threads in this thread
    (which is what threadpoolctl.threadpool_limits does). An int >= 1 is
    used as given (capped the same way). Without OpenMP every loop is serial
    whatever is asked.
    """
    if value is None:
        return min(_openmp_max_threads(), USABLE_CPUS)
    if type(value) is not int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            fail(func, "n_threads", "None or a positive integer", describe(value), TypeError)
        value = int(value)
    if value < 1:
        fail(func, "n_threads", "None or a positive integer", repr(value))
    return min(value, USABLE_CPUS)
