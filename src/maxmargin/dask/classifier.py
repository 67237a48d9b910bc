"""`LinearSVMClassifier` fitted on data spread across a Dask cluster.

The model, parameters and attributes are those of
`maxmargin.sklearn.LinearSVMClassifier`; what changes is where the passes
over the rows run:

* one scan over the chunks first finds the classes, their counts and
  weight sums, |x|^2 for the SGD step and any NaN or infinity (naming its
  global row);
* solver="lbfgs" (p = 2): SciPy's L-BFGS-B on the client, each evaluation
  one distributed `svm_loss` (`maxmargin.dask.loss`) over X kept on the
  workers: the single-machine fit's iterations on the same objective;
* solver="sgd" (p = 1 or 2): iterative parameter mixing: each epoch sends
  W and b to every chunk, runs the single-machine SGD epoch over that
  chunk's rows from them, and averages the chunks' W and b (added in the
  fixed tree of `_chunks`, so the same epochs give the same bits whatever
  the cluster does).
"""

import time

import dask
import dask.array as da
import numpy as np
from sklearn.utils.validation import check_is_fitted

from .. import sklearn as single
from . import _chunks
from .loss import distributed_loss

# In the SGD epoch's average, each row j of W is weighted by the rows of a
# chunk that hold feature j, plus this fraction of all its rows: a rare
# sparse feature is not diluted by the chunks that never saw it (they only
# shrank its row), and a feature no chunk holds gets the rows' average
# (bench/results/2026-12-06.md, "SGD").
AVERAGE_FLOOR = 1e-6


class LinearSVMClassifier(single.LinearSVMClassifier):
    """Linear multiclass SVM fitted on dask arrays or a dask DataFrame.

    Parameters are those of `maxmargin.sklearn.LinearSVMClassifier`, plus
    ``persist``. NumPy or SciPy input is fitted on this machine, as the
    single-machine class does. With dask input:

    * solver="lbfgs" (p = 2): the single-machine L-BFGS with each loss and
      gradient a distributed `maxmargin.dask.svm_loss`. In float64 the fit
      takes the single-machine fit's iterations and agrees with its
      coefficients to ~1e-11 of max |coef_|; in float32 to ~1e-3 (the
      intercept ~1e-2), at the same loss.
    * solver="sgd": every epoch, each chunk runs one single-machine SGD
      epoch over its own rows from the current W and b (momentum restarted
      at zero), and W, b become the average of the chunks' results: b
      weighted by the chunks' rows, each row j of W by the chunk rows that
      hold feature j (AVERAGE_FLOOR). On dense features this reaches the
      single-machine held-out accuracy; on sparse text it falls short by
      about a point at 2-4 chunks (docs/scale-out.md has the measurements).
    * solver="dual" runs on one machine only (its dual variables are
      updated row after row across all of X).

    persist : bool, default True
        Keep X, the label indices and the row weights in the workers' memory
        for the whole fit (spilled to disk where the workers' memory_limit
        needs it). False: every pass recomputes X's chunks from their graph,
        for data made on the workers or read from files chunk by chunk.

    `fit` takes labels of any type (classes_ from one pass over y) and
    `sample_weight` as a dask array or NumPy array. `decision_function`,
    `predict` and `score` on dask input return dask arrays, lazily, one task
    per row chunk. `partial_fit` takes one NumPy chunk at a time (feed it
    with `dask_ml.wrappers.Incremental`).
    """

    def __init__(self, *, kind="weston_watkins", p=1, delta=1.0, reg=1e-4,
                 fit_intercept=True, solver="sgd", batch_size=64, learning_rate=3.0,
                 max_iter=30, tol=1e-4, n_iter_no_change=5, shuffle=True,
                 class_weight=None, random_state=None, n_threads=None, warm_start=False,
                 verbose=0, persist=True):
        super().__init__(kind=kind, p=p, delta=delta, reg=reg, fit_intercept=fit_intercept,
                         solver=solver, batch_size=batch_size, learning_rate=learning_rate,
                         max_iter=max_iter, tol=tol, n_iter_no_change=n_iter_no_change,
                         shuffle=shuffle, class_weight=class_weight,
                         random_state=random_state, n_threads=n_threads,
                         warm_start=warm_start, verbose=verbose)
        self.persist = persist

    # --- fit ------------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Train on X (N, D) and labels y (N,), dask collections; returns self."""
        if not any(dask.is_dask_collection(v) for v in (X, y, sample_weight)):
            return super().fit(X, y, sample_weight)
        name = type(self).__name__
        self._check_params()
        if self.solver == "dual":
            raise ValueError(f"{name}: solver='dual' runs on one machine only (it updates "
                             "its dual variables row after row over all of X); use 'lbfgs' "
                             "or 'sgd' on dask input")
        if not dask.is_dask_collection(X):
            raise TypeError(f"{name}: X must be a dask array or DataFrame when y or "
                            f"sample_weight is one; got {type(X).__name__}")
        X = _chunks.as_matrix(X, name)
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        y = _chunks.as_rows_like(y, X, name, "y")
        if sample_weight is not None:
            sample_weight = _chunks.as_rows_like(sample_weight, X, name, "sample_weight")
        if self.persist:
            X, y, sample_weight = dask.persist(X, y, sample_weight)
        scan = _scan(X, y, sample_weight, name)
        classes = scan["classes"]
        fractional = classes[classes != np.round(classes)] if classes.dtype.kind == "f" else []
        if len(fractional):
            raise ValueError(f"Unknown label type: continuous. {name} fits classes; y holds "
                             f"non-integer numbers such as {fractional[0]}")
        if len(classes) < 2:
            raise ValueError(f"{name}: y must hold at least 2 classes; got {classes}")
        self._start(classes, X.shape[1], X.dtype)
        self.n_features_in_ = X.shape[1]
        per_class = self._class_factors(scan["counts"], X.shape[0])
        total = float(np.dot(per_class, scan["weight_sums"]))
        if not total > 0:
            raise ValueError(f"{name}: the sample weights (times the class weights) must "
                             f"have a positive sum; got {total}")
        y_index = y.map_blocks(_label_indices, classes, dtype=np.intp)
        weights = da.map_blocks(_row_weights, y_index,
                                *([] if sample_weight is None else [sample_weight]),
                                per_class=per_class, factor=X.shape[0] / total,
                                dtype=np.float64)
        if self.persist:
            y_index, weights = dask.persist(y_index, weights)
        self._scale = 1.0 / (1.0 + scan["squares"] / max(X.shape[0], 1))
        self._solve(X, y_index, weights)  # "dual" was refused above
        return self

    def _loss_and_grads(self, X, y_index, weights, W, b):
        if not isinstance(X, da.Array):
            return super()._loss_and_grads(X, y_index, weights, W, b)
        return distributed_loss(W, X, y_index, b if self.fit_intercept else None, self.reg,
                                float(self.delta), self.p, self.kind, weights, None, "mean",
                                self.n_threads, func=f"{type(self).__name__}.fit")

    def _feature_scale(self, X):
        if not isinstance(X, da.Array):
            return super()._feature_scale(X)
        return self._scale

    def _sgd_epoch(self, X, y_index, weights, rng, scale):
        """One epoch of iterative parameter mixing over the chunks of X."""
        if not isinstance(X, da.Array):
            return super()._sgd_epoch(X, y_index, weights, rng, scale)
        params = {key: value for key, value in self.get_params().items() if key != "persist"}
        seed = int(rng.integers(2 ** 63))
        W_node = dask.delayed(self._W, pure=False)
        b_node = dask.delayed(self._b, pure=False)
        epoch = dask.delayed(_local_epoch, pure=False)
        parts = [epoch(params, W_node, b_node, x, labels, row_weights, (seed, k),
                       self._epochs_done, scale)
                 for k, (x, labels, row_weights) in enumerate(zip(
                     _chunks.blocks(X), _chunks.blocks(y_index), _chunks.blocks(weights)))]
        loss_sum, W_sum, b_sum, counts = _chunks.tree_sum(parts)
        n_samples = max(X.shape[0], 1)
        self._W[...] = W_sum / counts[:, None]
        self._b[...] = b_sum / n_samples
        self._epochs_done += 1
        return loss_sum / n_samples

    def _report(self, epoch, epochs, loss, X, y_index, started):
        if not isinstance(X, da.Array):
            return super()._report(epoch, epochs, loss, X, y_index, started)
        if self.verbose:  # the training accuracy would be one more pass
            print(f"epoch {epoch + 1}/{epochs}: loss {loss:.6g}, "
                  f"{time.perf_counter() - started:.2f} s", flush=True)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        if any(dask.is_dask_collection(v) for v in (X, y, sample_weight)):
            raise TypeError(f"{type(self).__name__}: partial_fit takes one NumPy or SciPy "
                            "chunk; for dask input use fit, or dask_ml.wrappers.Incremental, "
                            "which feeds partial_fit one chunk at a time")
        return super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)

    # --- prediction -----------------------------------------------------

    def decision_function(self, X):
        """Scores X W + b: a lazy dask array (N, C), or (N,) with two classes."""
        if not dask.is_dask_collection(X):
            return super().decision_function(X)
        check_is_fitted(self, "coef_")
        name = type(self).__name__
        X = _chunks.as_matrix(X, name)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {name} is expecting "
                             f"{self.n_features_in_} features as input.")
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        W = dask.delayed(np.ascontiguousarray(self.coef_.T, dtype=dtype), pure=True)
        b = dask.delayed(self.intercept_.astype(dtype), pure=True)
        if len(self.classes_) == 2:
            return X.map_blocks(_block_scores, W, b, True, drop_axis=1, dtype=dtype,
                                chunks=(X.chunks[0],))
        return X.map_blocks(_block_scores, W, b, False, dtype=dtype,
                            chunks=(X.chunks[0], (len(self.classes_),)))

    def predict(self, X):
        """The label of the highest score of each row: a lazy dask array (N,)."""
        if not dask.is_dask_collection(X):
            return super().predict(X)
        scores = self.decision_function(X)
        return scores.map_blocks(_block_labels, self.classes_,
                                 drop_axis=None if scores.ndim == 1 else 1,
                                 dtype=self.classes_.dtype)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy (weighted by sample_weight): a lazy 0-d dask array
        for dask input (``float(clf.score(X, y))`` computes it)."""
        if not dask.is_dask_collection(X):
            return super().score(X, y, sample_weight)
        predicted = self.predict(X)
        y = _chunks.as_rows_like(y, predicted, type(self).__name__, "y")
        correct = (predicted == y).astype(np.float64)
        if sample_weight is None:
            return correct.mean()
        w = _chunks.as_rows_like(sample_weight, predicted, type(self).__name__,
                                 "sample_weight")
        return (correct * w).sum() / w.sum()


# --- tasks (run on the workers) ------------------------------------------

def _scan(X, y, sample_weight, name):
    """One pass over the chunks: classes and their counts, the sample
    weights' sum per class, sum |x|^2; the first non-finite value of X, y
    or the weights raises, naming its global row."""
    weight_blocks = (_chunks.blocks(sample_weight) if sample_weight is not None
                     else [None] * X.numblocks[0])
    summary = dask.delayed(_chunk_summary, pure=False)
    parts = [summary(x, labels, w, int(offset), name)
             for x, labels, w, offset in zip(_chunks.blocks(X), _chunks.blocks(y),
                                             weight_blocks, _chunks.row_offsets(X))]
    summaries = dask.compute(*parts)
    classes = np.unique(np.concatenate([s["labels"] for s in summaries]))
    counts = np.zeros(len(classes), np.int64)
    weight_sums = np.zeros(len(classes))
    squares = 0.0
    for s in summaries:  # in chunk order
        where = np.searchsorted(classes, s["labels"])
        counts[where] += s["counts"]
        weight_sums[where] += s["weight_sums"]
        squares += s["squares"]
    return {"classes": classes, "counts": counts, "weight_sums": weight_sums,
            "squares": squares}


def _chunk_summary(X, y, sample_weight, offset, name):
    y = np.asarray(y)
    if y.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            raise ValueError(f"Input y contains NaN or infinity: {name} found y[{offset + bad[0]}]"
                             f" = {y[bad[0]]}")
    if hasattr(X, "tocsr"):  # SciPy sparse
        X = X.tocsr()
        values, row_of = X.data, lambda k: np.searchsorted(X.indptr, k, side="right") - 1
    else:
        X = np.asarray(X)
        values, row_of = X.ravel(), lambda k: k // max(X.shape[1], 1)
    finite = np.isfinite(values)
    if not finite.all():
        k = int(np.flatnonzero(~finite)[0])
        raise ValueError(f"Input X contains NaN or infinity: {name} found "
                         f"{values[k]} in row {offset + int(row_of(k))}")
    labels, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    if sample_weight is None:
        weight_sums = counts.astype(np.float64)
    else:
        w = np.asarray(sample_weight, dtype=np.float64)
        bad = np.flatnonzero(~(w >= 0) | ~np.isfinite(w))
        if bad.size:
            raise ValueError(f"{name}: sample_weight must be finite and >= 0; got "
                             f"sample_weight[{offset + bad[0]}] = {w[bad[0]]}")
        weight_sums = np.bincount(inverse.ravel(), weights=w, minlength=len(labels))
    squares = float(np.dot(values, values.astype(np.float64)))
    return {"labels": labels, "counts": counts, "weight_sums": weight_sums,
            "squares": squares}


def _label_indices(y, classes):
    return np.searchsorted(classes, y).astype(np.intp)


def _row_weights(y_index, sample_weight=None, *, per_class, factor):
    """The single-machine `_sample_weights` of one chunk: (w * class) * factor."""
    if sample_weight is None:
        weights = np.ones(len(y_index)) * per_class[y_index]
    else:
        weights = np.asarray(sample_weight, dtype=np.float64) * per_class[y_index]
    return weights * factor


def _feature_counts(X):
    """How many rows of the chunk each feature's row of W is averaged with:
    the rows holding the feature (for a dense chunk, every row), plus
    AVERAGE_FLOOR of the chunk's rows."""
    n = X.shape[0]
    if hasattr(X, "tocsr"):
        X = X.tocsr()
        counts = np.bincount(X.indices, minlength=X.shape[1]).astype(np.float64)
    else:
        counts = np.full(X.shape[1], float(n))
    return counts + AVERAGE_FLOOR * n


def _local_epoch(params, W, b, X, y_index, weights, seed, epochs_done, scale):
    """One single-machine SGD epoch over one chunk from (W, b); returns its
    share of the average: (n * loss, counts * W, n * b, counts), float64,
    counts (D,) the chunk's weight for each row of W (`_feature_counts`)."""
    model = single.LinearSVMClassifier(**params)
    model._W, model._b = W.copy(), b.copy()
    model._velocity_W, model._velocity_b = np.zeros_like(W), np.zeros_like(b)
    model._epochs_done = epochs_done
    n = X.shape[0]
    counts = _feature_counts(X)
    if n == 0:
        return 0.0, np.zeros(W.shape), np.zeros(b.shape), counts
    loss = model._sgd_epoch(X, y_index, weights, np.random.default_rng(seed), scale)
    return (loss * n, model._W.astype(np.float64) * counts[:, None],
            model._b.astype(np.float64) * n, counts)


def _block_scores(X, W, b, two_classes):
    scores = np.asarray(X @ W) + b
    return scores[:, 1] - scores[:, 0] if two_classes else scores


def _block_labels(scores, classes):
    if scores.ndim == 1:
        return classes[(scores > 0).astype(int)]
    return classes[np.argmax(scores, axis=1)]
