"""How the compiled kernels run: the SIMD path, the tunables, the dtype.

* The SIMD path (kernels/simd/isa.h: "baseline", "avx2", "avx512") is chosen
  once at import, the best this CPU runs or the one MAXMARGIN_SIMD names,
  and can be changed with `select_simd_path` (tests, benchmarks).
* `configure` hands every kernel family (FAMILIES) the path and its
  entries of the tunables table (`maxmargin._tunables`), resolved for that
  path; it runs at import, on every change of path and on every override.
* `by_dtype` picks a fused kernel's float32 or float64 specialisation.

A family's kernels read only what `configure` gave them: nothing here runs
per call.
"""

import importlib
import os

import numpy as np

from . import _simd
from . import _tunables

# The compiled modules that take a SIMD path and tunables (`_configure`).
FAMILIES = ("_hinge", "_ranking", "_layers", "_sparse")

_active = None


def simd_paths():
    """The SIMD paths compiled into this build that this CPU can run, best
    first (e.g. ["avx512", "avx2", "baseline"])."""
    return [name for name in _simd.compiled_paths() if _simd.cpu_supports(name)]


def simd_path():
    """The name of the SIMD path in use."""
    return _active


def select_simd_path(name):
    """Use the named SIMD path ("auto": the best this CPU runs) in every
    family. Process-wide; not meant to be changed while kernels run in
    other threads (a call in flight keeps the path it started with).
    Raises ValueError for a name not compiled in or a path this CPU cannot
    run, TypeError for a name that is not a str."""
    global _active
    if not isinstance(name, str):
        raise TypeError(f"SIMD path: expected a str, got {type(name).__name__}")
    compiled = _simd.compiled_paths()
    if name == "auto":
        name = simd_paths()[0]
    elif name not in compiled:
        raise ValueError(f"unknown SIMD path {name!r}: expected 'auto' or one of "
                         f"{', '.join(compiled)}")
    elif not _simd.cpu_supports(name):
        raise ValueError(f"SIMD path {name!r} cannot run on this CPU; it runs: "
                         f"{', '.join(simd_paths())}")
    _active = name
    configure()


def configure():
    """Give every family the SIMD path in use and its tunables."""
    values = _tunables.resolve(_active)
    for family in FAMILIES:
        module = importlib.import_module(f"{__package__}.{family}")
        module._configure(_active, _tunables.for_family(family, values))


def by_dtype(fused_kernel):
    """The fused Cython kernel's float32 and float64 specialisations, keyed by
    dtype: the caller picks one directly, skipping Cython's run-time fused
    dispatch (a quarter of a small call)."""
    specialised = fused_kernel.__signatures__
    return {np.dtype(np.float32): specialised["float"],
            np.dtype(np.float64): specialised["double"]}


def _select_from_environment():
    """MAXMARGIN_SIMD forces a path; unset or empty means "auto"."""
    name = os.environ.get("MAXMARGIN_SIMD", "").strip() or "auto"
    try:
        select_simd_path(name)
    except ValueError as error:
        raise ImportError(f"maxmargin: MAXMARGIN_SIMD={name}: {error}") from None


_select_from_environment()
