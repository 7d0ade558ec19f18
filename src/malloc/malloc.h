/* SPDX-License-Identifier: MIT */
/*
 * The malloc replacement's internal interface (see docs/MALLOC.md).
 *
 * malloc.c implements the C allocation interface under kmem_* names on top
 * of kmalloc; override.c (only in libkmem-malloc.so) gives them the C
 * library's names. The tests link the kmem_* functions directly, so they run
 * in the sanitizer builds too, where a second malloc cannot be interposed.
 */
#ifndef KMEM_MALLOC_MALLOC_H
#define KMEM_MALLOC_MALLOC_H

#include <malloc.h>
#include <stdbool.h>
#include <stddef.h>

/* Every pointer malloc returns is aligned to this (max_align_t on x86-64 and arm64). */
#define MALLOC_ALIGN 16

void *kmem_malloc(size_t size);
void kmem_free(void *ptr);
void *kmem_calloc(size_t nmemb, size_t size);
void *kmem_realloc(void *ptr, size_t size);
void *kmem_reallocarray(void *ptr, size_t nmemb, size_t size);
void *kmem_memalign(size_t align, size_t size);
int kmem_posix_memalign(void **memptr, size_t align, size_t size);
void *kmem_aligned_alloc(size_t align, size_t size);
void *kmem_valloc(size_t size);
void *kmem_pvalloc(size_t size);
size_t kmem_malloc_usable_size(void *ptr);
int kmem_malloc_trim(size_t pad);
void kmem_malloc_stats(void);
struct mallinfo2 kmem_mallinfo2(void);
/* Pointers free() ignored because kmem never handed them out (docs/MALLOC.md). */
unsigned long kmem_foreign_frees(void);

/* huge.c: allocations above KMALLOC_MAX_SIZE, each its own mapping, in a table. */
void *huge_alloc(size_t size, size_t align);
/* Unmap @ptr if it is a huge allocation's start; false when it is not one. */
bool huge_free(void *ptr);
/* Usable bytes of the huge allocation at @ptr, 0 when it is not one. */
size_t huge_size(const void *ptr);
/* Resize in place or move with mremap; NULL (the old one intact) on failure. */
void *huge_realloc(void *ptr, size_t size);
void huge_stats(size_t *nr, size_t *bytes);
void huge_fork_prepare(void);
void huge_fork_parent(void);
void huge_fork_child(void);

/* stats.c: slabinfo, buddyinfo and meminfo for malloc_stats and KMEM_STATS. */
void malloc_stats_write(int fd, const char *header);
/* KMEM_STATS, read once at start-up: where the exit report goes, or nothing. */
void malloc_stats_setup(void);
void malloc_stats_at_exit(void);

#endif /* KMEM_MALLOC_MALLOC_H */
