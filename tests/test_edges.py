"""Numbers at the edges: float32 losses summed over 10^7 rows keep float64
accuracy, and arrays beyond 2^31 elements are indexed with 64 bits.

The test on more than 2^31 elements needs 12.7 GB of memory at its peak (an 8.6 GB
float32 array, overwritten in place by its gradient, and 2.1 GB of float64
row losses; 40 s here) and is marked slow, outside the default run:

    python -m pytest tests/test_edges.py -m slow
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
