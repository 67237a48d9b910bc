"""svm_loss beside its floor and the NumPy reference, per shape and dtype.

Run alone (2 noisy cores: nothing else at the same time):

    python -m pytest bench/bench_svm_loss.py

Roles in each group (pytest-benchmark group "svm_loss <dtype> (N, D, C)=..."):

* floor: `maxmargin._hinge.bare_gemms`, S = X W and dW = X^T S over the whole
  batch through the same BLAS shim, into preallocated buffers: the matrix
  products alone.
* maxmargin: `svm_loss(W, X, y)`, loss and gradient, no regulariser (the
  floor has none either).
* variants: with ``reg`` (one more pass over W, as large as the GEMMs when
  N = 1), and with a parallel margin pass (``n_threads=2``) at C = 1000.
* reference: `maxmargin.reference.svm_loss`, vectorized NumPy. Its GEMMs run
  on NumPy's own OpenBLAS, a different library from SciPy's.
"""

import numpy as np
import pytest

import maxmargin
from maxmargin import _hinge, reference

SHAPES = [(1, 8, 2), (1, 3073, 10), (64, 100, 10), (256, 3073, 10), (500, 3073, 10),
          (4096, 3073, 10), (256, 512, 1000), (4096, 512, 1000)]
DTYPES = [np.float64, np.float32]
ROLES = ["floor", "maxmargin", "maxmargin reg=1e-3", "maxmargin n_threads=2", "reference"]


def problem(shape, dtype):
    n, d, c = shape
    rng = np.random.default_rng(0)
    W = (rng.standard_normal((d, c)) * 1e-3).astype(dtype)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = rng.integers(0, c, n)
    return W, X, y


def call_for(role, shape, dtype):
    """The zero-argument call that `role` times."""
    W, X, y = problem(shape, dtype)
    if role == "floor":
        S = np.empty((shape[0], shape[2]), dtype)
        dW = np.empty_like(W)
        return lambda: _hinge.bare_gemms(W, X, S, dW)
    if role == "maxmargin":
        return lambda: maxmargin.svm_loss(W, X, y)
    if role == "maxmargin reg=1e-3":
        return lambda: maxmargin.svm_loss(W, X, y, reg=1e-3)
    if role == "maxmargin n_threads=2":
        return lambda: maxmargin.svm_loss(W, X, y, n_threads=2)
    return lambda: reference.svm_loss(W, X, y)


def applies(role, shape):
    """The parallel-pass variant is measured only where the pass is large."""
    return role != "maxmargin n_threads=2" or shape[2] >= 1000


# ids such as "float64-4096x3073x10-maxmargin_reg=1e-3", for -k selection.
CASES = [pytest.param(dtype, shape, role, id="{}-{}-{}".format(
             np.dtype(dtype).name, "x".join(map(str, shape)), role.replace(" ", "_")))
         for dtype in DTYPES for shape in SHAPES for role in ROLES if applies(role, shape)]


@pytest.mark.parametrize("dtype,shape,role", CASES)
def test_svm_loss(measure, dtype, shape, role):
    measure(f"svm_loss {np.dtype(dtype).name} (N, D, C)={shape}", role,
            call_for(role, shape, dtype))
