"""maxmargin.dask.svm_loss: the single-machine answer from row chunks, the
same bits for every scheduler and worker count, errors naming global rows."""

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp

import maxmargin
import maxmargin.dask as mmd
from support import DTYPES, KINDS, raises

# The chunks' sums are grouped differently from one pass over all rows.
RTOL = {np.float32: 1e-5, np.float64: 1e-12}


def problem(dtype, n=1000, d=37, c=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    W = (0.2 * rng.standard_normal((d, c))).astype(dtype)
    b = (0.1 * rng.standard_normal(c)).astype(dtype)
    y = rng.integers(0, c, n)
    return X, W, b, y


def assert_agree(got, want, dtype):
    assert len(got) == len(want)
    np.testing.assert_allclose(got[0], want[0], rtol=RTOL[dtype])
    for g, w in zip(got[1:], want[1:]):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=0, atol=RTOL[dtype] * np.abs(w).max())


def assert_same_bits(a, b):
    assert a[0] == b[0]
    for x, y in zip(a[1:], b[1:]):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("p", [1, 2])
def test_agrees_with_one_machine(dtype, kind, p):
    X, W, b, y = problem(dtype)
    rng = np.random.default_rng(1)
    weights = rng.uniform(0, 2, len(y))
    class_weight = rng.uniform(0.5, 1.5, W.shape[1])
    options = dict(kind=kind, p=p, reg=0.01, delta=0.7)
    Xd = da.from_array(X, chunks=(173, X.shape[1]))  # uneven: the last chunk is short
    for reduction in ("mean", "sum"):
        want = maxmargin.svm_loss(W, X, y, b=b, sample_weight=weights,
                                  class_weight=class_weight, reduction=reduction, **options)
        got = mmd.svm_loss(W, Xd, da.from_array(y, chunks=173), b=b,
                           sample_weight=da.from_array(weights, chunks=173),
                           class_weight=class_weight, reduction=reduction, **options)
        assert_agree(got, want, dtype)
    # No bias: (loss, dW) only; NumPy y and weights are split like X.
    want = maxmargin.svm_loss(W, X, y, **options)
    got = mmd.svm_loss(W, Xd, y, **options)
    assert len(got) == 2
    assert_agree(got, want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_sparse_chunks(dtype, index_dtype):
    X, W, b, y = problem(dtype, n=600, d=200)
    X[np.random.default_rng(2).random(X.shape) < 0.9] = 0
    want = maxmargin.svm_loss(W, sp.csr_matrix(X), y, b=b, reg=0.1)

    def to_csr(block):
        matrix = sp.csr_matrix(block)
        matrix.indices = matrix.indices.astype(index_dtype)
        matrix.indptr = matrix.indptr.astype(index_dtype)
        return matrix

    Xs = da.from_array(X, chunks=(128, 200)).map_blocks(to_csr, dtype=dtype)
    got = mmd.svm_loss(W, Xs, y, b=b, reg=0.1)
    assert_agree(got, want, dtype)
    dense = mmd.svm_loss(W, da.from_array(X, chunks=(128, 200)), y, b=b, reg=0.1)
    assert_agree(got, dense, dtype)


def test_column_chunks_are_joined_and_dataframes_taken():
    X, W, b, y = problem(np.float64, n=300, d=8)
    want = maxmargin.svm_loss(W, X, y, b=b)
    got = mmd.svm_loss(W, da.from_array(X, chunks=(100, 3)), y, b=b)
    assert_agree(got, want, np.float64)
    dd = pytest.importorskip("dask.dataframe", reason="the test extra installs dask[dataframe]")
    pd = pytest.importorskip("pandas")
    frame = dd.from_pandas(pd.DataFrame(X), npartitions=4)
    labels = dd.from_pandas(pd.Series(y), npartitions=4)
    assert_agree(mmd.svm_loss(W, frame, labels, b=b), want, np.float64)


def test_empty_and_single_chunk():
    X, W, b, y = problem(np.float32, n=0)
    loss, dW, db = mmd.svm_loss(W, da.from_array(X, chunks=(10, X.shape[1])), y, b=b)
    assert loss == 0.0 and not dW.any() and not db.any()
    X, W, b, y = problem(np.float32, n=50)
    got = mmd.svm_loss(W, da.from_array(X), y, b=b)
    # One chunk is one call of the kernel with reduction="sum", then / N.
    whole = maxmargin.svm_loss(W, X, y, b=b, reduction="sum")
    assert got[0] == whole[0] / 50
    np.testing.assert_array_equal(got[1], (whole[1].astype(np.float64) / 50).astype(np.float32))


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_bits_on_every_scheduler(dtype, client):
    X, W, b, y = problem(dtype, n=5000, d=50, c=4, seed=3)
    weights = np.random.default_rng(4).uniform(0, 1, len(y))
    Xd = da.from_array(X, chunks=(397, 50))
    yd = da.from_array(y, chunks=397)
    wd = da.from_array(weights, chunks=397)

    def call():
        return mmd.svm_loss(W, Xd, yd, b=b, sample_weight=wd, reg=0.01, p=2)

    results = {}
    # The active distributed client: 2 worker processes.
    results["distributed"] = call()
    # Scattered first: chunks placed on the workers in another way.
    Xp, yp, wp = client.persist([Xd, yd, wd])
    results["persisted"] = mmd.svm_loss(W, Xp, yp, b=b, sample_weight=wp, reg=0.01, p=2)
    for scheduler in ("synchronous", "threads", "processes"):
        with dask.config.set(scheduler=scheduler):
            results[scheduler] = call()
    for name, result in results.items():
        assert_same_bits(result, results["synchronous"]), name
    assert_agree(results["synchronous"],
                 maxmargin.svm_loss(W, X, y, b=b, sample_weight=weights, reg=0.01, p=2), dtype)


def test_same_bits_for_any_task_order(monkeypatch):
    """Chunks that finish in a random order (each task sleeps a random time,
    eight threads) still give the bits of the synchronous run: the tree adds
    the same pairs whatever finishes first."""
    import time
    from maxmargin.dask import loss as loss_module

    X, W, b, y = problem(np.float32, n=3000, d=20, c=5, seed=5)
    Xd = da.from_array(X, chunks=(250, 20))
    with dask.config.set(scheduler="synchronous"):
        want = mmd.svm_loss(W, Xd, y, b=b)
    real = loss_module.chunk_terms
    for seed in range(3):
        delays = iter(np.random.default_rng(seed).uniform(0, 0.02, 12))

        def late(*args, _delay=dict(zip(range(0, 3000, 250), delays))):
            time.sleep(_delay[args[5]])  # args[5]: the chunk's first row
            return real(*args)

        monkeypatch.setattr(loss_module, "chunk_terms", late)
        with dask.config.set(scheduler="threads", num_workers=8):
            assert_same_bits(mmd.svm_loss(W, Xd, y, b=b), want)


def test_w_is_one_input_of_the_graph(monkeypatch):
    """W and b are sent once per call, not once per chunk."""
    X, W, b, y = problem(np.float32, n=2000, d=30, c=3)
    Xd = da.from_array(X, chunks=(100, 30))
    seen = []
    real_compute = dask.compute

    def spy(*collections, **kwargs):
        graph = {}
        for collection in collections:
            graph.update(dict(collection.__dask_graph__()))
        seen.append(sum(1 for value in graph.values()
                        if _holds(value, lambda v: isinstance(v, np.ndarray) and v is W)))
        return real_compute(*collections, **kwargs)

    monkeypatch.setattr(dask, "compute", spy)
    mmd.svm_loss(W, Xd, y, b=b)
    assert seen == [1]


def _holds(value, test):
    if test(value):
        return True
    inner = getattr(value, "value", None)
    if inner is not None and inner is not value and test(inner):
        return True
    if isinstance(value, (tuple, list)):
        return any(_holds(v, test) for v in value)
    return False


def test_errors_name_the_global_row():
    X, W, b, y = problem(np.float64, n=1000, d=10, c=4)
    Xd = da.from_array(X, chunks=(300, 10))
    bad = y.copy()
    bad[777] = 4
    with raises(ValueError, "svm_loss", "y", "y[777] = 4"):
        mmd.svm_loss(W, Xd, bad)
    weights = np.ones(len(y))
    weights[612] = -1
    with raises(ValueError, "svm_loss", "sample_weight", "sample_weight[612]"):
        mmd.svm_loss(W, Xd, y, sample_weight=weights)
    # NaN in X propagates, as in the single-machine call.
    X[401, 3] = np.nan
    assert np.isnan(mmd.svm_loss(W, da.from_array(X, chunks=(300, 10)), y)[0])


def test_bad_arguments_fail_before_any_task():
    X, W, b, y = problem(np.float32, n=100, d=10, c=4)
    Xd = da.from_array(X, chunks=(30, 10))
    with raises(TypeError, "svm_loss", "X"):
        mmd.svm_loss(W, X, y)
    with raises(TypeError, "svm_loss", "X", "float64"):
        mmd.svm_loss(W.astype(np.float64), Xd, y)
    with raises(ValueError, "svm_loss", "W", "D = 10"):
        mmd.svm_loss(W[:5], Xd, y)
    with raises(ValueError, "svm_loss", "y", "(100,)"):
        mmd.svm_loss(W, Xd, y[:50])
    with raises(ValueError, "svm_loss", "y", "0-D"):
        mmd.svm_loss(W, Xd, da.from_array(np.int64(3)))
    with raises(ValueError, "svm_loss", "sample_weight", "(100,)"):
        mmd.svm_loss(W, Xd, y, sample_weight=da.ones(99, chunks=30))
    with raises(ValueError, "svm_loss", "reduction"):
        mmd.svm_loss(W, Xd, y, reduction="none")
    with raises(ValueError, "svm_loss", "kind"):
        mmd.svm_loss(W, Xd, y, kind="one_vs_rest")
    with raises(ValueError, "svm_loss", "delta"):
        mmd.svm_loss(W, Xd, y, delta=-1.0)
    with raises(ValueError, "svm_loss", "class_weight"):
        mmd.svm_loss(W, Xd, y, class_weight=np.ones(3))
    with raises(ValueError, "svm_loss", "b"):
        mmd.svm_loss(W, Xd, y, b=np.ones(3, np.float32))
    with raises(ValueError, "svm_loss", "X", "2-D"):
        mmd.svm_loss(W, da.ones(10, chunks=5), y)
