"""Clusters for the maxmargin.dask tests: real worker processes, loopback
only, started and stopped by the tests, every wait bounded."""

import pytest

distributed = pytest.importorskip("distributed", reason="the test extra installs distributed")

# Every cluster operation in these tests waits at most this long.
TIMEOUT = 60


@pytest.fixture(scope="package")
def client():
    """Two single-threaded worker processes on 127.0.0.1 (the shape the
    benchmarks use), shared by the tests that do not kill or starve them."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                  memory_limit="2GiB", silence_logs=40) as cluster, \
            distributed.Client(cluster, timeout=TIMEOUT) as client:
        client.wait_for_workers(2, timeout=TIMEOUT)
        yield client


@pytest.fixture(autouse=True)
def bounded_in_time():
    """A cluster test that hangs ends the run with every thread's stack
    printed, rather than holding CI until its own limit."""
    import faulthandler
    faulthandler.dump_traceback_later(5 * TIMEOUT, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()
