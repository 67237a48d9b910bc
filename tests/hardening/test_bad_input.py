"""Bad input raises ValueError (shapes, values) or TypeError (dtypes, types)
with a message naming the function and the argument: never a crash, never a
silently wrong number."""

import numpy as np
import pytest

import maxmargin

from support import case_ids, raises

N, D, C = 5, 4, 3


@pytest.fixture
def good():
    rng = np.random.default_rng(0)
    return dict(W=rng.standard_normal((D, C)), X=rng.standard_normal((N, D)),
                y=np.array([0, 1, 2, 1, 0]), b=np.zeros(C))


def svm(good, **changes):
    args = dict(good)
    args.update(changes)
    W, X, y = args.pop("W"), args.pop("X"), args.pop("y")
    if args.get("b") is None:
        args.pop("b", None)
    return maxmargin.svm_loss(W, X, y, **args)


def hinge(good, **changes):
    args = dict(scores=good["X"][:, :C].copy(), y=good["y"])
    args.update(changes)
    return maxmargin.multiclass_hinge(args.pop("scores"), args.pop("y"), **args)


# (changes to a good svm_loss call, error, words the message must contain)
SVM_CASES = [
    # ndim
    (dict(X=np.zeros(D)), ValueError, ["X", "2-D"]),
    (dict(W=np.zeros((D, C, 1))), ValueError, ["W", "2-D"]),
    (dict(y=np.zeros((N, 1), int)), ValueError, ["y", f"({N},)"]),
    (dict(b=np.zeros((C, 1))), ValueError, ["b", "1-D"]),
    # shapes that disagree
    (dict(W=np.zeros((D + 1, C))), ValueError, ["W", f"D = {D}"]),
    (dict(y=np.zeros(N + 1, int)), ValueError, ["y", f"({N},)"]),
    (dict(b=np.zeros(C + 1)), ValueError, ["b", f"({C},)"]),
    (dict(sample_weight=np.ones(N - 1)), ValueError, ["sample_weight", f"({N},)"]),
    (dict(class_weight=np.ones(C + 2)), ValueError, ["class_weight", f"({C},)"]),
    (dict(dW_out=np.zeros((C, D))), ValueError, ["dW_out", f"({D}, {C})"]),
    (dict(db_out=np.zeros(C + 1)), ValueError, ["db_out", f"({C},)"]),
    (dict(W=np.zeros((D, 0))), ValueError, ["W", "C >= 1"]),
    # labels
    (dict(y=np.array([0, 1, 3, 1, -1])), ValueError, ["y[2] = 3", "[0, 3)"]),
    (dict(y=np.array([0, 1, 2, 1, -1])), ValueError, ["y[4] = -1"]),
    (dict(y=np.array([0, 1, 2, 1, 2**40], np.uint64)), ValueError, ["y[4] = 1099511627776"]),
    (dict(y=np.array([0, 1, 2, 1, 2**64 - 1], np.uint64)), ValueError, ["y[4] = 18446744073709551615"]),
    (dict(y=np.array([0.0, 1, 2, 1, 0])), TypeError, ["y", "integer"]),
    (dict(y=np.array([True, False, True, True, False])), TypeError, ["y", "integer"]),
    (dict(y=np.array([0, 1, 2, 1, 0], dtype=object)), TypeError, ["y", "integer"]),
    (dict(y="01210"), TypeError, ["y"]),
    (dict(y=None), TypeError, ["y"]),
    # dtypes of the features
    (dict(X=np.zeros((N, D), np.float32)), TypeError, ["X", "float64", "mixed"]),
    (dict(b=np.zeros(C, np.float32)), TypeError, ["b", "mixed"]),
    (dict(X=np.zeros((N, D), np.int64)), TypeError, ["X", "float32 or float64"]),
    (dict(X=np.zeros((N, D), complex)), TypeError, ["X", "complex128"]),
    (dict(X=np.zeros((N, D), object)), TypeError, ["X", "object"]),
    (dict(W=np.zeros((D, C), np.float16)), TypeError, ["W", "float16"]),
    (dict(W=None), TypeError, ["W"]),
    (dict(X="features"), TypeError, ["X"]),
    # scalars
    (dict(delta=-1.0), ValueError, ["delta", ">= 0"]),
    (dict(delta=np.inf), ValueError, ["delta", "finite"]),
    (dict(delta=np.nan), ValueError, ["delta"]),
    (dict(delta="1"), TypeError, ["delta"]),
    (dict(reg=-0.1), ValueError, ["reg"]),
    (dict(reg=None), TypeError, ["reg"]),
    (dict(p=3), ValueError, ["p", "1 or 2"]),
    (dict(p=0), ValueError, ["p"]),
    (dict(p=1.5), TypeError, ["p"]),
    (dict(p=True), TypeError, ["p"]),
    (dict(kind="ovr"), ValueError, ["kind", "weston_watkins"]),
    (dict(kind=None), TypeError, ["kind"]),
    # an array is asked for no truth value (NumPy's own error would escape)
    (dict(kind=np.array([], dtype=np.float16)), TypeError, ["kind", "float16"]),
    (dict(reduction=np.array(["mean", "sum"])), TypeError, ["reduction"]),
    (dict(reduction="none"), ValueError, ["reduction", "mean"]),
    (dict(reduction="avg"), ValueError, ["reduction"]),
    (dict(n_threads=0), ValueError, ["n_threads"]),
    (dict(n_threads=2.0), TypeError, ["n_threads"]),
    (dict(accumulate="yes"), TypeError, ["accumulate"]),
    # weights
    (dict(sample_weight=-np.ones(N)), ValueError, ["sample_weight[0] = -1.0"]),
    (dict(class_weight=np.array([1.0, -2.0, 1.0])), ValueError, ["class_weight[1] = -2.0"]),
    (dict(sample_weight=np.ones(N, complex)), TypeError, ["sample_weight"]),
    (dict(sample_weight=np.ones(N, bool)), TypeError, ["sample_weight"]),
    # output buffers
    (dict(dW_out=np.zeros((D, C), np.float32)), TypeError, ["dW_out", "float64"]),
    (dict(dW_out=np.zeros((C, D)).T), ValueError, ["dW_out", "C-contiguous"]),
    (dict(dW_out=np.zeros((D, C)).tolist()), TypeError, ["dW_out", "ndarray"]),
    (dict(db_out=np.zeros(C, np.float32)), TypeError, ["db_out"]),
    (dict(b=None, db_out=np.zeros(C)), ValueError, ["db_out", "no bias"]),
    (dict(accumulate=True), ValueError, ["accumulate", "no out buffer"]),
]


@pytest.mark.parametrize("changes,error,words", SVM_CASES,
                         ids=case_ids(SVM_CASES))
def test_svm_loss_rejects(good, changes, error, words):
    with raises(error, "svm_loss", *words):
        svm(good, **changes)


def test_svm_loss_rejects_read_only_and_overlapping_outputs(good):
    frozen = np.zeros((D, C))
    frozen.flags.writeable = False
    with raises(ValueError, "svm_loss", "dW_out", "writeable"):
        svm(good, dW_out=frozen)
    X = np.zeros((N, D))
    with raises(ValueError, "svm_loss", "dW_out", "overlap X"):
        svm(good, X=X, dW_out=X.reshape(-1)[:D * C].reshape(D, C))
    # dW_out = W would be read after the regulariser wrote into it: refused,
    # never a silently wrong loss.
    W = good["W"].copy()
    with raises(ValueError, "svm_loss", "dW_out", "overlap W"):
        svm(good, W=W, dW_out=W, reg=0.1)
    b = np.zeros(C)
    with raises(ValueError, "svm_loss", "db_out", "overlap b"):
        svm(good, b=b, db_out=b)
    dW = np.zeros(D * C + C)
    with raises(ValueError, "svm_loss", "db_out", "overlap dW_out"):
        svm(good, dW_out=dW[:D * C].reshape(D, C), db_out=dW[D * C - 1:D * C + C - 1])


HINGE_CASES = [
    (dict(scores=np.zeros(C)), ValueError, ["scores", "2-D"]),
    (dict(scores=np.zeros((N, 0))), ValueError, ["scores", "C >= 1"]),
    (dict(scores=np.zeros((N, C), int)), TypeError, ["scores", "int64"]),
    (dict(scores=np.zeros((N, C), complex)), TypeError, ["scores"]),
    (dict(y=np.array([0, 1, 2, 1, 3])), ValueError, ["y[4] = 3"]),
    (dict(y=np.zeros(N)), TypeError, ["y"]),
    (dict(y=np.zeros(N + 1, int)), ValueError, ["y"]),
    (dict(out=np.zeros((N, C), np.float32)), TypeError, ["out"]),
    (dict(out=np.zeros((N, C + 1))), ValueError, ["out", f"({N}, {C})"]),
    (dict(out=np.zeros((C, N)).T), ValueError, ["out", "C-contiguous"]),
    (dict(reduction="mean_over_c"), ValueError, ["reduction", "none"]),
    (dict(delta=-0.5), ValueError, ["delta"]),
    (dict(p=4), ValueError, ["p"]),
    (dict(kind="cs"), ValueError, ["kind"]),
    (dict(sample_weight=np.ones((N, 1))), ValueError, ["sample_weight"]),
    (dict(n_threads=-2), ValueError, ["n_threads"]),
]


@pytest.mark.parametrize("changes,error,words", HINGE_CASES,
                         ids=case_ids(HINGE_CASES))
def test_multiclass_hinge_rejects(good, changes, error, words):
    with raises(error, "multiclass_hinge", *words):
        hinge(good, **changes)


def test_multiclass_hinge_rejects_partial_overlap(good):
    scores = np.zeros((N + 1, C))
    with raises(ValueError, "multiclass_hinge", "out", "overlap scores"):
        maxmargin.multiclass_hinge(scores[:N], good["y"], out=scores[1:])


def test_out_buffers_must_not_overlap_the_weights(good):
    buffer = np.ones(N * C + N)
    with raises(ValueError, "multiclass_hinge", "out", "overlap sample_weight"):
        hinge(good, out=buffer[:N * C].reshape(N, C), sample_weight=buffer[N * C - 2:-2])
    with raises(ValueError, "svm_loss", "dW_out", "overlap class_weight"):
        svm(good, dW_out=buffer[:D * C].reshape(D, C), class_weight=buffer[:C])


def test_a_failed_call_leaves_out_buffers_untouched(good):
    dW = np.full((D, C), 7.0)
    with pytest.raises(ValueError):
        svm(good, dW_out=dW, y=np.array([0, 1, 2, 1, 9]))
    assert np.all(dW == 7.0)
