"""Switches for svm_loss's choice of path, for the tests that hold the
single passes (test_fewclass.py, test_classvec.py) to the two GEMMs and to
each other. Each is process-wide while it lasts, like the knobs it sets."""

import contextlib

import pytest

from maxmargin import _hinge

FEW_CLASS_PATHS = _hinge.simd_paths()
CLASS_VECTOR_PATHS = _hinge.class_vector_paths()


@contextlib.contextmanager
def _switched(path, **limits):
    """Within it: the given SIMD path (None: the one in use) and the limits,
    {function name in _hinge: its keyword arguments}; all restored after."""
    previous_path = _hinge.simd_path()
    previous = {name: getattr(_hinge, name)(**kwargs) for name, kwargs in limits.items()}
    if path is not None:
        _hinge.select_simd_path(path)
    try:
        yield
    finally:
        _hinge.select_simd_path(previous_path)
        for name, before in previous.items():
            getattr(_hinge, name)(*before)


def few_classes(path):
    """svm_loss takes the few-classes single pass at every shape, on the
    given path (the class-vector kernels off)."""
    return _switched(path, few_class_limits=dict(max_classes=10**6, min_rows=0),
                     class_vector_limits=dict(max_classes=0, max_classes_f64=0))


def class_vectors(path):
    """svm_loss takes the class-vector single pass at every C and N, in both
    dtypes, on the given path."""
    return _switched(path, class_vector_limits=dict(max_classes=10**6, min_rows=0,
                                                    max_classes_f64=10**6, min_classes=0))


def two_gemms(path=None):
    """svm_loss takes the two-GEMM path at every shape (the L2 term on the
    given SIMD path; None: the one in use)."""
    return _switched(path, few_class_limits=dict(max_classes=0),
                     class_vector_limits=dict(max_classes=0, max_classes_f64=0))


# Both single passes on every path that has them, with the classes a test
# adds to its few-classes count so that the class-vector kernels see more
# than one vector's worth (C + 30).
EVERY_SINGLE_PASS = (
    [pytest.param(few_classes, path, 0, id=f"few-{path}") for path in FEW_CLASS_PATHS]
    + [pytest.param(class_vectors, path, 30, id=f"classvec-{path}")
       for path in CLASS_VECTOR_PATHS])
