# Predicates on an argument's NumPy header, read in a few C loads: what the
# compiled fast lane of a call (svm_loss's common call, the benchmark
# floors) asks before it reads arrays in place. They never raise: a call
# they do not accept goes to maxmargin._validation, which checks, converts
# and words every error. A module that cimports this calls
# numpy's import_array() at import.

cimport numpy as cnp
from libc.math cimport INFINITY


cdef inline bint plain_array(object a, int ndim, int typenum) noexcept:
    """`a` is exactly an ndarray with `ndim` dims of type `typenum`, in native
    byte order, aligned, and C- or Fortran-contiguous: what the kernels read
    in place, as maxmargin._validation would let it through unchanged."""
    if not cnp.PyArray_CheckExact(a):
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>a
    return (cnp.PyArray_NDIM(arr) == ndim and cnp.PyArray_TYPE(arr) == typenum
            and cnp.PyArray_ISNOTSWAPPED(arr) and cnp.PyArray_ISALIGNED(arr)
            and (cnp.PyArray_IS_C_CONTIGUOUS(arr) or cnp.PyArray_IS_F_CONTIGUOUS(arr)))


cdef inline bint plain_scalar(object value) noexcept:
    """`value` is a Python float in [0, inf), as reg and delta must be."""
    return type(value) is float and 0.0 <= <double>value < INFINITY
