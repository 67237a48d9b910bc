"""linear_backward beside its floor and the NumPy reference.

Run alone (2 noisy cores: nothing else at the same time):

    python -m pytest bench/bench_linear.py

Roles in each group ("linear_backward <dtype> <activation> (N, D_in, D_out)=..."):

* floor: `maxmargin._floors.bare_linear_backward`, dW = X^T dY, dX = dY W^T and
  the float64 column sums of dY, through the same BLAS shim into preallocated
  buffers: the two products and the bias sum alone.
* maxmargin: `linear_backward(dY, cache)`, fresh output arrays each call
  (and a fresh dZ scratch with an activation).
* variants: into preallocated buffers (``out=``, as a training loop would
  call it, like the floor), and with the elementwise pass on two threads
  (``n_threads=2``; the default is serial).
* reference: `maxmargin.reference.linear_backward`, vectorized NumPy (its
  GEMMs run on NumPy's own OpenBLAS).
"""

import numpy as np
import pytest

import maxmargin
from maxmargin import _floors, reference

# bench/ is on sys.path when pytest collects this file.
from problems import LINEAR_SHAPES as SHAPES, linear_problem as problem

DTYPES = [np.float64, np.float32]
ACTIVATIONS = [None, "tanh"]
ROLES = ["floor", "maxmargin", "maxmargin out=", "maxmargin n_threads=2", "reference"]


def call_for(role, shape, dtype, activation):
    """The zero-argument call that `role` times."""
    d_out = shape[2]
    X, W, b, dY = problem(shape, dtype)
    _, cache = maxmargin.linear_forward(X, W, b, activation=activation)
    if role == "floor":
        dX, dW, col_sum = np.empty_like(X), np.empty_like(W), np.empty(d_out)
        return lambda: _floors.bare_linear_backward(dY, X, W, dX, dW, col_sum)
    if role == "maxmargin":
        return lambda: maxmargin.linear_backward(dY, cache)
    if role == "maxmargin out=":
        dX, dW, db = np.empty_like(X), np.empty_like(W), np.empty_like(b)
        return lambda: maxmargin.linear_backward(dY, cache, dX_out=dX, dW_out=dW, db_out=db)
    if role == "maxmargin n_threads=2":
        return lambda: maxmargin.linear_backward(dY, cache, n_threads=2)
    return lambda: reference.linear_backward(dY, cache)


def applies(role, activation):
    """Without an activation there is no elementwise pass to thread."""
    return role != "maxmargin n_threads=2" or activation is not None


CASES = [pytest.param(dtype, shape, activation, role, id="{}-{}-{}-{}".format(
             np.dtype(dtype).name, "x".join(map(str, shape)), activation or "linear",
             role.replace(" ", "_")))
         for dtype in DTYPES for shape in SHAPES for activation in ACTIVATIONS
         for role in ROLES if applies(role, activation)]


@pytest.mark.parametrize("dtype,shape,activation,role", CASES)
def test_linear_backward(measure, dtype, shape, activation, role):
    group = "linear_backward {} {} (N, D_in, D_out)={}".format(
        np.dtype(dtype).name, activation or "linear", shape)
    measure(group, role, call_for(role, shape, dtype, activation))
