"""maxmargin against the floor, the NumPy reference and the peers a user
would pick instead (PyTorch on the CPU, JAX with jit), each in its own
worker process.

    python bench/compare.py                      # every kernel, every shape
    python bench/compare.py --kernel svm_loss --rounds 15 --chart svm.png
    python bench/compare.py --kernel sgd_train   # the training loop

Kernels: svm_loss, linear_backward (tanh), matmul_backward, ranking_hinge,
and sgd_train: 200 steps of minibatch SGD on CS231n's linear SVM with a
CIFAR-10-shaped training set, the whole loop timed as one call (see
_sgd_train_call). The floor is what the kernel cannot avoid: the bare
GEMMs through the same BLAS (one streaming read of the inputs for
ranking_hinge; the loop with the bare GEMMs for sgd_train).
    python bench/compare.py --impl floor --impl maxmargin \
        --build native=/path/to/other/venv/bin/python   # two builds side by side

--build NAME=PYTHON adds "maxmargin@NAME": maxmargin as installed for that
interpreter (a native build, another version), timed beside this one.

Why worker processes: runtimes interfere when they share one. After each
call OpenBLAS's idle threads spin for about 0.1 s and PyTorch's OpenMP pool
for a few ms, stealing a core from whoever runs next. So every
implementation lives in its own process, they are visited round-robin in a
random order with idle gaps between, each visit times one batch of calls
(at least --batch-ms), and the report gives the median over rounds with the
spread (min-max) beside it. The gap before each visit (--gap-ms, 150 ms)
outlasts the spinning; with 20 ms gaps the spread was 10x.

Why each visit warms up first (--warm-ms, 25 ms of untimed calls, for calls
shorter than that): after an idle gap the machine itself is slow for its
first 10-20 ms of work (seen on the 2-vCPU VMs here: ranking_hinge at
(10^6, 5) float32 took 2.7 ms on the first call after 150 ms of sleep, 1.1
ms from the eighth call on, the floor 1.85 and 0.82 ms). Timing a 5 ms
batch straight after the gap measured that ramp, not the kernels, and it
was worse for a call on two threads than for a one-thread floor.

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

from problems import (KERNELS, SGD_BATCH, SGD_LEARNING_RATE, SGD_REG, SGD_STEPS,
                      linear_problem, ranking_problem, svm_problem)

IMPLEMENTATIONS = ["floor", "maxmargin", "reference", "torch", "jax"]

# --- implementations (run inside the workers) ---------------------------------

def _jax():
    """jax.numpy with float64 enabled (as NumPy users expect)."""
    import jax
    jax.config.update("jax_enable_x64", True)
    return jax


def _svm_loss_call(impl, shape, dtype):
    """A zero-argument callable computing CS231n's mean multiclass SVM loss
    and dL/dW (delta 1, no regulariser) the way `impl` would."""
    import numpy as np
    W, X, y = svm_problem(shape, dtype)
    if impl == "floor":
        from maxmargin import _floors
        S = np.empty((shape[0], shape[2]), dtype)
        dW = np.empty_like(W)
        return lambda: _floors.bare_gemms(W, X, S, dW)
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
        jax = _jax()
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


def _linear_backward_call(impl, shape, dtype, activation="tanh"):
    """The backward pass of Y = f(X W + b) (f = tanh; none for
    matmul_backward) for a given dY, the forward pass done once beforehand:
    dX, dW and db (dX and dW for matmul_backward)."""
    import numpy as np
    d_out = shape[2]
    X, W, b, dY = linear_problem(shape, dtype)
    if impl == "floor":
        # The two products and dY's column sums (for matmul_backward the
        # column sums are extra: O(N D_out), next to the products' O(N D_in D_out)).
        from maxmargin import _floors
        dX, dW, col_sum = np.empty_like(X), np.empty_like(W), np.empty(d_out)
        return lambda: _floors.bare_linear_backward(dY, X, W, dX, dW, col_sum)
    if impl == "maxmargin":
        import maxmargin
        if activation is None:
            return lambda: maxmargin.matmul_backward(dY, X, W)
        _, cache = maxmargin.linear_forward(X, W, b, activation=activation)
        return lambda: maxmargin.linear_backward(dY, cache)
    if impl == "reference":
        from maxmargin import reference
        if activation is None:
            return lambda: reference.matmul_backward(dY, X, W)
        _, cache = reference.linear_forward(X, W, b, activation=activation)
        return lambda: reference.linear_backward(dY, cache)
    if impl == "torch":
        import torch
        Xt, Wt, bt = (torch.from_numpy(a.copy()).requires_grad_(True) for a in (X, W, b))
        Z = Xt @ Wt if activation is None else torch.tanh(Xt @ Wt + bt)
        inputs = (Xt, Wt) if activation is None else (Xt, Wt, bt)
        dYt = torch.from_numpy(dY)
        return lambda: torch.autograd.grad(Z, inputs, dYt, retain_graph=True)
    if impl == "jax":
        jax = _jax()
        import jax.numpy as jnp
        Xj, Wj, bj, dYj = (jnp.asarray(a) for a in (X, W, b, dY))
        if activation is None:
            _, backward = jax.vjp(lambda X, W: X @ W, Xj, Wj)
        else:
            _, backward = jax.vjp(lambda X, W, b: jnp.tanh(X @ W + b), Xj, Wj, bj)
        # The vjp closure holds the forward's residuals; jit it as a pytree.
        run = jax.jit(lambda backward, dY: backward(dY))
        return lambda: [g.block_until_ready() for g in run(backward, dYj)]
    raise ValueError(impl)


def _matmul_backward_call(impl, shape, dtype):
    return _linear_backward_call(impl, shape, dtype, activation=None)


def _ranking_hinge_call(impl, shape, dtype):
    """CS224d's max-margin ranking loss, mean over N true windows of the sum
    over K corrupted ones of max(0, 1 + s_c - s), and its gradients."""
    n, k = shape
    s, s_c = ranking_problem(shape, dtype)
    if impl == "floor":
        from maxmargin import _floors
        return lambda: _floors.streaming_read(s, s_c)  # reading the inputs once
    if impl == "maxmargin":
        import maxmargin
        return lambda: maxmargin.ranking_hinge(s, s_c)
    if impl == "reference":
        from maxmargin import reference
        return lambda: reference.ranking_hinge(s, s_c)
    if impl == "torch":
        import torch
        import torch.nn.functional as F
        st = torch.from_numpy(s.copy()).requires_grad_(True)
        sct = torch.from_numpy(s_c.copy()).requires_grad_(True)
        target = torch.ones(n, k, dtype=sct.dtype)

        def step():
            # margin_ranking_loss(x1, x2, 1) = max(0, margin + x2 - x1), mean
            # over all N K pairs: times K for the mean over N.
            loss = F.margin_ranking_loss(st[:, None].expand(n, k), sct, target,
                                         margin=1.0) * k
            ds, ds_c = torch.autograd.grad(loss, (st, sct))
            return loss.item(), ds, ds_c
        return step
    if impl == "jax":
        jax = _jax()
        import jax.numpy as jnp
        sj, scj = jnp.asarray(s), jnp.asarray(s_c)

        def loss(s, s_c):
            return jnp.maximum(0, 1.0 + s_c - s[:, None]).sum() / s.shape[0]
        value_and_grad = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))

        def step():
            value, grads = value_and_grad(sj, scj)
            return value.block_until_ready(), [g.block_until_ready() for g in grads]
        return step
    raise ValueError(impl)


def _sgd_train_call(impl, shape, dtype):
    """CS231n's linear SVM trained by SGD_STEPS steps of minibatch SGD on a
    CIFAR-10-shaped training set: each step draws SGD_BATCH rows (the same
    ones for every implementation), computes the loss and dW (with the
    L2 term), and updates W. "floor": the same loop with the bare GEMMs in
    place of the loss; "torch" and "jax": the loop as their users write it."""
    import numpy as np
    n, d, c = shape
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d), dtype=np.float32).astype(dtype, copy=False)
    y = rng.integers(0, c, n)
    W0 = (rng.standard_normal((d, c)) * 1e-3).astype(dtype)
    batches = [np.random.default_rng(step).choice(n, SGD_BATCH) for step in range(SGD_STEPS)]
    lr = dtype(SGD_LEARNING_RATE)
    if impl in ("floor", "maxmargin", "reference"):
        if impl == "floor":
            from maxmargin import _floors
            S, dW = np.empty((SGD_BATCH, c), dtype), np.empty((d, c), dtype)

            def loss_and_grad(W, X_batch, y_batch):
                _floors.bare_gemms(W, X_batch, S, dW)
                return 0.0, dW
        elif impl == "maxmargin":
            import maxmargin
            dW = np.empty((d, c), dtype)

            def loss_and_grad(W, X_batch, y_batch):  # into one dW buffer, as a loop would
                return maxmargin.svm_loss(W, X_batch, y_batch, reg=SGD_REG, dW_out=dW)
        else:
            from maxmargin import reference

            def loss_and_grad(W, X_batch, y_batch):
                return reference.svm_loss(W, X_batch, y_batch, reg=SGD_REG)

        def train():
            W = W0.copy()
            for rows in batches:
                loss, grad = loss_and_grad(W, X[rows], y[rows])
                W -= lr * grad
            return W
        return train
    if impl == "torch":
        import torch
        import torch.nn.functional as F
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        batches_t = [torch.from_numpy(rows) for rows in batches]

        def train():
            W = torch.from_numpy(W0.copy()).requires_grad_(True)
            for rows in batches_t:
                scores = Xt[rows] @ W
                loss = (F.multi_margin_loss(scores, yt[rows], margin=1.0) * c
                        + SGD_REG * (W * W).sum())
                loss.backward()
                with torch.no_grad():
                    W -= SGD_LEARNING_RATE * W.grad
                W.grad = None
            return W
        return train
    if impl == "jax":
        jax = _jax()
        import jax.numpy as jnp
        Xj, yj = jnp.asarray(X), jnp.asarray(y)
        rows_index = jnp.arange(SGD_BATCH)
        batches_j = [jnp.asarray(rows) for rows in batches]

        def loss(W, X, y):
            S = X @ W
            margins = jnp.maximum(0, S - S[rows_index, y][:, None] + 1.0)
            return margins.at[rows_index, y].set(0).sum() / X.shape[0] + SGD_REG * (W * W).sum()

        @jax.jit
        def step(W, X, y, rows):  # X passed, not closed over: no 600 MB constant
            value, grad = jax.value_and_grad(loss)(W, X[rows], y[rows])
            return W - SGD_LEARNING_RATE * grad, value

        def train():
            W = jnp.asarray(W0)
            for rows in batches_j:
                W, _ = step(W, Xj, yj, rows)
            return W.block_until_ready()
        return train
    raise ValueError(impl)


CALLS = {"svm_loss": _svm_loss_call, "linear_backward": _linear_backward_call,
         "matmul_backward": _matmul_backward_call, "ranking_hinge": _ranking_hinge_call,
         "sgd_train": _sgd_train_call}


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
