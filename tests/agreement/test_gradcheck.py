"""maxmargin.gradcheck: first on functions whose gradients are known (and a
deliberately wrong one), then on the package's own kernels."""

import numpy as np
import pytest

import maxmargin
from maxmargin.gradcheck import GradientCheck, PrecisionWarning, check_gradient, check_vjp


def test_a_known_smooth_gradient_passes():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    result = check_gradient(lambda v: float(v @ A @ v + np.sin(v).sum()), x,
                            (A + A.T) @ x + np.cos(x))
    assert result.passed and bool(result)
    assert result.n_checked == 4 and not result.kinks and not result.failures
    assert 0 <= result.max_rel_error < 1e-8
    assert "passed" in repr(result) and "4 coordinates checked" in repr(result)


def test_a_wrong_gradient_fails_at_the_wrong_coordinate():
    x = np.array([0.5, -1.5, 2.0])
    wrong = 2 * x
    wrong[1] *= 1.01
    result = check_gradient(lambda v: float(np.sum(v ** 2)), x, wrong)
    assert not result.passed and not bool(result)
    assert result.failures == [(1,)] and result.worst_index == (1,)
    assert result.max_rel_error > 1e-3
    assert "FAILED at 1 coordinates" in repr(result)


def test_a_kink_is_reported_not_failed():
    """|x| at 0: the centred difference is 0, the one-sided ones -1 and +1;
    any analytic value in [-1, 1] is a valid subgradient."""
    x = np.array([0.0, 2.0])
    for sub in (-1.0, 0.0, 0.3, 1.0):
        result = check_gradient(lambda v: float(np.abs(v).sum()), x, np.array([sub, 1.0]))
        assert result.passed, sub
        assert result.kinks == [(0,)]
    outside = check_gradient(lambda v: float(np.abs(v).sum()), x, np.array([1.5, 1.0]))
    assert not outside.passed and outside.failures == [(0,)]


def test_a_random_subset_of_coordinates():
    x = np.arange(12.0).reshape(3, 4)
    result = check_gradient(lambda v: float(np.sum(v ** 3)), x, 3 * x ** 2, n_checks=5,
                            rng=1, rtol=1e-5)
    assert result.passed and result.n_checked == 5
    again = check_gradient(lambda v: float(np.sum(v ** 3)), x, 3 * x ** 2, n_checks=5,
                           rng=1, rtol=1e-5)
    assert again.worst_index == result.worst_index
    assert isinstance(result.worst_index, tuple) and len(result.worst_index) == 2


def test_float32_input_warns_and_checks_in_float64():
    x = np.array([0.3, -0.7], dtype=np.float32)
    seen = []

    def f(v):
        seen.append(v.dtype)
        return float(np.sum(v ** 2))

    with pytest.warns(PrecisionWarning):
        result = check_gradient(f, x, 2 * x.astype(np.float64))
    assert result.passed and set(seen) == {np.dtype(np.float64)}
    assert x.dtype == np.float32 and x[0] == np.float32(0.3)  # untouched


def test_x_is_not_modified():
    x = np.array([1.0, 2.0])
    before = x.copy()
    check_gradient(lambda v: float(np.sum(v ** 2)), x, 2 * x)
    np.testing.assert_array_equal(x, before)


def test_vjp_of_a_known_map():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((3, 5))
    x = rng.standard_normal(5)
    dout = rng.standard_normal(3)
    assert check_vjp(lambda v: np.tanh(A @ v), x, dout,
                     A.T @ (dout * (1 - np.tanh(A @ x) ** 2))).passed
    assert not check_vjp(lambda v: np.tanh(A @ v), x, dout, A.T @ dout).passed


@pytest.mark.parametrize("kwargs, error, what", [
    (dict(x=[1.0, 2.0]), TypeError, "x"),
    (dict(x=np.array([1, 2])), TypeError, "x"),
    (dict(analytic=np.zeros(3)), ValueError, "analytic"),
    (dict(h=0.0), ValueError, "h"),
    (dict(h="big"), TypeError, "h"),
    (dict(rtol=-1.0), ValueError, "rtol"),
    (dict(n_checks=0), ValueError, "n_checks"),
    (dict(n_checks=2.5), TypeError, "n_checks"),
])
def test_bad_arguments_are_named(kwargs, error, what):
    args = dict(f=lambda v: float(np.sum(v)), x=np.zeros(2), analytic=np.ones(2))
    args.update(kwargs)
    with pytest.raises(error, match=f"^check_gradient: {what} must be"):
        check_gradient(args.pop("f"), args.pop("x"), args.pop("analytic"), **args)


# --- the package's kernels, checked with the package's tool ------------------

@pytest.mark.parametrize("kind", ["weston_watkins", "crammer_singer"])
@pytest.mark.parametrize("p", [1, 2])
def test_svm_loss_gradient_on_data_with_kinks(kind, p):
    """Integer data puts margins exactly on the kink: the check reports
    kinks there and passes, where a naive check would fail."""
    rng = np.random.default_rng(3)
    W = rng.integers(-2, 3, (5, 4)).astype(np.float64)
    X = rng.integers(-2, 3, (12, 5)).astype(np.float64)
    b = rng.integers(-2, 3, 4).astype(np.float64)
    y = rng.integers(0, 4, 12)
    loss, dW, db = maxmargin.svm_loss(W, X, y, b=b, reg=0.1, kind=kind, p=p)
    # p = 2 is smooth, but its second derivative jumps at the kink: a centred
    # difference there is off by O(h) (~1e-6 relative here), hence rtol.
    rtol = 1e-6 if p == 1 else 1e-5
    assert check_gradient(lambda w: maxmargin.svm_loss(w, X, y, b=b, reg=0.1, kind=kind,
                                                       p=p)[0], W, dW, rtol=rtol)
    assert check_gradient(lambda c: maxmargin.svm_loss(W, X, y, b=c, reg=0.1, kind=kind,
                                                       p=p)[0], b, db, rtol=rtol)


def test_svm_loss_kinks_are_found():
    W = np.zeros((2, 3))
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([0, 1])
    # W = 0, delta = 0: every margin sits exactly on the kink.
    _, dW = maxmargin.svm_loss(W, X, y, delta=0.0)
    result = check_gradient(lambda w: maxmargin.svm_loss(w, X, y, delta=0.0)[0], W, dW)
    assert result.passed and len(result.kinks) > 0


def test_linear_backward_vjp():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((6, 4))
    W = rng.standard_normal((4, 3))
    b = rng.standard_normal(3)
    dY = rng.standard_normal((6, 3))
    _, cache = maxmargin.linear_forward(X, W, b, activation="tanh")
    dX, dW, db = maxmargin.linear_backward(dY, cache)
    forward = lambda **kw: maxmargin.linear_forward(**{"X": X, "W": W, "b": b, **kw},
                                                    activation="tanh")[0]
    assert check_vjp(lambda v: forward(X=v), X, dY, dX)
    assert check_vjp(lambda v: forward(W=v), W, dY, dW)
    assert check_vjp(lambda v: forward(b=v), b, dY, db)


def test_ranking_hinge_gradient():
    rng = np.random.default_rng(5)
    s = rng.standard_normal(20)
    s_c = rng.standard_normal((20, 3))
    _, ds, ds_c = maxmargin.ranking_hinge(s, s_c)
    assert check_gradient(lambda v: maxmargin.ranking_hinge(v, s_c)[0], s, ds)
    assert check_gradient(lambda v: maxmargin.ranking_hinge(s, v)[0], s_c, ds_c)


def test_result_type():
    result = check_gradient(lambda v: float(v.sum()), np.zeros(2), np.ones(2))
    assert isinstance(result, GradientCheck)
