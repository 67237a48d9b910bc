# The scalar helpers of the hinge losses, one formula each (layer 1 of a
# kernel, kernels/README.md): max(0, m) and its slope, the subgradient at
# the kink being 0 and a NaN margin staying NaN.
#
# Margins fall on either side of the kink unpredictably, so both are written
# to compile to selects, never branches. `positive_part` and `unit_slope` are
# for loops the compiler vectorises; for scalar code it does not reach (a
# row's few classes) GCC compiles their selects to branches, so the `_sd`
# forms spell them with SSE2's scalar max, compare and and on x86-64
# (common/row_vectors.h), selects by construction.

cdef inline double positive_part(double margin) noexcept nogil:
    """max(0, margin); a NaN margin stays NaN (never silently 0).

    Spelled `0 > m ? 0 : m`, which is exactly the x86 max instruction's rule
    (NaN and -0.0 pass through), so it compiles to one instruction."""
    return 0 if 0 > margin else margin


cdef inline double unit_slope(double margin) noexcept nogil:
    """d/dm max(0, m): 1 above the kink, 0 at it (the subgradient we use) and
    below it, NaN for a NaN margin. Both tests are always evaluated, so the
    compiler can select instead of branch."""
    cdef bint above = margin > 0
    cdef bint is_nan = margin != margin
    return (1.0 if above else 0.0) + (margin if is_nan else 0.0)


cdef extern from "common/row_vectors.h":
    double positive_part_sd "maxmargin_positive_part_sd"(double margin) noexcept nogil
    double unit_slope_sd "maxmargin_unit_slope_sd"(double margin) noexcept nogil
