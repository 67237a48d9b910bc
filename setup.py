"""Build the Cython kernels in ``kernels/`` into modules of the ``maxmargin`` package.

One compiled module per kernel family or shared layer (kernels/README.md):
``kernels/<room>/_<name>.pyx`` becomes ``maxmargin._<name>``, with the
plain C of that room compiled beside it. Cython cimports and C includes name
their room from ``kernels/`` (``from common.blas cimport gemm``,
``#include "simd/isa.h"``).

Everything about how the kernels are compiled is decided here, once:

* Cython directives (bounds checks off for speed; ``MAXMARGIN_DEBUG=1`` turns
  them back on and compiles with ``-O0 -g`` for debugging builds).
* OpenMP: the compiler is probed with a tiny test program; if it cannot build
  and link OpenMP code (or ``MAXMARGIN_NO_OPENMP=1``) the kernels are compiled
  serially and the build says so. ``maxmargin.show_config()`` reports which
  way the installed build went.
* ``MAXMARGIN_SANITIZE=address,undefined`` (any -fsanitize= list) builds
  with those sanitizers, ``-O1 -g``; run it with the sanitizer runtime
  preloaded (tests/sanitize.sh does both).
* ``MAXMARGIN_NATIVE=1`` adds ``-march=native`` (local builds only: such a
  binary may not run on another machine). The default build is portable
  (the compiler's baseline for the platform, SSE2 on x86-64): a wheel runs
  on any CPU of its architecture, and the SIMD kernels choose AVX2/FMA or
  AVX-512 at import (kernels/simd/).
* The Python layer's hot modules are also compiled (see COMPILED_PYTHON).
"""

import glob
import os
import sys
import tempfile
import textwrap

import Cython
import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _switch(name):
    return os.environ.get(name, "0") not in ("", "0")


DEBUG = _switch("MAXMARGIN_DEBUG")
NATIVE = _switch("MAXMARGIN_NATIVE")
SERIAL = _switch("MAXMARGIN_NO_OPENMP")
SANITIZE = os.environ.get("MAXMARGIN_SANITIZE", "")

# Each kind of build keeps its own build tree (generated C, objects, and the
# staging area the wheel is made from), so switching a MAXMARGIN_* variable
# never packages a module built the other way.
BUILD_BASE = os.path.join("build", "-".join(
    ["debug" if DEBUG else "release"] + (["native"] if NATIVE else [])
    + (["serial"] if SERIAL else [])
    + (["sanitize-" + SANITIZE.replace(",", "-")] if SANITIZE else [])))

COMPILER_DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
    "embedsignature": True,
}

# Every compiled module: (name inside the package, Cython source, the plain
# C compiled into it). The SIMD kernels' C is compiled once per instruction
# set inside each file (kernels/simd/instantiate.h) and chosen at run time.
EXTENSIONS = [
    ("maxmargin._runtime", "kernels/common/_runtime.pyx", []),
    ("maxmargin._simd", "kernels/simd/_simd.pyx", ["kernels/simd/cpu.c"]),
    ("maxmargin._memory", "kernels/memory/_memory.pyx", ["kernels/memory/blocks.c"]),
    ("maxmargin._hinge", "kernels/hinge/_hinge.pyx",
     ["kernels/hinge/fewclass.c", "kernels/hinge/classvec.c", "kernels/hinge/l2_term.c"]),
    ("maxmargin._ranking", "kernels/ranking/_ranking.pyx", ["kernels/ranking/ranking_flat.c"]),
    ("maxmargin._layers", "kernels/layers/_layers.pyx", []),
    ("maxmargin._sparse", "kernels/sparse/_sparse.pyx",
     ["kernels/sparse/csr_rows.c", "kernels/hinge/l2_term.c"]),
    ("maxmargin._floors", "kernels/floors/_floors.pyx", []),
]
# Every header and declaration file: a change to any rebuilds every module.
DEPENDS = sorted(glob.glob("kernels/**/*.h", recursive=True)
                 + glob.glob("kernels/**/*.pxd", recursive=True))

# The Python layer's hot modules, compiled as they are (plain Python, no
# Cython syntax): a small call is mostly argument checking, which compiled
# code does in a fraction of the time (bench/results/2026-12-04.md). The .py
# files ship too and stay the source of truth; show_config() says which
# modules run compiled, and a debug build leaves them all interpreted so
# they can be stepped through.
COMPILED_PYTHON = [] if DEBUG else [
    ("maxmargin._validation", "src/maxmargin/_validation.py", []),
    ("maxmargin.hinge", "src/maxmargin/hinge.py", []),
    ("maxmargin.ranking", "src/maxmargin/ranking.py", []),
    ("maxmargin.layers", "src/maxmargin/layers.py", []),
]

OPENMP_TEST_PROGRAM = textwrap.dedent(
    """
    #include <omp.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        return n == omp_get_max_threads() ? 0 : 1;
    }
    """
)


def _openmp_flags(compiler):
    """Return (compile_args, link_args) that build OpenMP code, or None."""
    if compiler.compiler_type == "msvc":
        candidates = [(["/openmp"], [])]
    else:
        candidates = [(["-fopenmp"], ["-fopenmp"]),
                      (["-Xpreprocessor", "-fopenmp"], ["-lomp"])]
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "openmp_probe.c")
        with open(source, "w") as f:
            f.write(OPENMP_TEST_PROGRAM)
        for compile_args, link_args in candidates:
            try:
                objects = compiler.compile([source], output_dir=tmp,
                                           extra_postargs=compile_args)
                compiler.link_executable(objects, "openmp_probe", output_dir=tmp,
                                         extra_postargs=link_args)
            except Exception:  # any compile or link failure means "not this way"
                continue
            return compile_args, link_args
    return None


class BuildExtWithOpenMP(build_ext):
    """Probe the compiler for OpenMP and set the flags of every extension."""

    def build_extensions(self):
        flags = None
        if not SERIAL:
            flags = _openmp_flags(self.compiler)
        if flags is None:
            print("maxmargin: OpenMP not available; building serial kernels",
                  file=sys.stderr)
        else:
            print(f"maxmargin: building with OpenMP ({' '.join(flags[0])})",
                  file=sys.stderr)
        is_msvc = self.compiler.compiler_type == "msvc"
        for ext in self.extensions:
            if flags is not None:
                ext.extra_compile_args += flags[0]
                ext.extra_link_args += flags[1]
            if is_msvc:
                ext.extra_compile_args += ["/Od", "/Zi"] if DEBUG else ["/O2"]
            else:
                if SANITIZE:
                    ext.extra_compile_args += [f"-fsanitize={SANITIZE}", "-O1", "-g",
                                               "-fno-omit-frame-pointer"]
                    ext.extra_link_args += [f"-fsanitize={SANITIZE}"]
                else:
                    # -g0: Python's own CFLAGS carry -g, and debug info would
                    # triple the wheel's size; symbols stay for profilers.
                    ext.extra_compile_args += ["-O0", "-g"] if DEBUG else ["-O3", "-g0"]
                # Evaluate float expressions as written (no FMA contraction), so
                # the kernels round exactly like the NumPy reference. Without
                # trapping math the compiler may turn the hinge's selects into
                # branch-free max/blend instructions; it changes which FP
                # exception flags get raised, never a computed value.
                ext.extra_compile_args += ["-ffp-contract=off", "-fno-trapping-math"]
                if NATIVE:
                    ext.extra_compile_args += ["-march=native"]
        super().build_extensions()


def _extensions():
    macros = [
        # The kernels read arrays through typed memoryviews; NumPy's C API
        # (the header checks of common/array_headers.pxd) is the current one.
        ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
        ("MAXMARGIN_CYTHON_VERSION", '"%s"' % Cython.__version__),
        ("MAXMARGIN_DEBUG_BUILD", "1" if DEBUG else "0"),
        ("MAXMARGIN_NATIVE_BUILD", "1" if NATIVE else "0"),
    ]
    extensions = [Extension(name, [source] + c_sources, define_macros=macros,
                            include_dirs=["kernels", numpy.get_include()],
                            depends=DEPENDS)
                  for name, source, c_sources in EXTENSIONS + COMPILED_PYTHON]
    return cythonize(
        extensions,
        include_path=["kernels"],
        compiler_directives=COMPILER_DIRECTIVES,
        build_dir=os.path.join(BUILD_BASE, "cython"),
    )


setup(
    ext_modules=_extensions(),
    cmdclass={"build_ext": BuildExtWithOpenMP},
    options={"build": {"build_base": BUILD_BASE}},
)
