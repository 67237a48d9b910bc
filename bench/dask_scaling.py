"""maxmargin.dask on a LocalCluster of this machine: the cost of one
distributed round, the throughput of 1 and 2 workers against one process,
L-BFGS against dask-ml's LogisticRegression, and the held-out accuracy of
the distributed SGD fit against the single-machine one.

    python bench/dask_scaling.py                  # every section (~10 min)
    python bench/dask_scaling.py --only overhead  # one section: overhead,
                                                  # scaling, dask-ml, sgd

Every cluster: single-threaded worker processes on 127.0.0.1 (distributed's
nanny sets OMP_NUM_THREADS=1 in them; the script checks), nothing else
running. Sections:

* overhead: `maxmargin.dask.svm_loss` on tiny data (2 chunks of 64 x 16,
  C = 4) on 2 workers, against a graph of the same shape whose tasks do
  nothing (the floor), one task submitted and waited for (dask's own round
  trip), and `maxmargin.svm_loss` in this process. Medians of 300 calls,
  interleaved.
* scaling: (163840, 3073, 10) float32, 2.0 GB, made on the workers and
  persisted in 20 chunks (100 MB) or 4 (500 MB); `svm_loss` with a bias,
  medians of 7 calls each on 1 worker and on 2 workers, and
  `maxmargin.svm_loss(n_threads=1 or 2)` on the same arrays whole in this
  process, before any cluster starts (n_threads=1: rows/s/core).
* dask-ml: binary labels on the same 2 GB X and the 2-worker cluster:
  LinearSVMClassifier(solver="lbfgs", p=2, max_iter=10, tol=0) against
  dask_ml LogisticRegression(solver="lbfgs", max_iter=10, tol=0); time per
  loss-and-gradient evaluation and total fit time.
* sgd: LinearSVMClassifier() (SGD, p = 1) on one machine against the
  distributed fit over 2, 4 and 8 chunks (2 workers), on the dense
  make_classification (100000 x 500, 10 classes) and the sparse text
  problem of bench/classifiers.py; held-out accuracy and fit time.

Prints markdown tables.
"""

import argparse
import operator
import os
import platform
import statistics
import time

import dask
import dask.array as da
import numpy as np
from distributed import Client, LocalCluster

import maxmargin
import maxmargin.dask as mmd
from maxmargin.dask import _chunks

SCALING_SHAPE = (163_840, 3073, 10)
SCALING_CHUNKS = 20


def cluster(n_workers):
    local = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                         host="127.0.0.1", dashboard_address="127.0.0.1:0",
                         memory_limit="8GiB", silence_logs=40)
    client = Client(local, timeout=60)
    client.wait_for_workers(n_workers, timeout=60)
    threads = set(client.run(lambda: os.environ.get("OMP_NUM_THREADS")).values())
    assert threads == {"1"}, f"workers' OMP_NUM_THREADS: {threads}"
    return local, client


def median_seconds(func, calls):
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _nothing(*_):
    return (0.0,)


def overhead():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((128, 16)).astype(np.float32)
    W = rng.standard_normal((16, 4)).astype(np.float32)
    b = np.zeros(4, np.float32)
    y = rng.integers(0, 4, 128)
    local, client = cluster(2)
    try:
        Xd, yd = client.persist([da.from_array(X, chunks=(64, 16)), da.from_array(y, chunks=64)])

        def floor():  # the same graph (a W literal, 2 chunk tasks, their sum), no work
            W_node = dask.delayed(W, pure=False)
            parts = [dask.delayed(_nothing, pure=False)(W_node, x, labels)
                     for x, labels in zip(_chunks.blocks(Xd), _chunks.blocks(yd))]
            _chunks.tree_sum(parts)

        calls = {"one dask task (submit, result)":
                 lambda: client.submit(operator.add, 1, 2, pure=False).result(),
                 "floor": floor,
                 "maxmargin.dask": lambda: mmd.svm_loss(W, Xd, yd, b=b),
                 "maxmargin (this process)": lambda: maxmargin.svm_loss(W, X, y, b=b)}
        for func in calls.values():
            median_seconds(func, 20)  # warm-up
        times = {name: [] for name in calls}
        for _ in range(30):  # interleaved rounds of 10 calls
            for name, func in calls.items():
                times[name].append(median_seconds(func, 10))
        med = {name: statistics.median(t) for name, t in times.items()}
    finally:
        client.close()
        local.close()
    print("\n### One distributed round, tiny data (2 chunks of 64 x 16, C = 4), 2 workers\n")
    print("| call | median ms |\n|---|---|")
    for name, t in med.items():
        print(f"| {name} | {1e3 * t:.2f} |")
    print(f"\nmaxmargin.dask - floor: {1e3 * (med['maxmargin.dask'] - med['floor']):.2f} ms")


def scaling_problem():
    n, d, c = SCALING_SHAPE
    rows = n // SCALING_CHUNKS

    def block(block_id=None):
        return np.random.default_rng([1, block_id[0]]).standard_normal(
            (rows, d), dtype=np.float32)

    X = da.map_blocks(block, dtype=np.float32, chunks=((rows,) * SCALING_CHUNKS, (d,)))
    y = da.map_blocks(lambda block_id=None: np.random.default_rng([2, block_id[0]]).integers(
        0, c, rows), dtype=np.int64, chunks=((rows,) * SCALING_CHUNKS,))
    rng = np.random.default_rng(3)
    W = (0.01 * rng.standard_normal((d, c))).astype(np.float32)
    b = np.zeros(c, np.float32)
    return X, y, W, b


def scaling():
    X, y, W, b = scaling_problem()
    n = X.shape[0]
    # Each call gets its own W, as L-BFGS's do: a repeated W would be the same
    # graph keys, which a cluster may answer from results still in memory.
    nudges = iter(np.float32(1e-7) * np.arange(1, 10_000, dtype=np.float32))

    def fresh_W():
        return W + next(nudges)

    # The single process first, in a process that has run no cluster yet.
    X_local, y_local = dask.compute(X, y, scheduler="synchronous")
    seconds = {}
    for threads in (1, 2):
        maxmargin.svm_loss(W, X_local, y_local, b=b, n_threads=threads)
        seconds[f"one process, n_threads={threads}"] = median_seconds(
            lambda: maxmargin.svm_loss(fresh_W(), X_local, y_local, b=b, n_threads=threads), 7)
    X_local = y_local = None  # 2 GB freed before the clusters start
    for workers in (1, 2):
        local, client = cluster(workers)
        try:
            for chunks in (SCALING_CHUNKS, 4):
                rows = n // chunks
                Xp, yp = client.persist([X.rechunk((rows, X.shape[1])), y.rechunk(rows)])
                distributed_wait(client, Xp, yp)
                mmd.svm_loss(W, Xp, yp, b=b)  # warm-up
                name = f"{workers} worker{'s' if workers > 1 else ''}, {chunks} chunks"
                seconds[name] = median_seconds(lambda: mmd.svm_loss(fresh_W(), Xp, yp, b=b), 7)
                Xp = yp = None
        finally:
            client.close()
            local.close()
    print(f"\n### Throughput, svm_loss over {SCALING_SHAPE} float32 with a bias "
          f"({X.nbytes / 1e9:.2f} GB)\n")
    print("| run | median s | rows/s | rows/s/core |\n|---|---|---|---|")
    for name, t in seconds.items():
        cores = 2 if ("n_threads=2" in name or name.startswith("2 workers")) else 1
        print(f"| {name} | {t:.3f} | {n / t:,.0f} | {n / t / cores:,.0f} |")
    single = seconds["one process, n_threads=1"]
    for chunks in (SCALING_CHUNKS, 4):
        one, two = seconds[f"1 worker, {chunks} chunks"], seconds[f"2 workers, {chunks} chunks"]
        print(f"\n{chunks} chunks: 2 workers / 1 worker {one / two:.2f}x; rows/s/core of 2 "
              f"workers / one process (1 thread) {single / (2 * two):.2f}")


def distributed_wait(client, *collections):
    from distributed import wait
    wait([f for c in collections for f in client.futures_of(c)], timeout=600)


def dask_ml_comparison():
    from dask_glm import algorithms
    from dask_ml.linear_model import LogisticRegression

    X, y, _, _ = scaling_problem()
    y = (y == 0).astype(np.int64)  # dask-ml's LogisticRegression is binary
    evaluations = {"dask-ml": 0}
    real = algorithms.fmin_l_bfgs_b

    def counting(func, *args, **kwargs):
        def counted(*a):
            evaluations["dask-ml"] += 1
            return func(*a)
        return real(counted, *args, **kwargs)

    algorithms.fmin_l_bfgs_b = counting
    local, client = cluster(2)
    try:
        Xp, yp = client.persist([X, y])
        distributed_wait(client, Xp, yp)
        started = time.perf_counter()
        ours = mmd.LinearSVMClassifier(solver="lbfgs", p=2, max_iter=10, tol=0.0,
                                       random_state=0).fit(Xp, yp)
        ours_seconds = time.perf_counter() - started
        started = time.perf_counter()
        LogisticRegression(solver="lbfgs", max_iter=10, tol=0.0).fit(Xp, yp)
        theirs_seconds = time.perf_counter() - started
    finally:
        algorithms.fmin_l_bfgs_b = real
        client.close()
        local.close()
    ours_evaluations = len(ours.loss_curve_)
    print(f"\n### L-BFGS on the cluster: {SCALING_SHAPE[:2]} float32, binary labels, 2 workers, "
          "max_iter=10\n")
    print("| fit | evaluations | s / evaluation | total s |\n|---|---|---|---|")
    print(f"| maxmargin.dask LinearSVMClassifier(solver='lbfgs', p=2) | {ours_evaluations} | "
          f"{ours_seconds / ours_evaluations:.3f} | {ours_seconds:.2f} |")
    print(f"| dask_ml LogisticRegression(solver='lbfgs') | {evaluations['dask-ml']} | "
          f"{theirs_seconds / evaluations['dask-ml']:.3f} | {theirs_seconds:.2f} |")
    print(f"\nper evaluation, maxmargin / dask-ml: "
          f"{(ours_seconds / ours_evaluations) / (theirs_seconds / evaluations['dask-ml']):.3f}")


def sgd_accuracy():
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from classifiers import problems
    from maxmargin.sklearn import LinearSVMClassifier

    wanted = {"text", "dense-synthetic"}
    local, client = cluster(2)
    print("\n### SGD (p = 1): one machine against local epochs per chunk and their "
          "average, 2 workers\n")
    print("| problem | fit | chunks | held-out accuracy | fit s |\n|---|---|---|---|---|")
    try:
        for key, _, build, _ in problems():
            if key not in wanted:
                continue
            name, X_train, X_test, y_train, y_test = build()
            started = time.perf_counter()
            one = LinearSVMClassifier(random_state=0).fit(X_train, y_train)
            seconds = time.perf_counter() - started
            print(f"| {name} | one machine | 1 | {one.score(X_test, y_test):.4f} | "
                  f"{seconds:.2f} |")
            for chunks in (2, 4, 8):
                rows = -(-X_train.shape[0] // chunks)
                Xd = da.from_array(X_train, chunks=(rows, X_train.shape[1]), asarray=False)
                yd = da.from_array(np.asarray(y_train), chunks=rows)
                Xd, yd = client.persist([Xd, yd])
                distributed_wait(client, Xd, yd)
                started = time.perf_counter()
                dist = mmd.LinearSVMClassifier(random_state=0).fit(Xd, yd)
                seconds = time.perf_counter() - started
                print(f"| | maxmargin.dask, {dist.n_iter_} epochs | {chunks} | "
                      f"{dist.score(X_test, y_test):.4f} | {seconds:.2f} |")
    finally:
        client.close()
        local.close()


SECTIONS = {"overhead": overhead, "scaling": scaling, "dask-ml": dask_ml_comparison,
            "sgd": sgd_accuracy}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append")
    args = parser.parse_args()
    import distributed
    print(f"maxmargin {maxmargin.__version__}, dask {dask.__version__}, distributed "
          f"{distributed.__version__}, numpy {np.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs")
    for name in args.only or SECTIONS:
        SECTIONS[name]()


if __name__ == "__main__":
    # Run as the module dask_scaling (bench/ is on sys.path, and the workers
    # inherit it), so that its task functions travel by name, as a library's
    # would, not pickled by value as functions of __main__ are.
    import dask_scaling
    dask_scaling.main()
