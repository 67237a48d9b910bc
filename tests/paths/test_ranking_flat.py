"""ranking_hinge's flat kernels (kernels/ranking/ranking_flat.h) on every SIMD path
this CPU runs: the same gradients as the row kernels bit for bit, the loss
to a few ulps, NaN blocks handed back to the row kernels, streamed stores,
and the same bits for every thread count.

The baseline path has no flat kernels: there every contiguous call takes
the row kernels, so it is the yardstick for the other paths."""

import numpy as np
import pytest

import maxmargin
from maxmargin import reference

from support import DTYPES, FEW_CLASS_PATHS as PATHS, assert_close, simd_path

FLAT_PATHS = [path for path in PATHS if path != "baseline"]


def scores(rng, n, k, dtype):
    """Standard normal scores with a third of s_c rounded to integers (with
    integer s, their margins then land exactly on the kink)."""
    s = np.round(rng.standard_normal(n) * 2).astype(dtype)
    s_c = rng.standard_normal((n, k)).astype(dtype)
    s_c.flat[::3] = np.round(s_c.flat[::3] * 2)
    return s, s_c


def same_bits(a, b):
    """a and b hold the same bits, except that a NaN may carry any payload."""
    a, b = np.asarray(a), np.asarray(b)
    nan = np.isnan(a)
    return (a.dtype == b.dtype and a.shape == b.shape and np.array_equal(nan, np.isnan(b))
            and a[~nan].tobytes() == b[~nan].tobytes())


def on_path(path, *args, **kwargs):
    with simd_path(path):
        return maxmargin.ranking_hinge(*args, **kwargs)


# N across whole and partial groups (8 or 16 rows) and blocks (16 rows and
# up, 1632 at K = 5), K from 1 to past the flat kernels' 16.
SHAPES = [(n, k) for n in (1, 15, 16, 17, 33, 100) for k in (1, 2, 3, 5, 8, 16, 17)]
SHAPES += [(3300, 5), (2000, 1), (700, 16)]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_every_path_gives_the_row_kernels_gradients(path, dtype, reduction):
    rng = np.random.default_rng(7)
    for n, k in SHAPES:
        s, s_c = scores(rng, n, k, dtype)
        if n > 20:
            s_c[n // 2, 0], s[n // 3] = np.inf, -np.inf
        want = on_path("baseline", s, s_c, reduction=reduction)
        loss, ds, ds_c = on_path(path, s, s_c, reduction=reduction)
        assert same_bits(ds, want[1]), (n, k)
        assert same_bits(ds_c, want[2]), (n, k)
        # The loss adds the same float64 terms in another order.
        assert loss == pytest.approx(want[0], rel=1e-13, abs=0), (n, k)
        oracle = reference.ranking_hinge(s, s_c, reduction=reduction)
        assert_close(loss, oracle[0], dtype, 8 * n, what=f"{(n, k)} loss")
        assert_close(ds, oracle[1], dtype, what=f"{(n, k)} ds")
        assert_close(ds_c, oracle[2], dtype, what=f"{(n, k)} ds_c")


@pytest.mark.parametrize("path", FLAT_PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_nan_margin_sends_its_block_to_the_row_kernels(path, dtype):
    # Three blocks of 1632 rows at K = 5; a NaN in the second. Its gradients
    # are NaN exactly where the row kernels put NaN, and the loss is NaN.
    rng = np.random.default_rng(8)
    s, s_c = scores(rng, 4000, 5, dtype)
    s_c[2000, 3] = np.nan
    s[2500] = np.nan
    want = on_path("baseline", s, s_c)
    loss, ds, ds_c = on_path(path, s, s_c)
    assert np.isnan(loss) and np.isnan(want[0])
    assert same_bits(ds, want[1]) and same_bits(ds_c, want[2])
    assert np.isnan(ds[2000]) and np.isnan(ds_c[2000, 3]) and not np.isnan(ds_c[2000, 2])
    assert np.isnan(ds_c[2500]).all()
    assert np.count_nonzero(np.isnan(ds_c)) == 6


@pytest.mark.parametrize("path", FLAT_PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_streamed_and_cached_stores_give_the_same_bits(path, dtype):
    # ds_c of at least 8 MiB, 64-byte aligned (fresh outputs come from the
    # output cache, which aligns them), is written by non-temporal stores;
    # into a buffer off that alignment by ordinary ones. Same arithmetic.
    rng = np.random.default_rng(9)
    n, k = (420_000 if dtype == np.float32 else 210_000), 5
    s, s_c = scores(rng, n, k, dtype)
    previous = maxmargin.set_cache_limit(256 << 20)   # on, whatever the environment says
    try:
        fresh = on_path(path, s, s_c)
    finally:
        maxmargin.set_cache_limit(previous)
    assert fresh[2].ctypes.data % 64 == 0
    raw = np.empty(s_c.nbytes + 64, np.uint8)
    start = (-raw.ctypes.data) % 64 + 16
    ds_c_out = raw[start:start + s_c.nbytes].view(dtype).reshape(n, k)
    assert ds_c_out.ctypes.data % 64 == 16
    cached = on_path(path, s, s_c, ds_c_out=ds_c_out)
    assert fresh[0] == cached[0]
    assert same_bits(fresh[1], cached[1]) and same_bits(fresh[2], ds_c_out)
    want = on_path("baseline", s, s_c)
    assert same_bits(fresh[1], want[1]) and same_bits(fresh[2], want[2])
    assert fresh[0] == pytest.approx(want[0], rel=1e-13)


@pytest.mark.parametrize("path", FLAT_PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bit_identical_for_every_n_threads(path, dtype):
    rng = np.random.default_rng(10)
    s, s_c = scores(rng, 100_003, 5, dtype)
    with simd_path(path):
        runs = [maxmargin.ranking_hinge(s, s_c, n_threads=t) for t in (1, 2, 4, None)]
    for run in runs[1:]:
        assert run[0] == runs[0][0]
        np.testing.assert_array_equal(run[1], runs[0][1])
        np.testing.assert_array_equal(run[2], runs[0][2])


@pytest.mark.parametrize("path", FLAT_PATHS)
def test_options_the_flat_kernels_leave_to_the_row_kernels(path):
    # p = 2, weights, accumulation and per-row losses take the row kernels
    # on every path: the same bits as the baseline, loss included.
    rng = np.random.default_rng(11)
    s, s_c = scores(rng, 500, 5, np.float64)
    buffers = lambda: (np.ones(500), np.ones((500, 5)))
    for options in (dict(p=2), dict(sample_weight=rng.uniform(0, 2, 500)),
                    dict(reduction="none"), dict(accumulate=True)):
        results = []
        for each in ("baseline", path):
            kwargs = dict(options)
            if options.get("accumulate"):
                kwargs["ds_out"], kwargs["ds_c_out"] = buffers()
            loss, ds, ds_c = on_path(each, s, s_c, **kwargs)
            results.append((loss, ds, ds_c))
        for mine, theirs in zip(*results):
            assert same_bits(mine, theirs), options
