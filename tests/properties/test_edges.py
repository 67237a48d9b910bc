"""Numbers at the edges: float32 losses summed over 10^7 rows keep float64
accuracy, and arrays beyond 2^31 elements are indexed with 64 bits.

The tests on more than 2^31 elements are marked slow, outside the default
run; one at a time, they need at most 12.7 GB of memory (multiclass_hinge:
an 8.6 GB float32 array, overwritten in place by its gradient, and 2.1 GB of
float64 row losses; svm_loss: X of 8.6 GB and little else), about 2 minutes
in all here:

    python -m pytest tests/properties/test_edges.py -m slow
"""

import math

import numpy as np
import pytest

import maxmargin

ROWS = 10**7


def test_float32_loss_over_ten_million_rows_keeps_float64_accuracy():
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((ROWS, 2), dtype=np.float32)
    y = (rng.random(ROWS) < 0.5).astype(np.int8)
    # The exact loss: margins rounded in float32 (as the kernel rounds them),
    # then summed exactly.
    rows = np.arange(ROWS)
    margins = scores[rows, 1 - y] - scores[rows, y] + np.float32(1.0)
    exact = math.fsum(np.maximum(margins, 0).astype(np.float64).tolist()) / ROWS
    loss, _ = maxmargin.multiclass_hinge(scores, y)
    assert abs(loss - exact) <= 1e-12 * exact
    # What a float32 accumulator would give is far off: the test can tell.
    float32_sum = np.cumsum(np.maximum(margins, 0), dtype=np.float32)[-1] / ROWS
    assert abs(float32_sum - exact) > 1e-6 * exact

    s = rng.standard_normal(ROWS, dtype=np.float32)
    s_c = rng.standard_normal(ROWS, dtype=np.float32)
    margins = s_c - s + np.float32(1.0)
    exact = math.fsum(np.maximum(margins, 0).astype(np.float64).tolist()) / ROWS
    loss, _, _ = maxmargin.ranking_hinge(s, s_c)
    assert abs(loss - exact) <= 1e-12 * exact


@pytest.mark.slow
def test_more_than_two_to_the_31_elements():
    n_classes = 8
    n_rows = 2**31 // n_classes + 3          # N * C = 2^31 + 24 elements
    scores = np.zeros((n_rows, n_classes), dtype=np.float32)   # 8.6 GB
    y = np.zeros(n_rows, dtype=np.int8)
    # The last rows, past element 2^31, differ: a 32-bit index would miss them.
    scores[-2:, 3] = 4.0
    y[-1] = 5
    loss, dscores = maxmargin.multiclass_hinge(scores, y, reduction="sum", out=scores)
    assert dscores is scores or np.shares_memory(dscores, scores)
    # Every row but the last two: 7 margins of 1. Row -2: six of 1 and one of
    # 5 (class 3). Row -1 (label 5, score 0): six of 1 and one of 5.
    assert loss == 7 * (n_rows - 2) + 2 * (6 + 5)
    np.testing.assert_array_equal(dscores[0], [-7, 1, 1, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(dscores[-2], [-7, 1, 1, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(dscores[-1], [1, 1, 1, 1, 1, -7, 1, 1])


# svm_loss on an X (N, D) of more than 2^31 elements, on each of its paths
# (see kernels/hinge/_hinge.pyx): few classes and many rows take the single pass;
# up to 64 classes, the GEMMs over row blocks; more, the whole-batch GEMMs.
# N * D = 2^31 + 256 in the first two (the row offsets past 2^31 are
# computed by maxmargin); the last has few rows of 2^20 features (BLAS's
# own indexing, and a dW of 68 M elements).
SVM_BEYOND_2_31 = {
    "single pass": (2**31 // 64 + 4, 64, 4),
    "blocked GEMMs": (2**31 // 64 + 4, 64, 32),
    "whole-batch GEMMs": (2**31 // 2**20 + 2, 2**20, 65),
}


@pytest.mark.slow
@pytest.mark.parametrize("path", SVM_BEYOND_2_31)
def test_svm_loss_beyond_two_to_the_31_elements(path):
    n_rows, n_features, n_classes = SVM_BEYOND_2_31[path]
    X = np.zeros((n_rows, n_features), dtype=np.float32)   # 8.6 GB
    W = np.zeros((n_features, n_classes), dtype=np.float32)
    b = np.zeros(n_classes, dtype=np.float32)
    y = np.zeros(n_rows, dtype=np.int64)
    # The very last element of X, past element 2^31, is the only nonzero
    # one: it gives the last row a score of 3 for class 2, and that row's
    # label is 1. A 32-bit offset would read a zero elsewhere instead.
    last = n_features - 1
    X[-1, last] = 1.0
    W[last, 2] = 3.0
    y[-1] = 1
    loss, dW, db = maxmargin.svm_loss(W, X, y, b=b, reduction="sum")
    # All margins are positive: C - 1 of 1 in every row but the last, whose
    # margin for class 2 is 1 + 3.
    C, N = n_classes, n_rows
    assert loss == (C - 1) * (N - 1) + (C - 2) + 4
    last_row_coef = np.ones(C, dtype=np.float32)
    last_row_coef[1] = -(C - 1)
    np.testing.assert_array_equal(dW[last], last_row_coef)
    assert np.count_nonzero(dW) == C
    expected_db = np.full(C, N, dtype=np.float64)
    expected_db[0] = -(C - 1) * (N - 1) + 1
    expected_db[1] = (N - 1) - (C - 1)
    np.testing.assert_array_equal(db, expected_db.astype(np.float32))


# A dimension beyond BLAS's 32-bit int is refused with the house message,
# before anything is copied: the arrays here are zero-stride broadcasts of
# one element, whose copies would need 16 GB.
def _huge(shape):
    return np.broadcast_to(np.zeros(1), shape)


@pytest.mark.parametrize("call, argument, dimension", [
    (lambda: maxmargin.svm_loss(np.zeros((1, 2)), _huge((2**31, 1)), np.zeros(1, int)),
     "X", "N"),
    (lambda: maxmargin.svm_loss(_huge((2**31, 2)), _huge((1, 2**31)), np.zeros(1, int)),
     "X", "D"),
    (lambda: maxmargin.svm_loss(_huge((1, 2**31)), np.zeros((1, 1)), np.zeros(1, int)),
     "W", "C"),
    (lambda: maxmargin.linear_forward(_huge((2**31, 1)), np.zeros((1, 2))), "X", "N"),
    (lambda: maxmargin.linear_forward(np.zeros((1, 1)), _huge((1, 2**31))), "W", "D_out"),
    (lambda: maxmargin.matmul_backward(_huge((1, 2**31)), np.zeros((1, 1)), _huge((1, 2**31))),
     "W", "D_out"),
])
def test_dimensions_beyond_the_blas_int_are_refused(call, argument, dimension):
    with pytest.raises(ValueError) as error:
        call()
    message = str(error.value)
    assert f": {argument} must be at most {2**31 - 1} along {dimension}" in message
    assert message.endswith(f"got {dimension} = {2**31}")
