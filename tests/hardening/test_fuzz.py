"""Fuzzing every public kernel with hypothesis.

Each example starts from a valid call (shapes N, D, C from 0 or 1 up, both
dtypes, every option, inputs in any memory layout: C or Fortran order,
reversed, strided, at an odd byte offset, read-only) and replaces some of
its arguments with something else: an array of any dtype (float16, big-
endian floats, every int and uint, bool, complex, object, strings), of any
ndim from 0 to 3 and any shape including zeros; the valid array with one
dimension changed, a dimension added or dropped, or another dtype; values
with NaN, +-inf, +-1e308, subnormals; labels and indices at the int32 and
int64 edges; scalars, None, strings and lists for any keyword.

The sparse calls (svm_loss, linear_forward, linear_backward and
matmul_backward with X a SciPy sparse matrix) draw X with int32 or int64
indices, unsorted, duplicated and explicit-zero entries, in CSR, CSC or COO,
and corrupt it as a matrix built from raw arrays can be: column indices at
D, negative or huge, indptr decreasing, not from 0, past the entries or of
the wrong length, data shorter than indices, data and index arrays of the
wrong dtype, NaN and inf values.

The call must then either raise ValueError or TypeError with the house
message, "<function>: <argument> must ...", naming one of the function's
arguments, or return what the NumPy reference returns for the same
arguments (to the suite's usual tolerance where every input is moderate;
where inputs are huge, only matching shapes and dtypes, since the order of
a sum decides whether 1e308 + 1e308 - 1e308 overflows). Never a crash,
never another exception.

Examples run per function: the hypothesis profile's (200 in the default
"ci" profile), the same ones every run. A long run, of fresh random
examples for a given number of seconds in all:

    MAXMARGIN_FUZZ_SECONDS=3600 python -m pytest tests/hardening/test_fuzz.py -q -s

repeats each function's fuzz for its share of the time and prints how many
examples ran.
"""

import inspect
import math
import os
import re
import time

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import maxmargin
from maxmargin import reference

from support import assert_close

FUZZ_SECONDS = float(os.environ.get("MAXMARGIN_FUZZ_SECONDS", "0"))
EXAMPLES_RUN = {}  # function -> examples, printed by conftest.py

# --- values ------------------------------------------------------------------

ANY_DTYPES = [np.dtype(t) for t in (
    np.float16, np.float32, np.float64, ">f4", ">f8", np.int8, np.int16, np.int32,
    np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.bool_, np.complex64,
    np.complex128, object, "U3", "S2")]
SPECIAL_FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, 3.0, math.nan, math.inf, -math.inf, 1e308,
                  -1e308, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-310, 3.4e38, 1e-45]
LABEL_EDGES = [0, 1, 2, -1, 2**31 - 1, -2**31, 2**31, 2**32, 2**63 - 1, -2**63, 2**64 - 1]
DIMS = [0, 1, 2, 3, 5]
MODERATE = 1e6  # inputs at most this large are compared to the reference's values


def floats(special=True):
    moderate = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
    return st.one_of(moderate, st.sampled_from(SPECIAL_FLOATS)) if special else moderate


@st.composite
def filled(draw, dtype, shape, special=True):
    """An array of `dtype` and `shape` with values to match its kind."""
    dtype = np.dtype(dtype)
    n = math.prod(shape)
    kind = dtype.kind
    if kind in "fc":
        values = draw(st.lists(floats(special), min_size=n, max_size=n))
        with np.errstate(over="ignore"):
            return np.array(values, dtype=np.float64).astype(dtype).reshape(shape)
    if kind in "iu":
        info = np.iinfo(dtype)
        edges = [v for v in LABEL_EDGES if info.min <= v <= info.max] + [info.min, info.max]
        values = draw(st.lists(st.one_of(st.integers(-3, 5).filter(lambda v: v >= info.min),
                                         st.sampled_from(edges)), min_size=n, max_size=n))
        return np.array(values, dtype=dtype).reshape(shape)
    if kind == "b":
        return np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)),
                        dtype=bool).reshape(shape)
    if kind == "O":
        values = draw(st.lists(st.one_of(st.none(), st.integers(-3, 3), floats(), st.text(max_size=2)),
                               min_size=n, max_size=n))
        out = np.empty(n, dtype=object)
        out[:] = values
        return out.reshape(shape)
    text = st.text(max_size=3) if kind == "U" else st.binary(max_size=2)
    return np.array(draw(st.lists(text, min_size=n, max_size=n)), dtype=dtype).reshape(shape)


LAYOUTS = ["C", "F", "reversed", "strided", "unaligned", "readonly"]


def lay_out(a, how):
    """The same values as `a` (a new array), in the memory layout `how`."""
    if a.ndim == 0 or a.dtype.kind == "O" and how == "unaligned":
        return a.copy()
    if how == "F":
        return np.asfortranarray(a)
    if how == "reversed":  # negative strides along the first axis
        return np.ascontiguousarray(a[::-1])[::-1]
    if how == "strided":  # every other row of an array twice as long
        big = np.zeros((2 * a.shape[0],) + a.shape[1:], dtype=a.dtype)
        big[::2] = a
        return big[::2]
    if how == "unaligned" and a.dtype.itemsize > 1:  # at an odd byte offset
        raw = np.zeros(a.nbytes + a.dtype.itemsize, dtype=np.uint8)
        view = raw[1:1 + a.nbytes].view(a.dtype).reshape(a.shape)
        view[...] = a
        return view
    if how == "readonly":
        a = a.copy()
        a.flags.writeable = False
        return a
    return a.copy()


@st.composite
def any_array(draw, dims=DIMS):
    dtype = draw(st.sampled_from(ANY_DTYPES))
    shape = tuple(draw(st.lists(st.sampled_from(dims), min_size=0, max_size=3)))
    return lay_out(draw(filled(dtype, shape)), draw(st.sampled_from(LAYOUTS)))


def anything_else(dims=DIMS):
    """What a wrong argument might be: an array of any kind, or not an array."""
    return st.one_of(
        any_array(dims), any_array(dims),
        st.none(), st.booleans(), st.integers(-2**64, 2**64), floats(),
        st.complex_numbers(max_magnitude=10), st.text(max_size=4),
        st.lists(st.integers(-2, 2), max_size=3),
        st.sampled_from([{}, object(), np.float32(1.5), np.int64(-1), np.array(2.0),
                         slice(1), b"1", "mean", "relu", "weston_watkins"]))


@st.composite
def mutated(draw, a):
    """`a` made subtly wrong: one dimension changed, one added or dropped,
    another dtype, or the same array again (so that a few stay valid)."""
    how = draw(st.sampled_from(["dim", "ndim+", "ndim-", "dtype", "same"]))
    shape = list(a.shape)
    if how == "dim" and shape:
        i = draw(st.integers(0, len(shape) - 1))
        shape[i] = draw(st.sampled_from([0, max(0, shape[i] - 1), shape[i] + 1]))
    elif how == "ndim+":
        shape.append(draw(st.sampled_from([1, 2])))
    elif how == "ndim-" and shape:
        shape.pop()
    dtype = draw(st.sampled_from(ANY_DTYPES)) if how == "dtype" else a.dtype
    if how == "same":
        return a
    return lay_out(draw(filled(dtype, tuple(shape))), draw(st.sampled_from(LAYOUTS)))


# --- valid calls -------------------------------------------------------------
# Each builder draws a valid call, as (positional names, arguments). Inputs
# are laid out in any layout; out buffers C-contiguous and writeable.

@st.composite
def float_input(draw, shape, dtype):
    return lay_out(draw(filled(dtype, shape)), draw(st.sampled_from(LAYOUTS)))


@st.composite
def labels(draw, n, c):
    dtype = draw(st.sampled_from([np.int8, np.int32, np.int64, np.uint8, np.uint64, np.intp]))
    values = draw(st.lists(st.integers(0, min(c - 1, 127)), min_size=n, max_size=n))
    return lay_out(np.array(values, dtype=dtype), draw(st.sampled_from(LAYOUTS)))


@st.composite
def weights(draw, n, dtype):
    return draw(st.one_of(st.none(), st.builds(
        lambda v: np.array(v, dtype=dtype),
        st.lists(st.floats(0, 3), min_size=n, max_size=n))))


def shapes():
    # N reaches past 128 now and then: svm_loss's single pass and the
    # threaded loops start there.
    return st.tuples(st.one_of(st.integers(0, 6), st.just(130)), st.integers(1, 5),
                     st.integers(1, 5), st.sampled_from([np.float32, np.float64]))


def common_options(draw, n, c, dtype, reductions):
    return dict(delta=draw(st.floats(0, 3)), p=draw(st.sampled_from([1, 2])),
                kind=draw(st.sampled_from(["weston_watkins", "crammer_singer"])),
                sample_weight=draw(weights(n, dtype)), class_weight=draw(weights(c, dtype)),
                reduction=draw(st.sampled_from(reductions)),
                n_threads=draw(st.sampled_from([None, 1, 2, 4])))


@st.composite
def multiclass_hinge_call(draw):
    n, _, c, dtype = draw(shapes())
    args = dict(scores=draw(float_input((n, c), dtype)), y=draw(labels(n, c)),
                **common_options(draw, n, c, dtype, ["mean", "sum", "none"]))
    if draw(st.booleans()):
        args["out"] = np.full((n, c), np.nan, dtype)
    return ["scores", "y"], args


@st.composite
def svm_loss_call(draw, x_input=None, sizes=None):
    """A valid svm_loss call; x_input (sparse_input) and sizes
    (sparse_shapes) make it the sparse call."""
    n, d, c, dtype = draw((sizes or shapes)())
    args = dict(W=draw(float_input((d, c), dtype)),
                X=draw((x_input or float_input)((n, d), dtype)),
                y=draw(labels(n, c)), reg=draw(st.sampled_from([0.0, 1e-3, 2.5])),
                **common_options(draw, n, c, dtype, ["mean", "sum"]))
    if draw(st.booleans()):
        args["b"] = draw(float_input((c,), dtype))
        if draw(st.booleans()):
            args["db_out"] = np.full(c, 0.25, dtype)
    if draw(st.booleans()):
        args["dW_out"] = np.full((d, c), 0.25, dtype)
    args["accumulate"] = any(k.endswith("_out") for k in args) and draw(st.booleans())
    return ["W", "X", "y"], args


@st.composite
def ranking_hinge_call(draw):
    n, k, _, dtype = draw(shapes())
    shape_c = draw(st.sampled_from([(n,), (n, k)]))
    args = dict(s=draw(float_input((n,), dtype)), s_c=draw(float_input(shape_c, dtype)),
                delta=draw(st.floats(0, 3)), p=draw(st.sampled_from([1, 2])),
                sample_weight=draw(weights(n, dtype)),
                reduction=draw(st.sampled_from(["mean", "sum"])))
    if draw(st.booleans()):
        args["ds_out"] = np.full(n, 0.25, dtype)
    if draw(st.booleans()):
        args["ds_c_out"] = np.full(shape_c, 0.25, dtype)
    args["accumulate"] = any(k.endswith("_out") for k in args) and draw(st.booleans())
    return ["s", "s_c"], args


ACTIVATIONS = [None, "relu", "tanh", "sigmoid"]


@st.composite
def linear_forward_call(draw, x_input=None, sizes=None):
    n, d_in, d_out, dtype = draw((sizes or shapes)())
    args = dict(X=draw((x_input or float_input)((n, d_in), dtype)),
                W=draw(float_input((d_in, d_out), dtype)),
                activation=draw(st.sampled_from(ACTIVATIONS)),
                n_threads=draw(st.sampled_from([None, 1, 2])))
    if draw(st.booleans()):
        args["b"] = draw(float_input((d_out,), dtype))
    if draw(st.booleans()):
        args["out"] = np.full((n, d_out), np.nan, dtype)
    return ["X", "W"], args


@st.composite
def linear_backward_call(draw):
    n, d_in, d_out, dtype = draw(shapes())
    X = draw(float_input((n, d_in), dtype))
    W = draw(float_input((d_in, d_out), dtype))
    b = draw(st.one_of(st.none(), float_input((d_out,), dtype)))
    _, cache = maxmargin.linear_forward(X, W, b, activation=draw(st.sampled_from(ACTIVATIONS)))
    args = dict(dY=draw(float_input((n, d_out), dtype)), cache=cache,
                need_dX=draw(st.booleans()), n_threads=draw(st.sampled_from([None, 1, 2])))
    for name, shape in (("dX_out", (n, d_in)), ("dW_out", (d_in, d_out)), ("db_out", (d_out,))):
        wanted = {"dX_out": args["need_dX"], "db_out": b is not None}.get(name, True)
        if wanted and draw(st.booleans()):
            args[name] = np.full(shape, 0.25, dtype)
    args["accumulate"] = any(k.endswith("_out") for k in args) and draw(st.booleans())
    return ["dY", "cache"], args


@st.composite
def matmul_backward_call(draw):
    n, d_in, d_out, dtype = draw(shapes())
    args = dict(dY=draw(float_input((n, d_out), dtype)), X=draw(float_input((n, d_in), dtype)),
                W=draw(float_input((d_in, d_out), dtype)), need_dX=draw(st.booleans()),
                n_threads=draw(st.sampled_from([None, 1, 2])))
    for name, shape in (("dX_out", (n, d_in)), ("dW_out", (d_in, d_out))):
        if (name == "dW_out" or args["need_dX"]) and draw(st.booleans()):
            args[name] = np.full(shape, 0.25, dtype)
    args["accumulate"] = any(k.endswith("_out") for k in args) and draw(st.booleans())
    return ["dY", "X", "W"], args


@st.composite
def sparse_input(draw, shape, dtype):
    """A valid sparse X of `shape`: some cells stored (explicit zeros among
    them), an entry now and then split in two (duplicates), each row's
    entries in any order, int32 or int64 indices, in CSR, CSC or COO."""
    n, d = shape
    with np.errstate(all="ignore"):
        values = draw(filled(dtype, shape))
    stored = np.array(draw(st.lists(st.booleans(), min_size=n * d, max_size=n * d)),
                      dtype=bool).reshape(shape)
    data, indices, indptr = [], [], [0]
    for i in range(n):
        row = [(j, values[i, j]) for j in np.flatnonzero(stored[i])]
        if row and draw(st.booleans()):
            j, v = row[0]
            with np.errstate(all="ignore"):
                row[0:1] = [(j, v / 2), (j, v - v / 2)]  # a duplicate
        row = draw(st.permutations(row)) if len(row) > 1 else row
        indices += [j for j, _ in row]
        data += [v for _, v in row]
        indptr.append(len(indices))
    index_dtype = draw(st.sampled_from([np.int32, np.int64]))
    X = sp.csr_matrix((np.array(data, dtype=dtype), np.array(indices, dtype=index_dtype),
                       np.array(indptr, dtype=index_dtype)), shape=shape)
    form = draw(st.sampled_from(["csr", "csr", "csr_array", "csc", "coo"]))
    if form == "csr_array":
        return sp.csr_array(X)
    return X if form == "csr" else X.asformat(form)


CORRUPTIONS = ["index D", "index -1", "index huge", "indptr decreasing", "indptr from 1",
               "indptr past", "indptr short", "data short", "data int", "data complex",
               "data float16", "indices int16", "indices float", "indptr uint8", "NaN",
               "inf"]


@st.composite
def corrupted_sparse(draw, X):
    """X's CSR form with one of its arrays replaced as a matrix built from
    raw arrays can have it (SciPy does not look at arrays assigned after
    construction), or X itself when the corruption has nothing to act on."""
    X = sp.csr_matrix(X)
    n, d = X.shape
    how = draw(st.sampled_from(CORRUPTIONS))
    k = draw(st.integers(0, max(X.nnz - 1, 0)))
    indices, indptr, data = X.indices.copy(), X.indptr.copy(), X.data.copy()
    if how.startswith("index") or how in ("NaN", "inf", "data short"):
        if X.nnz == 0:
            return X
        if how.startswith("index"):
            indices[k] = {"index D": d, "index -1": -1,
                          "index huge": np.iinfo(indices.dtype).max}[how]
            X.indices = indices
        elif how == "data short":
            X.data = data[:-1]
        else:
            data[k] = np.nan if how == "NaN" else np.inf
            X.data = data
    elif how == "indptr decreasing":
        if n < 2 or X.nnz == 0:
            return X
        indptr[1] = indptr[-1] + 1 if indptr[2] == indptr[-1] else indptr[-1]
        indptr[1:-1] = indptr[1:-1][::-1]
        if np.all(np.diff(indptr) >= 0):
            return X
        X.indptr = indptr
    elif how == "indptr from 1":
        X.indptr = indptr + 1
    elif how == "indptr past":
        indptr[-1] += 1
        X.indptr = indptr
    elif how == "indptr short":
        X.indptr = indptr[:-1]
    elif how.startswith("data"):
        with np.errstate(all="ignore"):
            X.data = data.astype({"data int": np.int64, "data complex": np.complex128,
                                  "data float16": np.float16}[how])
    elif how == "indices int16":
        X.indices = indices.astype(np.int16)
    elif how == "indices float":
        X.indices = indices.astype(np.float64)
    else:
        X.indptr = indptr.astype(np.uint8) if indptr[-1] < 256 else indptr.astype(np.float32)
    return X


def sparse_shapes():
    return st.tuples(st.integers(0, 6), st.integers(1, 6), st.integers(1, 5),
                     st.sampled_from([np.float32, np.float64]))


@st.composite
def sparse_linear_backward_call(draw):
    n, d_in, d_out, dtype = draw(sparse_shapes())
    X = draw(sparse_input((n, d_in), dtype))
    W = draw(float_input((d_in, d_out), dtype))
    b = draw(st.one_of(st.none(), float_input((d_out,), dtype)))
    with np.errstate(all="ignore"):
        _, cache = maxmargin.linear_forward(X, W, b,
                                            activation=draw(st.sampled_from(ACTIVATIONS)))
    args = dict(dY=draw(float_input((n, d_out), dtype)), cache=cache, need_dX=False,
                n_threads=draw(st.sampled_from([None, 1, 2])))
    for name, shape in (("dW_out", (d_in, d_out)), ("db_out", (d_out,))):
        if (name == "dW_out" or b is not None) and draw(st.booleans()):
            args[name] = np.full(shape, 0.25, dtype)
    args["accumulate"] = any(k.endswith("_out") for k in args) and draw(st.booleans())
    return ["dY", "cache"], args


@st.composite
def sparse_matmul_backward_call(draw):
    n, d_in, d_out, dtype = draw(sparse_shapes())
    args = dict(dY=draw(float_input((n, d_out), dtype)), X=draw(sparse_input((n, d_in), dtype)),
                W=draw(float_input((d_in, d_out), dtype)), need_dX=False,
                n_threads=draw(st.sampled_from([None, 1, 2])))
    if draw(st.booleans()):
        args["dW_out"] = np.full((d_in, d_out), 0.25, dtype)
    args["accumulate"] = "dW_out" in args and draw(st.booleans())
    return ["dY", "X", "W"], args


@st.composite
def embedding_backward_call(draw):
    m, width, vocabulary, dtype = draw(shapes())
    args = dict(dX=draw(float_input((m, width), dtype)), indices=draw(labels(m, vocabulary)),
                dL_out=np.full((vocabulary, width), 0.25, dtype))
    return ["dX", "indices", "dL_out"], args


@st.composite
def xavier_init_call(draw):
    args = dict(fan_in=draw(st.integers(1, 6)), fan_out=draw(st.integers(1, 6)),
                dtype=draw(st.sampled_from([np.float32, np.float64, "float32", "f8"])),
                rng=draw(st.sampled_from([0, 1, None])))
    return ["fan_in", "fan_out"], args


# --- what a call must give ---------------------------------------------------

def expected_result(func, args):
    """What the reference gives for `args` (copies of any out buffers as the
    kernel found them: gradients add into them with accumulate=True)."""
    a = dict(args)
    out = {name: a.pop(name) for name in list(a) if is_out_buffer(name)}
    out = {name: buffer for name, buffer in out.items() if buffer is not None}
    accumulate = a.pop("accumulate", False)
    a.pop("n_threads", None)
    func = FUNCTION.get(func, func)

    def added(name, gradient):
        # Gradients land in their buffers; accumulate adds to what was there.
        if gradient is None or name not in out:
            return gradient
        return out[name] + gradient if accumulate else gradient

    if func == "multiclass_hinge":
        return reference.multiclass_hinge(a.pop("scores"), a.pop("y"), **a)
    if func == "svm_loss":
        result = reference.svm_loss(a.pop("W"), a.pop("X"), a.pop("y"), **a)
        return (result[0], added("dW_out", result[1])) + tuple(
            added("db_out", g) for g in result[2:])
    if func == "ranking_hinge":
        loss, ds, ds_c = reference.ranking_hinge(a.pop("s"), a.pop("s_c"), **a)
        return loss, added("ds_out", ds), added("ds_c_out", ds_c)
    if func == "linear_forward":
        Y, _ = reference.linear_forward(a.pop("X"), a.pop("W"), a.pop("b", None), **a)
        return (Y,)
    if func == "linear_backward":
        dX, dW, db = reference.linear_backward(a.pop("dY"), tuple(a.pop("cache")), **a)
        return added("dX_out", dX), added("dW_out", dW), added("db_out", db)
    if func == "matmul_backward":
        dX, dW = reference.matmul_backward(a.pop("dY"), a.pop("X"), a.pop("W"), **a)
        return added("dX_out", dX), added("dW_out", dW)
    if func == "embedding_backward":
        dL = out["dL_out"].copy()
        return (reference.embedding_backward(a["dX"], a["indices"], dL),)
    raise AssertionError(func)


def inputs_are_moderate(args):
    for value in args.values():
        if isinstance(value, maxmargin.LinearCache):
            value = value.X  # W and Y follow from the same draw
        if sp.issparse(value):
            value = value.data
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size:
            if not np.all(np.abs(value) <= MODERATE):
                return False
    return True


def check_result(func, args, result, expected):
    if func == "xavier_init":
        fan_in, fan_out = args["fan_in"], args["fan_out"]
        assert result.shape == (fan_in, fan_out)
        assert result.dtype == np.dtype(args["dtype"])
        assert np.all(np.abs(result) <= math.sqrt(6 / (fan_in + fan_out)))
        return
    if func == "linear_forward":
        result = result[:1]
    if func == "embedding_backward":
        result = (result,)
    assert len(result) == len(expected)
    moderate = inputs_are_moderate(args)
    scale = max([1] + [v.shape[-1] for v in args.values()
                       if isinstance(v, np.ndarray) and v.ndim == 2])
    for got, want in zip(result, expected):
        if want is None:
            assert got is None
            continue
        got_array, want_array = np.asarray(got), np.asarray(want)
        assert got_array.shape == want_array.shape
        if isinstance(got, np.ndarray):
            assert got.dtype == want_array.dtype, (got.dtype, want_array.dtype)
        if moderate:
            dtype = next(v.dtype for v in args.values()
                         if isinstance(v, np.ndarray) and v.dtype.kind == "f")
            with np.errstate(invalid="ignore"):
                assert_close(got_array, want_array, dtype, scale=scale)
            # NaN and inf where the reference has them, as NumPy arithmetic gives.
            np.testing.assert_array_equal(np.isnan(got_array), np.isnan(want_array))


# "<function>: <argument> must", the argument perhaps one of a sparse X's
# arrays ("X.indices").
ERROR_MESSAGE = re.compile(r"^(\w+): (\w+)(?:\.\w+)? must ")


def is_out_buffer(name):
    """out, dW_out, ...: arguments a kernel writes (not fan_out)."""
    return name == "out" or name.endswith("_out") and name != "fan_out"


def assert_unchanged(buffer, copy, name):
    """`buffer` holds what `copy` (taken before the call) holds. An object
    array's copy shares its elements, so those are compared by identity:
    NaN != NaN would call an untouched buffer changed."""
    if buffer.dtype.kind == "O":
        assert buffer.shape == copy.shape, name
        assert all(a is b for a, b in zip(buffer.ravel(), copy.ravel())), name
    else:
        np.testing.assert_array_equal(buffer, copy, err_msg=name)


def fuzz_one(func, positional, args, replaced):
    """Call `func` with `args`; valid (nothing replaced) calls must succeed."""
    func = FUNCTION.get(func, func)
    kernel = getattr(maxmargin, func)
    call_args = [args[name] for name in positional]
    keywords = {k: v for k, v in args.items() if k not in positional}
    before = {k: v.copy() for k, v in args.items()
              if is_out_buffer(k) and isinstance(v, np.ndarray)}
    try:
        with np.errstate(all="ignore"):
            result = kernel(*call_args, **keywords)
    except (ValueError, TypeError) as error:
        message = str(error)
        match = ERROR_MESSAGE.match(message)
        assert match, f"{func} raised {type(error).__name__} not in the house format: {message}"
        assert match.group(1) == func, message
        assert match.group(2) in inspect.signature(kernel).parameters, message
        assert replaced, f"a valid call failed: {message}"
        # A call that fails leaves its out buffers as they were.
        if func != "embedding_backward":
            for name, copy in before.items():
                assert_unchanged(args[name], copy, name)
        return
    checked = {**args, **before}  # the reference sees the buffers as they were
    with np.errstate(all="ignore"):
        expected = None if func == "xavier_init" else expected_result(func, checked)
    check_result(func, checked, result, expected)


CALLS = {
    "multiclass_hinge": multiclass_hinge_call, "svm_loss": svm_loss_call,
    "ranking_hinge": ranking_hinge_call, "linear_forward": linear_forward_call,
    "linear_backward": linear_backward_call, "matmul_backward": matmul_backward_call,
    "embedding_backward": embedding_backward_call, "xavier_init": xavier_init_call,
    "sparse_svm_loss": lambda: svm_loss_call(sparse_input, sparse_shapes),
    "sparse_linear_forward": lambda: linear_forward_call(sparse_input, sparse_shapes),
    "sparse_linear_backward": sparse_linear_backward_call,
    "sparse_matmul_backward": sparse_matmul_backward_call,
}
# The public function each fuzzed call is a call of.
FUNCTION = {name: name.removeprefix("sparse_") for name in CALLS}
# Keywords every function also takes a wrong value for (beyond its valid call's).
EXTRA_KEYWORDS = {
    "multiclass_hinge": ["out", "sample_weight", "class_weight"],
    "svm_loss": ["b", "dW_out", "db_out", "sample_weight", "class_weight"],
    "ranking_hinge": ["ds_out", "ds_c_out", "sample_weight", "n_threads"],
    "linear_forward": ["b", "out"],
    "linear_backward": ["dX_out", "dW_out", "db_out"],
    "matmul_backward": ["dX_out", "dW_out"],
    "embedding_backward": [],
    "xavier_init": [],
}
EXTRA_KEYWORDS.update({f"sparse_{name}": EXTRA_KEYWORDS[name] for name in
                       ("svm_loss", "linear_forward", "linear_backward", "matmul_backward")})


@st.composite
def fuzzed_call(draw, func):
    positional, args = draw(CALLS[func]())
    names = sorted(set(args) | set(EXTRA_KEYWORDS[func]))
    replaced = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
    if sp.issparse(args.get("X")) and "X" not in replaced and draw(st.booleans()):
        replaced.append("X")  # half the sparse calls with X's structure corrupted
    for name in replaced:
        if isinstance(args.get(name), np.ndarray) and draw(st.booleans()):
            args[name] = draw(mutated(args[name]))
        elif sp.issparse(args.get(name)) and draw(st.integers(0, 3)):
            args[name] = draw(corrupted_sparse(args[name]))
        else:
            args[name] = draw(anything_else())
    return positional, args, replaced


def huge_request(func, args):
    """A valid xavier_init call for more than 10^6 elements: the user's to
    make, and NumPy's MemoryError (or the machine's memory) its answer; not
    something to fuzz."""
    if func != "xavier_init":
        return False
    fans = (args["fan_in"], args["fan_out"])
    return all(type(f) is int and f > 0 for f in fans) and fans[0] * fans[1] > 10**6


@pytest.mark.parametrize("func", sorted(CALLS))
def test_fuzz(func):
    # The test command's run is derandomized: the same examples every time,
    # so that a red CI can be reproduced. A timed run draws fresh ones.
    @settings(derandomize=not FUZZ_SECONDS)
    @given(fuzzed_call(func))
    def run(call):
        positional, args, replaced = call
        assume(not huge_request(func, args))
        EXAMPLES_RUN[func] = EXAMPLES_RUN.get(func, 0) + 1
        fuzz_one(func, positional, args, replaced)

    deadline = time.monotonic() + FUZZ_SECONDS / len(CALLS)
    run()
    while time.monotonic() < deadline:
        run()
