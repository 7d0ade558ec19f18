/* SPDX-License-Identifier: MIT */
/*
 * Memory pools (<linux/mempool.h>): a reserve of min_nr preallocated
 * elements in front of any allocator, so that an allocation that may sleep
 * never fails, even when every page is taken: it waits for an element to come
 * back with mempool_free() instead. See docs/MEMPOOL.md.
 */
#ifndef KMEM_MEMPOOL_H
#define KMEM_MEMPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include <kmem/gfp.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef NUMA_NO_NODE
#define NUMA_NO_NODE (-1)
#endif

struct kmem_cache;

typedef void *(mempool_alloc_t)(gfp_t gfp_mask, void *pool_data);
typedef void(mempool_free_t)(void *element, void *pool_data);

/*
 * The kernel's struct mempool_s, complete so that a pool can be embedded in
 * another structure (mempool_init). The fields after "free" are kmem's; all
 * of them belong to mempool.c: read them, never write them.
 */
typedef struct mempool_s {
	struct {
		int state;
	} lock; /* a spinlock_t: protects the fields up to "elements" */
	int min_nr; /* nr of elements at *elements */
	int curr_nr; /* current nr of elements at *elements */
	void **elements;

	void *pool_data;
	mempool_alloc_t *alloc;
	mempool_free_t *free;
	struct {
		unsigned int seq; /* bumped by every wake-up (a futex word) */
		unsigned int nr_waiters; /* threads asleep in mempool_alloc */
	} wait;
	long nr_out; /* elements handed out and not yet given back */
} mempool_t;

static inline bool mempool_initialized(mempool_t *pool)
{
	return pool->elements != NULL;
}

static inline bool mempool_is_saturated(mempool_t *pool)
{
	return __atomic_load_n(&pool->curr_nr, __ATOMIC_RELAXED) >=
	       __atomic_load_n(&pool->min_nr, __ATOMIC_RELAXED);
}

/* 0, or -EINVAL (bad arguments, with a message) / -ENOMEM (the reserve could not be filled). */
int mempool_init_node(mempool_t *pool, int min_nr, mempool_alloc_t *alloc_fn,
		      mempool_free_t *free_fn, void *pool_data, gfp_t gfp_mask, int node_id);
int mempool_init(mempool_t *pool, int min_nr, mempool_alloc_t *alloc_fn, mempool_free_t *free_fn,
		 void *pool_data);
/* Free the reserve of a pool set up with mempool_init(); a zeroed pool is fine. */
void mempool_exit(mempool_t *pool);

/* NULL on bad arguments (with a message) or when the reserve cannot be filled. */
mempool_t *mempool_create_node(int min_nr, mempool_alloc_t *alloc_fn, mempool_free_t *free_fn,
			       void *pool_data, gfp_t gfp_mask, int node_id);
mempool_t *mempool_create(int min_nr, mempool_alloc_t *alloc_fn, mempool_free_t *free_fn,
			  void *pool_data);
/* Reports elements still handed out (how many) and frees the rest; NULL is fine. */
void mempool_destroy(mempool_t *pool);
/* Grow or shrink the reserve to @new_min_nr (> 0). 0, -EINVAL or -ENOMEM. */
int mempool_resize(mempool_t *pool, int new_min_nr);

/*
 * An element: from the allocator if it has one at once, else from the
 * reserve; with __GFP_DIRECT_RECLAIM (GFP_KERNEL, GFP_NOIO ...) it then waits
 * and never returns NULL. __GFP_ZERO is not supported, as in the kernel.
 */
void *mempool_alloc(mempool_t *pool, gfp_t gfp_mask);
/* Only from the reserve, never sleeping: NULL when it is empty. */
void *mempool_alloc_preallocated(mempool_t *pool);
/* Only from the allocator (no reserve, no waiting): NULL on failure. */
void *mempool_alloc_noreserve(mempool_t *pool, gfp_t gfp_mask);
/* Refill the reserve with @element, or give it back to the allocator; NULL is a no-op. */
void mempool_free(void *element, mempool_t *pool);

/* Elements from a slab cache (pool_data: the struct kmem_cache *). */
void *mempool_alloc_slab(gfp_t gfp_mask, void *pool_data);
void mempool_free_slab(void *element, void *pool_data);
#define mempool_init_slab_pool(_pool, _min_nr, _kc)                                                \
	mempool_init(_pool, (_min_nr), mempool_alloc_slab, mempool_free_slab, (void *)(_kc))
#define mempool_create_slab_pool(_min_nr, _kc)                                                     \
	mempool_create((_min_nr), mempool_alloc_slab, mempool_free_slab, (void *)(_kc))

/* Elements of kmalloc(size) (pool_data: the size). */
void *mempool_kmalloc(gfp_t gfp_mask, void *pool_data);
void mempool_kfree(void *element, void *pool_data);
#define mempool_init_kmalloc_pool(_pool, _min_nr, _size)                                           \
	mempool_init(_pool, (_min_nr), mempool_kmalloc, mempool_kfree,                             \
		     (void *)(unsigned long)(_size))
#define mempool_create_kmalloc_pool(_min_nr, _size)                                                \
	mempool_create((_min_nr), mempool_kmalloc, mempool_kfree, (void *)(unsigned long)(_size))

/* Elements of kvmalloc(size) (pool_data: the size). */
void *mempool_kvmalloc(gfp_t gfp_mask, void *pool_data);
void mempool_kvfree(void *element, void *pool_data);

static inline int mempool_init_kvmalloc_pool(mempool_t *pool, int min_nr, size_t size)
{
	return mempool_init(pool, min_nr, mempool_kvmalloc, mempool_kvfree, (void *)size);
}

static inline mempool_t *mempool_create_kvmalloc_pool(int min_nr, size_t size)
{
	return mempool_create(min_nr, mempool_kvmalloc, mempool_kvfree, (void *)size);
}

/* Elements are struct page * of 2^order pages (pool_data: the order). */
void *mempool_alloc_pages(gfp_t gfp_mask, void *pool_data);
void mempool_free_pages(void *element, void *pool_data);
#define mempool_init_page_pool(_pool, _min_nr, _order)                                             \
	mempool_init(_pool, (_min_nr), mempool_alloc_pages, mempool_free_pages,                    \
		     (void *)(long)(_order))
#define mempool_create_page_pool(_min_nr, _order)                                                  \
	mempool_create((_min_nr), mempool_alloc_pages, mempool_free_pages, (void *)(long)(_order))

#ifdef __cplusplus
}
#endif

#endif /* KMEM_MEMPOOL_H */
