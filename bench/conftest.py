"""Ratio summary for the benchmarks: each kernel against its floor and the
NumPy reference, measured side by side in one run (SPEC.md §4).

Every benchmark sets ``extra_info["role"]`` to "floor", "maxmargin" (or a
variant such as "maxmargin n_threads=1") or "reference"; the summary divides
medians within each group and prints a markdown table ready for RESULTS.md.
"""

import platform

import numpy as np


def _median(bench):
    return bench.stats.stats.median if hasattr(bench.stats, "stats") else bench.stats.median


def pytest_terminal_summary(terminalreporter, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks or session.disabled:
        return
    groups = {}
    for bench in session.benchmarks:
        if not getattr(bench, "has_error", False) and bench.stats:
            groups.setdefault(bench.group, {})[bench.extra_info.get("role")] = _median(bench)
    write = terminalreporter.write_line
    write("")
    write(f"maxmargin benchmark ratios (medians; {platform.processor() or platform.machine()}, "
          f"numpy {np.__version__})")
    write("")
    write("| group | floor | maxmargin | reference | maxmargin/floor | reference/maxmargin "
          "| maxmargin - floor | variants/maxmargin |")
    write("|---|---|---|---|---|---|---|---|")
    for group in sorted(groups, key=_group_key):
        roles = groups[group]
        floor, mm, ref = roles.get("floor"), roles.get("maxmargin"), roles.get("reference")
        if mm is None:
            continue
        variants = ", ".join(f"{name.split(' ', 1)[1]}: {t / mm:.2f}"
                             for name, t in sorted(roles.items())
                             if name and name.startswith("maxmargin "))
        write("| {} | {} | {} | {} | {} | {} | {} | {} |".format(
            group, _us(floor), _us(mm), _us(ref),
            f"{mm / floor:.2f}" if floor else "",
            f"{ref / mm:.1f}" if ref else "",
            _us(mm - floor) if floor else "", variants))


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
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"
