"""multiclass_hinge against both references, and against SPEC.md's conventions
worked out by hand."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import maxmargin
from maxmargin import reference

from support import DTYPES, KINDS, assert_close


@st.composite
def hinge_problems(draw):
    """Scores (small integers, so margins hit the kink and ties happen, or
    arbitrary floats), labels and every option."""
    dtype = draw(st.sampled_from(DTYPES))
    n = draw(st.integers(0, 12))
    c = draw(st.integers(1, 7))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if draw(st.booleans()):
        scores = rng.integers(-2, 3, size=(n, c)).astype(dtype)
    else:
        scores = (rng.standard_normal((n, c)) * draw(st.sampled_from([0.1, 1.0, 30.0]))).astype(dtype)
    y = rng.integers(0, c, size=n)
    options = dict(
        delta=draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])),
        p=draw(st.sampled_from([1, 2])),
        kind=draw(st.sampled_from(KINDS)),
        reduction=draw(st.sampled_from(["mean", "sum", "none"])),
        sample_weight=rng.uniform(0, 3, n) if draw(st.booleans()) else None,
        class_weight=rng.uniform(0, 3, c) if draw(st.booleans()) else None,
    )
    return scores, y, options


@given(hinge_problems())
def test_agrees_with_both_references(problem):
    scores, y, options = problem
    loss, grad = maxmargin.multiclass_hinge(scores, y, **options)
    for ref in (reference.multiclass_hinge, reference.multiclass_hinge_naive):
        ref_loss, ref_grad = ref(scores, y, **options)
        assert grad.dtype == scores.dtype and grad.shape == scores.shape
        assert_close(grad, ref_grad, scores.dtype, what=ref.__name__)
        if options["reduction"] == "none":
            assert loss.dtype == scores.dtype and loss.shape == (scores.shape[0],)
        else:
            assert isinstance(loss, float)
        assert_close(loss, ref_loss, scores.dtype, what=ref.__name__)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("p", [1, 2])
def test_gradient_matches_central_differences(dtype, kind, p):
    """float64 finite differences of the loss, at a point away from every kink
    and tie (checked), for the float64 kernel; float32 is held to float64."""
    rng = np.random.default_rng(7)
    scores = rng.standard_normal((9, 5))
    y = rng.integers(0, 5, 9)
    w = rng.uniform(0.5, 2.0, 9)
    rows = np.arange(9)
    margins = scores - scores[rows, y][:, None] + 1.0
    margins[rows, y] = 10.0
    assert np.abs(margins).min() > 1e-3  # no kink within reach of h
    ordered = np.sort(np.where(np.eye(5, dtype=bool)[y], -np.inf, scores), axis=1)
    assert (ordered[:, -1] - ordered[:, -2]).min() > 1e-3  # no Crammer-Singer tie

    def f(s):
        return maxmargin.multiclass_hinge(s, y, p=p, kind=kind, sample_weight=w)[0]

    _, grad = maxmargin.multiclass_hinge(scores.astype(dtype), y, p=p, kind=kind,
                                         sample_weight=w)
    h = 1e-6
    numeric = np.zeros_like(scores)
    for idx in np.ndindex(*scores.shape):
        e = np.zeros_like(scores)
        e[idx] = h
        numeric[idx] = (f(scores + e) - f(scores - e)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5 if dtype == np.float32 else 1e-7,
                               atol=1e-6)


# --- conventions, computed by hand ------------------------------------------

def test_kink_has_zero_subgradient():
    # s_0 - s_1 + delta = 0 exactly: not violated, loss 0, gradient 0.
    loss, grad = maxmargin.multiclass_hinge(np.array([[0.0, 1.0]]), [1], delta=1.0)
    assert loss == 0.0
    assert np.all(grad == 0.0)
    # Just above the kink the term counts with slope 1.
    loss, grad = maxmargin.multiclass_hinge(np.array([[0.25, 1.0]]), [1], delta=1.0)
    assert loss == 0.25
    np.testing.assert_array_equal(grad, [[1.0, -1.0]])


def test_weston_watkins_by_hand():
    # CS231n's example: scores (3.2, 5.1, -1.7), correct class 0, delta 1:
    # max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1) = 2.9
    scores = np.array([[3.2, 5.1, -1.7]])
    loss, grad = maxmargin.multiclass_hinge(scores, [0])
    assert loss == pytest.approx(2.9, abs=1e-12)
    np.testing.assert_array_equal(grad, [[-1.0, 1.0, 0.0]])
    loss2, grad2 = maxmargin.multiclass_hinge(scores, [0], p=2)
    assert loss2 == pytest.approx((5.1 - 3.2 + 1) ** 2, abs=1e-12)
    np.testing.assert_allclose(grad2, [[-2 * 2.9, 2 * 2.9, 0.0]], atol=1e-12)


def test_crammer_singer_routes_to_lowest_of_tied_maxima():
    scores = np.array([[1.0, 3.0, 3.0, 0.0]])
    loss, grad = maxmargin.multiclass_hinge(scores, [0], kind="crammer_singer")
    assert loss == 3.0  # 3 - 1 + 1
    np.testing.assert_array_equal(grad, [[-1.0, 1.0, 0.0, 0.0]])


def test_single_class_has_no_rival():
    for kind in KINDS:
        loss, grad = maxmargin.multiclass_hinge(np.array([[5.0], [-1.0]]), [0, 0], kind=kind)
        assert loss == 0.0 and np.all(grad == 0)


def test_weights_multiply_after_the_power_and_mean_divides_by_n():
    scores = np.array([[0.0, 1.0], [0.0, 0.5]])  # margins 2 and 1.5 for y = (0, 0)
    y = [0, 0]
    w = np.array([3.0, 0.5])
    cw = np.array([2.0, 7.0])
    loss, grad = maxmargin.multiclass_hinge(scores, y, p=2, sample_weight=w, class_weight=cw)
    per_sample = np.array([2.0**2, 1.5**2]) * w * cw[0]
    assert loss == pytest.approx(per_sample.sum() / 2, abs=1e-12)  # / N, not / sum(w)
    np.testing.assert_allclose(grad[:, 1], 2 * np.array([2.0, 1.5]) * w * cw[0] / 2)
    total, _ = maxmargin.multiclass_hinge(scores, y, p=2, sample_weight=w, class_weight=cw,
                                          reduction="sum")
    assert total == pytest.approx(per_sample.sum(), abs=1e-12)
    rows, grad_none = maxmargin.multiclass_hinge(scores, y, p=2, sample_weight=w,
                                                 class_weight=cw, reduction="none")
    np.testing.assert_allclose(rows, per_sample)
    np.testing.assert_allclose(grad_none, grad * 2)  # gradient of the unreduced sum


def test_torch_mean_is_ours_divided_by_classes():
    # PyTorch's multi_margin_loss (p=1, margin=1) written out: mean over i of
    # sum_{j != y} max(0, 1 - s_y + s_j) / C. Ours is the same without / C.
    rng = np.random.default_rng(3)
    scores = rng.standard_normal((6, 4))
    y = rng.integers(0, 4, 6)
    torch_style = np.mean([sum(max(0.0, 1 - scores[i, y[i]] + scores[i, j])
                               for j in range(4) if j != y[i]) / 4 for i in range(6)])
    ours, _ = maxmargin.multiclass_hinge(scores, y)
    assert ours / 4 == pytest.approx(torch_style, rel=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_nan_and_inf_propagate(kind):
    scores = np.array([[0.0, np.nan, 1.0], [0.0, 1.0, 2.0], [np.inf, 0.0, 1.0]])
    y = [0, 0, 1]
    loss, grad = maxmargin.multiclass_hinge(scores, y, kind=kind)
    assert np.isnan(loss)
    assert np.isnan(grad[0]).any() and np.isnan(grad[0, 0])  # the NaN row
    assert np.all(np.isfinite(grad[1]))  # other rows untouched
    rows, _ = maxmargin.multiclass_hinge(scores, y, kind=kind, reduction="none")
    assert np.isnan(rows[0]) and np.isfinite(rows[1]) and rows[2] == np.inf


def test_empty_batch_gives_zero():
    for reduction in ("mean", "sum"):
        loss, grad = maxmargin.multiclass_hinge(np.zeros((0, 3)), np.zeros(0, int),
                                                reduction=reduction)
        assert loss == 0.0 and grad.shape == (0, 3)
    rows, _ = maxmargin.multiclass_hinge(np.zeros((0, 3), np.float32), [], reduction="none")
    assert rows.shape == (0,) and rows.dtype == np.float32


@pytest.mark.parametrize("dtype", DTYPES)
def test_out_buffer_and_in_place(dtype, rng):
    scores = rng.standard_normal((20, 6)).astype(dtype)
    y = rng.integers(0, 6, 20)
    expected_loss, expected = maxmargin.multiclass_hinge(scores, y)
    out = np.full_like(scores, 99)
    loss, grad = maxmargin.multiclass_hinge(scores, y, out=out)
    assert grad is out and loss == expected_loss
    np.testing.assert_array_equal(out, expected)
    # The gradient may overwrite the scores themselves.
    work = scores.copy()
    loss, grad = maxmargin.multiclass_hinge(work, y, out=work, kind="weston_watkins")
    assert grad is work and loss == expected_loss
    np.testing.assert_array_equal(work, expected)
    work = scores.copy()
    _, expected_cs = maxmargin.multiclass_hinge(scores, y, kind="crammer_singer")
    maxmargin.multiclass_hinge(work, y, out=work, kind="crammer_singer")
    np.testing.assert_array_equal(work, expected_cs)


def test_float32_stays_float32_with_float64_sums():
    # 10^5 rows each with loss 0.1f: a float32 running sum would drift.
    n = 100_000
    scores = np.zeros((n, 2), np.float32)
    scores[:, 1] = np.float32(-0.9)  # margin 0.1 (in float32) for y = 0
    loss, grad = maxmargin.multiclass_hinge(scores, np.zeros(n, int), reduction="sum")
    assert grad.dtype == np.float32
    margin64 = float(np.float32(-0.9) - np.float32(0) + np.float32(1.0))
    assert loss == pytest.approx(n * margin64, rel=1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("p", [1, 2])
def test_infinite_and_nan_scores_row_by_row(dtype, kind, p):
    """Scores drawn from {-inf, inf, NaN} and small integers, the label's own
    score included: rows whose label score is finite take the label-free
    loop (the label's column set to -inf), the others the select loop; both
    must give the reference's row losses and gradients, NaN where it has
    NaN."""
    rng = np.random.default_rng(17 * p)
    values = np.array([-np.inf, np.inf, np.nan, -1.0, 0.0, 1.0, 2.0])
    for n_classes in (3, 10):
        scores = rng.choice(values, size=(300, n_classes), p=[.1, .1, .1, .175, .175, .175, .175])
        scores = scores.astype(dtype)
        y = rng.integers(0, n_classes, 300)
        with np.errstate(invalid="ignore"):
            want_rows, want_grad = reference.multiclass_hinge(scores, y, kind=kind, p=p,
                                                              reduction="none")
        rows, grad = maxmargin.multiclass_hinge(scores, y, kind=kind, p=p, reduction="none")
        np.testing.assert_array_equal(rows, want_rows)
        np.testing.assert_array_equal(grad, want_grad)
