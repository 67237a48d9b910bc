"""Gradient checking that knows about kinks.

A hinge loss is piecewise linear: at a margin of exactly 0 its derivative
jumps. A centred difference that straddles such a kink averages the two
slopes and makes a correct gradient look wrong. So, coordinate by
coordinate, the check compares the analytic value with the centred
difference ``(f(x + h e) - f(x - h e)) / 2h`` and, where they disagree,
looks at the one-sided differences: if they disagree with each other too
(a kink), the analytic value passes when it lies between them, and the
coordinate is reported as a kink rather than an error.

float32 makes every finite difference unreliable (its rounding, amplified
by 1 / h, is ~1e-2 at h = 1e-5), so float32 input is checked in float64
with a warning.

    >>> import numpy as np
    >>> from maxmargin.gradcheck import check_gradient
    >>> x = np.array([1.0, -2.0, 3.0])
    >>> check_gradient(lambda v: float(np.sum(v ** 2)), x, 2 * x).passed
    True
"""

import warnings
from dataclasses import dataclass, field

import numpy as np

from ._validation import describe, fail

# One-sided differences whose relative gap exceeds this are taken to
# straddle a kink. A smooth f has right - left = h f'' + O(h^3): at the
# default h = 1e-5 that stays far below 1e-3 unless |f''| > 100 |f'|;
# a hinge's jump is of the order of the slope itself.
KINK_GAP = 1e-3


class PrecisionWarning(UserWarning):
    """A gradient check was asked for in float32 and ran in float64."""


@dataclass(frozen=True)
class GradientCheck:
    """What `check_gradient` / `check_vjp` found.

    passed: every checked coordinate agreed (or was a kink the analytic
        value lies within).
    max_rel_error: the largest relative error |a - n| / max(1e-8, |a| + |n|)
        over the coordinates that are not kinks (0.0 if there are none).
    worst_index: the index of that coordinate (None if there are none).
    n_checked: how many coordinates were checked.
    kinks: the indices of the coordinates found on a kink.
    failures: the indices of the coordinates that failed.
    """

    passed: bool
    max_rel_error: float
    worst_index: tuple | None
    n_checked: int
    kinks: list = field(default_factory=list)
    failures: list = field(default_factory=list)

    def __repr__(self):
        verdict = "passed" if self.passed else f"FAILED at {len(self.failures)} coordinates"
        worst = "" if self.worst_index is None else f" at {self.worst_index}"
        return (f"GradientCheck({verdict}: max relative error {self.max_rel_error:.3g}{worst}, "
                f"{self.n_checked} coordinates checked, {len(self.kinks)} on a kink)")

    def __bool__(self):
        return self.passed


def _relative_error(a, n):
    return abs(a - n) / max(1e-8, abs(a) + abs(n))


def _positive(value, func, name):
    try:
        number = float(value)
    except (TypeError, ValueError):
        fail(func, name, "a positive number", describe(value), TypeError)
    if not number > 0 or number == float("inf"):
        fail(func, name, "a positive finite number", repr(value))
    return number


def _prepare(func, x, analytic, h, n_checks, rtol):
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        fail(func, "x", "a float array", describe(x), TypeError)
    analytic = np.asarray(analytic)
    if analytic.shape != x.shape:
        fail(func, "analytic", f"an array of x's shape {x.shape}", describe(analytic))
    if analytic.dtype.kind not in "fiu":
        fail(func, "analytic", "a real array", describe(analytic), TypeError)
    h = _positive(h, func, "h")
    rtol = _positive(rtol, func, "rtol")
    if n_checks is not None:
        if isinstance(n_checks, (bool, np.bool_)) or not isinstance(n_checks, (int, np.integer)):
            fail(func, "n_checks", "None or a positive integer", describe(n_checks), TypeError)
        if n_checks < 1:
            fail(func, "n_checks", "None or a positive integer", repr(n_checks))
    return analytic.astype(np.float64), h, rtol


def _in_float64(f, x, func):
    """A copy of x to perturb: float64, with a warning when x was float32.

    f is tried on the float64 copy; if it refuses (raises), the check runs in
    x's own dtype."""
    if x.dtype == np.float64:
        return x.copy()
    # stacklevel: the user's call, above check_*, _check and this.
    warnings.warn(f"{func}: x is {x.dtype}; finite differences in {x.dtype} are "
                  "unreliable, checking in float64", PrecisionWarning, stacklevel=4)
    wide = x.astype(np.float64)
    try:
        f(wide.copy())
    except Exception:
        return x.copy()
    return wide


def check_gradient(f, x, analytic, *, h=1e-5, n_checks=None, rng=None, rtol=1e-6):
    """Check `analytic` = df/dx by centred differences, allowing for kinks.

    f: callable, f(x) -> float (x is passed as an array of x's shape; it is
        modified between calls, so f must not keep it).
    x: float array, the point of the check (not modified).
    analytic: array of x's shape, the gradient to check.
    h: the step; n_checks: check this many random coordinates (default:
    all); rng: seed or Generator for choosing them; rtol: the largest
    relative error |a - n| / max(1e-8, |a| + |n|) that passes.

    Returns a `GradientCheck` (true when passed).
    """
    return _check("check_gradient", f, x, analytic, h, n_checks, rng, rtol)


def _check(func, f, x, analytic, h, n_checks, rng, rtol):
    """check_gradient's work, with `func` naming the public function in
    messages and warnings."""
    analytic, h, rtol = _prepare(func, x, analytic, h, n_checks, rtol)
    point = _in_float64(f, x, func)
    flat = point.reshape(-1)
    wanted = analytic.reshape(-1)
    if n_checks is None or n_checks >= flat.size:
        coordinates = np.arange(flat.size)
    else:
        coordinates = np.sort(np.random.default_rng(rng).choice(
            flat.size, size=n_checks, replace=False))

    def value():
        return float(f(point))

    centre = value()
    kinks, failures = [], []
    worst, worst_index = -1.0, None
    for i in coordinates:
        old = flat[i]
        flat[i] = old + h
        up = value()
        flat[i] = old - h
        down = value()
        flat[i] = old
        a = float(wanted[i])
        error = _relative_error(a, (up - down) / (2 * h))
        index = tuple(int(k) for k in np.unravel_index(i, x.shape))
        right, left = (up - centre) / h, (centre - down) / h
        if abs(right - left) > KINK_GAP * max(abs(right), abs(left), 1e-8):
            # A kink: any value between the one-sided slopes is a subgradient.
            low, high = min(left, right), max(left, right)
            slack = rtol * max(abs(low), abs(high), 1e-8)
            if low - slack <= a <= high + slack:
                kinks.append(index)
                continue
        elif error <= rtol:
            if error > worst:
                worst, worst_index = error, index
            continue
        failures.append(index)
        if error > worst:
            worst, worst_index = error, index
    return GradientCheck(passed=not failures, max_rel_error=max(worst, 0.0), worst_index=worst_index,
                         n_checked=len(coordinates), kinks=kinks, failures=failures)


def check_vjp(f, x, dout, analytic, *, h=1e-5, n_checks=None, rng=None, rtol=1e-6):
    """Check a vector-Jacobian product: `analytic` = d/dx sum(dout * f(x)).

    f: callable, f(x) -> array of dout's shape. The rest as in
    `check_gradient`, whose check this runs on x -> sum(dout * f(x)).
    """
    func = "check_vjp"
    dout = np.asarray(dout)
    if dout.dtype.kind not in "fiu":
        fail(func, "dout", "a real array", describe(dout), TypeError)
    weights = dout.astype(np.float64)

    def projected(v):
        out = np.asarray(f(v))
        if out.shape != weights.shape:
            fail(func, "f(x)", f"an array of dout's shape {weights.shape}", describe(out))
        return float(np.sum(weights * out))

    return _check(func, projected, x, analytic, h, n_checks, rng, rtol)
