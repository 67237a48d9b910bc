"""What the tests share: dtypes, tolerances, problem generators, memory
layouts, hypothesis strategies, and the switches that send svm_loss down
one path or another (SIMD path and tunables, process-wide while they last).

Tests import it by name (``from support import ...``): tests/conftest.py's
folder is on sys.path, as pytest puts it there."""

import contextlib
import re

import numpy as np
import pytest
from hypothesis import strategies as st

from maxmargin import _dispatch, _hinge
from maxmargin._tunables import override

DTYPES = [np.float32, np.float64]
KINDS = ["weston_watkins", "crammer_singer"]

# The estimator checks LinearSVMClassifier fails, and why: SGD visits rows in
# a shuffled order, so weight 2 is not the same run as a repeated row;
# L-BFGS and the dual solver stop at their tolerance, so two optima agree to
# ~1e-4, not to the check's 1e-7. All minimise the same objective.
ESTIMATOR_CHECK_FAILURES = {
    f"check_sample_weight_equivalence_on_{form}_data":
        "sample weights are exact in the objective; the optimisers are not exact"
    for form in ("dense", "sparse")
}


def tolerance(dtype, scale=1.0):
    """rtol for comparing a kernel to the reference: a few ulps of float64
    (1e-12), or a multiple of float32's epsilon grown with the problem scale
    (the number of terms a BLAS dot product sums in a different order)."""
    if np.dtype(dtype) == np.float64:
        return 1e-12 * max(1.0, scale)
    return 8 * np.finfo(np.float32).eps * max(1.0, scale)


def assert_close(actual, desired, dtype, scale=1.0, what=""):
    """Elementwise |a - d| <= rtol * max(1, max|d|): relative to the largest
    entry, since gradient entries that cancel to ~0 carry absolute error."""
    actual = np.asarray(actual, dtype=np.float64)
    desired = np.asarray(desired, dtype=np.float64)
    assert actual.shape == desired.shape, what
    rtol = tolerance(dtype, scale)
    magnitude = max(1.0, float(np.max(np.abs(desired), initial=0.0)))
    np.testing.assert_allclose(actual, desired, rtol=0, atol=rtol * magnitude,
                               err_msg=what, equal_nan=True)


def integer_problem(rng, n, d, c, dtype, low=-3, high=4):
    """W, X, b with small integer values: every score X W + b is exact in any
    summation order, so margins sit exactly on the kink and classes tie
    exactly where the reference says they do."""
    W = rng.integers(low, high, size=(d, c)).astype(dtype)
    X = rng.integers(low, high, size=(n, d)).astype(dtype)
    b = rng.integers(low, high, size=c).astype(dtype)
    y = rng.integers(0, c, size=n)
    return W, X, b, y


def normal_problem(rng, n, d, c, dtype):
    """W, X, b drawn from the standard normal, and labels y: scores with
    rounding in them, unlike integer_problem's."""
    W = rng.standard_normal((d, c)).astype(dtype)
    X = rng.standard_normal((n, d)).astype(dtype)
    b = rng.standard_normal(c).astype(dtype)
    y = rng.integers(0, c, n)
    return W, X, b, y


def layouts(a):
    """(name, array equal to `a`) in many memory layouts."""
    n, m = a.shape
    wide = np.zeros((n, m + 3), a.dtype)
    wide[:, 1:m + 1] = a
    tall = np.zeros((2 * n, m), a.dtype)
    tall[::2] = a
    both = np.zeros((2 * n, 2 * m), a.dtype)
    both[::2, ::2] = a
    readonly = a.copy()
    readonly.flags.writeable = False
    swapped = a.astype(a.dtype.newbyteorder(">"))
    raw = np.zeros(a.nbytes + 1, np.uint8)
    misaligned = np.frombuffer(raw.data, dtype=a.dtype, count=a.size, offset=1).reshape(a.shape)
    misaligned[...] = a
    return [
        ("C", np.ascontiguousarray(a)),
        ("F", np.asfortranarray(a)),
        ("transposed view", np.ascontiguousarray(a.T).T),
        ("column slice", wide[:, 1:m + 1]),
        ("row step", tall[::2]),
        ("both strided (copied)", both[::2, ::2]),
        ("reversed rows (copied)", a[::-1].copy()[::-1]),
        ("read-only", readonly),
        ("big-endian", swapped),
        ("misaligned", misaligned),
    ]


def vector_layouts(v):
    """(name, 1-D array equal to `v`) in many memory layouts."""
    n = v.shape[0]
    strided = np.zeros(2 * n, v.dtype)
    strided[::2] = v
    readonly = v.copy()
    readonly.flags.writeable = False
    raw = np.zeros(v.nbytes + 1, np.uint8)
    misaligned = np.frombuffer(raw.data, dtype=v.dtype, count=n, offset=1)
    misaligned[...] = v
    return [
        ("contiguous", np.ascontiguousarray(v)),
        ("step 2", strided[::2]),
        ("reversed", v[::-1].copy()[::-1]),
        ("read-only", readonly),
        ("big-endian", v.astype(v.dtype.newbyteorder(">"))),
        ("misaligned", misaligned),
    ]


def numerical_vjp(func, x, weights, h=1e-6):
    """d/dx of sum(weights * func(x)) by central differences, one coordinate
    at a time (x is float64 and modified in place, then restored)."""
    grad = np.zeros_like(x)
    flat = x.reshape(-1)
    out = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        up = float(np.sum(weights * func()))
        flat[i] = old - h
        down = float(np.sum(weights * func()))
        flat[i] = old
        out[i] = (up - down) / (2 * h)
    return grad


def raises(error, func, *names):
    """pytest.raises whose message must start with func and mention every name."""
    pattern = "^" + re.escape(func) + ": " + "".join(f"(?=.*{re.escape(n)})" for n in names)
    return pytest.raises(error, match=pattern)


def case_ids(cases):
    """Readable test ids: the case number and the arguments it changes."""
    return [f"{i}-{','.join(changes)}" for i, (changes, _, _) in enumerate(cases)]


# --- hypothesis strategies ------------------------------------------------------

@st.composite
def svm_problems(draw, n=(0, 10), d=(1, 9), c=(1, 6), normal=False, class_weight=True,
                 deltas=(0.0, 1.0, 3.0), regs=(0.0, 0.25, 1e-3)):
    """(W, X, y, options) for svm_loss and its reference: N, D and C drawn
    from the ranges (a (low, high) pair, or a list to sample), integer
    problems (every score exact: kinks and ties hit where the reference
    says) and, with `normal`, standard-normal ones too; every option drawn:
    reg, delta, p, kind, reduction, weights, a bias."""
    def size(spec):
        return draw(st.integers(*spec) if isinstance(spec, tuple) else st.sampled_from(spec))
    dtype = draw(st.sampled_from(DTYPES))
    n_rows, n_features, n_classes = size(n), size(d), size(c)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    make = normal_problem if normal and draw(st.booleans()) else integer_problem
    W, X, b, y = make(rng, n_rows, n_features, n_classes, dtype)
    options = dict(
        reg=draw(st.sampled_from(regs)),
        delta=draw(st.sampled_from(deltas)),
        p=draw(st.sampled_from([1, 2])),
        kind=draw(st.sampled_from(KINDS)),
        reduction=draw(st.sampled_from(["mean", "sum"])),
        sample_weight=rng.uniform(0, 2, n_rows) if draw(st.booleans()) else None,
    )
    if class_weight:
        options["class_weight"] = rng.uniform(0, 2, n_classes) if draw(st.booleans()) else None
    if draw(st.booleans()):
        options["b"] = b
    return W, X, y, options


# --- svm_loss's paths -------------------------------------------------------------

# The SIMD paths this CPU runs, and those with the class-vector kernels.
FEW_CLASS_PATHS = _dispatch.simd_paths()
CLASS_VECTOR_PATHS = [path for path in FEW_CLASS_PATHS if _hinge.has_class_vector_kernels(path)]


@contextlib.contextmanager
def simd_path(path):
    """Within it, the given SIMD path (None: the one in use); restored after."""
    previous = _dispatch.simd_path()
    if path is not None:
        _dispatch.select_simd_path(path)
    try:
        yield
    finally:
        _dispatch.select_simd_path(previous)


@contextlib.contextmanager
def _switched(path, **tunables):
    with simd_path(path), override(**tunables):
        yield


def few_classes(path):
    """svm_loss takes the few-classes single pass at every shape, on the
    given path (the class-vector kernels off)."""
    return _switched(path, fewclass_max_classes=10**6, fewclass_min_rows=0,
                     classvec_max_classes_f32=0, classvec_max_classes_f64=0)


def class_vectors(path):
    """svm_loss takes the class-vector single pass at every C and N, in both
    dtypes, on the given path."""
    return _switched(path, classvec_min_classes=0, classvec_max_classes_f32=10**6,
                     classvec_max_classes_f64=10**6, classvec_min_rows=0)


def two_gemms(path=None):
    """svm_loss takes the two-GEMM path at every shape (the L2 term on the
    given SIMD path; None: the one in use)."""
    return _switched(path, fewclass_max_classes=0, classvec_max_classes_f32=0,
                     classvec_max_classes_f64=0)


# The tunable of each single pass's row blocks.
BLOCK_BYTES = {few_classes: "fewclass_block_bytes", class_vectors: "classvec_block_bytes"}

# Both single passes on every path that has them, with the classes a test
# adds to its few-classes count so that the class-vector kernels see more
# than one vector's worth (C + 30).
EVERY_SINGLE_PASS = (
    [pytest.param(few_classes, path, 0, id=f"few-{path}") for path in FEW_CLASS_PATHS]
    + [pytest.param(class_vectors, path, 30, id=f"classvec-{path}")
       for path in CLASS_VECTOR_PATHS])
