/* The one allocator of maxmargin's buffers: the kernels' fresh output
 * arrays (maxmargin._memory installs it as the NumPy allocator of those
 * arrays only) and their scratch. Every block is 64-byte aligned behind
 * one header (blocks.c), and two policies share the blocks:
 *
 * The output cache keeps recently freed large blocks for the next outputs.
 *
 * Why: a block of tens of megabytes freed to glibc goes back to the OS
 * (above its mmap threshold, at most 32 MiB), and the next call's array of
 * the same size comes back as new pages that the kernel zeroes on first
 * touch, which can cost as much as the kernel itself (bench/results/
 * 2026-12-01.md). In a training loop the previous step's gradients are
 * garbage by the next call, so their blocks are reused as they are.
 *
 * Blocks of at least output_cache_min_bytes() are cached when freed, up to
 * a limit on the bytes held (output_cache_set_limit); a request takes the
 * smallest cached block that holds it without wasting more than half of
 * it, else a new one. Smaller blocks pass straight through to malloc/free.
 *
 * The scratch slot keeps the one scratch block a kernel gave back last
 * (mm_scratch_take / mm_scratch_give): a call's scratch, freed and
 * allocated afresh every call, costs more than the work at small batches.
 * A scratch too small for the next call goes back through the output
 * cache's free, and a new one comes from its malloc, so the two policies
 * reuse each other's blocks. The slot's block is not counted in the
 * cache's held bytes; output_cache_release frees it too.
 *
 * Thread-safe: concurrent calls each get their own scratch.
 */
#ifndef MAXMARGIN_OUTPUT_CACHE_H
#define MAXMARGIN_OUTPUT_CACHE_H

#include <stddef.h>

/* Cached blocks at most (the oldest is released first when a new one
 * would not fit). */
#define OUTPUT_CACHE_SLOTS 16

void *output_cache_malloc(size_t size);
void *output_cache_calloc(size_t count, size_t size);
void *output_cache_realloc(void *block, size_t size);
void output_cache_free(void *block);

/* The smallest block the cache keeps when it is freed. */
size_t output_cache_min_bytes(void);

/* Hold at most `bytes` in cached blocks (0: cache nothing); releases what
 * is over. Returns the previous limit. */
size_t output_cache_set_limit(size_t bytes);

/* The limit, and the bytes held now in cached (free) blocks. */
void output_cache_stats(size_t *limit, size_t *held);

/* Release every cached block (and the scratch slot's) to the system;
 * returns the bytes released. */
size_t output_cache_release(void);

/* A scratch block of at least `bytes` bytes, 64-byte aligned, or NULL when
 * out of memory: the slot's, when it is large enough, else a new one. */
void *mm_scratch_take(size_t bytes);

/* Give a scratch block from mm_scratch_take back to the slot (NULL is
 * ignored); the block the slot held before is freed. */
void mm_scratch_give(void *scratch);

#endif
