"""Row chunks and their fixed-order reduction.

A distributed call is a map over X's row chunks and a reduction of their
results. The reduction is a tree over the chunk index (chunks 0-7 added left
to right in one task, 8-15 in another, ..., then those sums the same way,
the root's run on the client), built into the graph before it runs: whichever worker computes which task
and in whatever order, every floating-point addition has the same two
operands, so the result has the same bits.
"""

import re

import dask
import dask.array as da
import numpy as np

# Results added by one task of the tree: fewer tasks than a pairwise tree
# (each costs the scheduler about a millisecond), and a chunk result is
# small (D x C). bench/results/2026-12-06.md, "Throughput".
FAN_IN = 8

# Messages of maxmargin's checks that name a row: "y[12] = 7",
# "sample_weight[3] = -1".
_ROW_IN_MESSAGE = re.compile(r"\b(y|sample_weight)\[(\d+)\]")


def as_matrix(X, func, name="X"):
    """X as a 2-D dask array with one chunk across its columns and known
    row chunk sizes (a dask DataFrame is converted, its lengths computed)."""
    if hasattr(X, "to_dask_array") and not isinstance(X, da.Array):
        X = X.to_dask_array(lengths=True)
    if not isinstance(X, da.Array):
        raise TypeError(f"{func}: {name} must be a dask array (or a dask DataFrame); "
                        f"got {type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(f"{func}: {name} must be a 2-D dask array (N, D); got {X.ndim}-D")
    if any(np.isnan(size) for size in X.chunks[0]):
        X = X.compute_chunk_sizes()
    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})  # the kernel needs whole rows
    return X


def as_rows_like(v, X, func, name):
    """A 1-D array v (N,) as a dask array chunked like X's rows: NumPy input is
    split; dask input (an array or a Series) is rechunked if its chunks differ."""
    if hasattr(v, "to_dask_array") and not isinstance(v, da.Array):
        v = v.to_dask_array(lengths=True)
    if not isinstance(v, da.Array):
        v = np.asarray(v)
        if v.ndim != 1 or v.shape[0] != X.shape[0]:
            raise ValueError(f"{func}: {name} must be a 1-D array of shape ({X.shape[0]},) "
                             f"(X's rows); got shape {v.shape}")
        return da.from_array(v, chunks=(X.chunks[0],))
    if v.ndim != 1:
        raise ValueError(f"{func}: {name} must be a 1-D array of shape ({X.shape[0]},) "
                         f"(X's rows); got a {v.ndim}-D dask array")
    if any(np.isnan(size) for size in v.chunks[0]):
        v = v.compute_chunk_sizes()
    if v.shape[0] != X.shape[0]:
        raise ValueError(f"{func}: {name} must be a 1-D array of shape ({X.shape[0]},) "
                         f"(X's rows); got shape {v.shape}")
    if v.chunks[0] != X.chunks[0]:
        v = v.rechunk((X.chunks[0],))
    return v


def row_offsets(X):
    """The global index of each row chunk's first row."""
    return np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(np.int64)


def blocks(array):
    """The row chunks of a dask array as a list of Delayed, in order."""
    return list(array.to_delayed().ravel())


def add(*parts):
    """The sum of chunk results, left to right: tuples of numbers, arrays or None."""
    total = parts[0]
    for part in parts[1:]:
        total = tuple(None if a is None else a + b for a, b in zip(total, part))
    return total


def tree_sum(parts, fan_in=FAN_IN):
    """Compute a list of Delayed results and their sum, in a fixed tree over
    their index: runs of `fan_in` consecutive results, each added left to
    right in one task, then those sums the same way; the last run (at most
    `fan_in` results) is added on the client, which saves the round its
    last hop."""
    add_task = dask.delayed(add, pure=False)
    while len(parts) > fan_in:
        parts = [add_task(*parts[i:i + fan_in]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), fan_in)]
    return add(*dask.compute(*parts))


def name_global_rows(error, offset):
    """The same error with every row it names moved from the chunk's index
    to the global one."""
    message = _ROW_IN_MESSAGE.sub(lambda m: f"{m.group(1)}[{int(m.group(2)) + offset}]",
                                  str(error))
    return type(error)(message)
