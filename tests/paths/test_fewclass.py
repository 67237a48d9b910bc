"""svm_loss's single pass for few classes (kernels/hinge/fewclass.h) on every SIMD
path this CPU runs: agreement with the reference and with the two-GEMM
path, determinism across threads and layouts, and the run-time dispatch.
The exactness, thread, layout and accumulation tests run the class-vector
single pass (kernels/hinge/classvec.h) too."""

import functools
import os
import platform
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given

import maxmargin
from maxmargin import _dispatch, reference

from support import (DTYPES, KINDS, assert_close, integer_problem, layouts, normal_problem,
                     svm_problems)
from support import EVERY_SINGLE_PASS, FEW_CLASS_PATHS as PATHS
from support import BLOCK_BYTES, few_classes as single_pass, override, two_gemms


# Shapes around the micro-kernels' edges: D across whole and partial
# vectors and slices, odd row counts (a lone last row in a score tile), C
# across whole and partial class tiles.
problems = functools.partial(
    svm_problems, n=(1, 40), d=[1, 2, 3, 5, 7, 8, 15, 16, 17, 33, 64, 100, 257],
    c=(1, 17), normal=True, regs=(0.0, 0.25))


@given(problems())
def test_every_path_agrees_with_the_reference(problem):
    W, X, y, options = problem
    want = reference.svm_loss(W, X, y, **options)
    scale = 4 * max(X.shape)  # terms in a score or a dW entry, times |x|
    for path in PATHS:
        with single_pass(path):
            got = maxmargin.svm_loss(W, X, y, **options)
        for mine, theirs in zip(got, want):
            assert_close(mine, theirs, W.dtype, scale, what=path)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_row_length_agrees_with_the_reference(path, dtype):
    """Every D up to four 16-lane vectors and one more: the kernels read X in
    place, and the last pair of vectors of a row is whole in X, one whole
    vector and zeros, a whole vector and a partial one, a partial one and
    zeros, or absent, by D; 9 rows end in a partial score tile."""
    rng = np.random.default_rng(12)
    for d in range(1, 66):
        W, X, b, y = normal_problem(rng, 9, d, 10, dtype)
        want = reference.svm_loss(W, X, y, b=b, reg=0.25)
        with single_pass(path):
            got = maxmargin.svm_loss(W, X, y, b=b, reg=0.25)
        for mine, theirs in zip(got, want):
            assert_close(mine, theirs, dtype, 4 * d, what=f"D = {d}")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_cifar_shape_agrees_with_the_reference(path, dtype, kind):
    """D = 3073 spans many slices and a partial last vector; N = 300 spans
    several row blocks and chunks; C = 10 two class tiles."""
    rng = np.random.default_rng(3)
    W = (rng.standard_normal((3073, 10)) * 1e-2).astype(dtype)
    X = rng.standard_normal((300, 3073)).astype(dtype)
    b = rng.standard_normal(10).astype(dtype)
    y = rng.integers(0, 10, 300)
    weights = rng.uniform(0, 2, 300)
    for p in (1, 2):
        want = reference.svm_loss(W, X, y, b=b, reg=0.1, kind=kind, p=p,
                                  sample_weight=weights)
        with single_pass(path):
            got = maxmargin.svm_loss(W, X, y, b=b, reg=0.1, kind=kind, p=p,
                                     sample_weight=weights)
        for mine, theirs in zip(got, want):
            assert_close(mine, theirs, dtype, scale=3073)


@pytest.mark.parametrize("passing, path, more", EVERY_SINGLE_PASS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_exact_scores_give_the_two_gemm_loss_exactly(passing, path, more, dtype):
    """With small integers every score is exact in any summation order, so
    the margins, the kinks hit and the loss are those of the GEMM path, bit
    for bit; the gradients agree to rounding."""
    rng = np.random.default_rng(8)
    W, X, b, y = integer_problem(rng, 97, 45, 7 + more, dtype)
    for kind in KINDS:
        with two_gemms():
            want = maxmargin.svm_loss(W, X, y, b=b, kind=kind)
        with passing(path):
            got = maxmargin.svm_loss(W, X, y, b=b, kind=kind)
        assert got[0] == want[0]
        for mine, theirs in zip(got[1:], want[1:]):
            assert_close(mine, theirs, dtype, scale=97 * 4)


@pytest.mark.parametrize("passing, path, more", EVERY_SINGLE_PASS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_identical_for_every_row_block_size(passing, path, more, dtype):
    """The block size (per path by default) decides only which rows share a
    trip through the kernels, never the arithmetic: blocks of one row, of
    3 KiB, the path's own and of 1 MiB give the same bits."""
    rng = np.random.default_rng(5)
    c = 10 + more
    W = rng.standard_normal((333, c)).astype(dtype)
    X = rng.standard_normal((600, 333)).astype(dtype)
    y = rng.integers(0, c, 600)
    with passing(path):
        default = maxmargin.svm_loss(W, X, y, p=2)
        for block_bytes in (1, 3 << 10, 1 << 20):
            with override(**{BLOCK_BYTES[passing]: block_bytes}):
                again = maxmargin.svm_loss(W, X, y, p=2)
            assert again[0] == default[0], block_bytes
            np.testing.assert_array_equal(again[1], default[1])


@pytest.mark.parametrize("passing, path, more", EVERY_SINGLE_PASS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_identical_for_every_thread_count(passing, path, more, dtype):
    rng = np.random.default_rng(4)
    c = 10 + more
    W = rng.standard_normal((130, c)).astype(dtype)
    X = rng.standard_normal((1000, 130)).astype(dtype)
    b = rng.standard_normal(c).astype(dtype)
    y = rng.integers(0, c, 1000)
    with passing(path):
        first = maxmargin.svm_loss(W, X, y, b=b, reg=0.5, n_threads=1)
        for threads in (2, 3, 4):
            again = maxmargin.svm_loss(W, X, y, b=b, reg=0.5, n_threads=threads)
            assert again[0] == first[0]
            for mine, theirs in zip(again[1:], first[1:]):
                np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize("passing, path, more", EVERY_SINGLE_PASS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_identical_for_every_layout(passing, path, more, dtype):
    """Rows of X that are not unit-strided are gathered first: same result."""
    rng = np.random.default_rng(6)
    W = rng.standard_normal((21, 6 + more)).astype(dtype)
    X = rng.standard_normal((50, 21)).astype(dtype)
    y = rng.integers(0, 6 + more, 50)
    with passing(path):
        want = maxmargin.svm_loss(W, X, y)
        for x_name, X_l in layouts(X):
            for w_name, W_l in layouts(W):
                got = maxmargin.svm_loss(W_l, X_l, y)
                assert got[0] == want[0], (x_name, w_name)
                np.testing.assert_array_equal(got[1], want[1], err_msg=f"{x_name} {w_name}")


@pytest.mark.parametrize("passing, path, more", EVERY_SINGLE_PASS)
def test_accumulates_into_the_given_buffers(passing, path, more):
    rng = np.random.default_rng(9)
    W = rng.standard_normal((40, 5 + more))
    b = rng.standard_normal(5 + more)
    X1, X2 = rng.standard_normal((64, 40)), rng.standard_normal((70, 40))
    y1, y2 = rng.integers(0, 5 + more, 64), rng.integers(0, 5 + more, 70)
    with passing(path):
        _, dW1, db1 = maxmargin.svm_loss(W, X1, y1, b=b, reg=0.1)
        _, dW2, db2 = maxmargin.svm_loss(W, X2, y2, b=b, reg=0.1)
        dW, db = dW1.copy(), db1.copy()
        maxmargin.svm_loss(W, X2, y2, b=b, reg=0.1, dW_out=dW, db_out=db, accumulate=True)
    assert_close(dW, dW1 + dW2, np.float64)
    assert_close(db, db1 + db2, np.float64)


def _sum_of_squares_in_order(W, layout):
    """sum(W**2) in float64 in the order fewclass.h gives
    fewclass_l2_gradient: runs of adjacent elements (the flat C-ordered W,
    or each row of a view whose rows are apart) into 16 partial sums by
    position, a run's last len % 16 elements into the first, the partial
    sums added pairwise; a W whose elements are apart (Fortran order), one
    by one, row after row."""
    W = W.astype(np.float64)
    if layout == "F":
        total = 0.0
        for x in W.ravel():
            total += x * x
        return total
    lanes = np.zeros(16)
    for run in [W.ravel()] if layout == "C" else W:
        whole = len(run) // 16 * 16
        for start in range(0, whole, 16):
            lanes += run[start:start + 16] * run[start:start + 16]
        for x in run[whole:]:
            lanes[0] += x * x
    width = 8
    while width >= 1:
        lanes[:width] = lanes[:width] + lanes[width:2 * width]
        width //= 2
    return 0.0 + lanes[0]


@pytest.mark.parametrize("passing, path", [
    pytest.param(switch, path, id=f"{name}-{path}")
    for name, switch in (("few", single_pass), ("gemm", two_gemms)) for path in PATHS])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["C", "rows apart", "F"])
def test_l2_term_is_summed_in_its_documented_order(passing, path, dtype, layout):
    """With X = 0 and delta = 0 every margin is 0 and gives nothing, so the
    loss is reg * sum(W**2), bit for bit in the order fewclass.h fixes for
    every path, and dW = 2 reg W exactly (W of 1003 x 10: runs of 10030
    and of 10 elements, both with a partial last group of 16)."""
    rng = np.random.default_rng(10)
    wide = rng.standard_normal((1003, 20)).astype(dtype)
    W = {"C": np.ascontiguousarray(wide[:, :10]), "rows apart": wide[:, :10],
         "F": np.asfortranarray(wide[:, :10])}[layout]
    X = np.zeros((130, 1003), dtype)
    y = rng.integers(0, 10, 130)
    reg = 0.375
    with passing(path):
        loss, dW = maxmargin.svm_loss(W, X, y, reg=reg, delta=0.0)
    assert loss == reg * _sum_of_squares_in_order(W, layout)
    np.testing.assert_array_equal(dW, dtype(2 * reg) * W)


def test_nan_in_X_reaches_the_loss_and_gradient():
    rng = np.random.default_rng(2)
    W = rng.standard_normal((30, 4))
    X = rng.standard_normal((40, 30))
    X[7, 29] = np.nan  # in the partial last vector of every path
    y = rng.integers(0, 4, 40)
    for path in PATHS:
        with single_pass(path):
            loss, dW = maxmargin.svm_loss(W, X, y)
        assert np.isnan(loss), path
        assert np.isnan(dW[29]).any(), path


# --- dispatch ---------------------------------------------------------------

def _cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def test_paths_are_the_ones_this_cpu_has():
    assert PATHS[-1] == "baseline"
    if platform.machine() in ("x86_64", "AMD64") and os.path.exists("/proc/cpuinfo"):
        flags = _cpu_flags()
        assert ("avx2" in PATHS) == ({"avx2", "fma"} <= flags)
        assert ("avx512" in PATHS) == ({"avx512f", "avx2", "fma"} <= flags)


def test_the_best_path_is_chosen_and_reported():
    assert _dispatch.simd_path() == PATHS[0]
    assert maxmargin._config.config()["simd path (svm_loss few classes, ranking)"].startswith(PATHS[0])


def test_selecting_an_unknown_or_unsupported_path_fails_clearly():
    with pytest.raises(ValueError, match="unknown SIMD path 'sse9'"):
        _dispatch.select_simd_path("sse9")
    with pytest.raises(TypeError):
        _dispatch.select_simd_path(2)
    if "avx512" not in PATHS and platform.machine() in ("x86_64", "AMD64"):
        with pytest.raises(ValueError, match="cannot run on this CPU"):
            _dispatch.select_simd_path("avx512")
    assert _dispatch.simd_path() == PATHS[0]


def _import_with(simd):
    env = dict(os.environ, MAXMARGIN_SIMD=simd)
    return subprocess.run(
        [sys.executable, "-c", "import maxmargin._dispatch as d; print(d.simd_path())"],
        env=env, capture_output=True, text=True)


def test_environment_variable_forces_a_path():
    for path in PATHS + ["auto"]:
        run = _import_with(path)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == (PATHS[0] if path == "auto" else path)
    run = _import_with("sse9")
    assert run.returncode != 0
    assert "MAXMARGIN_SIMD=sse9" in run.stderr and "unknown SIMD path" in run.stderr
