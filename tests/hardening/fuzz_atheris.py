"""Coverage-guided fuzzing of every public kernel with atheris (libFuzzer).

The calls and their checks are those of test_fuzz.py: atheris's byte
strings drive the same hypothesis strategies (through hypothesis's
``fuzz_one_input``), so every input is a call to one kernel, valid or
with up to two arguments replaced by something else, and must return
what the NumPy reference returns or raise ValueError/TypeError in the
house format. What atheris adds is feedback: the extensions are compiled
with clang's ``-fsanitize=address,fuzzer-no-link``, so inputs that reach
new branches of the validation layer and the kernels (C and Cython) are
kept and mutated further, and AddressSanitizer stops at the first
invalid read or write.

Run it through tests/hardening/atheris.sh, which builds that instrumented copy:

    bash tests/hardening/atheris.sh 600          # ten minutes

A failure (a Python exception from a check, or a sanitizer report) leaves
a ``crash-<sha1>`` file; ``python tests/hardening/fuzz_atheris.py crash-<sha1>``
with the same environment replays it.
"""

import os
import sys
import time

import atheris

# Instrument maxmargin's pure-Python modules (the reference, the package's
# __init__); the compiled modules carry clang's instrumentation already.
with atheris.instrument_imports(include=["maxmargin"]):
    import maxmargin  # noqa: F401
    from maxmargin import reference  # noqa: F401

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# This folder (test_fuzz) and tests/ (support.py), as pytest would.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]
from test_fuzz import CALLS, fuzz_one, fuzzed_call, huge_request  # noqa: E402

# Examples run per kernel, printed every REPORT_EVERY seconds while the
# fuzzer runs: libFuzzer ends the process with exit(), so there is no "at
# the end" for Python code.
EXAMPLES_RUN = {}
REPORT_EVERY = 30.0
_next_report = [time.monotonic() + REPORT_EVERY]


def report_counts():
    print(f"examples per kernel ({sum(EXAMPLES_RUN.values())} in all):",
          dict(sorted(EXAMPLES_RUN.items())), file=sys.stderr, flush=True)


# One kernel per run (each gets its own corpus and its share of the time),
# or all of them, drawn by the first bytes.
KERNELS = [os.environ["MAXMARGIN_ATHERIS_KERNEL"]] if os.environ.get(
    "MAXMARGIN_ATHERIS_KERNEL") else sorted(CALLS)


def call_of_a_kernel():
    return st.sampled_from(KERNELS).flatmap(
        lambda func: fuzzed_call(func).map(lambda call: (func, call)))


@settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(call_of_a_kernel())
def fuzz_a_kernel(drawn):
    func, (positional, args, replaced) = drawn
    if huge_request(func, args):
        return
    EXAMPLES_RUN[func] = EXAMPLES_RUN.get(func, 0) + 1
    if time.monotonic() > _next_report[0]:
        _next_report[0] += REPORT_EVERY
        report_counts()
    fuzz_one(func, positional, args, replaced)


def main():
    atheris.Setup(sys.argv, fuzz_a_kernel.hypothesis.fuzz_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
