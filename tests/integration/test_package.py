"""The package as a user meets it: version, show_config, the demo, and
other packages' OpenMP runtimes in the same process."""

import importlib.util
import io
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import maxmargin
from maxmargin import _config


def test_version_has_one_source():
    from maxmargin._version import __version__
    assert maxmargin.__version__ == __version__
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", __version__)


def test_show_config_reports_build_and_runtime():
    out = io.StringIO()
    maxmargin.show_config(file=out)
    text = out.getvalue()
    for key in ("maxmargin", "openmp", "threads (n_threads=None)", "blas", "output cache",
                "compiler", "cython"):
        assert key in text, key
    info = _config.config()
    assert info["maxmargin"] == maxmargin.__version__
    assert isinstance(info["openmp"], bool)
    assert info["threads (n_threads=None)"] >= 1
    assert info["cython"].startswith("3.")
    assert info["instruction set"].split()[0] in ("portable", "native")
    if not info["openmp"]:
        assert "serial build" in text


def test_public_api():
    assert set(maxmargin.__all__) == {
        "__version__", "show_config", "multiclass_hinge", "svm_loss", "ranking_hinge",
        "linear_forward", "linear_backward", "LinearCache", "matmul_backward",
        "embedding_backward", "xavier_init", "set_cache_limit", "cache_info",
        "release_cached_memory"}
    for name in maxmargin.__all__:
        assert hasattr(maxmargin, name), name
    assert "Weston-Watkins" in maxmargin.multiclass_hinge.__doc__
    assert "Conventions" in maxmargin.svm_loss.__doc__
    assert "Conventions" in maxmargin.ranking_hinge.__doc__
    assert "n_threads" in maxmargin.linear_backward.__doc__


def test_show_config_says_which_python_modules_run_compiled():
    line = _config.config()["python layer"]
    compiled = [m for m in _config.COMPILED_PYTHON if not m.__file__.endswith(".py")]
    if _config.config()["debug build"]:
        assert not compiled and line.startswith("interpreted")
    else:
        assert compiled, "a release build compiles the Python layer's hot modules"
        for module in compiled:
            assert module.__name__.rsplit(".", 1)[1] + ".py" in line


README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_tour_runs():
    """The README's tour as a user would paste it (it is in the source tree
    only: the wheel's test run, from outside it, has no README)."""
    if not README.exists():
        pytest.skip("README.md is not beside the tests (a run from outside the source tree)")
    text = README.read_text()
    tour = text.split("## A short tour", 1)[1]
    code = tour.split("```python\n", 1)[1].split("```", 1)[0]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "simd path" in result.stdout


def test_demo_runs_and_reports_agreement():
    result = subprocess.run([sys.executable, "-m", "maxmargin", "--samples", "60"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "agreement: OK" in result.stdout
    assert "float64" in result.stdout and "float32" in result.stdout


def test_digits_demo_trains_compares_and_plots(tmp_path):
    figure = tmp_path / "digits.png"
    args = [sys.executable, "-m", "maxmargin", "demo"]
    try:
        import matplotlib  # noqa: F401  (the demo extra; --plot needs it)
        args += ["--plot", str(figure)]
    except ImportError:
        figure = None
    result = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for name in ("maxmargin LinearSVMClassifier()", "LinearSVC(multi_class=\"crammer_singer\")",
                 "LinearSVC()", "SGDClassifier(loss=\"hinge\")"):
        assert name in out
    assert "gradient check of dW: GradientCheck(passed" in out
    assert "demo: OK" in out
    if figure is not None:
        assert figure.stat().st_size > 10_000


# Each package brings its own OpenMP runtime: a source build of maxmargin
# links the system's libgomp, the wheel its own copy under a hashed name,
# scikit-learn's wheel another, PyTorch's yet another. Each extension binds
# to the runtime it was linked with, so they must all work in one process,
# in either import order, with each one's parallel loops running in turn.
OPENMP_NEIGHBOURS_SCRIPT = textwrap.dedent("""
    import importlib, sys
    import numpy as np
    for name in sys.argv[1:]:
        importlib.import_module(name)
    import maxmargin
    from maxmargin import reference
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 300))
    W = rng.standard_normal((300, 10)) * 1e-2
    y = rng.integers(0, 10, 2000)
    expected = reference.svm_loss(W, X, y)
    for round in range(2):
        KMeans(8, n_init=1, random_state=0).fit(X)   # scikit-learn's OpenMP loops
        if "torch" in sys.argv:
            import torch
            torch.set_num_threads(2)
            torch.from_numpy(X).sum(dim=1).tanh_()  # PyTorch's OpenMP pool
        for n_threads in (1, 2):                     # maxmargin's (single pass, C = 10)
            loss, dW = maxmargin.svm_loss(W, X, y, n_threads=n_threads)
            assert abs(loss - expected[0]) <= 1e-12 * abs(expected[0]), loss
            np.testing.assert_allclose(dW, expected[1], rtol=1e-10, atol=1e-14)
    print("OK")
""")


@pytest.mark.parametrize("imports", [
    ["sklearn", "maxmargin"], ["maxmargin", "sklearn"],
    ["torch", "sklearn", "maxmargin"], ["maxmargin", "sklearn", "torch"]],
    ids="-".join)
def test_openmp_runtimes_of_other_packages_coexist(imports):
    missing = [name for name in imports if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (extras: test, peers)")
    result = subprocess.run([sys.executable, "-c", OPENMP_NEIGHBOURS_SCRIPT, *imports],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "OK"
