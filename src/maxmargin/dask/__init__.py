"""maxmargin on Dask: the loss, its gradient and a classifier fit over data
spread across a cluster, with the answer of one machine.

* `svm_loss(W, X, y, ...)`: `maxmargin.svm_loss` over a row-chunked
  `dask.array` X (NumPy or SciPy sparse chunks); NumPy results, the same
  bits for any number of workers, task order and scheduler.
* `LinearSVMClassifier`: `maxmargin.sklearn.LinearSVMClassifier` fitted on
  dask arrays or a dask DataFrame (L-BFGS with a distributed loss for p = 2,
  local SGD epochs per chunk and their average for either p); `predict`,
  `decision_function` and `score` stay lazy.

Needs the extra ``pip install "maxmargin[dask]"`` (dask[array] and
distributed; scikit-learn for the classifier). Nothing here schedules or
transports: Dask does, with whatever scheduler is active (a
`distributed.Client`, or dask's threads/processes schedulers). docs/scale-out.md
tells when to use it and what each iteration sends.

Layout: `_chunks` turns the user's collections into aligned row chunks and
adds per-chunk results in a fixed tree; `loss` is the distributed
`svm_loss`; `classifier` the estimator.
"""

try:
    import dask  # noqa: F401
    import dask.array  # noqa: F401
except ImportError as missing:  # pragma: no cover - depends on the install
    raise ImportError("maxmargin.dask needs Dask: pip install \"maxmargin[dask]\"") from missing

from .loss import svm_loss


def __getattr__(name):
    # The classifier needs scikit-learn; import it only when it is asked for.
    if name == "LinearSVMClassifier":
        from .classifier import LinearSVMClassifier
        return LinearSVMClassifier
    raise AttributeError(f"module 'maxmargin.dask' has no attribute {name!r}")


__all__ = ["LinearSVMClassifier", "svm_loss"]
