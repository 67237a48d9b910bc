"""`show_config()`: how this installation of maxmargin was built and will run."""

import platform
import sys

import numpy as np
import scipy

from . import _dispatch
from . import _memory
from . import _runtime
from . import _validation
from . import hinge, layers, ranking
from ._version import __version__

# The Python layer's modules that setup.py compiles with Cython (except in a
# debug build): the .py files installed beside them are their source.
COMPILED_PYTHON = (_validation, hinge, layers, ranking)


def _blas_info():
    """The BLAS that scipy.linalg.cython_blas (and so every maxmargin GEMM) uses."""
    try:
        deps = scipy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{deps.get('name', 'unknown')} {deps.get('version', '')}".strip()
    except Exception:  # older SciPy or an unusual build: report, don't fail
        return "unknown (see scipy.show_config())"


def _cache_line():
    limit, held = _memory.cache_info()
    if limit == 0:
        return "off (MAXMARGIN_CACHE_MB=0 or set_cache_limit(0))"
    return (f"up to {limit / 2**20:g} MiB of freed outputs kept for reuse, "
            f"{held / 2**20:.1f} MiB now (MAXMARGIN_CACHE_MB sets the limit)")


def _python_layer():
    compiled = [m.__name__.rsplit(".", 1)[1] + ".py" for m in COMPILED_PYTHON
                if not m.__file__.endswith(".py")]
    if not compiled:
        return "interpreted (every module runs from its .py file)"
    return (f"{', '.join(compiled)} compiled by Cython (the .py files beside them "
            "are their source); the rest interpreted")


def config():
    """The facts `show_config` prints, as a dict."""
    build = _runtime.build_info()
    return {
        "maxmargin": __version__,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "blas (via scipy.linalg.cython_blas)": _blas_info(),
        "openmp": _runtime.openmp_enabled(),
        "threads (n_threads=None)": _validation.n_threads(None, "show_config"),
        "simd path (svm_loss few classes, ranking)": (
            f"{_dispatch.simd_path()} (this CPU runs: {', '.join(_dispatch.simd_paths())}; "
            "MAXMARGIN_SIMD forces one)"),
        "output cache": _cache_line(),
        "instruction set": ("native (-march=native: this CPU only)" if build["native"]
                            else "portable (baseline; SIMD paths chosen at run time)"),
        "compiler": build["compiler"],
        "cython": build["cython"],
        "debug build": build["debug"],
        "python layer": _python_layer(),
    }


def show_config(file=None):
    """Print the version, OpenMP state and default thread count, the BLAS in
    use, the SIMD path of the few-classes and ranking kernels, the output
    cache, the compiler and Cython version the kernels were built with, and
    which modules of the Python layer run compiled."""
    file = sys.stdout if file is None else file
    info = config()
    if not info["openmp"]:
        info["openmp"] = (
            "False (a serial build: MAXMARGIN_NO_OPENMP=1, a compiler without "
            "OpenMP, or the macOS wheels; every loop runs on one thread, "
            "whatever n_threads asks)")
    width = max(map(len, info))
    for key, value in info.items():
        print(f"{key:<{width}} : {value}", file=file)
