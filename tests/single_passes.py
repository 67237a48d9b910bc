"""Switches for svm_loss's choice of path, for the tests that hold the
single passes (test_fewclass.py, test_classvec.py) to the two GEMMs and to
each other. Each is process-wide while it lasts, like the knobs it sets."""

import contextlib

import pytest

from maxmargin import _hinge

FEW_CLASS_PATHS = _hinge.simd_paths()
CLASS_VECTOR_PATHS = _hinge.class_vector_paths()


@contextlib.contextmanager
def few_classes(path):
    """svm_loss takes the few-classes single pass at every shape, on the
    given path (the class-vector kernels off)."""
    previous_path = _hinge.simd_path()
    previous_limits = _hinge.few_class_limits(max_classes=10**6, min_rows=0)
    previous_vectors = _hinge.class_vector_limits(max_classes=0, max_classes_f64=0)
    _hinge.select_simd_path(path)
    try:
        yield
    finally:
        _hinge.select_simd_path(previous_path)
        _hinge.few_class_limits(*previous_limits)
        _hinge.class_vector_limits(*previous_vectors)


@contextlib.contextmanager
def class_vectors(path):
    """svm_loss takes the class-vector single pass at every C and N, in both
    dtypes, on the given path."""
    previous_path = _hinge.simd_path()
    previous = _hinge.class_vector_limits(max_classes=10**6, min_rows=0,
                                          max_classes_f64=10**6, min_classes=0)
    _hinge.select_simd_path(path)
    try:
        yield
    finally:
        _hinge.select_simd_path(previous_path)
        _hinge.class_vector_limits(*previous)


@contextlib.contextmanager
def two_gemms():
    """svm_loss takes the two-GEMM path at every shape."""
    previous_limits = _hinge.few_class_limits(max_classes=0)
    previous_vectors = _hinge.class_vector_limits(max_classes=0, max_classes_f64=0)
    try:
        yield
    finally:
        _hinge.few_class_limits(*previous_limits)
        _hinge.class_vector_limits(*previous_vectors)


# Both single passes on every path that has them, with the classes a test
# adds to its few-classes count so that the class-vector kernels see more
# than one vector's worth (C + 30).
EVERY_SINGLE_PASS = (
    [pytest.param(few_classes, path, 0, id=f"few-{path}") for path in FEW_CLASS_PATHS]
    + [pytest.param(class_vectors, path, 30, id=f"classvec-{path}")
       for path in CLASS_VECTOR_PATHS])
