"""No leaks: many calls of each kernel, with and without out buffers, and
calls that raise, leave the process's memory flat.

Two measures over the same calls, after a warm-up (which fills the caches
that are meant to persist: the single pass's workspace slot, NumPy's small
block cache, BLAS buffers):

* tracemalloc: Python-level allocations still alive after the calls grow by
  less than TRACED_SLACK, 64 KiB (a leak of one 8-byte object a call shows
  as 80 KB at 10^4 calls, 800 KB at 10^5);
* resident set size (Linux /proc/self/statm): grows by less than RSS_SLACK,
  4 MiB (a C-level leak of 64 bytes a call shows as 6 MB at 10^5 calls).

The suite runs LEAK_CALLS = 10^4 calls a case; the full check is

    MAXMARGIN_LEAK_CALLS=100000 python -m pytest tests/hardening/test_leaks.py -q

(10^5 calls of each of the 31 cases: about three minutes here).
tracemalloc sees every thread of the process, so these run before
tests/scale_out (pytest takes the folders in name order): the threads a
finished Dask cluster leaves behind still allocate.
"""

import gc
import os
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

import maxmargin
from maxmargin import _sparse, _tunables
from maxmargin.sparse import by_types

LEAK_CALLS = int(os.environ.get("MAXMARGIN_LEAK_CALLS", "10000"))
WARM_UP = 1000
TRACED_SLACK = 64 * 1024
RSS_SLACK = 4 * 1024 * 1024
MEASURED = {}  # case -> (traced bytes, RSS bytes) gained; printed by conftest.py


# AddressSanitizer holds freed memory in quarantine (256 MB by default), so
# the resident size grows under tests/hardening/sanitize.sh without any leak: there
# tracemalloc alone is the measure.
UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")


def rss_bytes():
    if UNDER_ASAN:
        return 0
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: tracemalloc alone
        return 0


def cases():
    """(name, call) for every kernel: plain, with out buffers, raising."""
    rng = np.random.default_rng(0)
    n, d, c = 8, 6, 4
    X, W, b = rng.standard_normal((n, d)), rng.standard_normal((d, c)), rng.standard_normal(c)
    y = rng.integers(0, c, n)
    bad_y = y.copy()
    bad_y[-1] = c  # found by the kernel, after its buffers exist
    scores = X @ W
    dscores = np.empty_like(scores)
    dW, db = np.zeros_like(W), np.zeros_like(b)
    # The single pass (C <= 16, N >= 128) with its cached workspace.
    X_big, W_big = rng.standard_normal((256, 64)), rng.standard_normal((64, 10))
    y_big = rng.integers(0, 10, 256)
    s, s_c = rng.standard_normal(n), rng.standard_normal((n, 3))
    ds, ds_c = np.zeros_like(s), np.zeros_like(s_c)
    Y, cache = maxmargin.linear_forward(X, W, b, activation="tanh")
    dY = rng.standard_normal(Y.shape)
    Y_out, dX = np.empty_like(Y), np.zeros_like(X)
    indices = rng.integers(0, 5, n)
    dL = np.zeros((5, d))
    bad_indices = indices.copy()
    bad_indices[3] = -1
    # Sparse X: the one-thread pass, the team's pipeline (its chunk scores
    # in the scratch slot), a bad column index found mid-pass, and the
    # estimator's compiled SGD epoch and dual pass.
    X_sparse = sp.random(n, d, density=0.5, format="csr", random_state=1)
    X_team = sp.random(600, 64, density=0.2, format="csr", random_state=2)
    y_team = rng.integers(0, c, 600)
    X_bad = X_team.copy()
    X_bad.indices[-5] = 64
    W_team = rng.standard_normal((64, c))
    parts = (X_sparse.data, X_sparse.indices, X_sparse.indptr)
    key = (np.dtype(np.float64), X_sparse.indices.dtype)
    sgd_epoch = by_types(_sparse.csr_sgd_epoch_kernel)[key]
    dual_pass = by_types(_sparse.csr_dual_epoch_kernel)[key]
    order, y_rows = np.arange(n, dtype=np.intp), y.astype(np.intp)
    W_fit, b_fit, alpha = np.zeros((d, c)), np.zeros(c), np.zeros((n, c))
    active, bounds = np.ones((n, c), dtype=np.uint8), np.empty((2, c))
    ones, diagonal = np.ones(n), np.ones(n) + 1.0

    def team(call):
        def run():
            with _tunables.override(sparse_parallel_min_entries=0, sparse_chunk_entries=2000):
                return call()
        return run

    def one_dual_pass():
        active[...], bounds[0], bounds[1] = 1, np.inf, -np.inf
        dual_pass(W_fit, b_fit, *parts, y_rows, ones, diagonal, alpha, active, order, 2, 1.0,
                  True, bounds)
    return [
        ("sparse svm_loss", lambda: maxmargin.svm_loss(W, X_sparse, y, b=b, dW_out=dW)),
        ("sparse svm_loss team", team(lambda: maxmargin.svm_loss(
            W_team, X_team, y_team, n_threads=2))),
        ("sparse svm_loss raising", team(lambda: maxmargin.svm_loss(
            W_team, X_bad, y_team, n_threads=2))),
        ("sparse linear_forward", lambda: maxmargin.linear_forward(X_sparse, W, b)),
        ("sparse matmul_backward", lambda: maxmargin.matmul_backward(
            dY, X_sparse, W, need_dX="pattern")),
        ("sparse SGD epoch", lambda: sgd_epoch(W_fit, b_fit, *parts, y_rows, ones, order, 4, 0,
                                               1, 1.0, 0.01, 0.01, 0.999, True, 1e-9)),
        ("sparse dual pass", one_dual_pass),
        ("multiclass_hinge", lambda: maxmargin.multiclass_hinge(scores, y)),
        ("multiclass_hinge out=", lambda: maxmargin.multiclass_hinge(scores, y, out=dscores)),
        ("multiclass_hinge raising", lambda: maxmargin.multiclass_hinge(scores, bad_y)),
        ("svm_loss", lambda: maxmargin.svm_loss(W, X, y, b=b, reg=1e-3)),
        ("svm_loss single pass", lambda: maxmargin.svm_loss(W_big, X_big, y_big)),
        ("svm_loss out=", lambda: maxmargin.svm_loss(W, X, y, b=b, dW_out=dW, db_out=db,
                                                     accumulate=True)),
        ("svm_loss raising", lambda: maxmargin.svm_loss(W, X, bad_y)),
        ("svm_loss single pass raising", lambda: maxmargin.svm_loss(W_big, X_big, -y_big)),
        ("ranking_hinge", lambda: maxmargin.ranking_hinge(s, s_c)),
        ("ranking_hinge out=", lambda: maxmargin.ranking_hinge(s, s_c, ds_out=ds, ds_c_out=ds_c,
                                                               accumulate=True)),
        ("ranking_hinge raising", lambda: maxmargin.ranking_hinge(s, s_c[:-1])),
        ("linear_forward", lambda: maxmargin.linear_forward(X, W, b, activation="relu")),
        ("linear_forward out=", lambda: maxmargin.linear_forward(X, W, b, out=Y_out)),
        ("linear_forward raising", lambda: maxmargin.linear_forward(X, W.astype(np.float32))),
        ("linear_backward", lambda: maxmargin.linear_backward(dY, cache)),
        ("linear_backward out=", lambda: maxmargin.linear_backward(
            dY, cache, dX_out=dX, dW_out=dW, db_out=db, accumulate=True)),
        ("linear_backward raising", lambda: maxmargin.linear_backward(dY[:-1], cache)),
        ("matmul_backward", lambda: maxmargin.matmul_backward(dY, X, W)),
        ("matmul_backward out=", lambda: maxmargin.matmul_backward(dY, X, W, dX_out=dX,
                                                                   dW_out=dW)),
        ("matmul_backward raising", lambda: maxmargin.matmul_backward(dY, X, W.T)),
        ("embedding_backward", lambda: maxmargin.embedding_backward(X, indices, dL)),
        ("embedding_backward raising", lambda: maxmargin.embedding_backward(X, bad_indices, dL)),
        ("xavier_init", lambda: maxmargin.xavier_init(6, 4, rng=0)),
        ("xavier_init raising", lambda: maxmargin.xavier_init(0, 4)),
    ]


def call_quietly(call):
    try:
        call()
    except (ValueError, TypeError):
        pass


def growth(call):
    """(traced bytes, RSS bytes) gained over LEAK_CALLS calls after warm-up."""
    for _ in range(WARM_UP):
        call_quietly(call)
    gc.collect()
    tracemalloc.start()
    try:
        traced_before = tracemalloc.get_traced_memory()[0]
        rss_before = rss_bytes()
        for _ in range(LEAK_CALLS):
            call_quietly(call)
        gc.collect()
        traced_growth = tracemalloc.get_traced_memory()[0] - traced_before
        rss_growth = rss_bytes() - rss_before
    finally:
        tracemalloc.stop()
    return traced_growth, rss_growth


@pytest.mark.parametrize("name, call", cases(), ids=[name for name, _ in cases()])
def test_memory_stays_flat(name, call):
    if name.endswith("raising"):  # it must raise, or it tests nothing
        with pytest.raises((ValueError, TypeError)):
            call()
    traced_growth, rss_growth = growth(call)
    MEASURED[name] = traced_growth, rss_growth
    assert traced_growth < TRACED_SLACK, f"{name}: {traced_growth} bytes still traced"
    assert rss_growth < RSS_SLACK, f"{name}: RSS grew by {rss_growth} bytes"


def test_the_measure_sees_a_small_leak():
    kept = []
    traced_growth, _ = growth(lambda: kept.append(np.float64(1.0)))  # ~32 bytes a call
    assert traced_growth > TRACED_SLACK
