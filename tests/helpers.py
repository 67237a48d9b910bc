"""Shared helpers for the tests: dtypes, tolerances, problem generators."""

import numpy as np

DTYPES = [np.float32, np.float64]
KINDS = ["weston_watkins", "crammer_singer"]


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
