"""Test configuration: hypothesis profiles and common fixtures."""

import os
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# "ci" (the default) keeps the suite to a few minutes on 2 cores; "thorough"
# is for a long local run: HYPOTHESIS_PROFILE=thorough pytest
settings.register_profile(
    "ci", max_examples=200, deadline=None, derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def pytest_terminal_summary(terminalreporter):
    """How many examples the fuzz suite ran (tests/hardening/test_fuzz.py), and the
    memory the leak tests saw grow (tests/hardening/test_leaks.py)."""
    fuzz = sys.modules.get("test_fuzz")
    if fuzz is not None and fuzz.EXAMPLES_RUN:
        counts = ", ".join(f"{name} {n}" for name, n in sorted(fuzz.EXAMPLES_RUN.items()))
        terminalreporter.write_line(
            f"fuzz examples: {sum(fuzz.EXAMPLES_RUN.values())} ({counts})")
    leaks = sys.modules.get("test_leaks")
    if leaks is not None and leaks.MEASURED:
        traced = [t for t, _ in leaks.MEASURED.values()]
        rss = [r for _, r in leaks.MEASURED.values()]
        worst_traced = max(leaks.MEASURED, key=lambda name: leaks.MEASURED[name][0])
        worst_rss = max(leaks.MEASURED, key=lambda name: leaks.MEASURED[name][1])
        terminalreporter.write_line(
            f"leak check, {leaks.LEAK_CALLS} calls a case, {len(traced)} cases: traced growth "
            f"at most {max(traced)} bytes ({worst_traced}; limit {leaks.TRACED_SLACK}), "
            f"RSS growth at most {max(rss)} bytes ({worst_rss}; limit {leaks.RSS_SLACK})")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: needs minutes or many GB; run only when asked (-m slow)")


def pytest_collection_modifyitems(config, items):
    """Slow tests run only when a -m expression is given (pytest -m slow):
    here rather than in pyproject.toml, so that a run from outside the source
    tree (the wheel's tests) leaves them out too."""
    if config.option.markexpr:
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
