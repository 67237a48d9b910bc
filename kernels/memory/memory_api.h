/* What a kernel family takes from maxmargin._memory: the scratch slot of
 * blocks.h, through a table of function pointers the module publishes as
 * the capsule maxmargin._memory._C_API (as NumPy publishes its C API), so
 * that every extension module shares the one allocator and its cache.
 *
 * A family's module calls mm_memory_import() once at import (it raises
 * ImportError when it fails), then mm_memory_scratch_take/give.
 */
#ifndef MAXMARGIN_MEMORY_API_H
#define MAXMARGIN_MEMORY_API_H

#include <Python.h>
#include <stddef.h>

#define MM_MEMORY_CAPSULE "maxmargin._memory._C_API"

typedef struct {
    void *(*scratch_take)(size_t bytes);
    void (*scratch_give)(void *scratch);
} mm_memory_api;

/* This module's copy of the table (one per extension module). */
static const mm_memory_api *mm_memory = NULL;

static inline int mm_memory_import(void)
{
    /* By the module's full name, not PyCapsule_Import's walk of attributes
     * from the package, which fails while the package is still importing. */
    PyObject *module = PyImport_ImportModule("maxmargin._memory");
    if (module == NULL)
        return -1;
    PyObject *capsule = PyObject_GetAttrString(module, "_C_API");
    Py_DECREF(module);
    if (capsule == NULL)
        return -1;
    mm_memory = (const mm_memory_api *)PyCapsule_GetPointer(capsule, MM_MEMORY_CAPSULE);
    Py_DECREF(capsule);
    return mm_memory == NULL ? -1 : 0;
}

/* A scratch block of at least `bytes` bytes, 64-byte aligned, or NULL. */
static inline void *mm_memory_scratch_take(size_t bytes)
{
    return mm_memory->scratch_take(bytes);
}

/* Give it back (NULL is ignored). */
static inline void mm_memory_scratch_give(void *scratch)
{
    mm_memory->scratch_give(scratch);
}

#endif
