"""The package as a user meets it: version, show_config, the demo."""

import io
import re
import subprocess
import sys

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
    for key in ("maxmargin", "openmp", "threads (n_threads=None)", "blas", "compiler", "cython"):
        assert key in text, key
    info = _config.config()
    assert info["maxmargin"] == maxmargin.__version__
    assert isinstance(info["openmp"], bool)
    assert info["threads (n_threads=None)"] >= 1
    assert info["cython"].startswith("3.")


def test_public_api():
    assert set(maxmargin.__all__) == {
        "__version__", "show_config", "multiclass_hinge", "svm_loss", "ranking_hinge",
        "linear_forward", "linear_backward", "LinearCache", "matmul_backward",
        "embedding_backward", "xavier_init"}
    for name in maxmargin.__all__:
        assert hasattr(maxmargin, name), name
    assert "Weston-Watkins" in maxmargin.multiclass_hinge.__doc__
    assert "Conventions" in maxmargin.svm_loss.__doc__
    assert "Conventions" in maxmargin.ranking_hinge.__doc__
    assert "n_threads" in maxmargin.linear_backward.__doc__


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
