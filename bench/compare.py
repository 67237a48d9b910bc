"""maxmargin against the floor, the NumPy reference and the peers a user
would pick instead (PyTorch on the CPU, JAX with jit), each in its own
worker process.

    python bench/compare.py                      # every kernel, every shape
    python bench/compare.py --kernel svm_loss --rounds 15 --chart svm.png
    python bench/compare.py --kernel sgd_train   # the training loop

Kernels: svm_loss, linear_backward (tanh), matmul_backward, ranking_hinge,
and sgd_train: 200 steps of minibatch SGD on CS231n's linear SVM with a
CIFAR-10-shaped training set, the whole loop timed as one call. What each
implementation runs is bench/implementations.py's, on the problems of
bench/problems.py. The floor is what the kernel cannot avoid: the bare
GEMMs through the same BLAS (one streaming read of the inputs for
ranking_hinge; the loop with the bare GEMMs for sgd_train).
    python bench/compare.py --impl floor --impl maxmargin \
        --build native=/path/to/other/venv/bin/python   # two builds side by side

--build NAME=PYTHON adds "maxmargin@NAME": maxmargin as installed for that
interpreter (a native build, another version, the commit before a change),
timed beside this one; its ratio to this one is in the table.

Why worker processes: runtimes interfere when they share one. After each
call OpenBLAS's idle threads spin for about 0.1 s and PyTorch's OpenMP pool
for a few ms, stealing a core from whoever runs next. So every
implementation lives in its own process, they are visited round-robin in a
random order with idle gaps between, each visit times one batch of calls
(at least --batch-ms), and the report gives the median over rounds with the
spread (min-max) beside it. The gap before each visit (--gap-ms, 150 ms)
outlasts the spinning; with 20 ms gaps the spread was 10x.

Why each visit warms up first (--warm-ms, 25 ms of untimed calls, for calls
shorter than that): after an idle gap a small VM is itself slow for its
first milliseconds of work, and timing a batch straight after the gap
measures that ramp, not the kernels (bench/results/machines.md).

A peer that is not installed (pip install "maxmargin[peers]") is reported
as absent, not as a failure. The table is markdown (for bench/RESULTS.md);
--chart saves a PNG of ratio to floor per shape if matplotlib is installed.
"""

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time

from implementations import CALLS
from problems import KERNELS

IMPLEMENTATIONS = ["floor", "maxmargin", "reference", "torch", "jax"]

def _versions(impl):
    """What this implementation runs on: versions, BLAS, threads."""
    if impl in ("floor", "maxmargin"):
        import maxmargin
        from maxmargin import _config
        info = _config.config()
        return (f"maxmargin {info['maxmargin']} ({info['instruction set'].split()[0]} build, "
                f"{os.path.dirname(maxmargin.__file__)}), "
                f"{info['blas (via scipy.linalg.cython_blas)']}, "
                f"{info['threads (n_threads=None)']} threads, SIMD {info['simd path (svm_loss few classes, ranking)'].split()[0]}")
    if impl == "reference":
        import numpy as np
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"numpy {np.__version__}, {blas.get('name')} {blas.get('version')}"
    if impl == "torch":
        import torch
        blas = [line.split(" Version")[0].strip() for line in
                torch.__config__.parallel_info().splitlines() if "Math Kernel" in line]
        return (f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
                f"BLAS: {blas[0] if blas else 'not MKL'}")
    if impl == "jax":
        import jax
        import jaxlib
        return f"jax {jax.__version__}, jaxlib {jaxlib.__version__}, {jax.devices()[0].platform}"
    return "?"


def _worker(impl, batch_seconds, warm_seconds):
    """Serve one implementation over stdin/stdout, one JSON message a line:
    ["setup", kernel, shape, dtype], ["batch", inner], ["info"]; replies
    ["ok", value] or ["absent"/"error", text]. End of input ends it. A batch
    of calls shorter than `warm_seconds` starts with that long of untimed
    calls."""
    import numpy as np
    # Replies go to the real stdout; anything a library prints goes to stderr.
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    call = None
    per_call = 0.0
    for line in sys.stdin:
        message = json.loads(line)
        try:
            if message[0] == "info":
                reply = ["ok", _versions(impl)]
            elif message[0] == "setup":
                _, kernel, shape, dtype = message
                call = CALLS[kernel](impl, tuple(shape), np.dtype(dtype).type)
                end, calls = time.perf_counter() + 0.3, 0
                while time.perf_counter() < end or calls < 3:  # warm-up, jit
                    call()
                    calls += 1
                per_call = 0.3 / calls
                reply = ["ok", max(1, int(batch_seconds / per_call))]
            elif message[0] == "batch":
                inner = message[1]
                if per_call < warm_seconds:
                    end = time.perf_counter() + warm_seconds
                    while time.perf_counter() < end:
                        call()
                start = time.perf_counter()
                for _ in range(inner):
                    call()
                reply = ["ok", (time.perf_counter() - start) / inner]
            else:
                reply = ["error", f"unknown message {message[0]!r}"]
        except ImportError as error:
            reply = ["absent", str(error)]
        except Exception as error:  # reported in the table, never hidden
            reply = ["error", f"{type(error).__name__}: {error}"]
        replies.write(json.dumps(reply) + "\n")


# --- the driver ---------------------------------------------------------------

class Peer:
    """One implementation's worker: a fresh interpreter (`python`, this one
    unless a --build names another) running this file with --worker."""

    def __init__(self, impl, python, batch_seconds, warm_seconds):
        self.impl = impl
        role = impl.split("@")[0]
        self.process = subprocess.Popen(
            [python, os.path.abspath(__file__), "--worker", role,
             "--batch-ms", str(batch_seconds * 1e3), "--warm-ms", str(warm_seconds * 1e3)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.absent = None
        self.inner = None

    def ask(self, *message):
        self.process.stdin.write(json.dumps(message) + "\n")
        reply = self.process.stdout.readline()
        if not reply:
            return "error", f"worker exited with code {self.process.wait()}"
        return tuple(json.loads(reply))

    def stop(self):
        self.process.stdin.close()
        self.process.wait(5)


def compare(kernel, shapes, dtypes, impls, rounds, batch_seconds, gap_seconds, say,
            pythons=None, warm_seconds=0.025):
    """{(shape, dtype): {impl: [seconds per call, one per round] or reason}}.
    `pythons` maps an implementation to the interpreter that runs it (default:
    this one)."""
    pythons = pythons or {}
    peers = [Peer(impl, pythons.get(impl, sys.executable), batch_seconds, warm_seconds)
             for impl in impls]
    results, versions = {}, {}
    try:
        for peer in peers:
            status, value = peer.ask("info")
            versions[peer.impl] = value if status == "ok" else f"{status}: {value}"
            if status != "ok":
                peer.absent = value
        for dtype in dtypes:
            for shape in shapes:
                key = (shape, dtype)
                results[key] = {}
                live = []
                for peer in peers:
                    if peer.absent:
                        results[key][peer.impl] = f"absent ({peer.absent})"
                        continue
                    status, value = peer.ask("setup", kernel, shape, dtype)
                    if status == "ok":
                        peer.inner = value
                        results[key][peer.impl] = []
                        live.append(peer)
                    else:
                        results[key][peer.impl] = f"{status}: {value}"
                    time.sleep(gap_seconds)
                for _ in range(rounds):
                    random.shuffle(live)
                    for peer in live:
                        time.sleep(gap_seconds)  # let the last one's threads settle
                        status, value = peer.ask("batch", peer.inner)
                        if status == "ok":
                            results[key][peer.impl].append(value)
                say(f"  {kernel} {dtype} {shape}: " + ", ".join(
                    f"{impl} {_fmt(statistics.median(times))}"
                    for impl, times in results[key].items() if isinstance(times, list) and times))
    finally:
        for peer in peers:
            peer.stop()
    return results, versions


def _fmt(seconds):
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def paired_ratio(times, others):
    """Median over rounds of times[i] / others[i]: in each round the two
    were timed moments apart, so a slow spell of the machine (seen here:
    10x spreads over a run) divides out instead of landing on one side."""
    return statistics.median(a / b for a, b in zip(times, others))


def table(kernel, results, impls):
    """Markdown: medians [min-max over rounds], then ratios to the floor and
    maxmargin / each other implementation (paired by round)."""
    others = [i for i in impls if i not in ("floor", "maxmargin")]
    head = (["shape", "dtype"] + [f"{i}" for i in impls] + ["maxmargin/floor"]
            + [f"maxmargin/{i}" for i in others])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (shape, dtype), by_impl in results.items():
        cells = [str(shape), dtype]
        timed = {}
        for impl in impls:
            times = by_impl.get(impl)
            if isinstance(times, list) and times:
                timed[impl] = times
                cells.append(f"{_fmt(statistics.median(times))} "
                             f"[{_fmt(min(times))}-{_fmt(max(times))}]")
            else:
                cells.append("absent" if times is None or "absent" in str(times) else "error")
        mm = timed.get("maxmargin")
        for impl in ["floor"] + others:
            cells.append(f"{paired_ratio(mm, timed[impl]):.2f}" if mm and impl in timed else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def chart(path, kernel, results, impls, say):
    """Bars of median time / floor per shape, one bar per implementation."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        say("no chart: matplotlib is not installed (pip install matplotlib)")
        return
    keys = list(results)
    shown = [i for i in impls if i != "floor"]
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(keys)), 4))
    width = 0.8 / max(1, len(shown))
    for k, impl in enumerate(shown):
        ratios = []
        for key in keys:
            times, floor = results[key].get(impl), results[key].get("floor")
            ok = isinstance(times, list) and times and isinstance(floor, list) and floor
            ratios.append(paired_ratio(times, floor) if ok else 0)
        ax.bar([i + k * width for i in range(len(keys))], ratios, width, label=impl)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks([i + width * (len(shown) - 1) / 2 for i in range(len(keys))])
    ax.set_xticklabels([f"{s}\n{d}" for s, d in keys], fontsize=7)
    ax.set_ylabel("time / floor")
    ax.set_yscale("log")
    ax.set_title(f"{kernel}: median time relative to the floor (lower is faster)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    say(f"chart saved to {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kernel", choices=sorted(KERNELS), action="append")
    parser.add_argument("--shape", action="append", help="N,D,C (repeatable)")
    parser.add_argument("--dtype", choices=["float32", "float64"], action="append")
    parser.add_argument("--impl", choices=IMPLEMENTATIONS, action="append")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--batch-ms", type=float, default=5.0)
    parser.add_argument("--gap-ms", type=float, default=150.0,
                        help="idle time before each visit: longer than the ~0.1 s "
                             "OpenBLAS's threads spin after a call")
    parser.add_argument("--warm-ms", type=float, default=25.0,
                        help="untimed calls at the start of each visit, for calls "
                             "shorter than this: the machine's own ramp after the gap")
    parser.add_argument("--chart", help="PNG file for the chart")
    parser.add_argument("--build", action="append", default=[], metavar="NAME=PYTHON",
                        help="also time maxmargin as installed for another interpreter, "
                             "as maxmargin@NAME (repeatable)")
    parser.add_argument("--worker", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args.worker, args.batch_ms / 1e3, args.warm_ms / 1e3)
    impls = list(args.impl or IMPLEMENTATIONS)
    pythons = {}
    for build in args.build:
        name, _, python = build.partition("=")
        if not name or not python:
            parser.error(f"--build wants NAME=PYTHON, got {build!r}")
        impls.append(f"maxmargin@{name}")
        pythons[f"maxmargin@{name}"] = python
    say = lambda text: print(text, file=sys.stderr, flush=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}, "
          f"Python {platform.python_version()}")
    kernels = args.kernel or list(KERNELS)
    for kernel in kernels:
        default_shapes, default_dtypes = KERNELS[kernel]
        shapes = ([tuple(int(v) for v in s.split(",")) for s in args.shape]
                  if args.shape else default_shapes)
        results, versions = compare(kernel, shapes, args.dtype or default_dtypes,
                                    impls, args.rounds, args.batch_ms / 1e3,
                                    args.gap_ms / 1e3, say, pythons, args.warm_ms / 1e3)
        print()
        print(f"## {kernel}: median over {args.rounds} rounds [min-max]; "
              "ratios: median of the rounds' ratios")
        print()
        for impl in impls:
            print(f"- {impl}: {versions.get(impl)}")
        print()
        print(table(kernel, results, impls))
        if args.chart:
            path = args.chart
            if len(kernels) > 1:  # one chart per kernel: svm.png -> svm_ranking_hinge.png
                stem, ext = os.path.splitext(path)
                path = f"{stem}_{kernel}{ext or '.png'}"
            chart(path, kernel, results, impls, say)


if __name__ == "__main__":
    main()
