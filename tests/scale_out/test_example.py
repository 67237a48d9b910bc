"""examples/dask_fit.py, small: it starts its cluster, fits data made on the
workers, reports and stops."""

import importlib.util
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "dask_fit.py"


def test_the_example_fits_on_its_own_cluster(capsys):
    spec = importlib.util.spec_from_file_location("dask_fit", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    # The workers (spawned with this process's sys.path) import make_chunk
    # and label_chunk by their module's name.
    sys.modules["dask_fit"] = example
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        status = example.main(["--chunks", "6", "--rows", "5000", "--epochs", "3",
                               "--memory-limit", "1GiB"])
    finally:
        sys.path.remove(str(EXAMPLE.parent))
        del sys.modules["dask_fit"]
    out = capsys.readouterr().out
    assert status == 0, out
    assert "dashboard http://127.0.0.1:" in out
    assert "X: 30,000 x 64 float32" in out
    assert "fit: 3 epochs" in out
    accuracy = float(out.split("held-out accuracy: ")[1].split()[0])
    assert accuracy >= 0.6
