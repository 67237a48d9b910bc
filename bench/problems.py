"""The problems every benchmark times, in one place: the shapes of each
kernel and the arrays of each shape (fixed seeds). bench/compare.py (its
worker processes) and the pytest-benchmark files (bench_*.py) both build
their calls from these, so the two suites time the same problems.

Imported by name: bench/ is on sys.path for both (compare.py is run as a
script from it; pytest puts a conftest's folder there).
"""

import numpy as np

SVM_SHAPES = [(1, 8, 2), (1, 3073, 10), (64, 100, 10), (256, 3073, 10), (500, 3073, 10),
              (4096, 3073, 10), (4096, 3073, 32), (4096, 512, 32), (4096, 3073, 100),
              (4096, 512, 100), (256, 512, 1000), (4096, 512, 1000)]
LINEAR_SHAPES = [(64, 512, 512), (256, 3072, 100), (4096, 1024, 1024)]
RANKING_SHAPES = [(10_000, 5), (1_000_000, 5)]
# Sparse X: (N, D, stored entries a row, C).
SPARSE_SHAPES = [(100_000, 2**18, 58, 20), (20_000, 50_000, 200, 2), (20_000, 50_000, 200, 10)]
BOTH = ["float32", "float64"]
# kernel -> (shapes, dtypes): what compare.py runs by default. sgd_train's
# shape is (N, D, C) of the training set; every call is the whole loop
# (SGD_STEPS minibatches of SGD_BATCH rows).
KERNELS = {
    "svm_loss": (SVM_SHAPES, BOTH),
    "linear_backward": (LINEAR_SHAPES, BOTH),
    "matmul_backward": (LINEAR_SHAPES, BOTH),
    "ranking_hinge": (RANKING_SHAPES, BOTH),
    "sgd_train": ([(49000, 3073, 10)], ["float32"]),
    "sparse_svm_loss": (SPARSE_SHAPES, BOTH),
}
SGD_STEPS, SGD_BATCH, SGD_LEARNING_RATE, SGD_REG = 200, 256, 1e-7, 2.5e4


def svm_problem(shape, dtype):
    """The svm_loss problem every benchmark times (bench_svm_loss.py too):
    W small as CS231n initialises it, X standard normal, fixed seed."""
    n, d, c = shape
    rng = np.random.default_rng(0)
    W = (rng.standard_normal((d, c)) * 1e-3).astype(dtype)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = rng.integers(0, c, n)
    return W, X, y


def linear_problem(shape, dtype):
    """The layer every backward benchmark times (bench_linear.py too):
    X (N, D_in) standard normal, W scaled by 1/sqrt(D_in), b = 0, dY
    standard normal, fixed seed. Returns X, W, b, dY."""
    n, d_in, d_out = shape
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d_in)).astype(dtype)
    W = (rng.standard_normal((d_in, d_out)) / np.sqrt(d_in)).astype(dtype)
    b = np.zeros(d_out, dtype)
    dY = rng.standard_normal((n, d_out)).astype(dtype)
    return X, W, b, dY


def ranking_problem(shape, dtype):
    """The ranking problem every benchmark times (bench_ranking.py too):
    s (N,) and s_c (N, K) standard normal, fixed seed."""
    n, k = shape
    rng = np.random.default_rng(0)
    s = rng.standard_normal(n).astype(dtype)
    s_c = rng.standard_normal((n, k)).astype(dtype)
    return s, s_c


def sparse_problem(shape, dtype):
    """The sparse svm_loss problem (bench_sparse.py too): X (N, D) in CSR
    with about `per_row` distinct features a row, drawn Zipf-like (p(rank
    r) proportional to 1 / r) and placed by a fixed random permutation of
    the columns, as a hashing vectorizer places words; values positive and
    each row L2-normalised, as TF-IDF's. W small, labels uniform, fixed
    seed. Returns W, X, y."""
    import scipy.sparse as sp
    n, d, per_row, c = shape
    rng = np.random.default_rng(0)
    cumulative = np.cumsum(1.0 / np.arange(1, d + 1))
    # Draws that land on a feature the row already has count once: draw
    # as many a row as give `per_row` distinct ones on average.
    p = np.diff(cumulative, prepend=0.0) / cumulative[-1]
    low, high = float(per_row), 4.0 * per_row
    for _ in range(40):
        draws = (low + high) / 2
        if np.sum(1 - (1 - p) ** draws) < per_row:
            low = draws
        else:
            high = draws
    lengths = rng.poisson(draws, n)
    rows = np.repeat(np.arange(n), lengths)
    ranks = np.searchsorted(cumulative, rng.uniform(0, cumulative[-1], rows.size))
    columns = rng.permutation(d)[np.minimum(ranks, d - 1)]
    values = rng.lognormal(0.0, 0.5, rows.size)
    X = sp.csr_matrix((values, (rows, columns)), shape=(n, d))
    X.sum_duplicates()
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ X).astype(dtype)
    W = (rng.standard_normal((d, c)) * 1e-2).astype(dtype)
    y = rng.integers(0, c, n)
    return W, X, y


# --- classification problems of bench/classifiers.py -----------------------

# Subpackages whose docstrings are not about one subject (or are tests).
_NOT_A_TOPIC = {"tests", "conftest", "testing", "externals", "experimental", "utils",
                "datasets", "version", "f2py", "distutils", "typing", "doc", "compat",
                "ctypeslib", "matlib", "rec", "char", "strings", "exceptions", "dtypes", "lib"}


def docstring_corpus(packages=("scipy", "sklearn", "numpy"), min_chars=80, min_docs=100):
    """A text classification problem that needs no download: the paragraphs
    (at least min_chars long) of the docstrings of the public callables of
    each subpackage of the installed `packages`, labelled by subpackage
    ("scipy.signal", "sklearn.cluster", ...), the subpackages with at least
    min_docs paragraphs kept. Deterministic for given package versions
    (22,265 paragraphs in 40 classes with SciPy 1.17, scikit-learn 1.9,
    NumPy 2.4). Returns (docs, labels)."""
    import collections
    import importlib
    import inspect
    import pkgutil
    import warnings
    docs, labels = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for top in packages:
            package = importlib.import_module(top)
            names = sorted(info.name for info in pkgutil.iter_modules(package.__path__))
            for name in names:
                if name.startswith("_") or name in _NOT_A_TOPIC:
                    continue
                try:
                    module = importlib.import_module(f"{top}.{name}")
                except Exception:  # an optional dependency missing: not a topic here
                    continue
                seen = set()
                for attr in sorted(dir(module)):
                    obj = None if attr.startswith("_") else getattr(module, attr, None)
                    if obj is None or not callable(obj) or id(obj) in seen:
                        continue
                    seen.add(id(obj))
                    for paragraph in (inspect.getdoc(obj) or "").split("\n\n"):
                        if len(paragraph) >= min_chars:
                            docs.append(paragraph)
                            labels.append(f"{top}.{name}")
    counts = collections.Counter(labels)
    keep = [i for i, label in enumerate(labels) if counts[label] >= min_docs]
    return [docs[i] for i in keep], [labels[i] for i in keep]


def planted_sparse_classification(shape, dtype, informative=2**12, noise=0.1):
    """A large sparse problem with a linear answer: X as sparse_problem's
    (Zipf-like features, rows L2-normalised), y = argmax(X W* + noise g)
    with g Gumbel, scaled to the scores' spread, and W* standard normal on
    the `informative` most frequent features (zero on the rare ones, which
    a training set sees too seldom to learn). Returns (X, y)."""
    _, X, _ = sparse_problem(shape, dtype)
    rng = np.random.default_rng(1)
    planted = np.zeros((X.shape[1], shape[3]))
    frequent = np.argsort(-np.bincount(X.indices, minlength=X.shape[1]), kind="stable")
    planted[frequent[:informative]] = rng.standard_normal((informative, shape[3]))
    scores = X @ planted
    scores += noise * scores.std() * rng.gumbel(size=scores.shape)
    return X, np.argmax(scores, axis=1)
