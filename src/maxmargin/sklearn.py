"""A scikit-learn classifier trained with maxmargin's kernels.

    from maxmargin.sklearn import LinearSVMClassifier
    clf = LinearSVMClassifier().fit(X_train, y_train)
    clf.score(X_test, y_test)

Needs scikit-learn (``pip install "maxmargin[sklearn]"``). The model is
CS231n's linear SVM: scores s = X W + b, the multiclass hinge loss
(`maxmargin.svm_loss`: Weston-Watkins or Crammer-Singer, p = 1 or 2) or one
binary hinge per class (one-vs-rest, through `maxmargin.ranking_hinge`),
plus reg * |W|^2, minimised by minibatch SGD with momentum or, for the
smooth p = 2 loss, by L-BFGS on the full batch. X may be a SciPy sparse
matrix (CSR is used as it is, other formats converted once).
"""

import numbers
import sys
import time

import numpy as np
from scipy import optimize
from scipy import sparse as sparse_module
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (_check_sample_weight, check_is_fitted,
                                      validate_data)

from .hinge import svm_loss
from .ranking import ranking_hinge
from .layers import linear_forward, matmul_backward
from .sparse import by_types, csr_parts, is_sparse
from . import _sparse

KINDS = ("weston_watkins", "crammer_singer", "one_vs_rest")
_KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}  # the SGD kernel's codes
_SGD_EPOCH = by_types(_sparse.csr_sgd_epoch_kernel)
_DUAL_PASS = by_types(_sparse.csr_dual_epoch_kernel)
SOLVERS = ("sgd", "lbfgs", "dual")
# SGD momentum (heavy ball) and when a fit counts as long enough to show
# progress without being asked.
MOMENTUM = 0.9
PROGRESS_AFTER_SECONDS = 2.0
# The step of W is scaled by 1 / (1 + mean |x|^2); the intercept's feature
# is the constant 1, so its step by 1 / (1 + 1).
BIAS_SCALE = 0.5
# The squared hinge's slope grows with the margin: the step that suits p = 1
# diverges for p = 2 on raw pixels, so p = 2 takes a tenth of it
# (bench/results/2026-12-04.md).
SQUARED_HINGE_STEP = 0.1
# Sparse SGD has no momentum (its velocity would be a dense D x C array
# touched at every step); its step is the heavy ball's effective one,
# step / (1 - momentum), so that learning_rate means the same.
SPARSE_STEP = 1.0 / (1.0 - MOMENTUM)
# Below this scale of W (W = scale * V, the sparse SGD's L2 shrink) V takes
# the scale back, one dense pass, so that V stays well within float range.
MIN_SCALE = 1e-9


def _step_scale(X):
    """1 / (1 + mean |x|^2), the factor of W's SGD step: the hinge's gradient
    grows with |x|, so a fixed step that suits standardised features
    diverges on raw pixels (0-16)."""
    if is_sparse(X):
        squares = float(np.dot(X.data.astype(np.float64), X.data.astype(np.float64)))
        return 1.0 / (1.0 + squares / max(X.shape[0], 1))
    return 1.0 / (1.0 + float(np.mean(np.einsum("ij,ij->i", X, X, dtype=np.float64))))


def one_vs_rest_loss(X, y_index, weights, W, b, *, delta, p, reg, reduction="mean",
                     n_threads=None):
    """C binary hinges on the signed scores t * s, s = X W + b (t = +1 at the
    row's class, -1 elsewhere): ``ranking_hinge(t * s, 0)`` is
    max(0, delta - t s)^p for every pair at once, and dL/ds = t dL/d(t s).

    X (N, D), y_index (N,) intp, weights (N,) float64, W (D, C), b (C,) or
    None. Returns (loss, dW) or (loss, dW, db) of the weighted sum over the
    rows (reduction="sum") or that sum / N ("mean"), plus reg |W|^2.
    """
    n_rows, n_classes = X.shape[0], W.shape[1]
    scores, _ = linear_forward(X, W, b, n_threads=n_threads)
    signs = np.full((n_rows, n_classes), -1, dtype=X.dtype)
    signs[np.arange(n_rows), y_index] = 1
    signed = (scores * signs).ravel()
    loss, d_signed, _ = ranking_hinge(
        signed, np.zeros_like(signed), delta=delta, p=p,
        sample_weight=np.repeat(weights, n_classes), reduction="sum", n_threads=n_threads)
    d_scores = d_signed.reshape(n_rows, n_classes)
    d_scores *= signs
    if reduction == "mean":
        d_scores /= max(n_rows, 1)
        loss = loss / max(n_rows, 1)
    _, dW = matmul_backward(d_scores, X, W, need_dX=False)
    if reg:
        loss += reg * float(np.sum(np.square(W, dtype=np.float64)))
        dW += (2 * reg) * W
    if b is None:
        return loss, dW
    return loss, dW, d_scores.sum(axis=0, dtype=np.float64).astype(W.dtype)


class LinearSVMClassifier(ClassifierMixin, BaseEstimator):
    """Linear multiclass SVM: predict argmax_c (x W + b)_c.

    Parameters
    ----------
    kind : {"weston_watkins", "crammer_singer", "one_vs_rest"}
        The multiclass hinge: sum over wrong classes, or the worst one; or
        one binary hinge per class, ``sum_c max(0, delta - t_c s_c)^p`` with
        t_c = +1 for the row's class and -1 for the others (the model of
        scikit-learn's LinearSVC() and SGDClassifier; with p = 2 it fits
        classes made of several clusters better than a joint hinge).
    p : {1, 2}
        Hinge (1) or squared hinge (2, smooth: L-BFGS can be used).
    delta : float
        The margin.
    reg : float
        L2 penalty reg * |W|^2 (the intercept is not penalised, except by
        solver="dual": reg * (|W|^2 + |b|^2), as liblinear's). With the
        loss a weighted mean over the N rows, LinearSVC(C=c) is reg = 1 /
        (2 c N).
    fit_intercept : bool
        Learn b (else b = 0).
    solver : {"sgd", "lbfgs", "dual"}
        "sgd": minibatch SGD with momentum 0.9 and a step that decays as
        learning_rate / (1 + epoch), scaled by 1 / (1 + mean |x|^2) for W
        (so that unscaled features work) and by 1/2 for the intercept; for
        p = 2 by a further 1/10. Each `partial_fit` call counts as an
        epoch. On sparse X a step touches only the rows of W its batch's
        features name (the L2 shrink a scalar scale of W) and has no
        momentum, its step the momentum's effective one (x10). "lbfgs":
        scipy.optimize L-BFGS-B on the full-batch loss; only with p = 2.
        "dual": dual coordinate descent with shrinking (liblinear's method,
        the solver of LinearSVC) for kind="one_vs_rest" on a sparse X, the
        C binary problems solved together, one gather and one scatter per
        row and pass; it converges to LinearSVC's solution. A dense X is
        copied into CSR for it, once per fit.
    batch_size : int
        Rows per SGD step.
    learning_rate : float
        The initial SGD step, relative to the scale above.
    max_iter : int
        Epochs (SGD), iterations (L-BFGS) or passes over the rows (dual).
    tol : float or None
        SGD stops when the epoch loss has not fallen below best - tol for
        n_iter_no_change epochs (None: never); L-BFGS's gradient tolerance;
        the dual solver's bound on each class's spread of projected
        gradients (liblinear's measure: LinearSVC passes it tol = 1e-4,
        liblinear's own default is 0.1, which reaches about the same
        held-out accuracy in a third of the passes, docs/sparse.md).
    n_iter_no_change : int
    shuffle : bool
        Reshuffle the rows every epoch (or dual pass: in a fixed order the
        dual solver converges far more slowly).
    class_weight : None, "balanced" or dict {label: weight}
        Multiplies each sample's loss (as in scikit-learn).
    random_state : None, int or Generator
        The shuffle order.
    n_threads : None or int
        Passed to `maxmargin.svm_loss`.
    warm_start : bool
        Continue from the previous fit's weights (solver="dual": from its
        dual variables, when X has as many rows, W and b rebuilt from them).
    verbose : int
        Print each epoch's loss and training accuracy. A fit that takes
        longer than two seconds prints a progress line even when 0.

    Attributes
    ----------
    classes_ : (C,) the labels, sorted; coef_ : (C, D); intercept_ : (C,);
    n_features_in_ : D; n_iter_ : epochs or iterations run;
    loss_curve_ : list of the loss per epoch (SGD) or per iteration (L-BFGS);
    for solver="dual" the dual objective per pass (in the loss's units: it
    rises to the loss at the optimum).
    """

    def __init__(self, *, kind="weston_watkins", p=1, delta=1.0, reg=1e-4,
                 fit_intercept=True, solver="sgd", batch_size=64, learning_rate=3.0,
                 max_iter=30, tol=1e-4, n_iter_no_change=5, shuffle=True,
                 class_weight=None, random_state=None, n_threads=None, warm_start=False,
                 verbose=0):
        self.kind = kind
        self.p = p
        self.delta = delta
        self.reg = reg
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.class_weight = class_weight
        self.random_state = random_state
        self.n_threads = n_threads
        self.warm_start = warm_start
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # --- checks ---------------------------------------------------------

    def _check_params(self):
        name = type(self).__name__
        if self.kind not in KINDS:
            raise ValueError(f"{name}: kind must be one of {KINDS}; got {self.kind!r}")
        if self.p not in (1, 2) or isinstance(self.p, bool):
            raise ValueError(f"{name}: p must be 1 or 2; got {self.p!r}")
        if self.solver not in SOLVERS:
            raise ValueError(f"{name}: solver must be one of {SOLVERS}; got {self.solver!r}")
        if self.solver == "lbfgs" and self.p != 2:
            raise ValueError(f"{name}: solver='lbfgs' needs the smooth loss p=2; got p={self.p}")
        if self.solver == "dual" and self.kind != "one_vs_rest":
            raise ValueError(f"{name}: solver='dual' solves kind='one_vs_rest' (C binary "
                             f"problems); got kind={self.kind!r}")
        for attr in ("batch_size", "max_iter", "n_iter_no_change"):
            value = getattr(self, attr)
            if (not isinstance(value, numbers.Integral) or isinstance(value, bool)
                    or value < 1):
                raise ValueError(f"{name}: {attr} must be a positive integer; got {value!r}")
        for attr in ("learning_rate", "delta", "reg"):
            value = getattr(self, attr)
            if not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0 or (
                    attr == "learning_rate" and value == 0):
                raise ValueError(f"{name}: {attr} must be a "
                                 f"{'positive' if attr == 'learning_rate' else 'non-negative'} "
                                 f"finite number; got {value!r}")
        if self.tol is not None and (not isinstance(self.tol, numbers.Real) or self.tol < 0):
            raise ValueError(f"{name}: tol must be None or a non-negative number; "
                             f"got {self.tol!r}")

    def _validate(self, X, y="no_validation", reset=True):
        """X (and y, when given, even as None: then the usual error)."""
        return validate_data(self, X, y, dtype=[np.float64, np.float32], order="C",
                             accept_sparse="csr", reset=reset)

    def _sample_weights(self, y_index, n_samples, sample_weight, X):
        """Per-row weights: sample_weight times the class weight of the row,
        rescaled to average 1, so that the loss is the weighted mean
        sum w_i L_i / sum w_i: a weight of 2 is a repeated row, a weight of 0
        a removed one, and the step size does not depend on the weights' scale."""
        weights = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if self.class_weight is None:
            return self._normalised(weights)
        counts = np.bincount(y_index, minlength=len(self.classes_)).astype(np.float64)
        return self._normalised(weights * self._class_factors(counts, len(y_index))[y_index])

    def _class_factors(self, counts, n_samples):
        """Each class's weight (C,) from class_weight, given the classes'
        counts (C,) among n_samples rows: 1 for None; for "balanced"
        N / (C count) (1 for a class with no rows); a dict's by label."""
        n_classes = len(self.classes_)
        cw = self.class_weight
        if cw is None:
            return np.ones(n_classes)
        if isinstance(cw, str) and cw == "balanced":
            return np.where(counts > 0, n_samples / (n_classes * np.maximum(counts, 1)), 1.0)
        if isinstance(cw, dict):
            per_class = np.ones(n_classes)
            for label, weight in cw.items():
                where = np.flatnonzero(self.classes_ == label)
                if where.size == 0:
                    raise ValueError(f"{type(self).__name__}: class_weight names the label "
                                     f"{label!r}, which is not among the classes {self.classes_}")
                per_class[where[0]] = weight
            return per_class
        raise ValueError(f"{type(self).__name__}: class_weight must be None, 'balanced' or "
                         f"a dict; got {cw!r}")

    def _normalised(self, weights):
        total = float(np.sum(weights))
        if not total > 0:
            raise ValueError(f"{type(self).__name__}: the sample weights (times the class "
                             f"weights) must have a positive sum; got {total}")
        return weights * (len(weights) / total)

    def _labels_to_index(self, y):
        index = np.searchsorted(self.classes_, y)
        index = np.clip(index, 0, len(self.classes_) - 1)
        unseen = self.classes_[index] != y
        if np.any(unseen):
            raise ValueError(f"{type(self).__name__}: y has labels not in classes_ "
                             f"{self.classes_}: {np.unique(y[unseen])[:5]}")
        return index

    # --- state ----------------------------------------------------------

    def _start(self, classes, n_features, dtype):
        """classes_, and the state a fit starts from: the previous fit's with
        warm_start when its classes, D and dtype are these, else fresh."""
        keep = (self.warm_start and hasattr(self, "_W") and
                np.array_equal(getattr(self, "classes_", None), classes) and
                self._W.shape[0] == n_features and self._W.dtype == dtype)
        self.classes_ = classes
        if not keep:
            self._init_state(n_features, dtype)
        else:
            self._epochs_done = 0
            self._rng = np.random.default_rng(self.random_state)
            self.loss_curve_ = []

    def _init_state(self, n_features, dtype):
        n_classes = len(self.classes_)
        self._W = np.zeros((n_features, n_classes), dtype=dtype)
        self._b = np.zeros(n_classes, dtype=dtype)
        self._velocity_W = np.zeros_like(self._W)
        self._velocity_b = np.zeros_like(self._b)
        self._alpha = None
        self._rng = np.random.default_rng(self.random_state)
        self._epochs_done = 0
        self.loss_curve_ = []

    def _publish(self):
        self.coef_ = np.ascontiguousarray(self._W.T)
        self.intercept_ = self._b.copy() if self.fit_intercept else np.zeros_like(self._b)

    def _loss_and_grads(self, X, y_index, weights, W, b):
        """(loss, dW) or (loss, dW, db) of the weighted mean loss over the
        rows plus reg |W|^2 (`weights` average 1)."""
        if self.kind == "one_vs_rest":
            return one_vs_rest_loss(X, y_index, weights, W, b if self.fit_intercept else None,
                                    delta=self.delta, p=self.p, reg=self.reg,
                                    n_threads=self.n_threads)
        return svm_loss(W, X, y_index, b=b if self.fit_intercept else None, reg=self.reg,
                        delta=self.delta, p=self.p, kind=self.kind, sample_weight=weights,
                        n_threads=self.n_threads)

    # --- training -------------------------------------------------------

    def _sgd_epoch(self, X, y_index, weights, rng, scale):
        if is_sparse(X):
            return self._sgd_epoch_sparse(X, y_index, weights, rng, scale)
        n = X.shape[0]
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        step = self.learning_rate / (1.0 + self._epochs_done)
        if self.p == 2:
            step *= SQUARED_HINGE_STEP
        step_W, step_b = step * scale, step * BIAS_SCALE
        total = 0.0
        W, b = self._W, self._b
        for start in range(0, n, self.batch_size):
            rows = order[start:start + self.batch_size]
            grads = self._loss_and_grads(X[rows], y_index[rows], weights[rows], W, b)
            total += grads[0] * len(rows)
            # Heavy-ball momentum: v = m v - step g; w += v.
            self._velocity_W *= MOMENTUM
            self._velocity_W -= step_W * grads[1]
            W += self._velocity_W
            if self.fit_intercept:
                self._velocity_b *= MOMENTUM
                self._velocity_b -= step_b * grads[2]
                b += self._velocity_b
        self._epochs_done += 1
        return total / n

    def _sgd_epoch_sparse(self, X, y_index, weights, rng, scale):
        """One epoch of minibatch SGD on a sparse X that touches, at each
        step, only the rows of W its batch's features name: W = w_scale * V
        (Bottou's scheme, as scikit-learn's SGDClassifier), the L2 term's
        shrink a scalar factor of w_scale, the hinge's gradient a scatter
        into V's rows, the whole epoch in compiled code (maxmargin._sparse).
        No momentum, whose velocity would be a dense D x C array at every
        step; the step is the heavy ball's effective one (SPARSE_STEP). The
        epoch's loss adds reg |W|^2 at its end."""
        n = X.shape[0]
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        step = self.learning_rate / (1.0 + self._epochs_done) * SPARSE_STEP
        if self.p == 2:
            step *= SQUARED_HINGE_STEP
        step_W, step_b = step * scale, step * BIAS_SCALE
        shrink = 1.0 - 2.0 * self.reg * step_W
        if not shrink > 0:
            raise ValueError(f"{type(self).__name__}: reg * learning_rate is too large for "
                             f"SGD on sparse X (the L2 step 2 reg step = {1 - shrink:g} "
                             "must stay below 1)")
        parts = csr_parts(X, "LinearSVMClassifier.fit")
        kernel = _SGD_EPOCH[(self._W.dtype, parts.indices.dtype)]
        total = kernel(self._W, self._b, parts.data, parts.indices, parts.indptr,
                       np.ascontiguousarray(y_index, dtype=np.intp),
                       np.ascontiguousarray(weights, dtype=np.float64),
                       order.astype(np.intp), self.batch_size, _KIND_CODE[self.kind], self.p,
                       float(self.delta), step_W, step_b, shrink, bool(self.fit_intercept),
                       MIN_SCALE)
        self._epochs_done += 1
        return total / n + self.reg * float(np.sum(np.square(self._W, dtype=np.float64)))

    def _feature_scale(self, X):
        return _step_scale(X)

    def _fit_sgd(self, X, y_index, weights, epochs, rng):
        scale = self._feature_scale(X)
        best, stale = np.inf, 0
        started = time.perf_counter()
        self._progress_shown = False
        for epoch in range(epochs):
            loss = self._sgd_epoch(X, y_index, weights, rng, scale)
            self.loss_curve_.append(loss)
            self.n_iter_ = epoch + 1
            self._report(epoch, epochs, loss, X, y_index, started)
            if not np.isfinite(loss):
                break
            if self.tol is not None:
                if loss > best - self.tol:
                    stale += 1
                    if stale >= self.n_iter_no_change:
                        break
                else:
                    stale = 0
                best = min(best, loss)
        if self._progress_shown:
            print(file=sys.stderr)  # end the progress line

    def _fit_lbfgs(self, X, y_index, weights):
        n_features, n_classes = self._W.shape
        dtype = X.dtype
        size_W = n_features * n_classes

        def objective(theta):
            W = theta[:size_W].reshape(n_features, n_classes).astype(dtype)
            b = theta[size_W:].astype(dtype)
            result = self._loss_and_grads(X, y_index, weights, W, b)
            grad = np.concatenate([result[1].ravel(),
                                   result[2] if self.fit_intercept else np.zeros(n_classes)])
            self.loss_curve_.append(float(result[0]))
            return float(result[0]), grad.astype(np.float64)

        theta0 = np.concatenate([self._W.ravel(), self._b]).astype(np.float64)
        if not np.any(theta0):
            # At W = 0 every score ties, where Crammer-Singer's max is not
            # differentiable even for p = 2 and L-BFGS's first line search
            # failed (0 iterations, chance accuracy). Tiny random
            # weights break the ties.
            theta0[:self._W.size] = 1e-6 * self._rng.standard_normal(self._W.size)
        result = optimize.minimize(objective, theta0, jac=True, method="L-BFGS-B",
                                   options={"maxiter": self.max_iter,
                                            "gtol": 0.0 if self.tol is None else self.tol})
        self._W[...] = result.x[:size_W].reshape(n_features, n_classes)
        self._b[...] = result.x[size_W:]
        self.n_iter_ = int(result.nit)

    def _fit_dual(self, X, y_index, weights):
        """Dual coordinate descent for one-vs-rest on a sparse X, one
        compiled pass over the rows per iteration (maxmargin._sparse:
        csr_dual_epoch_kernel, which states the problem). Each class stops
        as liblinear's does: when the spread of its projected gradients
        falls to tol with none of its pairs shrunk (else all of them come
        back for another pass). alpha (N, C) is kept for warm_start, which
        rebuilds W and b from it on the new X."""
        if not is_sparse(X):
            X = sparse_module.csr_matrix(X)  # the passes read rows by their stored entries
        parts = csr_parts(X, "LinearSVMClassifier.fit")
        n_samples, n_classes = X.shape[0], self._W.shape[1]
        with np.errstate(divide="ignore"):
            upper = weights / (2.0 * self.reg * n_samples)
        squares = np.asarray(X.multiply(X).sum(axis=1), dtype=np.float64).ravel()
        diagonal = squares + (1.0 if self.fit_intercept else 0.0)
        signs = -np.ones((n_samples, n_classes))
        signs[np.arange(n_samples), y_index] = 1.0
        alpha = getattr(self, "_alpha", None)
        if self.warm_start and alpha is not None and alpha.shape == (n_samples, n_classes):
            alpha = np.where(upper[:, None] > 0, alpha, 0.0)
            if self.p == 1:
                alpha = np.minimum(alpha, upper[:, None])
            coefs = (alpha * signs).astype(self._W.dtype)
            self._W[...] = X.T @ coefs
            self._b[...] = coefs.sum(axis=0) if self.fit_intercept else 0
        else:
            alpha = np.zeros((n_samples, n_classes))
            self._W[...] = 0
            self._b[...] = 0
        self._alpha = alpha
        active = np.ones((n_samples, n_classes), dtype=np.uint8)
        shrink_at = np.empty((2, n_classes))
        shrink_at[0], shrink_at[1] = np.inf, -np.inf
        bounds = np.empty((2, n_classes))
        done = np.zeros(n_classes, dtype=bool)
        kernel = _DUAL_PASS[(self._W.dtype, parts.indices.dtype)]
        y_index = np.ascontiguousarray(y_index, dtype=np.intp)
        started = time.perf_counter()
        self._progress_shown = False
        self.n_iter_ = 0
        tol = 0.0 if self.tol is None else self.tol
        for iteration in range(self.max_iter):
            order = (self._rng.permutation(n_samples) if self.shuffle
                     else np.arange(n_samples)).astype(np.intp)
            bounds[...] = shrink_at
            kernel(self._W, self._b, parts.data, parts.indices, parts.indptr, y_index, upper,
                   diagonal, alpha, active, order, self.p, float(self.delta),
                   bool(self.fit_intercept), bounds)
            self.n_iter_ = iteration + 1
            for c in np.flatnonzero(~done):
                largest, smallest = bounds[0, c], bounds[1, c]
                if not largest >= smallest or largest - smallest <= tol:
                    if active[:, c].all():
                        done[c] = True
                        active[:, c] = 0
                    else:
                        active[:, c] = 1
                        shrink_at[0, c], shrink_at[1, c] = np.inf, -np.inf
                else:
                    shrink_at[0, c] = largest if largest > 0 else np.inf
                    shrink_at[1, c] = smallest if smallest < 0 else -np.inf
            loss = self._dual_objective(alpha, upper)
            self.loss_curve_.append(loss)
            self._report(iteration, self.max_iter, loss, X, y_index, started)
            if done.all():
                break
        if self._progress_shown:
            print(file=sys.stderr)

    def _dual_objective(self, alpha, upper):
        """The dual's value at alpha, in the loss's units (the weighted mean
        hinge plus reg (|W|^2 + |b|^2)): a lower bound of the loss at W, b
        that meets it at the optimum."""
        W, b = self._W.ravel(), self._b
        square = float(np.vdot(W, W)) + float(np.vdot(b, b))
        value = self.delta * float(alpha.sum()) - 0.5 * square
        if self.p == 2:
            rows = upper > 0
            per_row = np.einsum("ij,ij->i", alpha, alpha)
            value -= float(np.dot(per_row[rows], 0.25 / upper[rows]))
        return 2.0 * self.reg * value

    def _report(self, epoch, epochs, loss, X, y_index, started):
        elapsed = time.perf_counter() - started
        if self.verbose:
            accuracy = np.mean(np.argmax(X @ self._W + self._b, axis=1) == y_index)
            print(f"epoch {epoch + 1}/{epochs}: loss {loss:.6g}, training accuracy "
                  f"{accuracy:.4f}, {elapsed:.2f} s", file=sys.stderr)
        elif elapsed > PROGRESS_AFTER_SECONDS:
            print(f"\r{type(self).__name__}: epoch {epoch + 1}/{epochs}, loss {loss:.6g}, "
                  f"{elapsed:.1f} s", end="", file=sys.stderr, flush=True)
            self._progress_shown = True

    def fit(self, X, y, sample_weight=None):
        """Train on X (N, D) and labels y (N,); returns self."""
        self._check_params()
        X, y = self._validate(X, y, reset=True)
        check_classification_targets(y)
        self._start(np.unique(y), X.shape[1], X.dtype)
        y_index = self._labels_to_index(y)
        weights = self._sample_weights(y_index, X.shape[0], sample_weight, X)
        self._solve(X, y_index, weights)
        return self

    def _solve(self, X, y_index, weights):
        """Run the chosen solver from the current state, then publish coef_."""
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, y_index, weights)
        elif self.solver == "dual":
            self._fit_dual(X, y_index, weights)
        else:
            self._fit_sgd(X, y_index, weights, self.max_iter, self._rng)
        self._publish()

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One SGD epoch over (X, y). The first call needs `classes` (all the
        labels there will ever be); later calls continue where it stopped."""
        self._check_params()
        first = not hasattr(self, "_W")
        X, y = self._validate(X, y, reset=first)
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError(f"{type(self).__name__}: classes must be passed on the first "
                                 "call to partial_fit")
            self.classes_ = np.unique(np.asarray(classes))
            self._init_state(X.shape[1], X.dtype)
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"{type(self).__name__}: classes {np.unique(classes)} differ from "
                             f"those of the first call {self.classes_}")
        y_index = self._labels_to_index(y)
        weights = self._sample_weights(y_index, X.shape[0], sample_weight, X)
        X = X.astype(self._W.dtype, copy=False)
        scale = _step_scale(X)
        loss = self._sgd_epoch(X, y_index, weights, self._rng, scale)
        self.loss_curve_.append(loss)
        self.n_iter_ = self._epochs_done
        self._publish()
        return self

    # --- prediction -----------------------------------------------------

    def decision_function(self, X):
        """Scores X W + b, (N, C) (or (N,) with two classes: class 1 minus class 0)."""
        check_is_fitted(self, "coef_")
        X = self._validate(X, reset=False)
        scores = X @ self.coef_.T.astype(X.dtype, copy=False) + self.intercept_.astype(X.dtype)
        if len(self.classes_) == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def predict(self, X):
        """The label of the highest score for each row of X."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]
