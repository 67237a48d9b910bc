"""examples/dask_fit.py, small, run as a user runs it: it starts its
cluster, fits data made on the workers, reports and stops."""

import subprocess
import sys
from pathlib import Path

from clusters import TIMEOUT

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "dask_fit.py"


def test_the_example_fits_on_its_own_cluster():
    run = subprocess.run([sys.executable, str(EXAMPLE), "--chunks", "6", "--rows", "5000",
                          "--epochs", "3", "--memory-limit", "1GiB"],
                         capture_output=True, text=True, timeout=2 * TIMEOUT)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "dashboard http://127.0.0.1:" in out
    assert "X: 30,000 x 64 float32" in out
    assert "fit: 3 epochs" in out
    accuracy = float(out.split("held-out accuracy: ")[1].split()[0])
    assert accuracy >= 0.6
