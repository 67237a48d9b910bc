"""Fit time and held-out accuracy: maxmargin's LinearSVMClassifier against
scikit-learn's linear SVMs, on dense and on sparse problems.

    python bench/classifiers.py                  # every problem (long, see below)
    python bench/classifiers.py --quick          # digits and the text problem
    python bench/classifiers.py --problem text   # the problems whose name has "text"
    python bench/classifiers.py --only maxmargin # the estimators whose name has it

The problems (bench/problems.py builds them, fixed seeds):
- dense: digits (1797 x 64) and make_classification (100000 x 500, 10 classes);
- sparse text: the docstring corpus of the installed SciPy, scikit-learn and
  NumPy (paragraphs labelled by subpackage, 40 classes), TfidfVectorizer
  (sublinear tf, words and word pairs, min_df 2);
- sparse synthetic: 100000 x 2^18, ~58 Zipf-like features a row, 20
  classes planted by a random linear model on the 4096 most frequent
  features plus Gumbel noise.
On the sparse problems maxmargin's dual solver is given LinearSVC's problem
(reg = 1 / (2 C N) with C = 1) and both liblinear's tolerances. On the
large problems scikit-learn's crammer_singer takes many minutes (it is left
out of the sparse synthetic one).

Each estimator is fitted `--repeats` times (best time reported; once when a
fit takes more than 20 s) on the same 75/25 split, one after another in
this process (all are single-process code but maxmargin's kernels, which
use the cores they are given; run it alone). Prints a markdown table.
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
from problems import docstring_corpus, planted_sparse_classification

# A fit longer than this is not repeated.
REPEAT_BELOW_SECONDS = 20.0

DENSE_ESTIMATORS = [
    ("maxmargin LinearSVMClassifier()", lambda n: LinearSVMClassifier(random_state=0)),
    ("maxmargin LinearSVMClassifier(kind='crammer_singer')",
     lambda n: LinearSVMClassifier(kind="crammer_singer", random_state=0)),
    ("maxmargin LinearSVMClassifier(kind='one_vs_rest', p=2)",
     lambda n: LinearSVMClassifier(kind="one_vs_rest", p=2, random_state=0)),
    ("LinearSVC(multi_class='crammer_singer')",
     lambda n: LinearSVC(multi_class="crammer_singer", random_state=0)),
    ("LinearSVC()", lambda n: LinearSVC(random_state=0)),
    ("SGDClassifier(loss='hinge')", lambda n: SGDClassifier(loss="hinge", random_state=0)),
]


def dual(tol):
    """LinearSVC()'s problem (C = 1, squared hinge, one-vs-rest) for the dual solver."""
    return lambda n: LinearSVMClassifier(kind="one_vs_rest", p=2, solver="dual",
                                         reg=1.0 / (2.0 * n), tol=tol, max_iter=1000,
                                         random_state=0)


SPARSE_ESTIMATORS = [
    ("maxmargin LinearSVMClassifier(kind='one_vs_rest', p=2, solver='dual', "
     "reg=1/(2N), tol=0.1)", dual(0.1)),
    ("maxmargin LinearSVMClassifier(kind='one_vs_rest', p=2, solver='dual', "
     "reg=1/(2N), tol=1e-4)", dual(1e-4)),
    ("maxmargin LinearSVMClassifier() (SGD)", lambda n: LinearSVMClassifier(random_state=0)),
    ("maxmargin LinearSVMClassifier(kind='crammer_singer') (SGD)",
     lambda n: LinearSVMClassifier(kind="crammer_singer", random_state=0)),
    ("LinearSVC()", lambda n: LinearSVC(random_state=0)),
    ("LinearSVC(tol=0.1)", lambda n: LinearSVC(tol=0.1, random_state=0)),
    ("LinearSVC(multi_class='crammer_singer')",
     lambda n: LinearSVC(multi_class="crammer_singer", random_state=0)),
    ("SGDClassifier(loss='hinge')", lambda n: SGDClassifier(loss="hinge", random_state=0)),
]


def text_problem():
    from sklearn.feature_extraction.text import TfidfVectorizer
    docs, labels = docstring_corpus()
    train_docs, test_docs, y_train, y_test = train_test_split(
        docs, labels, test_size=0.25, random_state=0, stratify=labels)
    vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2, ngram_range=(1, 2))
    X_train = vectorizer.fit_transform(train_docs)
    X_test = vectorizer.transform(test_docs)
    name = (f"text: docstring corpus, TF-IDF ({len(docs)} paragraphs, {X_train.shape[1]} "
            f"features, {X_train.nnz / X_train.shape[0]:.0f} stored a row, "
            f"{len(set(labels))} classes), float64")
    return name, X_train, X_test, y_train, y_test


def split(X, y):
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def problems():
    """(name, estimators, build) for each problem; build() -> name, splits."""
    def digits():
        X, y = load_digits(return_X_y=True)
        return ("dense: digits (1797 x 64, 10 classes)", *split(X, y))

    def dense_synthetic():
        X, y = make_classification(n_samples=100_000, n_features=500, n_informative=50,
                                   n_redundant=50, n_classes=10, n_clusters_per_class=2,
                                   class_sep=1.0, random_state=0)
        return ("dense: make_classification (100000 x 500, 10 classes, float32)",
                *split(X.astype(np.float32), y))

    def sparse_synthetic():
        X, y = planted_sparse_classification((100_000, 2**18, 58, 20), np.float32)
        return ("sparse synthetic: planted (100000 x 2^18, ~58 stored a row, 20 classes), "
                "float32", *split(X, y))

    without_crammer_singer = [(label, make) for label, make in SPARSE_ESTIMATORS
                              if not label.startswith("LinearSVC(multi_class")]
    return [("digits", DENSE_ESTIMATORS, digits, True),
            ("text", SPARSE_ESTIMATORS, text_problem, True),
            ("dense-synthetic", DENSE_ESTIMATORS, dense_synthetic, False),
            ("sparse-synthetic", without_crammer_singer, sparse_synthetic, False)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="digits and text only")
    parser.add_argument("--problem", default="", metavar="TEXT",
                        help="run only the problems whose name contains TEXT")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", metavar="TEXT",
                        help="run only the estimators whose name contains TEXT")
    args = parser.parse_args()
    print(f"maxmargin {maxmargin.__version__}, {platform.machine()}, Python "
          f"{platform.python_version()}")
    for key, estimators, build, quick in problems():
        if (args.quick and not quick) or args.problem not in key:
            continue
        name, X_train, X_test, y_train, y_test = build()
        print(f"\n### {name}, 75/25 split\n")
        print("| estimator | held-out accuracy | fit time (best of "
              f"{args.repeats}) | epochs or iterations |")
        print("|---|---|---|---|")
        for label, make in estimators:
            if args.only not in label:
                continue
            best = np.inf
            for _ in range(args.repeats):
                model = make(X_train.shape[0])
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    start = time.perf_counter()
                    model.fit(X_train, y_train)
                    elapsed = time.perf_counter() - start
                best = min(best, elapsed)
                if elapsed > REPEAT_BELOW_SECONDS:
                    break
            n_iter = np.max(model.n_iter_)
            print(f"| {label} | {model.score(X_test, y_test):.4f} | {best:.3f} s | {n_iter} |",
                  flush=True)


if __name__ == "__main__":
    main()
