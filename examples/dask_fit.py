"""Fit maxmargin's LinearSVMClassifier on a Dask cluster, on data that no
one worker's memory could hold.

A LocalCluster of single-threaded worker processes starts on this machine
(127.0.0.1 only). The dataset, a planted linear problem of C classes with
label noise, is made on the workers chunk by chunk, so it never exists
whole anywhere: X is chunks * rows x features float32, by default 512 MB
against a memory limit of 400 MiB a worker. The fit is the SGD solver
(p = 1, the hinge) with persist=False: each epoch every worker makes its
chunks again, runs one SGD epoch over each from the current W and b, and the
chunks' models are averaged. The held-out accuracy is that of a fresh
chunk no epoch saw.

    pip install ".[dask]"
    python examples/dask_fit.py [--workers 2] [--memory-limit 400MiB]
                                [--chunks 32] [--rows 62500] [--features 64]

With --scheduler ADDRESS it uses a running cluster instead (started with
`dask scheduler` and `dask worker ADDRESS`). It exits with status 1 if the
held-out accuracy stays below 60% (chance is 1 / classes).
"""

import argparse
import sys
import time

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster

from maxmargin.dask import LinearSVMClassifier


def make_chunk(block_id=None, rows=0, features=0, seed=0):
    """Chunk block_id[0] of X, standard normal: made on the worker that runs
    it, the same bits wherever that is."""
    return np.random.default_rng([seed, block_id[0]]).standard_normal(
        (rows, features), dtype=np.float32)


def label_chunk(X, block_id=None, classes=0, seed=0):
    """The planted labels of one chunk: argmax of X W* + noise."""
    planted = np.random.default_rng(seed).standard_normal((X.shape[1], classes))
    noise = np.random.default_rng([seed, 1, block_id[0]]).standard_normal(
        (X.shape[0], classes))
    return np.argmax(X @ planted + 2.0 * noise, axis=1)


def planted_problem(chunks, rows, features, classes, seed):
    X = da.map_blocks(make_chunk, rows=rows, features=features, seed=seed,
                      dtype=np.float32, chunks=((rows,) * chunks, (features,)))
    y = X.map_blocks(label_chunk, classes=classes, seed=99, drop_axis=1, dtype=np.intp)
    return X, y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="400MiB", help="per worker")
    parser.add_argument("--chunks", type=int, default=32)
    parser.add_argument("--rows", type=int, default=62500, help="rows per chunk")
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--classes", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--scheduler", help="address of a running scheduler")
    args = parser.parse_args(argv)

    if args.scheduler:
        cluster, client = None, Client(args.scheduler, timeout=60)
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address="127.0.0.1:0",
                               memory_limit=args.memory_limit)
        client = Client(cluster, timeout=60)
    try:
        workers = client.scheduler_info()["workers"]
        limits = [w["memory_limit"] for w in workers.values()]
        X, y = planted_problem(args.chunks, args.rows, args.features, args.classes, seed=7)
        print(f"cluster: {len(workers)} workers, memory limit "
              f"{min(limits) / 2 ** 20:.0f} MiB each; dashboard {client.dashboard_link}")
        print(f"X: {X.shape[0]:,} x {X.shape[1]} float32 = {X.nbytes / 1e6:,.0f} MB in "
              f"{X.numblocks[0]} chunks, made on the workers")

        clf = LinearSVMClassifier(max_iter=args.epochs, tol=None, persist=False,
                                  random_state=0)
        started = time.perf_counter()
        clf.fit(X, y)
        fit_seconds = time.perf_counter() - started

        X_test, y_test = planted_problem(1, min(args.rows, 50000), args.features,
                                         args.classes, seed=8)
        accuracy = float(clf.score(X_test, y_test))
        rows_per_second = X.shape[0] * clf.n_iter_ / fit_seconds
        print(f"fit: {clf.n_iter_} epochs in {fit_seconds:.1f} s "
              f"({rows_per_second:,.0f} rows/s), loss {clf.loss_curve_[-1]:.4f}")
        print(f"held-out accuracy: {accuracy:.4f} (chance {1 / args.classes:.4f})")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return 0 if accuracy >= 0.6 else 1


if __name__ == "__main__":
    sys.exit(main())
