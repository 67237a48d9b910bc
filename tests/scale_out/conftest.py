"""Clusters for the maxmargin.dask tests: real worker processes, loopback
only, started and stopped by the tests, every wait bounded."""

import faulthandler

import pytest

from clusters import TIMEOUT, distributed, local_cluster


@pytest.fixture(scope="package")
def client():
    """Two single-threaded worker processes (the shape the benchmarks use),
    shared by the tests that do not kill or starve them."""
    with local_cluster() as cluster, distributed.Client(cluster, timeout=TIMEOUT) as client:
        client.wait_for_workers(2, timeout=TIMEOUT)
        yield client


@pytest.fixture(autouse=True)
def bounded_in_time():
    """A cluster test that hangs ends the run after five minutes (printing
    every thread's stack where stderr is not captured: pytest -s), rather
    than holding CI until its own limit."""
    faulthandler.dump_traceback_later(5 * TIMEOUT, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()
