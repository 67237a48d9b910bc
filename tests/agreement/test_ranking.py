"""ranking_hinge (CS224d's max-margin ranking loss) against both references,
numerical gradients, the conventions of SPEC.md, accumulation and threads."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import maxmargin
from maxmargin import reference

from support import DTYPES, assert_close, vector_layouts, layouts


@st.composite
def ranking_problems(draw):
    """Small integer-valued scores, so that margins land exactly on the kink."""
    dtype = draw(st.sampled_from(DTYPES))
    n = draw(st.integers(0, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    s = rng.integers(-3, 4, n).astype(dtype)
    shape = draw(st.sampled_from([(n,), (n, 1), (n, draw(st.integers(0, 7)))]))
    s_c = rng.integers(-3, 4, shape).astype(dtype)
    options = dict(
        delta=draw(st.sampled_from([0.0, 1.0, 2.5])),
        p=draw(st.sampled_from([1, 2])),
        reduction=draw(st.sampled_from(["mean", "sum", "none"])),
        sample_weight=rng.uniform(0, 2, n) if draw(st.booleans()) else None,
    )
    return s, s_c, options


@given(ranking_problems())
def test_agrees_with_both_references(problem):
    s, s_c, options = problem
    loss, ds, ds_c = maxmargin.ranking_hinge(s, s_c, **options)
    assert ds.shape == s.shape and ds_c.shape == s_c.shape
    assert ds.dtype == s.dtype and ds_c.dtype == s.dtype
    if options["reduction"] == "none":
        assert loss.dtype == s.dtype and loss.shape == s.shape
    else:
        assert type(loss) is float
    for ref in (reference.ranking_hinge, reference.ranking_hinge_naive):
        want = ref(s, s_c, **options)
        scale = max(1, s.shape[0]) * 8
        assert_close(loss, want[0], s.dtype, scale, what=f"{ref.__name__} loss")
        assert_close(ds, want[1], s.dtype, what=f"{ref.__name__} ds")
        assert_close(ds_c, want[2], s.dtype, what=f"{ref.__name__} ds_c")


def test_gradient_counts_violated_pairs():
    """p = 1: dJ/ds = -(number of violated pairs), dJ/ds_c = +1 on each one,
    0 on a pair exactly at the kink."""
    s = np.array([0.0, 5.0])
    s_c = np.array([[0.5, -2.0, -1.0, 3.0],    # margins 1.5, -1, 0 (kink), 4
                    [1.0, 2.0, 3.0, 3.5]])     # all below: margins -3 ... -0.5
    loss, ds, ds_c = maxmargin.ranking_hinge(s, s_c, reduction="sum")
    assert loss == 1.5 + 4.0
    np.testing.assert_array_equal(ds, [-2.0, 0.0])
    np.testing.assert_array_equal(ds_c, [[1, 0, 0, 1], [0, 0, 0, 0]])
    loss, ds, ds_c = maxmargin.ranking_hinge(s, s_c)  # mean: divided by N = 2
    assert loss == (1.5 + 4.0) / 2
    np.testing.assert_array_equal(ds, [-1.0, 0.0])


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("shape", [(7,), (7, 3)])
def test_gradients_match_central_differences(p, shape):
    rng = np.random.default_rng(9)
    s = rng.standard_normal(7)
    s_c = rng.standard_normal(shape)
    w = rng.uniform(0.5, 2, 7)
    margins = (s_c.reshape(7, -1) - s[:, None]) + 1.0
    assert np.min(np.abs(margins)) > 1e-4  # away from kinks
    _, ds, ds_c = maxmargin.ranking_hinge(s, s_c, p=p, sample_weight=w)
    h = 1e-6
    for analytic, variable in ((ds, s), (ds_c, s_c)):
        flat = variable.reshape(-1)
        numeric = np.zeros(flat.size)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + h
            up = maxmargin.ranking_hinge(s, s_c, p=p, sample_weight=w)[0]
            flat[i] = old - h
            down = maxmargin.ranking_hinge(s, s_c, p=p, sample_weight=w)[0]
            flat[i] = old
            numeric[i] = (up - down) / (2 * h)
        np.testing.assert_allclose(analytic.reshape(-1), numeric, rtol=1e-6, atol=1e-9)


def test_nan_and_inf_propagate():
    s = np.array([0.0, 0.0, np.inf])
    s_c = np.array([[np.nan, 0.0], [np.inf, 0.0], [0.0, 0.0]])
    loss, ds, ds_c = maxmargin.ranking_hinge(s, s_c, reduction="none")
    assert np.isnan(loss[0]) and loss[1] == np.inf and loss[2] == 0
    assert np.isnan(ds[0]) and np.isnan(ds_c[0, 0]) and ds_c[0, 1] == 1
    assert ds[1] == -2 and ds_c[1, 0] == 1
    assert np.isnan(maxmargin.ranking_hinge(s, s_c)[0])


def test_empty_problems():
    loss, ds, ds_c = maxmargin.ranking_hinge(np.zeros(0), np.zeros(0))
    assert loss == 0.0 and ds.shape == (0,) and ds_c.shape == (0,)
    loss, ds, ds_c = maxmargin.ranking_hinge(np.zeros(3), np.zeros((3, 0)))
    assert loss == 0.0 and np.all(ds == 0) and ds_c.shape == (3, 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_accumulate_adds_into_the_buffers(dtype, rng):
    s = rng.standard_normal(20).astype(dtype)
    s_c = rng.standard_normal((20, 4)).astype(dtype)
    _, ds, ds_c = maxmargin.ranking_hinge(s, s_c, p=2)
    ds_buf = np.ones(20, dtype)
    dsc_buf = np.ones((20, 4), dtype)
    loss, got_ds, got_dsc = maxmargin.ranking_hinge(s, s_c, p=2, ds_out=ds_buf,
                                                    ds_c_out=dsc_buf, accumulate=True)
    assert got_ds is ds_buf and got_dsc is dsc_buf
    assert loss == maxmargin.ranking_hinge(s, s_c, p=2)[0]
    np.testing.assert_array_equal(ds_buf, ds + dtype(1))
    np.testing.assert_array_equal(dsc_buf, ds_c + dtype(1))
    # Only the buffers given accumulate; ds_c without one comes back fresh.
    _, _, fresh = maxmargin.ranking_hinge(s, s_c, p=2, ds_out=ds_buf, accumulate=True)
    np.testing.assert_array_equal(ds_buf, (ds + dtype(1)) + ds)
    np.testing.assert_array_equal(fresh, ds_c)
    # Without accumulate the buffers are overwritten.
    maxmargin.ranking_hinge(s, s_c, p=2, ds_out=ds_buf, ds_c_out=dsc_buf)
    np.testing.assert_array_equal(ds_buf, ds)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_layout(dtype, rng):
    s = rng.integers(-3, 4, 9).astype(dtype)
    s_c = rng.integers(-3, 4, (9, 3)).astype(dtype)
    want = maxmargin.ranking_hinge(s, s_c, reduction="none")
    for s_name, s_l in vector_layouts(s):
        for c_name, c_l in layouts(s_c):
            got = maxmargin.ranking_hinge(s_l, c_l, reduction="none")
            for mine, theirs in zip(got, want):
                np.testing.assert_array_equal(mine, theirs, err_msg=f"{s_name} {c_name}")
    want_1 = maxmargin.ranking_hinge(s, s_c[:, 0])
    for name, c_l in vector_layouts(s_c[:, 0].copy()):
        got = maxmargin.ranking_hinge(s, c_l)
        assert got[0] == want_1[0], name
        np.testing.assert_array_equal(got[2], want_1[2], err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [0, 5])
def test_big_endian_input_gives_native_gradients_like_the_references(dtype, n, rng):
    # Found by the hour-long fuzz: the references returned ">f4" gradients
    # where maxmargin (which reads big-endian input through a native copy)
    # returns native float32.
    s = rng.standard_normal(n).astype(np.dtype(dtype).newbyteorder(">"))
    s_c = rng.standard_normal((n, 2)).astype(dtype)
    got = maxmargin.ranking_hinge(s, s_c)
    for oracle in (reference.ranking_hinge, reference.ranking_hinge_naive):
        want = oracle(s, s_c)
        assert got[0] == pytest.approx(want[0], rel=1e-6)
        for mine, theirs in zip(got[1:], want[1:]):
            assert mine.dtype == theirs.dtype == np.dtype(dtype)
            assert_close(mine, theirs, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bit_identical_for_every_n_threads(dtype):
    rng = np.random.default_rng(10)
    s = rng.standard_normal(100_000).astype(dtype)
    s_c = rng.standard_normal((100_000, 5)).astype(dtype)
    w = rng.uniform(0, 2, 100_000)
    runs = [maxmargin.ranking_hinge(s, s_c, sample_weight=w, n_threads=t)
            for t in (1, 2, 4, None)]
    for run in runs[1:]:
        assert run[0] == runs[0][0]
        np.testing.assert_array_equal(run[1], runs[0][1])
        np.testing.assert_array_equal(run[2], runs[0][2])


def same_bits(a, b):
    """a and b hold the same bits, except that a NaN may carry any payload."""
    a, b = np.atleast_1d(np.asarray(a)), np.atleast_1d(np.asarray(b))
    nan = np.isnan(a)
    return (a.dtype == b.dtype and a.shape == b.shape and np.array_equal(nan, np.isnan(b))
            and a[~nan].tobytes() == b[~nan].tobytes())


def strided_copy(a):
    """a's values in a view with every stride doubled (not contiguous)."""
    wide = np.zeros(tuple(2 * d for d in a.shape), dtype=a.dtype)
    view = wide[tuple(slice(None, None, 2) for _ in a.shape)]
    view[...] = a
    return view


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("accumulate", [False, True])
def test_contiguous_rows_equal_strided_rows_bit_for_bit(dtype, p, weighted, accumulate):
    # Contiguous s with C-contiguous s_c take the vector rows (four rows to
    # a vector, the last n % 4 rows in a partial block); any other strides
    # the scalar rows. Both must give the same bits, inf included (a NaN's
    # payload may differ between compilers' vector and scalar code).
    rng = np.random.default_rng(p * 4 + weighted * 2 + accumulate)
    for n in (1, 2, 3, 4, 5, 6, 7, 9, 1003):
        for k in (1, 2, 5, 8):
            s = rng.standard_normal(n).astype(dtype)
            s_c = rng.standard_normal((n, k)).astype(dtype)
            s_c.flat[::3] = np.round(s_c.flat[::3])  # margins on the kink
            if n > 4:
                s_c[1, 0], s_c[3, k - 1], s[4] = np.nan, np.inf, -np.inf
            for reduction in ("mean", "none"):
                options = dict(p=p, reduction=reduction, delta=1.0,
                               sample_weight=rng.uniform(0, 2, n) if weighted else None)
                start_ds = rng.standard_normal(n).astype(dtype)
                start_ds_c = rng.standard_normal((n, k)).astype(dtype)
                results = []
                for s_in, c_in in ((s, s_c), (strided_copy(s), strided_copy(s_c))):
                    if accumulate:
                        ds, ds_c = start_ds.copy(), start_ds_c.copy()
                        loss, _, _ = maxmargin.ranking_hinge(
                            s_in, c_in, ds_out=ds, ds_c_out=ds_c, accumulate=True, **options)
                    else:
                        loss, ds, ds_c = maxmargin.ranking_hinge(s_in, c_in, **options)
                    results.append((loss, ds, ds_c))
                for mine, theirs in zip(*results):
                    assert same_bits(mine, theirs), (n, k, reduction)
