// SPDX-License-Identifier: MIT
/*
 * The kernel test harness on kmem: this file replaces the harness's
 * tools/testing/shared/linux.c and tools/lib/slab.c (a malloc-based fake
 * slab) when tests/kernel/run.sh builds maple, xarray and idr-test from the
 * Linux tree. The kernel sources call kmem through the header shim
 * tests/kernel/include/linux/slab.h, which renames kmem_cache_alloc & co to
 * the kt_* functions below; these keep the harness's counters and call kmem.
 *
 * The harness's test-only hooks, on kmem's own mechanisms:
 *   - non_kernel: the fake fails every allocation without
 *     __GFP_DIRECT_RECLAIM once a per-cache budget (default 0) is spent, so
 *     the kernel's "allocate atomically, else drop the lock and retry with
 *     GFP_KERNEL" paths run. Here the budget is a kmem fault-injection hook
 *     on each cache the suites create (kmem_fail_set_cache_hook).
 *   - The fake's kmalloc fails every allocation that may not sleep: here a
 *     kmem_fail_set() rule, slab:probability=100,ignore-gfp-wait limited to
 *     the kmalloc caches.
 *   - callback/private: when the budget refuses an allocation, the next
 *     kmem_cache_alloc on that cache first calls callback(private), as the
 *     fake does (maple uses it to change the tree between retries).
 *   - nr_allocated (objects live in all caches), kmalloc_nr_allocated, and
 *     per cache nr_allocated / nr_tallocated (allocations since zeroed).
 *
 * This file sees kmem's headers only, never the harness's.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kmem/kmem.h>

#include "kmem_adapter.h"

int nr_allocated; /* objects live in every cache (test.h) */
int preempt_count; /* <linux/preempt.h> of the harness */
int test_verbose;
int kmalloc_nr_allocated;
int kmalloc_verbose;

/* What the harness's struct kmem_cache kept beside the objects, per cache. */
struct kt_cache {
	struct kmem_cache *_Atomic cache;
	unsigned int non_kernel;
	bool exec_callback;
	void (*callback)(void *);
	void *private;
	unsigned long nr_allocated, nr_tallocated;
	unsigned long total; /* allocations ever, for the report (nr_tallocated gets zeroed) */
};

static struct kt_cache kt_caches[KMEM_FAIL_MAX_HOOKS];

static struct kt_cache *kt_find(struct kmem_cache *cachep)
{
	for (int i = 0; i < KMEM_FAIL_MAX_HOOKS; i++)
		if (atomic_load_explicit(&kt_caches[i].cache, memory_order_acquire) == cachep)
			return &kt_caches[i];
	fprintf(stderr, "kmem_adapter: cache %p was not created through the adapter\n",
		(void *)cachep);
	abort();
}

/* The fake's non_kernel rule, asked by kmem's fault injection before each allocation. */
static bool non_kernel_hook(struct kmem_cache *s, gfp_t gfp, void *data)
{
	struct kt_cache *kc = data;

	(void)s;
	if (gfp & __GFP_DIRECT_RECLAIM)
		return false;
	if (!kc->non_kernel) {
		kc->exec_callback = true;
		return true;
	}
	kc->non_kernel--;
	return false;
}

/* Once per program: the fake's kmalloc never serves callers that cannot sleep. */
static void kt_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, kt_init_fail_rules);
}

void kt_init_fail_rules(void)
{
	if (kmem_fail_set("slab:probability=100,ignore-gfp-wait,verbose=0,cache=kmalloc-*"))
		abort();
}

struct kmem_cache *kt_kmem_cache_create(const char *name, unsigned int size, unsigned int align,
					slab_flags_t flags, void (*ctor)(void *))
{
	struct kmem_cache *cachep;
	int i;

	kt_init();
	cachep = kmem_cache_create(name, size, align, flags, ctor);
	if (!cachep)
		return NULL;
	for (i = 0; i < KMEM_FAIL_MAX_HOOKS; i++) {
		struct kmem_cache *none = NULL;

		if (atomic_compare_exchange_strong(&kt_caches[i].cache, &none, cachep))
			break;
	}
	if (i == KMEM_FAIL_MAX_HOOKS ||
	    kmem_fail_set_cache_hook(cachep, non_kernel_hook, &kt_caches[i])) {
		fprintf(stderr, "kmem_adapter: more than %d caches\n", KMEM_FAIL_MAX_HOOKS);
		abort();
	}
	return cachep;
}

void kt_kmem_cache_destroy(struct kmem_cache *cachep)
{
	struct kt_cache *kc;

	if (!cachep)
		return;
	kc = kt_find(cachep);
	kmem_cache_destroy(cachep); /* forgets the hook */
	memset((void *)&kc->non_kernel, 0, sizeof(*kc) - offsetof(struct kt_cache, non_kernel));
	atomic_store(&kc->cache, NULL);
}

void kmem_cache_set_callback(struct kmem_cache *cachep, void (*callback)(void *))
{
	kt_find(cachep)->callback = callback;
}

void kmem_cache_set_private(struct kmem_cache *cachep, void *private)
{
	kt_find(cachep)->private = private;
}

void kmem_cache_set_non_kernel(struct kmem_cache *cachep, unsigned int val)
{
	kt_find(cachep)->non_kernel = val;
}

unsigned long kmem_cache_get_alloc(struct kmem_cache *cachep)
{
	return kmem_cache_size(cachep) * kmem_cache_nr_allocated(cachep);
}

unsigned long kmem_cache_nr_allocated(struct kmem_cache *cachep)
{
	return __atomic_load_n(&kt_find(cachep)->nr_allocated, __ATOMIC_RELAXED);
}

unsigned long kmem_cache_nr_tallocated(struct kmem_cache *cachep)
{
	return __atomic_load_n(&kt_find(cachep)->nr_tallocated, __ATOMIC_RELAXED);
}

void kmem_cache_zero_nr_tallocated(struct kmem_cache *cachep)
{
	__atomic_store_n(&kt_find(cachep)->nr_tallocated, 0, __ATOMIC_RELAXED);
}

static void count_alloc(struct kt_cache *kc, long n)
{
	__atomic_add_fetch(&nr_allocated, (int)n, __ATOMIC_RELAXED);
	__atomic_add_fetch(&kc->nr_allocated, n, __ATOMIC_RELAXED);
	if (n > 0) {
		__atomic_add_fetch(&kc->nr_tallocated, n, __ATOMIC_RELAXED);
		__atomic_add_fetch(&kc->total, n, __ATOMIC_RELAXED);
	}
}

void *kmem_cache_alloc_lru(struct kmem_cache *cachep, struct list_lru *lru, int gfp)
{
	struct kt_cache *kc = kt_find(cachep);
	void *p;

	(void)lru;
	if (kc->exec_callback) {
		if (kc->callback)
			kc->callback(kc->private);
		kc->exec_callback = false;
	}
	p = kmem_cache_alloc(cachep, (gfp_t)gfp);
	if (p) {
		count_alloc(kc, 1);
		if (kmalloc_verbose)
			printf("Allocating %p from slab\n", p);
	}
	return p;
}

void *kt_kmem_cache_alloc(struct kmem_cache *cachep, gfp_t gfp)
{
	return kmem_cache_alloc_lru(cachep, NULL, (int)gfp);
}

void kt_kmem_cache_free(struct kmem_cache *cachep, void *objp)
{
	assert(objp);
	count_alloc(kt_find(cachep), -1);
	if (kmalloc_verbose)
		printf("Freeing %p to slab\n", objp);
	kmem_cache_free(cachep, objp);
}

int kt_kmem_cache_alloc_bulk(struct kmem_cache *cachep, gfp_t gfp, size_t size, void **list)
{
	struct kt_cache *kc = kt_find(cachep);
	bool exec_callback = kc->exec_callback; /* the fake's bulk path never sets it */
	int ret = kmem_cache_alloc_bulk(cachep, gfp, size, list);

	kc->exec_callback = exec_callback;
	if (ret)
		count_alloc(kc, ret);
	return ret;
}

void kt_kmem_cache_free_bulk(struct kmem_cache *cachep, size_t size, void **list)
{
	count_alloc(kt_find(cachep), -(long)size);
	kmem_cache_free_bulk(cachep, size, list);
}

void *kt_kmalloc(size_t size, gfp_t gfp)
{
	void *p;

	kt_init();
	p = kmalloc(size, gfp);
	if (p)
		__atomic_add_fetch(&kmalloc_nr_allocated, 1, __ATOMIC_RELAXED);
	if (kmalloc_verbose)
		printf("Allocating %p from malloc\n", p);
	return p;
}

void kt_kfree(const void *p)
{
	if (!p)
		return;
	__atomic_sub_fetch(&kmalloc_nr_allocated, 1, __ATOMIC_RELAXED);
	if (kmalloc_verbose)
		printf("Freeing %p to malloc\n", p);
	kfree(p);
}

bool slab_is_available(void)
{
	return true;
}

#define CTOR_BYTE 0xc7

static void ctor_pattern(void *obj)
{
	memset(obj, CTOR_BYTE, 256);
}

static bool all_ctor_bytes(const void *obj)
{
	for (int i = 0; i < 256; i++)
		if (((const unsigned char *)obj)[i] != CTOR_BYTE)
			return false;
	return true;
}

/*
 * What the suites rely on without saying: a constructed object keeps every
 * byte its constructor wrote while it is free (SLAB keeps its free list
 * outside the objects), here for 256-byte objects aligned to 256 like
 * maple_node, over several slabs.
 */
static void test_ctor_bytes_survive_free(void)
{
	struct kmem_cache *c =
		kt_kmem_cache_create("test_cache_ctor", 256, 256, SLAB_PANIC, ctor_pattern);
	void *list[64];

	for (int round = 0; round < 2; round++) {
		assert(kt_kmem_cache_alloc_bulk(c, __GFP_DIRECT_RECLAIM, 64, list) == 64);
		for (int i = 0; i < 64; i++)
			assert(((uintptr_t)list[i] & 255) == 0 && all_ctor_bytes(list[i]));
		kt_kmem_cache_free_bulk(c, 64, list);
	}
	kt_kmem_cache_destroy(c);
}

/*
 * The harness's self-test of its fake (maple calls it), rewritten for kmem:
 * the fake's assertions were about its private free list; these are about
 * what any slab must do: distinct, aligned objects, counted, with bulk
 * allocations obeying the non_kernel budget all or nothing.
 */
void test_kmem_cache_bulk(void)
{
	void *list[12];
	struct kmem_cache *c = kt_kmem_cache_create("test_cache", 256, 0, SLAB_PANIC, NULL);
	struct kmem_cache *c2 = kt_kmem_cache_create("test_cache2", 128, 128, SLAB_PANIC, NULL);
	unsigned long base = kmem_cache_nr_allocated(c);

	for (int i = 0; i < 5; i++)
		list[i] = kt_kmem_cache_alloc(c, __GFP_DIRECT_RECLAIM);
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < i; j++)
			assert(list[i] && list[i] != list[j]);
	assert(kmem_cache_nr_allocated(c) == base + 5);
	for (int i = 0; i < 5; i++)
		kt_kmem_cache_free(c, list[i]);
	assert(kt_kmem_cache_alloc_bulk(c, __GFP_DIRECT_RECLAIM, 5, list) == 5);
	kt_kmem_cache_free_bulk(c, 5, list);

	/* Without __GFP_DIRECT_RECLAIM the budget decides, for the whole bulk. */
	kmem_cache_set_non_kernel(c, 3);
	assert(kt_kmem_cache_alloc_bulk(c, GFP_NOWAIT, 5, list) == 0);
	assert(kmem_cache_nr_allocated(c) == base);
	kmem_cache_set_non_kernel(c, 12);
	assert(kt_kmem_cache_alloc_bulk(c, GFP_NOWAIT, 12, list) == 12);
	assert(kt_kmem_cache_alloc(c, GFP_NOWAIT) == NULL);
	kt_kmem_cache_free_bulk(c, 12, list);
	kt_find(c)->exec_callback = false;

	assert(kt_kmem_cache_alloc_bulk(c2, __GFP_DIRECT_RECLAIM, 10, list) == 10);
	for (int i = 0; i < 10; i++)
		assert(((uintptr_t)list[i] & 127) == 0);
	kt_kmem_cache_free_bulk(c2, 10, list);
	assert(kmem_cache_nr_allocated(c) == base && kmem_cache_nr_allocated(c2) == 0);
	kt_kmem_cache_destroy(c);
	kt_kmem_cache_destroy(c2);
	test_ctor_bytes_survive_free();
}

/* ------------------------------------------------------------ statistics */

/* After the suite's verdict: what it asked of kmem, from kmem's own slabinfo. */
static void __attribute__((destructor)) kt_print_stats(void)
{
	static char buf[1 << 16];
	unsigned long caches = 0, objs = 0, active = 0, slabs = 0, pages = 0;
	char name[64];

	if (kmem_proc_read("slabinfo", buf, sizeof(buf)) <= 0)
		return;
	printf("kmem: slabinfo of the caches in use at exit:\n");
	for (char *line = buf; line && *line; line = strchr(line, '\n'), line += !!line) {
		unsigned long a, n, sl, ns;
		unsigned int size, per;
		int pps;

		if (sscanf(line, "%63s %lu %lu %u %u %d : tunables %*u %*u %*u : slabdata %lu %lu",
			   name, &a, &n, &size, &per, &pps, &sl, &ns) != 8)
			continue;
		caches++;
		if (!n)
			continue;
		objs += n;
		active += a;
		slabs += ns;
		pages += ns * (unsigned long)pps;
		printf("  %-20s %8lu active / %8lu objects of %5u bytes, %6lu slabs\n", name, a, n,
		       size, ns);
	}
	printf("kmem: %lu caches, %lu objects (%lu active) in %lu slabs (%lu pages); "
	       "failures forced by non_kernel/kmalloc rules: %lu\n",
	       caches, objs, active, slabs, pages, kmem_fail_injected(KMEM_FAIL_SLAB));
	for (int i = 0; i < KMEM_FAIL_MAX_HOOKS; i++) {
		struct kmem_cache *c = atomic_load(&kt_caches[i].cache);

		if (c)
			printf("kmem: %s: %lu allocations through the harness, %lu live\n",
			       kmem_cache_name(c), kt_caches[i].total, kt_caches[i].nr_allocated);
	}
	printf("kmem: harness counters: nr_allocated %d, kmalloc_nr_allocated %d\n", nr_allocated,
	       kmalloc_nr_allocated);
}
