"""python -m maxmargin demo: a linear SVM trained on handwritten digits.

scikit-learn's bundled digits (1797 images of 8 x 8 pixels, 10 classes; no
download), split 75/25. Trains `maxmargin.sklearn.LinearSVMClassifier` and,
on the same split, scikit-learn's `LinearSVC(multi_class="crammer_singer")`,
`LinearSVC()` and `SGDClassifier(loss="hinge")`; prints held-out accuracy
and fit time of each, a gradient check of the loss on this data at the
trained weights, and the loss kernel's speed against the NumPy reference.
``--plot FILE.png`` saves the training loss curve and the ten learned class
templates as 8 x 8 images. Exits non-zero if the accuracy is below 0.93 or
the gradient check fails.
"""

import argparse
import sys
import time
import warnings

import numpy as np


def _fit_time(make, X, y, repeats=3):
    """The fitted estimator and its best fit time over `repeats` fits."""
    best, model = np.inf, None
    for _ in range(repeats):
        model = make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # LinearSVC's convergence warnings
            start = time.perf_counter()
            model.fit(X, y)
            best = min(best, time.perf_counter() - start)
    return model, best


def _plot(path, clf):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(11, 3.4))
    grid = fig.add_gridspec(2, 7)
    ax = fig.add_subplot(grid[:, :2])
    ax.plot(np.arange(1, len(clf.loss_curve_) + 1), clf.loss_curve_, marker=".")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (hinge + reg)")
    ax.set_title("training")
    for c in range(10):
        ax = fig.add_subplot(grid[c // 5, 2 + c % 5])
        limit = float(np.max(np.abs(clf.coef_[c]))) or 1.0  # white = weight 0
        ax.imshow(clf.coef_[c].reshape(8, 8), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(f"class {clf.classes_[c]}", fontsize=9)
        ax.axis("off")
    fig.suptitle("maxmargin LinearSVMClassifier on digits: loss curve and learned templates")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m maxmargin demo",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--plot", metavar="FILE.png", help="save the loss curve and templates")
    args = parser.parse_args(argv)
    try:
        from sklearn.datasets import load_digits
        from sklearn.linear_model import SGDClassifier
        from sklearn.model_selection import train_test_split
        from sklearn.svm import LinearSVC
    except ImportError:
        print('the demo needs scikit-learn: pip install "maxmargin[demo]"', file=sys.stderr)
        return 2
    import maxmargin
    from maxmargin import reference
    from maxmargin.__main__ import median_time
    from maxmargin.gradcheck import check_gradient
    from maxmargin.sklearn import LinearSVMClassifier

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0,
                                                        stratify=y)
    print(f"maxmargin {maxmargin.__version__}: linear SVMs on scikit-learn's digits "
          f"({len(y_train)} training and {len(y_test)} held-out images of 8x8 pixels, "
          "10 classes)")
    print()
    contenders = [
        ("maxmargin LinearSVMClassifier()", lambda: LinearSVMClassifier(random_state=0)),
        ('LinearSVC(multi_class="crammer_singer")',
         lambda: LinearSVC(multi_class="crammer_singer", random_state=0)),
        ("LinearSVC()", lambda: LinearSVC(random_state=0)),
        ('SGDClassifier(loss="hinge")', lambda: SGDClassifier(loss="hinge", random_state=0)),
    ]
    width = max(len(name) for name, _ in contenders)
    print(f"{'estimator':<{width}}  {'accuracy':>8}  {'fit time':>9}")
    print("-" * (width + 21))
    ours = None
    for name, make in contenders:
        model, seconds = _fit_time(make, X_train, y_train)
        accuracy = model.score(X_test, y_test)
        if ours is None:
            ours, our_accuracy = model, accuracy
        print(f"{name:<{width}}  {accuracy:>8.4f}  {seconds * 1e3:>7.1f}ms")
    print()

    # The gradient of the training loss at the trained weights, checked by
    # centred differences on 60 random coordinates (kinks allowed for).
    W = np.ascontiguousarray(ours.coef_.T)
    b = ours.intercept_
    y_index = np.searchsorted(ours.classes_, y_train)
    loss, dW, db = maxmargin.svm_loss(W, X_train, y_index, b=b, reg=ours.reg)
    check = check_gradient(lambda w: maxmargin.svm_loss(w, X_train, y_index, b=b,
                                                        reg=ours.reg)[0],
                           W, dW, n_checks=60, rng=0)
    print(f"training loss {loss:.6f}; gradient check of dW: {check!r}")

    t_mm = median_time(lambda: maxmargin.svm_loss(W, X_train, y_index, b=b, reg=ours.reg),
                       min_seconds=0.3)
    t_ref = median_time(lambda: reference.svm_loss(W, X_train, y_index, b=b, reg=ours.reg),
                        min_seconds=0.3)
    print(f"loss and gradient on the {len(y_train)} training images: maxmargin "
          f"{t_mm * 1e6:.0f} us, NumPy reference {t_ref * 1e6:.0f} us ({t_ref / t_mm:.1f}x)")

    if args.plot:
        try:
            _plot(args.plot, ours)
            print(f"figure saved to {args.plot}")
        except ImportError:
            print('--plot needs matplotlib: pip install "maxmargin[demo]"', file=sys.stderr)
            return 2
    ok = our_accuracy > 0.93 and check.passed
    print()
    print("demo: " + ("OK" if ok else "FAILED (accuracy <= 0.93 or gradient check failed)"))
    return 0 if ok else 1
