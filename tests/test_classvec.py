"""svm_loss's single pass by the class-vector kernels (kernels/classvec.h),
for more classes than the few-classes kernels take, on every path this CPU
runs that has them: agreement with the reference over the kernels' edges,
NaN, and the dispatch. Exactness against the two GEMMs, threads, layouts
and accumulation are tested for both single passes in test_fewclass.py."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import maxmargin
from maxmargin import _hinge, reference

from helpers import DTYPES, KINDS, assert_close, integer_problem, normal_problem
from single_passes import CLASS_VECTOR_PATHS as PATHS, class_vectors, few_classes, two_gemms


@st.composite
def problems(draw):
    """Shapes around the kernels' edges: N across tiles of 12, 8 and 6 rows
    and row blocks; D across tiles of 12, 8 and 6 values and their rest; C
    from 1 up across one vector, groups of four and a partial last vector."""
    dtype = draw(st.sampled_from(DTYPES))
    n = draw(st.integers(1, 70))
    d = draw(st.sampled_from([1, 2, 5, 6, 7, 12, 13, 25, 100, 257]))
    c = draw(st.sampled_from([1, 2, 10, 13, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 100,
                              129, 140]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    make = integer_problem if draw(st.booleans()) else normal_problem
    W, X, b, y = make(rng, n, d, c, dtype)
    options = dict(
        reg=draw(st.sampled_from([0.0, 0.25])),
        delta=draw(st.sampled_from([0.0, 1.0])),
        p=draw(st.sampled_from([1, 2])),
        kind=draw(st.sampled_from(KINDS)),
        reduction=draw(st.sampled_from(["mean", "sum"])),
        sample_weight=rng.uniform(0, 2, n) if draw(st.booleans()) else None,
    )
    if draw(st.booleans()):
        options["b"] = b
    return W, X, y, options


@pytest.mark.parametrize("path", PATHS)
@given(problem=problems())
def test_agrees_with_the_reference(path, problem):
    W, X, y, options = problem
    want = reference.svm_loss(W, X, y, **options)
    with class_vectors(path):
        got = maxmargin.svm_loss(W, X, y, **options)
    assert len(got) == len(want)
    for mine, theirs in zip(got, want):
        assert_close(mine, theirs, W.dtype, 4 * max(X.shape), what=path)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", [32, 100])
def test_cifar_like_shape_agrees_with_the_reference(path, dtype, c):
    """D = 3073, N = 300: several row blocks and chunks."""
    rng = np.random.default_rng(3)
    W = (rng.standard_normal((3073, c)) * 1e-2).astype(dtype)
    X = rng.standard_normal((300, 3073)).astype(dtype)
    b = rng.standard_normal(c).astype(dtype)
    y = rng.integers(0, c, 300)
    want = reference.svm_loss(W, X, y, b=b, reg=0.1, p=2)
    with class_vectors(path):
        got = maxmargin.svm_loss(W, X, y, b=b, reg=0.1, p=2)
    for mine, theirs in zip(got, want):
        assert_close(mine, theirs, dtype, scale=3073)


@pytest.mark.parametrize("path", PATHS)
def test_nan_in_X_reaches_the_loss_and_gradient(path):
    rng = np.random.default_rng(2)
    W = rng.standard_normal((30, 20))
    X = rng.standard_normal((40, 30))
    X[7, 29] = np.nan  # in the last d-tile's rest
    y = rng.integers(0, 20, 40)
    with class_vectors(path):
        loss, dW = maxmargin.svm_loss(W, X, y)
    with np.errstate(invalid="ignore"):
        want = reference.svm_loss(W, X, y)
    assert np.isnan(loss) and np.isnan(want[0])
    np.testing.assert_array_equal(np.isnan(dW), np.isnan(want[1]))
    assert np.isnan(dW).any()


def test_the_paths_with_class_vector_kernels():
    # AVX-512 and AVX2; the baseline runs the two GEMMs above 16 classes.
    assert set(PATHS) == set(_hinge.simd_paths()) & {"avx512", "avx2"}
    assert set(_hinge.class_vector_ranges()) == set(PATHS)


@pytest.mark.parametrize("path", PATHS)
def test_default_limits(path):
    """By default, from N = 256, the classes of the path's range take the
    class-vector pass (AVX-512: 13-64 in float32, 13-16 in float64; AVX2:
    17-32 in float32 only); just outside it the other paths. The default
    call gives the bits of the forced choice."""
    low, high, high_f64 = _hinge.class_vector_ranges()[path]
    assert 13 <= low <= 17 and 32 <= high <= 64 and high_f64 in (0, 16)

    def outside(c):  # below the range: the few-classes pass; above: GEMMs
        return few_classes(path) if c <= 16 else two_gemms()

    cases = [(np.float32, low, class_vectors(path)), (np.float32, high, class_vectors(path)),
             (np.float32, low - 1, outside(low - 1)), (np.float32, high + 1, outside(high + 1)),
             (np.float64, high_f64 + 1, outside(high_f64 + 1))]
    if high_f64:
        cases.append((np.float64, high_f64, class_vectors(path)))
    rng = np.random.default_rng(12)
    for dtype, c, forced in cases:
        W = rng.standard_normal((50, c)).astype(dtype)
        X = rng.standard_normal((300, 50)).astype(dtype)
        y = rng.integers(0, c, 300)
        previous = _hinge.simd_path()
        _hinge.select_simd_path(path)
        try:
            default = maxmargin.svm_loss(W, X, y)
        finally:
            _hinge.select_simd_path(previous)
        with forced:
            want = maxmargin.svm_loss(W, X, y)
        assert default[0] == want[0]
        np.testing.assert_array_equal(default[1], want[1])
