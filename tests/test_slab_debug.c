// kmem-test: threaded
// SPDX-License-Identifier: MIT
/*
 * Slab debugging (src/mm/slab_debug.c): one test per fault kind, each
 * checking the report (cache, address, owner, kind), that it counts as one
 * caught bug, and that the caches stay consistent (kmem_cache_validate);
 * KMEM_DEBUG parsing; panic mode; the debug layout, poison patterns, the
 * paths that must reach the debug code (kmalloc, krealloc, ksize, bulk,
 * node, zeroing); leak reports; randomised free lists; threads.
 *
 * The allocation sites are global noinline functions and the tests link
 * with -rdynamic, so reports name them ("Allocated in alloc_site+0x..").
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mm/poison.h"
#include <kmem/vmalloc.h>

#include "debug_test.h"

static void setup_fzpu(void)
{
	cr_assert_eq(debug_init("FZPU"), 0, "log: %s", printk_log);
	printk_clear();
}

TestSuite(slab_debug, .init = setup_fzpu, .fini = teardown);
TestSuite(slab_debug_config, .fini = teardown);

/* Allocation sites the reports must name (alloc_site, free_site: debug_test.h). */
noinline void *kmalloc_site(size_t size);
noinline void *kmalloc_site(size_t size)
{
	void *p = kmalloc(size, GFP_KERNEL);

	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

noinline void *leak_site_a(struct kmem_cache *c);
noinline void *leak_site_a(struct kmem_cache *c)
{
	return alloc_site(c) ? kmem_cache_alloc(c, GFP_KERNEL) : NULL;
}

noinline void *leak_site_b(struct kmem_cache *c);
noinline void *leak_site_b(struct kmem_cache *c)
{
	void *p = kmem_cache_alloc(c, GFP_KERNEL);

	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

static char addr_buf[8][32];

/* "%p" of @p, as reports print it (a few slots so that several can be used at once). */
static const char *addr(const void *p)
{
	static unsigned int next;
	char *buf = addr_buf[next++ % 8];

	snprintf(buf, 32, "%p", p);
	return buf;
}

static void expect_valid(struct kmem_cache *c)
{
	unsigned long errors = kmem_error_count();

	printk_clear();
	cr_assert_eq(kmem_cache_validate(c), 0, "validate found problems:\n%s", printk_log);
	cr_assert_eq(kmem_error_count(), errors);
	slab_check(c);
}

static struct kmem_cache *new_cache(const char *name, unsigned int size, void (*ctor)(void *))
{
	struct kmem_cache *c = kmem_cache_create(name, size, 0, 0, ctor);

	cr_assert_not_null(c, "log: %s", printk_log);
	cr_assert(c->flags & SLAB_RED_ZONE, "%s: KMEM_DEBUG=FZPU did not apply", name);
	return c;
}

/* ------------------------------------------------------------------ layout */

Test(slab_debug, debug_caches_show_their_bigger_objects_and_cache_nothing)
{
	struct kmem_cache *c = new_cache("dbg-obj", 100, NULL);
	struct slabinfo_line s;

	cr_assert(slabinfo_find(NULL, "dbg-obj", &s));
	/* left red zone, object, right red zone word, size asked for, two owner records */
	cr_assert_geq(s.objsize, 8 + 104 + 8 + 8 + 2 * 80, "objsize %u", s.objsize);
	cr_assert_eq(s.limit, 0, "a debug cache keeps no per-CPU array");
	cr_assert_eq(s.shared, 0);
	cr_assert(slabinfo_find(NULL, "kmalloc-8", &s));
	cr_assert_gt(s.objsize, 8, "kmalloc-8 is a debug cache too: objsize %u", s.objsize);
	cr_assert_eq(kmem_cache_size(c), 100);
	cr_assert_lt(kmem_proc_write("slabinfo", "dbg-obj 120 60 8"), 0);
	cr_assert(printk_logged("debug cache"), "log: %s", printk_log);
	kmem_cache_destroy(c);
}

Test(slab_debug, new_objects_show_poison_inuse)
{
	struct kmem_cache *c = new_cache("dbg-uninit", 100, NULL);
	unsigned char *p = alloc_site(c), *k = kmalloc_site(100), *z = kzalloc(100, GFP_KERNEL);

	for (int i = 0; i < 100; i++) {
		expect(p[i] == POISON_INUSE, "byte %d of a new object is %#x", i, p[i]);
		expect(k[i] == POISON_INUSE, "byte %d of a new kmalloc object is %#x", i, k[i]);
		expect(z[i] == 0, "byte %d of a kzalloc object is %#x", i, z[i]);
	}
	cr_assert_eq(((uintptr_t)p) % 8, 0);
	cr_assert_eq(((uintptr_t)k) % 16, 0, "kmalloc alignment kept with red zones");
	free_site(c, p);
	kfree(k);
	kfree(z);
	expect_valid(c);
	cr_assert_eq(kmem_error_count(), 0, "log: %s", printk_log);
	kmem_cache_destroy(c);
}

static void ctor_11(void *obj)
{
	memset(obj, 0x11, 40);
}

/* A constructor's state survives while an object is free: such caches are not poisoned. */
Test(slab_debug, constructed_objects_are_not_poisoned_but_red_zoned)
{
	struct kmem_cache *c = new_cache("dbg-ctor", 40, ctor_11);
	unsigned char *p = alloc_site(c);

	for (int i = 0; i < 40; i++)
		expect(p[i] == 0x11, "byte %d is %#x", i, p[i]);
	free_site(c, p);
	expect_valid(c);
	p = alloc_site(c);
	for (int i = 0; i < 40; i++)
		expect(p[i] == 0x11, "byte %d is %#x after reuse", i, p[i]);
	p[40] = 0;
	expect_report(free_site(c, p), "BUG dbg-ctor", "Right Redzone overwritten");
	expect_valid(c);
	kmem_cache_destroy(c);
}

/* ------------------------------------------------------------------ bad frees */

Test(slab_debug, double_free_is_reported_and_ignored)
{
	struct kmem_cache *c = new_cache("dbg-df", 100, NULL);
	void *p = alloc_site(c);

	free_site(c, p);
	expect_report(kmem_cache_free(c, p), "BUG dbg-df", "Object already free", addr(p),
		      "Allocated in alloc_site+", "Freed in free_site+", "not freed");
	expect_valid(c);
	/* Never handed out twice. */
	void *a = alloc_site(c), *b = alloc_site(c);

	cr_assert_neq(a, b);
	free_site(c, a);
	free_site(c, b);
	expect_valid(c);
	kmem_cache_destroy(c);
	cr_assert_eq(kmem_error_count(), 1);
}

Test(slab_debug, kfree_twice_is_reported)
{
	void *p = kmalloc_site(50);

	kfree(p);
	expect_report(kfree(p), "BUG kmalloc-64", "Object already free", addr(p),
		      "Allocated in kmalloc_site+");
	cr_assert_eq(kmem_cache_validate(NULL), 0, "log: %s", printk_log);
}

Test(slab_debug, free_into_the_wrong_cache)
{
	struct kmem_cache *a = new_cache("dbg-a", 64, NULL), *b = new_cache("dbg-b", 64, NULL);
	void *p = alloc_site(a);

	expect_report(kmem_cache_free(b, p), "BUG dbg-b", "Wrong slab cache", addr(p), "dbg-a",
		      "not freed");
	expect_valid(a);
	expect_valid(b);
	free_site(a, p); /* still allocated: its own cache takes it back */
	cr_assert_eq(kmem_error_count(), 1, "log: %s", printk_log);
	kmem_cache_destroy(a);
	kmem_cache_destroy(b);
}

Test(slab_debug, free_of_a_middle_pointer)
{
	struct kmem_cache *c = new_cache("dbg-mid", 64, NULL);
	char *p = alloc_site(c), *k = kmalloc_site(64);

	expect_report(kmem_cache_free(c, p + 8), "BUG dbg-mid", "not the start of an object",
		      addr(p + 8), "8 bytes into the allocated object", "Allocated in alloc_site+");
	expect_report(kfree(k + 16), "BUG kmalloc-64", "kfree", addr(k + 16),
		      "16 bytes into the allocated object", "Allocated in kmalloc_site+");
	expect_valid(c);
	free_site(c, p);
	kfree(k);
	expect_valid(c);
	kmem_cache_destroy(c);
}

Test(slab_debug, free_of_a_foreign_pointer)
{
	struct kmem_cache *c = new_cache("dbg-foreign", 64, NULL);
	void *m = malloc(64);
	long local;

	expect_report(kmem_cache_free(c, m), "BUG dbg-foreign", "Invalid object pointer", addr(m),
		      "not an address kmem handed out");
	expect_report(kmem_cache_free(c, &local), "BUG dbg-foreign", addr(&local));
	expect_report(kfree(m), "not an address kmem handed out", addr(m));
	free(m);
	/* A page from the page allocator is kmem's, but no slab. */
	void *page = (void *)__get_free_pages(GFP_KERNEL, 0);

	expect_report(kmem_cache_free(c, page), "BUG dbg-foreign", "not in a slab page");
	free_pages((unsigned long)page, 0);
	expect_valid(c);
	kmem_cache_destroy(c);
}

/* ------------------------------------------------------------------ corruption */

Test(slab_debug, one_byte_overrun_of_a_cache_object)
{
	struct kmem_cache *c = new_cache("dbg-over", 100, NULL);
	char *p = alloc_site(c);

	p[100] = 'x'; /* in the padding up to the word: caught from the exact size on */
	expect_report(free_site(c, p), "BUG dbg-over", "Right Redzone overwritten",
		      "First byte 0x78 instead of 0xcc", "@offset=100", addr(p + 100),
		      "Allocated in alloc_site+", "Restoring Right Redzone");
	expect_valid(c);
	/* Past the padding: the red zone word itself. */
	p = alloc_site(c);
	memset(p + 104, 0, 1);
	expect_report(cr_assert_eq(kmem_cache_validate(c), 1), "BUG dbg-over",
		      "Right Redzone overwritten", "RED_ACTIVE");
	expect_valid(c);
	free_site(c, p);
	expect_valid(c);
	kmem_cache_destroy(c);
}

Test(slab_debug, one_byte_overrun_of_a_kmalloc_object)
{
	char *p = kmalloc_site(100); /* kmalloc-128: the 28 bytes past the request are red */

	cr_assert_eq(ksize(p), 100);
	p[100] = 1;
	expect_report(kfree(p), "BUG kmalloc-128", "Right Redzone overwritten", "@offset=100",
		      "First byte 0x1 instead of 0xcc", "size 100 of 128",
		      "Allocated in kmalloc_site+");
	cr_assert_eq(kmem_cache_validate(NULL), 0, "log: %s", printk_log);
}

Test(slab_debug, underrun)
{
	struct kmem_cache *c = new_cache("dbg-under", 32, NULL);
	char *p = alloc_site(c);

	p[-1] = 0;
	expect_report(free_site(c, p), "BUG dbg-under", "Left Redzone overwritten", addr(p - 8),
		      "Allocated in alloc_site+");
	expect_valid(c);
	kmem_cache_destroy(c);
}

Test(slab_debug, write_after_free)
{
	struct kmem_cache *c = new_cache("dbg-uaf", 100, NULL);
	unsigned char *p = alloc_site(c);

	free_site(c, p);
	p[10] = 0x42;
	expect_report(cr_assert_eq(kmem_cache_validate(c), 1), "BUG dbg-uaf", "Poison overwritten",
		      "First byte 0x42 instead of 0x6b", addr(p + 10), "Allocated in alloc_site+",
		      "Freed in free_site+");
	expect_valid(c);
	/* Caught when the object is handed out again, too (LIFO: it is the next one). */
	p[20] = 0x43;
	expect_report(cr_assert_eq(alloc_site(c), p), "Poison overwritten",
		      "First byte 0x43 instead of 0x6b");
	free_site(c, p);
	/* ... and when its slab is destroyed. */
	p[99] = 0;
	expect_report(kmem_cache_shrink(c), "Poison overwritten", "First byte 0 instead of 0xa5");
	kmem_cache_destroy(c);
}

/* ------------------------------------------------------------------ paths */

Test(slab_debug, every_allocation_path_reaches_the_debug_code)
{
	struct kmem_cache *c = new_cache("dbg-paths", 100, NULL);
	void *objs[40];

	cr_assert_eq(kmem_cache_alloc_bulk(c, GFP_KERNEL, 40, objs), 40);
	for (int i = 0; i < 40; i++)
		expect(((unsigned char *)objs[i])[99] == POISON_INUSE, "bulk object %d", i);
	kmem_cache_free_bulk(c, 40, objs);
	unsigned char *n = kmem_cache_alloc_node(c, GFP_KERNEL, 0);
	unsigned char *z = kmem_cache_zalloc(c, GFP_KERNEL);

	cr_assert_eq(n[0], POISON_INUSE);
	cr_assert_eq(z[99], 0);
	n[100] = 0;
	expect_report(kmem_cache_free(c, n), "Right Redzone overwritten");
	kmem_cache_free(c, z);

	/* krealloc moves a debug object to its new size, red-zoned from there. */
	char *k = kmalloc(10, GFP_KERNEL);

	memcpy(k, "0123456789", 10);
	k = krealloc(k, 20, GFP_KERNEL);
	cr_assert_not_null(k);
	cr_assert_eq(memcmp(k, "0123456789", 10), 0);
	cr_assert_eq(ksize(k), 20);
	k[20] = 0;
	expect_report(kfree(k), "BUG kmalloc-32", "Right Redzone overwritten", "@offset=20");
	k = kmalloc_node(30, GFP_KERNEL | __GFP_ZERO, 0);
	cr_assert_eq(k[29], 0);
	cr_assert_eq(ksize(k), 30);
	kfree_sensitive(k);
	cr_assert_not_null(kstrdup("debug", GFP_KERNEL));
	cr_assert_eq(kmem_cache_validate(NULL), 0, "log: %s", printk_log);
	kmem_cache_destroy(c);
}

noinline void *pool_site(mempool_t *pool);
noinline void *pool_site(mempool_t *pool)
{
	void *p = mempool_alloc(pool, GFP_KERNEL);

	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

/* A pool element's owner is mempool_alloc's caller, and the pool's frees are checked. */
Test(slab_debug, mempool_elements_are_owned_by_their_caller)
{
	struct kmem_cache *c = new_cache("dbg-pool", 64, NULL);
	mempool_t *pool = mempool_create_slab_pool(2, c);

	cr_assert_not_null(pool);
	char *p = pool_site(pool);

	cr_assert_not_null(p);
	p[64] = 0;
	expect_report(mempool_free(p, pool), "BUG dbg-pool", "Right Redzone overwritten",
		      "Allocated in pool_site+");
	mempool_destroy(pool);
	expect_valid(c);
	kmem_cache_destroy(c);
}

/* ------------------------------------------------------------------ leaks */

Test(slab_debug, leak_at_destroy_lists_objects_by_site)
{
	struct kmem_cache *c = new_cache("dbg-leak", 48, NULL);
	cr_assert_not_null(leak_site_a(c));
	cr_assert_not_null(leak_site_a(c));
	cr_assert_not_null(leak_site_b(c));
	expect_report(kmem_cache_destroy(c), "Slab cache still has objects",
		      "kmem_cache_destroy: 5 objects remaining in dbg-leak",
		      "2 objects allocated like", "1 object allocated like", "leak_site_a+",
		      "leak_site_b+", "alloc_site+");
	expect_valid(c);
}

Test(slab_debug, leak_at_exit_lists_objects_by_site)
{
	void *p = kmalloc_site(24), *q = kmalloc_site(24);

	cr_assert(p && q);
	printk_clear();
	kmem_exit();
	cr_assert(printk_logged("kmem_exit: 2 objects remaining in kmalloc-32"), "log: %s",
		  printk_log);
	cr_assert(printk_logged("2 objects allocated like"), "log: %s", printk_log);
	cr_assert(printk_logged("Allocated in kmalloc_site+"), "log: %s", printk_log);
	/* Slab descriptors kept off-slab in kmalloc caches are kmem's own, not leaks. */
	cr_assert_not(printk_logged("in cache_grow"), "log: %s", printk_log);
}

noinline void *vmalloc_site(unsigned long size);
noinline void *vmalloc_site(unsigned long size)
{
	void *p = vmalloc(size);

	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

/* vmalloc's descriptors come from kmalloc: their owner is vmalloc's caller. */
Test(slab_debug, vmalloc_descriptors_are_owned_by_its_caller)
{
	struct kmem_cache *c;
	void *p = vmalloc_site(3 * PAGE_SIZE);

	cr_assert_not_null(p);
	printk_clear();
	list_for_each_entry(c, &slab_caches, list)
		slab_debug_list_leaks(c, "live");
	cr_assert(printk_logged("Allocated in vmalloc_site+"), "log: %s", printk_log);
	cr_assert_not(printk_logged("Allocated in get_vm_area"), "log: %s", printk_log);
	cr_assert_not(printk_logged("Allocated in __vmalloc_node"), "log: %s", printk_log);
	vfree(p);
}

/* ------------------------------------------------------------------ KMEM_DEBUG */

static slab_flags_t flags_of(const char *name)
{
	struct kmem_cache *c = kmem_cache_create(name, 64, 0, 0, NULL);

	cr_assert_not_null(c);
	slab_flags_t flags = c->flags & (SLAB_DEBUG_FLAGS | CFLGS_FREELIST_RANDOM);

	kmem_cache_destroy(c);
	return flags;
}

#define FZPU (SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER)

Test(slab_debug_config, good_strings)
{
	static const struct {
		const char *str, *name;
		slab_flags_t flags;
	} cases[] = {
		{ "FZPU", "any", FZPU },
		{ "fzpu", "any", FZPU },
		{ "-", "any", 0 },
		{ "", "any", 0 },
		{ "Z", "any", SLAB_RED_ZONE },
		{ "FZ,dentry;P,dbg-*", "dentry", SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE },
		{ "FZ,dentry;P,dbg-*", "dbg-x", SLAB_POISON },
		{ "FZ,dentry;P,dbg-*", "other", 0 },
		{ "U;P,dbg-*", "other", SLAB_STORE_USER },
		{ "U;P,dbg-*", "dbg-y", SLAB_POISON },
		{ "U;-,dbg-*", "dbg-y", 0 },
		{ ",dbg-all", "dbg-all", FZPU },
		{ "T,dbg-t", "dbg-t", SLAB_TRACE },
		{ "R", "any", CFLGS_FREELIST_RANDOM },
		{ "P;panic", "any", SLAB_POISON },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cr_assert_eq(debug_init(cases[i].str), 0, "'%s': %s", cases[i].str, printk_log);
		cr_assert_eq(flags_of(cases[i].name), cases[i].flags, "'%s' for %s: %#x",
			     cases[i].str, cases[i].name, flags_of(cases[i].name));
		kmem_set_bug_panics(false);
		kmem_exit();
	}
	/* The kmalloc caches get theirs at kmem_init. */
	cr_assert_eq(debug_init("Z,kmalloc-64"), 0);
	cr_assert(kmalloc_slab(64, 0)->flags & SLAB_RED_ZONE);
	cr_assert_not(kmalloc_slab(128, 0)->flags & SLAB_RED_ZONE);
	kmem_exit();
	/* And from the environment when the config says nothing. */
	setenv("KMEM_DEBUG", "P,kmalloc-1*", 1);
	cr_assert_eq(debug_init(NULL), 0);
	unsetenv("KMEM_DEBUG");
	cr_assert(kmalloc_slab(128, 0)->flags & SLAB_POISON);
	cr_assert(kmalloc_slab(1024, 0)->flags & SLAB_POISON);
	cr_assert_not(kmalloc_slab(64, 0)->flags & SLAB_POISON);
}

Test(slab_debug_config, bad_strings_fail_with_a_clear_error)
{
	static const struct {
		const char *str, *needle;
	} cases[] = {
		{ "FX", "KMEM_DEBUG='FX': unknown option 'X'" },
		{ "FZ;Q,dentry", "unknown option 'Q'" },
		{ "A", "use KMEM_FAIL" },
		{ "FZ,", "an empty cache name" },
		{ "FZ,a,,b", "an empty cache name" },
		{ "FZ;xyz", "unknown option 'x'" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cr_assert_eq(debug_init(cases[i].str), -EINVAL, "'%s' was accepted", cases[i].str);
		cr_assert(printk_logged(cases[i].needle), "'%s': no '%s' in: %s", cases[i].str,
			  cases[i].needle, printk_log);
	}
	setenv("KMEM_DEBUG", "FZPUW", 1);
	cr_assert_eq(debug_init(NULL), -EINVAL);
	unsetenv("KMEM_DEBUG");
	cr_assert(printk_logged("KMEM_DEBUG='FZPUW'"), "log: %s", printk_log);
	cr_assert_eq(debug_init("FZPU"), 0, "kmem comes up after a refused KMEM_DEBUG");
}

/* panic mode: the first caught bug aborts, after its report (in a child: no asserts there). */
Test(slab_debug_config, panic_mode_aborts)
{
#if defined(__SANITIZE_THREAD__)
	/*
	 * The child starts kmem's background thread, and TSan kills a child of a
	 * threaded process (Criterion's runner) that starts one. The normal and
	 * ASan phases run this test.
	 */
	cr_skip_test("fork + thread start is not supported under TSan");
#endif
	pid_t pid = fork_panic_child("FZPU;panic");

	if (pid == 0) {
		struct kmem_cache *c = kmem_cache_create("dbg-panic", 64, 0, 0, NULL);
		void *p = c ? kmem_cache_alloc(c, GFP_KERNEL) : NULL;

		if (!p)
			_exit(3);
		kmem_cache_free(c, p);
		kmem_cache_free(c, p);
		_exit(0);
	}
	expect_panic(pid);
	/* Without panic, the same double free is reported and the program goes on. */
	cr_assert_eq(debug_init("FZPU"), 0);
	struct kmem_cache *c = kmem_cache_create("dbg-nopanic", 64, 0, 0, NULL);
	void *p = kmem_cache_alloc(c, GFP_KERNEL);

	kmem_cache_free(c, p);
	expect_report(kmem_cache_free(c, p), "Object already free");
	kmem_cache_destroy(c);
}

/* ------------------------------------------------------------------ hardening */

Test(slab_debug_config, randomised_free_lists)
{
	cr_assert_eq(debug_init("R,dbg-rand"), 0);
	struct kmem_cache *c = kmem_cache_create("dbg-rand", 64, 0, 0, NULL);

	cr_assert_not_null(c);
	cr_assert(c->flags & CFLGS_FREELIST_RANDOM);
	cr_assert_not(c->flags & SLAB_DEBUG_FLAGS, "R alone keeps the fast paths");
	cr_assert_gt(c->num, 30);
	/* One slab's worth straight from the slabs (a bulk refill takes the chain in order). */
	unsigned int num = c->num, ascending = 0;
	void **objs = calloc(num, sizeof(void *));

	for (unsigned int i = 0; i < num; i++)
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
	for (unsigned int i = 0; i + 1 < num; i++)
		ascending += objs[i + 1] == (char *)objs[i] + c->size ||
			     objs[i + 1] == (char *)objs[i] - c->size;
	cr_assert_lt(ascending, num / 2, "%u of %u neighbours in order", ascending, num);
	for (unsigned int i = 0; i < num; i++)
		for (unsigned int j = i + 1; j < num; j++)
			expect(objs[i] != objs[j], "object %u handed out twice", i);
	for (unsigned int i = 0; i < num; i++)
		kmem_cache_free(c, objs[i]);
	free(objs);
	cr_assert_eq(kmem_cache_validate(c), 0);
	kmem_cache_destroy(c);
}

/* ------------------------------------------------------------------ threads */

struct churn_arg {
	struct kmem_cache *c;
	atomic_bool *stop;
};

static void *churn(void *arg)
{
	struct churn_arg *a = arg;
	void *objs[64];

	while (!atomic_load(a->stop)) {
		for (int i = 0; i < 64; i++) {
			objs[i] = i & 1 ? kmalloc(40, GFP_KERNEL) :
					  kmem_cache_alloc(a->c, GFP_KERNEL);
			expect(objs[i], "allocation failed");
			memset(objs[i], i, 40);
		}
		for (int i = 0; i < 64; i++) {
			if (i & 1)
				kfree(objs[i]);
			else
				kmem_cache_free(a->c, objs[i]);
		}
	}
	return NULL;
}

/* Debug caches under threads, with validation walks running beside them. */
Test(slab_debug, threads_and_validation)
{
	struct kmem_cache *c = new_cache("dbg-threads", 40, NULL);
	atomic_bool stop = false;
	struct churn_arg arg = { c, &stop };
	pthread_t t[3];

	for (int i = 0; i < 3; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, churn, &arg), 0);
	for (int i = 0; i < 20; i++) {
		cr_assert_eq(kmem_cache_validate(NULL), 0, "log: %s", printk_log);
		usleep(5000);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(pthread_join(t[i], NULL), 0);
	cr_assert_eq(kmem_error_count(), 0, "log: %s", printk_log);
	expect_valid(c);
	kmem_cache_destroy(c);
}

/* Fault injection reaches debug caches too, kmalloc's included (they skip kmalloc's table). */
Test(slab_debug, fault_injection_reaches_debug_caches)
{
	struct kmem_cache *c = kmem_cache_create("dbg-fail", 64, 0, 0, NULL);

	cr_assert_not_null(c);
	cr_assert_eq(kmem_fail_set("slab:probability=100,verbose=0"), 0);
	cr_assert_null(kmalloc(100, GFP_KERNEL), "kmalloc on a debug kmalloc cache");
	cr_assert_null(kmem_cache_alloc(c, GFP_KERNEL));
	cr_assert_eq(kmem_fail_set(NULL), 0);
	void *p = kmalloc(100, GFP_KERNEL);

	cr_assert_not_null(p);
	kfree(p);
	kmem_cache_destroy(c);
	cr_assert_eq(kmem_cache_validate(NULL), 0);
	cr_assert_eq(kmem_error_count(), 0, "log: %s", printk_log);
}
