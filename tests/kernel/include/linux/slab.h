/* SPDX-License-Identifier: MIT */
/*
 * Header shim: replaces the kernel test harness's tools/include/linux/slab.h
 * so that the unmodified sources of tools/testing/radix-tree (lib/maple_tree.c,
 * lib/xarray.c, lib/radix-tree.c, lib/idr.c and their tests) see kmem's slab
 * API instead of the harness's malloc-based fake. See docs/KERNEL_SUITES.md.
 *
 * The include guard is the harness's own, so its slab.h can never be read as
 * well. <linux/gfp.h> here is the harness's: the kernel's gfp_types.h values,
 * which are kmem's values too, so kmem's <kmem/gfp.h> and <kmem/mm.h> are
 * kept out by defining their guards (their names would clash with the
 * harness's page and GFP headers).
 *
 * The harness counts allocations (nr_allocated, kmalloc_nr_allocated,
 * kmem_cache_nr_allocated ...), so every allocation and free the kernel
 * sources make goes through tests/kernel/kmem_adapter.c first: the names
 * below are renamed to kt_* before <kmem/slab.h> is read, so that its
 * declarations and its inline helpers (kzalloc, kcalloc ...) name the
 * adapter's functions. The adapter calls the real kmem functions.
 * KMEM_NO_INLINE_KMALLOC: <kmem/slab.h> then declares kmalloc (here
 * kt_kmalloc) rather than defining its inline constant-size path, which
 * would reach kmem_cache_alloc past the adapter's counters.
 */
#ifndef _TOOLS_SLAB_H
#define _TOOLS_SLAB_H

#include <linux/types.h>
#include <linux/gfp.h>

#define kmem_cache_create kt_kmem_cache_create
#define kmem_cache_destroy kt_kmem_cache_destroy
#define kmem_cache_alloc kt_kmem_cache_alloc
#define kmem_cache_free kt_kmem_cache_free
#define kmem_cache_alloc_bulk kt_kmem_cache_alloc_bulk
#define kmem_cache_free_bulk kt_kmem_cache_free_bulk
#define kmalloc kt_kmalloc
#define kfree kt_kfree

#define KMEM_NO_INLINE_KMALLOC /* kmalloc is a function here: the adapter's kt_kmalloc */
#define KMEM_GFP_H /* the harness's <linux/gfp.h> has the same flags */
#define KMEM_MM_H /* the harness has its own PAGE_SIZE and struct page */
#include <kmem/slab.h>

/* Harness-only: kmem_cache_alloc with a list_lru, which kmem (no memcg) ignores. */
struct list_lru;
void *kmem_cache_alloc_lru(struct kmem_cache *cachep, struct list_lru *lru, int flags);

/*
 * kmem_cache_set_non_kernel() and friends are declared by lib/maple_tree.c
 * itself (with its own return types); they are defined in the adapter.
 */
bool slab_is_available(void);

enum slab_state { DOWN, PARTIAL, UP, FULL };

#endif /* _TOOLS_SLAB_H */
