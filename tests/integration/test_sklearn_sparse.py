"""LinearSVMClassifier on sparse X: each solver against what it must equal.

- SGD: one epoch of the compiled lazy-scale pass against the same steps
  written densely in NumPy (W <- (1 - 2 reg step) W - step X_b^T G);
- L-BFGS: the objective and gradient on CSR against the dense ones;
- dual: the optimum against LinearSVC's (the same problem), its dual
  objective against the loss, its shrinking and warm start;
- and scikit-learn's estimator checks with sparse input on.
"""

import numpy as np
import pytest
from scipy import sparse
from sklearn.svm import LinearSVC
from sklearn.utils.estimator_checks import check_estimator

from maxmargin import _sparse, reference
from maxmargin import sklearn as mm_sklearn
from maxmargin.sparse import by_types
from support import ESTIMATOR_CHECK_FAILURES

from maxmargin.sklearn import LinearSVMClassifier

def sparse_problem(n_rows=600, n_features=400, n_classes=5, per_row=12, seed=0,
                   dtype=np.float64):
    """Rows of `per_row` random features whose classes own a share of the
    features (so a linear model separates most of them), L2-normalised."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n_rows)
    own = n_features // n_classes
    cols = np.where(rng.random((n_rows, per_row)) < 0.6,
                    y[:, None] * own + rng.integers(0, own, (n_rows, per_row)),
                    rng.integers(0, n_features, (n_rows, per_row)))
    vals = rng.random((n_rows, per_row)) + 0.1
    X = sparse.csr_matrix((vals.ravel(), cols.ravel(), np.arange(0, n_rows * per_row + 1,
                                                                per_row)),
                          shape=(n_rows, n_features))
    X.sum_duplicates()
    X = X.multiply(1.0 / np.sqrt(X.multiply(X).sum(axis=1))).tocsr().astype(dtype)
    return X, y


@pytest.mark.parametrize("estimator", [LinearSVMClassifier(solver="dual", kind="one_vs_rest"),
                                       LinearSVMClassifier(solver="dual", kind="one_vs_rest",
                                                           p=2)],
                         ids=["dual", "dual-squared"])
def test_scikit_learn_estimator_checks_dual(estimator):
    check_estimator(estimator, expected_failed_checks=ESTIMATOR_CHECK_FAILURES)


@pytest.mark.parametrize("kind", ["weston_watkins", "crammer_singer", "one_vs_rest"])
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sgd_epoch_is_the_dense_steps_with_the_shrink_as_a_scale(kind, p, dtype):
    """The compiled sparse epoch (W = scale * V, only the batch's rows of V
    touched) is the plain minibatch SGD written densely, step for step."""
    X, y = sparse_problem(n_rows=200, n_features=60, dtype=dtype)
    weights = np.random.default_rng(1).random(X.shape[0]) + 0.5
    weights *= len(weights) / weights.sum()
    clf = LinearSVMClassifier(kind=kind, p=p, reg=0.01, batch_size=16, shuffle=False,
                              random_state=0)
    clf.classes_ = np.unique(y)
    clf._init_state(X.shape[1], X.dtype)
    rng = np.random.default_rng(2)
    clf._W[...] = rng.standard_normal(clf._W.shape) * 0.1
    clf._b[...] = rng.standard_normal(clf._b.shape) * 0.1
    W, b = clf._W.astype(np.float64), clf._b.astype(np.float64)
    scale = mm_sklearn._step_scale(X)

    loss = clf._sgd_epoch(X, y, weights, np.random.default_rng(0), scale)

    step = clf.learning_rate * mm_sklearn.SPARSE_STEP * (mm_sklearn.SQUARED_HINGE_STEP
                                                        if p == 2 else 1.0)
    step_W, step_b = step * scale, step * mm_sklearn.BIAS_SCALE
    Xd = X.toarray().astype(np.float64)
    total = 0.0
    for start in range(0, X.shape[0], clf.batch_size):
        rows = slice(start, start + clf.batch_size)
        S = Xd[rows] @ W + b
        if kind == "one_vs_rest":
            t = np.where(np.arange(W.shape[1]) == y[rows, None], 1.0, -1.0)
            margin = np.maximum(0.0, clf.delta - t * S)
            total += float(weights[rows] @ (margin ** p).sum(axis=1))
            slope = (margin > 0) * 1.0 if p == 1 else 2.0 * margin
            G = -t * slope * weights[rows, None] / S.shape[0]
        else:
            batch_loss, G = reference.multiclass_hinge(S, y[rows], p=p, kind=kind,
                                                       sample_weight=weights[rows],
                                                       reduction="sum")
            total += float(batch_loss)
            G = G / S.shape[0]
        b = b - step_b * G.sum(axis=0)
        W = (1.0 - 2.0 * clf.reg * step_W) * W - step_W * (Xd[rows].T @ G)
    tol = 1e-10 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(clf._W, W, rtol=tol, atol=tol)
    np.testing.assert_allclose(clf._b, b, rtol=tol, atol=tol)
    expected = total / X.shape[0] + clf.reg * float(np.sum(W ** 2))
    assert loss == pytest.approx(expected, rel=1e-4 if dtype == np.float32 else 1e-9)


@pytest.mark.parametrize("kind", ["weston_watkins", "crammer_singer", "one_vs_rest"])
def test_lbfgs_objective_on_sparse_x_is_the_dense_one(kind):
    X, y = sparse_problem(n_rows=150, n_features=80)
    clf = LinearSVMClassifier(kind=kind, p=2, solver="lbfgs", reg=0.01)
    clf.classes_ = np.unique(y)
    rng = np.random.default_rng(3)
    W = rng.standard_normal((X.shape[1], len(clf.classes_)))
    b = rng.standard_normal(len(clf.classes_))
    weights = rng.random(X.shape[0]) + 0.5
    on_sparse = clf._loss_and_grads(X, y, weights, W, b)
    on_dense = clf._loss_and_grads(X.toarray(), y, weights, W, b)
    for got, want in zip(on_sparse, on_dense):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["weston_watkins", "crammer_singer", "one_vs_rest"])
@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_sparse_fit_separates_a_sparse_problem(kind, solver):
    X, y = sparse_problem()
    X_test, y_test = sparse_problem(seed=1)
    clf = LinearSVMClassifier(kind=kind, solver=solver, p=2 if solver == "lbfgs" else 1,
                              random_state=0).fit(X, y)
    assert clf.score(X_test, y_test) > 0.9
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_dual_reaches_linear_svc_optimum(p, fit_intercept):
    """The same problem as LinearSVC(C) with reg = 1 / (2 C N), so the same
    unique optimum (b regularised in both when fitted)."""
    X, y = sparse_problem(n_rows=300, n_features=120)
    c = 0.5
    ours = LinearSVMClassifier(kind="one_vs_rest", p=p, solver="dual", reg=1 / (2 * c * 300),
                               fit_intercept=fit_intercept, tol=1e-7, max_iter=20000,
                               random_state=0).fit(X, y)
    theirs = LinearSVC(C=c, loss="hinge" if p == 1 else "squared_hinge", tol=1e-9,
                       max_iter=200000, fit_intercept=fit_intercept, random_state=0).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=2e-4)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=2e-4)


@pytest.mark.parametrize("p", [1, 2])
def test_dual_objective_meets_the_loss_at_the_optimum(p):
    """loss_curve_ is the dual's value: below the primal loss on the way, and
    equal to it (with reg |b|^2) once the solver has converged."""
    X, y = sparse_problem(n_rows=300, n_features=120)
    weights = np.random.default_rng(4).random(300) + 0.5
    clf = LinearSVMClassifier(kind="one_vs_rest", p=p, solver="dual", reg=0.01, tol=1e-8,
                              max_iter=5000, random_state=0).fit(X, y, sample_weight=weights)
    weights = weights * (300 / weights.sum())
    loss = clf._loss_and_grads(X, y, weights, clf._W, clf._b)[0]
    loss += clf.reg * float(np.sum(clf._b ** 2))
    assert clf.loss_curve_[-1] == pytest.approx(loss, rel=1e-5)
    assert all(value <= loss * (1 + 1e-9) for value in clf.loss_curve_)
    assert clf.n_iter_ < 5000


@pytest.mark.parametrize("p", [1, 2])
def test_dual_pass_is_hsiehs_coordinate_steps(p):
    """Without shrinking, one compiled pass is the textbook loop: for each
    row and class, G = t s - 1 + alpha / (2U) [p = 2], the projected step,
    W and b updated at once (so the next class of the row sees them)."""
    X, y = sparse_problem(n_rows=120, n_features=60)
    n_rows, n_features, n_classes = X.shape[0], X.shape[1], 5
    upper = np.random.default_rng(5).random(n_rows) + 0.2
    diagonal = np.asarray(X.multiply(X).sum(axis=1)).ravel() + 1.0
    kernel = by_types(_sparse.csr_dual_epoch_kernel)[(np.dtype(np.float64), X.indices.dtype)]
    W, b, alpha = np.zeros((n_features, n_classes)), np.zeros(n_classes), np.zeros((n_rows, 5))
    W_ref, b_ref, alpha_ref = W.copy(), b.copy(), alpha.copy()
    active = np.ones((n_rows, n_classes), dtype=np.uint8)
    bounds = np.empty((2, n_classes))
    Xd = X.toarray()
    for seed in range(3):
        order = np.random.default_rng(seed).permutation(n_rows).astype(np.intp)
        bounds[0], bounds[1] = np.inf, -np.inf
        kernel(W, b, X.data, X.indices, X.indptr, y.astype(np.intp), upper, diagonal, alpha,
               active, order, p, 1.0, True, bounds)
        for r in order:
            extra = 0.5 / upper[r] if p == 2 else 0.0
            for c in range(n_classes):
                t = 1.0 if c == y[r] else -1.0
                g = t * (Xd[r] @ W_ref[:, c] + b_ref[c]) - 1.0 + extra * alpha_ref[r, c]
                at_top = p == 1 and alpha_ref[r, c] >= upper[r]
                projected = min(g, 0.0) if alpha_ref[r, c] == 0 else (
                    max(g, 0.0) if at_top else g)
                if projected != 0:
                    new = max(alpha_ref[r, c] - g / (diagonal[r] + extra), 0.0)
                    if p == 1:
                        new = min(new, upper[r])
                    W_ref[:, c] += (new - alpha_ref[r, c]) * t * Xd[r]
                    b_ref[c] += (new - alpha_ref[r, c]) * t
                    alpha_ref[r, c] = new
        np.testing.assert_allclose(alpha, alpha_ref, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(W, W_ref, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(b, b_ref, rtol=1e-12, atol=1e-14)
    assert active.all()  # nothing shrinks while the bounds are infinite


def test_dual_optimum_does_not_depend_on_the_order():
    X, y = sparse_problem(n_rows=300, n_features=120)
    fits = [LinearSVMClassifier(kind="one_vs_rest", p=2, solver="dual", reg=0.005, tol=1e-8,
                                max_iter=5000, random_state=seed).fit(X, y)
            for seed in (0, 1, 2)]
    for other in fits[1:]:
        np.testing.assert_allclose(other.coef_, fits[0].coef_, atol=1e-6)


def test_dual_on_dense_x_is_the_dual_on_its_csr():
    X, y = sparse_problem(n_rows=200, n_features=50)
    on_sparse = LinearSVMClassifier(kind="one_vs_rest", solver="dual",
                                    random_state=0).fit(X, y)
    on_dense = LinearSVMClassifier(kind="one_vs_rest", solver="dual",
                                   random_state=0).fit(X.toarray(), y)
    np.testing.assert_array_equal(on_dense.coef_, on_sparse.coef_)


def test_dual_warm_start_continues_from_its_dual_variables():
    X, y = sparse_problem(n_rows=300, n_features=120)
    clf = LinearSVMClassifier(kind="one_vs_rest", p=2, solver="dual", max_iter=2, tol=None,
                              warm_start=True, random_state=0)
    clf.fit(X, y)
    first = clf.loss_curve_[-1]
    clf.fit(X, y)
    # The dual objective only rises: a restart from alpha = 0 would begin below.
    assert clf.loss_curve_[0] >= first
    cold = LinearSVMClassifier(kind="one_vs_rest", p=2, solver="dual", max_iter=4, tol=None,
                               random_state=0).fit(X, y)
    assert clf.loss_curve_[-1] == pytest.approx(cold.loss_curve_[-1], rel=0.05)


def test_dual_needs_one_vs_rest():
    X, y = sparse_problem(n_rows=50, n_features=20)
    with pytest.raises(ValueError, match="solver='dual' solves kind='one_vs_rest'"):
        LinearSVMClassifier(solver="dual").fit(X, y)


@pytest.mark.parametrize("fmt", ["csc", "coo", "lil"])
def test_other_sparse_formats_fit_as_csr(fmt):
    X, y = sparse_problem(n_rows=200, n_features=50)
    on_csr = LinearSVMClassifier(random_state=0, max_iter=3, tol=None).fit(X, y)
    other = LinearSVMClassifier(random_state=0, max_iter=3, tol=None).fit(X.asformat(fmt), y)
    np.testing.assert_array_equal(other.coef_, on_csr.coef_)
    np.testing.assert_array_equal(other.predict(X.asformat(fmt)), on_csr.predict(X))


def test_partial_fit_on_sparse_batches():
    X, y = sparse_problem(n_rows=900)
    X_test, y_test = sparse_problem(seed=1)
    clf = LinearSVMClassifier(random_state=0)
    for _ in range(5):
        for start in range(0, 900, 300):
            clf.partial_fit(X[start:start + 300], y[start:start + 300], classes=np.unique(y))
    assert clf.score(X_test, y_test) > 0.9


def test_sparse_sgd_refuses_a_step_that_would_flip_w():
    X, y = sparse_problem(n_rows=50, n_features=20)
    with pytest.raises(ValueError, match="reg \\* learning_rate is too large"):
        LinearSVMClassifier(reg=10.0, learning_rate=10.0).fit(X, y)
