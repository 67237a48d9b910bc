"""The output cache (kernels/memory/blocks.h, maxmargin._memory): large fresh
outputs reuse the blocks that earlier outputs freed, within a limit, and
are otherwise ordinary NumPy arrays."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import maxmargin
from maxmargin import _memory

MiB = 1 << 20


@pytest.fixture
def cache():
    """A cache with the default limit, emptied before and after the test."""
    previous = maxmargin.set_cache_limit(256 * MiB)
    maxmargin.release_cached_memory()
    yield
    maxmargin.release_cached_memory()
    maxmargin.set_cache_limit(previous)


def address(a):
    return a.__array_interface__["data"][0]


def test_large_arrays_are_plain_numpy_arrays(cache):
    for shape, dtype in (((1024, 1024), np.float64), ((3, 700_000), np.float32),
                         (2_000_000, np.float32)):
        a = _memory.empty(shape, np.dtype(dtype))
        assert type(a) is np.ndarray and a.dtype == dtype
        assert a.shape == (shape if isinstance(shape, tuple) else (shape,))
        assert a.flags.c_contiguous and a.flags.owndata and a.flags.writeable
        assert address(a) % 64 == 0
        a[...] = 1.5
        assert float(a.sum()) == 1.5 * a.size


def test_a_freed_block_is_reused_by_the_next_array_of_its_size(cache):
    a = _memory.empty((512, 1024), np.dtype(np.float64))   # 4 MiB
    where = address(a)
    assert maxmargin.cache_info()[1] == 0
    del a
    assert maxmargin.cache_info()[1] >= 4 * MiB
    b = _memory.empty((512, 1024), np.dtype(np.float64))
    assert address(b) == where
    assert maxmargin.cache_info()[1] == 0
    # A block is not handed to a request it would hold with more than half
    # of it to spare; nor to one it cannot hold.
    del b
    small = _memory.empty(MiB, np.dtype(np.uint8))
    large = _memory.empty(5 * MiB, np.dtype(np.uint8))
    assert address(small) != where and address(large) != where


def test_small_arrays_bypass_the_cache(cache):
    a = _memory.empty(1000, np.dtype(np.float64))
    del a
    assert maxmargin.cache_info()[1] == 0


def test_arrays_alive_at_once_never_share_memory(cache):
    # Blocks taken, freed and taken again in a shuffled order: every live
    # array keeps its own bytes.
    rng = np.random.default_rng(0)
    live = {}
    for step in range(300):
        if live and rng.random() < 0.45:
            key = rng.choice(list(live))
            array, value = live.pop(key)
            assert np.all(array == value)
        else:
            n = int(rng.integers(MiB // 8, 6 * MiB // 8))
            array = _memory.empty(n, np.dtype(np.float64))
            array[...] = step
            live[step] = (array, step)
    for array, value in live.values():
        assert np.all(array == value)


def test_the_limit_bounds_what_is_held(cache):
    arrays = [_memory.empty(3 * MiB, np.dtype(np.uint8)) for _ in range(6)]
    maxmargin.set_cache_limit(10 * MiB)
    del arrays
    limit, held = maxmargin.cache_info()
    assert limit == 10 * MiB and held == 9 * MiB  # three of the six kept
    maxmargin.set_cache_limit(4 * MiB)             # lowering it releases
    assert maxmargin.cache_info() == (4 * MiB, 3 * MiB)
    assert maxmargin.release_cached_memory() == 3 * MiB
    assert maxmargin.cache_info() == (4 * MiB, 0)
    maxmargin.set_cache_limit(0)                   # off: nothing is kept
    a = _memory.empty(2 * MiB, np.dtype(np.uint8))
    del a
    assert maxmargin.cache_info() == (0, 0)


def test_at_most_sixteen_blocks_are_held(cache):
    arrays = [_memory.empty(MiB, np.dtype(np.uint8)) for _ in range(20)]
    del arrays
    assert maxmargin.cache_info()[1] == 16 * MiB


def test_resizing_a_cached_array_keeps_its_data(cache):
    a = _memory.empty(MiB // 8, np.dtype(np.float64))
    a[...] = np.arange(a.size)
    a.resize(3 * MiB // 8, refcheck=False)    # the handler's realloc
    np.testing.assert_array_equal(a[:MiB // 8], np.arange(MiB // 8))
    a.resize(10, refcheck=False)
    np.testing.assert_array_equal(a, np.arange(10))


def test_kernel_outputs_come_from_the_cache(cache):
    rng = np.random.default_rng(1)
    s, s_c = rng.standard_normal(300_000), rng.standard_normal((300_000, 5))
    _, ds, ds_c = maxmargin.ranking_hinge(s, s_c)
    where = address(ds_c)
    del ds, ds_c
    _, ds, ds_c = maxmargin.ranking_hinge(s, s_c)
    assert address(ds_c) == where
    assert ds_c.flags.owndata


def test_threads_allocating_at_once(cache):
    errors = []

    def work(seed):
        rng = np.random.default_rng(seed)
        try:
            for _ in range(200):
                a = _memory.empty(int(rng.integers(MiB // 8, 3 * MiB // 8)), np.dtype(np.float64))
                a[...] = seed
                assert np.all(a == seed)
        except AssertionError as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert maxmargin.cache_info()[1] <= 256 * MiB


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (1.5, TypeError), (True, TypeError),
                                        ("1", TypeError), (None, TypeError)])
def test_bad_limits(bad, error):
    with pytest.raises(error, match="^set_cache_limit: limit_bytes must be"):
        maxmargin.set_cache_limit(bad)


def run_python(code, **env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env})


def test_the_environment_sets_the_limit():
    code = "import maxmargin; print(maxmargin.cache_info()[0])"
    assert run_python(code, MAXMARGIN_CACHE_MB="0").stdout.strip() == "0"
    assert run_python(code, MAXMARGIN_CACHE_MB="1.5").stdout.strip() == str(3 * MiB // 2)
    assert run_python(code, MAXMARGIN_CACHE_MB="").stdout.strip() == str(256 * MiB)
    for bad in ("lots", "-1"):
        result = run_python(code, MAXMARGIN_CACHE_MB=bad)
        assert result.returncode != 0 and "MAXMARGIN_CACHE_MB" in result.stderr


def test_the_kernels_scratch_comes_from_the_same_allocator(cache):
    """svm_loss's single pass takes its scratch (dW panels, score blocks)
    from the slot of kernels/memory/blocks.h; a larger call's scratch
    replaces it, the old block going through the output cache, and
    release_cached_memory frees the slot too."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((3000, 10))
    y = rng.integers(0, 10, 1024)
    small = rng.standard_normal((128, 3000))
    large = rng.standard_normal((1024, 3000))
    want_small = maxmargin.svm_loss(W, small, y[:128])
    maxmargin.svm_loss(W, large, y)   # 8 dW panels of 3000 x 10: about 2 MiB
    assert maxmargin.release_cached_memory() >= 8 * 3000 * 10 * 8
    assert maxmargin.cache_info()[1] == 0
    got = maxmargin.svm_loss(W, small, y[:128])   # a fresh scratch, the same bits
    assert got[0] == want_small[0]
    np.testing.assert_array_equal(got[1], want_small[1])
