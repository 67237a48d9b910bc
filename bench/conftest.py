"""Ratio summary for the benchmarks: each kernel against its floor and the
NumPy reference, measured side by side in one run (SPEC.md §4).

Every benchmark sets ``extra_info["role"]`` to "floor", "maxmargin" (or a
variant such as "maxmargin reg=1e-3") or "reference"; the summary divides
medians (and minimums) within each group and prints a markdown table ready
for RESULTS.md.
"""

import platform
import time

import numpy as np
import pytest


@pytest.fixture
def measure(benchmark):
    """measure(group, role, func): time the zero-argument `func` as `role` in
    `group`, the way every maxmargin benchmark does.

    Warm-up for 0.3 s first: caches, page mappings, and past the ~0.1 s that
    the *other* BLAS library's idle threads keep spinning after its last
    call. Then rounds of at least ~2 ms (timer overhead negligible even at
    2 us a call), about 1 s in all.
    """
    def run(group, role, func):
        benchmark.group = group
        benchmark.extra_info["role"] = role
        end = time.perf_counter() + 0.3
        calls = 0
        while time.perf_counter() < end or calls < 3:
            func()
            calls += 1
        per_call = 0.3 / calls
        iterations = max(1, int(2e-3 / per_call))
        rounds = max(7, min(200, int(1.0 / (per_call * iterations))))
        benchmark.pedantic(func, rounds=rounds, iterations=iterations, warmup_rounds=0)
    return run


def _stat(bench, name):
    stats = bench.stats.stats if hasattr(bench.stats, "stats") else bench.stats
    return getattr(stats, name)


def pytest_terminal_summary(terminalreporter, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks or session.disabled:
        return
    medians, minimums = {}, {}
    for bench in session.benchmarks:
        if not getattr(bench, "has_error", False) and bench.stats:
            role = bench.extra_info.get("role")
            medians.setdefault(bench.group, {})[role] = _stat(bench, "median")
            minimums.setdefault(bench.group, {})[role] = _stat(bench, "min")
    write = terminalreporter.write_line
    write("")
    write(f"maxmargin benchmark ratios ({platform.machine()}, numpy {np.__version__}); "
          "median ratios, with the ratio of minimums (least disturbed rounds) in brackets")
    write("")
    write("| group | floor | maxmargin | reference | maxmargin/floor | reference/maxmargin "
          "| maxmargin - floor | variants/maxmargin |")
    write("|---|---|---|---|---|---|---|---|")
    for group in sorted(medians, key=_group_key):
        med, low = medians[group], minimums[group]
        floor, mm, ref = med.get("floor"), med.get("maxmargin"), med.get("reference")
        if mm is None:
            continue
        variants = ", ".join(f"{name.split(' ', 1)[1]}: {t / mm:.2f}"
                             for name, t in sorted(med.items())
                             if name and name.startswith("maxmargin "))
        write("| {} | {} | {} | {} | {} | {} | {} | {} |".format(
            group, _us(floor), _us(mm), _us(ref),
            f"{mm / floor:.2f} ({low['maxmargin'] / low['floor']:.2f})" if floor else "",
            f"{ref / mm:.2f} ({low['reference'] / low['maxmargin']:.2f})" if ref else "",
            f"{_us(mm - floor)} ({_us(low['maxmargin'] - low['floor'])})" if floor else "",
            variants))


def _group_key(group):
    # "svm_loss float64 (N, D, C)=(1, 8, 2)" -> sort by name and dtype, then size
    head, _, shape = group.partition("=")
    try:
        dims = tuple(int(s) for s in shape.strip("()").split(","))
    except ValueError:
        dims = ()
    return head, int(np.prod(dims)) if dims else 0, dims


def _us(seconds):
    if seconds is None:
        return ""
    return f"{seconds * 1e6:.1f} us" if abs(seconds) < 1e-3 else f"{seconds * 1e3:.2f} ms"
