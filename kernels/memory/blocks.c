/* The blocks behind the kernels' fresh outputs and scratch: the output
 * cache and the scratch slot. See blocks.h. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "memory/blocks.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

/* Blocks from this size up are kept when freed: below it glibc's own free
 * lists already reuse memory without asking the OS. */
#define MIN_CACHED_BYTES ((size_t)1 << 20)

/* New blocks from this size up ask Linux for transparent huge pages, as
 * NumPy's own allocator does for its large arrays (fewer page faults). */
#define HUGE_PAGE_MIN_BYTES ((size_t)4 << 20)

/* Each block starts with a header a cache line long, so the data that
 * follows is 64-byte aligned. */
typedef struct {
    void *allocation;  /* what malloc returned */
    size_t capacity;   /* usable bytes after the header */
} block_header;

#define HEADER_BYTES 64

/* --- a spin lock: the critical sections are a few loads and stores ----- */

#if defined(__GNUC__) || defined(__clang__)
static int lock_word = 0;
static void lock(void)
{
    while (__atomic_exchange_n(&lock_word, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&lock_word, __ATOMIC_RELAXED))
            ;
}
static void unlock(void) { __atomic_store_n(&lock_word, 0, __ATOMIC_RELEASE); }
#elif defined(_MSC_VER)
#include <intrin.h>
static volatile long lock_word = 0;
static void lock(void)
{
    while (_InterlockedExchange(&lock_word, 1))
        while (lock_word)
            ;
}
static void unlock(void) { _InterlockedExchange(&lock_word, 0); }
#else
#error "blocks.c needs an atomic exchange for this compiler"
#endif

#if defined(__GNUC__) || defined(__clang__)
#define EXCHANGE(slot, value) __atomic_exchange_n(slot, value, __ATOMIC_ACQ_REL)
#else
#define EXCHANGE(slot, value) _InterlockedExchangePointer((void *volatile *)(slot), value)
#endif

/* Guarded by the lock: the cached blocks, oldest first. */
static block_header *cached[OUTPUT_CACHE_SLOTS];
static size_t n_cached = 0;
static size_t held_bytes = 0;
static size_t limit_bytes = 0;

static block_header *header_of(void *block)
{
    return (block_header *)((char *)block - HEADER_BYTES);
}

static void *data_of(block_header *header)
{
    return (char *)header + HEADER_BYTES;
}

static void *new_block(size_t size)
{
    if (size > SIZE_MAX - HEADER_BYTES - 63)
        return NULL;
    void *allocation = malloc(size + HEADER_BYTES + 63);
    if (allocation == NULL)
        return NULL;
    char *data = (char *)(((uintptr_t)allocation + HEADER_BYTES + 63) & ~(uintptr_t)63);
    block_header *header = (block_header *)(data - HEADER_BYTES);
    header->allocation = allocation;
    header->capacity = size;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (size >= HUGE_PAGE_MIN_BYTES) {
        uintptr_t first = ((uintptr_t)data + 4095) & ~(uintptr_t)4095;
        madvise((void *)first, (uintptr_t)data + size - first, MADV_HUGEPAGE);
    }
#endif
    return data;
}

/* Take cached[i] out of the list (the lock held). */
static block_header *take(size_t i)
{
    block_header *header = cached[i];
    memmove(&cached[i], &cached[i + 1], (n_cached - i - 1) * sizeof cached[0]);
    n_cached--;
    held_bytes -= header->capacity;
    return header;
}

/* Take out the oldest blocks until `extra` more bytes and one more block
 * fit (extra = 0: until within the limit); they go to `out`, to be freed
 * once the lock is released. Returns how many. */
static size_t evict(size_t extra, int one_more, block_header **out)
{
    size_t n = 0;
    while (n_cached > 0 && (held_bytes + extra > limit_bytes
                            || (one_more && n_cached == OUTPUT_CACHE_SLOTS)))
        out[n++] = take(0);
    return n;
}

static void free_all(block_header **blocks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(blocks[i]->allocation);
}

void *output_cache_malloc(size_t size)
{
    if (size >= MIN_CACHED_BYTES) {
        lock();
        size_t best = n_cached;
        for (size_t i = 0; i < n_cached; i++) {
            size_t capacity = cached[i]->capacity;
            if (capacity >= size && capacity - size <= capacity / 2
                && (best == n_cached || capacity < cached[best]->capacity))
                best = i;
        }
        block_header *found = best < n_cached ? take(best) : NULL;
        unlock();
        if (found != NULL)
            return data_of(found);
    }
    return new_block(size);
}

void *output_cache_calloc(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    void *block = output_cache_malloc(count * size);
    if (block != NULL)
        memset(block, 0, count * size);
    return block;
}

void output_cache_free(void *block)
{
    if (block == NULL)
        return;
    block_header *header = header_of(block), *evicted[OUTPUT_CACHE_SLOTS];
    size_t n_evicted = 0;
    int keep = 0;
    if (header->capacity >= MIN_CACHED_BYTES) {
        lock();
        if (header->capacity <= limit_bytes) {
            n_evicted = evict(header->capacity, 1, evicted);
            cached[n_cached++] = header;
            held_bytes += header->capacity;
            keep = 1;
        }
        unlock();
    }
    free_all(evicted, n_evicted);
    if (!keep)
        free(header->allocation);
}

void *output_cache_realloc(void *block, size_t size)
{
    if (block == NULL)
        return output_cache_malloc(size);
    size_t capacity = header_of(block)->capacity;
    if (size <= capacity)
        return block;
    void *grown = output_cache_malloc(size);
    if (grown == NULL)
        return NULL;
    memcpy(grown, block, capacity);
    output_cache_free(block);
    return grown;
}

size_t output_cache_min_bytes(void)
{
    return MIN_CACHED_BYTES;
}

size_t output_cache_set_limit(size_t bytes)
{
    block_header *evicted[OUTPUT_CACHE_SLOTS];
    lock();
    size_t previous = limit_bytes;
    limit_bytes = bytes;
    size_t n = evict(0, 0, evicted);
    unlock();
    free_all(evicted, n);
    return previous;
}

void output_cache_stats(size_t *limit, size_t *held)
{
    lock();
    *limit = limit_bytes;
    *held = held_bytes;
    unlock();
}

/* The scratch block given back last, or NULL (taken by a call in flight,
 * or none yet). */
static block_header *volatile scratch_slot = NULL;

size_t output_cache_release(void)
{
    block_header *all[OUTPUT_CACHE_SLOTS + 1];
    lock();
    size_t n = n_cached, bytes = held_bytes;
    memcpy(all, cached, n * sizeof all[0]);
    n_cached = 0;
    held_bytes = 0;
    unlock();
    block_header *scratch = EXCHANGE(&scratch_slot, NULL);
    if (scratch != NULL) {
        all[n++] = scratch;
        bytes += scratch->capacity;
    }
    free_all(all, n);
    return bytes;
}

void *mm_scratch_take(size_t bytes)
{
    block_header *header = EXCHANGE(&scratch_slot, NULL);
    if (header != NULL) {
        if (header->capacity >= bytes)
            return data_of(header);
        output_cache_free(data_of(header));
    }
    return output_cache_malloc(bytes);
}

void mm_scratch_give(void *scratch)
{
    if (scratch == NULL)
        return;
    block_header *previous = EXCHANGE(&scratch_slot, header_of(scratch));
    if (previous != NULL)
        output_cache_free(data_of(previous));
}
