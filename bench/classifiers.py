"""Fit time and held-out accuracy: maxmargin's LinearSVMClassifier against
scikit-learn's linear SVMs, on digits and on a synthetic problem.

    python bench/classifiers.py            # both problems (see below: long)
    python bench/classifiers.py --quick    # digits only
    python bench/classifiers.py --only maxmargin   # the estimators whose name has it

On the synthetic problem scikit-learn's solvers take many minutes (their
crammer_singer form did not finish in 40 here).

Each estimator is fitted `--repeats` times (best time reported) on the
same split, one after another in this process (all are single-process
NumPy/SciPy/liblinear code; run it alone). Prints a markdown table.
"""

import argparse
import platform
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.svm import LinearSVC

import maxmargin
from maxmargin.sklearn import LinearSVMClassifier

ESTIMATORS = [
    ("maxmargin LinearSVMClassifier()", lambda: LinearSVMClassifier(random_state=0)),
    ("maxmargin LinearSVMClassifier(kind='crammer_singer')",
     lambda: LinearSVMClassifier(kind="crammer_singer", random_state=0)),
    ("maxmargin LinearSVMClassifier(kind='one_vs_rest', p=2)",
     lambda: LinearSVMClassifier(kind="one_vs_rest", p=2, random_state=0)),
    ("LinearSVC(multi_class='crammer_singer')",
     lambda: LinearSVC(multi_class="crammer_singer", random_state=0)),
    ("LinearSVC()", lambda: LinearSVC(random_state=0)),
    ("SGDClassifier(loss='hinge')", lambda: SGDClassifier(loss="hinge", random_state=0)),
]


def problems(quick):
    X, y = load_digits(return_X_y=True)
    yield "digits (1797 x 64, 10 classes)", X, y
    if not quick:
        X, y = make_classification(n_samples=100_000, n_features=500, n_informative=50,
                                   n_redundant=50, n_classes=10, n_clusters_per_class=2,
                                   class_sep=1.0, random_state=0)
        yield "make_classification (100000 x 500, 10 classes, float32)", X.astype(np.float32), y


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", metavar="TEXT",
                        help="run only the estimators whose name contains TEXT")
    args = parser.parse_args()
    print(f"maxmargin {maxmargin.__version__}, {platform.machine()}, Python "
          f"{platform.python_version()}")
    for name, X, y in problems(args.quick):
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, random_state=0, stratify=y)
        print(f"\n### {name}, 75/25 split\n")
        print("| estimator | held-out accuracy | fit time (best of "
              f"{args.repeats}) | epochs or iterations |")
        print("|---|---|---|---|")
        for label, make in ESTIMATORS:
            if args.only not in label:
                continue
            best = np.inf
            for _ in range(args.repeats):
                model = make()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    start = time.perf_counter()
                    model.fit(X_train, y_train)
                    best = min(best, time.perf_counter() - start)
            n_iter = np.max(model.n_iter_)
            print(f"| {label} | {model.score(X_test, y_test):.4f} | {best:.3f} s | {n_iter} |",
                  flush=True)


if __name__ == "__main__":
    main()
