"""Threads: n_threads never changes a bit of the result, and Python threads
calling the kernels at once (the GIL is released) get the serial results."""

import threading

import numpy as np
import pytest

import maxmargin
from maxmargin import _validation

from helpers import DTYPES, KINDS


@pytest.mark.parametrize("dtype", DTYPES)
def test_row_blocks_bit_identical_for_every_n_threads(dtype):
    # Few classes and a large X: several row blocks, each with its own GEMMs.
    rng = np.random.default_rng(8)
    W = rng.standard_normal((3000, 10)).astype(dtype)
    X = rng.standard_normal((1200, 3000)).astype(dtype)
    y = rng.integers(0, 10, 1200)
    runs = [maxmargin.svm_loss(W, X, y, reg=0.1, n_threads=t) for t in (1, 2, 4, None)]
    for run in runs[1:]:
        assert run[0] == runs[0][0]
        np.testing.assert_array_equal(run[1], runs[0][1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_bit_identical_for_every_n_threads(dtype, kind):
    # Large enough (N * C = 600 * 500) for the margin pass to run in parallel.
    rng = np.random.default_rng(2)
    W = rng.standard_normal((40, 500)).astype(dtype)
    X = rng.standard_normal((600, 40)).astype(dtype)
    b = rng.standard_normal(500).astype(dtype)
    y = rng.integers(0, 500, 600)
    w = rng.uniform(0, 2, 600)
    runs = [maxmargin.svm_loss(W, X, y, b=b, kind=kind, sample_weight=w, n_threads=t)
            for t in (1, 2, 4, None)]
    scores = X @ W
    hinge_runs = [maxmargin.multiclass_hinge(scores, y, kind=kind, n_threads=t,
                                             reduction="none") for t in (1, 2, 4, None)]
    for run in runs[1:]:
        assert run[0] == runs[0][0]
        for a, b_ in zip(run[1:], runs[0][1:]):
            np.testing.assert_array_equal(a, b_)
    for run in hinge_runs[1:]:
        np.testing.assert_array_equal(run[0], hinge_runs[0][0])
        np.testing.assert_array_equal(run[1], hinge_runs[0][1])


def test_python_threads_at_once_get_serial_results():
    rng = np.random.default_rng(4)
    problems = []
    for i in range(4):
        W = rng.standard_normal((300, 20))
        X = rng.standard_normal((2000, 300))
        y = rng.integers(0, 20, 2000)
        problems.append((W, X, y))
    serial = [maxmargin.svm_loss(W, X, y, reg=0.1) for W, X, y in problems]
    results = [None] * 4
    start = threading.Barrier(4)

    def work(i):
        W, X, y = problems[i]
        start.wait()
        for _ in range(5):
            results[i] = maxmargin.svm_loss(W, X, y, reg=0.1)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, serial):
        assert got[0] == want[0]
        np.testing.assert_array_equal(got[1], want[1])


def test_n_threads_resolution():
    assert _validation.n_threads(1, "f") == 1
    assert 1 <= _validation.n_threads(None, "f") <= _validation.USABLE_CPUS
    assert _validation.n_threads(10_000, "f") == _validation.USABLE_CPUS
    assert _validation.n_threads(np.int64(1), "f") == 1
