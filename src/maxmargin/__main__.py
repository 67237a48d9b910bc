"""python -m maxmargin: the fused SVM loss on a CIFAR-10-sized problem.

(``python -m maxmargin demo`` trains a classifier on handwritten digits
instead: see maxmargin._demo.)

Builds a problem of CIFAR-10's training-batch shape (N = 500 images of
D = 3073 values: 32 x 32 x 3 pixels and a constant 1 for the bias trick;
C = 10 classes) with visible structure (each class a smooth template plus
noise), computes the loss and gradient with `maxmargin.svm_loss` and with the
NumPy reference, prints their agreement and both timings, and exits non-zero
if they disagree.
"""

import argparse
import sys
import time

import numpy as np

import maxmargin
from maxmargin import reference


def cifar_like_problem(n_samples, dtype, seed=0):
    """X (N, 3073) of 10 smooth class templates plus noise, labels y, and a
    small random W (3073, 10) as CS231n initialises it."""
    rng = np.random.default_rng(seed)
    n_classes, side = 10, 32
    # Smooth templates: low-frequency patterns per class and colour channel.
    grid = np.linspace(0, np.pi, side)
    templates = np.empty((n_classes, side, side, 3))
    for c in range(n_classes):
        fx, fy = rng.uniform(0.5, 3.0, 2)
        phase = rng.uniform(0, 2 * np.pi, 3)
        for ch in range(3):
            templates[c, :, :, ch] = np.sin(fx * grid[:, None] + phase[ch]) * np.cos(fy * grid[None, :])
    y = rng.integers(0, n_classes, n_samples)
    pixels = templates[y].reshape(n_samples, -1) * 40 + rng.normal(0, 30, (n_samples, side * side * 3))
    X = np.hstack([pixels, np.ones((n_samples, 1))]).astype(dtype)
    W = (rng.standard_normal((X.shape[1], n_classes)) * 1e-4).astype(dtype)
    return W, X, y


def median_time(func, min_seconds=0.5, min_calls=5):
    """Median wall time of func() over repeated calls (after one warm-up)."""
    func()
    times = []
    end = time.perf_counter() + min_seconds
    while time.perf_counter() < end or len(times) < min_calls:
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m maxmargin", description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=500, help="N, rows of X (default 500)")
    parser.add_argument("--reg", type=float, default=2.5e4, help="L2 strength (default 2.5e4)")
    args = parser.parse_args(argv)

    print(f"maxmargin {maxmargin.__version__}: CS231n's linear SVM loss and gradient, "
          f"CIFAR-10-sized problem (N={args.samples}, D=3073, C=10, reg={args.reg:g})")
    print()
    header = (f"{'dtype':<8} {'loss (maxmargin)':>18} {'loss (reference)':>18} "
              f"{'max |dW - ref| / max |ref|':>27} {'maxmargin':>10} {'reference':>10} {'speed-up':>9}")
    print(header)
    print("-" * len(header))
    agree = True
    for dtype in (np.float64, np.float32):
        W, X, y = cifar_like_problem(args.samples, dtype)
        loss, dW = maxmargin.svm_loss(W, X, y, reg=args.reg)
        ref_loss, ref_dW = reference.svm_loss(W, X, y, reg=args.reg)
        rel = float(np.max(np.abs(dW.astype(np.float64) - ref_dW)) / np.max(np.abs(ref_dW)))
        # float64 agrees to a few ulps; float32 to its epsilon times the
        # length of the dot products (two BLAS libraries round differently).
        tolerance = 1e-12 if dtype == np.float64 else 1e-4
        loss_ok = abs(loss - ref_loss) <= tolerance * max(1.0, abs(ref_loss))
        agree &= rel <= tolerance and loss_ok
        t_mm = median_time(lambda: maxmargin.svm_loss(W, X, y, reg=args.reg))
        t_ref = median_time(lambda: reference.svm_loss(W, X, y, reg=args.reg))
        print(f"{np.dtype(dtype).name:<8} {loss:>18.10f} {ref_loss:>18.10f} {rel:>27.2e} "
              f"{t_mm * 1e3:>8.2f}ms {t_ref * 1e3:>8.2f}ms {t_ref / t_mm:>8.1f}x")
    print()
    print("agreement: " + ("OK, the kernel matches the NumPy reference" if agree
                           else "FAILED, the kernel disagrees with the NumPy reference"))
    return 0 if agree else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["demo"]:
        from maxmargin import _demo
        sys.exit(_demo.main(sys.argv[2:]))
    sys.exit(main())
