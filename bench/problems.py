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
