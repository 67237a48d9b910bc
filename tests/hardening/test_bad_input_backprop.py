"""Bad input to the backprop kernels and the ranking loss: ValueError (shapes,
values) or TypeError (dtypes, types), the message naming the function and the
argument; never a crash, never a silently wrong number."""

import numpy as np
import pytest

import maxmargin

from support import case_ids, raises

N, D_IN, D_OUT = 5, 4, 3


def make_layer():
    rng = np.random.default_rng(0)
    return dict(X=rng.standard_normal((N, D_IN)), W=rng.standard_normal((D_IN, D_OUT)),
                b=rng.standard_normal(D_OUT))


def forward(**changes):
    args = make_layer()
    args.update(changes)
    return maxmargin.linear_forward(args.pop("X"), args.pop("W"), args.pop("b"), **args)


FORWARD_CASES = [
    (dict(X=np.zeros(D_IN)), ValueError, ["X", "2-D"]),
    (dict(W=np.zeros((D_IN, D_OUT, 1))), ValueError, ["W", "2-D"]),
    (dict(W=np.zeros((D_IN + 1, D_OUT))), ValueError, ["W", f"D_in = {D_IN}"]),
    (dict(b=np.zeros(D_OUT + 1)), ValueError, ["b", f"({D_OUT},)"]),
    (dict(b=np.zeros((D_OUT, 1))), ValueError, ["b", "1-D"]),
    (dict(X=np.zeros((N, D_IN), np.float32)), TypeError, ["W", "float32", "mixed"]),
    (dict(b=np.zeros(D_OUT, np.float32)), TypeError, ["b", "mixed"]),
    (dict(X=np.zeros((N, D_IN), np.int32)), TypeError, ["X", "float32 or float64"]),
    (dict(W=np.zeros((D_IN, D_OUT), complex)), TypeError, ["W", "complex128"]),
    (dict(X=None), TypeError, ["X"]),
    (dict(activation="softmax"), ValueError, ["activation", "relu"]),
    (dict(activation=1), TypeError, ["activation"]),
    (dict(activation=np.array(["relu"])), TypeError, ["activation"]),
    (dict(out=np.zeros((N, D_OUT + 1))), ValueError, ["out", f"({N}, {D_OUT})"]),
    (dict(out=np.zeros((N, D_OUT), np.float32)), TypeError, ["out", "float64"]),
    (dict(out=np.zeros((D_OUT, N)).T), ValueError, ["out", "C-contiguous"]),
    (dict(n_threads=0), ValueError, ["n_threads"]),
    (dict(n_threads="2"), TypeError, ["n_threads"]),
]


@pytest.mark.parametrize("changes,error,words", FORWARD_CASES, ids=case_ids(FORWARD_CASES))
def test_linear_forward_rejects(changes, error, words):
    with raises(error, "linear_forward", *words):
        forward(**changes)


def test_linear_forward_rejects_overlapping_out():
    layer = make_layer()
    X = np.zeros((N, D_IN))
    with raises(ValueError, "linear_forward", "out", "overlap X"):
        maxmargin.linear_forward(X, layer["W"], out=X.reshape(-1)[:N * D_OUT].reshape(N, D_OUT))
    W = np.zeros((D_IN, D_OUT))
    with raises(ValueError, "linear_forward", "out", "overlap W"):
        maxmargin.linear_forward(np.zeros((D_IN, D_IN)), W, out=W[:D_IN])


def backward(activation="relu", bias=True, **changes):
    layer = make_layer()
    _, cache = maxmargin.linear_forward(layer["X"], layer["W"],
                                        layer["b"] if bias else None, activation=activation)
    args = dict(dY=np.ones((N, D_OUT)), cache=cache)
    args.update(changes)
    return maxmargin.linear_backward(args.pop("dY"), args.pop("cache"), **args)


def fake_cache(**fields):
    layer = make_layer()
    values = dict(X=layer["X"], W=layer["W"], Y=np.zeros((N, D_OUT)), activation="tanh",
                  has_bias=True)
    values.update(fields)
    return maxmargin.LinearCache(**values)


BACKWARD_CASES = [
    (dict(dY=np.ones((N, D_OUT + 1))), ValueError, ["dY", f"({N}, {D_OUT})"]),
    (dict(dY=np.ones((N + 1, D_OUT))), ValueError, ["dY", f"({N}, {D_OUT})"]),
    (dict(dY=np.ones(N)), ValueError, ["dY", "2-D"]),
    (dict(dY=np.ones((N, D_OUT), np.float32)), TypeError, ["dY", "float64", "mixed"]),
    (dict(dY=np.ones((N, D_OUT), int)), TypeError, ["dY", "float32 or float64"]),
    (dict(cache=None), TypeError, ["cache", "LinearCache"]),
    (dict(cache=tuple(fake_cache())), TypeError, ["cache", "LinearCache"]),
    (dict(cache=fake_cache(activation="gelu")), ValueError, ["cache.activation"]),
    (dict(cache=fake_cache(Y=np.zeros((N, D_OUT + 1)))), ValueError, ["cache.Y", "(5, 3)"]),
    (dict(cache=fake_cache(Y=np.zeros((N, D_OUT), np.float32))), ValueError, ["cache.Y"]),
    (dict(cache=fake_cache(W=np.zeros((D_IN + 1, D_OUT)))), ValueError, ["W", "D_in"]),
    (dict(dX_out=np.zeros((N, D_IN + 1))), ValueError, ["dX_out", f"({N}, {D_IN})"]),
    (dict(dW_out=np.zeros((D_IN, D_OUT), np.float32)), TypeError, ["dW_out", "float64"]),
    (dict(dW_out=np.zeros((D_OUT, D_IN)).T), ValueError, ["dW_out", "C-contiguous"]),
    (dict(db_out=np.zeros(D_OUT + 1)), ValueError, ["db_out", f"({D_OUT},)"]),
    (dict(bias=False, db_out=np.zeros(D_OUT)), ValueError, ["db_out", "no bias"]),
    (dict(need_dX=False, dX_out=np.zeros((N, D_IN))), ValueError, ["dX_out", "need_dX=False"]),
    (dict(need_dX="no"), TypeError, ["need_dX"]),
    (dict(accumulate=1), TypeError, ["accumulate"]),
    (dict(accumulate=True), ValueError, ["accumulate", "no out buffer"]),
    (dict(n_threads=-1), ValueError, ["n_threads"]),
]


@pytest.mark.parametrize("changes,error,words", BACKWARD_CASES, ids=case_ids(BACKWARD_CASES))
def test_linear_backward_rejects(changes, error, words):
    with raises(error, "linear_backward", *words):
        backward(**changes)


def test_linear_backward_rejects_overlapping_outputs():
    layer = make_layer()
    _, cache = maxmargin.linear_forward(layer["X"], layer["W"], layer["b"], activation="tanh")
    dY = np.ones((N, D_OUT))
    with raises(ValueError, "linear_backward", "dW_out", "overlap W"):
        maxmargin.linear_backward(dY, cache, dW_out=cache.W)
    with raises(ValueError, "linear_backward", "dX_out", "overlap X"):
        maxmargin.linear_backward(dY, cache, dX_out=cache.X)
    with raises(ValueError, "linear_backward", "dW_out", "overlap Y"):
        maxmargin.linear_backward(dY, cache, dW_out=cache.Y.reshape(-1)[:D_IN * D_OUT]
                                  .reshape(D_IN, D_OUT))
    buffer = np.zeros(N * D_OUT + D_OUT)
    dY_view = buffer[:N * D_OUT].reshape(N, D_OUT)
    with raises(ValueError, "linear_backward", "db_out", "overlap dY"):
        maxmargin.linear_backward(dY_view, cache, db_out=buffer[-D_OUT - 1:-1])
    both = np.zeros(D_IN * D_OUT + D_OUT)
    with raises(ValueError, "linear_backward", "db_out", "overlap dW_out"):
        maxmargin.linear_backward(dY, cache, dW_out=both[:D_IN * D_OUT].reshape(D_IN, D_OUT),
                                  db_out=both[D_IN * D_OUT - 1:-1])


def test_a_failed_backward_leaves_buffers_untouched():
    dW = np.full((D_IN, D_OUT), 7.0)
    with pytest.raises(ValueError):
        backward(dW_out=dW, db_out=np.zeros(D_OUT + 1))
    assert np.all(dW == 7.0)


MATMUL_CASES = [
    (dict(dY=np.ones((N, D_OUT + 1))), ValueError, ["dY", f"({N}, {D_OUT})"]),
    (dict(W=np.ones((D_IN + 2, D_OUT))), ValueError, ["W", f"D_in = {D_IN}"]),
    (dict(X=np.ones((N, D_IN), np.float32)), TypeError, ["W", "mixed"]),
    (dict(dY=np.ones((N, D_OUT), np.float32)), TypeError, ["dY", "mixed"]),
    (dict(dX_out=np.ones((N, D_IN), np.float32)), TypeError, ["dX_out"]),
    (dict(accumulate=True), ValueError, ["accumulate", "no out buffer"]),
    (dict(need_dX=None), TypeError, ["need_dX"]),
    (dict(n_threads=1.5), TypeError, ["n_threads"]),
]


@pytest.mark.parametrize("changes,error,words", MATMUL_CASES, ids=case_ids(MATMUL_CASES))
def test_matmul_backward_rejects(changes, error, words):
    layer = make_layer()
    args = dict(dY=np.ones((N, D_OUT)), X=layer["X"], W=layer["W"])
    args.update(changes)
    with raises(error, "matmul_backward", *words):
        maxmargin.matmul_backward(args.pop("dY"), args.pop("X"), args.pop("W"), **args)


# --- ranking_hinge ----------------------------------------------------------------

K = 2

RANKING_CASES = [
    (dict(s=np.zeros((N, 1))), ValueError, ["s", "1-D"]),
    (dict(s_c=np.zeros((N, K, 1))), ValueError, ["s_c", "1-D or 2-D"]),
    (dict(s_c=np.zeros((N + 1, K))), ValueError, ["s_c", f"({N},) or ({N}, K)"]),
    (dict(s_c=np.zeros(1)), ValueError, ["s_c", "broadcast"]),
    (dict(s_c=np.zeros(N, np.float32)), TypeError, ["s_c", "float64", "mixed"]),
    (dict(s=np.zeros(N, int)), TypeError, ["s", "float32 or float64"]),
    (dict(s_c=[[0, 1]] * N), TypeError, ["s_c", "int64"]),
    (dict(s=None), TypeError, ["s"]),
    (dict(delta=-1.0), ValueError, ["delta", ">= 0"]),
    (dict(delta=np.inf), ValueError, ["delta", "finite"]),
    (dict(p=3), ValueError, ["p", "1 or 2"]),
    (dict(p=1.0), TypeError, ["p"]),
    (dict(reduction="avg"), ValueError, ["reduction", "none"]),
    (dict(reduction=None), TypeError, ["reduction"]),
    (dict(sample_weight=np.ones(N + 1)), ValueError, ["sample_weight", f"({N},)"]),
    (dict(sample_weight=-np.ones(N)), ValueError, ["sample_weight[0] = -1.0"]),
    (dict(sample_weight=np.ones(N, complex)), TypeError, ["sample_weight"]),
    (dict(ds_out=np.zeros(N + 1)), ValueError, ["ds_out", f"({N},)"]),
    (dict(ds_out=np.zeros(N, np.float32)), TypeError, ["ds_out", "float64"]),
    (dict(ds_c_out=np.zeros((N, K + 1))), ValueError, ["ds_c_out", f"({N}, {K})"]),
    (dict(ds_c_out=np.zeros((K, N)).T), ValueError, ["ds_c_out", "C-contiguous"]),
    (dict(accumulate=True), ValueError, ["accumulate", "no out buffer"]),
    (dict(accumulate="no"), TypeError, ["accumulate"]),
    (dict(n_threads=0), ValueError, ["n_threads"]),
]


@pytest.mark.parametrize("changes,error,words", RANKING_CASES, ids=case_ids(RANKING_CASES))
def test_ranking_hinge_rejects(changes, error, words):
    args = dict(s=np.zeros(N), s_c=np.zeros((N, K)))
    args.update(changes)
    with raises(error, "ranking_hinge", *words):
        maxmargin.ranking_hinge(args.pop("s"), args.pop("s_c"), **args)


def test_ranking_hinge_rejects_overlapping_outputs():
    s = np.zeros(N)
    s_c = np.zeros((N, K))
    with raises(ValueError, "ranking_hinge", "ds_out", "overlap s"):
        maxmargin.ranking_hinge(s, s_c, ds_out=s)
    with raises(ValueError, "ranking_hinge", "ds_c_out", "overlap s_c"):
        maxmargin.ranking_hinge(s, s_c, ds_c_out=s_c)
    buffer = np.zeros(N * K + N)
    with raises(ValueError, "ranking_hinge", "ds_c_out", "overlap ds_out"):
        maxmargin.ranking_hinge(s, s_c, ds_out=buffer[N * K - 1:-1],
                                ds_c_out=buffer[:N * K].reshape(N, K))


# --- embedding_backward ---------------------------------------------------------

V, WIDTH = 4, 3

EMBEDDING_CASES = [
    (dict(dX=np.ones(WIDTH)), ValueError, ["dX", "2-D"]),
    (dict(dX=np.ones((N, WIDTH), int)), TypeError, ["dX", "float32 or float64"]),
    (dict(dX=np.ones((N, WIDTH + 1))), ValueError, ["dX", f"(M, {WIDTH})"]),
    (dict(dL_out=np.zeros((V, WIDTH)).tolist()), TypeError, ["dL_out", "ndarray"]),
    (dict(dL_out=np.zeros(V)), ValueError, ["dL_out", "2-D"]),
    (dict(dL_out=np.zeros((V, WIDTH), np.float32)), TypeError, ["dL_out", "float64"]),
    (dict(dL_out=np.zeros((WIDTH, V)).T), ValueError, ["dL_out", "C-contiguous"]),
    (dict(indices=np.array([0, 1, 7, 2, 9])), ValueError, ["indices[2] = 7", f"[0, {V})"]),
    (dict(indices=np.array([-1, 1, 2, 2, 0])), ValueError, ["indices[0] = -1"]),
    (dict(indices=np.array([0, 1, 2, 2, 2**63], np.uint64)), ValueError,
     ["indices[4] = 9223372036854775808"]),
    (dict(indices=np.zeros(N)), TypeError, ["indices", "integer"]),
    (dict(indices=np.zeros(N + 1, int)), ValueError, ["indices", f"({N},)"]),
    (dict(indices=None), TypeError, ["indices"]),
]


@pytest.mark.parametrize("changes,error,words", EMBEDDING_CASES,
                         ids=case_ids(EMBEDDING_CASES))
def test_embedding_backward_rejects(changes, error, words):
    args = dict(dX=np.ones((N, WIDTH)), indices=np.array([0, 1, 2, 1, 0]),
                dL_out=np.zeros((V, WIDTH)))
    args.update(changes)
    with raises(error, "embedding_backward", *words):
        maxmargin.embedding_backward(args["dX"], args["indices"], args["dL_out"])


def test_embedding_backward_refuses_overlap_and_leaves_dL_untouched():
    table = np.full((V, WIDTH), 7.0)
    with raises(ValueError, "embedding_backward", "dL_out", "overlap dX"):
        maxmargin.embedding_backward(table[:2], np.array([0, 1]), table)
    frozen = np.zeros((V, WIDTH))
    frozen.flags.writeable = False
    with raises(ValueError, "embedding_backward", "dL_out", "writeable"):
        maxmargin.embedding_backward(np.ones((1, WIDTH)), np.array([0]), frozen)
    with pytest.raises(ValueError):
        maxmargin.embedding_backward(np.ones((3, WIDTH)), np.array([0, 1, V]), table)
    assert np.all(table == 7.0)


# --- xavier_init -------------------------------------------------------------------

XAVIER_CASES = [
    (dict(fan_in=0), ValueError, ["fan_in", "positive"]),
    (dict(fan_out=-3), ValueError, ["fan_out", "positive"]),
    (dict(fan_in=2.5), TypeError, ["fan_in"]),
    (dict(fan_out=True), TypeError, ["fan_out"]),
    (dict(dtype=np.int32), TypeError, ["dtype", "float32 or float64"]),
    (dict(dtype=np.float16), TypeError, ["dtype", "float16"]),
    (dict(dtype="no such dtype"), TypeError, ["dtype"]),
    (dict(rng="seed"), TypeError, ["rng", "Generator"]),
    # strings NumPy's dtype parser fails on with ValueError or SyntaxError
    (dict(dtype="0\x1b"), TypeError, ["dtype"]),
    (dict(dtype="f8,(2"), TypeError, ["dtype"]),
    (dict(rng=False), TypeError, ["rng"]),
]


@pytest.mark.parametrize("changes,error,words", XAVIER_CASES, ids=case_ids(XAVIER_CASES))
def test_xavier_init_rejects(changes, error, words):
    args = dict(fan_in=3, fan_out=2)
    args.update(changes)
    with raises(error, "xavier_init", *words):
        maxmargin.xavier_init(args.pop("fan_in"), args.pop("fan_out"), **args)
