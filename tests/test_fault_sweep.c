// SPDX-License-Identifier: MIT
/*
 * Fault-injection sweeps over every public allocation path (issue 6: "the
 * slab, kmalloc, mempool and vmalloc tests under KMEM_FAIL";
 * docs/FAULT_INJECTION.md): a workload that calls each of them and copes
 * with NULL runs with the N-th slab, page and vmalloc allocation failed for
 * N = 1, 2, ... until a run sees no failure, then under random failures with
 * several seeds and probabilities. After each run everything is freed and
 * the leak check must find what the run started with: live slab objects,
 * free pages, vmalloc pages, and kmem_cache_validate() clean. Each path also
 * fails alone: NULL, the FAULT_INJECTION notice, and none with __GFP_NOWARN.
 */
#include "slab_test.h"

TestSuite(fault_sweep, .init = leak_check_setup, .fini = leak_check_teardown);

/* ------------------------------------------------------------ the workload */

#define MAX_HELD 96

/* What one run of the workload holds, to free in the end. */
struct held {
	void *kmalloc[MAX_HELD]; /* kmalloc family: kfree / kvfree */
	int nr_kmalloc;
	void *vmalloc[MAX_HELD]; /* vmalloc, vzalloc, vmap: vfree / vunmap */
	int nr_vmalloc;
	struct page *pages[MAX_HELD];
	unsigned int order[MAX_HELD];
	int nr_pages;
	void *objs[MAX_HELD];
	int nr_objs;
	void *bulk[16];
	int nr_bulk;
	void *vmap; /* over pages[]: vunmap before they are freed */
	unsigned long calls, failed;
};

struct sweep {
	struct kmem_cache *cache; /* 200-byte objects */
	struct kmem_cache *ctor_cache; /* with a constructor */
};

static void ctor(void *p)
{
	memset(p, 0x3c, 48);
}

/* Record the result of one call: NULL is a failure, anything else is kept to free. */
static void *keep(struct held *h, void **slot, int *nr, void *p)
{
	h->calls++;
	if (!p) {
		h->failed++;
		return NULL;
	}
	cr_assert_lt(*nr, MAX_HELD);
	slot[(*nr)++] = p;
	return p;
}

#define keep_kmalloc(h, p) keep(h, (h)->kmalloc, &(h)->nr_kmalloc, (p))
#define keep_vmalloc(h, p) keep(h, (h)->vmalloc, &(h)->nr_vmalloc, (p))
#define keep_obj(h, p) keep(h, (h)->objs, &(h)->nr_objs, (p))

static void keep_pages(struct held *h, struct page *page, unsigned int order)
{
	h->calls++;
	if (!page) {
		h->failed++;
		return;
	}
	h->order[h->nr_pages] = order;
	h->pages[h->nr_pages++] = page;
}

/* Every byte of [p, p+len) is @c: what a zeroing or copying path promised. */
static void expect_bytes(const void *p, int c, size_t len, const char *what)
{
	for (size_t i = 0; p && i < len; i++)
		expect(((const unsigned char *)p)[i] == (unsigned char)c, "%s: byte %zu is %#x",
		       what, i, ((const unsigned char *)p)[i]);
}

static void slab_paths(struct sweep *sw, struct held *h)
{
	static const gfp_t gfps[] = { GFP_KERNEL, GFP_ATOMIC, GFP_NOWAIT,
				      GFP_KERNEL | __GFP_NOWARN };

	for (int i = 0; i < 8; i++)
		keep_obj(h, kmem_cache_alloc(sw->cache, gfps[i % 4]));
	expect_bytes(keep_obj(h, kmem_cache_zalloc(sw->cache, GFP_KERNEL)), 0, 200, "zalloc");
	keep_obj(h, kmem_cache_alloc_node(sw->cache, GFP_KERNEL, 0));
	h->calls++;
	h->nr_bulk = kmem_cache_alloc_bulk(sw->cache, GFP_KERNEL, 16, h->bulk);
	h->failed += h->nr_bulk == 0;
	cr_assert(h->nr_bulk == 0 || h->nr_bulk == 16, "bulk: %d of 16", h->nr_bulk);
	for (int i = 0; i < 4; i++) {
		void *p = kmem_cache_alloc(sw->ctor_cache, GFP_KERNEL);

		expect_bytes(p, 0x3c, 48, "constructed object");
		if (p)
			kmem_cache_free(sw->ctor_cache, p);
		h->calls++;
		h->failed += !p;
	}
}

static void kmalloc_paths(struct held *h)
{
	static const char text[] = "fault injection sweep";

	for (size_t size = 8; size <= 8192; size *= 2)
		keep_kmalloc(h, kmalloc(size - size / 4, GFP_KERNEL));
	keep_kmalloc(h, kmalloc(20000, GFP_KERNEL)); /* large: pages */
	keep_kmalloc(h, kmalloc(1 << 20, GFP_KERNEL | __GFP_NOWARN));
	expect_bytes(keep_kmalloc(h, kzalloc(300, GFP_KERNEL)), 0, 300, "kzalloc");
	expect_bytes(keep_kmalloc(h, kcalloc(10, 30, GFP_KERNEL)), 0, 300, "kcalloc");
	keep_kmalloc(h, kmalloc_array(7, 24, GFP_ATOMIC));
	keep_kmalloc(h, kmalloc_node(72, GFP_KERNEL, 0));
	expect_bytes(keep_kmalloc(h, kmemdup(text, 10, GFP_KERNEL)), 'f', 1, "kmemdup");
	keep_kmalloc(h, kstrdup(text, GFP_KERNEL));
	keep_kmalloc(h, kstrndup(text, 5, GFP_KERNEL));
	/* krealloc: a failed move leaves the old object valid, so it is kept either way. */
	char *p = keep_kmalloc(h, kmalloc(40, GFP_KERNEL));

	if (p) {
		memcpy(p, text, 10);
		char *q = krealloc(p, 5000, GFP_KERNEL);

		h->calls++;
		h->failed += !q;
		expect_bytes(q ? q : p, 'f', 1, "krealloc kept the contents");
		h->kmalloc[h->nr_kmalloc - 1] = q ? q : p;
	}
	keep_kmalloc(h, krealloc(NULL, 96, GFP_KERNEL));
	/* kvmalloc: kmalloc, then vmalloc for the bigger sizes. */
	keep_kmalloc(h, kvmalloc(100, GFP_KERNEL));
	keep_kmalloc(h, kvmalloc(64 << 10, GFP_KERNEL));
	keep_kmalloc(h, kvmalloc(6 << 20, GFP_KERNEL)); /* above KMALLOC_MAX_SIZE */
	expect_bytes(keep_kmalloc(h, kvzalloc(12 << 10, GFP_KERNEL)), 0, 12 << 10, "kvzalloc");
}

static void vmalloc_paths(struct held *h)
{
	keep_vmalloc(h, vmalloc(3 * PAGE_SIZE));
	keep_vmalloc(h, vmalloc(1 << 20));
	expect_bytes(keep_vmalloc(h, vzalloc(64 << 10)), 0, 64 << 10, "vzalloc");
	keep_vmalloc(h, __vmalloc(5 * PAGE_SIZE, GFP_KERNEL | __GFP_NOWARN));
	keep_vmalloc(h, vmalloc_node(2 * PAGE_SIZE, 0));
	/* vmap over pages of our own: they stay ours (freed with the other pages). */
	struct page *pages[4];
	unsigned int nr = 0;

	for (; nr < 4; nr++) {
		pages[nr] = alloc_pages(GFP_KERNEL, 0);
		keep_pages(h, pages[nr], 0);
		if (!pages[nr])
			break;
	}
	if (nr == 4) {
		h->vmap = vmap(pages, 4, VM_MAP, PAGE_KERNEL);
		h->calls++;
		h->failed += !h->vmap;
	}
}

static void page_paths(struct held *h)
{
	keep_pages(h, alloc_pages(GFP_KERNEL, 0), 0);
	keep_pages(h, alloc_pages(GFP_KERNEL | __GFP_NOWARN, 3), 3);
	keep_pages(h, alloc_pages_node(0, GFP_ATOMIC, 1), 1);
	unsigned long addr = __get_free_pages(GFP_KERNEL, 2);

	keep_pages(h, addr ? virt_to_page((void *)addr) : NULL, 2);
	addr = get_zeroed_page(GFP_KERNEL);
	expect_bytes(addr ? (void *)addr : NULL, 0, PAGE_SIZE, "get_zeroed_page");
	keep_pages(h, addr ? virt_to_page((void *)addr) : NULL, 0);
}

/*
 * mempool: creating a pool allocates (and may fail); allocations that may
 * sleep never fail while the reserve has elements (the kernel's promise),
 * those that may not are NULL once the reserve is empty.
 */
static void mempool_paths(struct sweep *sw, struct held *h)
{
	mempool_t *pools[3] = { mempool_create_kmalloc_pool(4, 128),
				mempool_create_slab_pool(4, sw->cache),
				mempool_create_page_pool(4, 0) };
	void *elems[3][6];

	for (int k = 0; k < 3; k++) {
		h->calls++;
		if (!pools[k]) {
			h->failed++;
			continue;
		}
		for (int i = 0; i < 4; i++) {
			elems[k][i] = mempool_alloc(pools[k], GFP_KERNEL);
			cr_assert_not_null(elems[k][i],
					   "pool %d: a sleeping mempool_alloc failed "
					   "with %d of 4 reserved elements out",
					   k, i);
		}
		for (int i = 4; i < 6; i++) {
			elems[k][i] = mempool_alloc(pools[k], GFP_NOWAIT);
			h->calls++;
			h->failed += !elems[k][i];
		}
		for (int i = 5; i >= 0; i--)
			if (elems[k][i])
				mempool_free(elems[k][i], pools[k]);
		mempool_destroy(pools[k]);
	}
}

static void free_held(struct sweep *sw, struct held *h)
{
	vunmap(h->vmap);
	for (int i = h->nr_vmalloc - 1; i >= 0; i--)
		vfree(h->vmalloc[i]);
	for (int i = 0; i < h->nr_kmalloc; i++)
		kvfree(h->kmalloc[i]);
	for (int i = 0; i < h->nr_pages; i++)
		__free_pages(h->pages[i], h->order[i]);
	kmem_cache_free_bulk(sw->cache, (size_t)h->nr_bulk, h->bulk);
	for (int i = 0; i < h->nr_objs; i++)
		kmem_cache_free(sw->cache, h->objs[i]);
}

/* One run of every path; returns the number of calls that came back empty. */
static unsigned long workload(struct sweep *sw, unsigned long *calls)
{
	struct held h = { 0 };

	slab_paths(sw, &h);
	kmalloc_paths(&h);
	vmalloc_paths(&h);
	page_paths(&h);
	mempool_paths(sw, &h);
	free_held(sw, &h);
	if (calls)
		*calls = h.calls;
	return h.failed;
}

/* ------------------------------------------------------------ leak checks */

static unsigned long vmalloc_used_kb(void)
{
	char buf[4096];
	unsigned long kb = 0;

	cr_assert_gt(kmem_proc_read("meminfo", buf, sizeof(buf)), 0);
	const char *line = strstr(buf, "VmallocUsed:");

	cr_assert_not_null(line, "meminfo has no VmallocUsed: %s", buf);
	sscanf(line, "VmallocUsed: %lu", &kb);
	return kb;
}

struct baseline {
	struct usage usage;
	unsigned long vmalloc_kb, errors;
};

static struct baseline baseline_now(void)
{
	return (struct baseline){ usage_now(), vmalloc_used_kb(), kmem_error_count() };
}

static void assert_baseline(struct baseline start, const char *when)
{
	assert_usage(start.usage, when);
	cr_assert_eq(vmalloc_used_kb(), start.vmalloc_kb,
		     "%s: VmallocUsed %lu kB, %lu at the start", when, vmalloc_used_kb(),
		     start.vmalloc_kb);
	cr_assert_eq(kmem_cache_validate(NULL), 0, "%s: the caches do not validate: %s", when,
		     printk_log);
	cr_assert_eq(kmem_error_count(), start.errors, "%s: kmem reported a bug: %s", when,
		     printk_log);
}

static struct sweep sweep_caches(void)
{
	struct sweep sw = { kmem_cache_create("sweep-200", 200, 0, 0, NULL),
			    kmem_cache_create("sweep-ctor", 64, 0, 0, ctor) };

	cr_assert(sw.cache && sw.ctor_cache);
	return sw;
}

static void sweep_destroy(struct sweep *sw)
{
	unsigned long errors = kmem_error_count();

	kmem_cache_destroy(sw->cache);
	kmem_cache_destroy(sw->ctor_cache);
	cr_assert_eq(kmem_error_count(), errors, "a cache kept objects after the sweep: %s",
		     printk_log);
}

/* ------------------------------------------------------------ the sweeps */

Test(fault_sweep, fail_each_nth_allocation_of_every_kind)
{
	struct sweep sw = sweep_caches();
	unsigned long calls, most = 0;
	char spec[128];
	int n;

	cr_assert_eq(workload(&sw, &calls), 0ul, "the workload fails without injection");
	struct baseline start = baseline_now();

	for (n = 1; n < 2000; n++) {
		snprintf(spec, sizeof(spec), "probability=100,interval=%d,times=1,verbose=0", n);
		cr_assert_eq(kmem_fail_set(spec), 0);
		unsigned long failed = workload(&sw, NULL);
		unsigned long injected = kmem_fail_injected(KMEM_FAIL_SLAB) +
					 kmem_fail_injected(KMEM_FAIL_PAGE) +
					 kmem_fail_injected(KMEM_FAIL_VMALLOC);

		kmem_fail_set(NULL);
		/* A failure deep inside a path may be absorbed by a fallback (kvmalloc, mempool). */
		cr_assert_leq(failed, injected, "%s: %lu calls failed, %lu failures injected", spec,
			      failed, injected);
		most = max(most, failed);
		assert_baseline(start, spec);
		if (!injected)
			break;
	}
	cr_assert_gt(n, 50, "only %d allocations of a kind were reached", n);
	cr_assert_lt(n, 2000);
	cr_assert_gt(most, 0ul, "no injected failure ever reached a caller");
	cr_log_info("fail-nth: %d runs over %lu calls each", n, calls);
	sweep_destroy(&sw);
}

Test(fault_sweep, random_failures_with_several_seeds)
{
	static const int percents[] = { 5, 20, 50 };
	struct sweep sw = sweep_caches();
	unsigned long calls, failed = 0, injected = 0;
	char spec[128];

	workload(&sw, &calls);
	struct baseline start = baseline_now();

	for (int seed = 1; seed <= 8; seed++) {
		for (size_t p = 0; p < ARRAY_SIZE(percents); p++) {
			snprintf(spec, sizeof(spec), "probability=%d,seed=%d,verbose=0",
				 percents[p], seed);
			cr_assert_eq(kmem_fail_set(spec), 0);
			failed += workload(&sw, NULL);
			for (int k = 0; k < KMEM_FAIL_NR_KINDS; k++)
				injected += kmem_fail_injected(k);
			kmem_fail_set(NULL);
			assert_baseline(start, spec);
		}
	}
	cr_assert_gt(failed, 24ul, "24 runs of %lu calls saw only %lu failures", calls, failed);
	cr_assert_geq(injected, failed);
	sweep_destroy(&sw);
}

/*
 * The same seed fails the same calls: a failing run can be replayed. Each run
 * starts from a new kmem, as a replayed program does: how many slabs and
 * pages a run asks for depends on what the caches already hold.
 */
Test(fault_sweep, a_seed_replays_the_same_failures)
{
	unsigned long failed[2], injected[2][KMEM_FAIL_NR_KINDS];

	for (int run = 0; run < 2; run++) {
		if (run) {
			kmem_exit();
			leak_check_setup();
		}
		struct sweep sw = sweep_caches();

		cr_assert_eq(kmem_fail_set("probability=25,seed=2024,verbose=0"), 0);
		failed[run] = workload(&sw, NULL);
		for (int k = 0; k < KMEM_FAIL_NR_KINDS; k++)
			injected[run][k] = kmem_fail_injected(k);
		kmem_fail_set(NULL);
		sweep_destroy(&sw);
	}
	cr_assert_gt(failed[0], 0ul);
	cr_assert_eq(failed[0], failed[1], "%lu then %lu failed calls", failed[0], failed[1]);
	cr_assert_arr_eq(injected[0], injected[1], sizeof(injected[0]));
}

/* ------------------------------------------------- each path alone */

/* One call of a path with @gfp; what it returned, to free with @put. */
struct path {
	const char *name;
	void *(*get)(struct sweep *sw, gfp_t gfp);
	void (*put)(struct sweep *sw, void *p);
	bool takes_gfp; /* false: no gfp argument, so no __GFP_NOWARN to test */
};

static void *get_cache(struct sweep *sw, gfp_t gfp)
{
	return kmem_cache_alloc(sw->cache, gfp);
}

static void *get_cache_zalloc(struct sweep *sw, gfp_t gfp)
{
	return kmem_cache_zalloc(sw->cache, gfp);
}

static void *get_cache_node(struct sweep *sw, gfp_t gfp)
{
	return kmem_cache_alloc_node(sw->cache, gfp, 0);
}

static void put_cache(struct sweep *sw, void *p)
{
	kmem_cache_free(sw->cache, p);
}

static void *get_kmalloc(struct sweep *sw, gfp_t gfp)
{
	return kmalloc(100, gfp);
}

static void *get_kmalloc_large(struct sweep *sw, gfp_t gfp)
{
	return kmalloc(3 * PAGE_SIZE, gfp);
}

static void *get_kzalloc(struct sweep *sw, gfp_t gfp)
{
	return kzalloc(1000, gfp);
}

static void *get_kcalloc(struct sweep *sw, gfp_t gfp)
{
	return kcalloc(4, 50, gfp);
}

static void *get_kmalloc_node(struct sweep *sw, gfp_t gfp)
{
	return kmalloc_node(64, gfp, 0);
}

static void *get_krealloc(struct sweep *sw, gfp_t gfp)
{
	return krealloc(NULL, 300, gfp);
}

static void *get_kmemdup(struct sweep *sw, gfp_t gfp)
{
	return kmemdup(sw, sizeof(*sw), gfp);
}

static void *get_kstrdup(struct sweep *sw, gfp_t gfp)
{
	return kstrdup("kstrdup", gfp);
}

static void *get_kvmalloc(struct sweep *sw, gfp_t gfp)
{
	return kvmalloc(64 << 10, gfp);
}

static void put_kvmalloc(struct sweep *sw, void *p)
{
	kvfree(p);
}

static void *get_vmalloc(struct sweep *sw, gfp_t gfp)
{
	return vmalloc(4 * PAGE_SIZE);
}

static void *get_vzalloc(struct sweep *sw, gfp_t gfp)
{
	return vzalloc(4 * PAGE_SIZE);
}

static void *get___vmalloc(struct sweep *sw, gfp_t gfp)
{
	return __vmalloc(4 * PAGE_SIZE, gfp);
}

static void put_vmalloc(struct sweep *sw, void *p)
{
	vfree(p);
}

static void *get_pages(struct sweep *sw, gfp_t gfp)
{
	struct page *page = alloc_pages(gfp, 1);

	return page ? page_address(page) : NULL;
}

static void *get_pages_node(struct sweep *sw, gfp_t gfp)
{
	struct page *page = alloc_pages_node(0, gfp, 1);

	return page ? page_address(page) : NULL;
}

static void *get_free_pages(struct sweep *sw, gfp_t gfp)
{
	return (void *)__get_free_pages(gfp, 1);
}

static void put_pages(struct sweep *sw, void *p)
{
	free_pages((unsigned long)p, 1);
}

static const struct path paths[] = {
	{ "kmem_cache_alloc", get_cache, put_cache, true },
	{ "kmem_cache_zalloc", get_cache_zalloc, put_cache, true },
	{ "kmem_cache_alloc_node", get_cache_node, put_cache, true },
	{ "kmalloc", get_kmalloc, put_kvmalloc, true },
	{ "kmalloc (large)", get_kmalloc_large, put_kvmalloc, true },
	{ "kzalloc", get_kzalloc, put_kvmalloc, true },
	{ "kcalloc", get_kcalloc, put_kvmalloc, true },
	{ "kmalloc_node", get_kmalloc_node, put_kvmalloc, true },
	{ "krealloc", get_krealloc, put_kvmalloc, true },
	{ "kmemdup", get_kmemdup, put_kvmalloc, true },
	{ "kstrdup", get_kstrdup, put_kvmalloc, true },
	{ "kvmalloc", get_kvmalloc, put_kvmalloc, true },
	{ "vmalloc", get_vmalloc, put_vmalloc, false },
	{ "vzalloc", get_vzalloc, put_vmalloc, false },
	{ "__vmalloc", get___vmalloc, put_vmalloc, true },
	{ "alloc_pages", get_pages, put_pages, true },
	{ "alloc_pages_node", get_pages_node, put_pages, true },
	{ "__get_free_pages", get_free_pages, put_pages, true },
};

/*
 * Every kind fails every time: each path returns NULL and leaks nothing; the
 * FAULT_INJECTION notice is printed, unless the caller said __GFP_NOWARN,
 * when nothing at all is printed (no notice, no allocation-failure warning).
 */
Test(fault_sweep, each_path_fails_alone_and_warns_unless_nowarn)
{
	struct sweep sw = sweep_caches();

	workload(&sw, NULL);
	struct baseline start = baseline_now();

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		for (int nowarn = 0; nowarn <= paths[i].takes_gfp; nowarn++) {
			gfp_t gfp = GFP_KERNEL | (nowarn ? __GFP_NOWARN : 0);

			/* A new setting restarts the notices' rate limit. */
			cr_assert_eq(kmem_fail_set("probability=100,verbose=1"), 0);
			printk_clear();
			void *p = paths[i].get(&sw, gfp);

			kmem_fail_set(NULL);
			if (p)
				paths[i].put(&sw, p);
			cr_assert_null(p, "%s%s: not failed", paths[i].name,
				       nowarn ? " with __GFP_NOWARN" : "");
			if (nowarn)
				cr_assert_eq(printk_count(), 0u, "%s with __GFP_NOWARN printed: %s",
					     paths[i].name, printk_log);
			else
				cr_assert(printk_logged("FAULT_INJECTION: forcing a failure"),
					  "%s: no notice: %s", paths[i].name, printk_log);
		}
		assert_baseline(start, paths[i].name);
	}
	sweep_destroy(&sw);
}
