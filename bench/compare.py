"""maxmargin against the floor, the NumPy reference and the peers a user
would pick instead (PyTorch on the CPU, JAX with jit), each in its own
worker process.

    python bench/compare.py                      # every kernel, every shape
    python bench/compare.py --kernel svm_loss --rounds 15 --chart svm.png

Why worker processes: runtimes interfere when they share one. After each
call OpenBLAS's idle threads spin for about 0.1 s and PyTorch's OpenMP pool
for a few ms, stealing a core from whoever runs next. So every
implementation lives in its own process, they are visited round-robin in a
random order with idle gaps between, each visit times one batch of calls
(at least --batch-ms), and the report gives the median over rounds with the
spread (min-max) beside it. The gap before each visit (--gap-ms, 150 ms)
outlasts the spinning; with 20 ms gaps the spread was 10x.

A peer that is not installed (pip install "maxmargin[peers]") is reported
as absent, not as a failure. The table is markdown (for bench/RESULTS.md);
--chart saves a PNG of ratio to floor per shape if matplotlib is installed.
"""

import argparse
import multiprocessing as mp
import os
import platform
import random
import statistics
import sys
import time

# --- problems and implementations (run inside the workers) -------------------

SVM_SHAPES = [(4096, 3073, 10), (500, 3073, 10), (256, 3073, 10), (64, 100, 10),
              (4096, 3073, 32), (4096, 512, 32), (4096, 3073, 100), (4096, 512, 100)]
KERNELS = {"svm_loss": SVM_SHAPES}
IMPLEMENTATIONS = ["floor", "maxmargin", "reference", "torch", "jax"]


def svm_problem(shape, dtype):
    """The svm_loss problem every benchmark times (bench_svm_loss.py too):
    W small as CS231n initialises it, X standard normal, fixed seed."""
    import numpy as np
    n, d, c = shape
    rng = np.random.default_rng(0)
    W = (rng.standard_normal((d, c)) * 1e-3).astype(dtype)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = rng.integers(0, c, n)
    return W, X, y


def _svm_loss_call(impl, shape, dtype):
    """A zero-argument callable computing CS231n's mean multiclass SVM loss
    and dL/dW (delta 1, no regulariser) the way `impl` would."""
    import numpy as np
    W, X, y = svm_problem(shape, dtype)
    if impl == "floor":
        from maxmargin import _hinge
        S = np.empty((shape[0], shape[2]), dtype)
        dW = np.empty_like(W)
        return lambda: _hinge.bare_gemms(W, X, S, dW)
    if impl == "maxmargin":
        import maxmargin
        return lambda: maxmargin.svm_loss(W, X, y)
    if impl == "reference":
        from maxmargin import reference
        return lambda: reference.svm_loss(W, X, y)
    if impl == "torch":
        import torch
        import torch.nn.functional as F
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        Wt = torch.from_numpy(W.copy()).requires_grad_(True)
        n_classes = shape[2]

        def step():
            Wt.grad = None
            # multi_margin_loss divides each sample's sum by C: undo it.
            loss = F.multi_margin_loss(Xt @ Wt, yt, margin=1.0) * n_classes
            loss.backward()
            return loss.item(), Wt.grad
        return step
    if impl == "jax":
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        rows = jnp.arange(shape[0])
        Xj, yj, Wj = jnp.asarray(X), jnp.asarray(y), jnp.asarray(W)

        def loss(W, X, y):
            S = X @ W
            margins = jnp.maximum(0, S - S[rows, y][:, None] + 1.0)
            return margins.at[rows, y].set(0).sum() / X.shape[0]
        value_and_grad = jax.jit(jax.value_and_grad(loss))

        def step():
            value, grad = value_and_grad(Wj, Xj, yj)
            return value.block_until_ready(), grad.block_until_ready()
        return step
    raise ValueError(impl)


CALLS = {"svm_loss": _svm_loss_call}


def _versions(impl):
    """What this implementation runs on: versions, BLAS, threads."""
    if impl in ("floor", "maxmargin"):
        from maxmargin import _config
        info = _config.config()
        return (f"maxmargin {info['maxmargin']}, {info['blas (via scipy.linalg.cython_blas)']}, "
                f"{info['threads (n_threads=None)']} threads, SIMD {info['simd path (svm_loss, few classes)'].split()[0]}")
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


def _worker(impl, connection, batch_seconds):
    """Serve one implementation: ("setup", kernel, shape, dtype), ("batch",),
    ("info",), ("stop",). Replies ("ok", value) or ("absent"/"error", text)."""
    import numpy as np
    call = None
    while True:
        message = connection.recv()
        try:
            if message[0] == "stop":
                return
            if message[0] == "info":
                connection.send(("ok", _versions(impl)))
            elif message[0] == "setup":
                _, kernel, shape, dtype = message
                call = CALLS[kernel](impl, shape, np.dtype(dtype).type)
                end, calls = time.perf_counter() + 0.3, 0
                while time.perf_counter() < end or calls < 3:  # warm-up, jit
                    call()
                    calls += 1
                per_call = 0.3 / calls
                inner = max(1, int(batch_seconds / per_call))
                connection.send(("ok", inner))
            elif message[0] == "batch":
                inner = message[1]
                start = time.perf_counter()
                for _ in range(inner):
                    call()
                connection.send(("ok", (time.perf_counter() - start) / inner))
        except ImportError as error:
            connection.send(("absent", str(error)))
        except Exception as error:  # reported in the table, never hidden
            connection.send(("error", f"{type(error).__name__}: {error}"))


# --- the driver ---------------------------------------------------------------

class Peer:
    """One implementation's worker process."""

    def __init__(self, impl, context, batch_seconds):
        self.impl = impl
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_worker, args=(impl, child, batch_seconds),
                                       daemon=True)
        self.process.start()
        self.absent = None
        self.inner = None

    def ask(self, *message):
        self.connection.send(message)
        return self.connection.recv()

    def stop(self):
        self.connection.send(("stop",))
        self.process.join(5)


def compare(kernel, shapes, dtypes, impls, rounds, batch_seconds, gap_seconds, say):
    """{(shape, dtype): {impl: [seconds per call, one per round] or reason}}"""
    context = mp.get_context("spawn")  # fresh interpreters: nothing shared
    peers = [Peer(impl, context, batch_seconds) for impl in impls]
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


def table(kernel, results, impls):
    """Markdown: medians [min-max over rounds], then ratios to the floor and
    maxmargin / each other implementation."""
    others = [i for i in impls if i not in ("floor", "maxmargin")]
    head = (["shape", "dtype"] + [f"{i}" for i in impls] + ["maxmargin/floor"]
            + [f"maxmargin/{i}" for i in others])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (shape, dtype), by_impl in results.items():
        cells = [str(shape), dtype]
        medians = {}
        for impl in impls:
            times = by_impl.get(impl)
            if isinstance(times, list) and times:
                medians[impl] = statistics.median(times)
                cells.append(f"{_fmt(medians[impl])} [{_fmt(min(times))}-{_fmt(max(times))}]")
            else:
                cells.append("absent" if times is None or "absent" in str(times) else "error")
        mm = medians.get("maxmargin")
        for impl in ["floor"] + others:
            cells.append(f"{mm / medians[impl]:.2f}" if mm and impl in medians else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def chart(path, kernel, results, impls, say):
    """Bars of median time / floor per shape, one bar per implementation."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        say(f"no chart: matplotlib is not installed (pip install matplotlib)")
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
            ratios.append(statistics.median(times) / statistics.median(floor) if ok else 0)
        ax.bar([i + k * width for i in range(len(keys))], ratios, width, label=impl)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks([i + width * (len(shown) - 1) / 2 for i in range(len(keys))])
    ax.set_xticklabels([f"{s}\n{d}" for s, d in keys], fontsize=7)
    ax.set_ylabel("time / floor (bare GEMMs)")
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
    parser.add_argument("--chart", help="PNG file for the chart")
    args = parser.parse_args(argv)
    impls = args.impl or IMPLEMENTATIONS
    say = lambda text: print(text, file=sys.stderr, flush=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}, "
          f"Python {platform.python_version()}")
    for kernel in args.kernel or sorted(KERNELS):
        shapes = ([tuple(int(v) for v in s.split(",")) for s in args.shape]
                  if args.shape else KERNELS[kernel])
        results, versions = compare(kernel, shapes, args.dtype or ["float32", "float64"],
                                    impls, args.rounds, args.batch_ms / 1e3,
                                    args.gap_ms / 1e3, say)
        print()
        print(f"## {kernel}: median over {args.rounds} rounds [min-max]")
        print()
        for impl in impls:
            print(f"- {impl}: {versions.get(impl)}")
        print()
        print(table(kernel, results, impls))
        if args.chart:
            chart(args.chart, kernel, results, impls, say)


if __name__ == "__main__":
    main()
