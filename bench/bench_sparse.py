"""svm_loss with a sparse (CSR) X beside its floor and the SciPy reference,
per shape and dtype, and the dual solver's pass.

Run alone (2 noisy cores: nothing else at the same time):

    python -m pytest bench/bench_sparse.py

Roles in each group ("sparse svm_loss <dtype> (N, D, nnz a row, C)=..."):

* floor: `maxmargin._floors.csr_read`, one read of X's values and column
  indices on one thread: the stream every pass over X pays, with none of
  the random reads of W rows and writes of dW rows that dominate it.
* maxmargin: `svm_loss(W, X, y)`, loss and gradient, every core.
* variants: ``n_threads=1`` (the serial fused pass), ``dW_out=`` (into a
  preallocated gradient, as a training loop would call it).
* reference: `maxmargin.reference.svm_loss`: SciPy's products X @ W and
  X.T @ G around the NumPy margin pass.

And "sparse dual pass <dtype> ...": one pass of LinearSVMClassifier's dual
solver (all classes' coordinate steps on every row, nothing shrunk) against
the same floor and the SciPy products of one gradient (X @ W, X.T @ G).
"""

import numpy as np
import pytest

import maxmargin
from maxmargin import _floors, _sparse, reference
from maxmargin.sparse import by_types

# bench/ is on sys.path when pytest collects this file.
from problems import SPARSE_SHAPES as SHAPES, sparse_problem as problem

DTYPES = [np.float64, np.float32]
ROLES = ["floor", "maxmargin", "maxmargin n_threads=1", "maxmargin dW_out=", "reference"]
DUAL_ROLES = ["floor", "maxmargin", "reference"]


def call_for(role, shape, dtype):
    """The zero-argument call that `role` times."""
    W, X, y = problem(shape, dtype)
    if role == "floor":
        return lambda: _floors.csr_read(X.data, X.indices)
    if role == "maxmargin":
        return lambda: maxmargin.svm_loss(W, X, y)
    if role == "maxmargin n_threads=1":
        return lambda: maxmargin.svm_loss(W, X, y, n_threads=1)
    if role == "maxmargin dW_out=":
        dW = np.empty_like(W)
        return lambda: maxmargin.svm_loss(W, X, y, dW_out=dW)
    return lambda: reference.svm_loss(W, X, y)


def dual_call_for(role, shape, dtype):
    """One dual pass from alpha = 0 (every pair active, bounds infinite;
    the reset of W, b, alpha and the mask before it is timed too)."""
    W, X, y = problem(shape, dtype)
    if role == "floor":
        return lambda: _floors.csr_read(X.data, X.indices)
    if role == "reference":
        G = np.ones((X.shape[0], W.shape[1]), dtype)
        return lambda: (X @ W, X.T @ G)
    n, c = X.shape[0], W.shape[1]
    kernel = by_types(_sparse.csr_dual_epoch_kernel)[(np.dtype(dtype), X.indices.dtype)]
    upper = np.full(n, 1.0 / (2e-4 * n))
    diagonal = np.asarray(X.multiply(X).sum(axis=1), dtype=np.float64).ravel() + 1.0
    order = np.random.default_rng(0).permutation(n).astype(np.intp)
    labels = y.astype(np.intp)
    W_fit, b_fit = np.zeros_like(W), np.zeros(c, dtype)
    alpha, active = np.zeros((n, c)), np.ones((n, c), np.uint8)
    bounds = np.empty((2, c))

    def one_pass():
        W_fit[...], b_fit[...], alpha[...], active[...] = 0, 0, 0, 1
        bounds[0], bounds[1] = np.inf, -np.inf
        kernel(W_fit, b_fit, X.data, X.indices, X.indptr, labels, upper, diagonal, alpha,
               active, order, 2, 1.0, True, bounds)
    return one_pass


def shape_id(dtype, shape, role):
    return "{}-{}-{}".format(np.dtype(dtype).name, "x".join(map(str, shape)),
                             role.replace(" ", "_"))


CASES = [pytest.param(dtype, shape, role, id=shape_id(dtype, shape, role))
         for dtype in DTYPES for shape in SHAPES for role in ROLES]
DUAL_CASES = [pytest.param(dtype, shape, role, id=shape_id(dtype, shape, role))
              for dtype in DTYPES for shape in SHAPES for role in DUAL_ROLES]


@pytest.mark.parametrize("dtype,shape,role", CASES)
def test_sparse_svm_loss(measure, dtype, shape, role):
    measure(f"sparse svm_loss {np.dtype(dtype).name} (N, D, nnz a row, C)={shape}", role,
            call_for(role, shape, dtype))


@pytest.mark.parametrize("dtype,shape,role", DUAL_CASES)
def test_sparse_dual_pass(measure, dtype, shape, role):
    measure(f"sparse dual pass {np.dtype(dtype).name} (N, D, nnz a row, C)={shape}", role,
            dual_call_for(role, shape, dtype))
