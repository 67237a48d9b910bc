"""Sparse X built from raw arrays can be corrupt: every way its structure
can lie is a ValueError (TypeError for a dtype) naming the function and the
argument, never a crash or a silent wrong number; and a caller's dW_out is
left as it was."""

import numpy as np
import pytest
import scipy.sparse as sp

import maxmargin

from support import raises

N, D, C = 6, 5, 3


def good():
    X = sp.csr_matrix(np.array([[1., 0, 2, 0, 0], [0, 0, 0, 0, 0], [0, 3, 0, 4, 5],
                                [6, 0, 0, 0, 0], [0, 0, 7, 0, 8], [0, 9, 0, 0, 1]]))
    return X, np.ones((D, C)), np.array([0, 1, 2, 0, 1, 2])


def corrupted(**parts):
    """The good matrix with some of its arrays replaced as they are (scipy
    does not look at arrays assigned after construction)."""
    X, _, _ = good()
    for name, value in parts.items():
        setattr(X, name, value)
    return X


def calls(X, W, y):
    """Every function that multiplies by X, on this X."""
    dY = np.ones((X.shape[0], W.shape[1]))
    return {
        "svm_loss": lambda: maxmargin.svm_loss(W, X, y),
        "linear_forward": lambda: maxmargin.linear_forward(X, W),
        "matmul_backward": lambda: maxmargin.matmul_backward(dY, X, W, need_dX=False),
    }


X0 = good()[0]
CORRUPT = {
    "column index = D": (dict(indices=np.where(X0.indices == 4, 5, X0.indices)),
                         "X.indices", "column indices in [0, 5)"),
    "negative column index": (dict(indices=np.where(X0.indices == 1, -2, X0.indices)),
                              "X.indices", "X.indices[2] = -2"),
    "decreasing indptr": (dict(indptr=np.array([0, 2, 2, 1, 6, 8, 9], np.int32)),
                          "X.indptr", "non-decreasing"),
    "indptr not from 0": (dict(indptr=X0.indptr + 1), "X.indptr", "start at 0"),
    "indptr past the entries": (dict(indptr=np.array([0, 2, 2, 5, 6, 8, 99], np.int32)),
                                "X.indptr", "stored entries"),
    "indptr too short": (dict(indptr=X0.indptr[:-1]), "X.indptr", "length N + 1"),
    "data shorter than indices": (dict(data=X0.data[:-1]), "X.data", "as long as X.indices"),
}


@pytest.mark.parametrize("case", list(CORRUPT), ids=list(CORRUPT))
@pytest.mark.parametrize("func", ["svm_loss", "linear_forward", "matmul_backward"])
def test_a_corrupt_structure_is_a_value_error_naming_it(case, func):
    parts, argument, message = CORRUPT[case]
    _, W, y = good()
    X = corrupted(**parts)
    with raises(ValueError, func, argument, message):
        calls(X, W, y)[func]()


@pytest.mark.parametrize("threads", [1, 2])
def test_a_bad_index_found_by_the_team_is_the_first_one(threads):
    rng = np.random.default_rng(0)
    X = sp.random(3000, 200, density=0.05, format="csr", random_state=1)
    X.indices[[5000, 7000, 9000]] = [200, -1, 999]
    W = rng.standard_normal((200, 4))
    y = rng.integers(0, 4, 3000)
    row = np.searchsorted(X.indptr, 5000, side="right") - 1
    with maxmargin._tunables.override(sparse_parallel_min_entries=0, sparse_chunk_entries=700):
        with raises(ValueError, "svm_loss", "X.indices", f"X.indices[5000] = 200 in row {row}"):
            maxmargin.svm_loss(W, X, y, n_threads=threads)


def test_a_bad_index_leaves_the_callers_buffer_as_it_was():
    X = sp.random(2000, 100, density=0.05, format="csr", random_state=2)
    X.indices[-3] = 100   # in the last chunk: found after the first chunks' scatter
    W = np.ones((100, 3))
    dW = np.full((100, 3), 7.0)
    with maxmargin._tunables.override(sparse_parallel_min_entries=0, sparse_chunk_entries=500):
        with raises(ValueError, "svm_loss", "X.indices"):
            maxmargin.svm_loss(W, X, np.zeros(2000, int), dW_out=dW, accumulate=True,
                               n_threads=2)
    assert np.all(dW == 7.0)


@pytest.mark.parametrize("func", ["svm_loss", "linear_forward", "matmul_backward"])
def test_wrong_dtypes_are_type_errors(func):
    X, W, y = good()
    for bad, argument in ((X.astype(np.int64), "X.data"), (X.astype(np.complex128), "X.data"),
                          (X.astype(np.float32), "X"),
                          (corrupted(indices=X.indices.astype(np.int16)), "X.indices"),
                          (corrupted(indptr=X.indptr.astype(np.uint8)), "X.indptr")):
        with raises(TypeError, func, argument):
            calls(bad, W, y)[func]()


def test_shapes_and_labels_are_checked():
    X, W, y = good()
    with raises(ValueError, "svm_loss", "W", "D = 5"):
        maxmargin.svm_loss(np.ones((4, C)), X, y)
    with raises(ValueError, "svm_loss", "y", "y[2] = 3"):
        maxmargin.svm_loss(W, X, np.array([0, 1, 3, 0, 1, 2]))
    with raises(ValueError, "linear_forward", "W", "D_in = 5"):
        maxmargin.linear_forward(X, np.ones((6, 2)))
    with raises(ValueError, "matmul_backward", "dY"):
        maxmargin.matmul_backward(np.ones((5, C)), X, W, need_dX=False)
    with raises(TypeError, "matmul_backward", "need_dX"):
        maxmargin.matmul_backward(np.ones((6, C)), X, W, need_dX="dense")
    for not_a_flag in (np.array([], dtype=np.float16), np.array([True]), 1):
        with raises(TypeError, "matmul_backward", "need_dX"):
            maxmargin.matmul_backward(np.ones((6, C)), X, W, need_dX=not_a_flag)
    with raises(ValueError, "matmul_backward", "dX_out"):
        maxmargin.matmul_backward(np.ones((6, C)), X, W, need_dX=False,
                                  dX_out=np.empty((6, 5)))


def test_a_sparse_matrix_of_another_shape_kind():
    X, W, y = good()
    vector = sp.coo_array(np.ones(5)) if hasattr(sp, "coo_array") else None
    if vector is not None and vector.ndim == 1:
        with pytest.raises(ValueError, match="svm_loss: X must be a 2-D sparse matrix"):
            maxmargin.svm_loss(W, vector, y)


@pytest.mark.parametrize("func", ["linear_forward out=", "linear_backward db_out=",
                                  "linear_backward dW_out=", "matmul_backward dW_out="])
def test_a_bad_index_leaves_every_out_buffer_as_it_was(func):
    """The buffers a call writes before its pass reads X (linear_forward's
    out row by row, linear_backward's db) and dW, which the scatter fills."""
    X, W, _ = good()
    _, cache = maxmargin.linear_forward(X, W, np.ones(C), activation="tanh")
    bad = corrupted(indices=np.where(X.indices == 4, 5, X.indices))
    cache = cache._replace(X=bad)
    dY = np.ones((N, C))
    out, dW, db = np.full((N, C), 7.0), np.full((D, C), 7.0), np.full(C, 7.0)
    call = {
        "linear_forward out=": lambda: maxmargin.linear_forward(bad, W, out=out),
        "linear_backward db_out=": lambda: maxmargin.linear_backward(
            dY, cache, need_dX=False, db_out=db),
        "linear_backward dW_out=": lambda: maxmargin.linear_backward(
            dY, cache, need_dX=False, dW_out=dW, db_out=db, accumulate=True),
        "matmul_backward dW_out=": lambda: maxmargin.matmul_backward(
            dY, bad, W, need_dX=False, dW_out=dW),
    }[func]
    with raises(ValueError, func.split()[0], "indices"):
        call()
    assert np.all(out == 7.0) and np.all(dW == 7.0) and np.all(db == 7.0)
