"""svm_loss beside its floor and the NumPy reference, per shape and dtype.

Run alone (2 noisy cores: nothing else at the same time):

    python -m pytest bench/bench_svm_loss.py

Roles in each group (pytest-benchmark group "svm_loss <dtype> (N, D, C)=..."):

* floor: `maxmargin._floors.bare_gemms`, S = X W and dW = X^T S over the whole
  batch through the same BLAS shim, into preallocated buffers: the matrix
  products alone, behind argument checks as cheap as svm_loss's common call
  (array headers read in C).
* maxmargin: `svm_loss(W, X, y)`, loss and gradient, no regulariser (the
  floor has none either).
* variants: with ``reg`` (one more pass over W, as large as the GEMMs when
  N = 1), and with a parallel margin pass (``n_threads=2``) at C = 1000.
  Where svm_loss takes its single pass over X (few classes, N >= 128):
  ``two GEMMs`` forces the two-GEMM path on the same problem, and
  ``SIMD baseline`` runs the single pass's portable micro-kernels instead of
  the best this CPU has (``n_threads=1``: on one core).
* reference: `maxmargin.reference.svm_loss`, vectorized NumPy. Its GEMMs run
  on NumPy's own OpenBLAS, a different library from SciPy's.
"""

import contextlib

import numpy as np
import pytest

import maxmargin
from maxmargin import _dispatch, _floors, _tunables, reference

# bench/ is on sys.path when pytest collects this file.
from problems import SVM_SHAPES as SHAPES, svm_problem as problem

DTYPES = [np.float64, np.float32]
ROLES = ["floor", "maxmargin", "maxmargin reg=1e-3", "maxmargin n_threads=2",
         "maxmargin two GEMMs", "maxmargin SIMD baseline", "maxmargin n_threads=1",
         "reference"]
SINGLE_PASS_ROLES = {"maxmargin two GEMMs", "maxmargin SIMD baseline", "maxmargin n_threads=1"}


def call_for(role, shape, dtype):
    """The zero-argument call that `role` times."""
    W, X, y = problem(shape, dtype)
    if role == "floor":
        S = np.empty((shape[0], shape[2]), dtype)
        dW = np.empty_like(W)
        return lambda: _floors.bare_gemms(W, X, S, dW)
    if role == "maxmargin":
        return lambda: maxmargin.svm_loss(W, X, y)
    if role == "maxmargin reg=1e-3":
        return lambda: maxmargin.svm_loss(W, X, y, reg=1e-3)
    if role == "maxmargin n_threads=2":
        return lambda: maxmargin.svm_loss(W, X, y, n_threads=2)
    if role in ("maxmargin SIMD baseline", "maxmargin n_threads=1"):
        return lambda: maxmargin.svm_loss(W, X, y, n_threads=1)
    if role == "maxmargin two GEMMs":
        return lambda: maxmargin.svm_loss(W, X, y)
    return lambda: reference.svm_loss(W, X, y)


@contextlib.contextmanager
def setting_for(role):
    """The process-wide switch a variant runs under, restored afterwards."""
    if role == "maxmargin two GEMMs":
        with _tunables.override(fewclass_max_classes=0, classvec_max_classes_f32=0,
                                classvec_max_classes_f64=0):
            yield
    elif role == "maxmargin SIMD baseline":
        before = _dispatch.simd_path()
        _dispatch.select_simd_path("baseline")
        try:
            yield
        finally:
            _dispatch.select_simd_path(before)
    else:
        yield


def takes_single_pass(shape):
    """Whether svm_loss takes the few-classes single pass at this shape."""
    n, _, c = shape
    tunables = _tunables.resolve(_dispatch.simd_path())
    return c <= tunables["fewclass_max_classes"] and n >= tunables["fewclass_min_rows"]


def applies(role, shape):
    """The parallel-pass variant is measured only where the pass is large,
    the single-pass variants only where svm_loss takes that pass."""
    if role == "maxmargin n_threads=2":
        return shape[2] >= 1000
    if role in SINGLE_PASS_ROLES:
        return takes_single_pass(shape)
    return True


# ids such as "float64-4096x3073x10-maxmargin_reg=1e-3", for -k selection.
CASES = [pytest.param(dtype, shape, role, id="{}-{}-{}".format(
             np.dtype(dtype).name, "x".join(map(str, shape)), role.replace(" ", "_")))
         for dtype in DTYPES for shape in SHAPES for role in ROLES if applies(role, shape)]


@pytest.mark.parametrize("dtype,shape,role", CASES)
def test_svm_loss(measure, dtype, shape, role):
    with setting_for(role):
        measure(f"svm_loss {np.dtype(dtype).name} (N, D, C)={shape}", role,
                call_for(role, shape, dtype))
