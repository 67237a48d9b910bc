"""Call every kernel once in each of its paths, for valgrind's memcheck
(tests/hardening/valgrind.sh): both dtypes, the few-classes single pass on every SIMD
path this CPU runs, the class-vector pass on every path that has it, and the
two-GEMM path, unusual layouts, out buffers with accumulate, calls that
fail validation or in the kernel (a bad label), and the sparse family.
Prints "memcheck kernels: OK" at the end; nothing is timed."""

import os
import sys

import numpy as np

# tests/ (support.py) and tests/properties/ (every_kernel), as pytest would.
TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [TESTS, os.path.join(TESTS, "properties")]

import scipy.sparse as sp  # noqa: E402

import maxmargin  # noqa: E402
from maxmargin import _memory, _tunables  # noqa: E402
from maxmargin.sklearn import LinearSVMClassifier  # noqa: E402
from support import CLASS_VECTOR_PATHS, FEW_CLASS_PATHS, class_vectors, simd_path, two_gemms  # noqa: E402
from test_threads import every_kernel  # noqa: E402


def expect_error(call):
    try:
        call()
    except (ValueError, TypeError):
        return
    raise AssertionError("expected an error")


def sparse_calls(rng, dtype):
    """The sparse family on every SIMD path: one thread and the team's
    pipeline, W in cache (masked tails) and not (prefetching), both index
    dtypes, unsorted and duplicate entries, an empty row, a bad column
    index found mid-pass; the linear layer's products; the estimator's SGD
    epoch and dual pass."""
    X = sp.random(500, 300, density=0.05, format="csr", random_state=3, dtype=dtype)
    X.indices[:40] = X.indices[:40][::-1]  # unsorted, and duplicates where a row repeats one
    X.indptr[10:13] = X.indptr[10]          # empty rows (their entries now row 12's)
    W = rng.standard_normal((300, 21)).astype(dtype)
    y = rng.integers(0, 21, 500)
    bad = X.copy()
    bad.indices[-7] = 300
    for path in FEW_CLASS_PATHS:
        with simd_path(path):
            for X_used in (X, sp.csr_matrix((X.data, X.indices.astype(np.int64),
                                             X.indptr.astype(np.int64)), shape=X.shape)):
                for in_cache in (1 << 40, 0):
                    with _tunables.override(sparse_in_cache_bytes=in_cache,
                                            sparse_parallel_min_entries=0,
                                            sparse_chunk_entries=400):
                        for threads in (1, 2):
                            maxmargin.svm_loss(W, X_used, y, b=np.ones(21, dtype), p=2,
                                               reg=0.1, n_threads=threads,
                                               dW_out=np.ones_like(W), accumulate=True)
                        expect_error(lambda: maxmargin.svm_loss(W, bad, y, n_threads=2))
                Y, cache = maxmargin.linear_forward(X_used, W, np.ones(21, dtype),
                                                    activation="relu")
                maxmargin.linear_backward(Y, cache, need_dX=False)
                maxmargin.matmul_backward(Y, X_used, W, need_dX="pattern")
            LinearSVMClassifier(max_iter=2, tol=None, random_state=0).fit(X, y % 4)
            LinearSVMClassifier(kind="one_vs_rest", solver="dual", max_iter=3,
                                random_state=0).fit(X, y % 4)


def main():
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        X = rng.standard_normal((300, 37)).astype(dtype)
        W = rng.standard_normal((37, 10)).astype(dtype)
        b = rng.standard_normal(10).astype(dtype)
        y = rng.integers(0, 10, 300)
        weights = rng.uniform(0, 2, 300)
        for path in FEW_CLASS_PATHS:
            with simd_path(path):
                for layout in (X, np.asfortranarray(X), X[::-1], X[:, ::2]):
                    for kind in ("weston_watkins", "crammer_singer"):
                        W_used = W[: layout.shape[1]]
                        maxmargin.svm_loss(W_used, layout, y, b=b, kind=kind, p=2,
                                           sample_weight=weights, reg=0.1, n_threads=2)
        # The class-vector pass on every path that has it: a partial last
        # vector (C = 20), whole ones in two groups (C = 32 on AVX2), a
        # strided X, accumulation.
        for path in CLASS_VECTOR_PATHS:
            with class_vectors(path):
                for c in (20, 32):
                    Wc = rng.standard_normal((37, c)).astype(dtype)
                    yc = rng.integers(0, c, 300)
                    maxmargin.svm_loss(Wc, X, yc, b=np.ones(c, dtype), p=2, reg=0.1,
                                       sample_weight=weights, n_threads=2)
                    maxmargin.svm_loss(Wc[::2], X[:, ::2], yc, dW_out=np.ones_like(Wc[::2]),
                                       accumulate=True)
        with two_gemms():
            dW, db = np.zeros_like(W), np.zeros_like(b)
            maxmargin.svm_loss(W, X, y, b=b, dW_out=dW, db_out=db, accumulate=True)
        scores = X @ W
        maxmargin.multiclass_hinge(scores, y, reduction="none", class_weight=np.ones(10))
        maxmargin.multiclass_hinge(scores.copy(), y, out=scores)  # in place
        bad = y.copy()
        bad[-1] = 10
        expect_error(lambda: maxmargin.svm_loss(W, X, bad))
        expect_error(lambda: maxmargin.multiclass_hinge(scores, bad))
        expect_error(lambda: maxmargin.embedding_backward(X, -np.ones(300, int),
                                                          np.zeros((4, 37), dtype)))
        s = rng.standard_normal(300).astype(dtype)
        maxmargin.ranking_hinge(s, s[::-1].copy(), p=2)
        # The flat ranking kernels on every path (whole groups, a tail, a
        # block redone for its NaN), and streamed stores into a fresh ds_c
        # of 8 MiB from the output cache.
        s_c = rng.standard_normal((300, 5)).astype(dtype)
        for path in FEW_CLASS_PATHS:
            with simd_path(path):
                maxmargin.ranking_hinge(s, s_c, n_threads=2)
                with_nan = s_c.copy()
                with_nan[7, 2] = np.nan
                maxmargin.ranking_hinge(s, with_nan)
                big = 2**21 // np.dtype(dtype).itemsize
                maxmargin.ranking_hinge(np.zeros(big, dtype), np.ones((big, 4), dtype))
        grown = _memory.empty(2**20, np.dtype(np.uint8))
        grown.resize(2**22, refcheck=False)
        del grown
        maxmargin.xavier_init(5, 7, dtype=dtype, rng=0)
        sparse_calls(rng, dtype)
    for call in every_kernel().values():
        call()
    print("memcheck kernels: OK")


if __name__ == "__main__":
    main()
