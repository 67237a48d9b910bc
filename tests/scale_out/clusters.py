"""What the cluster tests share: the bound on every wait and the one way a
local cluster is started here (worker processes, 127.0.0.1 only)."""

import pytest

distributed = pytest.importorskip("distributed", reason="the test extra installs distributed")

# Every cluster operation in these tests waits at most this long.
TIMEOUT = 60


def local_cluster(n_workers=2, memory_limit="2GiB", silence_logs=40):
    """A LocalCluster of single-threaded worker processes, listening (and
    serving their dashboards) on loopback only."""
    return distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                    processes=True, host="127.0.0.1",
                                    dashboard_address="127.0.0.1:0",
                                    memory_limit=memory_limit, silence_logs=silence_logs)
