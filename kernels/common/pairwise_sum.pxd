# The fixed-order sum of per-row (or per-block) float64 losses that every
# kernel reduces with: accurate to O(log n) ulps, and in an order that
# depends only on n, so results are identical for every thread count.

# Terms per leaf of the pairwise sum (as in NumPy's own pairwise summation).
# Part of the order of the sum, so of the bits: not a tunable.
cdef enum:
    PAIRWISE_BLOCK = 128


cdef inline double pairwise_sum(const double* x, Py_ssize_t n) noexcept nogil:
    """Sum of x[0:n] by pairwise halving, leaves of PAIRWISE_BLOCK terms
    added in order."""
    cdef double total = 0.0
    cdef Py_ssize_t i, half
    if n <= PAIRWISE_BLOCK:
        for i in range(n):
            total += x[i]
        return total
    half = (n // 2 // PAIRWISE_BLOCK) * PAIRWISE_BLOCK
    if half == 0:
        half = PAIRWISE_BLOCK
    return pairwise_sum(x, half) + pairwise_sum(x + half, n - half)
