"""Ratio summary for the benchmarks: each kernel against its floor and the
NumPy reference, measured side by side in one run (SPEC.md §4).

Every benchmark sets ``extra_info["role"]`` to "floor", "maxmargin" (or a
variant such as "maxmargin reg=1e-3") or "reference"; the summary divides
medians (and minimums) within each group and prints a markdown table ready
for RESULTS.md.
"""

import platform

import numpy as np


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
    # "svm_loss float64 (N, D, C)=(1, 8, 2)" -> sort by dtype, then N*D*C
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
