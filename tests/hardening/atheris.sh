#!/usr/bin/env bash
# Coverage-guided fuzzing of every kernel (tests/hardening/fuzz_atheris.py) for a
# fixed time, against a copy of maxmargin built for it:
#
#   bash tests/hardening/atheris.sh [SECONDS] [KERNEL...]   # default 600 s, all eight
#
# The time is shared equally between the kernels; each runs as its own
# libFuzzer process with its own corpus, kept under build/atheris/corpus/ so
# that the next run goes on from there. The build: clang (atheris needs
# clang's coverage instrumentation; Debian: apt-get install clang-14),
# -fsanitize=address,fuzzer-no-link, serial (MAXMARGIN_NO_OPENMP=1:
# determinism, and no OpenMP runtime beside AddressSanitizer's). It lives in
# its own virtual environment, build/atheris/venv (made once; maxmargin is
# rebuilt into it each run, incrementally).
#
# A failure stops that kernel's run and leaves build/atheris/crash-<sha1>
# (the input) beside build/atheris/<kernel>.log; the script exits 1 after
# the other kernels have had their turn.
set -euo pipefail
cd "$(dirname "$0")/../.."
source_tree="$PWD"
seconds="${1:-600}"
shift || true
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(embedding_backward linear_backward linear_forward
                                     matmul_backward multiclass_hinge ranking_hinge
                                     svm_loss xavier_init)

clang="$(command -v clang || command -v clang-14 || true)"
if [ -z "$clang" ]; then
    echo "atheris.sh needs clang (Debian: apt-get install clang-14)" >&2
    exit 2
fi

work="$source_tree/build/atheris"
venv="$work/venv"
mkdir -p "$work"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q atheris
fi
CC="$clang" LDSHARED="$clang -shared" MAXMARGIN_NO_OPENMP=1 \
MAXMARGIN_SANITIZE=address,fuzzer-no-link \
    "$venv/bin/python" -m pip install -q "$source_tree[test]"
runtime="$("$venv/bin/python" -c 'import atheris; print(atheris.path())')/asan_with_fuzzer.so"

# Run from a copy of the tests, so that the installed package is imported,
# not the source tree's src/.
tests="$(mktemp -d)"
cp -r tests examples "$tests/"
share=$((seconds / ${#kernels[@]}))
[ "$share" -gt 0 ] || share=1
status=0
for kernel in "${kernels[@]}"; do
    corpus="$work/corpus/$kernel"
    mkdir -p "$corpus"
    echo "== $kernel: $share s" >&2
    log="$work/$kernel.log"
    if (cd "$tests" \
        && MAXMARGIN_ATHERIS_KERNEL="$kernel" LD_PRELOAD="$runtime" \
           ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 PYTHONMALLOC=malloc \
           "$venv/bin/python" tests/hardening/fuzz_atheris.py "$corpus" \
               -max_total_time="$share" -max_len=4096 -len_control=0 \
               -artifact_prefix="$work/" -print_final_stats=1) > "$log" 2>&1; then
        grep -E "examples per kernel" "$log" | tail -1 >&2 || true
        grep -E "^#[0-9]+[[:space:]]+DONE" "$log" >&2 || true
    else
        status=1
        echo "FAILED: the whole output is in $log" >&2
        tail -40 "$log" >&2
    fi
done
rm -rf "$tests"
exit "$status"
