"""The mathematics of maxmargin in plain NumPy: the oracle for every kernel.

Two versions of each loss, with the same signature and results as the public
kernel (minus ``out=``, ``accumulate`` and ``n_threads``):

* ``*_naive`` follows the formula line by line with Python loops: slow,
  meant to be read next to the docstrings and the CS231n notes.
* the unsuffixed version is vectorized NumPy: fast enough to benchmark, and
  the "hand-written NumPy" a user would otherwise write.

Arithmetic order (shared with the kernels, so results agree to a few ulps):
margins ``(s_ij - s_iy) + delta`` in the data's dtype; ``max(0, m)^p``, sums,
weights and reductions in float64; gradient coefficients in float64, rounded
once to the data's dtype. The subgradient at a margin of exactly 0 is 0, and a
NaN margin has a NaN loss and a NaN slope.

The layers (`linear_forward`, `linear_backward`, `matmul_backward`,
`embedding_backward`) are matrix products and scatters, stated once, in
vectorized NumPy: activations in float64 rounded once to the data's dtype,
their derivatives from Y in the data's dtype, bias gradients summed in float64.

X may be a SciPy sparse matrix or array wherever a function multiplies by
it (`svm_loss`, `linear_forward`, `linear_backward`, `matmul_backward`):
the products are then SciPy's, ``X @ W`` and ``X.T @ G``, and everything
else the same; the naive versions read it densified (``X.toarray()``).

Arguments are assumed valid: these functions do not check their input.
"""

import numpy as np


# --- shared pieces ------------------------------------------------------------

def _native(a):
    """`a` in the machine's byte order: maxmargin computes and returns
    big-endian input (">f4") in native order, and so must the oracle."""
    a = np.asarray(a)
    return a if a.dtype.isnative else a.astype(a.dtype.newbyteorder("="))


def _matrix(X):
    """X as the products read it: a SciPy sparse matrix or array as it is,
    anything else as an ndarray."""
    if hasattr(X, "tocsr") and not isinstance(X, np.ndarray):
        import scipy.sparse
        if scipy.sparse.issparse(X):
            return X
    return np.asarray(X)


def _dense(X):
    """X as an ndarray (a sparse X densified), for the naive versions."""
    X = _matrix(X)
    return X.toarray() if not isinstance(X, np.ndarray) else X


def _sample_weights(y, n_samples, sample_weight, class_weight):
    """w_i = sample_weight[i] * class_weight[y_i], float64 (ones if absent)."""
    w = np.ones(n_samples)
    if sample_weight is not None:
        w = w * np.asarray(sample_weight, dtype=np.float64)
    if class_weight is not None:
        w = w * np.asarray(class_weight, dtype=np.float64)[y]
    return w


def _denominator(reduction, n_samples):
    return float(max(n_samples, 1)) if reduction == "mean" else 1.0


def _reduce(weighted, reduction, dtype):
    if reduction == "none":
        return weighted.astype(dtype)
    return float(np.sum(weighted) / _denominator(reduction, weighted.shape[0]))


def _term(m, p):
    """max(0, m)^p for a float64 scalar m (NaN stays NaN)."""
    return 0.0 if m <= 0 else m ** p


def _slope(m, p):
    """d/dm max(0, m)^p: 0 at and below the kink, 1 or 2m above, NaN for NaN."""
    if m <= 0:
        return 0.0
    if p == 2:
        return 2.0 * m
    return 1.0 if m > 0 else m


# --- multiclass hinge: naive --------------------------------------------------

def multiclass_hinge_naive(scores, y, *, delta=1.0, p=1, kind="weston_watkins",
                           sample_weight=None, class_weight=None, reduction="mean"):
    """Loop version of `maxmargin.multiclass_hinge`; returns (loss, dscores)."""
    S = np.asarray(scores)
    y = np.asarray(y)
    N, C = S.shape
    dt = S.dtype.type
    w = _sample_weights(y, N, sample_weight, class_weight)
    denom = _denominator(reduction, N)
    L = np.zeros(N)
    dS = np.zeros((N, C))
    for i in range(N):
        yi = int(y[i])
        coef = w[i] / denom
        rivals = [j for j in range(C) if j != yi]
        if kind == "weston_watkins":
            # L_i = sum_{j != y_i} max(0, s_ij - s_iy_i + delta)^p
            slope_sum = 0.0
            for j in rivals:
                m = float(S[i, j] - S[i, yi] + dt(delta))  # margin in the data's dtype
                L[i] += _term(m, p)
                dS[i, j] = coef * _slope(m, p)
                slope_sum += _slope(m, p)
            dS[i, yi] = -coef * slope_sum
        else:
            # L_i = max(0, max_{j != y_i} s_ij - s_iy_i + delta)^p, routed to
            # the first maximiser (a NaN counts as the maximum, like np.argmax)
            if not rivals:
                continue
            best = rivals[0]
            for j in rivals[1:]:
                if np.isnan(S[i, best]):
                    break
                if S[i, j] > S[i, best] or np.isnan(S[i, j]):
                    best = j
            m = float(S[i, best] - S[i, yi] + dt(delta))
            L[i] = _term(m, p)
            dS[i, best] = coef * _slope(m, p)
            dS[i, yi] = -coef * _slope(m, p)
    return _reduce(w * L, reduction, S.dtype), dS.astype(S.dtype)


# --- multiclass hinge: vectorized -----------------------------------------------

def multiclass_hinge(scores, y, *, delta=1.0, p=1, kind="weston_watkins",
                     sample_weight=None, class_weight=None, reduction="mean"):
    """Vectorized version of `maxmargin.multiclass_hinge`; returns (loss, dscores)."""
    S = np.asarray(scores)
    y = np.asarray(y, dtype=np.intp)
    N, C = S.shape
    rows = np.arange(N)
    w = _sample_weights(y, N, sample_weight, class_weight)
    coef = w / _denominator(reduction, N)
    is_label = np.zeros((N, C), dtype=bool)
    is_label[rows, y] = True

    if kind == "weston_watkins":
        margins = (S - S[rows, y][:, None] + S.dtype.type(delta)).astype(np.float64)
        with np.errstate(invalid="ignore"):
            terms = np.where(margins <= 0, 0.0, margins ** p)
            slopes = np.where(margins <= 0, 0.0,
                              2.0 * margins if p == 2 else np.where(margins > 0, 1.0, margins))
        terms[is_label] = 0.0
        slopes[is_label] = 0.0
        L = terms.sum(axis=1)
        dS = coef[:, None] * slopes
        dS[rows, y] = -coef * slopes.sum(axis=1)
    else:
        L = np.zeros(N)
        dS = np.zeros((N, C))
        if C > 1:
            # argmax over the rivals only: drop column y_i from each row.
            rivals = S[~is_label].reshape(N, C - 1)
            k = np.argmax(rivals, axis=1)
            best = k + (k >= y)
            margin = (S[rows, best] - S[rows, y] + S.dtype.type(delta)).astype(np.float64)
            with np.errstate(invalid="ignore"):
                L = np.where(margin <= 0, 0.0, margin ** p)
                slope = np.where(margin <= 0, 0.0,
                                 2.0 * margin if p == 2 else np.where(margin > 0, 1.0, margin))
            dS[rows, best] = coef * slope
            dS[rows, y] = -coef * slope
    return _reduce(w * L, reduction, S.dtype), dS.astype(S.dtype)


# --- fused SVM loss from features ----------------------------------------------

def _svm_from_scores(hinge, W, X, y, b, reg, reduction, **hinge_args):
    W = np.asarray(W)
    X = _matrix(X)
    S = np.asarray(X @ W)
    if b is not None:
        S = S + np.asarray(b)
    loss, dS = hinge(S, y, reduction=reduction, **hinge_args)
    dW = np.asarray(X.T @ dS)
    if reg != 0:
        loss += reg * float(np.sum(W.astype(np.float64) ** 2))
        dW = dW + W.dtype.type(2.0 * reg) * W
    dW = np.ascontiguousarray(dW)
    if b is None:
        return loss, dW
    return loss, dW, dS.astype(np.float64).sum(axis=0).astype(W.dtype)


def svm_loss(W, X, y, *, b=None, reg=0.0, delta=1.0, p=1, kind="weston_watkins",
             sample_weight=None, class_weight=None, reduction="mean"):
    """Vectorized version of `maxmargin.svm_loss`: S = X W + b, the hinge on S,
    dW = X^T dS + 2 reg W, db = sum_i dS_i. Returns (loss, dW[, db])."""
    return _svm_from_scores(multiclass_hinge, W, X, y, b, reg, reduction, delta=delta,
                            p=p, kind=kind, sample_weight=sample_weight,
                            class_weight=class_weight)


def svm_loss_naive(W, X, y, *, b=None, reg=0.0, delta=1.0, p=1, kind="weston_watkins",
                   sample_weight=None, class_weight=None, reduction="mean"):
    """Loop version of `maxmargin.svm_loss`: scores row by row, the naive hinge,
    then dW[:, j] += x_i * dS_ij for every sample (the multiply gate's rule)."""
    W = np.asarray(W)
    X = _dense(X)
    N, D = X.shape
    C = W.shape[1]
    S = np.empty((N, C), dtype=W.dtype)
    for i in range(N):
        for j in range(C):
            S[i, j] = X[i] @ W[:, j] + (0 if b is None else b[j])
    loss, dS = multiclass_hinge_naive(S, y, delta=delta, p=p, kind=kind,
                                      sample_weight=sample_weight,
                                      class_weight=class_weight, reduction=reduction)
    dW = np.zeros((D, C))
    db = np.zeros(C)
    for i in range(N):
        for j in range(C):
            dW[:, j] += X[i].astype(np.float64) * float(dS[i, j])
            db[j] += float(dS[i, j])
    if reg != 0:
        loss += reg * float(np.sum(W.astype(np.float64) ** 2))
        dW += 2.0 * reg * W
    dW = dW.astype(W.dtype)
    if b is None:
        return loss, dW
    return loss, dW, db.astype(W.dtype)


# --- max-margin ranking (CS224d) -------------------------------------------------

def ranking_hinge_naive(s, s_c, *, delta=1.0, p=1, sample_weight=None, reduction="mean"):
    """Loop version of `maxmargin.ranking_hinge`; returns (loss, ds, ds_c)."""
    s = _native(s)
    s_c = _native(s_c)
    N = s.shape[0]
    corrupt = s_c.reshape(N, -1) if N else s_c.reshape(0, 0)
    dt = s.dtype.type
    w = _sample_weights(None, N, sample_weight, None)
    denom = _denominator(reduction, N)
    J = np.zeros(N)
    ds = np.zeros(N)
    ds_c = np.zeros(corrupt.shape)
    for i in range(N):
        coef = w[i] / denom
        slope_sum = 0.0
        for k in range(corrupt.shape[1]):
            # J_i = sum_k max(0, delta + s_c[i, k] - s_i)^p; an add gate per pair
            m = float(corrupt[i, k] - s[i] + dt(delta))  # margin in the data's dtype
            J[i] += _term(m, p)
            ds_c[i, k] = coef * _slope(m, p)
            slope_sum += _slope(m, p)
        ds[i] = -coef * slope_sum
    return (_reduce(w * J, reduction, s.dtype), ds.astype(s.dtype),
            ds_c.reshape(s_c.shape).astype(s.dtype))


def ranking_hinge(s, s_c, *, delta=1.0, p=1, sample_weight=None, reduction="mean"):
    """Vectorized version of `maxmargin.ranking_hinge`; returns (loss, ds, ds_c)."""
    s = _native(s)
    s_c = _native(s_c)
    corrupt = s_c[:, None] if s_c.ndim == 1 else s_c
    N = s.shape[0]
    w = _sample_weights(None, N, sample_weight, None)
    coef = w / _denominator(reduction, N)
    margins = (corrupt - s[:, None] + s.dtype.type(delta)).astype(np.float64)
    with np.errstate(invalid="ignore"):
        terms = np.where(margins <= 0, 0.0, margins ** p)
        slopes = np.where(margins <= 0, 0.0,
                          2.0 * margins if p == 2 else np.where(margins > 0, 1.0, margins))
    ds_c = (coef[:, None] * slopes).astype(s.dtype)
    ds = (-coef * slopes.sum(axis=1)).astype(s.dtype)
    return _reduce(w * terms.sum(axis=1), reduction, s.dtype), ds, ds_c.reshape(s_c.shape)


# --- layers ------------------------------------------------------------------------

def _activate(Z, activation):
    """f(Z): relu in the dtype (NaN stays NaN); tanh and sigmoid in float64,
    rounded once to Z's dtype."""
    if activation is None:
        return Z
    if activation == "relu":
        return np.where(0 > Z, Z.dtype.type(0), Z)
    Z64 = Z.astype(np.float64)
    if activation == "tanh":
        return np.tanh(Z64).astype(Z.dtype)
    with np.errstate(over="ignore"):  # exp(-z) = inf for very negative z: f = 0
        return (1.0 / (1.0 + np.exp(-Z64))).astype(Z.dtype)


def _activation_gradient(dY, Y, activation):
    """dZ = dY * f'(Z), with f' taken from Y in the data's dtype."""
    if activation is None:
        return dY
    one = Y.dtype.type(1)
    if activation == "relu":
        # 0 at and below the kink; a NaN Y passes its NaN on.
        return np.where(Y > 0, dY, np.where(np.isnan(Y), Y, Y.dtype.type(0)))
    if activation == "tanh":
        return dY * (one - Y * Y)
    return dY * (Y * (one - Y))  # sigmoid


def linear_forward(X, W, b=None, *, activation=None):
    """Y = f(X W + b); returns (Y, cache) with cache = (X, W, Y, activation,
    has_bias), the fields of `maxmargin.LinearCache`."""
    X = _matrix(X)
    W = np.asarray(W)
    Z = np.asarray(X @ W)
    if b is not None:
        Z = Z + np.asarray(b)
    Y = np.ascontiguousarray(_activate(Z, activation))
    return Y, (X, W, Y, activation, b is not None)


def linear_backward(dY, cache, *, need_dX=True):
    """dZ = dY * f'(Z); returns (dX = dZ W^T or None, dW = X^T dZ,
    db = sum_i dZ_i in float64 or None)."""
    X, W, Y, activation, has_bias = cache
    dZ = _activation_gradient(np.asarray(dY), Y, activation)
    dX, dW = matmul_backward(dZ, X, W, need_dX=need_dX)
    db = dZ.sum(axis=0, dtype=np.float64).astype(dZ.dtype) if has_bias else None
    return dX, dW, db


def matmul_backward(dY, X, W, *, need_dX=True):
    """Y = X W: returns (dX = dY W^T or None, dW = X^T dY)."""
    dY = np.asarray(dY)
    dX = np.ascontiguousarray(dY @ np.asarray(W).T) if need_dX else None
    return dX, np.ascontiguousarray(np.asarray(_matrix(X).T @ dY))


def embedding_backward(dX, indices, dL_out):
    """dL_out[indices[m]] += dX[m] in order of m; returns dL_out."""
    np.add.at(dL_out, np.asarray(indices), np.asarray(dX))
    return dL_out
