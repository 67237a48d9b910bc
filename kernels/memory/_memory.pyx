"""Fresh output arrays and scratch for the kernels, from one allocator
(blocks.h): a cache of recently freed large blocks, and a scratch slot.

`empty(shape, dtype)` is `np.empty` for small arrays. From
output_cache_min_bytes() (1 MiB) up it allocates the array under NumPy's
allocator hook (NEP 49: PyDataMem_SetHandler, for this one allocation in
this thread only): its memory comes from the cache and goes back to it when
the array is freed, so the next call's output of the same size reuses it
instead of mapping new pages for the OS to zero. Arrays made this way are
ordinary NumPy arrays that own their data (64-byte aligned); only where
their memory goes when they die differs.

The cache holds at most `set_cache_limit`'s bytes (MAXMARGIN_CACHE_MB at
import, default 256 MiB; 0 caches nothing); `release_cached_memory()`
gives it all back. Both are public (`maxmargin.set_cache_limit`, ...).

The kernel families take their scratch from the same allocator through
`_C_API`, a capsule of function pointers (memory_api.h).
"""

import operator
import os

cimport numpy as cnp
from libc.stdint cimport SIZE_MAX
import numpy as np

cnp.import_array()

from cpython.pycapsule cimport PyCapsule_New

cdef extern from "memory/blocks.h" nogil:
    size_t output_cache_min_bytes()
    size_t output_cache_set_limit(size_t bytes)
    void output_cache_stats(size_t* limit, size_t* held)
    size_t output_cache_release()
    void* mm_scratch_take(size_t bytes)
    void mm_scratch_give(void* scratch)

cdef extern from "memory/memory_api.h":
    const char* MM_MEMORY_CAPSULE
    ctypedef struct mm_memory_api:
        void* (*scratch_take)(size_t bytes) noexcept nogil
        void (*scratch_give)(void* scratch) noexcept nogil

cdef extern from *:
    """
    #include "memory/blocks.h"

    /* NumPy's allocator interface (numpy/ndarraytypes.h) over the cache. */
    static void *mm_cached_malloc(void *ctx, size_t size)
    {
        (void)ctx;
        return output_cache_malloc(size);
    }
    static void *mm_cached_calloc(void *ctx, size_t count, size_t size)
    {
        (void)ctx;
        return output_cache_calloc(count, size);
    }
    static void *mm_cached_realloc(void *ctx, void *block, size_t size)
    {
        (void)ctx;
        return output_cache_realloc(block, size);
    }
    static void mm_cached_free(void *ctx, void *block, size_t size)
    {
        (void)ctx;
        (void)size;
        output_cache_free(block);
    }
    static PyDataMem_Handler mm_cached_handler = {
        "maxmargin_output_cache", 1,
        {NULL, mm_cached_malloc, mm_cached_calloc, mm_cached_realloc, mm_cached_free},
    };
    /* The handler as NumPy takes it: a capsule named "mem_handler". */
    static PyObject *mm_cached_handler_capsule(void)
    {
        return PyCapsule_New(&mm_cached_handler, "mem_handler", NULL);
    }
    """
    object mm_cached_handler_capsule()
    object PyDataMem_SetHandler(object handler)

DEFAULT_LIMIT_MB = 256

# The table the kernel families import (memory_api.h: mm_memory_import).
cdef mm_memory_api C_API_TABLE
C_API_TABLE.scratch_take = mm_scratch_take
C_API_TABLE.scratch_give = mm_scratch_give
_C_API = PyCapsule_New(&C_API_TABLE, MM_MEMORY_CAPSULE, NULL)

cdef object HANDLER = mm_cached_handler_capsule()
cdef Py_ssize_t MIN_BYTES = <Py_ssize_t>output_cache_min_bytes()
# Read per call by `empty` (cheaper than asking the C side under its lock).
cdef bint CACHING = False


def empty(shape, dtype):
    """An uninitialised C-contiguous array, as np.empty(shape, dtype); from
    the cache when it is at least 1 MiB and caching is on."""
    n = np.dtype(dtype).itemsize  # a Python int: no overflow
    if type(shape) is int:
        n *= shape
    else:
        for extent in shape:
            n *= extent
    if not CACHING or n < MIN_BYTES:
        return np.empty(shape, dtype)
    previous = PyDataMem_SetHandler(HANDLER)
    try:
        return np.empty(shape, dtype)
    finally:
        PyDataMem_SetHandler(previous)


def set_cache_limit(limit_bytes):
    """Let maxmargin's output cache hold at most `limit_bytes` bytes of
    freed output blocks (0: cache nothing). Returns the previous limit.

    Large fresh outputs (1 MiB and up: gradients, activations, dZ) are
    allocated from blocks that earlier outputs freed, instead of new pages
    the OS must zero; the cache keeps up to this many bytes of such blocks
    between calls. The default is 256 MiB, or MAXMARGIN_CACHE_MB at import.
    Blocks in use by live arrays never count and are never touched."""
    global CACHING
    try:
        if isinstance(limit_bytes, bool):
            raise TypeError
        limit_bytes = operator.index(limit_bytes)
    except TypeError:
        raise TypeError(f"set_cache_limit: limit_bytes must be an int; got "
                        f"{type(limit_bytes).__name__} {limit_bytes!r}") from None
    if limit_bytes < 0:
        raise ValueError(f"set_cache_limit: limit_bytes must be >= 0; got {limit_bytes}")
    previous = output_cache_set_limit(<size_t>min(limit_bytes, <object>SIZE_MAX))
    CACHING = limit_bytes > 0
    return previous


def cache_info():
    """(limit, held): the output cache's limit in bytes and the bytes of
    freed blocks it holds now for the next outputs."""
    cdef size_t limit = 0, held = 0
    output_cache_stats(&limit, &held)
    return limit, held


def release_cached_memory():
    """Give every block in maxmargin's output cache (and the kernels' idle
    scratch) back to the system; returns how many bytes that was. Arrays
    alive keep their memory."""
    return output_cache_release()


def _limit_from_environment():
    text = os.environ.get("MAXMARGIN_CACHE_MB", "").strip()
    try:
        megabytes = float(text) if text else DEFAULT_LIMIT_MB
    except ValueError:
        raise ImportError(f"maxmargin: MAXMARGIN_CACHE_MB={text!r}: expected a number "
                          "of megabytes (0 turns the output cache off)") from None
    if not megabytes >= 0:
        raise ImportError(f"maxmargin: MAXMARGIN_CACHE_MB={text!r}: must be >= 0")
    return int(megabytes * (1 << 20))


set_cache_limit(_limit_from_environment())
