"""svm_loss (the fused loss from features) against both references, numerical
gradients, accumulation into caller buffers, and the edge cases of SPEC.md."""

import numpy as np
import pytest
from hypothesis import given

import maxmargin
from maxmargin import reference

from support import DTYPES, KINDS, assert_close, integer_problem, svm_problems
from support import override, two_gemms


@given(svm_problems())
def test_agrees_with_both_references(problem):
    W, X, y, options = problem
    got = maxmargin.svm_loss(W, X, y, **options)
    assert len(got) == (3 if "b" in options else 2)
    assert got[1].dtype == W.dtype and got[1].flags.c_contiguous
    scale = X.shape[0] * 4  # entries summed by the dW product, times |x|
    for ref in (reference.svm_loss, reference.svm_loss_naive):
        want = ref(W, X, y, **options)
        assert_close(got[0], want[0], W.dtype, scale, what=f"{ref.__name__} loss")
        for mine, theirs in zip(got[1:], want[1:]):
            assert mine.dtype == W.dtype
            assert_close(mine, theirs, W.dtype, scale, what=ref.__name__)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_real_valued_data(dtype, kind):
    """A CIFAR-like problem of real values (fixed seed: no margin is near a
    kink, so the two BLAS libraries cannot round a term across it)."""
    rng = np.random.default_rng(11)
    W = (rng.standard_normal((200, 10)) * 1e-2).astype(dtype)
    X = rng.standard_normal((150, 200)).astype(dtype)
    b = rng.standard_normal(10).astype(dtype)
    y = rng.integers(0, 10, 150)
    for p in (1, 2):
        got = maxmargin.svm_loss(W, X, y, b=b, reg=0.1, kind=kind, p=p)
        want = reference.svm_loss(W, X, y, b=b, reg=0.1, kind=kind, p=p)
        for mine, theirs in zip(got, want):
            assert_close(mine, theirs, dtype, scale=200)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("p", [1, 2])
def test_gradients_match_central_differences(kind, p):
    rng = np.random.default_rng(5)
    W = rng.standard_normal((6, 4))
    X = rng.standard_normal((8, 6))
    b = rng.standard_normal(4)
    y = rng.integers(0, 4, 8)
    w = rng.uniform(0.5, 2, 8)
    S = X @ W + b
    rows = np.arange(8)
    margins = S - S[rows, y][:, None] + 1.0
    margins[rows, y] = 10
    assert np.abs(margins).min() > 1e-3  # away from every kink

    def loss(W_, b_):
        return maxmargin.svm_loss(W_, X, y, b=b_, reg=0.3, p=p, kind=kind, sample_weight=w)[0]

    _, dW, db = maxmargin.svm_loss(W, X, y, b=b, reg=0.3, p=p, kind=kind, sample_weight=w)
    h = 1e-6
    for arr, grad, f in ((W, dW, lambda a: loss(a, b)), (b, db, lambda a: loss(W, a))):
        numeric = np.zeros_like(arr)
        for idx in np.ndindex(*arr.shape):
            e = np.zeros_like(arr)
            e[idx] = h
            numeric[idx] = (f(arr + e) - f(arr - e)) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_accumulate_adds_into_buffers(dtype, rng):
    """A weight used in two places: accumulate=True sums the two gradients."""
    W, X1, b, y1 = integer_problem(rng, 12, 5, 4, dtype)
    _, X2, _, y2 = integer_problem(rng, 7, 5, 4, dtype)
    _, dW1, db1 = maxmargin.svm_loss(W, X1, y1, b=b, reg=0.5)
    _, dW2, db2 = maxmargin.svm_loss(W, X2, y2, b=b, reg=0.5)
    dW = np.zeros_like(W)
    db = np.zeros_like(b)
    for X, y in ((X1, y1), (X2, y2)):
        loss, dW_ret, db_ret = maxmargin.svm_loss(W, X, y, b=b, reg=0.5, dW_out=dW,
                                                  db_out=db, accumulate=True)
        assert dW_ret is dW and db_ret is db
    assert_close(dW, dW1 + dW2, dtype)
    assert_close(db, db1 + db2, dtype)
    # Only the buffers given accumulate; db without one comes back fresh.
    _, dW_ret, db_fresh = maxmargin.svm_loss(W, X2, y2, b=b, reg=0.5, dW_out=dW,
                                             accumulate=True)
    assert_close(dW, dW1 + dW2 + dW2, dtype)
    np.testing.assert_array_equal(db_fresh, db2)
    # Without accumulate the buffers are overwritten.
    dW_again = np.full_like(W, 123)
    _, out = maxmargin.svm_loss(W, X1, y1, dW_out=dW_again)
    assert out is dW_again
    np.testing.assert_array_equal(dW_again, maxmargin.svm_loss(W, X1, y1)[1])


def test_empty_batch_leaves_only_the_regulariser():
    W = np.arange(6.0).reshape(3, 2)
    loss, dW, db = maxmargin.svm_loss(W, np.zeros((0, 3)), np.zeros(0, int),
                                      b=np.ones(2), reg=0.5)
    assert loss == pytest.approx(0.5 * np.sum(W**2))
    np.testing.assert_array_equal(dW, 2 * 0.5 * W)
    np.testing.assert_array_equal(db, [0.0, 0.0])


def test_reg_zero_keeps_inf_weights_out_of_the_regulariser():
    W = np.array([[np.inf, 0.0], [0.0, 0.0]])
    X = np.zeros((1, 2))  # scores 0 * inf = NaN: the loss must say so
    loss, _ = maxmargin.svm_loss(W, X, [0])
    assert np.isnan(loss)
    loss, _ = maxmargin.svm_loss(W[1:], X[:, 1:], [0])  # finite W: no NaN from reg
    assert loss == 1.0


def test_nan_in_features_propagates():
    X = np.array([[1.0, np.nan], [1.0, 2.0]])
    W = np.ones((2, 3))
    loss, dW = maxmargin.svm_loss(W, X, [0, 1])
    assert np.isnan(loss)
    assert np.isnan(dW).any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_many_row_blocks(dtype, kind):
    """Few classes and an X over 12 MiB: the kernel walks X in row blocks of
    about 3 MiB (98 rows of D = 4000 in float64, 196 in float32), so 900
    rows cross several block boundaries (the last one partial), with every
    option that touches per-row state."""
    rng = np.random.default_rng(9)
    n = 900 if dtype == np.float64 else 1000
    W, X, b, y = integer_problem(rng, n, 4000, 7, dtype, low=-1, high=2)
    w = rng.uniform(0, 2, n)
    options = dict(b=b, reg=0.01, kind=kind, p=2, sample_weight=w,
                   class_weight=rng.uniform(0.5, 1.5, 7))
    want = reference.svm_loss(W, X, y, **options)
    for X_layout in (X, np.asfortranarray(X)):
        got = maxmargin.svm_loss(W, X_layout, y, **options)
        for mine, theirs in zip(got, want):
            assert_close(mine, theirs, dtype, scale=4000)
    dW = np.ones_like(W)
    db = np.ones_like(b)
    maxmargin.svm_loss(W, X, y, dW_out=dW, db_out=db, accumulate=True, **options)
    assert_close(dW, want[1] + 1, dtype, scale=4000)
    assert_close(db, want[2] + 1, dtype, scale=4000)


@pytest.mark.parametrize("reg", [0.0, 0.5])
@pytest.mark.parametrize("accumulate", [False, True])
def test_float64_dW_through_the_transposed_product(reg, accumulate):
    """float64, few classes, N >= 128: dW is computed as (X^T G)^T into a
    scratch and added into dW; with or without a regulariser and an old dW
    to keep."""
    rng = np.random.default_rng(21)
    W, X, b, y = integer_problem(rng, 300, 40, 5, np.float64)
    want = reference.svm_loss(W, X, y, b=b, reg=reg)
    start = rng.integers(-3, 4, W.shape).astype(np.float64)
    dW = start.copy()
    loss, dW_ret, db = maxmargin.svm_loss(W, X, y, b=b, reg=reg, dW_out=dW, db_out=np.zeros(5),
                                          accumulate=accumulate)
    assert dW_ret is dW
    assert_close(loss, want[0], np.float64)
    assert_close(dW, want[1] + (start if accumulate else 0), np.float64, scale=300)
    assert_close(db, want[2], np.float64, scale=300)


@pytest.mark.parametrize("reg", [0.0, 0.5])
@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_dW_through_the_transposed_product_on_the_two_gemm_path(reg, accumulate, dtype):
    """The two GEMMs with N >= 500: dW as (X^T G)^T into a scratch, added
    into dW (float64 always, float32 by the SIMD path's choice), against
    the reference with the float32 orientation forced either way."""
    rng = np.random.default_rng(23)
    W, X, b, y = integer_problem(rng, 600, 30, 40, dtype)
    want = reference.svm_loss(W, X, y, b=b, reg=reg)
    start = rng.integers(-3, 4, W.shape).astype(dtype)
    for transposed in (True, False):
        with two_gemms(), override(transposed_dw_f32=transposed):
            dW = start.copy()
            loss, _, db = maxmargin.svm_loss(W, X, y, b=b, reg=reg, dW_out=dW,
                                             accumulate=accumulate)
        what = f"transposed_dw_f32={transposed}"
        assert_close(loss, want[0], dtype, what=what)
        assert_close(dW, want[1] + (start if accumulate else 0), dtype, scale=600, what=what)
        assert_close(db, want[2], dtype, scale=600, what=what)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("options", [
    {}, dict(bias=True), dict(bias=True, reg=0.25, p=2, reduction="sum"),
    dict(weights=True), dict(accumulate=True, bias=True)], ids=str)
@pytest.mark.parametrize("order", ["C", "F"])
def test_float64_scores_through_the_transposed_product(kind, options, order):
    """float64 with many rows a class: S^T = W^T X^T by one whole-batch GEMM,
    the margin pass reading S's rows from it with a stride into a separate
    G. Against the reference, with the orientation switched off as well, and
    with rows whose label score is inf or NaN."""
    rng = np.random.default_rng(22)
    n, d, c = 700, 30, 40   # N >= 512 and N >= 8 C, C above the single pass's 16
    W, X, b, y = integer_problem(rng, n, d, c, np.float64)
    X[3, 0], X[5, 1] = np.inf, np.nan
    X = np.asarray(X, order=order)
    kwargs = dict(kind=kind, p=options.get("p", 1), reg=options.get("reg", 0.0),
                  reduction=options.get("reduction", "mean"))
    if options.get("bias"):
        kwargs["b"] = b
    if options.get("weights"):
        kwargs["sample_weight"] = rng.uniform(0, 2, n)
        kwargs["class_weight"] = rng.uniform(0.5, 1.5, c)
    with np.errstate(invalid="ignore"):   # the NaN row
        want = reference.svm_loss(W, X, y, **kwargs)
    for column_scores in (True, False):
        with override(column_scores=column_scores):
            if options.get("accumulate"):
                dW, db = np.ones_like(W), np.ones_like(b)
                loss, _, _ = maxmargin.svm_loss(W, X, y, dW_out=dW, db_out=db,
                                                accumulate=True, **kwargs)
                got = (loss, dW - 1, db - 1)
            else:
                got = maxmargin.svm_loss(W, X, y, **kwargs)
        assert len(got) == len(want)
        for mine, theirs in zip(got, want):
            assert_close(mine, theirs, np.float64, scale=n, what=f"column_scores={column_scores}")


# --- the common call, checked in C (maxmargin._hinge.svm_loss_common) --------

def _general_path(W, X, y, **options):
    """svm_loss through maxmargin._validation: an explicit n_threads (the
    default's value: results are the same for every count) keeps the call
    off the C-checked path."""
    threads = maxmargin._validation.n_threads(None, "test")
    return maxmargin.svm_loss(W, X, y, n_threads=threads, **options)


def _common(W, X, y, b=None, reg=0.0, delta=1.0, p=1, kind="weston_watkins",
            reduction="mean"):
    return maxmargin._hinge.svm_loss_common(W, X, y, b, reg, delta, p, kind, reduction,
                                           maxmargin._validation.USABLE_CPUS)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 8, 2), (0, 5, 3), (4, 0, 3), (64, 30, 10),
                                   (200, 40, 10)], ids=str)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("options", [
    {}, dict(b=True), dict(reg=0.5, delta=0.0, p=2, kind="crammer_singer", reduction="sum"),
    dict(b=True, reg=1e-3, delta=3.0, kind="crammer_singer")],
    ids=lambda options: ",".join(options) or "defaults")
def test_common_call_is_checked_in_c_and_matches_the_general_path(dtype, shape, order,
                                                                  options):
    """Plain arrays and Python scalars take the C-checked entry (it answers,
    not None), and its results equal the general path's bit for bit: both
    run the same kernel on the same memory. (200, 40, 10) is the few-classes
    single pass, the others the two GEMMs."""
    rng = np.random.default_rng(sum(shape))
    n, d, c = shape
    W, X, b, y = integer_problem(rng, n, d, c, dtype)
    W, X = np.asarray(W, order=order), np.asarray(X, order=order)
    options = dict(options, **({"b": b} if options.get("b") else {}))
    fast = _common(W, X, y, **options)
    assert fast is not None
    public = maxmargin.svm_loss(W, X, y, **options)
    general = _general_path(W, X, y, **options)
    assert len(fast) == len(public) == len(general) == (3 if "b" in options else 2)
    assert fast[0] == public[0] == general[0]
    for mine, via_public, theirs in zip(fast[1:], public[1:], general[1:]):
        assert mine.dtype == via_public.dtype == theirs.dtype == dtype
        assert mine.shape == via_public.shape == theirs.shape
        assert mine.flags.c_contiguous
        np.testing.assert_array_equal(mine, theirs)
        np.testing.assert_array_equal(via_public, theirs)
    want = reference.svm_loss(W, X, y, **options)
    assert_close(fast[0], want[0], dtype, scale=4 * max(n, 1))


def _declined_calls():
    """(name, arguments of svm_loss) the C-checked entry leaves to the
    general path, which still answers them."""
    rng = np.random.default_rng(5)
    W, X, b, y = integer_problem(rng, 6, 4, 3, np.float64)
    wide = np.zeros((6, 9))
    wide[:, :4] = X
    raw = np.zeros(X.nbytes + 1, np.uint8)
    misaligned = np.frombuffer(raw.data, np.float64, X.size, offset=1).reshape(X.shape)
    misaligned[...] = X

    class Subclass(np.ndarray):
        pass

    base = dict(W=W, X=X, y=y)
    return [
        ("X a list", dict(base, X=X.tolist())),
        ("X an ndarray subclass", dict(base, X=X.view(Subclass))),
        ("X big-endian", dict(base, X=X.astype(">f8"))),
        ("X misaligned", dict(base, X=misaligned)),
        ("X a column slice", dict(base, X=wide[:, :4])),
        ("X a row step", dict(base, X=np.repeat(X, 2, axis=0)[::2])),
        ("y int32", dict(base, y=y.astype(np.int32))),
        ("y uint8", dict(base, y=y.astype(np.uint8))),
        ("y a list", dict(base, y=y.tolist())),
        ("y step 2", dict(base, y=np.repeat(y, 2)[::2])),
        ("b step 2", dict(base, b=np.repeat(b, 2)[::2])),
        ("b a list", dict(base, b=b.tolist())),
        ("reg an int", dict(base, reg=0)),
        ("reg a NumPy float", dict(base, reg=np.float64(0.5))),
        ("delta an int", dict(base, delta=1)),
        ("p a NumPy int", dict(base, p=np.int64(2))),
    ]


@pytest.mark.parametrize("call", [pytest.param(call, id=name)
                                  for name, call in _declined_calls()])
def test_other_calls_fall_back_to_the_general_path(call):
    """Anything but plain arrays and Python scalars is declined (None) by
    the C-checked entry, and svm_loss still gets it right: the general path
    converts (copies, casts) and agrees with the reference."""
    assert _common(**call) is None
    got = maxmargin.svm_loss(**call)
    want = reference.svm_loss(**call)
    assert_close(got[0], want[0], np.float64)
    for mine, theirs in zip(got[1:], want[1:]):
        assert_close(mine, theirs, np.float64, scale=24)


@pytest.mark.parametrize("argument, value, error", [
    ("p", True, TypeError),
    ("p", 3, ValueError),
    ("kind", "hinge", ValueError),
    ("reduction", "none", ValueError),
    ("reduction", None, TypeError),
    ("delta", -1.0, ValueError),
    ("reg", float("inf"), ValueError),
    ("reg", float("nan"), ValueError),
], ids=lambda value: repr(value) if not isinstance(value, type) else "")
def test_bad_options_are_declined_and_worded_by_the_general_path(argument, value, error):
    rng = np.random.default_rng(6)
    W, X, b, y = integer_problem(rng, 6, 4, 3, np.float32)
    assert _common(W, X, y, **{argument: value}) is None
    with pytest.raises(error, match=rf"^svm_loss: {argument} must "):
        maxmargin.svm_loss(W, X, y, **{argument: value})


def test_label_out_of_range_in_the_common_call():
    """The C-checked entry raises the kernel's LabelError; svm_loss words it
    as the general path does, before writing anything."""
    W = np.ones((4, 3))
    X = np.ones((5, 4))
    y = np.array([0, 1, 2, 3, 0])
    with pytest.raises(maxmargin._hinge.LabelError):
        _common(W, X, y)
    with pytest.raises(ValueError, match=r"^svm_loss: y must hold class indices in "
                                         r"\[0, 3\); got y\[3\] = 3$"):
        maxmargin.svm_loss(W, X, y)
