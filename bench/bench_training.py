"""A training loop, not a kernel in isolation: 200 steps of minibatch SGD on
CS231n's linear SVM, CIFAR-10-shaped (N = 49000 rows of D = 3073 in
float32, C = 10, batches of 256, L2 regulariser). Each step draws its
minibatch (the same rows for every role), computes the loss and dW, and
updates W with NumPy. What isolated kernels hide shows up here: thread
pools fighting between calls, copies, per-call overhead.

Run alone (2 noisy cores; about a minute; 1.2 GB of memory):

    python -m pytest bench/bench_training.py

Roles in the group "sgd_train float32 (N, D, C)=(49000, 3073, 10)":

* floor: the same loop with the bare GEMMs (`maxmargin._floors.bare_gemms`)
  in place of the loss: the minibatch copies, the products, the updates.
* maxmargin: `svm_loss(W, X_batch, y_batch, reg=..., dW_out=dW)`.
* reference: `maxmargin.reference.svm_loss`, vectorized NumPy.

PyTorch and JAX running the same loop: `python bench/compare.py --kernel
sgd_train` (each in its own process).
"""

import numpy as np
import pytest

# bench/ is on sys.path when pytest collects this file.
from implementations import sgd_train_call
from problems import KERNELS

SHAPE = KERNELS["sgd_train"][0][0]
ROLES = ["floor", "maxmargin", "reference"]


@pytest.mark.parametrize("role", ROLES)
def test_sgd_train(measure, role):
    measure(f"sgd_train float32 (N, D, C)={SHAPE}", role,
            sgd_train_call(role, SHAPE, np.float32))
