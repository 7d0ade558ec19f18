/* SPDX-License-Identifier: MIT */
/*
 * KFENCE, the sampled guard-page detector (include/linux/kfence.h): what the
 * slab slow paths, kfree and the parser of KMEM_DEBUG see of kfence.c.
 *
 * Nothing here is on a fast path. Allocations are sampled where the slab
 * allocator already left its inline path (slab_alloc_slow, the debug kmalloc
 * path; with kfence=T kswapd turns the fast paths off when a sample is due,
 * so the next allocation gets there); frees of a kfence object are recognised where they leave it too:
 * kfree by the page descriptor (pool pages are not PageSlab), kmem_cache_free
 * in slab_free_slow() or, for objects parked in a per-CPU array, in
 * free_block() when the array is flushed.
 */
#ifndef KMEM_MM_KFENCE_H
#define KMEM_MM_KFENCE_H

#include "slab.h"

/* CONFIG_KFENCE_NUM_OBJECTS: each object has a page of its own, between guard pages. */
#define KFENCE_NUM_OBJECTS 255
#define KFENCE_POOL_SIZE ((size_t)(KFENCE_NUM_OBJECTS + 1) * 2 * PAGE_SIZE)
/* The kernel's CONFIG_KFENCE_SAMPLE_INTERVAL, for a bare "kfence". */
#define KFENCE_DEFAULT_INTERVAL_NS (100ULL * 1000000ULL)

extern char *__kfence_pool; /* NULL while kfence is off */
extern bool kfence_enabled;

/* Whether @addr lies in the pool (objects and guard pages alike): one subtraction. */
static __always_inline bool is_kfence_address(const void *addr)
{
	return (uintptr_t)((const char *)addr - __kfence_pool) < KFENCE_POOL_SIZE && __kfence_pool;
}

/* How allocations are sampled: every interval_ns (time), or one in every_nth. */
struct kfence_param {
	bool on;
	uint64_t interval_ns;
	unsigned long every_nth;
};

/* Parse "kfence", "kfence=100ms" or "kfence=N" into @p; -EINVAL after a message. */
int kfence_parse(const char *s, const char *end, const char *whole, struct kfence_param *p);
/* What the accepted KMEM_DEBUG asked for (off when it has no kfence block). */
void kfence_setup(const struct kfence_param *p);

/* Reserve the pool and install the fault handler (kmem_init); give them back (kmem_exit). */
void kfence_init(void);
void kfence_exit(void);

/*
 * A sampled allocation of @size bytes for @s: an object of the pool when a
 * sample is due, else NULL and the caller allocates as usual.
 */
void *__kfence_alloc(struct kmem_cache *s, size_t size, gfp_t flags);

static __always_inline void *kfence_alloc(struct kmem_cache *s, size_t size, gfp_t flags)
{
	if (likely(!READ_ONCE(kfence_enabled)))
		return NULL;
	return __kfence_alloc(s, size, flags);
}

/* Free @addr, a kfence address: reported (and ignored) unless it is a live object's start. */
void __kfence_free(void *addr);
/* The object's size (ksize), or 0 for an address that is not a live object's start. */
size_t kfence_ksize(const void *addr);
/* kmem_cache_destroy(@s): its live kfence objects are reported as leaks and freed. */
void kfence_shutdown_cache(struct kmem_cache *s);
/* /proc "kfence/stats", as the kernel's debugfs kfence/stats. */
void kfence_stats_show(struct seq_file *m);

#endif /* KMEM_MM_KFENCE_H */
