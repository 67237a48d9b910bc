"""Every memory layout SPEC.md §3 promises gives the C-order result: C and
Fortran order, transposed views, strided slices, read-only arrays,
np.memmap(mode="r"), other byte orders and misaligned buffers."""

import numpy as np
import pytest

import maxmargin
from maxmargin import _validation

from support import DTYPES, KINDS, integer_problem, layouts


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_svm_loss_every_layout_of_X_and_W(dtype, kind, rng):
    W, X, b, y = integer_problem(rng, 13, 7, 5, dtype)
    want = maxmargin.svm_loss(W, X, y, b=b, reg=0.1, kind=kind)
    for x_name, X_l in layouts(X):
        for w_name, W_l in layouts(W):
            got = maxmargin.svm_loss(W_l, X_l, y, b=b, reg=0.1, kind=kind)
            assert got[0] == want[0], (x_name, w_name)
            np.testing.assert_array_equal(got[1], want[1], err_msg=f"{x_name} {w_name}")
            np.testing.assert_array_equal(got[2], want[2], err_msg=f"{x_name} {w_name}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_multiclass_hinge_every_layout_of_scores(dtype, rng):
    scores = rng.standard_normal((11, 6)).astype(dtype)
    y = rng.integers(0, 6, 11)
    for kind in KINDS:
        want = maxmargin.multiclass_hinge(scores, y, kind=kind)
        for name, s in layouts(scores) + [("reversed rows", scores[::-1][::-1])]:
            got = maxmargin.multiclass_hinge(s, y, kind=kind)
            assert got[0] == want[0], name
            np.testing.assert_array_equal(got[1], want[1], err_msg=name)


def test_servable_layouts_are_not_copied(rng):
    X = rng.standard_normal((8, 5))
    wide = rng.standard_normal((8, 9))
    tall = rng.standard_normal((16, 5))
    for name, a in [("C", X), ("F", np.asfortranarray(X)), ("transposed", X.T),
                    ("column slice", wide[:, 2:7]), ("row step", tall[::2]),
                    ("single column", wide[:, 3:4]), ("single row", tall[3:4, :])]:
        assert _validation.blas_operand(a) is a, name
    for name, a in [("doubly strided", tall[::2, ::2]), ("reversed", X[::-1]),
                    ("broadcast", np.broadcast_to(X[:1], (8, 5)))]:
        copy = _validation.blas_operand(a)
        assert copy is not a and copy.flags.c_contiguous, name
        np.testing.assert_array_equal(copy, a)


@pytest.mark.parametrize("dtype", DTYPES)
def test_memmap_read_only(dtype, rng, tmp_path):
    W, X, b, y = integer_problem(rng, 20, 6, 4, dtype)
    path = tmp_path / "X.dat"
    X.tofile(path)
    X_map = np.memmap(path, dtype=dtype, mode="r", shape=X.shape)
    W_ro = W.copy()
    W_ro.flags.writeable = False
    got = maxmargin.svm_loss(W_ro, X_map, y, b=b)
    want = maxmargin.svm_loss(W, X, y, b=b)
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])
    S_map = np.memmap(path, dtype=dtype, mode="r", shape=(20, 6))
    got = maxmargin.multiclass_hinge(S_map, y)
    want = maxmargin.multiclass_hinge(np.array(S_map), y)
    assert got[0] == want[0]


def test_any_integer_label_dtype(rng):
    W, X, b, y = integer_problem(rng, 9, 4, 3, np.float64)
    want = maxmargin.svm_loss(W, X, y)
    for dtype in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
                  np.int64, np.uint64):
        got = maxmargin.svm_loss(W, X, y.astype(dtype))
        assert got[0] == want[0], dtype
    got = maxmargin.svm_loss(W, X, list(y))
    assert got[0] == want[0]
    strided = np.repeat(y, 2)[::2]
    assert maxmargin.svm_loss(W, X, strided)[0] == want[0]


def misaligned(a):
    """A copy of `a` at an odd byte address."""
    raw = np.zeros(a.nbytes + 1, dtype=np.uint8)
    view = raw[1:].view(a.dtype).reshape(a.shape)
    view[...] = a
    assert not view.flags.aligned
    return view


def test_misaligned_labels_indices_and_weights_are_realigned(rng):
    # The kernels read labels as intp and weights as double: at an odd address
    # that is undefined behaviour in C (UBSan reports it), so they are copied.
    scores = rng.standard_normal((9, 4))
    y = rng.integers(0, 4, 9).astype(np.intp)
    w = rng.uniform(0, 2, 9)
    want = maxmargin.multiclass_hinge(scores, y, sample_weight=w)
    got = maxmargin.multiclass_hinge(scores, misaligned(y), sample_weight=misaligned(w))
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])
    assert _validation.labels(misaligned(y), 9, 4, "f").flags.aligned
    assert _validation.weights(misaligned(w), 9, "f", "w", "weights").flags.aligned
    dL, dL_want = np.zeros((4, 4)), np.zeros((4, 4))
    maxmargin.embedding_backward(scores, y, dL_want)
    maxmargin.embedding_backward(scores, misaligned(y), dL)
    np.testing.assert_array_equal(dL, dL_want)
