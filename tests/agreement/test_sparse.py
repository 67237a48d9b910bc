"""Sparse X (maxmargin.sparse, kernels/sparse/): svm_loss, linear_forward,
linear_backward and matmul_backward against the reference (SciPy's
products) and against the same call on X.toarray(), over dtypes, index
dtypes, formats, unsorted indices, duplicates, explicit zeros, empty rows,
weights, accumulation and threads; the same bits for every n_threads and
every chunking; corrupt structures refused by name."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, strategies as st

import maxmargin
from maxmargin import _tunables, reference

from support import DTYPES, FEW_CLASS_PATHS, KINDS, assert_close, simd_path

INDEX_DTYPES = [np.int32, np.int64]


def random_csr(rng, n, d, dtype, density=0.2, index_dtype=np.int32, messy=True,
               integers=False):
    """A CSR matrix (N, D) with, when `messy`, unsorted indices, duplicate
    entries, explicit zeros and empty rows; values small integers (exact
    products) or standard normal."""
    rows, cols, vals = [], [], []
    for i in range(n):
        if messy and rng.random() < 0.15:
            continue  # an empty row
        k = rng.binomial(d, density)
        picked = rng.choice(d, size=k, replace=False) if k else np.zeros(0, int)
        if messy and k and rng.random() < 0.3:
            picked = np.concatenate([picked, rng.choice(picked, 2)])  # duplicates
        if messy:
            rng.shuffle(picked)  # unsorted
        for j in picked:
            rows.append(i)
            cols.append(j)
            vals.append(float(rng.integers(-3, 4)) if integers else rng.standard_normal())
    data = np.array(vals, dtype=dtype)
    if messy and data.size:
        data[rng.random(data.size) < 0.1] = 0  # explicit zeros
    indptr = np.zeros(n + 1, np.int64)
    np.add.at(indptr, np.array(rows, int) + 1, 1)
    indptr = np.cumsum(indptr)
    order = np.argsort(np.array(rows, int), kind="stable")
    X = sp.csr_matrix((data[order], np.array(cols, np.int64)[order], indptr), shape=(n, d))
    return with_index_dtype(X, index_dtype)


def with_index_dtype(X, index_dtype):
    """X with indices and indptr of that dtype: SciPy picks int32 whenever
    the values fit, so int64 ones are assigned after construction."""
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    assert X.indices.dtype == index_dtype and X.indptr.dtype == index_dtype
    return X


def problem(rng, n, d, c, dtype, integers=False, index_dtype=np.int32):
    X = random_csr(rng, n, d, dtype, index_dtype=index_dtype, integers=integers)
    scale = 1 if integers else 0.3
    W = (rng.integers(-3, 4, (d, c)) if integers else rng.standard_normal((d, c)) * scale)
    b = rng.integers(-3, 4, c) if integers else rng.standard_normal(c)
    return W.astype(dtype), X, b.astype(dtype), rng.integers(0, c, n)


@st.composite
def sparse_problems(draw):
    dtype = draw(st.sampled_from(DTYPES))
    n, d, c = draw(st.integers(0, 40)), draw(st.integers(1, 60)), draw(st.integers(1, 25))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    W, X, b, y = problem(rng, n, d, c, dtype, integers=draw(st.booleans()),
                         index_dtype=draw(st.sampled_from(INDEX_DTYPES)))
    options = dict(
        reg=draw(st.sampled_from([0.0, 0.25])),
        delta=draw(st.sampled_from([0.0, 1.0])),
        p=draw(st.sampled_from([1, 2])),
        kind=draw(st.sampled_from(KINDS)),
        reduction=draw(st.sampled_from(["mean", "sum"])),
        sample_weight=rng.uniform(0, 2, n) if draw(st.booleans()) else None,
        class_weight=rng.uniform(0, 2, c) if draw(st.booleans()) else None,
    )
    if draw(st.booleans()):
        options["b"] = b
    form = draw(st.sampled_from(["csr_matrix", "csr_array", "csc", "coo"]))
    if form == "csr_array":
        X = sp.csr_array(X)
    elif form == "csc":
        X = X.tocsc()
    elif form == "coo":
        X = X.tocoo()
    return W, X, y, options


@given(sparse_problems())
def test_svm_loss_agrees_with_the_reference_and_the_dense_call(problem):
    W, X, y, options = problem
    got = maxmargin.svm_loss(W, X, y, **options)
    want = reference.svm_loss(W, X, y, **options)
    dense = maxmargin.svm_loss(W, X.toarray(), y, **options)
    scale = 4 * max(X.shape)
    assert len(got) == len(want) == len(dense)
    assert got[1].dtype == W.dtype and got[1].flags.c_contiguous
    for mine, theirs, densely in zip(got, want, dense):
        assert_close(mine, theirs, W.dtype, scale, what="reference")
        assert_close(mine, densely, W.dtype, scale, what="dense call")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_svm_loss_with_exact_scores_gives_the_reference_loss_exactly(dtype, index_dtype):
    """Small integers: every score is exact in any order, so the margins, the
    kinks and the loss are the reference's bit for bit, and the gradients
    too (sums of exact terms)."""
    rng = np.random.default_rng(1)
    W, X, b, y = problem(rng, 300, 80, 12, dtype, integers=True, index_dtype=index_dtype)
    for kind in KINDS:
        got = maxmargin.svm_loss(W, X, y, b=b, kind=kind, reduction="sum")
        want = reference.svm_loss(W, X, y, b=b, kind=kind, reduction="sum")
        assert got[0] == want[0]
        for mine, theirs in zip(got[1:], want[1:]):
            np.testing.assert_array_equal(mine, theirs)


def test_svm_loss_accumulates_into_caller_buffers():
    rng = np.random.default_rng(2)
    W, X, b, y = problem(rng, 200, 50, 7, np.float64)
    want = reference.svm_loss(W, X, y, b=b, reg=0.1)
    dW, db = np.full_like(W, 0.5), np.full_like(b, -1.0)
    loss, got_dW, got_db = maxmargin.svm_loss(W, X, y, b=b, reg=0.1, dW_out=dW, db_out=db,
                                              accumulate=True)
    assert got_dW is dW and got_db is db
    assert_close(loss, want[0], np.float64)
    assert_close(dW, want[1] + 0.5, np.float64, 200)
    assert_close(db, want[2] - 1.0, np.float64, 200)


def test_svm_loss_reads_csr_in_place_and_copies_a_non_c_ordered_w():
    rng = np.random.default_rng(3)
    W, X, b, y = problem(rng, 100, 30, 5, np.float32)
    X.data.flags.writeable = False   # read in place: a read-only CSR works
    got = maxmargin.svm_loss(np.asfortranarray(W), X, y)
    want = maxmargin.svm_loss(W, X, y)
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])


# --- threads, chunks, paths: the same bits ------------------------------------

def threaded(**tunables):
    """The team's chunked pass from the smallest problems up, in small chunks."""
    return _tunables.override(sparse_parallel_min_entries=0, **tunables)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", [1, 3, 20, 37])
def test_svm_loss_gives_the_same_bits_for_every_thread_count_and_chunking(dtype, c):
    rng = np.random.default_rng(4)
    W, X, b, y = problem(rng, 700, 300, c, dtype)
    weights = rng.uniform(0, 2, 700)
    serial = maxmargin.svm_loss(W, X, y, b=b, reg=0.1, sample_weight=weights, n_threads=1)
    settings = [dict(), dict(sparse_chunk_entries=97), dict(sparse_chunk_entries=1),
                dict(sparse_chunk_scores=64, sparse_block_rows=3), dict(sparse_prefetch_gather=16, sparse_prefetch_scatter=16)]
    for tunables in settings:
        for threads in (1, 2, 3, 5):
            with threaded(**tunables):
                got = maxmargin.svm_loss(W, X, y, b=b, reg=0.1, sample_weight=weights,
                                         n_threads=threads)
            assert got[0] == serial[0], (tunables, threads)
            for mine, theirs in zip(got[1:], serial[1:]):
                np.testing.assert_array_equal(mine, theirs, err_msg=f"{tunables} {threads}")


def test_svm_loss_gives_the_same_bits_for_both_index_dtypes_and_containers():
    rng = np.random.default_rng(5)
    W, X, b, y = problem(rng, 400, 90, 11, np.float64)
    want = maxmargin.svm_loss(W, X, y, b=b)
    X64 = with_index_dtype(X.copy(), np.int64)
    for other in (X64, sp.csr_array(X)):
        got = maxmargin.svm_loss(W, other, y, b=b)
        assert got[0] == want[0]
        for mine, theirs in zip(got[1:], want[1:]):
            np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize("path", FEW_CLASS_PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_simd_path_agrees_with_the_reference(path, dtype):
    rng = np.random.default_rng(6)
    for c in (1, 2, 5, 8, 16, 17, 40, 100):
        W, X, b, y = problem(rng, 150, 70, c, dtype)
        want = reference.svm_loss(W, X, y, b=b, reg=0.2, p=2)
        with simd_path(path):
            got = maxmargin.svm_loss(W, X, y, b=b, reg=0.2, p=2)
        for mine, theirs in zip(got, want):
            assert_close(mine, theirs, dtype, 280, what=f"{path} C = {c}")


def test_nan_and_inf_in_the_values_propagate_as_numpy_would():
    rng = np.random.default_rng(7)
    W, X, b, y = problem(rng, 50, 20, 4, np.float64)
    X = X.copy()
    X.data[3] = np.nan
    with np.errstate(invalid="ignore"):
        want = reference.svm_loss(W, X, y)
    got = maxmargin.svm_loss(W, X, y)
    assert np.isnan(got[0]) and np.isnan(want[0])
    np.testing.assert_array_equal(np.isnan(got[1]), np.isnan(want[1]))


def test_empty_and_degenerate_shapes():
    W = np.ones((5, 3))
    empty = sp.csr_matrix((0, 5))
    loss, dW, db = maxmargin.svm_loss(W, empty, np.zeros(0, int), b=np.zeros(3), reg=0.5)
    assert loss == 0.5 * 15 and np.all(dW == 1.0) and np.all(db == 0)
    no_entries = sp.csr_matrix((4, 5))
    got = maxmargin.svm_loss(W, no_entries, np.array([0, 1, 2, 0]), b=np.array([0., 2., 1.]))
    want = reference.svm_loss(W, no_entries, np.array([0, 1, 2, 0]), b=np.array([0., 2., 1.]))
    for mine, theirs in zip(got, want):
        assert_close(mine, theirs, np.float64)


# --- the linear layer ------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", [None, "relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_linear_forward_and_backward_agree_with_the_reference(dtype, activation, index_dtype):
    rng = np.random.default_rng(8)
    X = random_csr(rng, 120, 90, dtype, index_dtype=index_dtype)
    W = (rng.standard_normal((90, 33)) * 0.3).astype(dtype)
    b = rng.standard_normal(33).astype(dtype)
    dY = rng.standard_normal((120, 33)).astype(dtype)
    Y, cache = maxmargin.linear_forward(X, W, b, activation=activation)
    want_Y, want_cache = reference.linear_forward(X, W, b, activation=activation)
    assert_close(Y, want_Y, dtype, 90)
    dX, dW, db = maxmargin.linear_backward(dY, cache, need_dX=False)
    _, want_dW, want_db = reference.linear_backward(dY, want_cache, need_dX=False)
    assert dX is None
    assert_close(dW, want_dW, dtype, 120)
    assert_close(db, want_db, dtype, 120)
    # dX at X's stored entries: the dense dX = dZ W^T there.
    pattern, _, _ = maxmargin.linear_backward(dY, cache, need_dX="pattern")
    dense_dX, _, _ = reference.linear_backward(dY, want_cache, need_dX=True)
    assert type(pattern) is type(X) and pattern.nnz == X.nnz
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    assert_close(pattern.data, dense_dX[rows, X.indices], dtype, 33)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_backward_and_its_threads(dtype):
    rng = np.random.default_rng(9)
    X = sp.csr_array(random_csr(rng, 500, 400, dtype))
    W = rng.standard_normal((400, 9)).astype(dtype)
    dY = rng.standard_normal((500, 9)).astype(dtype)
    _, want = reference.matmul_backward(dY, X, W, need_dX=False)
    dX, serial = maxmargin.matmul_backward(dY, X, W, need_dX=False, n_threads=1)
    assert dX is None
    assert_close(serial, want, dtype, 500)
    for threads in (2, 3):
        with threaded(sparse_chunk_entries=113):
            _, got = maxmargin.matmul_backward(np.asfortranarray(dY), X, W, need_dX=False,
                                               n_threads=threads)
        np.testing.assert_array_equal(got, serial)
    dW = np.ones_like(W)
    maxmargin.matmul_backward(dY, X, W, need_dX=False, dW_out=dW, accumulate=True)
    assert_close(dW, want + 1, dtype, 500)


def test_a_dense_dx_of_a_sparse_x_is_refused_with_the_way_out():
    X = sp.random(10, 8, density=0.3, format="csr", random_state=0)
    W = np.ones((8, 3))
    with pytest.raises(ValueError, match="matmul_backward: need_dX must be False or "
                                         "'pattern' when X is sparse"):
        maxmargin.matmul_backward(np.ones((10, 3)), X, W)
    _, cache = maxmargin.linear_forward(X, W)
    with pytest.raises(ValueError, match="linear_backward: need_dX must be False or 'pattern'"):
        maxmargin.linear_backward(np.ones((10, 3)), cache)
