/* SPDX-License-Identifier: MIT */
/*
 * Fault injection hooks (the kernel's failslab, fail_page_alloc and a
 * fail_vmalloc of our own): see fault_inject.c and docs/FAULT_INJECTION.md.
 *
 * The allocators call should_failslab(), should_fail_alloc_page() and
 * should_fail_vmalloc() at their entry points. With injection off (the
 * normal case) each is one load of fail_key and a branch predicted not
 * taken, as the kernel's static keys make it; the decision itself is out of
 * line. The slab fast paths do not even load fail_key: while failslab is
 * on, they step aside (PCPU_SLOW_FAILSLAB) to slab_alloc_slow(), which asks.
 */
#ifndef KMEM_MM_FAULT_INJECT_H
#define KMEM_MM_FAULT_INJECT_H

#include <kmem/kmem.h>

#include "platform/compiler.h"

/* One bit per enum kmem_fail_kind that has something to decide. */
extern unsigned int fail_key;

bool __should_failslab(struct kmem_cache *s, gfp_t gfp);
bool __should_fail_alloc_page(gfp_t gfp, unsigned int order);
bool __should_fail_vmalloc(unsigned long size, gfp_t gfp);

/* kmem_cache_alloc*() and kmalloc's small sizes: true means "return NULL now". */
static __always_inline bool should_failslab(struct kmem_cache *s, gfp_t gfp)
{
	if (likely(!(READ_ONCE(fail_key) & (1u << KMEM_FAIL_SLAB))))
		return false;
	return __should_failslab(s, gfp);
}

/* alloc_pages() and everything built on it (slab growth, large kmalloc). */
static __always_inline bool should_fail_alloc_page(gfp_t gfp, unsigned int order)
{
	if (likely(!(READ_ONCE(fail_key) & (1u << KMEM_FAIL_PAGE))))
		return false;
	return __should_fail_alloc_page(gfp, order);
}

/*
 * vmalloc: call at the entry of the vmalloc family (__vmalloc_node_range or
 * its equivalent), before the area is reserved, with the requested size; the
 * pages vmalloc then allocates pass should_fail_alloc_page() as well.
 */
static __always_inline bool should_fail_vmalloc(unsigned long size, gfp_t gfp)
{
	if (likely(!(READ_ONCE(fail_key) & (1u << KMEM_FAIL_VMALLOC))))
		return false;
	return __should_fail_vmalloc(size, gfp);
}

/* kmem_init: parse KMEM_FAIL (-EINVAL with a message), then arm it once kmem is up. */
int fault_inject_parse_env(void);
void fault_inject_start(void);
/* kmem_exit: everything off, hooks forgotten. */
void fault_inject_exit(void);
/* kmem_cache_destroy: a later cache at the same address must not inherit the hook. */
void fault_inject_forget_cache(struct kmem_cache *s);

#endif /* KMEM_MM_FAULT_INJECT_H */
