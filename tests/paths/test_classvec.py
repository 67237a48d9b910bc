"""svm_loss's single pass by the class-vector kernels (kernels/hinge/classvec.h),
for more classes than the few-classes kernels take, on every path this CPU
runs that has them: agreement with the reference over the kernels' edges,
NaN, and the dispatch. Exactness against the two GEMMs, threads, layouts
and accumulation are tested for both single passes in test_fewclass.py."""

import functools

import numpy as np
import pytest
from hypothesis import given

import maxmargin
from maxmargin import _dispatch, _hinge, _tunables, reference

from support import DTYPES, assert_close, svm_problems
from support import CLASS_VECTOR_PATHS as PATHS, class_vectors, few_classes, simd_path, two_gemms


# Shapes around the kernels' edges: N across tiles of 12, 8 and 6 rows and
# row blocks; D across tiles of 12, 8 and 6 values and their rest; C from 1
# up across one vector, groups of four and a partial last vector.
problems = functools.partial(
    svm_problems, n=(1, 70), d=[1, 2, 5, 6, 7, 12, 13, 25, 100, 257],
    c=[1, 2, 10, 13, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 100, 129, 140], normal=True,
    class_weight=False, deltas=(0.0, 1.0), regs=(0.0, 0.25))


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
    assert set(PATHS) == set(_dispatch.simd_paths()) & {"avx512", "avx2"}
    assert not _hinge.has_class_vector_kernels("baseline")


def class_vector_range(path):
    """(fewest classes, most in float32, most in float64) of the path's
    class-vector pass, from the tunables table."""
    return tuple(_tunables.TABLE[name].default[path] for name in
                 ("classvec_min_classes", "classvec_max_classes_f32",
                  "classvec_max_classes_f64"))


@pytest.mark.parametrize("path", PATHS)
def test_default_limits(path):
    """By default, from N = 256, the classes of the path's range take the
    class-vector pass (AVX-512: 13-64 in float32, 13-16 in float64; AVX2:
    17-32 in float32 only); just outside it the other paths. The default
    call gives the bits of the forced choice."""
    low, high, high_f64 = class_vector_range(path)
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
        with simd_path(path):
            default = maxmargin.svm_loss(W, X, y)
        with forced:
            want = maxmargin.svm_loss(W, X, y)
        assert default[0] == want[0]
        np.testing.assert_array_equal(default[1], want[1])
