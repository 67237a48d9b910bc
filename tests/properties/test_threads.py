"""Threads: n_threads and OMP_NUM_THREADS never change a bit of the result,
and Python threads calling the kernels at once (the GIL is released), beside
NumPy's own BLAS threads, get the serial results."""

import concurrent.futures
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import maxmargin
from maxmargin import _runtime, _validation

from support import DTYPES, KINDS


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


def every_kernel(rng_seed=9):
    """Zero-argument calls of every kernel on shared, read-only inputs, each
    returning fresh arrays (an embedding gradient gets its own table)."""
    rng = np.random.default_rng(rng_seed)

    def frozen(a):
        a.flags.writeable = False
        return a
    X = frozen(rng.standard_normal((600, 64)))
    W_few, W_many = frozen(rng.standard_normal((64, 10))), frozen(rng.standard_normal((64, 300)))
    y_few, y_many = frozen(rng.integers(0, 10, 600)), frozen(rng.integers(0, 300, 600))
    scores = frozen(X @ W_many)
    s, s_c = frozen(rng.standard_normal(600)), frozen(rng.standard_normal((600, 4)))
    b = frozen(rng.standard_normal(300))
    dY = frozen(rng.standard_normal((600, 300)))
    indices = frozen(rng.integers(0, 50, 600))
    _, cache = maxmargin.linear_forward(X, W_many, b, activation="tanh")
    return {
        "svm_loss single pass": lambda: maxmargin.svm_loss(W_few, X, y_few, reg=0.1),
        "svm_loss two GEMMs": lambda: maxmargin.svm_loss(W_many, X, y_many, b=b, p=2),
        "multiclass_hinge": lambda: maxmargin.multiclass_hinge(scores, y_many,
                                                               kind="crammer_singer"),
        "ranking_hinge": lambda: maxmargin.ranking_hinge(s, s_c),
        "linear_forward": lambda: maxmargin.linear_forward(X, W_many, b, activation="relu"),
        "linear_backward": lambda: maxmargin.linear_backward(dY, cache),
        "matmul_backward": lambda: maxmargin.matmul_backward(dY, X, W_many),
        "embedding_backward": lambda: maxmargin.embedding_backward(
            X, indices, np.zeros((50, 64))),
    }


def assert_same_bits(got, want, what):
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    for g, w in zip(got, want):
        if isinstance(w, maxmargin.LinearCache):
            g, w = g.Y, w.Y
        np.testing.assert_array_equal(g, w, err_msg=what)


def test_eight_threads_on_shared_inputs_beside_numpy_blas_get_serial_results():
    calls = every_kernel()
    serial = {name: call() for name, call in calls.items()}
    results = {}
    start = threading.Barrier(9)
    done = threading.Event()

    def work(i):
        start.wait()
        got = []
        for name in list(calls)[i % len(calls):] + list(calls)[:i % len(calls)]:
            got.append((name, calls[name]()))
        results[i] = got

    def numpy_blas():  # NumPy's own OpenBLAS threads, busy the whole time
        a = np.random.default_rng(0).standard_normal((300, 300))
        start.wait()
        while not done.is_set():
            a = np.tanh(a @ a)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    blas = threading.Thread(target=numpy_blas)
    for t in threads + [blas]:
        t.start()
    for t in threads:
        t.join()
    done.set()
    blas.join()
    assert len(results) == 8
    for got in results.values():
        for name, result in got:
            assert_same_bits(result, serial[name], name)


def test_repeated_runs_are_identical():
    calls = every_kernel()
    first = {name: call() for name, call in calls.items()}
    for _ in range(3):
        for name, call in calls.items():
            assert_same_bits(call(), first[name], name)


FINGERPRINT_SCRIPT = """
import hashlib, sys
import numpy as np
sys.path[:0] = sys.argv[1:]
from test_threads import every_kernel
digest = hashlib.sha256()
for name, call in every_kernel().items():
    result = call()
    for part in (result if isinstance(result, tuple) else (result,)):
        part = getattr(part, "Y", part)
        digest.update(np.asarray(part, dtype=np.float64).tobytes())
print(digest.hexdigest())
"""


def test_omp_num_threads_changes_no_bit():
    # OpenBLAS also reads OMP_NUM_THREADS when OPENBLAS_NUM_THREADS is unset,
    # and the bits of its GEMMs can depend on its thread count: that one is
    # held fixed here, so the test is of maxmargin's own loops.
    here = os.path.dirname(os.path.abspath(__file__))  # and tests/, for support.py
    prints = set()
    for setting in ("1", "2", "3"):
        env = dict(os.environ, OMP_NUM_THREADS=setting, OPENBLAS_NUM_THREADS="2")
        result = subprocess.run([sys.executable, "-c", FINGERPRINT_SCRIPT, here,
                                 os.path.dirname(here)], env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        prints.add(result.stdout.strip())
    assert len(prints) == 1


def test_in_a_thread_pool_and_under_threadpool_limits():
    # n_threads=None is read at each call: OpenMP's team size for the calling
    # thread, which threadpool_limits lowers (and restores) in that thread.
    # Threads of a pool start from the process's default.
    threadpoolctl = pytest.importorskip("threadpoolctl")  # comes with scikit-learn
    calls = every_kernel()
    serial = {name: call() for name, call in calls.items()}
    default = _validation.n_threads(None, "f")
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert _validation.n_threads(None, "f") == 1
        for name, call in calls.items():
            assert_same_bits(call(), serial[name], name)
    assert _validation.n_threads(None, "f") == default
    # Limiting every pool also makes the BLAS serial: the GEMMs' last bits
    # may change with that (OpenBLAS's doing), nothing else.
    with threadpoolctl.threadpool_limits(1):
        assert _validation.n_threads(None, "f") == 1
        for name, call in calls.items():
            got = call()
            want = serial[name]
            got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
            for g, w in zip(got, want):
                g, w = getattr(g, "Y", g), getattr(w, "Y", w)
                np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12, err_msg=name)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = {name: pool.submit(call) for name, call in calls.items()}
        threads_seen = pool.submit(_validation.n_threads, None, "f").result()
        for name, future in futures.items():
            assert_same_bits(future.result(), serial[name], name)
    assert threads_seen == min(_runtime.openmp_max_threads(), _validation.USABLE_CPUS)
