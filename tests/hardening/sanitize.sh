#!/usr/bin/env bash
# The whole test suite against checking builds of the extensions, each in its
# own fresh virtual environment, run from outside the source tree:
#
#   debug     MAXMARGIN_DEBUG=1: Cython bounds, wraparound and initialisation
#             checks on, -O0 -g, the Python layer interpreted
#   sanitize  MAXMARGIN_SANITIZE=address,undefined: AddressSanitizer and
#             UndefinedBehaviorSanitizer (GCC), -O1 -g; any report aborts
#
#   bash tests/hardening/sanitize.sh              # both
#   bash tests/hardening/sanitize.sh sanitize     # one
#
# The interpreter is not instrumented: the sanitizer runtimes are preloaded,
# CPython allocates with plain malloc (PYTHONMALLOC=malloc) so that
# AddressSanitizer sees its buffers, and leak detection is off (CPython
# keeps objects alive at exit by design; tests/hardening/test_leaks.py measures leaks).
# pytest runs with -s there: a report goes to stderr just before the abort,
# and pytest's capture would swallow it.
set -euo pipefail
cd "$(dirname "$0")/../.."
source_tree="$PWD"
work="$(mktemp -d)"
cp -r tests examples "$work/"

builds=("$@")
[ ${#builds[@]} -gt 0 ] || builds=(debug sanitize)
for build in "${builds[@]}"; do
    venv="$work/venv-$build"
    python3 -m venv "$venv"
    case "$build" in
        debug) MAXMARGIN_DEBUG=1 "$venv/bin/python" -m pip install -q "$source_tree[test]" ;;
        sanitize) MAXMARGIN_SANITIZE=address,undefined \
                      "$venv/bin/python" -m pip install -q "$source_tree[test]" ;;
        *) echo "unknown build: $build (debug or sanitize)" >&2; exit 2 ;;
    esac
    echo "== $build build: the test suite" >&2
    start=$SECONDS
    if [ "$build" = sanitize ]; then
        (cd "$work" \
         && LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
            ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=1 \
            UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
            PYTHONMALLOC=malloc \
            "$venv/bin/python" -m pytest -q -s -p no:cacheprovider tests)
    else
        (cd "$work" && "$venv/bin/python" -m pytest -q -p no:cacheprovider tests)
    fi
    echo "== $build build: clean, $((SECONDS - start)) s" >&2
done
