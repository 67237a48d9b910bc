"""Real clusters: a scheduler and workers started by their command lines,
workers whose memory limit is below the dataset's size, and a worker killed
in the middle of a fit. All on 127.0.0.1, started and stopped here."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import dask.array as da
import numpy as np
import pytest

from clusters import TIMEOUT, distributed, local_cluster
from maxmargin.dask import LinearSVMClassifier
from maxmargin.sklearn import LinearSVMClassifier as OneMachine

N_FEATURES, N_CLASSES = 64, 6


def planted_weights():
    return np.random.default_rng(99).standard_normal((N_FEATURES, N_CLASSES)).astype(np.float32)


def make_block(block_id=None, rows=None, seed=7):
    """Chunk number block_id[0] of the planted problem, made where it runs:
    the same bits whichever worker makes it, and again after a worker dies."""
    rng = np.random.default_rng([seed, block_id[0]])
    return rng.standard_normal((rows, N_FEATURES), dtype=np.float32)


def planted_labels(X):
    noise = np.random.default_rng(int(abs(X[0, 0]) * 1e6)).standard_normal(
        (X.shape[0], N_CLASSES)).astype(np.float32)
    return np.argmax(X @ planted_weights() + 2 * noise, axis=1)


def planted(n_chunks, rows, seed=7):
    """X (n_chunks * rows, 64) float32 made chunk by chunk on the workers, and
    y from each chunk of X."""
    X = da.map_blocks(make_block, rows=rows, seed=seed, dtype=np.float32,
                      chunks=((rows,) * n_chunks, (N_FEATURES,)))
    y = X.map_blocks(planted_labels, drop_axis=1, dtype=np.intp)
    return X, y


def test_scheduler_and_workers_from_the_command_line(tmp_path):
    dask_command = os.path.join(os.path.dirname(sys.executable), "dask")
    assert os.path.exists(dask_command), "distributed installs the dask command"
    scheduler_file = tmp_path / "scheduler.json"
    log = open(tmp_path / "cluster.log", "w")
    # The workers import this file's functions (make_block, planted_labels)
    # by name, as the client pickles them.
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [here, os.path.dirname(here), os.environ.get("PYTHONPATH", "")]))
    started = []
    try:
        started.append(subprocess.Popen(
            [dask_command, "scheduler", "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--scheduler-file", str(scheduler_file)],
            stdout=log, stderr=subprocess.STDOUT, env=env))
        deadline = time.monotonic() + TIMEOUT
        while not scheduler_file.exists() or not scheduler_file.read_text():
            assert time.monotonic() < deadline, "the scheduler did not start"
            assert started[0].poll() is None, "the scheduler exited"
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for _ in range(2):
            started.append(subprocess.Popen(
                [dask_command, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                 "--no-dashboard", "--memory-limit", "1GiB"],
                stdout=log, stderr=subprocess.STDOUT, env=env))
        with distributed.Client(address, timeout=TIMEOUT) as client:
            client.wait_for_workers(2, timeout=TIMEOUT)
            assert all(w.startswith("tcp://127.0.0.1:")
                       for w in client.scheduler_info()["workers"])
            X, y = planted(8, 2000)
            params = dict(solver="lbfgs", p=2, max_iter=50, random_state=0)
            clf = LinearSVMClassifier(**params).fit(X, y)
            X_local, y_local = X.compute(scheduler="synchronous"), y.compute(
                scheduler="synchronous")
            one = OneMachine(**params).fit(X_local, y_local)
            scale = np.abs(one.coef_).max()
            np.testing.assert_allclose(clf.coef_, one.coef_, rtol=0, atol=2e-3 * scale)
            assert float(clf.score(X, y)) == pytest.approx(one.score(X_local, y_local),
                                                           abs=0.005)
            client.shutdown()  # the scheduler and both workers exit
        for process in started:
            assert process.wait(timeout=TIMEOUT) is not None
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=TIMEOUT)
        log.close()


OLD_DISTRIBUTED = tuple(int(part) for part in distributed.__version__.split(".")[:2]) < (2025, 1)


@pytest.mark.skipif(OLD_DISTRIBUTED, reason="under distributed 2024.8 (what pip installs beside "
                    "numpy < 1.24) this run did not finish in 5 minutes; not yet understood")
def test_data_larger_than_a_workers_memory_limit():
    """Two workers of 400 MiB fit 512 MB of X made on them chunk by chunk:
    with persist=False each pass makes a chunk, uses it and lets it go, and
    no worker is paused, restarted or spills."""
    n_chunks, rows = 32, 62500  # 32 chunks of 16 MB
    X, y = planted(n_chunks, rows)
    assert X.nbytes == 512_000_000
    limit = 400 * 2 ** 20
    with local_cluster(memory_limit=limit) as cluster, \
            distributed.Client(cluster, timeout=TIMEOUT) as client:
        client.wait_for_workers(2, timeout=TIMEOUT)
        before = client.run(os.getpid)
        clf = LinearSVMClassifier(persist=False, max_iter=2, tol=None,
                                  random_state=0).fit(X, y)
        assert clf.n_iter_ == 2
        assert client.run(os.getpid) == before  # no worker died or was restarted
        spilled = client.run(lambda dask_worker: len(dask_worker.data.slow)
                             if hasattr(dask_worker.data, "slow") else 0)
        assert not any(spilled.values())
        X_test, y_test = planted(1, 20000, seed=8)
        accuracy = float(clf.score(X_test, y_test))
    assert accuracy > 0.6  # planted classes; chance is 1/6


def test_a_worker_killed_mid_fit_changes_nothing():
    """The scheduler reruns a dead worker's tasks (its chunks of X are made
    again from the graph): the fit ends with the coefficients of a fit that
    no fault touched, bit for bit."""
    X, y = planted(8, 3000)
    params = dict(solver="lbfgs", p=2, max_iter=40, tol=None, random_state=0)
    with local_cluster(memory_limit="1GiB", silence_logs=50) as cluster, \
            distributed.Client(cluster, timeout=TIMEOUT) as client:
        client.wait_for_workers(2, timeout=TIMEOUT)
        calm = LinearSVMClassifier(**params).fit(X, y)

        disturbed = LinearSVMClassifier(**params)
        killed = {}

        def kill_one_worker():
            deadline = time.monotonic() + TIMEOUT
            while len(getattr(disturbed, "loss_curve_", [])) < 10:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.005)
            killed["at_evaluation"] = len(disturbed.loss_curve_)
            _, pid = sorted(client.run(os.getpid).items())[0]
            killed["pid"] = pid
            os.kill(pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_one_worker, daemon=True)
        killer.start()
        disturbed.fit(X, y)
        killer.join(timeout=TIMEOUT)
        assert "pid" in killed, "the fit ended before a worker could be killed"
        assert killed["at_evaluation"] < len(disturbed.loss_curve_)
        client.wait_for_workers(2, timeout=TIMEOUT)  # the nanny restarted it
        assert killed["pid"] not in client.run(os.getpid).values()
        np.testing.assert_array_equal(disturbed.coef_, calm.coef_)
        np.testing.assert_array_equal(disturbed.intercept_, calm.intercept_)
        assert disturbed.loss_curve_ == calm.loss_curve_
