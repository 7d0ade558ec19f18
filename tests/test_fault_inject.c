// SPDX-License-Identifier: MIT
// kmem-test: threaded
/*
 * Fault injection (src/mm/fault_inject.c, docs/FAULT_INJECTION.md): KMEM_FAIL
 * and kmem_fail_set() parsing with their messages, probability 100 failing
 * every public allocation path with nothing leaked, interval/times/space,
 * seed reproducibility, the cache filter, ignore-gfp-wait, min-order,
 * __GFP_NOFAIL, verbose output, per-cache hooks, a fail-the-Nth sweep over
 * a workload that copes with NULL, and reconfiguration while threads allocate.
 */
#include <errno.h>
#include <sched.h>

#include "mm/fault_inject.h"
#include "slab_test.h"

TestSuite(fault_inject, .init = leak_check_setup, .fini = leak_check_teardown);

/* ------------------------------------------------------------------ parsing */

Test(fault_inject, parse_good_strings)
{
	static const char *const good[] = {
		"probability=5,interval=1,times=-1,seed=42",
		"slab:probability=10,cache=kmalloc-64;page:probability=1,min-order=2",
		"vmalloc:probability=100,times=3,verbose=2",
		"all:probability=0",
		"probability=50,ignore-gfp-wait",
		"probability=50,ignore-gfp-wait=0,space=4096,seed=0xdeadbeef",
		"slab:cache=kmalloc-*|dentry,probability=1",
		"1,100,0,-1", /* the kernel's failslab= boot form */
		"page:10,20,30,4;;",
	};

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		cr_expect_eq(kmem_fail_set(good[i]), 0, "'%s' was refused: %s", good[i],
			     printk_log);
	cr_assert_eq(kmem_fail_set(NULL), 0);
	cr_assert_eq(kmem_fail_set(""), 0);
	cr_assert_eq(READ_ONCE(fail_key), 0u, "kmem_fail_set(\"\") left injection on");
	cr_assert_eq(kmem_fail_set("probability=100"), 0);
	cr_assert_eq(kmem_fail_set("none"), 0);
	cr_assert_eq(READ_ONCE(fail_key), 0u, "\"none\" left injection on");
	cr_assert_eq(kmem_fail_set("slab:probability=100"), 0);
	cr_assert_eq(kmem_fail_set("off"), 0);
	cr_assert_eq(READ_ONCE(fail_key), 0u, "\"off\" left injection on");
}

Test(fault_inject, parse_bad_strings_name_the_token)
{
	static const struct {
		const char *spec, *token, *why;
	} bad[] = {
		{ "probability=101", "probability=101", "0..100" },
		{ "probability=-1", "probability=-1", "0..100" },
		{ "probability=5x", "probability=5x", "percentage" },
		{ "probability", "probability", "expected probability=" },
		{ "interval=0", "interval=0", "1 or more" },
		{ "times=-2", "times=-2", "unlimited" },
		{ "verbose=3", "verbose=3", "0, 1 or 2" },
		{ "seed=-4", "seed=-4", "unsigned" },
		{ "ignore-gfp-wait=2", "ignore-gfp-wait=2", "0 or 1" },
		{ "probabilty=5", "probabilty=5", "unknown attribute" },
		{ "cache=kmalloc-64", "cache=kmalloc-64", "slab: only" },
		{ "page:cache=x", "cache=x", "slab: only" },
		{ "slab:min-order=1", "min-order=1", "page: only" },
		{ "page:min-order=11", "min-order=11", "0..10" },
		{ "slub:probability=5", "slub", "unknown kind" },
		{ "1,2,3", "1,2,3", "kernel's form" },
		{ "0,5,0,-1", "0,5,0,-1", "kernel's form" },
		{ "probability=5;slab:bogus", "bogus", "unknown attribute" },
	};

	kmem_fail_set("slab:probability=100,verbose=0");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char want[256];

		printk_clear();
		cr_expect_eq(kmem_fail_set(bad[i].spec), -EINVAL, "'%s' was accepted", bad[i].spec);
		snprintf(want, sizeof(want), "kmem_fail_set='%s': bad token '%s'", bad[i].spec,
			 bad[i].token);
		cr_expect(printk_logged(want), "'%s': no \"%s\" in: %s", bad[i].spec, want,
			  printk_log);
		cr_expect(printk_logged(bad[i].why), "'%s': no \"%s\" in: %s", bad[i].spec,
			  bad[i].why, printk_log);
	}
	/* A refused string changes nothing. */
	cr_assert_null(kmalloc(64, GFP_KERNEL), "a refused string turned slab: off");
	cr_assert_not_null(alloc_pages(GFP_KERNEL, 0), "a refused string turned page: on");
}

Test(fault_inject, env_bad_string_fails_kmem_init)
{
	kmem_exit();
	setenv("KMEM_FAIL", "slab:probability=10,cahce=kmalloc-64", 1);
	printk_clear();
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = LEAK_CHECK_ARENA }), -EINVAL);
	cr_assert(printk_logged("KMEM_FAIL='slab:probability=10,cahce=kmalloc-64': bad token "
				"'cahce=kmalloc-64': unknown attribute"),
		  "%s", printk_log);
	setenv("KMEM_FAIL", "slab:probability=100,verbose=0", 1);
	cr_assert_eq(kmem_init(&(struct kmem_config){ .mem_size = LEAK_CHECK_ARENA }), 0,
		     "a good KMEM_FAIL must not make kmem_init fail: %s", printk_log);
	unsetenv("KMEM_FAIL");
	cr_assert_null(kmalloc(64, GFP_KERNEL), "KMEM_FAIL was not armed by kmem_init");
	cr_assert_not_null(alloc_pages(GFP_KERNEL, 0), "page: was not asked for");
	cr_assert_eq(kmem_fail_injected(KMEM_FAIL_SLAB), 1ul);
}

/* ------------------------------------------------------ probability 100 */

Test(fault_inject, probability_100_fails_every_path_and_leaks_nothing)
{
	struct kmem_cache *c = kmem_cache_create("fi-every", 200, 0, 0, NULL);
	void *objs[8];

	cr_assert_not_null(c);
	struct usage start = usage_now();

	cr_assert_eq(kmem_fail_set("probability=100,verbose=0"), 0);
	cr_assert_null(kmem_cache_alloc(c, GFP_KERNEL));
	cr_assert_null(kmem_cache_zalloc(c, GFP_KERNEL));
	cr_assert_null(kmem_cache_alloc_node(c, GFP_KERNEL, 0));
	cr_assert_null(kmem_cache_alloc(c, GFP_ATOMIC));
	cr_assert_eq(kmem_cache_alloc_bulk(c, GFP_KERNEL, 8, objs), 0);
	cr_assert_null(kmalloc(8, GFP_KERNEL));
	cr_assert_null(kmalloc(3000, GFP_KERNEL));
	cr_assert_null(kzalloc(100, GFP_KERNEL));
	cr_assert_null(kmalloc_node(64, GFP_KERNEL, 0));
	cr_assert_null(kmalloc(KMALLOC_MAX_CACHE_SIZE + 1, GFP_KERNEL), "large kmalloc");
	cr_assert_null(kmalloc(1 << 20, GFP_KERNEL), "large kmalloc");
	cr_assert_null(kcalloc(10, 10, GFP_KERNEL));
	cr_assert_null(kstrdup("x", GFP_KERNEL));
	cr_assert_null(krealloc(NULL, 50, GFP_KERNEL));
	cr_assert_null(alloc_pages(GFP_KERNEL, 0));
	cr_assert_null(alloc_pages(GFP_KERNEL, 3));
	cr_assert_null(alloc_pages_node(0, GFP_KERNEL, 0));
	cr_assert_eq(__get_free_pages(GFP_KERNEL, 1), 0ul);
	cr_assert_eq(get_zeroed_page(GFP_KERNEL), 0ul);
	cr_assert_null(kvmalloc(100, GFP_KERNEL));
	cr_assert_geq(kmem_fail_injected(KMEM_FAIL_SLAB), 13ul);
	cr_assert_geq(kmem_fail_injected(KMEM_FAIL_PAGE), 7ul);
	cr_assert_eq(printk_count(), 0u, "verbose=0 printed: %s", printk_log);
	cr_assert_eq(kmem_fail_set(NULL), 0);
	assert_usage(start, "after the failures");

	/* A bulk allocation that fails half-way gives back what it had. */
	cr_assert_eq(kmem_fail_set("slab:probability=100,verbose=0,space=800"), 0);
	cr_assert_eq(kmem_cache_alloc_bulk(c, GFP_KERNEL, 8, objs), 0);
	cr_assert_eq(kmem_fail_injected(KMEM_FAIL_SLAB), 1ul, "space=800 lets three through");
	kmem_fail_set(NULL);
	assert_usage(start, "after a partial bulk allocation");
	unsigned long bugs = kmem_error_count();

	kmem_cache_destroy(c);
	cr_assert_eq(kmem_error_count(), bugs, "the cache was left with objects: %s", printk_log);
}

/* -------------------------------------------------- interval, times, space */

/* Which of @n allocations from @c fail, as a string of '.' and 'X'. */
static void fail_pattern(struct kmem_cache *c, gfp_t gfp, char *out, int n)
{
	void *objs[256];

	cr_assert_leq(n, 256);
	for (int i = 0; i < n; i++) {
		objs[i] = kmem_cache_alloc(c, gfp);
		out[i] = objs[i] ? '.' : 'X';
	}
	out[n] = '\0';
	for (int i = 0; i < n; i++)
		kmem_cache_free(c, objs[i]);
}

Test(fault_inject, interval_and_times)
{
	struct kmem_cache *c = kmem_cache_create("fi-interval", 64, 0, 0, NULL);
	char pat[64];

	cr_assert_eq(kmem_fail_set("slab:probability=100,interval=3,times=2,verbose=0"), 0);
	fail_pattern(c, GFP_KERNEL, pat, 12);
	cr_assert_str_eq(pat, "..X..X......");
	cr_assert_eq(READ_ONCE(fail_key) & (1u << KMEM_FAIL_SLAB), 1u << KMEM_FAIL_SLAB);

	cr_assert_eq(kmem_fail_set("slab:times=0"), 0);
	fail_pattern(c, GFP_KERNEL, pat, 4);
	cr_assert_str_eq(pat, "....");
	cr_assert_eq(READ_ONCE(fail_key), 0u, "times=0 leaves nothing to decide");

	/* space: requests go through while space is above their size, as in the kernel. */
	cr_assert_eq(kmem_fail_set("slab:times=-1,interval=1,space=192"), 0);
	fail_pattern(c, GFP_KERNEL, pat, 6);
	cr_assert_str_eq(pat, "..XXXX");
	kmem_fail_set(NULL);
	kmem_cache_destroy(c);
}

Test(fault_inject, kernel_boot_form)
{
	struct kmem_cache *c = kmem_cache_create("fi-boot", 64, 0, 0, NULL);
	char pat[64];

	/* failslab=<interval>,<probability>,<space>,<times> */
	cr_assert_eq(kmem_fail_set("slab:2,100,64,2;slab:verbose=0"), 0);
	fail_pattern(c, GFP_KERNEL, pat, 8);
	cr_assert_str_eq(pat, ".X.X....");
	kmem_fail_set(NULL);
	kmem_cache_destroy(c);
}

/* --------------------------------------------------------------------- seed */

Test(fault_inject, same_seed_same_failures)
{
	struct kmem_cache *c = kmem_cache_create("fi-seed", 32, 0, 0, NULL);
	char a[201], b[201], d[201];

	kmem_fail_set("slab:probability=30,seed=42,verbose=0");
	fail_pattern(c, GFP_KERNEL, a, 200);
	kmem_fail_set("slab:probability=30,seed=42");
	fail_pattern(c, GFP_KERNEL, b, 200);
	cr_assert_str_eq(a, b, "seed 42 gave two sequences");
	kmem_fail_set("slab:seed=43");
	fail_pattern(c, GFP_KERNEL, d, 200);
	cr_assert_str_neq(a, d, "seeds 42 and 43 gave the same 200 decisions");

	unsigned long fails = 0;

	for (int i = 0; i < 200; i++)
		fails += a[i] == 'X';
	/* Deterministic for seed 42; a sanity check that probability means percent. */
	cr_assert(fails > 30 && fails < 90, "%lu of 200 failed at 30%%", fails);
	kmem_fail_set(NULL);
	kmem_cache_destroy(c);
}

/* ------------------------------------------------------------------ filters */

Test(fault_inject, cache_filter_globs)
{
	struct kmem_cache *target = kmem_cache_create("fi-target", 64, 0, 0, NULL);
	struct kmem_cache *other = kmem_cache_create("fi-other", 64, 0, 0, NULL);
	void *p;

	cr_assert_eq(kmem_fail_set("slab:probability=100,verbose=0,cache=fi-t*"), 0);
	cr_assert_null(kmem_cache_alloc(target, GFP_KERNEL));
	cr_assert_not_null(p = kmem_cache_alloc(other, GFP_KERNEL));
	kmem_cache_free(other, p);
	cr_assert_not_null(p = kmalloc(64, GFP_KERNEL));
	kfree(p);

	cr_assert_eq(kmem_fail_set("slab:cache=kmalloc-64|fi-other"), 0);
	cr_assert_null(kmem_cache_alloc(other, GFP_KERNEL));
	cr_assert_null(kmalloc(64, GFP_KERNEL));
	cr_assert_null(kmalloc(50, GFP_KERNEL), "kmalloc(50) is served by kmalloc-64");
	cr_assert_not_null(p = kmalloc(128, GFP_KERNEL));
	kfree(p);
	cr_assert_not_null(p = kmem_cache_alloc(target, GFP_KERNEL));
	kmem_cache_free(target, p);
	kmem_fail_set(NULL);
	kmem_cache_destroy(target);
	kmem_cache_destroy(other);
}

Test(fault_inject, ignore_gfp_wait_and_nofail)
{
	void *p;
	struct page *page;

	cr_assert_eq(kmem_fail_set("probability=100,verbose=0,ignore-gfp-wait"), 0);
	cr_assert_not_null(p = kmalloc(64, GFP_KERNEL), "GFP_KERNEL may sleep: spared");
	kfree(p);
	cr_assert_not_null(page = alloc_pages(GFP_KERNEL, 1));
	__free_pages(page, 1);
	cr_assert_null(kmalloc(64, GFP_ATOMIC));
	cr_assert_null(kmalloc(64, GFP_NOWAIT));
	cr_assert_null(alloc_pages(GFP_ATOMIC, 0));

	/* __GFP_NOFAIL is never failed on purpose. */
	cr_assert_eq(kmem_fail_set("ignore-gfp-wait=0"), 0);
	cr_assert_null(kmalloc(64, GFP_KERNEL));
	cr_assert_not_null(p = kmalloc(64, GFP_KERNEL | __GFP_NOFAIL));
	kfree(p);
	cr_assert_not_null(page = alloc_pages(GFP_KERNEL | __GFP_NOFAIL, 0));
	__free_pages(page, 0);
	kmem_fail_set(NULL);
}

Test(fault_inject, page_min_order)
{
	struct page *page;

	cr_assert_eq(kmem_fail_set("page:probability=100,min-order=2,verbose=0"), 0);
	for (unsigned int order = 0; order < 2; order++) {
		cr_assert_not_null(page = alloc_pages(GFP_KERNEL, order), "order %u", order);
		__free_pages(page, order);
	}
	cr_assert_null(alloc_pages(GFP_KERNEL, 2));
	cr_assert_null(alloc_pages(GFP_KERNEL, 5));
	cr_assert_null(kmalloc(16384, GFP_KERNEL), "a 16 KiB kmalloc needs order 2");
	cr_assert_eq(kmem_fail_injected(KMEM_FAIL_PAGE), 3ul);
	kmem_fail_set(NULL);
}

Test(fault_inject, vmalloc_kind_is_separate)
{
	void *p;

	cr_assert_eq(kmem_fail_set("vmalloc:probability=100,verbose=0"), 0);
	cr_assert(should_fail_vmalloc(1 << 20, GFP_KERNEL));
	cr_assert_not(should_fail_vmalloc(1 << 20, GFP_KERNEL | __GFP_NOFAIL));
	cr_assert_not_null(p = kmalloc(64, GFP_KERNEL), "vmalloc: must not touch slab");
	kfree(p);
	cr_assert_eq(kmem_fail_injected(KMEM_FAIL_VMALLOC), 1ul);
	kmem_fail_set(NULL);
	cr_assert_not(should_fail_vmalloc(1 << 20, GFP_KERNEL));
}

/* vmalloc's own entry: the forced failure comes before anything is reserved. */
Test(fault_inject, vmalloc_fails_and_leaks_nothing)
{
	char before[4096], after[4096];
	void *p;

	kmem_proc_read("vmallocinfo", before, sizeof(before));
	cr_assert_eq(kmem_fail_set("vmalloc:probability=100,verbose=0"), 0);
	cr_assert_null(vmalloc(1 << 20));
	cr_assert_null(kvmalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL), "kvmalloc's vmalloc fallback");
	kmem_proc_read("vmallocinfo", after, sizeof(after));
	cr_assert_str_eq(after, before, "an area was left behind");
	cr_assert_eq(kmem_fail_injected(KMEM_FAIL_VMALLOC), 2ul);
	kmem_fail_set(NULL);
	cr_assert_not_null(p = vmalloc(1 << 20));
	vfree(p);
}

/* ------------------------------------------------------------------ verbose */

Test(fault_inject, verbose_reports_like_the_kernel)
{
	cr_assert_eq(kmem_fail_set("slab:probability=100,seed=7"), 0);
	cr_assert_null(kmalloc(64, GFP_KERNEL));
	cr_assert(printk_logged("FAULT_INJECTION: forcing a failure."), "%s", printk_log);
	cr_assert(printk_logged("name failslab, interval 1, probability 100, space 0, times -1, "
				"seed 7: kmalloc-64"),
		  "%s", printk_log);
	printk_clear();
	cr_assert_null(kmalloc(64, GFP_KERNEL | __GFP_NOWARN));
	cr_assert_eq(printk_count(), 0u, "__GFP_NOWARN must silence it: %s", printk_log);
	cr_assert_eq(kmem_fail_set("page:probability=100,verbose=2"), 0);
	cr_assert_null(alloc_pages(GFP_KERNEL, 0));
	cr_assert(printk_logged("name fail_page_alloc"), "%s", printk_log);
	cr_assert(printk_logged("FAULT_INJECTION: called from 0x"), "%s", printk_log);
	kmem_fail_set(NULL);
}

/* ------------------------------------------------------------------ hooks */

static bool budget_hook(struct kmem_cache *s, gfp_t gfp, void *data)
{
	unsigned int *budget = data;

	(void)s;
	if (gfp & __GFP_DIRECT_RECLAIM)
		return false;
	if (!*budget)
		return true;
	(*budget)--;
	return false;
}

static bool never_fail(struct kmem_cache *s, gfp_t gfp, void *data)
{
	(void)s, (void)gfp, (void)data;
	return false;
}

Test(fault_inject, per_cache_hook)
{
	struct kmem_cache *c = kmem_cache_create("fi-hook", 256, 256, 0, NULL);
	struct kmem_cache *others[KMEM_FAIL_MAX_HOOKS];
	unsigned int budget = 2;
	void *a, *b, *p;

	cr_assert_eq(kmem_fail_set_cache_hook(c, budget_hook, &budget), 0);
	cr_assert_not_null(a = kmem_cache_alloc(c, GFP_NOWAIT));
	cr_assert_not_null(b = kmem_cache_alloc(c, GFP_NOWAIT));
	cr_assert_null(kmem_cache_alloc(c, GFP_NOWAIT), "the budget is spent");
	cr_assert_not_null(p = kmem_cache_alloc(c, GFP_KERNEL), "GFP_KERNEL is not counted");
	void *k = kmalloc(64, GFP_NOWAIT);

	cr_assert_not_null(k, "other caches are not hooked");
	kfree(k);
	kmem_cache_free(c, a);
	kmem_cache_free(c, b);
	kmem_cache_free(c, p);
	cr_assert_eq(printk_count(), 0u, "hooks are silent: %s", printk_log);
	cr_assert_eq(kmem_fail_injected(KMEM_FAIL_SLAB), 1ul, "the hook's failure is not counted");

	/* Sixteen hooks at most; removing one frees its slot. */
	for (int i = 0; i < KMEM_FAIL_MAX_HOOKS - 1; i++) {
		char name[32];

		snprintf(name, sizeof(name), "fi-hook-%d", i);
		others[i] = kmem_cache_create(name, 32, 0, 0, NULL);
		cr_assert_eq(kmem_fail_set_cache_hook(others[i], never_fail, NULL), 0);
	}
	others[KMEM_FAIL_MAX_HOOKS - 1] = kmem_cache_create("fi-hook-last", 32, 0, 0, NULL);
	cr_assert_eq(kmem_fail_set_cache_hook(others[KMEM_FAIL_MAX_HOOKS - 1], never_fail, NULL),
		     -ENOSPC);
	cr_assert_eq(kmem_fail_set_cache_hook(c, NULL, NULL), 0);
	cr_assert_eq(kmem_fail_set_cache_hook(others[KMEM_FAIL_MAX_HOOKS - 1], never_fail, NULL),
		     0);
	cr_assert_not_null(p = kmem_cache_alloc(c, GFP_NOWAIT), "the hook was removed");
	kmem_cache_free(c, p);
	/* Destroying a cache forgets its hook. */
	for (int i = 0; i < KMEM_FAIL_MAX_HOOKS; i++)
		kmem_cache_destroy(others[i]);
	cr_assert_eq(READ_ONCE(fail_key), 0u, "destroyed caches kept their hooks");
	cr_assert_eq(kmem_fail_set_cache_hook(NULL, never_fail, NULL), -EINVAL);
	kmem_cache_destroy(c);
}

/* -------------------------------------------------------- fail the Nth */

/* A workload that checks every allocation and undoes what it did; false if one failed. */
static bool workload(struct kmem_cache *c)
{
	void *objs[20] = { 0 }, *bulk[10], *k[6] = { 0 };
	struct page *page = NULL;
	bool ok = true;

	for (int i = 0; i < 20; i++)
		ok &= (objs[i] = kmem_cache_alloc(c, i & 1 ? GFP_ATOMIC : GFP_KERNEL)) != NULL;
	int nr_bulk = kmem_cache_alloc_bulk(c, GFP_KERNEL, 10, bulk);

	ok &= nr_bulk == 10;
	for (int i = 0; i < 6; i++)
		ok &= (k[i] = kmalloc((size_t)40 << (2 * i), GFP_KERNEL)) != NULL;
	void *r = krealloc(k[0], 3000, GFP_KERNEL);

	if (r)
		k[0] = r;
	ok &= r != NULL;
	ok &= (page = alloc_pages(GFP_KERNEL, 2)) != NULL;
	if (page)
		__free_pages(page, 2);
	for (int i = 0; i < 6; i++)
		kfree(k[i]);
	kmem_cache_free_bulk(c, (size_t)nr_bulk, bulk);
	for (int i = 0; i < 20; i++)
		kmem_cache_free(c, objs[i]);
	return ok;
}

Test(fault_inject, fail_each_nth_allocation_until_none_fails)
{
	struct kmem_cache *c = kmem_cache_create("fi-nth", 100, 0, 0, NULL);
	struct usage start;
	char spec[128];
	int n;

	cr_assert(workload(c), "the workload fails without injection");
	start = usage_now();
	for (n = 1; n < 1000; n++) {
		snprintf(spec, sizeof(spec), "probability=100,interval=%d,times=1,verbose=0", n);
		cr_assert_eq(kmem_fail_set(spec), 0);
		bool ok = workload(c);
		unsigned long injected =
			kmem_fail_injected(KMEM_FAIL_SLAB) + kmem_fail_injected(KMEM_FAIL_PAGE);

		kmem_fail_set(NULL);
		cr_assert_eq(ok, injected == 0, "n=%d: %lu injected, workload %s", n, injected,
			     ok ? "succeeded" : "failed");
		assert_usage(start, spec);
		if (!injected)
			break;
	}
	cr_assert_gt(n, 30, "only %d allocation sites were reached", n);
	cr_assert_lt(n, 1000);
	kmem_cache_destroy(c);
}

/* Random failures under several seeds: the workload copes, nothing leaks. */
Test(fault_inject, random_failures_leak_nothing)
{
	struct kmem_cache *c = kmem_cache_create("fi-random", 72, 8, 0, NULL);
	struct usage start;
	unsigned long injected = 0;
	char spec[128];

	workload(c);
	start = usage_now();
	for (int seed = 1; seed <= 20; seed++) {
		snprintf(spec, sizeof(spec), "probability=10,seed=%d,verbose=0", seed);
		cr_assert_eq(kmem_fail_set(spec), 0);
		workload(c);
		injected += kmem_fail_injected(KMEM_FAIL_SLAB) + kmem_fail_injected(KMEM_FAIL_PAGE);
		kmem_fail_set(NULL);
		assert_usage(start, spec);
	}
	cr_assert_gt(injected, 20ul, "10%% of ~800 allocations injected only %lu", injected);
	kmem_cache_destroy(c);
}

/* ------------------------------------------------------------ threads */

struct alloc_thread {
	struct kmem_cache *c;
	atomic_bool *stop;
	atomic_ulong *progress;
	unsigned long ok, failed;
};

static void *alloc_loop(void *arg)
{
	struct alloc_thread *t = arg;

	while (!atomic_load(t->stop)) {
		void *p = kmem_cache_alloc(t->c, GFP_KERNEL);
		void *k = kmalloc(100, GFP_ATOMIC);
		struct page *page = alloc_pages(GFP_KERNEL, 0);

		t->ok += !!p + !!k + !!page;
		t->failed += !p + !k + !page;
		kmem_cache_free(t->c, p);
		kfree(k);
		if (page)
			__free_pages(page, 0);
		atomic_fetch_add(t->progress, 1);
	}
	return NULL;
}

static bool flip_hook(struct kmem_cache *s, gfp_t gfp, void *data)
{
	(void)s, (void)gfp;
	return atomic_fetch_add((atomic_uint *)data, 1) % 2;
}

/* Settings and hooks change under running allocations: every failure is a clean NULL. */
Test(fault_inject, reconfigure_while_threads_allocate)
{
	struct kmem_cache *c = kmem_cache_create("fi-threads", 48, 0, 0, NULL);
	struct alloc_thread t[3];
	pthread_t tid[3];
	atomic_bool stop = false;
	atomic_ulong progress = 0;
	atomic_uint flips = 0;
	unsigned long failed = 0;
	struct usage start;

	workload(c);
	start = usage_now();
	for (int i = 0; i < 3; i++) {
		t[i] = (struct alloc_thread){ .c = c, .stop = &stop, .progress = &progress };
		cr_assert_eq(pthread_create(&tid[i], NULL, alloc_loop, &t[i]), 0);
	}
	for (int round = 0; round < 200; round++) {
		char spec[96];

		snprintf(spec, sizeof(spec), "probability=%d,seed=%d,verbose=0%s", round % 3 * 40,
			 round, round % 4 ? "" : ";slab:cache=fi-*");
		cr_assert_eq(kmem_fail_set(spec), 0);
		if (round % 10 == 5)
			kmem_fail_set_cache_hook(c, flip_hook, &flips);
		if (round % 10 == 8)
			kmem_fail_set_cache_hook(c, NULL, NULL);
		/* Let the threads allocate under each setting. */
		unsigned long until = atomic_load(&progress) + 10;

		while (atomic_load(&progress) < until)
			sched_yield();
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 3; i++) {
		pthread_join(tid[i], NULL);
		failed += t[i].failed;
	}
	kmem_fail_set(NULL);
	kmem_fail_set_cache_hook(c, NULL, NULL);
	cr_assert_gt(failed, 0ul, "no allocation failed in 200 rounds at up to 80%%");
	assert_usage(start, "after the threads");
	kmem_cache_destroy(c);
}
