"""What each implementation runs for each kernel, for bench/compare.py's
worker processes: CALLS[kernel](impl, shape, dtype) builds the problem
(bench/problems.py) and returns a zero-argument callable that computes the
kernel's loss and gradients the way `impl` would.

Implementations: "floor" (what the kernel cannot avoid, maxmargin._floors),
"maxmargin", "reference" (maxmargin.reference, NumPy), "torch" (PyTorch on
the CPU, autograd) and "jax" (jit). Peers are imported only when asked for,
inside the worker that runs them.
"""

from problems import (SGD_BATCH, SGD_LEARNING_RATE, SGD_REG, SGD_STEPS, linear_problem,
                      ranking_problem, sparse_problem, svm_problem)


def _jax():
    """jax.numpy with float64 enabled (as NumPy users expect)."""
    import jax
    jax.config.update("jax_enable_x64", True)
    return jax


def svm_loss_call(impl, shape, dtype):
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


def linear_backward_call(impl, shape, dtype, activation="tanh"):
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


def matmul_backward_call(impl, shape, dtype):
    return linear_backward_call(impl, shape, dtype, activation=None)


def ranking_hinge_call(impl, shape, dtype):
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


def sgd_train_call(impl, shape, dtype):
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


def sparse_svm_loss_call(impl, shape, dtype):
    """svm_loss with X sparse (CSR): the mean multiclass hinge and dL/dW.
    floor: one read of X's values and indices; reference: SciPy's products
    (X @ W, the margin pass, X.T @ G); torch: a sparse CSR tensor times W,
    multi_margin_loss, autograd; jax: a BCSR matrix times W under jit."""
    import numpy as np
    W, X, y = sparse_problem(shape, dtype)
    n_classes = shape[3]
    if impl == "floor":
        from maxmargin import _floors
        return lambda: _floors.csr_read(X.data, X.indices)
    if impl == "maxmargin":
        import maxmargin
        return lambda: maxmargin.svm_loss(W, X, y)
    if impl == "reference":
        from maxmargin import reference
        return lambda: reference.svm_loss(W, X, y)
    if impl == "torch":
        import torch
        import torch.nn.functional as F
        Xt = torch.sparse_csr_tensor(torch.from_numpy(X.indptr.astype(np.int64)),
                                     torch.from_numpy(X.indices.astype(np.int64)),
                                     torch.from_numpy(X.data), size=X.shape)
        yt = torch.from_numpy(y)
        Wt = torch.from_numpy(W.copy()).requires_grad_(True)

        def step():
            Wt.grad = None
            loss = F.multi_margin_loss(Xt @ Wt, yt, margin=1.0) * n_classes
            loss.backward()
            return loss.item(), Wt.grad
        return step
    if impl == "jax":
        jax = _jax()
        import jax.numpy as jnp
        from jax.experimental import sparse as jsparse
        Xj = jsparse.BCSR((jnp.asarray(X.data), jnp.asarray(X.indices),
                           jnp.asarray(X.indptr)), shape=X.shape)
        yj, Wj = jnp.asarray(y), jnp.asarray(W)
        rows = jnp.arange(X.shape[0])

        def loss(W, y):
            S = Xj @ W
            margins = jnp.maximum(0, S - S[rows, y][:, None] + 1.0)
            return margins.at[rows, y].set(0).sum() / X.shape[0]
        value_and_grad = jax.jit(jax.value_and_grad(loss))

        def step():
            value, grad = value_and_grad(Wj, yj)
            return value.block_until_ready(), grad.block_until_ready()
        return step
    raise ValueError(impl)


CALLS = {"svm_loss": svm_loss_call, "linear_backward": linear_backward_call,
         "matmul_backward": matmul_backward_call, "ranking_hinge": ranking_hinge_call,
         "sgd_train": sgd_train_call, "sparse_svm_loss": sparse_svm_loss_call}
