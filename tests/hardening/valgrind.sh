#!/usr/bin/env bash
# valgrind's memcheck over tests/hardening/memcheck_kernels.py (every kernel, every
# path) against the installed maxmargin. It fails when any error (invalid
# read or write, uninitialised memory deciding a branch, bad free) has a
# maxmargin module anywhere in its stack.
#
#   bash tests/hardening/valgrind.sh [PYTHON]      # default: python3 (about a minute)
#
# CPython allocates with plain malloc (PYTHONMALLOC=malloc) so that memcheck
# sees every buffer. Errors with no maxmargin frame are counted and listed
# by their top frame but do not fail the run: on this machine they are the
# interpreter's and the dynamic loader's own (getrandom()'s bytes, which
# memcheck takes for uninitialised, and ld.so reading past an $ORIGIN
# string). Leaks are tests/hardening/test_leaks.py's business.
set -euo pipefail
python="${1:-python3}"
here="$(cd "$(dirname "$0")" && pwd)"
log="$(mktemp)"
PYTHONMALLOC=malloc OPENBLAS_NUM_THREADS=1 valgrind --tool=memcheck --leak-check=no \
    --track-origins=yes --num-callers=40 --log-file="$log" \
    "$python" "$here/memcheck_kernels.py"
"$python" - "$log" <<'PY'
import collections, re, sys
blocks, block = [], None
for line in open(sys.argv[1]):
    body = line.split("== ", 1)[-1].rstrip("\n")
    if re.match(r"(Invalid|Conditional|Use of|Syscall|Mismatched|Source and dest)", body):
        block = [body]
        blocks.append(block)
    elif block is not None:
        if not body.strip():
            block = None
        else:
            block.append(body)
ours = [b for b in blocks if any("maxmargin" in frame for frame in b[1:])]
others = collections.Counter(
    re.sub(r"0x[0-9A-F]+: ", "", next((f for f in b[1:] if " at " in f), "?")).strip()
    for b in blocks if b not in ours)
print(f"memcheck: {len(ours)} errors in maxmargin's frames, "
      f"{sum(others.values())} elsewhere")
for top, n in others.most_common(8):
    print(f"  elsewhere {n:3d}x  {top}")
for b in ours:
    print("\n".join(b), end="\n\n")
sys.exit(1 if ours else 0)
PY
