/* SPDX-License-Identifier: MIT */
/*
 * What kmem_adapter.c defines for the kernel test harness: the kt_* targets
 * of the renames in include/linux/slab.h (kmem's signatures), and the
 * harness's own test hooks (the signatures of tools/testing/shared/linux.c).
 */
#ifndef KMEM_TESTS_KERNEL_ADAPTER_H
#define KMEM_TESTS_KERNEL_ADAPTER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kmem/kmem.h>

struct list_lru;

struct kmem_cache *kt_kmem_cache_create(const char *name, unsigned int size, unsigned int align,
					slab_flags_t flags, void (*ctor)(void *));
void kt_kmem_cache_destroy(struct kmem_cache *cachep);
void *kt_kmem_cache_alloc(struct kmem_cache *cachep, gfp_t gfp);
void kt_kmem_cache_free(struct kmem_cache *cachep, void *objp);
int kt_kmem_cache_alloc_bulk(struct kmem_cache *cachep, gfp_t gfp, size_t size, void **list);
void kt_kmem_cache_free_bulk(struct kmem_cache *cachep, size_t size, void **list);
void *kt_kmalloc(size_t size, gfp_t gfp);
void kt_kfree(const void *p);
void kt_init_fail_rules(void);

void *kmem_cache_alloc_lru(struct kmem_cache *cachep, struct list_lru *lru, int gfp);
void kmem_cache_set_callback(struct kmem_cache *cachep, void (*callback)(void *));
void kmem_cache_set_private(struct kmem_cache *cachep, void *private);
void kmem_cache_set_non_kernel(struct kmem_cache *cachep, unsigned int val);
unsigned long kmem_cache_get_alloc(struct kmem_cache *cachep);
unsigned long kmem_cache_nr_allocated(struct kmem_cache *cachep);
unsigned long kmem_cache_nr_tallocated(struct kmem_cache *cachep);
void kmem_cache_zero_nr_tallocated(struct kmem_cache *cachep);
bool slab_is_available(void);
void test_kmem_cache_bulk(void);

extern int nr_allocated, preempt_count, test_verbose, kmalloc_nr_allocated, kmalloc_verbose;

#endif /* KMEM_TESTS_KERNEL_ADAPTER_H */
