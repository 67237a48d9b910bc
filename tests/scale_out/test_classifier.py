"""maxmargin.dask.LinearSVMClassifier: the single-machine fit from chunks,
lazy predictions, errors naming global rows, dask-ml's Incremental."""

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("sklearn", reason="the test extra installs scikit-learn")
from sklearn.datasets import make_classification  # noqa: E402

from maxmargin.dask import LinearSVMClassifier  # noqa: E402
from maxmargin.sklearn import LinearSVMClassifier as OneMachine  # noqa: E402

# L-BFGS on the same objective from the same start: in float64 the two fits
# take the same iterations and agree to ~1e-11 of max |coef_|; in float32
# the last bits of the gradients steer the iterates apart, to ~1e-3 of it
# (the intercept, flatter in the objective, to ~1e-2), at the same loss.
COEF_RTOL = {np.float64: 1e-9, np.float32: 2e-3}
INTERCEPT_RTOL = {np.float64: 1e-9, np.float32: 2e-2}


def problem(n=12000, d=40, classes=5, seed=0, dtype=np.float32):
    X, y = make_classification(n + 4000, d, n_informative=min(20, d // 2), n_classes=classes,
                               n_clusters_per_class=1, random_state=seed)
    X = X.astype(dtype)
    return X[:n], y[:n], X[n:], y[n:]


def chunked(X, y, rows=2500):
    return da.from_array(X, chunks=(rows, X.shape[1])), da.from_array(y, chunks=rows)


def assert_coef_close(a, b):
    dtype = b.coef_.dtype.type
    scale = np.abs(b.coef_).max()
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=0, atol=COEF_RTOL[dtype] * scale)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=0,
                               atol=INTERCEPT_RTOL[dtype] * scale)


@pytest.mark.parametrize("kind", ["weston_watkins", "crammer_singer", "one_vs_rest"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lbfgs_finds_the_single_machine_coefficients(kind, dtype):
    X, y, _, _ = problem(dtype=dtype)
    params = dict(solver="lbfgs", p=2, kind=kind, reg=1e-3, max_iter=300, random_state=0)
    one = OneMachine(**params).fit(X, y)
    dist = LinearSVMClassifier(**params).fit(*chunked(X, y))
    assert dist.n_iter_ > 5
    if dtype == np.float64:
        assert dist.n_iter_ == one.n_iter_
    assert_coef_close(dist, one)
    assert dist.loss_curve_[-1] == pytest.approx(one.loss_curve_[-1], rel=1e-5)
    np.testing.assert_array_equal(dist.classes_, one.classes_)


def test_lbfgs_with_weights_and_sparse_chunks():
    X, y, _, _ = problem(n=6000, d=60, dtype=np.float64)
    X[np.random.default_rng(1).random(X.shape) < 0.7] = 0
    weights = np.random.default_rng(2).uniform(0, 3, len(y))
    params = dict(solver="lbfgs", p=2, reg=1e-3, max_iter=200, class_weight="balanced",
                  random_state=0)
    one = OneMachine(**params).fit(sp.csr_matrix(X), y, sample_weight=weights)
    Xd, yd = chunked(X, y, rows=1500)
    dist = LinearSVMClassifier(**params).fit(Xd.map_blocks(sp.csr_matrix, dtype=X.dtype), yd,
                                             sample_weight=da.from_array(weights, chunks=1500))
    assert_coef_close(dist, one)


def test_sgd_reaches_the_single_machine_accuracy():
    """Local epochs per chunk and their average: held-out accuracy within
    0.5 points of the single-machine SGD fit's, for p = 1 and 2."""
    X, y, X_test, y_test = problem(n=20000, d=50, classes=8, seed=3)
    for p in (1, 2):
        params = dict(p=p, max_iter=15, random_state=0, reg=1e-4)
        one = OneMachine(**params).fit(X, y).score(X_test, y_test)
        dist = LinearSVMClassifier(**params).fit(*chunked(X, y, rows=5000))
        assert dist.n_iter_ >= 5
        accuracy = float(dist.score(da.from_array(X_test, chunks=(1000, 50)), y_test))
        assert accuracy >= one - 0.005, (p, accuracy, one)


def test_same_bits_on_a_cluster_and_one_thread(client):
    X, y, _, _ = problem(n=6000, d=30)
    Xd, yd = chunked(X, y, rows=1000)
    for params in (dict(solver="lbfgs", p=2, max_iter=30), dict(solver="sgd", max_iter=4)):
        on_cluster = LinearSVMClassifier(random_state=0, **params).fit(Xd, yd)
        with dask.config.set(scheduler="synchronous"):
            alone = LinearSVMClassifier(random_state=0, **params).fit(Xd, yd)
        np.testing.assert_array_equal(on_cluster.coef_, alone.coef_)
        np.testing.assert_array_equal(on_cluster.intercept_, alone.intercept_)
        assert on_cluster.loss_curve_ == alone.loss_curve_


def test_dataframe_with_string_labels_and_lazy_predictions():
    dd = pytest.importorskip("dask.dataframe", reason="the test extra installs dask[dataframe]")
    pd = pytest.importorskip("pandas")
    X, y, X_test, y_test = problem(n=4000, d=10, classes=3, dtype=np.float64)
    names = np.array(["ant", "bee", "cat"], dtype=object)
    frame = dd.from_pandas(pd.DataFrame(X, columns=[f"f{i}" for i in range(10)]),
                           npartitions=4)
    with dask.config.set({"dataframe.convert-string": False}):  # object labels stay so
        labels = dd.from_pandas(pd.Series(names[y], dtype=object), npartitions=4)
    clf = LinearSVMClassifier(solver="lbfgs", p=2, random_state=0).fit(frame, labels)
    assert list(clf.classes_) == ["ant", "bee", "cat"]
    one = OneMachine(solver="lbfgs", p=2, random_state=0).fit(X, names[y])
    assert_coef_close(clf, one)

    X_lazy = da.from_array(X_test, chunks=(700, 10))
    scores = clf.decision_function(X_lazy)
    predicted = clf.predict(X_lazy)
    score = clf.score(X_lazy, names[y_test])
    for lazy in (scores, predicted, score):
        assert isinstance(lazy, da.Array)
    assert scores.shape == (len(X_test), 3) and scores.chunks[0] == X_lazy.chunks[0]
    np.testing.assert_allclose(scores.compute(), X_test @ clf.coef_.T + clf.intercept_,
                               rtol=1e-12)
    np.testing.assert_array_equal(predicted.compute(), clf.predict(X_test))
    assert float(score) == pytest.approx(clf.score(X_test, names[y_test]), abs=1e-12)


def test_two_classes_give_one_score_column():
    X, y, X_test, _ = problem(n=3000, d=8, classes=2)
    clf = LinearSVMClassifier(solver="lbfgs", p=2, random_state=0).fit(*chunked(X, y, 1000))
    lazy = clf.decision_function(da.from_array(X_test, chunks=(1000, 8)))
    assert lazy.shape == (len(X_test),)
    np.testing.assert_allclose(lazy.compute(), clf.decision_function(X_test), rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(da.from_array(X_test, chunks=(1000, 8))).compute(),
                                  clf.predict(X_test))


def test_numpy_input_fits_on_this_machine():
    X, y, X_test, _ = problem(n=2000, d=8)
    params = dict(solver="lbfgs", p=2, random_state=0)
    a = LinearSVMClassifier(**params).fit(X, y)
    b = OneMachine(**params).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert isinstance(a.predict(X_test), np.ndarray)


def test_bad_chunks_name_their_global_row():
    X, y, _, _ = problem(n=5000, d=12, dtype=np.float64)
    X[3217, 4] = np.nan
    Xd, yd = chunked(X, y, rows=1000)
    with pytest.raises(ValueError, match=r"Input X contains NaN.*row 3217\b"):
        LinearSVMClassifier().fit(Xd, yd)
    X[3217, 4] = 0.0
    # Copies: a dask array made by from_array may read the NumPy array lazily.
    X_sparse = da.from_array(X.copy(), chunks=(1000, 12)).map_blocks(sp.csr_matrix,
                                                                    dtype=X.dtype)
    X[4001, 0] = np.inf
    X_bad = da.from_array(X.copy(), chunks=(1000, 12)).map_blocks(sp.csr_matrix,
                                                                  dtype=X.dtype)
    with pytest.raises(ValueError, match=r"Input X contains NaN or infinity.*row 4001\b"):
        LinearSVMClassifier().fit(X_bad, yd)
    labels = y.astype(np.float64)
    labels[2999] = np.nan
    with pytest.raises(ValueError, match=r"Input y contains NaN.*y\[2999\]"):
        LinearSVMClassifier().fit(X_sparse, da.from_array(labels, chunks=1000))
    weights = np.ones(len(y))
    weights[1234] = -2
    with pytest.raises(ValueError, match=r"sample_weight\[1234\] = -2"):
        LinearSVMClassifier().fit(X_sparse, yd, sample_weight=weights)


def test_refusals():
    X, y, _, _ = problem(n=1000, d=6)
    Xd, yd = chunked(X, y, rows=250)
    with pytest.raises(ValueError, match="solver='dual' runs on one machine"):
        LinearSVMClassifier(solver="dual", kind="one_vs_rest").fit(Xd, yd)
    with pytest.raises(ValueError, match="solver='lbfgs' needs the smooth loss p=2"):
        LinearSVMClassifier(solver="lbfgs", p=1).fit(Xd, yd)
    with pytest.raises(TypeError, match="partial_fit takes one NumPy"):
        LinearSVMClassifier().partial_fit(Xd, yd, classes=np.unique(y))
    with pytest.raises(TypeError, match="X must be a dask array"):
        LinearSVMClassifier().fit(X, yd)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        LinearSVMClassifier().fit(Xd, da.from_array(y + 0.5, chunks=250))
    with pytest.raises(ValueError, match="at least 2 classes"):
        LinearSVMClassifier().fit(Xd, da.zeros(1000, chunks=250, dtype=int))
    clf = LinearSVMClassifier(max_iter=2).fit(Xd, yd)
    with pytest.raises(ValueError, match="X has 5 features"):
        clf.predict(da.from_array(X[:, :5], chunks=(250, 5)))


def test_partial_fit_under_dask_ml_incremental():
    """dask-ml's Incremental feeds the single-machine partial_fit one chunk
    at a time: the model learns (far above chance), and each chunk was one
    SGD epoch of maxmargin's."""
    # exc_type=ImportError: dask-ml 2024.4.4, the newest pip finds beside
    # numpy < 1.24, fails to import with scikit-learn >= 1.6.
    wrappers = pytest.importorskip("dask_ml.wrappers", exc_type=ImportError,
                                   reason="the test extra installs a dask-ml that imports")
    X, y, X_test, y_test = problem(n=20000, d=30, classes=4, seed=7)
    Xd, yd = chunked(X, y, rows=2000)
    model = wrappers.Incremental(OneMachine(random_state=0), scoring="accuracy",
                                 shuffle_blocks=False)
    model.fit(Xd, yd, classes=np.unique(y))
    fitted = model.estimator_
    assert isinstance(fitted, OneMachine)
    assert fitted.n_iter_ == Xd.numblocks[0]
    assert len(fitted.loss_curve_) == Xd.numblocks[0]
    accuracy = model.score(da.from_array(X_test, chunks=(1000, 30)),
                           da.from_array(y_test, chunks=1000))
    assert accuracy > 0.7
    # The same chunks fed by hand, in order, give the same model.
    by_hand = OneMachine(random_state=0)
    for start in range(0, len(y), 2000):
        by_hand.partial_fit(X[start:start + 2000], y[start:start + 2000], classes=np.unique(y))
    np.testing.assert_array_equal(fitted.coef_, by_hand.coef_)
