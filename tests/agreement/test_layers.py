"""linear_forward / linear_backward / matmul_backward against the NumPy
reference, numerical vector-Jacobian products, accumulation at forks, layouts,
and the embedding scatter and Glorot initialisation."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import maxmargin
from maxmargin import reference

from support import DTYPES, assert_close, layouts, numerical_vjp

ACTIVATIONS = [None, "relu", "tanh", "sigmoid"]


@st.composite
def layer_problems(draw):
    """Small integer-valued X, W, b (every product exact in any summation
    order, so pre-activations agree bit for bit and relu's kink at 0 is hit
    exactly where the reference sees it), a real-valued dY."""
    dtype = draw(st.sampled_from(DTYPES))
    n = draw(st.integers(0, 12))
    d_in = draw(st.integers(0, 9))
    d_out = draw(st.integers(0, 7))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.integers(-3, 4, (n, d_in)).astype(dtype)
    W = rng.integers(-3, 4, (d_in, d_out)).astype(dtype)
    b = rng.integers(-3, 4, d_out).astype(dtype) if draw(st.booleans()) else None
    dY = rng.standard_normal((n, d_out)).astype(dtype)
    activation = draw(st.sampled_from(ACTIVATIONS))
    return X, W, b, dY, activation


@given(layer_problems(), st.booleans())
def test_linear_layer_agrees_with_reference(problem, need_dX):
    X, W, b, dY, activation = problem
    Y, cache = maxmargin.linear_forward(X, W, b, activation=activation)
    Y_ref, cache_ref = reference.linear_forward(X, W, b, activation=activation)
    assert Y.dtype == X.dtype and Y.flags.c_contiguous and Y.shape == Y_ref.shape
    assert_close(Y, Y_ref, X.dtype, what="Y")
    assert cache.Y is Y and cache.activation == activation and cache.has_bias == (b is not None)
    got = maxmargin.linear_backward(dY, cache, need_dX=need_dX)
    # The same cache contents on both sides: the backward pass is compared on
    # its own, not on the forward pass's last ulp.
    want = reference.linear_backward(dY, (X, W, Y, activation, b is not None),
                                     need_dX=need_dX)
    scale = max(X.shape[0], W.shape[1]) * 4
    for name, mine, theirs in zip(("dX", "dW", "db"), got, want):
        if theirs is None:
            assert mine is None, name
            continue
        assert mine.dtype == X.dtype and mine.flags.c_contiguous, name
        assert_close(mine, theirs, X.dtype, scale, what=name)


@given(layer_problems(), st.booleans())
def test_matmul_backward_agrees_with_reference(problem, need_dX):
    X, W, _, dY, _ = problem
    dX, dW = maxmargin.matmul_backward(dY, X, W, need_dX=need_dX)
    dX_ref, dW_ref = reference.matmul_backward(dY, X, W, need_dX=need_dX)
    scale = max(X.shape[0], W.shape[1]) * 4
    assert_close(dW, dW_ref, X.dtype, scale, what="dW")
    if need_dX:
        assert_close(dX, dX_ref, X.dtype, scale, what="dX")
    else:
        assert dX is None


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_vector_jacobian_products_match_central_differences(activation):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((6, 5))
    W = rng.standard_normal((5, 4))
    b = rng.standard_normal(4)
    dY = rng.standard_normal((6, 4))
    Y, cache = maxmargin.linear_forward(X, W, b, activation=activation)
    if activation == "relu":
        assert np.min(np.abs(X @ W + b)) > 1e-3  # away from the kink
    dX, dW, db = maxmargin.linear_backward(dY, cache)

    def forward():
        return maxmargin.linear_forward(X, W, b, activation=activation)[0]

    for name, analytic, variable in (("dX", dX, X), ("dW", dW, W), ("db", db, b)):
        numeric = numerical_vjp(forward, variable, dY)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8, err_msg=name)


def test_matmul_backward_matches_central_differences():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((5, 3))
    W = rng.standard_normal((3, 4))
    dY = rng.standard_normal((5, 4))
    dX, dW = maxmargin.matmul_backward(dY, X, W)
    np.testing.assert_allclose(dX, numerical_vjp(lambda: X @ W, X, dY), rtol=1e-7)
    np.testing.assert_allclose(dW, numerical_vjp(lambda: X @ W, W, dY), rtol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_activations_and_their_gradients_at_the_edges(dtype):
    z = np.array([[-np.inf, -800.0, -1.0, -0.0, 0.0, 1.0, 800.0, np.inf, np.nan]], dtype)
    identity = np.eye(1, dtype=dtype)
    dY = np.ones_like(z)
    for activation in ACTIVATIONS:
        Y, cache = maxmargin.linear_forward(identity, z, activation=activation)
        Y_ref, _ = reference.linear_forward(identity, z, activation=activation)
        np.testing.assert_array_equal(Y, Y_ref, err_msg=str(activation))
        dZ = maxmargin.linear_backward(dY, cache)[1]
        with np.errstate(invalid="ignore"):  # inf * 0 in the reference's dX
            dZ_ref = reference.linear_backward(dY, (identity, z, Y, activation, False))[1]
        np.testing.assert_array_equal(dZ, dZ_ref, err_msg=str(activation))
    relu_Y, relu_cache = maxmargin.linear_forward(identity, z, activation="relu")
    # relu's gradient is 0 at exactly 0 and below it, NaN for NaN (never 0).
    grad = maxmargin.linear_backward(dY, relu_cache)[1][0]
    np.testing.assert_array_equal(grad, np.array([0, 0, 0, 0, 0, 1, 1, 1, np.nan], dtype))
    sigmoid = maxmargin.linear_forward(identity, z, activation="sigmoid")[0][0]
    assert sigmoid[0] == 0 and sigmoid[1] == 0 and sigmoid[7] == 1 and np.isnan(sigmoid[8])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", [None, "tanh"])
def test_accumulate_adds_the_gradients_of_a_fork(dtype, activation):
    """A weight used in two places: the accumulated gradient is the sum of
    the two separate calls."""
    rng = np.random.default_rng(5)
    W = rng.standard_normal((7, 5)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    branches = []
    for n in (9, 4):
        X = rng.standard_normal((n, 7)).astype(dtype)
        _, cache = maxmargin.linear_forward(X, W, b, activation=activation)
        branches.append((rng.standard_normal((n, 5)).astype(dtype), cache))
    separate = [maxmargin.linear_backward(dY, cache, need_dX=False) for dY, cache in branches]
    dW = np.zeros_like(W)
    db = np.zeros_like(b)
    for dY, cache in branches:
        got = maxmargin.linear_backward(dY, cache, need_dX=False, dW_out=dW, db_out=db,
                                        accumulate=True)
        assert got[1] is dW and got[2] is db
    assert_close(dW, separate[0][1] + separate[1][1], dtype, scale=8)
    assert_close(db, separate[0][2] + separate[1][2], dtype, scale=8)
    # Only the buffers given accumulate: each branch's dX comes back fresh.
    dY, cache = branches[1]
    dX_fresh, _, db_fresh = maxmargin.linear_backward(dY, cache, dW_out=dW, accumulate=True)
    want = maxmargin.linear_backward(dY, cache)
    np.testing.assert_array_equal(dX_fresh, want[0])
    np.testing.assert_array_equal(db_fresh, want[2])
    assert_close(dW, separate[0][1] + 2 * separate[1][1], dtype, scale=8)
    # dX accumulates too, and matmul_backward likewise.
    dY, cache = branches[0]
    dX = np.ones_like(cache.X)
    maxmargin.linear_backward(dY, cache, dX_out=dX, dW_out=np.zeros_like(W),
                              db_out=np.zeros_like(b), accumulate=True)
    assert_close(dX, 1 + maxmargin.linear_backward(dY, cache)[0], dtype, scale=8)
    dX2, dW2 = np.ones_like(cache.X), np.ones_like(W)
    maxmargin.matmul_backward(dY, cache.X, W, dX_out=dX2, dW_out=dW2, accumulate=True)
    plain = maxmargin.matmul_backward(dY, cache.X, W)
    assert_close(dX2, 1 + plain[0], dtype, scale=8)
    assert_close(dW2, 1 + plain[1], dtype, scale=8)


def test_out_buffers_are_used_and_returned(rng):
    X = rng.standard_normal((6, 4))
    W = rng.standard_normal((4, 3))
    b = rng.standard_normal(3)
    out = np.empty((6, 3))
    Y, cache = maxmargin.linear_forward(X, W, b, activation="relu", out=out)
    assert Y is out and cache.Y is out
    dY = rng.standard_normal((6, 3))
    bufs = np.empty((6, 4)), np.empty((4, 3)), np.empty(3)
    got = maxmargin.linear_backward(dY, cache, dX_out=bufs[0], dW_out=bufs[1], db_out=bufs[2])
    assert all(g is buf for g, buf in zip(got, bufs))
    want = reference.linear_backward(dY, cache)
    for mine, theirs in zip(got, want):
        assert_close(mine, theirs, np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_layout_of_X_W_and_dY(dtype, rng):
    X = rng.integers(-3, 4, (7, 5)).astype(dtype)
    W = rng.integers(-3, 4, (5, 4)).astype(dtype)
    b = rng.integers(-3, 4, 4).astype(dtype)
    dY = rng.integers(-3, 4, (7, 4)).astype(dtype)
    Y, cache = maxmargin.linear_forward(X, W, b, activation="relu")
    want = maxmargin.linear_backward(dY, cache)
    # Integer data: every layout must give the same bits.
    for x_name, X_l in layouts(X):
        for w_name, W_l in layouts(W):
            Y_l, cache_l = maxmargin.linear_forward(X_l, W_l, b, activation="relu")
            np.testing.assert_array_equal(Y_l, Y, err_msg=f"{x_name} {w_name}")
            for mine, theirs in zip(maxmargin.linear_backward(dY, cache_l), want):
                np.testing.assert_array_equal(mine, theirs, err_msg=f"{x_name} {w_name}")
    for name, dY_l in layouts(dY):
        for activation in (None, "relu"):
            _, cache_a = maxmargin.linear_forward(X, W, b, activation=activation)
            expected = maxmargin.linear_backward(dY, cache_a)
            for mine, theirs in zip(maxmargin.linear_backward(dY_l, cache_a), expected):
                np.testing.assert_array_equal(mine, theirs, err_msg=f"dY {name}")
        for mine, theirs in zip(maxmargin.matmul_backward(dY_l, X, W),
                                maxmargin.matmul_backward(dY, X, W)):
            np.testing.assert_array_equal(mine, theirs, err_msg=f"dY {name}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_bit_identical_for_every_n_threads(dtype, activation):
    # Large enough for both elementwise passes to run in parallel.
    rng = np.random.default_rng(6)
    X = rng.standard_normal((700, 30)).astype(dtype)
    W = rng.standard_normal((30, 400)).astype(dtype)
    b = rng.standard_normal(400).astype(dtype)
    dY = rng.standard_normal((700, 400)).astype(dtype)
    runs = []
    for threads in (1, 2, 4, None):
        Y, cache = maxmargin.linear_forward(X, W, b, activation=activation, n_threads=threads)
        runs.append((Y,) + maxmargin.linear_backward(dY, cache, n_threads=threads))
    for run in runs[1:]:
        for mine, theirs in zip(run, runs[0]):
            np.testing.assert_array_equal(mine, theirs)


def test_degenerate_shapes():
    for n, d_in, d_out in ((0, 3, 2), (4, 0, 2), (4, 3, 0), (0, 0, 0)):
        X = np.ones((n, d_in))
        W = np.ones((d_in, d_out))
        b = np.full(d_out, 0.5)
        Y, cache = maxmargin.linear_forward(X, W, b, activation="tanh")
        np.testing.assert_array_equal(Y, np.tanh(np.full((n, d_out), d_in + 0.5)))
        dX, dW, db = maxmargin.linear_backward(np.ones((n, d_out)), cache)
        assert dX.shape == (n, d_in) and dW.shape == (d_in, d_out) and db.shape == (d_out,)
        want = reference.linear_backward(np.ones((n, d_out)), cache)
        for mine, theirs in zip((dX, dW, db), want):
            assert_close(mine, theirs, np.float64)


def test_cache_holds_references_and_reads_well(rng):
    X = rng.standard_normal((3, 2))
    W = rng.standard_normal((2, 5))
    Y, cache = maxmargin.linear_forward(X, W, activation="sigmoid")
    assert cache.X is X and cache.W is W and cache.Y is Y
    assert repr(cache) == ("LinearCache(X: (3, 2) float64, W: (2, 5), Y: (3, 5), "
                           "activation='sigmoid', has_bias=False)")
    assert isinstance(cache, maxmargin.LinearCache)


# --- embedding_backward ---------------------------------------------------------

@given(st.sampled_from(DTYPES), st.integers(0, 30), st.integers(1, 6), st.integers(0, 5),
       st.integers(0, 2**32 - 1))
def test_embedding_backward_equals_add_at(dtype, n_lookups, n_rows, width, seed):
    rng = np.random.default_rng(seed)
    dX = rng.standard_normal((n_lookups, width)).astype(dtype)
    indices = rng.integers(0, n_rows, n_lookups)  # few rows: many repeats
    dL = rng.standard_normal((n_rows, width)).astype(dtype)
    want = reference.embedding_backward(dX, indices, dL.copy())
    got = maxmargin.embedding_backward(dX, indices, dL)
    assert got is dL
    np.testing.assert_array_equal(got, want)  # same adds in the same order


def test_embedding_backward_layouts_and_index_dtypes(rng):
    dX = rng.standard_normal((8, 3))
    indices = np.array([2, 0, 2, 2, 1, 0, 4, 2])
    want = reference.embedding_backward(dX, indices, np.zeros((5, 3)))
    for name, dX_l in layouts(dX):
        for dtype in (np.int8, np.uint16, np.int32, np.uint64):
            got = maxmargin.embedding_backward(dX_l, indices.astype(dtype), np.zeros((5, 3)))
            np.testing.assert_array_equal(got, want, err_msg=f"{name} {dtype}")


# --- xavier_init -----------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_xavier_init_is_glorot_uniform(dtype):
    W = maxmargin.xavier_init(300, 200, dtype=dtype, rng=0)
    limit = np.sqrt(6 / 500)
    assert W.shape == (300, 200) and W.dtype == dtype
    assert -limit <= W.min() < -0.99 * limit and 0.99 * limit < W.max() <= limit
    # U(-a, a) has mean 0 and variance a^2 / 3 = 2 / (fan_in + fan_out).
    assert abs(W.mean()) < 0.01 * limit
    assert abs(W.var() / (2 / 500) - 1) < 0.02
    np.testing.assert_array_equal(W, maxmargin.xavier_init(300, 200, dtype=dtype, rng=0))
    generator = np.random.default_rng(0)
    np.testing.assert_array_equal(W, maxmargin.xavier_init(300, 200, dtype=dtype,
                                                           rng=generator))
    assert not np.array_equal(W, maxmargin.xavier_init(300, 200, dtype=dtype, rng=1))
