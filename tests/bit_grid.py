"""The bits of a grid of calls of every public function, recorded from one
build and checked against another.

A change that moves code but must not change a result (a new layout, a
renamed dispatch, an allocator merged) is held to this: record the grid with
the build before, check it with the build after, on the same machine.

    python tests/bit_grid.py record before.json     # with the old build installed
    python tests/bit_grid.py check before.json      # with the new one

Each SIMD path this CPU runs is visited in its own process (MAXMARGIN_SIMD);
each call's outputs (loss, gradients, per-sample losses, Y) are hashed
byte for byte. The grid covers both dtypes, weights, reductions,
accumulation, memory layouts, threads, and shapes on both sides of every
threshold between svm_loss's and ranking_hinge's paths. The digests depend
on the machine (BLAS kernels, SIMD paths), so a record is compared only
with a build on the same machine.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys

PATHS = ("baseline", "avx2", "avx512")


def _digest(value):
    import numpy as np
    h = hashlib.sha256()
    if value is None:
        h.update(b"None")
    elif isinstance(value, float):
        h.update(float(value).hex().encode())
    elif isinstance(value, np.ndarray):
        h.update(str((value.dtype.str, value.shape)).encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (tuple, list)):
        for item in value:
            h.update(_digest(item).encode())
    else:
        h.update(repr(value).encode())
    return h.hexdigest()[:20]


def _layouts(a):
    """(name, array equal to a): C order, Fortran order, a strided slice."""
    import numpy as np
    wide = np.zeros((a.shape[0], a.shape[1] + 3), a.dtype)
    wide[:, 1:-2] = a
    every_other = np.zeros((2 * a.shape[0], a.shape[1]), a.dtype)
    every_other[::2] = a
    return [("C", a), ("F", np.asfortranarray(a)), ("cols", wide[:, 1:-2]),
            ("rows2", every_other[::2])]


def cases():
    """(name, zero-argument call) for the whole grid."""
    import numpy as np
    import maxmargin

    rng = np.random.default_rng(20261204)
    dtypes = (np.float32, np.float64)
    out = []

    def add(name, call):
        out.append((name, call))

    # --- multiclass_hinge -------------------------------------------------
    for dtype in dtypes:
        for n, c in [(1, 1), (7, 3), (64, 10), (300, 13), (40000, 10)]:
            scores = rng.standard_normal((n, c)).astype(dtype)
            scores[::7] = np.round(scores[::7])  # ties and kinks
            y = rng.integers(0, c, n)
            sw = rng.uniform(0, 2, n)
            cw = rng.uniform(0, 2, c)
            for kind in ("weston_watkins", "crammer_singer"):
                for p in (1, 2):
                    for weights in ("none", "sample", "both"):
                        kw = {}
                        if weights != "none":
                            kw["sample_weight"] = sw
                        if weights == "both":
                            kw["class_weight"] = cw
                        for reduction in ("mean", "sum", "none"):
                            for lname, s in (_layouts(scores) if n <= 300 else [("C", scores)]):
                                add(f"mch-{np.dtype(dtype).name}-{n}x{c}-{kind}-p{p}-{weights}-"
                                    f"{reduction}-{lname}",
                                    lambda s=s, y=y, kind=kind, p=p, kw=kw, reduction=reduction:
                                    maxmargin.multiclass_hinge(s, y, kind=kind, p=p,
                                                               reduction=reduction, **kw))
                    add(f"mch-{np.dtype(dtype).name}-{n}x{c}-{kind}-p{p}-threads1",
                        lambda s=scores, y=y, kind=kind, p=p:
                        maxmargin.multiclass_hinge(s, y, kind=kind, p=p, n_threads=1))

    # --- svm_loss: shapes on both sides of every path threshold ----------
    shapes = [(1, 8, 2), (2, 3073, 10), (64, 100, 10), (127, 300, 10), (128, 300, 10),
              (256, 3073, 10), (500, 600, 10), (300, 257, 4), (256, 500, 13), (300, 200, 16),
              (256, 300, 17), (400, 300, 32), (300, 200, 64), (300, 100, 65),
              (520, 200, 32), (600, 300, 100), (1100, 3073, 20), (64, 50, 1000)]
    for dtype in dtypes:
        for n, d, c in shapes:
            W = (rng.standard_normal((d, c)) * 0.1).astype(dtype)
            X = rng.standard_normal((n, d)).astype(dtype)
            b = rng.standard_normal(c).astype(dtype)
            y = rng.integers(0, c, n)
            sw = rng.uniform(0, 2, n)
            cw = rng.uniform(0, 2, c)
            tag = f"svm-{np.dtype(dtype).name}-{n}x{d}x{c}"
            big = n * d > 200_000
            for kind in ("weston_watkins", "crammer_singer"):
                for p in (1, 2):
                    add(f"{tag}-{kind}-p{p}",
                        lambda W=W, X=X, y=y, kind=kind, p=p:
                        maxmargin.svm_loss(W, X, y, kind=kind, p=p))
                    add(f"{tag}-{kind}-p{p}-b-reg",
                        lambda W=W, X=X, y=y, b=b, kind=kind, p=p:
                        maxmargin.svm_loss(W, X, y, b=b, reg=1e-3, kind=kind, p=p))
                    add(f"{tag}-{kind}-p{p}-weights-sum",
                        lambda W=W, X=X, y=y, b=b, sw=sw, cw=cw, kind=kind, p=p:
                        maxmargin.svm_loss(W, X, y, b=b, kind=kind, p=p, sample_weight=sw,
                                           class_weight=cw, reduction="sum"))
            for lname, Xl in (_layouts(X)[1:] if not big else [("F", np.asfortranarray(X))]):
                add(f"{tag}-X{lname}-b-reg",
                    lambda W=W, Xl=Xl, y=y, b=b: maxmargin.svm_loss(W, Xl, y, b=b, reg=1e-3))
            for lname, Wl in _layouts(W)[1:]:
                add(f"{tag}-W{lname}-reg",
                    lambda Wl=Wl, X=X, y=y: maxmargin.svm_loss(Wl, X, y, reg=0.5))

            def accumulated(W=W, X=X, y=y, b=b):
                dW = np.full(W.shape, 0.25, W.dtype)
                db = np.full(b.shape, -0.5, b.dtype)
                loss, _, _ = maxmargin.svm_loss(W, X, y, b=b, reg=1e-2, dW_out=dW, db_out=db,
                                                accumulate=True)
                return loss, dW, db
            add(f"{tag}-accumulate", accumulated)
            for threads in (1, 2):
                add(f"{tag}-threads{threads}",
                    lambda W=W, X=X, y=y, b=b, threads=threads:
                    maxmargin.svm_loss(W, X, y, b=b, n_threads=threads))
            X_nan = X.copy()
            X_nan[n // 2, 0] = np.nan
            add(f"{tag}-nan", lambda W=W, X_nan=X_nan, y=y: maxmargin.svm_loss(W, X_nan, y))

    # --- ranking_hinge ------------------------------------------------------
    for dtype in dtypes:
        for n, k in [(1, 0), (5, 1), (33, 3), (1000, 5), (777, 16), (300, 17), (40000, 5),
                     (300000, 5)]:
            s = rng.standard_normal(n).astype(dtype)
            s_c = rng.standard_normal((n, k)).astype(dtype)
            s_c[::5] = np.round(s_c[::5])
            s[::3] = np.round(s[::3])
            sw = rng.uniform(0, 2, n)
            tag = f"rank-{np.dtype(dtype).name}-{n}x{k}"
            for p in (1, 2):
                for reduction in ("mean", "sum", "none"):
                    add(f"{tag}-p{p}-{reduction}",
                        lambda s=s, s_c=s_c, p=p, reduction=reduction:
                        maxmargin.ranking_hinge(s, s_c, p=p, reduction=reduction))
                add(f"{tag}-p{p}-weights",
                    lambda s=s, s_c=s_c, sw=sw, p=p:
                    maxmargin.ranking_hinge(s, s_c, p=p, sample_weight=sw))
            if n <= 40000:
                add(f"{tag}-strided",
                    lambda s=s, s_c=s_c: maxmargin.ranking_hinge(
                        np.repeat(s, 2)[::2], np.asfortranarray(s_c)))
                add(f"{tag}-threads1",
                    lambda s=s, s_c=s_c: maxmargin.ranking_hinge(s, s_c, n_threads=1))

                def accumulated(s=s, s_c=s_c):
                    ds = np.full(s.shape, 0.5, s.dtype)
                    ds_c = np.full(s_c.shape, -0.25, s.dtype)
                    loss, _, _ = maxmargin.ranking_hinge(s, s_c, ds_out=ds, ds_c_out=ds_c,
                                                         accumulate=True)
                    return loss, ds, ds_c
                add(f"{tag}-accumulate", accumulated)
            if k >= 1:
                s_nan = s_c.copy()
                s_nan[n // 2, 0] = np.nan
                add(f"{tag}-nan", lambda s=s, s_nan=s_nan: maxmargin.ranking_hinge(s, s_nan))
        s1 = rng.standard_normal(500).astype(dtype)
        add(f"rank-{np.dtype(dtype).name}-1d",
            lambda s1=s1: maxmargin.ranking_hinge(s1, s1[::-1].copy()))

    # --- layers ---------------------------------------------------------------
    for dtype in dtypes:
        for n, d_in, d_out in [(1, 1, 1), (9, 7, 5), (64, 128, 32), (300, 200, 100)]:
            X = rng.standard_normal((n, d_in)).astype(dtype)
            W = (rng.standard_normal((d_in, d_out)) / np.sqrt(d_in)).astype(dtype)
            b = rng.standard_normal(d_out).astype(dtype)
            dY = rng.standard_normal((n, d_out)).astype(dtype)
            tag = f"layer-{np.dtype(dtype).name}-{n}x{d_in}x{d_out}"
            for activation in (None, "relu", "tanh", "sigmoid"):
                for lname, Xl in _layouts(X):
                    def forward_backward(Xl=Xl, W=W, b=b, dY=dY, activation=activation):
                        Y, cache = maxmargin.linear_forward(Xl, W, b, activation=activation)
                        return (Y,) + tuple(maxmargin.linear_backward(dY, cache))
                    add(f"{tag}-{activation}-{lname}", forward_backward)

                def accumulated(X=X, W=W, b=b, dY=dY, activation=activation):
                    Y, cache = maxmargin.linear_forward(X, W, b, activation=activation,
                                                        n_threads=2)
                    dX = np.full(X.shape, 0.5, X.dtype)
                    dW = np.full(W.shape, -1.0, X.dtype)
                    db = np.full(b.shape, 2.0, X.dtype)
                    maxmargin.linear_backward(dY, cache, dX_out=dX, dW_out=dW, db_out=db,
                                              accumulate=True, n_threads=2)
                    return Y, dX, dW, db
                add(f"{tag}-{activation}-accumulate", accumulated)
            add(f"{tag}-matmul", lambda dY=dY, X=X, W=W: maxmargin.matmul_backward(dY, X, W))
            add(f"{tag}-matmul-Xt",
                lambda dY=dY, X=X, W=W: maxmargin.matmul_backward(
                    dY, np.asfortranarray(X), np.ascontiguousarray(W.T).T, need_dX=False))
        dX = rng.standard_normal((30, 4)).astype(dtype)
        idx = rng.integers(0, 6, 30)

        def scatter(dX=dX, idx=idx):
            table = np.zeros((6, 4), dX.dtype)
            return maxmargin.embedding_backward(dX, idx, table)
        add(f"embedding-{np.dtype(dtype).name}", scatter)
        add(f"xavier-{np.dtype(dtype).name}",
            lambda dtype=dtype: maxmargin.xavier_init(13, 7, dtype=dtype, rng=3))

    # --- the estimator, on what its fit computes -----------------------------
    try:
        from maxmargin.sklearn import LinearSVMClassifier
    except ImportError:
        LinearSVMClassifier = None
    if LinearSVMClassifier is not None:
        Xs = rng.standard_normal((400, 20))
        ys = np.argmax(Xs[:, :4], axis=1)
        for kind in ("weston_watkins", "crammer_singer", "one_vs_rest"):
            for solver, p in (("sgd", 1), ("lbfgs", 2)):
                def fit(kind=kind, solver=solver, p=p):
                    clf = LinearSVMClassifier(kind=kind, solver=solver, p=p, max_iter=5,
                                              random_state=0).fit(Xs, ys)
                    return clf.coef_, clf.intercept_
                add(f"sklearn-{kind}-{solver}", fit)
    return out


def _digests():
    results = {}
    for name, call in cases():
        assert name not in results, name
        try:
            value = call()
        except Exception as error:  # a raise is a result too
            value = f"raised {type(error).__name__}: {error}"
        results[name] = _digest(value)
    return results


def _run_path(path):
    env = dict(os.environ, MAXMARGIN_SIMD=path)
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--one-path"],
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        if "cannot run on this CPU" in proc.stderr or "unknown SIMD path" in proc.stderr:
            return None
        raise RuntimeError(f"path {path}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def record_all():
    grid = {}
    for path in PATHS:
        digests = _run_path(path)
        if digests is not None:
            grid[path] = digests
            print(f"{path}: {len(digests)} calls", file=sys.stderr)
    return grid


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", nargs="?", choices=["record", "check"])
    parser.add_argument("file", nargs="?")
    parser.add_argument("--one-path", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one_path:
        json.dump(_digests(), sys.stdout)
        return 0
    if args.action is None or args.file is None:
        parser.error("record FILE or check FILE")
    grid = record_all()
    if args.action == "record":
        with open(args.file, "w") as f:
            json.dump(grid, f, indent=0, sort_keys=True)
        print(f"recorded {sum(map(len, grid.values()))} calls on {', '.join(grid)}")
        return 0
    with open(args.file) as f:
        recorded = json.load(f)
    failures = 0
    for path, digests in recorded.items():
        now = grid.get(path)
        if now is None:
            print(f"{path}: recorded but not run now")
            failures += 1
            continue
        differ = [name for name in digests if now.get(name) != digests[name]]
        missing = [name for name in digests if name not in now]
        print(f"{path}: {len(digests) - len(differ)} of {len(digests)} calls identical"
              + (f"; differ: {', '.join(differ[:20])}" if differ else "")
              + (f" ({len(missing)} not in this grid)" if missing else ""))
        failures += len(differ)
    print("bits: identical" if failures == 0 else f"bits: {failures} differences")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
