"""ranking_hinge beside one streaming read of its inputs and the NumPy reference.

Run alone (2 noisy cores: nothing else at the same time):

    python -m pytest bench/bench_ranking.py

Roles in each group ("ranking_hinge <dtype> (N, K)=..."):

* floor: `maxmargin._floors.streaming_read`, one pass summing s and s_c on one
  thread: what reading the inputs costs. The loss also writes ds and ds_c,
  as many bytes again.
* maxmargin: `ranking_hinge(s, s_c)`, fresh output arrays each call.
* variants: into preallocated buffers (``out=``), and on one thread
  (``n_threads=1``).
* reference: `maxmargin.reference.ranking_hinge`, vectorized NumPy.
"""

import numpy as np
import pytest

import maxmargin
from maxmargin import _floors, reference

# bench/ is on sys.path when pytest collects this file.
from problems import RANKING_SHAPES as SHAPES, ranking_problem

DTYPES = [np.float64, np.float32]
ROLES = ["floor", "maxmargin", "maxmargin out=", "maxmargin n_threads=1", "reference"]


def call_for(role, shape, dtype):
    s, s_c = ranking_problem(shape, dtype)
    if role == "floor":
        return lambda: _floors.streaming_read(s, s_c)
    if role == "maxmargin":
        return lambda: maxmargin.ranking_hinge(s, s_c)
    if role == "maxmargin out=":
        ds, ds_c = np.empty_like(s), np.empty_like(s_c)
        return lambda: maxmargin.ranking_hinge(s, s_c, ds_out=ds, ds_c_out=ds_c)
    if role == "maxmargin n_threads=1":
        return lambda: maxmargin.ranking_hinge(s, s_c, n_threads=1)
    return lambda: reference.ranking_hinge(s, s_c)


CASES = [pytest.param(dtype, shape, role, id="{}-{}-{}".format(
             np.dtype(dtype).name, "x".join(map(str, shape)), role.replace(" ", "_")))
         for dtype in DTYPES for shape in SHAPES for role in ROLES]


@pytest.mark.parametrize("dtype,shape,role", CASES)
def test_ranking_hinge(measure, dtype, shape, role):
    measure(f"ranking_hinge {np.dtype(dtype).name} (N, K)={shape}", role,
            call_for(role, shape, dtype))
