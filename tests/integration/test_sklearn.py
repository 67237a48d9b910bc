"""maxmargin.sklearn.LinearSVMClassifier: scikit-learn's estimator checks,
real data (digits), weights, partial_fit, and scikit-learn's usual errors."""

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_blobs
from sklearn.metrics import recall_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from maxmargin.gradcheck import check_gradient
from maxmargin.sklearn import LinearSVMClassifier
from support import ESTIMATOR_CHECK_FAILURES


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


@pytest.mark.parametrize("estimator", [LinearSVMClassifier(),
                                       LinearSVMClassifier(kind="crammer_singer"),
                                       LinearSVMClassifier(p=2, solver="lbfgs"),
                                       LinearSVMClassifier(kind="one_vs_rest", p=2)],
                         ids=["sgd", "crammer_singer", "lbfgs", "one_vs_rest"])
def test_scikit_learn_estimator_checks(estimator):
    check_estimator(estimator, expected_failed_checks=ESTIMATOR_CHECK_FAILURES)


@pytest.mark.parametrize("params", [{}, {"kind": "crammer_singer"}, {"p": 2},
                                    {"kind": "crammer_singer", "p": 2},
                                    {"p": 2, "solver": "lbfgs"},
                                    {"kind": "crammer_singer", "p": 2, "solver": "lbfgs"},
                                    {"kind": "one_vs_rest"}, {"kind": "one_vs_rest", "p": 2},
                                    {"kind": "one_vs_rest", "p": 2, "solver": "lbfgs"},
                                    {"kind": "one_vs_rest", "p": 2, "solver": "dual"}],
                         ids=["default", "crammer_singer", "squared", "crammer_singer-squared",
                              "lbfgs", "crammer_singer-lbfgs", "one_vs_rest",
                              "one_vs_rest-squared", "one_vs_rest-lbfgs", "one_vs_rest-dual"])
def test_digits_accuracy(digits, params):
    X_train, X_test, y_train, y_test = digits
    clf = LinearSVMClassifier(random_state=0, **params).fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.93
    assert clf.coef_.shape == (10, 64) and clf.intercept_.shape == (10,)
    if params.get("solver") == "dual":  # the dual objective, which only rises
        assert np.all(np.diff(clf.loss_curve_) >= 0) and clf.loss_curve_[-1] > 0
    else:
        assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert max(clf.loss_curve_) < 1e3  # no divergence on the way


def test_a_broken_gradient_would_fail_the_accuracy_threshold(digits, monkeypatch):
    """The accuracy test is a real threshold: with dW's sign flipped,
    training walks uphill and the score collapses."""
    import maxmargin.sklearn as module
    real = module.svm_loss

    def flipped(*args, **kwargs):
        loss, dW, *rest = real(*args, **kwargs)
        return (loss, -dW, *rest)

    monkeypatch.setattr(module, "svm_loss", flipped)
    X_train, X_test, y_train, y_test = digits
    assert LinearSVMClassifier(random_state=0).fit(X_train, y_train).score(X_test, y_test) < 0.5


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_one_vs_rest_loss_is_its_formula_with_its_gradient(p, fit_intercept):
    """kind="one_vs_rest": sum over classes of max(0, delta - t s)^p, t = +1
    at the row's class and -1 elsewhere, weighted mean over rows, plus
    reg |W|^2; its dW and db against the formula's numerical gradient."""
    rng = np.random.default_rng(p)
    n, d, c = 12, 5, 4
    X = rng.standard_normal((n, d))
    y = rng.integers(0, c, n)
    W, b = rng.standard_normal((d, c)), rng.standard_normal(c)
    weights = rng.uniform(0.5, 1.5, n)
    clf = LinearSVMClassifier(kind="one_vs_rest", p=p, delta=1.5, reg=0.1,
                              fit_intercept=fit_intercept)

    def formula(W, b):
        scores = X @ W + (b if fit_intercept else 0)
        signs = np.where(np.arange(c) == y[:, None], 1.0, -1.0)
        hinge = np.maximum(0.0, 1.5 - signs * scores) ** p
        return float(np.mean(weights * hinge.sum(axis=1)) + 0.1 * np.sum(W * W))

    result = clf._loss_and_grads(X, y, weights, W, b)
    assert len(result) == (3 if fit_intercept else 2)
    assert result[0] == pytest.approx(formula(W, b), rel=1e-12)
    assert check_gradient(lambda W_: formula(W_, b), W, result[1]).passed
    if fit_intercept:
        assert check_gradient(lambda b_: formula(W, b_), b, result[2]).passed


def test_pipeline_and_grid_search(digits):
    X_train, X_test, y_train, y_test = digits
    pipe = make_pipeline(StandardScaler(), LinearSVMClassifier(random_state=0))
    search = GridSearchCV(pipe, {"linearsvmclassifier__reg": [1e-4, 1e-2],
                                 "linearsvmclassifier__kind": ["weston_watkins",
                                                               "crammer_singer"]}, cv=3)
    search.fit(X_train, y_train)
    assert search.score(X_test, y_test) > 0.93
    assert set(search.best_params_) == {"linearsvmclassifier__reg", "linearsvmclassifier__kind"}


def test_partial_fit_reaches_the_accuracy_of_fit(digits):
    X_train, X_test, y_train, y_test = digits
    full = LinearSVMClassifier(random_state=0).fit(X_train, y_train).score(X_test, y_test)
    clf = LinearSVMClassifier(random_state=0)
    batches = np.array_split(np.arange(len(y_train)), 4)
    for epoch in range(30):
        for rows in batches:
            clf.partial_fit(X_train[rows], y_train[rows], classes=np.arange(10))
    assert clf.score(X_test, y_test) > full - 0.02


def test_partial_fit_needs_classes_and_rejects_unseen_labels(digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(ValueError, match="classes must be passed"):
        LinearSVMClassifier().partial_fit(X_train, y_train)
    clf = LinearSVMClassifier().partial_fit(X_train[y_train < 5], y_train[y_train < 5],
                                            classes=np.arange(5))
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X_train, y_train)


def test_class_weight_gains_recall():
    X, y = make_blobs(n_samples=600, centers=[[0, 0], [1.5, 0], [0, 1.5]], cluster_std=1.0,
                      random_state=0)
    plain = LinearSVMClassifier(random_state=0).fit(X, y)
    weighted = LinearSVMClassifier(random_state=0, class_weight={0: 5.0}).fit(X, y)
    recall = lambda clf: recall_score(y, clf.predict(X), labels=[0], average=None)[0]
    assert recall(weighted) > recall(plain) + 0.05
    # sample_weight on class 0's rows does the same.
    by_sample = LinearSVMClassifier(random_state=0).fit(X, y, sample_weight=np.where(y == 0, 5.0, 1.0))
    assert recall(by_sample) > recall(plain) + 0.05
    # "balanced" on data where class 0 is rare: its recall rises too.
    rare = np.flatnonzero(y == 0)[:30]
    keep = np.concatenate([rare, np.flatnonzero(y != 0)])
    plain = LinearSVMClassifier(random_state=0).fit(X[keep], y[keep])
    balanced = LinearSVMClassifier(random_state=0, class_weight="balanced").fit(X[keep], y[keep])
    assert recall(balanced) > recall(plain) + 0.05


def test_labels_of_any_hashable_kind_and_float32(digits):
    X_train, X_test, y_train, y_test = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                      "eight", "nine"])
    clf = LinearSVMClassifier(random_state=0).fit(X_train.astype(np.float32), names[y_train])
    assert clf.coef_.dtype == np.float32
    assert list(clf.classes_) == sorted(names)
    assert clf.predict(X_test[:5].astype(np.float32)).dtype == names.dtype
    assert clf.score(X_test.astype(np.float32), names[y_test]) > 0.93


def test_scikit_learn_errors_for_bad_input(digits):
    X_train, X_test, y_train, _ = digits
    clf = LinearSVMClassifier().fit(X_train, y_train)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X_test[:, :10])
    bad = X_train.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LinearSVMClassifier().fit(bad, y_train)
    with pytest.raises(ValueError, match="p=2"):
        LinearSVMClassifier(solver="lbfgs", p=1).fit(X_train, y_train)
    with pytest.raises(ValueError, match="kind"):
        LinearSVMClassifier(kind="one_vs_one").fit(X_train, y_train)


def test_verbose_prints_each_epoch(digits, capsys):
    X_train, _, y_train, _ = digits
    LinearSVMClassifier(max_iter=3, tol=None, verbose=1).fit(X_train, y_train)
    err = capsys.readouterr().err
    assert err.count("epoch ") == 3 and "training accuracy" in err


def test_warm_start_continues(digits):
    X_train, X_test, y_train, y_test = digits
    clf = LinearSVMClassifier(max_iter=1, tol=None, warm_start=True, random_state=0)
    clf.fit(X_train, y_train)
    first = clf.coef_.copy()
    clf.fit(X_train, y_train)
    cold = LinearSVMClassifier(max_iter=1, tol=None, random_state=0).fit(X_train, y_train)
    assert not np.allclose(clf.coef_, first)
    np.testing.assert_array_equal(cold.coef_, first)
